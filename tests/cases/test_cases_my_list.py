"""我的案例 on the shared queue: paging, search, status tabs, 需要处理."""
from __future__ import annotations

import re


def names(html):
    return re.findall(r'<td data-label="案例名称">\s*<a href="[^"]*">([^<]+)</a>', html)


def test_paging_search_and_needs_action(client, auth, cc):
    for i in range(22):
        cc.make_case(name=f"案例{i:02d}", with_photos=False)
    cc.make_case(name="被退回的案例", status="returned", return_comment="补充照片",
                 with_photos=False)
    cc.make_case(name="别人的案例", owner=cc.other_user, with_photos=False)
    auth.login_as(cc.implementer)
    html = client.get("/cases/mine").get_data(as_text=True)
    assert len(names(html)) == 20 and "共 2 页" in html and "别人的案例" not in html
    assert "您有 1 个案例被推荐单位退回修改" in html
    html = client.get("/cases/mine?needs_action=1").get_data(as_text=True)
    assert names(html) == ["被退回的案例"] and "补充照片" in html
    html = client.get("/cases/mine?q=案例1&page=1").get_data(as_text=True)
    assert sorted(names(html)) == [f"案例1{i}" for i in range(10)]
