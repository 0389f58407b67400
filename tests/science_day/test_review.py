"""全国科普日 two-level review (seed 002 四): routing by 归口, scopes (another province's
admin gets 404), decisions with reasons, undo, the public snapshot on approval, the
trigger-kept tallies, the review principles checklist, read-only lists."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.science_day.models import Activity, ActivityPublic, ActivityTally
from kepu.science_day.routing import route_province
from kepu.timeutil import utcnow
from kepu.workflow import AuditLog

HX = {"HX-Request": "true"}


@dataclass
class World:
    campaign: Campaign
    bj: Org
    gz: Org
    society: Org
    officer: object
    bj_admin: object
    gd_admin: object
    national: object
    society_admin: object
    city_admin: object

    def make(self, name="测试活动", status="province_pending", supervisor=None,
             category="省科协", region="110105", days_ahead=10, **kw):
        org = supervisor or self.bj
        now = utcnow()
        a = Activity(campaign_id=self.campaign.id, owner_id=self.officer.id, status=status,
                     name=name, mode="线下", activity_type="科普讲座",
                     start_at=now + timedelta(days=days_ahead),
                     end_at=now + timedelta(days=days_ahead, hours=3), region_code=region,
                     supervisor_category=category, supervisor_org_id=org.id,
                     route_province=route_province(category, org, region),
                     hosts=[{"name": "某某科技馆"}], audience="中小学生",
                     scientists=[{"name": "张院士", "unit": "某研究所", "title": "研究员"}],
                     contact_name="李老师", contact_phone="010-12345678",
                     details="活动将……", filer_unit="北京市某区科协",
                     submitted_at=now, first_submitted_at=now, **kw)
        db.session.add(a)
        db.session.commit()
        return a


@pytest.fixture
def sd(app, make_user) -> World:
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                        settings={})
    bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    gz = Org(name="广州市科学技术协会", kind="市级科协", region_code="4401")
    society = Org(name="中国科普作家协会", kind="全国学会")
    db.session.add_all([campaign, bj, gz, society])
    db.session.commit()
    return World(
        campaign, bj, gz, society,
        officer=make_user("13900000501", name="信息员", roles=["info_officer"]),
        bj_admin=make_user("13900000502", name="北京审核员",
                           roles=[("provincial_admin", {"region_code": "11"})]),
        gd_admin=make_user("13900000503", name="广东审核员",
                           roles=[("provincial_admin", {"region_code": "44"})]),
        national=make_user("13900000504", name="中国科协审核员", roles=["national_admin"]),
        society_admin=make_user("13900000505", name="学会管理员",
                                roles=[("society_admin", {"org_id": society.id})]),
        city_admin=make_user("13900000506", name="广州市科协",
                             roles=[("city_admin", {"region_code": "4401"})]),
    )


def reload(a):
    db.session.expire_all()
    return db.session.get(Activity, a.id)


def tally(sd, route=None):
    from kepu.science_day.tally import tallies

    db.session.expire_all()
    return tallies(sd.campaign.id, route)


def names(html):
    return re.findall(r'class="review-title"><a href="[^"]*">([^<]+)</a>', html)


# --- routing ---------------------------------------------------------------------------

def test_route_by_category_and_org_region(sd):
    assert route_province("省科协", sd.bj, "110105") == "11"
    assert route_province("市科协", sd.gz, "110105") == "44"        # the org's region wins
    orphan = Org(name="某县科协", kind="县级科协")                     # no region, no parent
    assert route_province("区县科协", orphan, "440111") == "44"     # falls back to 所在地区
    assert route_province("全国学会", sd.society, "110105") is None
    assert route_province("有关部委", sd.society, "440111") is None


# --- scopes -----------------------------------------------------------------------------

def test_lists_by_scope(sd, client, auth):
    sd.make("北京的活动")
    sd.make("广州的活动", supervisor=sd.gz, category="市科协", region="440111")
    sd.make("学会的活动", supervisor=sd.society, category="全国学会",
            status="national_pending")
    sd.make("草稿", status="draft")
    auth.login_as(sd.bj_admin)
    assert names(client.get("/science-day/review/province/").get_data(as_text=True)) == [
        "北京的活动"]
    auth.login_as(sd.gd_admin)
    assert names(client.get("/science-day/review/province/").get_data(as_text=True)) == [
        "广州的活动"]
    auth.login_as(sd.national)
    html = client.get("/science-day/review/national/").get_data(as_text=True)
    assert sorted(names(html)) == sorted(["北京的活动", "广州的活动", "学会的活动"])
    auth.login_as(sd.society_admin)
    html = client.get("/science-day/review/supervisor/").get_data(as_text=True)
    assert names(html) == ["学会的活动"]
    assert "/society" not in html and "_approve" not in html      # read and export only
    auth.login_as(sd.city_admin)
    html = client.get("/science-day/review/region/").get_data(as_text=True)
    assert names(html) == ["广州的活动"] and "仅供查看" in html
    assert "province_approve" not in html


def test_other_province_and_others_get_404(sd, client, auth):
    gz = sd.make("广州的活动", supervisor=sd.gz, category="市科协", region="440111")
    for user in (sd.bj_admin, sd.officer, sd.society_admin):
        auth.login_as(user)
        assert client.get(f"/science-day/review/province/{gz.id}").status_code == 404
        assert client.post(f"/science-day/review/province/{gz.id}/province_approve"
                           ).status_code == 404
        assert client.get(f"/science-day/review/national/{gz.id}").status_code == 404
    auth.login_as(sd.gd_admin)
    assert client.post(f"/science-day/review/national/{gz.id}/national_approve"
                       ).status_code == 404
    assert reload(gz).status == "province_pending"
    auth.login_as(sd.officer)
    assert client.get("/science-day/review/").status_code == 404


# --- decisions ------------------------------------------------------------------------------

def test_two_levels_then_public(sd, client, auth):
    a = sd.make("两级审核的活动")
    assert tally(sd, "11") == {"province_pending": 1}
    auth.login_as(sd.bj_admin)
    r = client.post(f"/science-day/review/province/{a.id}/province_approve",
                    data={"view": "row"}, headers=HX)
    assert r.status_code == 200 and "全国审批中" in r.get_data(as_text=True)
    assert reload(a).status == "national_pending"
    assert tally(sd, "11") == {"province_pending": 0, "national_pending": 1}
    # the province can no longer decide; the national admin can
    r = client.post(f"/science-day/review/province/{a.id}/province_reject",
                    data={"comment": "x"}, headers=HX)
    assert r.status_code == 409
    auth.login_as(sd.national)
    r = client.post(f"/science-day/review/national/{a.id}/national_approve",
                    data={"view": "row"}, headers=HX)
    assert r.status_code == 200
    a = reload(a)
    assert a.status == "approved" and a.approved_at is not None
    public = db.session.get(ActivityPublic, a.id)
    assert public is not None and public.name == "两级审核的活动" and public.province_code == "11"
    actions = [x.action for x in db.session.scalars(
        select(AuditLog).where(AuditLog.entity_type == "activity").order_by(AuditLog.id))]
    assert actions == ["province_approve", "national_approve"]


def test_reject_needs_a_reason_and_keeps_it(sd, client, auth):
    a = sd.make()
    auth.login_as(sd.bj_admin)
    r = client.get(f"/science-day/review/province/{a.id}/province_reject?view=row", headers=HX)
    assert "退回原因" in r.get_data(as_text=True) and "<textarea" in r.get_data(as_text=True)
    r = client.post(f"/science-day/review/province/{a.id}/province_reject",
                    data={"comment": "  ", "view": "row"}, headers=HX)
    assert r.status_code == 422 and "请填写退回原因" in r.get_data(as_text=True)
    r = client.post(f"/science-day/review/province/{a.id}/province_reject",
                    data={"comment": "活动名称不规范", "view": "row"}, headers=HX)
    assert r.status_code == 200
    a = reload(a)
    assert a.status == "province_rejected" and a.reject_reason == "活动名称不规范"
    # 撤销 right after it
    undo = re.search(r'hx-post="([^"]+/province_unreject)"', r.get_data(as_text=True)).group(1)
    assert client.post(undo, headers=HX).status_code == 200
    a = reload(a)
    assert a.status == "province_pending" and a.reject_reason == ""


def test_national_only_route_and_undo_of_a_first_approval(sd, client, auth):
    a = sd.make("学会的活动", supervisor=sd.society, category="全国学会",
                status="national_pending")
    assert tally(sd, "") == {"national_pending": 1}
    auth.login_as(sd.national)
    r = client.post(f"/science-day/review/national/{a.id}/national_approve",
                    data={"view": "row"}, headers=HX)
    assert db.session.get(ActivityPublic, a.id) is not None
    undo = re.search(r'hx-post="([^"]+/national_unapprove)"', r.get_data(as_text=True)).group(1)
    assert client.post(undo, headers=HX).status_code == 200
    assert reload(a).status == "national_pending"
    db.session.expire_all()
    assert db.session.get(ActivityPublic, a.id) is None
    # another reviewer's decision cannot be undone by this one
    other = sd.make("另一个", supervisor=sd.society, category="全国学会",
                    status="national_pending")
    client.post(f"/science-day/review/national/{other.id}/national_reject",
                data={"comment": "请补充"}, headers=HX)
    from kepu.science_day.operations import review as ops
    from kepu.workflow import OperationError

    with pytest.raises(OperationError):
        ops.undo(reload(other), "national_unreject", sd.bj_admin)


def test_bulk_approve_confirms_with_the_count(sd, client, auth):
    items = [sd.make(f"批量{i}") for i in range(3)]
    auth.login_as(sd.bj_admin)
    r = client.post("/science-day/review/province/bulk",
                    data={"action": "province_approve", "ids": [i.id for i in items]})
    assert "确认批量通过 3 个活动？" in r.get_data(as_text=True)
    r = client.post("/science-day/review/province/bulk",
                    data={"action": "province_approve", "confirmed": "1",
                          "ids": [i.id for i in items]}, follow_redirects=True)
    assert "已通过 3 个" in r.get_data(as_text=True)
    assert all(reload(i).status == "national_pending" for i in items)


def test_filters_region_food_short_notice(sd, client, auth):
    sd.make("食品安全进社区", food_safety=True, region="110105")
    sd.make("海淀区的活动", region="110108", short_notice=True, days_ahead=2)
    auth.login_as(sd.bj_admin)
    get = lambda qs: names(client.get("/science-day/review/province/?" + qs)
                           .get_data(as_text=True))
    assert get("food=1") == ["食品安全进社区"]
    assert get("short=1") == ["海淀区的活动"]
    assert get("region=110108") == ["海淀区的活动"]
    assert get("region=440111") == sorted(get(""), key=lambda x: 0)  # outside: ignored
    html = client.get("/science-day/review/province/?food=1").get_data(as_text=True)
    assert "共 <strong>1</strong> 个" in html  # a filtered count (capped at 10,000)


def test_detail_checklist_answers_from_the_data(sd, client, auth):
    a = sd.make("提前三天的活动", days_ahead=3)
    auth.login_as(sd.bj_admin)
    html = client.get(f"/science-day/review/province/{a.id}").get_data(as_text=True)
    assert "审核把握原则" in html
    assert re.search(r'is-bad.*?于活动举办前 7 日在平台发布活动.*?提交时距活动开始 3\.0 天', html, re.S)
    assert re.search(r'is-bad.*?上传高质量宣传海报.*?未上传宣传图', html, re.S)
    assert re.search(r'is-ok.*?提供主要参与的科技工作者.*?张院士', html, re.S)
    assert "通过并下一件" in html and "<kbd>A</kbd>" in html


def test_tallies_follow_every_change(sd):
    a = sd.make()
    b = sd.make("广州", supervisor=sd.gz, category="市科协", region="440111")
    assert tally(sd) == {"province_pending": 2}
    b.status = "national_pending"
    db.session.commit()
    assert tally(sd, "44") == {"province_pending": 0, "national_pending": 1}
    db.session.delete(a)
    db.session.commit()
    assert tally(sd, "11") == {"province_pending": 0}
    # the counted truth
    counted = dict(db.session.execute(select(Activity.status, func.count()).group_by(
        Activity.status)).all())
    assert {k: v for k, v in tally(sd).items() if v} == counted


def test_workbench_cards_count_what_waits(sd, client, auth):
    for i in range(3):
        sd.make(f"北京{i}")
    sd.make("北京已送全国", status="national_pending")
    sd.make("广州", supervisor=sd.gz, category="市科协", region="440111")
    auth.login_as(sd.bj_admin)
    html = client.get("/workbench").get_data(as_text=True)
    assert "活动审核（省级）" in html and "北京" in html
    assert 'href="/science-day/review/province/?status=province_pending"' in html
    from kepu.science_day.workbench import cards

    province = [c for c in cards(sd.bj_admin) if c.key == "science_day.province.11"][0]
    assert {c.label: c.value for c in province.counts}["待审核"] == 3
    assert {c.label: c.value for c in province.counts}["全国审批中"] == 1
    national = [c for c in cards(sd.national) if c.key == "science_day.national"][0]
    assert {c.label: c.value for c in national.counts}["全国审批中"] == 1
    assert {c.label: c.value for c in national.counts}["省管理员审批中"] == 4
    own = [c for c in cards(sd.officer) if c.key == "science_day.own"][0]
    assert {c.label: c.value for c in own.counts}["审核中"] == 5
    assert not [c for c in cards(sd.gd_admin) if c.key == "science_day.province.11"]
