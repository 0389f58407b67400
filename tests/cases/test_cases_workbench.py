"""The case collection on the 工作台 and the unit's own 推荐码: counts equal the data,
links go to the lists filtered the same way, the 推荐码 with ready-to-send wording."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from kepu.accounts.models import Grant
from kepu.cases.models import Case, CaseUnitSubmission
from kepu.cases.operations.codes import format_code
from kepu.extensions import db
from kepu.timeutil import utcnow
from kepu.workbench import cards_for


@pytest.fixture(autouse=True)
def _request(app):
    with app.test_request_context():
        yield


def card(user, key):
    found = [c for c in cards_for(user) if c.key == key]
    assert found, f"no card {key}: {[c.key for c in cards_for(user)]}"
    return found[0]


def counts(c):
    return {x.label: x.value for x in c.counts}


def links(c):
    return {x.label: x.url for x in c.counts}


def n_cases(*where):
    return db.session.scalar(select(func.count(Case.id)).where(*where))


def test_own_card_counts_and_the_returned_case_link(cc):
    me = cc.implementer
    cc.make_case(status="draft")
    returned = cc.make_case(status="returned", name="退回的案例", return_comment="请补充")
    cc.make_case(status="submitted", name="待推荐的")
    cc.make_case(status="recommended", name="已推荐的")
    cc.make_case(owner=cc.other_user, status="returned", name="别人的")
    c = card(me, "cases.own")
    mine = Case.owner_id == me.id
    assert counts(c) == {
        "退回修改": n_cases(mine, Case.status == "returned"),
        "草稿": n_cases(mine, Case.status == "draft"),
        "待推荐": n_cases(mine, Case.status == "submitted"),
        "已推荐": n_cases(mine, Case.status.in_(["recommended", "finalised"])),
    } == {"退回修改": 1, "草稿": 1, "待推荐": 1, "已推荐": 1}
    assert links(c)["退回修改"] == "/cases/mine?needs_action=1"
    assert c.action.url == f"/cases/{returned.id}/edit"
    assert c.alerts[0].url == f"/cases/{returned.id}/edit"


def test_unit_card_counts_and_links(cc):
    cc.make_case(status="submitted", name="甲")
    cc.make_case(status="submitted", name="乙")
    cc.make_case(status="returned", name="丙")
    cc.make_case(status="recommended", name="丁")
    cc.make_case(status="draft", name="草稿不算")
    cc.make_case(status="submitted", name="别的单位", unit=cc.other_unit)
    c = card(cc.case_admin, f"cases.unit.{cc.unit.id}")
    ours = Case.org_id == cc.unit.id
    assert counts(c) == {
        "待推荐": n_cases(ours, Case.status == "submitted"),
        "退回修改": n_cases(ours, Case.status == "returned"),
        "已推荐（限额 6）": n_cases(ours, Case.status.in_(["recommended", "finalised"])),
    } == {"待推荐": 2, "退回修改": 1, "已推荐（限额 6）": 1}
    assert links(c)["待推荐"] == "/cases/unit/?status=submitted"
    assert c.action.url == "/cases/unit/?status=submitted"
    assert "下载汇总表" in c.note and any("汇总表" in l.label for l in c.links)
    assert counts(card(cc.other_case_admin, f"cases.unit.{cc.other_unit.id}"))["待推荐"] == 1


def test_locked_unit_says_so(cc):
    cc.make_case(status="finalised", name="已盖章")
    db.session.add(CaseUnitSubmission(campaign_id=cc.campaign.id, org_id=cc.unit.id,
                                      locked=True, submitted_at=utcnow()))
    db.session.commit()
    assert "已锁定" in card(cc.case_admin, f"cases.unit.{cc.unit.id}").note


def test_unit_card_carries_the_code_and_ready_to_send_wording(cc, client, auth):
    c = card(cc.case_admin, f"cases.unit.{cc.unit.id}")
    code = format_code(cc.code.code)
    assert c.extra["code"] == code
    assert code in c.extra["text"] and cc.unit.name in c.extra["text"]
    assert "/cases/start?code=" in c.extra["text"]
    auth.login_as(cc.case_admin)
    html = client.get("/workbench").get_data(as_text=True)
    assert f'<strong class="code-value" id="code-cases-unit-{cc.unit.id}">{code}</strong>' in html
    # the copy button is JavaScript's (hidden until app.js shows it)
    assert re.search(r'<button type="button" class="btn btn-small" data-copy="#code-[^"]+" hidden>',
                     html)


def test_unit_code_page(cc, client, auth):
    auth.login_as(cc.case_admin)
    html = client.get("/cases/unit/code").get_data(as_text=True)
    code = format_code(cc.code.code)
    assert "本单位推荐码" in html and code in html and cc.unit.name in html
    m = re.search(r'<textarea id="invite-text"[^>]*readonly>([^<]+)</textarea>', html)
    assert m, "the wording is selectable text in a read-only box"
    wording = m.group(1)
    assert code in wording and "截止时间" in wording
    start = re.search(r"(http://localhost/cases/start\?code=[A-Z0-9%-]+)", wording).group(1)
    # the link in the wording fills the code in
    page = client.get(start.replace("http://localhost", "")).get_data(as_text=True)
    assert cc.unit.name in page and "确认推荐单位" in page


def test_unit_code_page_only_for_own_units(cc, client, auth, make_user):
    auth.login_as(cc.case_admin)
    assert client.get(f"/cases/unit/code?org={cc.other_unit.id}").status_code == 404
    auth.login_as(cc.implementer)
    assert client.get("/cases/unit/code").status_code == 404
    both = make_user("13900000097")
    for org in (cc.unit, cc.other_unit):
        db.session.add(Grant(user_id=both.id, role="case_unit", org_id=org.id))
    db.session.commit()
    auth.login_as(both)
    html = client.get(f"/cases/unit/code?org={cc.other_unit.id}").get_data(as_text=True)
    assert format_code(cc.other_code.code) in html and format_code(cc.code.code) not in html


def test_national_card(cc, make_user):
    national = make_user("13900000096", roles=["national_admin"])
    cc.make_case(status="recommended", name="一", selected=True)
    cc.make_case(status="finalised", name="二")
    cc.make_case(status="submitted", name="三")
    c = card(national, "cases.national")
    assert counts(c)["已推荐案例"] == 2
    assert counts(c)["入选展示（上限 100）"] == 1
    assert c.action.url == "/cases/admin/select"


def test_case_admin_sees_the_unit_first(cc):
    cc.make_case(owner=cc.case_admin, status="draft", name="自己的草稿")
    keys = [c.key for c in cards_for(cc.case_admin)]
    assert keys[0] == f"cases.unit.{cc.unit.id}" and "cases.own" in keys
