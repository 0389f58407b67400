"""我的作品 on the shared queue: paging, search, status tabs, and the 需要处理 filter the
退回 banner links to (issue 9: a returned work is one click from the banner)."""
from __future__ import annotations

import re

from kepu.extensions import db
from kepu.works.models import Work


def titles(html):
    return re.findall(r'class="work-title" href="[^"]*">([^<]+)</a>', html)


def test_paging_search_and_needs_action(client, auth, wc):
    for i in range(25):
        wc.make_work(title=f"作品{i:02d}", with_files=False)
    wc.make_work(title="被退回的作品", status="returned", return_comment="请补充", with_files=False)
    wc.make_work(title="没写完的草稿", status="draft", with_files=False)
    wc.make_work(title="别人的作品", owner=wc.other_applicant, with_files=False)
    auth.login_as(wc.applicant)
    html = client.get("/works/mine").get_data(as_text=True)
    assert len(titles(html)) == 20 and "共 2 页" in html and "别人的作品" not in html
    assert "共 <strong>27</strong> 件" in html
    # the banner: one click to what needs the applicant
    assert "您有 1 件作品被推荐单位退回修改" in html
    link = re.search(r'href="([^"]+)">查看需要处理的作品', html).group(1)
    assert link == "/works/mine?needs_action=1"
    html = client.get(link).get_data(as_text=True)
    assert sorted(titles(html)) == sorted(["被退回的作品", "没写完的草稿"])
    assert "退回意见：</strong>请补充" in html
    html = client.get("/works/mine?q=作品2&status=pending").get_data(as_text=True)
    assert titles(html) == ["作品24", "作品23", "作品22", "作品21", "作品20"]
    html = client.get("/works/mine?sort=title&per_page=50").get_data(as_text=True)
    assert len(titles(html)) == 27


def test_other_users_see_none_of_it(client, auth, wc):
    wc.make_work(title="我的", with_files=False)
    auth.login_as(wc.other_applicant)
    html = client.get("/works/mine").get_data(as_text=True)
    assert titles(html) == [] and "您还没有作品" in html
    assert client.get("/works/mine?needs_action=1").status_code == 200
