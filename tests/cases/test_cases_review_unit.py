"""Unit case admin: list, scope isolation, inline 推荐 / 退回 / 撤销推荐, window, locking."""
from __future__ import annotations

import re

import pytest

from kepu.cases.models import Case, CaseUnitSubmission
from kepu.extensions import db
from kepu.workflow import AuditLog

HX = {"HX-Request": "true"}


def reload(case_id):
    db.session.expire_all()
    return db.session.get(Case, case_id)


def test_list_shows_own_non_draft_cases_with_meter_and_duplicate_note(cc, client, auth):
    mine = cc.make_case(name="流动科技馆进乡村", duplicate_note="2025：流动科技馆进乡村（某县）")
    cc.make_case(name="草稿案例", status="draft")
    cc.make_case(name="江苏的案例", unit=cc.other_unit)
    auth.login_as(cc.case_admin)
    r = client.get("/cases/unit/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "流动科技馆进乡村" in html
    assert "疑似重复" in html and "2025：流动科技馆进乡村（某县）" in html
    assert "草稿案例" not in html
    assert "江苏的案例" not in html
    assert "科普活动服务" in html and "科普阵地建设" in html and "合计" in html
    assert f'id="case-row-{mine.id}"' in html
    assert "未提交" in html


def test_search_and_filters(cc, client, auth):
    cc.make_case(name="科学表演进校园", subtype="科学表演")
    cc.make_case(name="科技馆常设展", category="venue", subtype="科技馆", status="recommended")
    auth.login_as(cc.case_admin)
    html = client.get("/cases/unit/?q=表演").get_data(as_text=True)
    assert "科学表演进校园" in html and "科技馆常设展" not in html
    html = client.get("/cases/unit/?category=venue").get_data(as_text=True)
    assert "科技馆常设展" in html and "科学表演进校园" not in html
    html = client.get("/cases/unit/?subtype=科学表演").get_data(as_text=True)
    assert "科学表演进校园" in html and "科技馆常设展" not in html
    html = client.get("/cases/unit/?status=recommended").get_data(as_text=True)
    assert "科技馆常设展" in html and "科学表演进校园" not in html
    # HTMX active search returns only the results block
    r = client.get("/cases/unit/?q=表演", headers=HX)
    frag = r.get_data(as_text=True)
    assert 'id="queue-results"' in frag and "<html" not in frag
    assert r.headers.get("Vary") and "HX-Request" in r.headers["Vary"]


def test_org_switcher_only_own_units(cc, client, auth, make_user):
    both = make_user("13900000031", roles=[("case_unit", {"org_id": cc.unit.id}),
                                           ("case_unit", {"org_id": cc.other_unit.id})])
    cc.make_case(name="作协案例")
    cc.make_case(name="江苏案例", unit=cc.other_unit)
    auth.login_as(both)
    html = client.get(f"/cases/unit/?org={cc.other_unit.id}").get_data(as_text=True)
    assert "江苏案例" in html and "作协案例" not in html
    assert 'id="org-switch"' in html
    auth.login_as(cc.case_admin)
    assert client.get(f"/cases/unit/?org={cc.other_unit.id}").status_code == 404


@pytest.mark.parametrize("who", ["other_case_admin", "implementer", "other_user"])
def test_scope_isolation_404(cc, client, auth, who):
    case = cc.make_case()
    auth.login_as(getattr(cc, who))
    for method, url in [
        ("post", f"/cases/unit/cases/{case.id}/recommend"),
        ("post", f"/cases/unit/cases/{case.id}/unrecommend"),
        ("get", f"/cases/unit/cases/{case.id}/return"),
        ("post", f"/cases/unit/cases/{case.id}/return"),
        ("get", f"/cases/unit/cases/{case.id}/row"),
    ]:
        r = getattr(client, method)(url, data={"comment": "x"})
        assert r.status_code == 404, (who, url)
    assert reload(case.id).status == "submitted"
    if who != "implementer":  # the owner may print their own case
        assert client.get(f"/cases/{case.id}/info.pdf").status_code == 404


def test_non_case_admin_gets_404_on_unit_pages(cc, client, auth):
    auth.login_as(cc.implementer)
    for url in ["/cases/unit/", "/cases/unit/summary", "/cases/unit/summary.pdf",
                "/cases/unit/summary.xlsx"]:
        assert client.get(url).status_code == 404, url
    assert client.post("/cases/unit/scan").status_code == 404


def test_login_required(cc, client):
    r = client.get("/cases/unit/")
    assert r.status_code in (302, 401)


def test_recommend_inline_htmx_swaps_row_and_meter(cc, client, auth):
    case = cc.make_case()
    auth.login_as(cc.case_admin)
    r = client.post(f"/cases/unit/cases/{case.id}/recommend", headers=HX)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert f'id="case-row-{case.id}"' in html
    assert 'id="queue-summary" class="queue-summary case-summary" hx-swap-oob="true"' in html
    assert 'id="quota-meter"' in html
    assert re.search(r"已推荐\s*<strong>1</strong>\s*/\s*3", html)
    c = reload(case.id)
    assert c.status == "recommended" and c.recommended_at is not None
    log = db.session.query(AuditLog).filter_by(entity_type="case", entity_id=case.id).all()
    assert [a.action for a in log] == ["recommend"]


def test_recommend_without_js_redirects(cc, client, auth):
    case = cc.make_case()
    auth.login_as(cc.case_admin)
    r = client.post(f"/cases/unit/cases/{case.id}/recommend", data={"qs": "q=流动"})
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/cases/unit/?q=%E6%B5%81%E5%8A%A8")
    # the list URL is rebuilt from validated arguments: an outside URL cannot get in
    case2 = cc.make_case(name="第二个")
    r = client.post(f"/cases/unit/cases/{case2.id}/recommend",
                    data={"qs": "https://evil.example/x", "next": "https://evil.example/x"})
    assert r.status_code == 303 and "evil" not in r.headers["Location"]


def test_return_requires_comment_and_keeps_input(cc, client, auth):
    case = cc.make_case()
    auth.login_as(cc.case_admin)
    # the inline box
    r = client.get(f"/cases/unit/cases/{case.id}/return", headers=HX)
    assert r.status_code == 200 and 'name="comment"' in r.get_data(as_text=True)
    # no JS: a full page with the box
    r = client.get(f"/cases/unit/cases/{case.id}/return")
    assert r.status_code == 200 and "<html" in r.get_data(as_text=True)
    assert 'name="comment"' in r.get_data(as_text=True)
    r = client.post(f"/cases/unit/cases/{case.id}/return", data={"comment": "   "}, headers=HX)
    assert r.status_code == 422
    assert "请填写退回修改意见" in r.get_data(as_text=True)
    assert 'aria-invalid="true"' in r.get_data(as_text=True)
    assert reload(case.id).status == "submitted"
    r = client.post(f"/cases/unit/cases/{case.id}/return", data={"comment": ""})
    assert r.status_code == 422 and "请填写退回修改意见" in r.get_data(as_text=True)
    r = client.post(f"/cases/unit/cases/{case.id}/return",
                    data={"comment": "请补充量化数据"}, headers=HX)
    assert r.status_code == 200
    c = reload(case.id)
    assert c.status == "returned" and c.return_comment == "请补充量化数据"
    log = db.session.query(AuditLog).filter_by(entity_type="case", entity_id=case.id,
                                               action="return").one()
    assert log.comment == "请补充量化数据"


def test_return_a_recommended_case_frees_the_slot(cc, client, auth):
    case = cc.make_case(status="recommended")
    auth.login_as(cc.case_admin)
    r = client.post(f"/cases/unit/cases/{case.id}/return", data={"comment": "材料不全"},
                    headers=HX)
    assert r.status_code == 200
    assert re.search(r"已推荐\s*<strong>0</strong>", r.get_data(as_text=True))
    assert reload(case.id).status == "returned"


def test_unrecommend(cc, client, auth):
    case = cc.make_case(status="recommended")
    auth.login_as(cc.case_admin)
    r = client.post(f"/cases/unit/cases/{case.id}/unrecommend", headers=HX)
    assert r.status_code == 200
    c = reload(case.id)
    assert c.status == "submitted" and c.recommended_at is None


def test_wrong_state_refused(cc, client, auth):
    case = cc.make_case(status="returned")
    auth.login_as(cc.case_admin)
    r = client.post(f"/cases/unit/cases/{case.id}/recommend", headers=HX)
    assert r.status_code == 409
    assert "不能执行" in r.get_data(as_text=True)
    assert reload(case.id).status == "returned"


def test_window_closed_refuses_unit_actions(cc, client, auth):
    case = cc.make_case()
    rec = cc.make_case(name="已推荐的", status="recommended")
    cc.campaign.settings = {**cc.campaign.settings, "window_close": "2021-01-01 00:00"}
    db.session.commit()
    auth.login_as(cc.case_admin)
    r = client.post(f"/cases/unit/cases/{case.id}/recommend", headers=HX)
    assert r.status_code == 409 and "截止" in r.get_data(as_text=True)
    r = client.post(f"/cases/unit/cases/{case.id}/return", data={"comment": "x"}, headers=HX)
    assert r.status_code == 409
    r = client.post(f"/cases/unit/cases/{rec.id}/unrecommend", headers=HX)
    assert r.status_code == 409
    assert reload(case.id).status == "submitted"
    assert reload(rec.id).status == "recommended"
    html = client.get("/cases/unit/").get_data(as_text=True)
    assert "截止" in html
    assert f"/cases/unit/cases/{case.id}/recommend" not in html


def test_locked_unit_refuses_actions_and_shows_notice(cc, client, auth):
    rec = cc.make_case(status="finalised")
    pending = cc.make_case(name="待推荐的")
    db.session.add(CaseUnitSubmission(campaign_id=cc.campaign.id, org_id=cc.unit.id,
                                      locked=True))
    db.session.commit()
    auth.login_as(cc.case_admin)
    r = client.post(f"/cases/unit/cases/{pending.id}/recommend", headers=HX)
    assert r.status_code == 409
    assert "推荐结果已锁定" in r.get_data(as_text=True)
    r = client.post(f"/cases/unit/cases/{pending.id}/return", data={"comment": "x"})
    assert r.status_code == 409 and "推荐结果已锁定" in r.get_data(as_text=True)
    assert reload(pending.id).status == "submitted"
    assert reload(rec.id).status == "finalised"
    html = client.get("/cases/unit/").get_data(as_text=True)
    assert "推荐结果已锁定" in html
    assert f"/cases/unit/cases/{pending.id}/recommend" not in html
