"""推优 (issue 13): 推优 admins granted by phone before they register (effective on
register and on login), quotas from the suggestion with cuts and reasons, the
eligibility checklist (refusals name the missing items), the quota under two concurrent
recommendations, the 推优 deadline, withdrawal, scopes (another province's → 404)."""
from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from kepu.accounts import roles as R
from kepu.accounts.models import Grant, User
from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.files.models import StoredFile
from kepu.orgs.models import Org
from kepu.science_day import tuiyou as ops
from kepu.science_day.after_models import SUMMARY_PARTS, ActivitySupplement
from kepu.science_day.models import Activity
from kepu.science_day.tuiyou_models import ExcellentActivity, TuiyouGrant, TuiyouQuota
from kepu.timeutil import utcnow
from kepu.workflow import OperationError

WINDOWS = {k: {"open": "2020-01-01 00:00", "close": "2099-12-31 23:59"}
           for k in ("filing", "supplement", "summary", "annual_report", "recommend")}
FULL_SUMMARY = {key: f"{label}的内容" for key, label in SUMMARY_PARTS}


@pytest.fixture
def ty(app, make_user):
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                        settings={"windows": {k: dict(v) for k, v in WINDOWS.items()}})
    bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    gd = Org(name="广东省科学技术协会", kind="省级科协", region_code="44")
    society = Org(name="中国科普作家协会", kind="全国学会")
    db.session.add_all([campaign, bj, gd, society])
    db.session.commit()
    return dict(
        campaign=campaign, bj=bj, gd=gd, society=society,
        owner=make_user("13900001001", roles=["info_officer"]),
        national=make_user("13900001002", roles=["national_admin"]),
        bj_admin=make_user("13900001003", roles=[(R.TUIYOU_ADMIN, {"region_code": "11"})]),
        gd_admin=make_user("13900001004", roles=[(R.TUIYOU_ADMIN, {"region_code": "44"})]),
        province=make_user("13900001005", roles=[("provincial_admin", {"region_code": "11"})]),
    )


def add_files(ty, a, field, n):
    for i in range(n):
        db.session.add(StoredFile(
            owner_id=ty["owner"].id, field=f"science_day:{a.campaign_id}:{field}",
            original_name=f"{field}{i}.png", stored_name=uuid.uuid4().hex, ext="png",
            content_type="image/png", size=10, sha256="0" * 64, entity_type="activity",
            entity_id=a.id))
    db.session.commit()


def make(ty, *, province="11", eligible=True, name="量子科普进社区", status="approved",
         offline=80, **sup) -> Activity:
    now = utcnow()
    org = ty["bj"] if province == "11" else ty["gd"]
    a = Activity(campaign_id=ty["campaign"].id, owner_id=ty["owner"].id, status=status,
                 name=name, mode="线下", activity_type="科普讲座",
                 start_at=now - timedelta(days=3), end_at=now - timedelta(days=2),
                 region_code=province + "0105", supervisor_category="省科协",
                 supervisor_org_id=org.id, route_province=province, hosts=[{"name": "某馆"}],
                 submitted_at=now - timedelta(days=20), approved_at=now - timedelta(days=15))
    db.session.add(a)
    db.session.flush()
    if eligible:
        fields = dict(media_reports=[{"title": "报道", "url": "https://news.example.com/1"}],
                      participants_offline=offline, video_durations={},
                      summary=dict(FULL_SUMMARY), summary_filed_at=now - timedelta(days=1))
        fields.update(sup)
        db.session.add(ActivitySupplement(activity_id=a.id, **fields))
    db.session.commit()
    if eligible:
        add_files(ty, a, "effect_photo", 3)
        add_files(ty, a, "participant_photo", 1)
    return a


def set_quota(ty, scope_key="province:11", n=1):
    db.session.add(TuiyouQuota(campaign_id=ty["campaign"].id, scope_key=scope_key,
                               activities=n, units=1, activities_used=0, units_used=0))
    db.session.commit()


def used(ty, scope_key="province:11"):
    db.session.expire_all()
    return db.session.get(TuiyouQuota, (ty["campaign"].id, scope_key)).activities_used


# --------------------------------------------------------------------------- grants

def test_grant_by_phone_takes_effect_on_register(ty, client, auth, code_for):
    auth.login_as(ty["national"])
    r = client.post("/science-day/tuiyou/admins/grant",
                    data={"scope": "province:11", "name": "张三", "phone": "13912340001"})
    assert r.status_code == 303
    pending = db.session.scalar(select(TuiyouGrant))
    assert pending.phone == "13912340001" and pending.applied_at is None
    html = client.get("/science-day/tuiyou/admins").get_data(as_text=True)
    assert "张三（13912340001）" in html and "待注册/登录" in html
    auth.logout()
    client.post("/account/register", data={"phone": "13912340001", "action": "send_code"})
    r = client.post("/account/register", data={
        "phone": "13912340001", "code": code_for("13912340001"), "password": "Passw0rd!",
        "confirm": "Passw0rd!"})
    assert r.status_code == 303
    db.session.expire_all()
    user = User.by_phone("13912340001")
    assert [(g.role, g.region_code) for g in user.grants] == [(R.TUIYOU_ADMIN, "11")]
    assert user.name == "张三"
    assert db.session.scalar(select(TuiyouGrant)).applied_at is not None


def test_grant_takes_effect_on_login_and_at_once_for_existing_users(ty, client, auth,
                                                                     make_user):
    # a pending grant whose holder already has an account (created behind its back)
    db.session.add(TuiyouGrant(scope_key="province:44", region_code="44", name="李四",
                               phone="13912340002"))
    db.session.commit()
    user = make_user("13912340002")
    assert not user.grants
    r = auth.login("13912340002")
    assert r.status_code == 303
    db.session.expire_all()
    assert [(g.role, g.region_code) for g in db.session.get(User, user.id).grants] == [
        (R.TUIYOU_ADMIN, "44")]
    assert client.get("/science-day/tuiyou").status_code == 200
    # granting to a registered phone applies at once
    other = make_user("13912340003")
    auth.login_as(ty["national"])
    client.post("/science-day/tuiyou/admins/grant",
                data={"scope": f"org:{ty['society'].id}", "name": "王五",
                      "phone": "13912340003"})
    db.session.expire_all()
    assert [(g.role, g.org_id) for g in db.session.get(User, other.id).grants] == [
        (R.TUIYOU_ORG_ADMIN, ty["society"].id)]


def test_replacing_a_provinces_admin_asks_first_then_ends_the_old_role(ty, client, auth):
    auth.login_as(ty["national"])
    client.post("/science-day/tuiyou/admins/grant",
                data={"scope": "province:11", "name": "张三", "phone": "13900001003"})
    db.session.expire_all()
    r = client.post("/science-day/tuiyou/admins/grant",
                    data={"scope": "province:11", "name": "赵六", "phone": "13912340009"})
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "已有推优管理员 张三（13900001003）" in html and "确认替换为 赵六" in html
    assert db.session.scalar(select(TuiyouGrant.phone)) == "13900001003"
    r = client.post("/science-day/tuiyou/admins/grant",
                    data={"scope": "province:11", "name": "赵六", "phone": "13912340009",
                          "confirm": "1"})
    assert r.status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(TuiyouGrant.phone)) == "13912340009"
    assert db.session.scalars(select(Grant).where(Grant.role == R.TUIYOU_ADMIN,
                                                  Grant.region_code == "11")).all() == []


@pytest.mark.parametrize("data,field,message", [
    ({"name": "", "phone": "13912340001"}, "name", "请填写姓名"),
    ({"name": "张三", "phone": "12345"}, "phone", "手机号"),
])
def test_grant_form_errors_keep_what_was_typed(ty, client, auth, data, field, message):
    auth.login_as(ty["national"])
    r = client.post("/science-day/tuiyou/admins/grant", data={"scope": "province:11", **data})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert f'id="province-11-{field}-err"' in html and message in html
    assert f'value="{data["phone"]}"' in html
    assert db.session.scalar(select(TuiyouGrant)) is None


# --------------------------------------------------------------------------- quotas

def test_quota_suggestion_formula_and_cut_with_reason(ty, client, auth):
    for i in range(3):
        make(ty, name=f"北京{i}", eligible=False)
    make(ty, province="44", name="广东", eligible=False)
    auth.login_as(ty["national"])
    r = client.post("/science-day/tuiyou/quotas/formula",
                    data={"total_activities": "100", "total_units": "40", "minimum": "1"})
    assert r.status_code == 303
    html = client.get("/science-day/tuiyou/quotas").get_data(as_text=True)
    assert "全国审核通过的活动数（共 4 个）" in html
    # Beijing: 100 × 3/4 = 75, units 40 × 3/4 = 30; Guangdong 25 / 10; others the minimum
    assert '<span class="ty-suggest">75 / 30</span>' in html
    assert '<span class="ty-suggest">25 / 10</span>' in html
    assert '<span class="ty-suggest">1 / 1</span>' in html
    r = client.post("/science-day/tuiyou/quotas/save",
                    data={"scope": "province:11", "activities": "75", "units": "30"})
    assert r.status_code == 303
    q = db.session.get(TuiyouQuota, (ty["campaign"].id, "province:11"))
    assert (q.activities, q.units, q.suggested_activities, q.cut_reason) == (75, 30, 75, "")
    # a cut needs a reason …
    r = client.post("/science-day/tuiyou/quotas/save",
                    data={"scope": "province:11", "activities": "60", "units": "30"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "请填写削减原因" in html and 'value="60"' in html
    r = client.post("/science-day/tuiyou/quotas/save",
                    data={"scope": "province:11", "activities": "60", "units": "30",
                          "reason": "部分活动材料抽查不合格"})
    assert r.status_code == 303
    db.session.expire_all()
    q = db.session.get(TuiyouQuota, (ty["campaign"].id, "province:11"))
    assert (q.activities, q.cut_reason) == (60, "部分活动材料抽查不合格")
    # … which the 推优 admin sees
    auth.login_as(ty["bj_admin"])
    html = client.get("/science-day/tuiyou").get_data(as_text=True)
    assert "名额调整说明：部分活动材料抽查不合格" in html
    assert "已推荐 <strong>0</strong> / 名额 <strong>60</strong>" in html


@pytest.mark.parametrize("data,message", [
    ({"activities": "", "units": "1"}, "请填写优秀活动名额"),
    ({"activities": "-1", "units": "1"}, "优秀活动名额须为"),
    ({"activities": "abc", "units": "1"}, "优秀活动名额须为"),
])
def test_quota_bad_input(ty, client, auth, data, message):
    auth.login_as(ty["national"])
    r = client.post("/science-day/tuiyou/quotas/save", data={"scope": "province:11", **data})
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    assert db.session.scalar(select(TuiyouQuota)) is None


def test_quota_cannot_go_below_what_is_recommended(ty, client, auth):
    set_quota(ty, n=2)
    ops.recommend(ty["campaign"], ops.province_scope("11"), make(ty).id, ty["bj_admin"])
    auth.login_as(ty["national"])
    r = client.post("/science-day/tuiyou/quotas/save",
                    data={"scope": "province:11", "activities": "0", "units": "1",
                          "reason": "收回"})
    assert r.status_code == 422 and "名额不能少于已推荐数" in r.get_data(as_text=True)


@pytest.mark.parametrize("stored", [{"total_activities": "x", "minimum": None}, "garbage",
                                    ["a"]])
def test_unreadable_formula_settings_fall_back(ty, client, auth, stored):
    ty["campaign"].settings = {**ty["campaign"].settings, "tuiyou": stored}
    db.session.commit()
    auth.login_as(ty["national"])
    r = client.get("/science-day/tuiyou/quotas")
    assert r.status_code == 200 and 'value="1000"' in r.get_data(as_text=True)


@pytest.mark.parametrize("scope", ["province:1101", "province:99", "province:", "org:999999",
                                   "org:x", "city:11", ""])
def test_unknown_or_wrong_level_scopes_are_404(ty, client, auth, scope):
    auth.login_as(ty["national"])
    r = client.post("/science-day/tuiyou/quotas/save",
                    data={"scope": scope, "activities": "1", "units": "1"})
    assert r.status_code == 404
    r = client.post("/science-day/tuiyou/admins/grant",
                    data={"scope": scope, "name": "张三", "phone": "13912340001"})
    assert r.status_code == 404
    assert db.session.scalar(select(TuiyouQuota)) is None
    assert db.session.scalar(select(TuiyouGrant)) is None


def test_an_org_that_is_not_a_society_or_ministry_is_no_scope(ty, client, auth):
    auth.login_as(ty["national"])
    r = client.post("/science-day/tuiyou/admins/grant",
                    data={"scope": f"org:{ty['bj'].id}", "name": "张三", "phone": "13912340001"})
    assert r.status_code == 404


# --------------------------------------------------------------------------- eligibility

def test_checklist_shows_the_data_and_refusal_names_missing_items(ty, client, auth):
    set_quota(ty, n=5)
    bad = make(ty, name="人数不足的活动", offline=30, media_reports=[])
    add_files(ty, bad, "effect_photo", 8)        # 3 + 8 = 11 photos: too many
    good = make(ty, name="合格的活动")
    auth.login_as(ty["bj_admin"])
    html = client.get("/science-day/tuiyou").get_data(as_text=True)
    assert "已上传 11 张" in html and "已填 30 人" in html and "已填 0 篇" in html
    assert "不符合：" in html
    r = client.post("/science-day/tuiyou/recommend",
                    data={"scope": "province:11", "activity_id": bad.id})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    for item in ("至少 1 篇媒体报道", "3–10 张活动照片", "线下参与人数不少于 50 人",
                 "活动信息完整"):
        assert item in html.split('id="ty-message">')[1].split("</div>")[0], item
    assert db.session.scalar(select(ExcellentActivity)) is None and used(ty) == 0
    r = client.post("/science-day/tuiyou/recommend",
                    data={"scope": "province:11", "activity_id": good.id})
    assert r.status_code == 303
    assert db.session.scalar(select(ExcellentActivity.activity_id)) == good.id
    assert used(ty) == 1


def test_late_summary_and_unapproved_are_ineligible(ty):
    set_quota(ty, n=5)
    a = make(ty, summary_filed_at=utcnow())
    a.end_at = utcnow() - timedelta(days=20)
    db.session.commit()
    with pytest.raises(OperationError, match="活动结束后 10 日内提交总结"):
        ops.recommend(ty["campaign"], ops.province_scope("11"), a.id, ty["bj_admin"])
    pending = make(ty, status="national_pending")
    with pytest.raises(LookupError):           # not a candidate at all
        ops.recommend(ty["campaign"], ops.province_scope("11"), pending.id, ty["bj_admin"])


def test_filters_search_and_paging(ty, client, auth):
    set_quota(ty, n=5)
    make(ty, name="合格甲")
    make(ty, name="缺材料乙", eligible=False)
    auth.login_as(ty["bj_admin"])
    html = client.get("/science-day/tuiyou?show=eligible").get_data(as_text=True)
    assert "合格甲" in html and "缺材料乙" not in html
    html = client.get("/science-day/tuiyou?show=ineligible").get_data(as_text=True)
    assert "缺材料乙" in html and "合格甲" not in html
    html = client.get("/science-day/tuiyou?q=乙").get_data(as_text=True)
    assert "缺材料乙" in html and "合格甲" not in html
    html = client.get("/science-day/tuiyou?show=recommended").get_data(as_text=True)
    assert "没有符合筛选的活动" in html


def test_paging_over_many_candidates(ty, client, auth):
    for i in range(ops.PER_PAGE + 3):
        make(ty, name=f"活动{i:02d}", eligible=False)
    auth.login_as(ty["bj_admin"])
    html = client.get("/science-day/tuiyou").get_data(as_text=True)
    assert html.count('<li class="ty-item') == ops.PER_PAGE and "下一页" in html
    html = client.get("/science-day/tuiyou?page=2").get_data(as_text=True)
    assert html.count('<li class="ty-item') == 3 and "上一页" in html


# --------------------------------------------------------------------------- quota

def test_quota_enforced_and_withdraw_frees_a_place(ty, client, auth):
    set_quota(ty, n=1)
    a, b = make(ty, name="甲"), make(ty, name="乙")
    auth.login_as(ty["bj_admin"])
    assert client.post("/science-day/tuiyou/recommend",
                       data={"activity_id": a.id}).status_code == 303
    r = client.post("/science-day/tuiyou/recommend", data={"activity_id": b.id})
    assert r.status_code == 422 and "优秀活动推荐名额（1 个）已用完" in r.get_data(as_text=True)
    r = client.post("/science-day/tuiyou/recommend", data={"activity_id": a.id})
    assert r.status_code == 422 and "该活动已推荐" in r.get_data(as_text=True)
    assert client.post("/science-day/tuiyou/withdraw",
                       data={"activity_id": a.id}).status_code == 303
    assert used(ty) == 0 and db.session.scalar(select(ExcellentActivity)) is None
    assert client.post("/science-day/tuiyou/recommend",
                       data={"activity_id": b.id}).status_code == 303
    assert used(ty) == 1
    r = client.post("/science-day/tuiyou/withdraw", data={"activity_id": a.id})
    assert r.status_code == 422 and "该活动未被推荐" in r.get_data(as_text=True)


def test_no_quota_yet(ty):
    a = make(ty)
    with pytest.raises(OperationError, match="尚未分配优秀活动推荐名额"):
        ops.recommend(ty["campaign"], ops.province_scope("11"), a.id, ty["bj_admin"])


def test_concurrent_recommendations_with_one_place_left(app, ty, monkeypatch):
    """Two admins of Beijing click at once with one place left: exactly one succeeds.
    The eligibility check is slowed so both are past it before either writes."""
    set_quota(ty, n=1)
    ids = [make(ty, name="并发甲").id, make(ty, name="并发乙").id]
    second = User(phone="13900001099", password_hash="x")
    db.session.add(second)
    db.session.flush()
    db.session.add(Grant(user_id=second.id, role=R.TUIYOU_ADMIN, region_code="11"))
    db.session.commit()
    users = [ty["bj_admin"].id, second.id]
    campaign_id = ty["campaign"].id
    original = ops.evaluate
    barrier = threading.Barrier(2)

    def slow(*args, **kw):
        out = original(*args, **kw)
        time.sleep(0.3)
        return out

    monkeypatch.setattr(ops, "evaluate", slow)
    outcomes: list = []

    def worker(activity_id, user_id):
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                campaign = db.session.get(Campaign, campaign_id)
                barrier.wait(timeout=5)
                ops.recommend(campaign, ops.province_scope("11"), activity_id, user)
                outcomes.append("ok")
            except OperationError as e:
                outcomes.append(e.code)
            except Exception as e:  # noqa: BLE001 - reported below
                outcomes.append(repr(e))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=pair) for pair in zip(ids, users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["ok", "quota"], outcomes
    assert used(ty) == 1
    assert len(db.session.scalars(select(ExcellentActivity)).all()) == 1


# --------------------------------------------------------------------------- deadline, scope

def test_deadline_refuses_with_the_date(ty, client, auth):
    set_quota(ty, n=2)
    a, b = make(ty, name="甲"), make(ty, name="乙")
    ops.recommend(ty["campaign"], ops.province_scope("11"), a.id, ty["bj_admin"])
    windows = {k: dict(v) for k, v in WINDOWS.items()}
    windows["recommend"]["close"] = "2021-10-25 23:59:59"
    ty["campaign"].settings = {**ty["campaign"].settings, "windows": windows}
    db.session.commit()
    auth.login_as(ty["bj_admin"])
    html = client.get("/science-day/tuiyou").get_data(as_text=True)
    assert "已于 2021-10-25 23:59 截止" in html and "推荐为优秀活动</button>" not in html
    r = client.post("/science-day/tuiyou/recommend", data={"activity_id": b.id})
    assert r.status_code == 422 and "2021-10-25 23:59" in r.get_data(as_text=True)
    r = client.post("/science-day/tuiyou/withdraw", data={"activity_id": a.id})
    assert r.status_code == 422
    assert used(ty) == 1


def test_beijing_cannot_recommend_guangdong(ty, client, auth):
    set_quota(ty, n=2)
    set_quota(ty, "province:44", n=2)
    gd = make(ty, province="44", name="广东活动")
    auth.login_as(ty["bj_admin"])
    assert "广东活动" not in client.get("/science-day/tuiyou").get_data(as_text=True)
    r = client.post("/science-day/tuiyou/recommend", data={"activity_id": gd.id})
    assert r.status_code == 404
    r = client.post("/science-day/tuiyou/recommend",
                    data={"scope": "province:44", "activity_id": gd.id})
    assert r.status_code == 404
    assert client.get("/science-day/tuiyou?scope=province:44").status_code == 404
    assert db.session.scalar(select(ExcellentActivity)) is None


def test_society_scope_recommends_its_own_activities(ty, client, auth, make_user):
    admin = make_user("13900001050",
                      roles=[(R.TUIYOU_ORG_ADMIN, {"org_id": ty["society"].id})])
    set_quota(ty, f"org:{ty['society'].id}", n=1)
    a = make(ty, name="学会活动")
    a.supervisor_category, a.supervisor_org_id, a.route_province = (
        "全国学会", ty["society"].id, None)
    db.session.commit()
    auth.login_as(admin)
    assert "学会活动" in client.get("/science-day/tuiyou").get_data(as_text=True)
    assert client.post("/science-day/tuiyou/recommend",
                       data={"activity_id": a.id}).status_code == 303
    assert used(ty, f"org:{ty['society'].id}") == 1


def test_workbench_cards(ty, client, auth):
    set_quota(ty, n=3)
    auth.login_as(ty["bj_admin"])
    html = client.get("/workbench").get_data(as_text=True)
    assert "推荐优秀活动" in html and "/science-day/tuiyou" in html
    assert "推荐优秀组织单位" in html and "/science-day/tuiyou/units" in html
    assert "组织单位名额" in html
    auth.login_as(ty["national"])
    html = client.get("/workbench").get_data(as_text=True)
    assert "设置推优名额" in html and "/science-day/tuiyou/admins" in html
