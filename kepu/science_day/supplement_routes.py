"""全国科普日: 补充活动信息 and 活动总结 (organisers of approved activities). (issue 12)"""
