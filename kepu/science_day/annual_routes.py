"""全国科普日: 年度工作总结 (provincial 科协 and 全国学会 admins file; national admin reads). (issue 12)"""
