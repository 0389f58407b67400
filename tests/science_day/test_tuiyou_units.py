"""推优 of excellent organiser units (issue 13): candidates are the 主办单位 of the
scope's recommended excellent activities, grouped by unit (org id, an active org's exact
name, else the normalised name); 科协 detection (org kinds, else the name's ending); no
self-recommendation; at most 70% (per edition) 科协 organisations on recommend and on
withdraw; the quota, also under two concurrent clicks; the deadline; withdrawing an
excellent activity whose host is a recommended unit; another scope's page → 404."""
from __future__ import annotations

import re
import threading
import time

import pytest
from sqlalchemy import select

from kepu.accounts import roles as R
from kepu.accounts.models import Grant, User
from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org, OrgAlias, OrgKindTag
from kepu.science_day import tuiyou as ty_ops
from kepu.science_day import tuiyou_units as ops
from kepu.science_day.tuiyou_models import ExcellentActivity, ExcellentUnit, TuiyouQuota
from kepu.workflow import OperationError
from tests.science_day.test_tuiyou import WINDOWS, make, ty  # noqa: F401 - fixture

BJ = "province:11"
URL = "/science-day/tuiyou/units"


@pytest.fixture
def world(ty):  # noqa: F811
    orgs = dict(
        museum=Org(name="北京科学中心", kind="其他", region_code="11"),
        chaoyang=Org(name="北京市朝阳区科学技术协会", kind="县级科协", region_code="110105"),
        tagged=Org(name="北京市科技传播中心", kind="其他", region_code="11"),
        school=Org(name="北京市第八中学", kind="其他", region_code="11"),
    )
    db.session.add_all(orgs.values())
    db.session.flush()
    db.session.add(OrgKindTag(org_id=orgs["tagged"].id, kind="市级科协"))
    db.session.add(TuiyouQuota(campaign_id=ty["campaign"].id, scope_key=BJ, activities=20,
                               units=10, activities_used=0, units_used=0))
    db.session.commit()
    ty.update(orgs)
    return ty


def recommended(world, hosts, *, scope=BJ, name="优秀活动", province="11"):
    """An approved activity with ``hosts``, recommended as excellent by ``scope``."""
    a = make(world, name=name, eligible=False, province=province)
    a.hosts = hosts
    db.session.add(ExcellentActivity(campaign_id=world["campaign"].id, scope_key=scope,
                                     activity_id=a.id))
    db.session.commit()
    return a


def quota(world, scope=BJ):
    db.session.expire_all()
    q = db.session.get(TuiyouQuota, (world["campaign"].id, scope))
    return q.units_used, q.units_cast_used


def keys(world, scope=BJ):
    return [u.key for u in ops.board(world["campaign"], ty_ops.scope_from_key(scope)).units]


def post(client, action, key, scope=None, **headers):
    data = {"unit_key": key}
    if scope:
        data["scope"] = scope
    return client.post(f"{URL}/{action}", data=data, headers=headers)


def rec(world, key, scope=BJ):
    return ops.recommend(world["campaign"], ty_ops.scope_from_key(scope), key,
                         world["bj_admin"])


# --------------------------------------------------------------------------- candidates

def test_normalise_name():
    assert ops.normalise_name("  北京  科学（中心）\u3000分馆 ") == "北京 科学(中心) 分馆"
    assert ops.normalise_name(None) == ""


def test_candidates_are_hosts_of_recommended_activities_grouped_by_unit(world, client,
                                                                        auth):
    m = world["museum"]
    a1 = recommended(world, [{"id": m.id, "name": m.name}, {"name": "海淀 少年宫（西馆）"}],
                     name="甲")
    # the same org by exact name, the same name-only unit spelled differently
    a2 = recommended(world, [{"name": "北京科学中心"}, {"name": " 海淀  少年宫(西馆)"}],
                     name="乙")
    make(world, name="未推荐的活动").hosts = [{"name": "不该出现的单位"}]
    recommended(world, [{"name": "广东科学中心"}], scope="province:44", province="44",
                name="广东")
    db.session.commit()
    assert sorted(keys(world)) == sorted([f"org:{m.id}", "name:海淀 少年宫(西馆)"])
    b = ops.board(world["campaign"], ty_ops.province_scope("11"))
    assert {u.key: sorted(a.name for a in u.activities) for u in b.units} == {
        f"org:{m.id}": ["乙", "甲"], "name:海淀 少年宫(西馆)": ["乙", "甲"]}
    assert a1 and a2
    auth.login_as(world["bj_admin"])
    html = client.get(URL).get_data(as_text=True)
    assert "北京科学中心" in html and "海淀 少年宫(西馆)" in html
    assert "不该出现的单位" not in html and "广东科学中心" not in html
    assert "主办的优秀活动：" in html and "非科协组织" in html


def test_a_merged_or_pending_org_name_does_not_make_an_org_unit(world):
    db.session.add(Org(name="同名单位", kind="其他", status="merged"))
    db.session.commit()
    recommended(world, [{"name": "同名单位"}])
    assert keys(world) == ["name:同名单位"]


def test_no_candidates_explains_where_they_come_from(world, client, auth):
    auth.login_as(world["bj_admin"])
    html = client.get(URL).get_data(as_text=True)
    assert 'id="tu-empty"' in html and "请先在“优秀活动”中推荐活动" in html


# --------------------------------------------------------------------------- 科协 detection

def test_cast_detection_by_org_kind_tag_and_name(world):
    recommended(world, [
        {"id": world["chaoyang"].id, "name": "x"},         # kind 县级科协
        {"id": world["tagged"].id, "name": "x"},           # 兼属 市级科协
        {"id": world["museum"].id, "name": "x"},           # 其他
        {"name": "密云区科协"}, {"name": "延庆区科学技术协会"},  # by name
        {"name": "科协大厦物业公司"},                        # not a 科协
    ])
    b = ops.board(world["campaign"], ty_ops.province_scope("11"))
    got = {u.name: u.is_cast for u in b.units}
    assert got == {"北京市朝阳区科学技术协会": True, "北京市科技传播中心": True,
                   "北京科学中心": False, "密云区科协": True, "延庆区科学技术协会": True,
                   "科协大厦物业公司": False}


def test_is_cast_is_stored(world):
    recommended(world, [{"name": "某中学"}, {"name": "密云区科协"}])
    rec(world, "name:某中学")
    rec(world, "name:密云区科协")
    rows = {r.name: r.is_cast for r in db.session.scalars(select(ExcellentUnit))}
    assert rows == {"某中学": False, "密云区科协": True}
    assert quota(world) == (2, 1)


# --------------------------------------------------------------------------- self

@pytest.mark.parametrize("host", ["id", "name", "short", "alias"])
def test_a_province_cannot_recommend_its_own_provincial_cast(world, client, auth, host):
    bj = world["bj"]
    db.session.add(OrgAlias(org_id=bj.id, name="北京科协"))
    db.session.commit()
    h = {"id": {"id": bj.id, "name": bj.name}, "name": {"name": "北京市科学技术协会 "},
         "short": {"name": "北京市科协"}, "alias": {"name": "北京科协"}}[host]
    recommended(world, [h, {"name": "某中学"}])
    auth.login_as(world["bj_admin"])
    html = client.get(URL).get_data(as_text=True)
    assert "本单位，不可推荐" in html and "不能推荐本单位（北京市科协）" in html
    key = keys(world)[0]
    r = post(client, "recommend", key)
    assert r.status_code == 422
    assert "不能推荐本单位“" in r.get_data(as_text=True)
    assert quota(world) == (0, 0) and db.session.scalar(select(ExcellentUnit)) is None


def test_an_org_scope_cannot_recommend_itself(world, client, auth, make_user):
    society = world["society"]
    admin = make_user("13900001051", roles=[(R.TUIYOU_ORG_ADMIN, {"org_id": society.id})])
    scope = f"org:{society.id}"
    db.session.add(TuiyouQuota(campaign_id=world["campaign"].id, scope_key=scope,
                               activities=5, units=5, activities_used=0, units_used=0))
    a = make(world, name="学会活动", eligible=False)
    a.supervisor_category, a.supervisor_org_id, a.route_province = ("全国学会", society.id,
                                                                    None)
    a.hosts = [{"id": society.id, "name": society.name}, {"name": "某出版社"}]
    db.session.add(ExcellentActivity(campaign_id=world["campaign"].id, scope_key=scope,
                                     activity_id=a.id))
    db.session.commit()
    auth.login_as(admin)
    r = post(client, "recommend", f"org:{society.id}")
    assert r.status_code == 422 and "不能推荐本单位“中国科普作家协会”" in r.get_data(as_text=True)
    assert post(client, "recommend", "name:某出版社").status_code == 303
    assert quota(world, scope) == (1, 0)


# --------------------------------------------------------------------------- 70%

def test_seventy_percent_on_recommend(world, client, auth):
    recommended(world, [{"name": "密云区科协"}, {"name": "怀柔区科协"}, {"name": "平谷区科协"},
                        {"name": "某中学"}])
    auth.login_as(world["bj_admin"])
    html = client.get(URL).get_data(as_text=True)
    assert "第一个推荐的单位不能是科协组织（1/1 = 100%）" in html
    assert "推荐后科协占比 100%，超过上限 70%" in html
    # the first unit cannot be a 科协 one
    r = post(client, "recommend", "name:密云区科协")
    assert r.status_code == 422
    msg = r.get_data(as_text=True)
    assert "科协单位占比将为 100%（1/1），超过上限 70%" in msg and "请先推荐非科协单位" in msg
    assert quota(world) == (0, 0)
    assert post(client, "recommend", "name:某中学").status_code == 303
    html = client.get(URL).get_data(as_text=True)
    assert "科协单位占比：<strong>0 / 1 = 0%</strong>（上限 70%）" in html
    assert "推荐后科协占比 50%（上限 70%）" in html
    assert post(client, "recommend", "name:密云区科协").status_code == 303     # 1/2
    assert post(client, "recommend", "name:怀柔区科协").status_code == 303     # 2/3
    assert quota(world) == (3, 2)
    html = client.get(URL).get_data(as_text=True)
    assert "科协单位占比：<strong>2 / 3 = 66.7%</strong>" in html
    # the meter disables the next 科协 one and the server refuses it anyway
    assert "推荐后科协占比 75%，超过上限 70%</span>" in html
    assert html.count(" disabled aria-describedby") == 2   # and withdrawing 某中学 (2/2)
    assert "撤回后科协占比 100%，超过上限 70%" in html
    r = post(client, "recommend", "name:平谷区科协")
    assert r.status_code == 422
    assert "“平谷区科协”后科协单位占比将为 75%（3/4），超过上限 70%" in r.get_data(as_text=True)
    assert quota(world) == (3, 2)
    assert db.session.scalar(select(ExcellentUnit).where(
        ExcellentUnit.name == "平谷区科协")) is None


def test_seventy_percent_on_withdraw(world, client, auth):
    recommended(world, [{"name": "某中学"}, {"name": "某小学"}, {"name": "密云区科协"},
                        {"name": "怀柔区科协"}])
    for key in ("某中学", "密云区科协", "某小学", "怀柔区科协"):
        rec(world, f"name:{key}")
    assert quota(world) == (4, 2)
    auth.login_as(world["bj_admin"])
    # 2/3 = 66.7%: fine; then 2/2 would be 100%
    assert post(client, "withdraw", "name:某小学").status_code == 303
    html = client.get(URL).get_data(as_text=True)
    assert "撤回后科协占比 100%，超过上限 70%" in html
    r = post(client, "withdraw", "name:某中学")
    assert r.status_code == 422
    assert ("撤回“某中学”后科协单位占比将为 100%（2/2），超过上限 70%，请先撤回科协单位的推荐"
            in r.get_data(as_text=True))
    assert quota(world) == (3, 2)
    # withdrawing the 科协 ones is always allowed, then the last one leaves zero units
    assert post(client, "withdraw", "name:密云区科协").status_code == 303
    assert post(client, "withdraw", "name:怀柔区科协").status_code == 303
    assert post(client, "withdraw", "name:某中学").status_code == 303
    assert quota(world) == (0, 0)
    r = post(client, "withdraw", "name:某中学")
    assert r.status_code == 422 and "未被本单位推荐" in r.get_data(as_text=True)


def test_share_limit_is_an_edition_parameter(world, client, auth):
    auth.login_as(world["national"])
    html = client.get("/science-day/tuiyou/quotas").get_data(as_text=True)
    assert "科协单位占比上限（%）" in html and 'name="cast_share" inputmode="numeric" value="70"' in html
    base = {"total_activities": "10", "total_units": "5", "minimum": "1"}
    r = client.post("/science-day/tuiyou/quotas/formula", data={**base, "cast_share": "101"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "科协单位占比上限（%）须为 0–100 的整数" in html and 'value="101"' in html
    r = client.post("/science-day/tuiyou/quotas/formula", data={**base, "cast_share": ""})
    assert r.status_code == 422 and "请填写科协单位占比上限（%）" in r.get_data(as_text=True)
    assert client.post("/science-day/tuiyou/quotas/formula",
                       data={**base, "cast_share": "100"}).status_code == 303
    # an older form without the field keeps it
    assert client.post("/science-day/tuiyou/quotas/formula", data=base).status_code == 303
    db.session.expire_all()
    assert ty_ops.formula_of(db.session.get(Campaign, world["campaign"].id)).cast_share == 100
    # at 100% a 科协 unit may come first
    recommended(world, [{"name": "密云区科协"}])
    auth.login_as(world["bj_admin"])
    assert "（上限 100%）" in client.get(URL).get_data(as_text=True)
    assert post(client, "recommend", "name:密云区科协").status_code == 303
    assert quota(world) == (1, 1)


# --------------------------------------------------------------------------- quota

def test_quota_and_no_quota(world, client, auth):
    db.session.get(TuiyouQuota, (world["campaign"].id, BJ)).units = 1
    db.session.commit()
    recommended(world, [{"name": "某中学"}, {"name": "某小学"}])
    auth.login_as(world["bj_admin"])
    assert post(client, "recommend", "name:某中学").status_code == 303
    html = client.get(URL).get_data(as_text=True)
    assert "已推荐 <strong>1</strong> / 名额 <strong>1</strong>" in html
    assert "推荐名额（1 个）已用完" in html
    r = post(client, "recommend", "name:某小学")
    assert r.status_code == 422 and "优秀组织单位推荐名额（1 个）已用完" in r.get_data(as_text=True)
    r = post(client, "recommend", "name:某中学")
    assert r.status_code == 422 and "“某中学”已推荐" in r.get_data(as_text=True)
    assert quota(world) == (1, 0)
    db.session.delete(db.session.get(TuiyouQuota, (world["campaign"].id, BJ)))
    db.session.commit()
    with pytest.raises(OperationError, match="尚未分配优秀组织单位推荐名额"):
        rec(world, "name:某小学")


def test_a_unit_is_recommended_once_per_edition(world, client, auth, make_user):
    """Guangdong recommended it first: Beijing sees who, and is refused."""
    db.session.add(TuiyouQuota(campaign_id=world["campaign"].id, scope_key="province:44",
                               activities=5, units=5, activities_used=0, units_used=0))
    db.session.commit()
    recommended(world, [{"name": "中国科技馆"}, {"name": "某中学"}])
    recommended(world, [{"name": "中国科技馆"}], scope="province:44", province="44",
                name="广东活动")
    ops.recommend(world["campaign"], ty_ops.province_scope("44"), "name:中国科技馆",
                  world["gd_admin"])
    auth.login_as(world["bj_admin"])
    html = client.get(URL).get_data(as_text=True)
    assert "已由广东省科协推荐" in html
    r = post(client, "recommend", "name:中国科技馆")
    assert r.status_code == 422
    assert "“中国科技馆”已由广东省科协推荐，每届一个单位只推荐一次" in r.get_data(as_text=True)
    assert quota(world) == (0, 0)


def _race(app, world, monkeypatch, keys_):
    second = User(phone="13900001098", password_hash="x")
    db.session.add(second)
    db.session.flush()
    db.session.add(Grant(user_id=second.id, role=R.TUIYOU_ADMIN, region_code="11"))
    db.session.commit()
    users = [world["bj_admin"].id, second.id]
    campaign_id = world["campaign"].id
    original = ops.board
    barrier = threading.Barrier(2)

    def slow(*args, **kw):
        out = original(*args, **kw)
        time.sleep(0.3)
        return out

    monkeypatch.setattr(ops, "board", slow)
    outcomes: list = []

    def worker(key, user_id):
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                campaign = db.session.get(Campaign, campaign_id)
                barrier.wait(timeout=5)
                ops.recommend(campaign, ty_ops.province_scope("11"), key, user)
                outcomes.append("ok")
            except OperationError as e:
                outcomes.append(e.code)
            except Exception as e:  # noqa: BLE001 - reported below
                outcomes.append(repr(e))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=pair) for pair in zip(keys_, users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return sorted(outcomes)


def test_concurrent_recommendations_with_one_place_left(app, world, monkeypatch):
    """Two admins of Beijing click at once with one place left: exactly one succeeds."""
    db.session.get(TuiyouQuota, (world["campaign"].id, BJ)).units = 1
    db.session.commit()
    recommended(world, [{"name": "某中学"}, {"name": "某小学"}])
    assert _race(app, world, monkeypatch, ["name:某中学", "name:某小学"]) == ["ok", "quota"]
    assert quota(world) == (1, 0)
    assert len(db.session.scalars(select(ExcellentUnit)).all()) == 1


def test_concurrent_cast_recommendations_keep_the_share(app, world, monkeypatch):
    """Limit 50%, one non-科协 unit in: one 科协 unit fits (1/2), two do not (2/3).
    Two admins each add one at once: exactly one succeeds."""
    c = world["campaign"]
    c.settings = {**c.settings, "tuiyou": {**ty_ops.FORMULA_DEFAULTS, "cast_share": 50}}
    db.session.commit()
    recommended(world, [{"name": "某中学"}, {"name": "密云区科协"}, {"name": "怀柔区科协"}])
    rec(world, "name:某中学")
    got = _race(app, world, monkeypatch, ["name:密云区科协", "name:怀柔区科协"])
    assert got == ["ok", "share"]
    assert quota(world) == (2, 1)
    assert len(db.session.scalars(select(ExcellentUnit)).all()) == 2


# --------------------------------------------------------------------------- deadline, scope

def test_deadline_refuses_with_the_date(world, client, auth):
    recommended(world, [{"name": "某中学"}, {"name": "某小学"}])
    rec(world, "name:某中学")
    windows = {k: dict(v) for k, v in WINDOWS.items()}
    windows["recommend"]["close"] = "2021-10-25 23:59:59"
    world["campaign"].settings = {**world["campaign"].settings, "windows": windows}
    db.session.commit()
    auth.login_as(world["bj_admin"])
    html = client.get(URL).get_data(as_text=True)
    assert "已于 2021-10-25 23:59 截止" in html and "推荐为优秀组织单位</button>" not in html
    r = post(client, "recommend", "name:某小学")
    assert r.status_code == 422 and "2021-10-25 23:59" in r.get_data(as_text=True)
    r = post(client, "withdraw", "name:某中学")
    assert r.status_code == 422
    assert quota(world) == (1, 0)


def test_withdrawing_an_activity_whose_host_is_a_recommended_unit(world, client, auth):
    a = recommended(world, [{"name": "某中学"}, {"name": "某小学"}], name="甲")
    b = recommended(world, [{"name": "某小学"}], name="乙")
    rec(world, "name:某中学")
    rec(world, "name:某小学")
    auth.login_as(world["bj_admin"])
    r = client.post("/science-day/tuiyou/withdraw", data={"activity_id": a.id})
    assert r.status_code == 422
    assert "请先撤回优秀组织单位“某中学”的推荐" in r.get_data(as_text=True)
    assert db.session.scalar(select(ExcellentActivity).where(
        ExcellentActivity.activity_id == a.id)) is not None
    # 某小学 is also hosted by 乙's: 乙 may go
    assert client.post("/science-day/tuiyou/withdraw",
                       data={"activity_id": b.id}).status_code == 303
    assert post(client, "withdraw", "name:某中学").status_code == 303
    # now 甲 would orphan 某小学
    r = client.post("/science-day/tuiyou/withdraw", data={"activity_id": a.id})
    assert r.status_code == 422 and "请先撤回优秀组织单位“某小学”的推荐" in r.get_data(as_text=True)
    assert post(client, "withdraw", "name:某小学").status_code == 303
    assert client.post("/science-day/tuiyou/withdraw",
                       data={"activity_id": a.id}).status_code == 303


def test_someone_elses_scope_or_unit_is_404(world, client, auth):
    recommended(world, [{"name": "某中学"}])
    auth.login_as(world["gd_admin"])
    assert client.get(URL).status_code == 200
    assert client.get(f"{URL}?scope={BJ}").status_code == 404
    assert post(client, "recommend", "name:某中学", scope=BJ).status_code == 404
    # Guangdong's own scope has no such candidate
    assert post(client, "recommend", "name:某中学").status_code == 404
    auth.login_as(world["bj_admin"])
    assert post(client, "recommend", "name:不存在的单位").status_code == 404
    assert post(client, "recommend", "").status_code == 404
    assert db.session.scalar(select(ExcellentUnit)) is None


def test_htmx_swaps_the_list_and_meter(world, client, auth):
    recommended(world, [{"name": "某中学"}, {"name": "密云区科协"}])
    auth.login_as(world["bj_admin"])
    r = post(client, "recommend", "name:某中学", **{"HX-Request": "true"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="tu-panel">') and "<html" not in html
    assert "已推荐“某中学”为优秀组织单位" in html
    assert "已推荐 <strong>1</strong> / 名额 <strong>10</strong>" in html
    assert "科协单位占比：<strong>0 / 1 = 0%</strong>" in html
    r = post(client, "withdraw", "name:密云区科协", **{"HX-Request": "true"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="tu-panel">') and "未被本单位推荐" in html


def test_tabs_link_the_two_pages(world, client, auth):
    auth.login_as(world["bj_admin"])
    html = client.get("/science-day/tuiyou").get_data(as_text=True)
    assert re.search(r'<a class="btn" href="/science-day/tuiyou/units\?scope=province(:|%3A)11">'
                     r'优秀组织单位</a>', html)
    html = client.get(URL).get_data(as_text=True)
    assert re.search(r'aria-current="page" href="/science-day/tuiyou/units\?scope='
                     r'province(:|%3A)11">优秀组织单位</a>', html)
    assert re.search(r'<a class="btn" href="/science-day/tuiyou\?scope=province(:|%3A)11">'
                     r'优秀活动</a>', html)


def test_the_bingtuan_cannot_recommend_its_own_cast(world):
    from kepu.orgs.generate import BINGTUAN_KEY

    cast = Org(name="新疆生产建设兵团科学技术协会", kind="省级科协", region_code="6590",
               generated_key=BINGTUAN_KEY)
    db.session.add(cast)
    db.session.commit()
    recommended(world, [{"id": cast.id, "name": cast.name}, {"name": "新疆生产建设兵团"}],
                scope="province:659")
    b = ops.board(world["campaign"], ty_ops.province_scope("659"))
    assert {u.name: bool(u.own) for u in b.units} == {
        "新疆生产建设兵团科学技术协会": True, "新疆生产建设兵团": False}
