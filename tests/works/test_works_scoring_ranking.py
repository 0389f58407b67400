"""Ranking (weighted mean, spread, standard deviation), 入选 toggle, publishing and
the xlsx export."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.timeutil import utcnow
from kepu.workflow import AuditLog
from kepu.works.flow import status_label
from kepu.works.models import WorkAssignment
from kepu.works.operations import scoring as ops
from kepu.works.settings import DEFAULTS

HX = {"HX-Request": "true"}
RUBRIC = DEFAULTS["rubric"]


def add_scores(work, expert, sci, inn, com, submitted=True, comment="评语"):
    scores = {"scientific": sci, "innovative": inn, "communicative": com}
    a = WorkAssignment(work_id=work.id, expert_id=expert.id, scores=scores,
                       comments={"scientific": comment, "_overall": "总体" + comment},
                       total=ops.weighted_total(RUBRIC, scores), saved_at=utcnow(),
                       submitted_at=utcnow() if submitted else None)
    db.session.add(a)
    db.session.commit()
    return a


@pytest.fixture
def ranked(wc, make_user):
    expert3 = make_user("13900000041", name="专家丙", roles=["expert"])
    low = wc.make_work(status="reviewed", title="低分作品", category="健康生活")
    add_scores(low, wc.expert, 60, 60, 60)       # 60
    add_scores(low, wc.expert2, 70, 70, 70)      # 70
    high = wc.make_work(status="reviewed", title="高分作品", category="前沿科技")
    add_scores(high, wc.expert, 90, 90, 90)      # 90
    add_scores(high, wc.expert2, 80, 80, 80)     # 80
    add_scores(high, expert3, 100, 100, 100)     # 100
    mid = wc.make_work(status="in_review", title="评审中作品", category="前沿科技")
    add_scores(mid, wc.expert, 80, 90, 70)       # 32 + 27 + 21 = 80
    add_scores(mid, wc.expert2, 0, 0, 0, submitted=False)
    wc.make_work(status="recommended", title="未分配作品")
    return low, high, mid


def test_ranking_numbers_and_order(wc, ranked):
    low, high, mid = ranked
    rows = ops.ranking(wc.campaign)
    assert [r.work.title for r in rows] == ["高分作品", "评审中作品", "低分作品"]
    top, middle, bottom = rows
    assert top.mean == pytest.approx(90.0)
    assert top.spread == pytest.approx(20.0)
    assert top.stdev == pytest.approx(8.16, abs=0.01)   # pstdev(80, 90, 100)
    assert top.criterion_means == {"scientific": 90.0, "innovative": 90.0, "communicative": 90.0}
    assert (top.n_submitted, top.n_assigned, top.rank) == (3, 3, 1)
    # The unsubmitted draft scores do not count.
    assert middle.mean == pytest.approx(80.0) and (middle.n_submitted, middle.n_assigned) == (1, 2)
    assert middle.criterion_means["innovative"] == 90.0
    assert bottom.mean == pytest.approx(65.0) and bottom.spread == pytest.approx(10.0)
    assert bottom.stdev == pytest.approx(5.0)
    assert [r.work.title for r in ops.ranking(wc.campaign, category="前沿科技")] == ["高分作品", "评审中作品"]


def test_ranking_page(wc, client, auth, ranked):
    auth.login_as(wc.admin)
    resp = client.get("/works/admin/ranking")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert html.index("高分作品") < html.index("评审中作品") < html.index("低分作品")
    assert "未分配作品" not in html
    assert "90.00" in html and "20.00" in html and "8.16" in html and "65.00" in html
    # Filters (HTMX returns only the results block).
    resp = client.get("/works/admin/ranking?category=健康生活", headers=HX)
    body = resp.get_data(as_text=True)
    assert "<html" not in body and "低分作品" in body and "高分作品" not in body
    for user in (wc.expert, wc.unit_admin, wc.applicant):
        auth.login_as(user)
        assert client.get("/works/admin/ranking").status_code == 404
        assert client.get("/works/admin/ranking.xlsx").status_code == 404
        assert client.post(f"/works/admin/{ranked[0].id}/select", data={"value": "1"}).status_code == 404
        assert client.post("/works/admin/publish", data={"confirm": "1"}).status_code == 404


def test_select_only_reviewed(wc, client, auth, ranked):
    low, high, mid = ranked
    auth.login_as(wc.admin)
    resp = client.post(f"/works/admin/{mid.id}/select", data={"value": "1"}, headers=HX)
    assert resp.status_code == 422
    assert "专家评审完成后才能设为入选" in resp.get_data(as_text=True)
    db.session.refresh(mid)
    assert mid.selected is False

    resp = client.post(f"/works/admin/{high.id}/select", data={"value": "1"}, headers=HX)
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert body.strip().startswith(f'<tr id="work-{high.id}"') and "取消入选" in body
    db.session.refresh(high)
    assert high.selected is True
    # Plain form post: redirect back to the ranking.
    resp = client.post(f"/works/admin/{high.id}/select", data={"value": "0", "category": "前沿科技"})
    assert resp.status_code == 303
    assert "category=" in resp.headers["Location"]
    db.session.refresh(high)
    assert high.selected is False
    actions = [e.action for e in db.session.scalars(select(AuditLog).where(
        AuditLog.entity_type == "work", AuditLog.entity_id == high.id).order_by(AuditLog.id))]
    assert actions == ["select", "unselect"]


def test_publish_and_applicant_labels(wc, client, auth, ranked):
    low, high, mid = ranked
    auth.login_as(wc.admin)
    # Nothing selected yet → refused next to the confirm box.
    resp = client.post("/works/admin/publish", data={"confirm": "1"})
    assert resp.status_code == 422
    assert "还没有入选作品" in resp.get_data(as_text=True)
    client.post(f"/works/admin/{high.id}/select", data={"value": "1"})
    # Without the confirmation → 422.
    resp = client.post("/works/admin/publish", data={})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "请勾选确认后再发布" in html and 'id="confirm-error"' in html
    db.session.expire_all()
    assert not db.session.get(Campaign, wc.campaign.id).settings.get("results_published_at")

    resp = client.post("/works/admin/publish", data={"confirm": "1"})
    assert resp.status_code == 303
    db.session.expire_all()
    campaign = db.session.get(Campaign, wc.campaign.id)
    stamp = campaign.settings["results_published_at"]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", stamp)
    assert campaign.settings["window_open"] == "2020-01-01 00:00"  # other settings kept
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "publish_results"))

    published = ops.WorksSettings(campaign).results_published
    assert published
    assert status_label(db.session.get(type(high), high.id), published=published) == "入选"
    assert status_label(db.session.get(type(low), low.id), published=published) == "未入选"

    # Selection is frozen while published.
    resp = client.post(f"/works/admin/{low.id}/select", data={"value": "1"}, headers=HX)
    assert resp.status_code == 422
    assert "请先撤销发布" in resp.get_data(as_text=True)
    html = client.get("/works/admin/ranking").get_data(as_text=True)
    assert "撤销发布" in html and "设为入选" not in html

    resp = client.post("/works/admin/unpublish")
    assert resp.status_code == 303
    db.session.expire_all()
    campaign = db.session.get(Campaign, wc.campaign.id)
    assert not ops.WorksSettings(campaign).results_published
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "unpublish_results"))


def test_export_xlsx(wc, client, auth, ranked):
    low, high, mid = ranked
    auth.login_as(wc.admin)
    client.post(f"/works/admin/{high.id}/select", data={"value": "1"})
    resp = client.get("/works/admin/ranking.xlsx")
    assert resp.status_code == 200
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == ["评审排名", "专家评分明细"]
    rows = list(wb["评审排名"].values)
    head = rows[0]
    assert head[0] == "排名" and "平均总分" in head and "是否入选" in head
    first = dict(zip(head, rows[1]))
    assert first["作品名称"] == "高分作品"
    assert first["平均总分"] == pytest.approx(90.0)
    assert first["极差"] == pytest.approx(20.0)
    assert first["是否入选"] == "入选"
    assert first["已提交/已分配"] == "3/3"
    assert [dict(zip(head, r))["作品名称"] for r in rows[1:]] == ["高分作品", "评审中作品", "低分作品"]
    detail = list(wb["专家评分明细"].values)
    dhead = detail[0]
    assert "科学性得分" in dhead and "科学性评语" in dhead and "总体评价" in dhead
    high_rows = [dict(zip(dhead, r)) for r in detail[1:] if r[1] == "高分作品"]
    assert len(high_rows) == 3
    assert {r["专家"] for r in high_rows} == {"专家甲", "专家乙", "专家丙"}
    assert all(r["科学性评语"] == "评语" and r["总体评价"] == "总体评语" for r in high_rows)
    assert sorted(r["总分"] for r in high_rows) == [80, 90, 100]
