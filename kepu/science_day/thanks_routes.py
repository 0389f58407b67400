"""全国科普日: thank-you SMS queue (admins). (issue 12)"""
