"""Statistics of the works call: counts by unit, status, type and category over
submitted works (drafts counted apart), with CSP-safe SVG bars."""
from __future__ import annotations

import re

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.works import stats


def seed(wc):
    wc.make_work(status="pending", work_type="科普视频", category="前沿科技", with_files=False)
    wc.make_work(status="pending", work_type="科普视频", category="健康生活", with_files=False)
    wc.make_work(status="recommended", work_type="科普图书", category="前沿科技", with_files=False)
    wc.make_work(status="reviewed", work_type="科普视频", category="前沿科技",
                 channel=wc.other_unit, with_files=False, selected=True)
    wc.make_work(status="draft", work_type="科普游戏", category="乡村振兴", with_files=False)
    wc.make_work(status="draft", work_type="科普游戏", category="乡村振兴", with_files=False)


def test_counts(wc):
    seed(wc)
    c = wc.campaign
    assert stats.draft_count(c) == 2
    status = dict(stats.by_status(c))
    assert status == {"待推荐": 2, "退回修改": 0, "完成推荐": 1, "专家评审中": 0, "专家已评审": 1}
    assert stats.by_unit(c) == [("北京市科学技术协会", 3), ("上海市科学技术协会", 1)]
    types = dict(stats.by_work_type(c))
    assert types["科普视频"] == 3 and types["科普图书"] == 1 and types["科普游戏"] == 0
    cats = dict(stats.by_category(c))
    assert cats["前沿科技"] == 3 and cats["健康生活"] == 1 and cats["乡村振兴"] == 0
    data = stats.work_stats(c)
    assert data["total"] == 4 and data["drafts"] == 2 and data["selected"] == 1
    bars = dict((key, b) for key, _t, _c, b in data["sections"])
    unit_bars = bars["by_unit"]
    assert [(b.label, b.count, b.percent, b.share) for b in unit_bars] == [
        ("北京市科学技术协会", 3, 100.0, 75.0), ("上海市科学技术协会", 1, 33.3, 25.0)]


def test_unknown_values_and_other_campaign_kept_apart(wc):
    odd = wc.make_work(status="pending", work_type="旧类型", category="", with_files=False)
    odd.channel_id = None
    wc.make_work(status="pending", with_files=False)
    old = Campaign(kind="works", year=2025, title="2025年全国优质科普作品征集", settings={})
    db.session.add(old)
    db.session.commit()
    other = wc.make_work(status="pending", with_files=False)
    other.campaign_id = old.id
    db.session.commit()
    c = wc.campaign
    types = stats.by_work_type(c)
    assert types[-1] == ("旧类型", 1)
    assert dict(types)["科普视频"] == 1
    assert dict(stats.by_category(c))["（未填写）"] == 1
    assert dict(stats.by_unit(c)) == {"北京市科学技术协会": 1, "（未选择推荐单位）": 1}
    assert stats.work_stats(old)["total"] == 1


def test_stats_page(wc, client, auth):
    seed(wc)
    auth.login_as(wc.admin)
    resp = client.get("/works/admin/stats")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    for title in ("按推荐单位", "按状态", "按作品类型", "按作品分类"):
        assert title in html
    assert "草稿共 2 件" in html
    assert re.search(r'<th scope="row" class="sc-stat-label">北京市科学技术协会</th>\s*<td class="sc-num">3</td>', html)
    # Bars are SVG rect widths (attributes), never inline style (CSP).
    assert 'class="sc-bar-fill" x="0" y="0" width="100.0"' in html
    assert 'width="33.3"' in html
    assert "style=" not in html


def test_stats_page_404_for_others(wc, client, auth):
    for user in (wc.expert, wc.unit_admin, wc.applicant):
        auth.login_as(user)
        assert client.get("/works/admin/stats").status_code == 404
