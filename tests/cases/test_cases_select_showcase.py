"""National selection: access, recommended cases by category and unit, units' submission
status, 入选展示 toggles with live counters and the hard total limit, works pool, export."""
from __future__ import annotations

import io
import re
import threading
import time

import pytest
from openpyxl import load_workbook

from kepu.admin.models import Campaign
from kepu.cases.models import Case, CaseUnitSubmission, ShowcaseWork
from kepu.cases.operations import select as ops
from kepu.extensions import db
from kepu.workflow import AuditLog, OperationError

HX = {"HX-Request": "true"}


def make_works_campaign(year=2026):
    c = Campaign(kind="works", year=year, title=f"{year}全国优质科普作品征集", settings={})
    db.session.add(c)
    db.session.commit()
    return c


def make_work(campaign, owner, title, selected=True, channel=None, status="reviewed"):
    from kepu.works.models import Work

    w = Work(campaign_id=campaign.id, owner_id=owner.id, status=status, title=title,
             work_type="科普视频", category="前沿科技", author_name="张三",
             applicant_unit="北京科普创作中心", channel_id=channel.id if channel else None,
             selected=selected)
    db.session.add(w)
    db.session.commit()
    return w


@pytest.fixture
def national(make_user):
    return make_user("13900000061", name="中国科协", roles=["national_admin"])


@pytest.mark.parametrize("who", ["case_admin", "implementer", "other_user"])
def test_non_national_gets_404(cc, client, auth, who):
    case = cc.make_case(status="recommended")
    works_campaign = make_works_campaign()
    work = make_work(works_campaign, cc.implementer, "作品")
    auth.login_as(getattr(cc, who))
    assert client.get("/cases/admin/select").status_code == 404
    assert client.get("/cases/admin/select.xlsx").status_code == 404
    assert client.post(f"/cases/admin/cases/{case.id}/select", data={"value": "1"}).status_code == 404
    assert client.post(f"/cases/admin/works/{work.id}/select", data={"value": "1"}).status_code == 404
    assert client.post(f"/cases/admin/units/{cc.unit.id}/unlock",
                       data={"reason": "x"}).status_code == 404
    db.session.expire_all()
    assert not db.session.get(Case, case.id).selected


def test_lists_recommended_cases_by_category_and_units(cc, client, auth, national):
    cc.make_case(name="作协活动", status="recommended")
    cc.make_case(name="作协阵地", category="venue", subtype="科技馆", status="recommended")
    cc.make_case(name="江苏活动", status="finalised", unit=cc.other_unit)
    cc.make_case(name="待推荐活动")
    cc.make_case(name="退回活动", status="returned")
    db.session.add(CaseUnitSubmission(campaign_id=cc.campaign.id, org_id=cc.other_unit.id,
                                      locked=True, submitted_at=cc.campaign.created_at))
    db.session.commit()
    auth.login_as(national)
    html = client.get("/cases/admin/select?tab=activity").get_data(as_text=True)
    assert "作协活动" in html and "江苏活动" in html
    assert "作协阵地" not in html and "待推荐活动" not in html and "退回活动" not in html
    html = client.get("/cases/admin/select?tab=venue").get_data(as_text=True)
    assert "作协阵地" in html and "作协活动" not in html
    # active search: HTMX gets the results block only
    r = client.get("/cases/admin/select?tab=activity&q=江苏", headers=HX)
    frag = r.get_data(as_text=True)
    assert 'id="select-results"' in frag and "<html" not in frag
    assert "江苏活动" in frag and "作协活动" not in frag
    # filters: unit, submission status
    html = client.get(f"/cases/admin/select?tab=activity&org={cc.other_unit.id}").get_data(as_text=True)
    assert "江苏活动" in html and "作协活动" not in html
    html = client.get("/cases/admin/select?tab=activity&sub=yes").get_data(as_text=True)
    assert "江苏活动" in html and "作协活动" not in html
    html = client.get("/cases/admin/select?tab=activity&sub=no").get_data(as_text=True)
    assert "作协活动" in html and "江苏活动" not in html
    # units table
    html = client.get("/cases/admin/select?tab=units").get_data(as_text=True)
    assert "中国科普作家协会" in html and "江苏省科学技术协会" in html
    assert "已上传" in html and "解锁" in html
    row = re.search(r'<tr id="unit-row-%d">.*?</tr>' % cc.unit.id, html, re.S).group(0)
    assert re.findall(r'class="num">(\d+)<', row) == ["1", "1", "2"]
    assert "未上传" in row


def test_toggle_case_updates_counters(cc, client, auth, national):
    case = cc.make_case(status="recommended")
    auth.login_as(national)
    r = client.post(f"/cases/admin/cases/{case.id}/select", data={"value": "1"}, headers=HX)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert f'id="sel-case-{case.id}"' in html and 'aria-pressed="true"' in html
    assert 'id="showcase-counters"' in html and 'hx-swap-oob="true"' in html
    assert re.search(r"已选 <strong>1</strong> / 100", html)
    assert "科普活动服务 1 / 约30" in html
    db.session.expire_all()
    assert db.session.get(Case, case.id).selected
    assert db.session.query(AuditLog).filter_by(entity_type="case", entity_id=case.id,
                                                action="showcase_select").count() == 1
    r = client.post(f"/cases/admin/cases/{case.id}/select", data={"value": "0"})
    assert r.status_code == 303
    db.session.expire_all()
    assert not db.session.get(Case, case.id).selected


def test_platform_admin_may_select(cc, client, auth):
    case = cc.make_case(status="finalised")
    auth.login_as(cc.admin)
    assert client.post(f"/cases/admin/cases/{case.id}/select", data={"value": "1"},
                       headers=HX).status_code == 200


def test_only_recommended_cases_can_be_selected(cc, client, auth, national):
    case = cc.make_case(status="submitted")
    auth.login_as(national)
    assert client.post(f"/cases/admin/cases/{case.id}/select",
                       data={"value": "1"}).status_code == 404
    with pytest.raises(OperationError):
        ops.set_case_selected(db.session.get(Case, case.id), national, True)


def test_hard_total_limit(cc, client, auth, national):
    cc.campaign.settings = {**cc.campaign.settings, "showcase_total": 2}
    db.session.commit()
    works_campaign = make_works_campaign()
    work = make_work(works_campaign, cc.implementer, "量子计算十问")
    a = cc.make_case(name="甲", status="recommended")
    b = cc.make_case(name="乙", status="finalised", unit=cc.other_unit)
    c = cc.make_case(name="丙", category="venue", subtype="科技馆", status="recommended")
    auth.login_as(national)
    assert client.post(f"/cases/admin/works/{work.id}/select", data={"value": "1"},
                       headers=HX).status_code == 200
    assert client.post(f"/cases/admin/cases/{a.id}/select", data={"value": "1"},
                       headers=HX).status_code == 200
    r = client.post(f"/cases/admin/cases/{b.id}/select", data={"value": "1"}, headers=HX)
    assert r.status_code == 422
    assert "入选展示的案例已达上限（总数不超过2个）" in r.get_data(as_text=True)
    r = client.post(f"/cases/admin/cases/{c.id}/select", data={"value": "1"})
    assert r.status_code == 422 and "已达上限" in r.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(Case, b.id).selected and not db.session.get(Case, c.id).selected
    assert ops.counts(cc.campaign)["total"] == 2
    # free one slot, then it works
    client.post(f"/cases/admin/works/{work.id}/select", data={"value": "0"}, headers=HX)
    assert client.post(f"/cases/admin/cases/{b.id}/select", data={"value": "1"},
                       headers=HX).status_code == 200


def test_category_target_exceeded_is_only_a_warning(cc, client, auth, national):
    cc.campaign.settings = {**cc.campaign.settings,
                            "showcase_targets": {"works": 1, "activity": 1, "venue": 1}}
    db.session.commit()
    a = cc.make_case(name="甲", status="recommended")
    b = cc.make_case(name="乙", status="recommended")
    auth.login_as(national)
    client.post(f"/cases/admin/cases/{a.id}/select", data={"value": "1"}, headers=HX)
    r = client.post(f"/cases/admin/cases/{b.id}/select", data={"value": "1"}, headers=HX)
    assert r.status_code == 200
    assert "超过约1个的目标" in r.get_data(as_text=True)
    assert ops.counts(cc.campaign)["activity"] == 2


def test_concurrent_selection_respects_total(cc, app, national, monkeypatch):
    cc.campaign.settings = {**cc.campaign.settings, "showcase_total": 1}
    db.session.commit()
    a = cc.make_case(name="甲", status="recommended")
    b = cc.make_case(name="乙", status="recommended", unit=cc.other_unit)
    real = ops._over_limit

    def slow(*args, **kwargs):
        message = real(*args, **kwargs)
        time.sleep(0.3)
        return message

    monkeypatch.setattr(ops, "_over_limit", slow)
    barrier = threading.Barrier(2)
    results = {}

    def worker(case_id):
        with app.app_context():
            try:
                from kepu.accounts.models import User

                user = db.session.get(User, national.id)
                case = db.session.get(Case, case_id)
                barrier.wait(timeout=10)
                ops.set_case_selected(case, user, True)
                results[case_id] = "ok"
            except OperationError as e:
                results[case_id] = e.message
            except Exception as e:  # noqa: BLE001
                results[case_id] = f"UNEXPECTED {type(e).__name__}: {e}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(x.id,)) for x in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(v == "ok" for v in results.values()) == [False, True], results
    db.session.expire_all()
    assert ops.counts(cc.campaign)["total"] == 1


def test_works_tab_lists_only_selected_works_of_same_year(cc, client, auth, national):
    works_2026 = make_works_campaign(2026)
    works_2025 = make_works_campaign(2025)
    make_work(works_2026, cc.implementer, "二〇二六入选作品", channel=cc.unit)
    make_work(works_2026, cc.implementer, "二〇二六未入选作品", selected=False)
    old = make_work(works_2025, cc.implementer, "二〇二五入选作品")
    auth.login_as(national)
    html = client.get("/cases/admin/select?tab=works").get_data(as_text=True)
    assert "二〇二六入选作品" in html
    assert "二〇二六未入选作品" not in html and "二〇二五入选作品" not in html
    # a work outside the pool cannot be chosen
    assert client.post(f"/cases/admin/works/{old.id}/select", data={"value": "1"}).status_code == 404
    assert db.session.query(ShowcaseWork).count() == 0


def test_toggle_work(cc, client, auth, national):
    works = make_works_campaign()
    w = make_work(works, cc.implementer, "量子计算十问")
    auth.login_as(national)
    r = client.post(f"/cases/admin/works/{w.id}/select", data={"value": "1"}, headers=HX)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "科普作品传播 1 / 约40" in html and 'aria-pressed="true"' in html
    assert db.session.query(ShowcaseWork).filter_by(campaign_id=cc.campaign.id,
                                                    work_id=w.id).count() == 1
    # selecting twice is harmless
    client.post(f"/cases/admin/works/{w.id}/select", data={"value": "1"}, headers=HX)
    assert db.session.query(ShowcaseWork).count() == 1
    # once the works call drops it, it no longer counts
    w.selected = False
    db.session.commit()
    assert ops.counts(cc.campaign)["works"] == 0
    r = client.post(f"/cases/admin/works/{w.id}/select", data={"value": "0"}, headers=HX)
    assert r.status_code == 200
    assert db.session.query(ShowcaseWork).count() == 0


def test_no_works_edition_shows_a_notice(cc, client, auth, national):
    auth.login_as(national)
    html = client.get("/cases/admin/select?tab=works").get_data(as_text=True)
    assert "尚未找到 2026 年度的优质科普作品征集" in html


def test_export_xlsx(cc, client, auth, national):
    works = make_works_campaign()
    w = make_work(works, cc.implementer, "量子计算十问", channel=cc.unit)
    make_work(works, cc.implementer, "深海探秘")
    a = cc.make_case(name="作协活动", status="recommended")
    cc.make_case(name="作协阵地", category="venue", subtype="科技馆", status="finalised")
    cc.make_case(name="待推荐")
    auth.login_as(national)
    client.post(f"/cases/admin/cases/{a.id}/select", data={"value": "1"}, headers=HX)
    client.post(f"/cases/admin/works/{w.id}/select", data={"value": "1"}, headers=HX)
    r = client.get("/cases/admin/select.xlsx")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["科普作品传播", "科普活动服务", "科普阵地建设", "推荐单位"]
    works_rows = list(wb["科普作品传播"].iter_rows(values_only=True))
    assert works_rows[0][-1] == "入选展示"
    assert {(r_[1], r_[-1]) for r_ in works_rows[1:]} == {("量子计算十问", "是"), ("深海探秘", "否")}
    act = list(wb["科普活动服务"].iter_rows(values_only=True))
    assert [r_[1] for r_ in act[1:]] == ["作协活动"]
    assert act[1][act[0].index("入选展示")] == "是"
    venue = list(wb["科普阵地建设"].iter_rows(values_only=True))
    assert venue[1][1] == "作协阵地" and venue[1][venue[0].index("入选展示")] == "否"
    units = list(wb["推荐单位"].iter_rows(values_only=True))
    assert any(r_[1] == "中国科普作家协会" for r_ in units[1:])
