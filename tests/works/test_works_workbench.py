"""The works call on the 工作台: every card's counts equal the data (counted here
independently), each count links to the list filtered the same way, the returned work is
one click from the alert, and the counts come from one grouped query per card."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event, func, select

from kepu.extensions import db
from kepu.timeutil import utcnow
from kepu.workbench import cards_for as _cards_for
from kepu.works.models import Work, WorkAssignment, WorkUnitQuota


@pytest.fixture(autouse=True)
def _request(app):
    """Cards build relative URLs, as on a page."""
    with app.test_request_context():
        yield


def cards_for(user):
    return _cards_for(user)


def card(cards, key):
    found = [c for c in cards if c.key == key]
    assert found, f"no card {key} in {[c.key for c in cards]}"
    return found[0]


def counts(c) -> dict:
    return {x.label: x.value for x in c.counts}


def links(c) -> dict:
    return {x.label: x.url for x in c.counts}


def n_works(*where) -> int:
    return db.session.scalar(select(func.count(Work.id)).where(*where))


def test_applicant_card_counts_match_the_data(wc):
    a = wc.applicant
    wc.make_work(status="draft", title="草稿一")
    wc.make_work(status="draft", title="草稿二")
    wc.make_work(status="pending")
    wc.make_work(status="returned", return_comment="请补充")
    wc.make_work(status="recommended")
    wc.make_work(status="in_review")
    wc.make_work(owner=wc.other_applicant, status="returned")  # someone else's
    c = card(cards_for(a), "works.own")
    mine = Work.owner_id == a.id
    assert counts(c) == {
        "退回修改": n_works(mine, Work.status == "returned"),
        "草稿": n_works(mine, Work.status == "draft"),
        "待推荐": n_works(mine, Work.status == "pending"),
        "已推荐": n_works(mine, Work.status.in_(["recommended", "in_review", "reviewed"])),
    } == {"退回修改": 1, "草稿": 2, "待推荐": 1, "已推荐": 2}
    assert links(c)["退回修改"] == "/works/mine?needs_action=1"
    assert links(c)["草稿"] == "/works/mine?status=draft"
    assert c.todo == 3 and not c.role


def test_one_returned_work_is_one_click_from_the_alert(client, auth, wc):
    work = wc.make_work(status="returned", return_comment="请补充字幕稿")
    auth.login_as(wc.applicant)
    html = client.get("/workbench").get_data(as_text=True)
    m = re.search(r'<div class="alert alert-warning wb-alerts".*?<a href="([^"]+)">([^<]+)</a>',
                  html, re.S)
    assert m and "1 件作品被退回修改" in m.group(2)
    assert m.group(1) == f"/works/{work.id}/step/3"  # straight to the work
    assert client.get(m.group(1)).status_code == 200
    # two returned works: the alert goes to the 需要处理 list instead
    wc.make_work(status="returned", title="第二件")
    html = client.get("/workbench").get_data(as_text=True)
    assert 'href="/works/mine?needs_action=1">您有 2 件作品被退回修改' in html


def test_unit_card_counts_its_own_unit_only(wc):
    wc.make_work(status="pending")
    wc.make_work(status="pending", title="第二件")
    wc.make_work(status="returned")
    wc.make_work(status="recommended")
    wc.make_work(status="draft")  # drafts are not the unit's business
    wc.make_work(status="pending", channel=wc.other_unit)
    c = card(cards_for(wc.unit_admin), f"works.unit.{wc.unit.id}")
    ours = Work.channel_id == wc.unit.id
    assert counts(c) == {"待推荐": n_works(ours, Work.status == "pending"),
                         "退回修改": n_works(ours, Work.status == "returned"),
                         "完成推荐": n_works(ours, Work.status == "recommended")}
    assert counts(c) == {"待推荐": 2, "退回修改": 1, "完成推荐": 1}
    assert links(c) == {"待推荐": "/works/unit/?status=pending",
                        "退回修改": "/works/unit/?status=returned",
                        "完成推荐": "/works/unit/?status=recommended"}
    assert c.action.url == "/works/unit/?status=pending" and "（2）" in c.action.label
    assert c.subtitle == wc.unit.name
    other = card(cards_for(wc.other_unit_admin), f"works.unit.{wc.other_unit.id}")
    assert counts(other)["待推荐"] == 1


def test_unit_admin_of_two_units_gets_a_card_per_unit_with_org_links(wc, make_user):
    both = make_user("13900000099", roles=[("unit_admin", {"org_id": wc.unit.id}),
                                           ("unit_admin", {"org_id": wc.other_unit.id})])
    wc.make_work(status="pending")
    wc.make_work(status="pending", channel=wc.other_unit)
    wc.make_work(status="pending", channel=wc.other_unit, title="又一件")
    cards = cards_for(both)
    a, b = card(cards, f"works.unit.{wc.unit.id}"), card(cards, f"works.unit.{wc.other_unit.id}")
    assert counts(a)["待推荐"] == 1 and counts(b)["待推荐"] == 2
    assert links(b)["待推荐"] == f"/works/unit/?status=pending&org={wc.other_unit.id}"


def test_unit_quota_is_shown(wc):
    db.session.add(WorkUnitQuota(campaign_id=wc.campaign.id, org_id=wc.unit.id, quota=5))
    db.session.commit()
    wc.make_work(status="recommended")
    wc.make_work(status="in_review")
    c = card(cards_for(wc.unit_admin), f"works.unit.{wc.unit.id}")
    assert c.note == "本届推荐限额 5 件，已推荐 2 件"


def test_expert_card_counts_follow_the_scoring_states(wc):
    works = [wc.make_work(status="in_review", title=f"作品{i}") for i in range(4)]
    now = utcnow()
    db.session.add_all([
        WorkAssignment(work_id=works[0].id, expert_id=wc.expert.id),
        WorkAssignment(work_id=works[1].id, expert_id=wc.expert.id),
        WorkAssignment(work_id=works[2].id, expert_id=wc.expert.id, saved_at=now),
        WorkAssignment(work_id=works[3].id, expert_id=wc.expert.id, saved_at=now,
                       submitted_at=now),
        WorkAssignment(work_id=works[0].id, expert_id=wc.expert2.id),
    ])
    db.session.commit()
    c = card(cards_for(wc.expert), "works.expert")
    mine = WorkAssignment.expert_id == wc.expert.id

    def n(*where):
        return db.session.scalar(select(func.count(WorkAssignment.id)).where(mine, *where))

    assert counts(c) == {
        "待评分": n(WorkAssignment.saved_at.is_(None), WorkAssignment.submitted_at.is_(None)),
        "已暂存": n(WorkAssignment.saved_at.is_not(None), WorkAssignment.submitted_at.is_(None)),
        "已提交": n(WorkAssignment.submitted_at.is_not(None)),
    } == {"待评分": 2, "已暂存": 1, "已提交": 1}
    assert links(c)["待评分"] == "/works/expert/?state=todo"
    assert c.action.url == "/works/expert/?state=todo" and c.todo == 3
    assert counts(card(cards_for(wc.expert2), "works.expert"))["待评分"] == 1


def test_expert_without_assignments_says_so(wc):
    c = card(cards_for(wc.expert), "works.expert")
    assert c.todo == 0 and "暂无分配给您的评审作品" in c.note


def test_platform_admin_card(wc):
    wc.make_work(status="recommended")
    wc.make_work(status="recommended", title="二")
    wc.make_work(status="in_review")
    wc.make_work(status="pending")
    c = card(cards_for(wc.admin), "works.admin")
    assert counts(c)["完成推荐（待分配专家）"] == n_works(Work.status == "recommended") == 2
    assert counts(c)["专家评审中"] == 1 and counts(c)["待推荐"] == 1
    assert links(c)["完成推荐（待分配专家）"] == "/works/admin/?status=recommended"
    assert c.action.url == "/works/admin/assign"


def test_cards_are_counted_with_one_grouped_query_each(wc, make_user):
    for status in ("pending", "pending", "returned", "recommended", "draft"):
        wc.make_work(status=status)
    user = make_user("13900000098", roles=[("unit_admin", {"org_id": wc.unit.id})])
    statements = []

    def record(conn, cursor, statement, *args):
        if "FROM work" in statement and "count(" in statement.lower():
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        cards_for(user)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    unit_queries = [s for s in statements if "channel_id" in s]
    assert len(unit_queries) == 1 and "GROUP BY" in unit_queries[0]


def test_role_cards_come_first_and_empty_own_cards_are_left_out(wc):
    cards = cards_for(wc.unit_admin)
    assert cards[0].key == f"works.unit.{wc.unit.id}"
    assert "works.own" not in [c.key for c in cards]  # no works of their own
    wc.make_work(owner=wc.unit_admin, status="draft")
    keys = [c.key for c in cards_for(wc.unit_admin)]
    assert keys.index(f"works.unit.{wc.unit.id}") < keys.index("works.own")
    # an applicant without any grant sees the 提交作品 card even with nothing in it
    c = card(cards_for(wc.other_applicant), "works.own")
    assert c.action.label == "提交作品" and c.action.url == "/works/new"


def test_deadline_with_days_left(wc):
    wc.campaign.settings = dict(wc.campaign.settings, window_close="2099-12-31 23:59")
    db.session.commit()
    c = card(cards_for(wc.applicant), "works.own")
    assert c.deadline.days_left() > 0 and c.deadline.text().startswith("还剩")


def test_closed_window_offers_no_submission(wc):
    wc.campaign.settings = dict(wc.campaign.settings, window_close="2021-01-01 00:00")
    db.session.commit()
    c = card(cards_for(wc.applicant), "works.own")
    assert c.deadline.text() == "已截止" and "截止" in c.note
    assert c.action.url == "/works/mine"
