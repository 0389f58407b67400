"""推优 national results (issue 13): the overview's numbers, 入选 / 取消入选 (bulk and one
by one, only recommended rows, never past the national total), the lock while the result
is published, publishing needs a confirmation and at least one selected item, the public
page before and after publication (only selected rows, only listed ones linked), the
xlsx export read back, audit entries and ``is_decided``."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.science_day import tuiyou_results as ops
from kepu.science_day.models import Activity
from kepu.science_day.tuiyou_models import (ExcellentActivity, ExcellentUnit,
                                            TuiyouPublication, TuiyouQuota)
from kepu.timeutil import utcnow
from kepu.workflow import AuditLog


@pytest.fixture
def world(app, make_user):
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                        settings={"tuiyou": {"total_activities": 3, "total_units": 2,
                                             "minimum": 1}})
    bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    gd = Org(name="广东省科学技术协会", kind="省级科协", region_code="44")
    society = Org(name="中国科普作家协会", kind="全国学会")
    db.session.add_all([campaign, bj, gd, society])
    db.session.commit()
    owner = make_user("13900002001", roles=["info_officer"])
    national = make_user("13900002002", roles=["national_admin"], name="全国管理员")
    bj_ty = make_user("13900002003", roles=[("tuiyou_admin", {"region_code": "11"})],
                      name="张推优")
    now = utcnow()
    acts = {}

    def add(name, province, hosts, org=None, status="approved", rec=True):
        a = Activity(campaign_id=campaign.id, owner_id=owner.id, status=status, name=name,
                     mode="线下", activity_type="科普讲座", start_at=now - timedelta(days=3),
                     end_at=now - timedelta(days=2), region_code=(province or "11") + "0105",
                     supervisor_category="全国学会" if org else "省科协",
                     supervisor_org_id=(org or (bj if province == "11" else gd)).id,
                     route_province=province, hosts=hosts, submitted_at=now,
                     approved_at=now)
        db.session.add(a)
        db.session.flush()
        acts[name] = a
        if rec:
            key = f"org:{org.id}" if org else f"province:{province}"
            db.session.add(ExcellentActivity(
                campaign_id=campaign.id, scope_key=key, activity_id=a.id,
                recommended_by_id=bj_ty.id, created_at=now - timedelta(minutes=len(acts))))
        return a

    add("量子科普进社区", "11", [{"name": "北京科学中心"}])
    add("天文观测夜", "11", [{"name": "北京天文馆"}, {"name": "北京科学中心"}])
    add("机器人编程营", "11", [{"id": bj.id, "name": "北京市科学技术协会"}])
    add("未推荐的活动", "11", [{"name": "某馆"}], rec=False)
    add("广东科普周", "44", [{"name": "广东科学中心"}])
    add("科普作家讲座", None, [{"name": "中国科普作家协会"}], org=society)
    db.session.add_all([
        TuiyouQuota(campaign_id=campaign.id, scope_key="province:11", activities=3, units=2,
                    activities_used=3, units_used=2, units_cast_used=1),
        TuiyouQuota(campaign_id=campaign.id, scope_key="province:44", activities=2, units=1,
                    activities_used=1, units_used=1),
    ])
    units = {
        "center": ExcellentUnit(campaign_id=campaign.id, scope_key="province:11",
                                unit_key="name:北京科学中心", name="北京科学中心",
                                recommended_by_id=bj_ty.id),
        "cast": ExcellentUnit(campaign_id=campaign.id, scope_key="province:11",
                              unit_key=f"org:{bj.id}", org_id=bj.id, name="北京市科学技术协会",
                              is_cast=True, recommended_by_id=bj_ty.id),
        "gd": ExcellentUnit(campaign_id=campaign.id, scope_key="province:44",
                            unit_key="name:广东科学中心", name="广东科学中心"),
    }
    db.session.add_all(units.values())
    db.session.commit()
    return dict(campaign=campaign, national=national, bj_ty=bj_ty, acts=acts, units=units,
                society=society)


def select_acts(client, ids, action="select", scope="province:11", **extra):
    return client.post("/science-day/tuiyou/results/select",
                       data={"scope": scope, "kind": "activity", "action": action,
                             "ids": [str(i) for i in ids], **extra})


def selected_ids():
    db.session.expire_all()
    return set(db.session.scalars(select(ExcellentActivity.activity_id).where(
        ExcellentActivity.selected_at.is_not(None))))


def publish(client, **extra):
    return client.post("/science-day/tuiyou/results/publish", data={"confirmed": "1", **extra})


# --------------------------------------------------------------------------- overview

def test_overview_numbers(world, client, auth):
    acts = world["acts"]
    db.session.get(ExcellentActivity, db.session.scalar(select(ExcellentActivity.id).where(
        ExcellentActivity.activity_id == acts["天文观测夜"].id))).selected_at = utcnow()
    world["units"]["gd"].selected_at = utcnow()
    db.session.commit()
    ov = ops.overview(world["campaign"])
    rows = {r.scope.key: r for r in ov.rows}
    bj = rows["province:11"]
    assert (bj.approved, bj.act_quota, bj.act_used, bj.act_selected) == (4, 3, 3, 1)
    assert (bj.unit_quota, bj.unit_used, bj.unit_selected) == (2, 2, 0)
    gd = rows["province:44"]
    assert (gd.act_quota, gd.act_used, gd.act_selected, gd.unit_selected) == (2, 1, 0, 1)
    soc = rows[f"org:{world['society'].id}"]
    assert (soc.act_quota, soc.act_used) == (None, 1)
    assert rows["province:31"].act_quota is None and rows["province:31"].act_used == 0
    assert ov.sums["act_quota"] == 5 and ov.sums["act_used"] == 5
    assert ov.sums["act_selected"] == 1 and ov.sums["unit_selected"] == 1
    assert ov.sums["unit_quota"] == 3 and ov.sums["unit_used"] == 3
    assert (ov.total_activities, ov.total_units) == (3, 2)

    auth.login_as(world["national"])
    html = client.get("/science-day/tuiyou/results").get_data(as_text=True)
    assert "北京市科协" in html and "3 / 3" in html and "1 / 2" in html
    assert "未设定" in html                   # the society has no quota
    assert "1 / 3" in html and "1 / 2" in html    # national: selected / formula totals
    assert "评选结果尚未公布" in html


def test_scope_page_lists_recommended_rows_with_details(world, client, auth):
    auth.login_as(world["national"])
    r = client.get("/science-day/tuiyou/results/scope?scope=province:11")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    for name in ("量子科普进社区", "天文观测夜", "机器人编程营", "北京科学中心",
                 "北京市科学技术协会", "北京市朝阳区", "张推优"):
        assert name in html, name
    assert "未推荐的活动" not in html and "广东科普周" not in html
    a = world["acts"]["量子科普进社区"]
    assert f"/science-day/review/national/{a.id}" in html
    # units show the scope's recommended activities they hosted
    items = {u.row.name: u for u in ops.unit_items(world["campaign"].id, "province:11")}
    assert {x.name for x in items["北京科学中心"].hosted} == {"量子科普进社区", "天文观测夜"}
    assert [x.name for x in items["北京市科学技术协会"].hosted] == ["机器人编程营"]
    assert client.get("/science-day/tuiyou/results/scope?scope=province:99").status_code == 404


# --------------------------------------------------------------------------- selecting

def test_bulk_and_single_select_and_filters(world, client, auth):
    auth.login_as(world["national"])
    acts = world["acts"]
    r = select_acts(client, [acts["量子科普进社区"].id, acts["天文观测夜"].id])
    assert r.status_code == 303 and "scope=province" in r.headers["Location"]
    assert selected_ids() == {acts["量子科普进社区"].id, acts["天文观测夜"].id}
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已将 2 个优秀活动设为入选" in html
    # one by one: the row's own button wins over the boxes ticked
    r = client.post("/science-day/tuiyou/results/select", data={
        "scope": "province:11", "kind": "activity", "row": f"unselect:{acts['天文观测夜'].id}",
        "ids": [str(acts["机器人编程营"].id)]})
    assert r.status_code == 303
    assert selected_ids() == {acts["量子科普进社区"].id}
    def rows(show):
        html = client.get(f"/science-day/tuiyou/results/scope?scope=province:11&show={show}"
                          ).get_data(as_text=True)
        return {n for n in ("量子科普进社区", "天文观测夜", "机器人编程营")
                if f'id="activity-{acts[n].id}"' in html}

    assert rows("selected") == {"量子科普进社区"}
    assert rows("unselected") == {"天文观测夜", "机器人编程营"}
    assert rows("") == {"量子科普进社区", "天文观测夜", "机器人编程营"}
    # units
    u = world["units"]["center"]
    r = client.post("/science-day/tuiyou/results/select", data={
        "scope": "province:11", "kind": "unit", "row": f"select:{u.id}"})
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.get(ExcellentUnit, u.id).selected_at is not None
    assert db.session.get(ExcellentUnit, u.id).selected_by_id == world["national"].id
    actions = db.session.scalars(select(AuditLog.action).where(
        AuditLog.action.like("tuiyou_%select"))).all()
    assert sorted(actions) == ["tuiyou_select", "tuiyou_select", "tuiyou_select",
                               "tuiyou_unselect"]


def test_only_recommended_rows_of_the_scope_can_be_selected(world, client, auth):
    auth.login_as(world["national"])
    acts = world["acts"]
    for ids, scope in (([acts["未推荐的活动"].id], "province:11"),
                       ([acts["广东科普周"].id], "province:11"),   # another scope's row
                       ([acts["量子科普进社区"].id, acts["未推荐的活动"].id], "province:11")):
        r = select_acts(client, ids, scope=scope)
        assert r.status_code == 422
        assert "所选的部分项目未被推荐" in r.get_data(as_text=True)
    assert selected_ids() == set()
    r = select_acts(client, [])
    assert r.status_code == 422 and "请先勾选要入选的优秀活动" in r.get_data(as_text=True)
    # a unit of another scope
    r = client.post("/science-day/tuiyou/results/select", data={
        "scope": "province:11", "kind": "unit", "ids": [str(world["units"]["gd"].id)],
        "action": "select"})
    assert r.status_code == 422
    r = select_acts(client, [acts["量子科普进社区"].id], action="unselect")
    assert r.status_code == 422 and "所选优秀活动均未入选" in r.get_data(as_text=True)
    # the ticked boxes stay ticked on the refusal
    r = select_acts(client, [acts["量子科普进社区"].id, acts["未推荐的活动"].id])
    assert f'value="{acts["量子科普进社区"].id}" id="activity-{acts["量子科普进社区"].id}-cb" checked' \
        in r.get_data(as_text=True)


def test_national_total_caps_the_selection(world, client, auth):
    auth.login_as(world["national"])
    acts = world["acts"]
    three = [acts[n].id for n in ("量子科普进社区", "天文观测夜", "机器人编程营")]
    assert select_acts(client, three).status_code == 303
    r = select_acts(client, [acts["广东科普周"].id], scope="province:44")
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "入选优秀活动不能超过全国总名额 3 个" in html and "还可入选 0 个" in html
    assert selected_ids() == set(three)
    # unselect one: room again
    assert select_acts(client, [three[0]], action="unselect").status_code == 303
    assert select_acts(client, [acts["广东科普周"].id], scope="province:44").status_code == 303
    # units: total_units 2, three recommended
    units = world["units"]
    r = client.post("/science-day/tuiyou/results/select", data={
        "scope": "province:11", "kind": "unit", "action": "select",
        "ids": [str(units["center"].id), str(units["cast"].id)]})
    assert r.status_code == 303
    r = client.post("/science-day/tuiyou/results/select", data={
        "scope": "province:44", "kind": "unit", "row": f"select:{units['gd'].id}"})
    assert r.status_code == 422 and "入选优秀组织单位不能超过全国总名额 2 个" in r.get_data(
        as_text=True)


def test_cap_counts_a_bulk_as_a_whole(world, client, auth):
    world["campaign"].settings = {"tuiyou": {"total_activities": 2, "total_units": 2,
                                             "minimum": 1}}
    db.session.commit()
    auth.login_as(world["national"])
    acts = world["acts"]
    r = select_acts(client, [acts[n].id for n in ("量子科普进社区", "天文观测夜", "机器人编程营")])
    assert r.status_code == 422 and "本次选择了 3 个" in r.get_data(as_text=True)
    assert selected_ids() == set()


# --------------------------------------------------------------------------- publish

def test_publish_needs_confirmation_and_a_selection(world, client, auth):
    auth.login_as(world["national"])
    r = client.post("/science-day/tuiyou/results/publish", data={})
    assert r.status_code == 409 and "确认公布评选结果" in r.get_data(as_text=True)
    assert ops.publication(world["campaign"].id) is None
    r = publish(client)
    assert r.status_code == 422
    assert "尚未选出入选的优秀活动或优秀组织单位，不能公布" in r.get_data(as_text=True)
    assert not ops.is_published(world["campaign"].id)
    # a unit alone is enough
    u = world["units"]["gd"]
    client.post("/science-day/tuiyou/results/select", data={
        "scope": "province:44", "kind": "unit", "row": f"select:{u.id}"})
    r = publish(client, note="x" * 501)
    assert r.status_code == 422 and "公布说明不超过 500 字" in r.get_data(as_text=True)
    assert "x" * 501 in r.get_data(as_text=True)          # what was typed is kept
    r = publish(client, note="经评审委员会评定")
    assert r.status_code == 303
    db.session.expire_all()
    pub = db.session.get(TuiyouPublication, world["campaign"].id)
    assert pub.published_at and pub.published_by_id == world["national"].id
    assert pub.note == "经评审委员会评定"
    assert publish(client).status_code == 422            # already published
    html = client.get("/science-day/tuiyou/results").get_data(as_text=True)
    assert "已公布" in html and "撤销公布" in html


def test_selection_is_locked_while_published(world, client, auth):
    auth.login_as(world["national"])
    acts = world["acts"]
    select_acts(client, [acts["量子科普进社区"].id])
    assert publish(client).status_code == 303
    for ids, action in (([acts["天文观测夜"].id], "select"),
                        ([acts["量子科普进社区"].id], "unselect")):
        r = select_acts(client, ids, action=action)
        assert r.status_code == 422 and "评选结果已公布，入选名单已锁定" in r.get_data(as_text=True)
    assert selected_ids() == {acts["量子科普进社区"].id}
    html = client.get("/science-day/tuiyou/results/scope?scope=province:11").get_data(
        as_text=True)
    assert 'id="tr-locked"' in html and 'name="ids"' not in html
    assert ops.is_decided(world["campaign"].id, activity_id=acts["天文观测夜"].id)
    # unpublish: unlocked again
    r = client.post("/science-day/tuiyou/results/unpublish")
    assert r.status_code == 303 and not ops.is_published(world["campaign"].id)
    assert client.post("/science-day/tuiyou/results/unpublish").status_code == 422
    assert select_acts(client, [acts["天文观测夜"].id]).status_code == 303
    actions = db.session.scalars(select(AuditLog.action).where(
        AuditLog.entity_type == "campaign")).all()
    assert actions == ["tuiyou_publish", "tuiyou_unpublish"]


def test_is_decided(world):
    cid = world["campaign"].id
    acts, units = world["acts"], world["units"]
    a = acts["量子科普进社区"]
    assert not ops.is_decided(cid, activity_id=a.id)
    assert not ops.is_decided(cid, unit_id=units["center"].id)
    row = db.session.scalar(select(ExcellentActivity).where(ExcellentActivity.activity_id == a.id))
    row.selected_at = utcnow()
    units["center"].selected_at = utcnow()
    db.session.commit()
    assert ops.is_decided(cid, activity_id=a.id)
    assert not ops.is_decided(cid, activity_id=acts["天文观测夜"].id)
    assert ops.is_decided(cid, unit_id=units["center"].id)
    assert not ops.is_decided(cid, unit_id=units["cast"].id)
    db.session.add(TuiyouPublication(campaign_id=cid, published_at=utcnow()))
    db.session.commit()
    assert ops.is_decided(cid, activity_id=acts["天文观测夜"].id)
    assert ops.is_decided(cid, unit_id=units["cast"].id)


# --------------------------------------------------------------------------- public page

def test_public_page_before_and_after_publication(world, client, auth):
    from kepu.science_day.operations.listing import publish_snapshot

    acts = world["acts"]
    for a in acts.values():
        if a.status == "approved":
            publish_snapshot(a)
    acts["天文观测夜"].listed = False
    db.session.flush()
    publish_snapshot(acts["天文观测夜"])
    db.session.commit()
    r = client.get("/science-day/excellent")
    assert r.status_code == 200 and "评选结果尚未公布" in r.get_data(as_text=True)
    home = client.get("/science-day/").get_data(as_text=True)
    assert "/science-day/excellent" in home

    auth.login_as(world["national"])
    select_acts(client, [acts["量子科普进社区"].id, acts["天文观测夜"].id])
    client.post("/science-day/tuiyou/results/select", data={
        "scope": f"org:{world['society'].id}", "kind": "activity",
        "row": f"select:{acts['科普作家讲座'].id}"})
    client.post("/science-day/tuiyou/results/select", data={
        "scope": "province:11", "kind": "unit", "row": f"select:{world['units']['center'].id}"})
    # selected but not published: still nothing public
    auth.logout()
    assert "评选结果尚未公布" in client.get("/science-day/excellent").get_data(as_text=True)
    auth.login_as(world["national"])
    assert publish(client, note="特此公布").status_code == 303
    auth.logout()
    r = client.get("/science-day/excellent")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "评选结果尚未公布" not in html
    assert "量子科普进社区" in html and "天文观测夜" in html and "科普作家讲座" in html
    assert "北京科学中心" in html and "特此公布" in html
    for name in ("机器人编程营", "广东科普周", "未推荐的活动", "北京市科学技术协会", "广东科学中心"):
        assert name not in html, name
    assert f'/science-day/events/{acts["量子科普进社区"].id}"' in html
    assert f'/science-day/events/{acts["天文观测夜"].id}"' not in html   # 下架: no link
    assert html.index("北京市科协") < html.index("中国科普作家协会")
    # editions: ?year= picks one; an unknown year is 404
    assert client.get("/science-day/excellent?year=2026").status_code == 200
    assert client.get("/science-day/excellent?year=2019").status_code == 404
    assert client.get("/science-day/excellent?year=abc").status_code == 404


def test_public_page_of_another_edition(world, client):
    old = Campaign(kind="science_day", year=2025, title="2025年全国科普日", settings={})
    db.session.add(old)
    db.session.commit()
    html = client.get("/science-day/excellent?year=2025").get_data(as_text=True)
    assert "2025年全国科普日" in html and "评选结果尚未公布" in html


# --------------------------------------------------------------------------- export

def test_export_content(world, client, auth):
    acts = world["acts"]
    auth.login_as(world["national"])
    select_acts(client, [acts["天文观测夜"].id])
    client.post("/science-day/tuiyou/results/select", data={
        "scope": "province:11", "kind": "unit", "row": f"select:{world['units']['cast'].id}"})
    r = client.get("/science-day/tuiyou/results/export.xlsx")
    assert r.status_code == 200
    assert "spreadsheetml" in r.headers["Content-Type"]
    wb = load_workbook(io.BytesIO(r.data), read_only=True)
    assert wb.sheetnames == ["名额与推荐", "优秀活动", "优秀组织单位"]
    summary = [list(row) for row in wb["名额与推荐"].iter_rows(values_only=True)]
    assert summary[0][:5] == ["单位", "审核通过活动", "优秀活动名额", "已推荐优秀活动",
                              "入选优秀活动"]
    bj = next(row for row in summary if row[0] == "北京市科协")
    assert bj[1:] == [4, 3, 3, 1, 2, 2, 1]
    total = next(row for row in summary if row[0] == "合计")
    assert total[3:5] == [5, 1]
    national = next(row for row in summary if str(row[0]).startswith("全国总名额"))
    assert national[2] == 3 and national[5] == 2
    rows = [list(row) for row in wb["优秀活动"].iter_rows(values_only=True)]
    assert rows[0] == ops.ACTIVITY_HEADER
    assert len(rows) == 1 + 5
    by_name = {row[2]: row for row in rows[1:]}
    sky = by_name["天文观测夜"]
    assert sky[0] == "北京市科协" and sky[1] == acts["天文观测夜"].id
    assert sky[3] == "北京市朝阳区" and sky[4] == "北京天文馆、北京科学中心"
    assert sky[6] == "张推优" and sky[7] == "是"
    assert by_name["量子科普进社区"][7] == "否"
    assert by_name["科普作家讲座"][0] == "中国科普作家协会"
    assert "未推荐的活动" not in by_name
    units = [list(row) for row in wb["优秀组织单位"].iter_rows(values_only=True)]
    assert units[0] == ops.UNIT_HEADER
    u = {row[1]: row for row in units[1:]}
    assert u["北京市科学技术协会"][2] == "是" and u["北京市科学技术协会"][6] == "是"
    assert u["北京市科学技术协会"][3] == "机器人编程营"
    assert u["北京科学中心"][2] == "否" and u["北京科学中心"][6] == "否"
    assert u["广东科学中心"][0] == "广东省科协"
    assert db.session.scalar(select(func.count()).select_from(ExcellentUnit)) == len(units) - 1


# --------------------------------------------------------------------------- scope admins

OPEN = {k: {"open": "2020-01-01 00:00", "close": "2099-12-31 23:59"}
        for k in ("filing", "supplement", "summary", "annual_report", "recommend")}


def test_selected_or_published_recommendations_cannot_be_changed(world):
    from kepu.science_day import tuiyou, tuiyou_units
    from kepu.workflow import OperationError

    campaign = world["campaign"]
    campaign.settings = {**campaign.settings, "windows": OPEN}
    db.session.commit()
    scope = tuiyou.province_scope("11")
    acts, by = world["acts"], world["bj_ty"]
    row = db.session.scalar(select(ExcellentActivity).where(
        ExcellentActivity.activity_id == acts["量子科普进社区"].id))
    row.selected_at = utcnow()
    world["units"]["center"].selected_at = utcnow()
    db.session.commit()
    with pytest.raises(OperationError, match="已在全国评选中入选，不能撤回"):
        tuiyou.withdraw(campaign, scope, acts["量子科普进社区"].id, by)
    with pytest.raises(OperationError, match="已在全国评选中入选，不能撤回"):
        tuiyou_units.withdraw(campaign, scope, "name:北京科学中心", by)
    assert selected_ids() == {acts["量子科普进社区"].id}
    # not selected: withdrawn, the place freed
    tuiyou.withdraw(campaign, scope, acts["天文观测夜"].id, by)
    assert db.session.get(TuiyouQuota, (campaign.id, "province:11")).activities_used == 2
    # once published nothing changes, not even a new recommendation
    db.session.add(TuiyouPublication(campaign_id=campaign.id, published_at=utcnow()))
    db.session.commit()
    with pytest.raises(OperationError, match="全国评选结果已公布"):
        tuiyou.recommend(campaign, scope, acts["天文观测夜"].id, by)
    with pytest.raises(OperationError, match="全国评选结果已公布"):
        tuiyou_units.withdraw(campaign, scope, f"org:{acts['机器人编程营'].hosts[0]['id']}", by)
