"""全国科普日: 生成活动海报 (organisers). (issue 12)"""
