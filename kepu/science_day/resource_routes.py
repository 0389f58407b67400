"""全国科普日: 下载资源 (public page; admins manage). (issue 12)"""
