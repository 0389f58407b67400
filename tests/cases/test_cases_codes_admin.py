"""推荐码: generation for recommender units, admin list / regenerate / export, binding."""
from __future__ import annotations

import io
import re
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from kepu.accounts.models import Grant
from kepu.admin.models import Campaign
from kepu.cases.common import DEFAULT_UNIT_KINDS
from kepu.cases.models import RecommendCode
from kepu.cases.operations import codes as code_ops
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.workflow import AuditLog

HX = {"HX-Request": "true"}
CODE_RE = re.compile(r"^[A-HJKMNP-Z2-9]{10}$")  # no 0/O/1/I/L


@pytest.fixture
def world(app, make_user):
    campaign = Campaign(kind="cases", year=2026, title="2026年度“典赞·科普中国”科普案例征集",
                        settings={"window_open": "2020-01-01 00:00",
                                  "window_close": "2099-12-31 23:59"})
    db.session.add(campaign)
    units = [Org(name=f"{kind}甲", kind=kind, region_code="11" if kind == "省级科协" else None)
             for kind in DEFAULT_UNIT_KINDS]
    others = [Org(name="某市科协", kind="市级科协"), Org(name="某部委", kind="部委"),
              Org(name="某公司", kind="其他"),
              Org(name="待审核学会", kind="全国学会", status="pending")]
    db.session.add_all(units + others)
    db.session.commit()
    admin = make_user("13900000101", name="平台管理员", roles=["platform_admin"])
    user = make_user("13900000102", name="学会科普部")
    return dict(campaign=campaign, units=units, others=others, admin=admin, user=user)


def codes_by_org(campaign) -> dict[int, str]:
    return {c.org_id: c.code for c in db.session.scalars(
        select(RecommendCode).where(RecommendCode.campaign_id == campaign.id))}


# --- generation -------------------------------------------------------------------------

def test_one_code_per_unit_kind_none_for_other_kinds(world):
    created = code_ops.ensure_codes(world["campaign"], by=world["admin"])
    assert created == len(DEFAULT_UNIT_KINDS) == 7
    codes = codes_by_org(world["campaign"])
    assert set(codes) == {o.id for o in world["units"]}
    for org in world["others"]:
        assert org.id not in codes
    assert all(CODE_RE.match(c) for c in codes.values())
    assert len(set(codes.values())) == len(codes)
    assert db.session.scalar(select(AuditLog).where(
        AuditLog.action == "recommend_codes_generate")).data == {"created": 7}


def test_generation_is_idempotent_and_covers_new_units(world):
    campaign = world["campaign"]
    code_ops.ensure_codes(campaign)
    first = codes_by_org(campaign)
    assert code_ops.ensure_codes(campaign) == 0
    assert codes_by_org(campaign) == first
    late = Org(name="新加入的高校科协", kind="高校科协")
    db.session.add(late)
    db.session.commit()
    assert code_ops.missing_count(campaign) == 1
    assert code_ops.ensure_codes(campaign) == 1
    after = codes_by_org(campaign)
    assert {k: v for k, v in after.items() if k != late.id} == first and late.id in after


def test_unit_kinds_setting_overrides_the_default(world):
    campaign = world["campaign"]
    campaign.settings = dict(campaign.settings, unit_kinds=["全国学会", "省级科协"])
    db.session.commit()
    assert code_ops.ensure_codes(campaign) == 2


def test_codes_are_random_and_formatted():
    drawn = {code_ops.new_code() for _ in range(2000)}
    assert len(drawn) == 2000
    assert all(CODE_RE.match(c) for c in drawn)
    assert set("".join(drawn)) == set(code_ops.ALPHABET)  # the whole alphabet is used
    assert code_ops.format_code("ABCDEFGHJK") == "ABCDE-FGHJK"
    assert code_ops.clean_code(" abcde-fghjk ") == "ABCDEFGHJK"
    assert code_ops.clean_code("ＡＢＣＤＥ　ＦＧＨＪＫ") == "ABCDEFGHJK"  # full-width input


def test_collision_is_retried(world, monkeypatch):
    campaign = world["campaign"]
    code_ops.ensure_codes(campaign)
    taken = next(iter(codes_by_org(campaign).values()))
    draws = iter([taken, taken, "ZZZZZZZZZZ"])
    monkeypatch.setattr(code_ops, "new_code", lambda: next(draws))
    code = db.session.scalars(select(RecommendCode)).first()
    code_ops.regenerate(code)
    assert code.code == "ZZZZZZZZZZ"


def test_find_code_accepts_case_and_dashes_and_skips_inactive_units(world):
    campaign = world["campaign"]
    code_ops.ensure_codes(campaign)
    org = world["units"][0]
    code = codes_by_org(campaign)[org.id]
    typed = code_ops.format_code(code).lower()
    assert code_ops.find_code(typed, campaign).org_id == org.id
    assert code_ops.find_code(code[:5] + " " + code[5:], campaign).org_id == org.id
    assert code_ops.find_code(code[:-1], campaign) is None
    org.status = "merged"
    db.session.commit()
    assert code_ops.find_code(code, campaign) is None


# --- admin pages ---------------------------------------------------------------------------

def test_admin_codes_page_access(world, client, auth):
    assert client.get("/cases/admin/codes").status_code in (302, 303)
    auth.login_as(world["user"])
    assert client.get("/cases/admin/codes").status_code == 404
    assert client.post("/cases/admin/codes/generate").status_code == 404
    assert client.get("/cases/admin/codes.xlsx").status_code == 404
    assert db.session.scalar(select(func.count(RecommendCode.id))) == 0


def test_admin_generates_and_lists_codes(world, client, auth):
    auth.login_as(world["admin"])
    html = client.get("/cases/admin/codes").get_data(as_text=True)
    assert "7 个单位未生成" in html and "未生成" in html
    r = client.post("/cases/admin/codes/generate")
    assert r.status_code in (302, 303)
    html = client.get("/cases/admin/codes").get_data(as_text=True)
    for org in world["units"]:
        assert org.name in html
        assert code_ops.format_code(codes_by_org(world["campaign"])[org.id]) in html
    assert "某市科协" not in html and "某部委" not in html
    assert "data-copy=" in html and "重新生成" in html


def test_admin_search_filter_and_fragment(world, client, auth):
    code_ops.ensure_codes(world["campaign"])
    auth.login_as(world["admin"])
    html = client.get("/cases/admin/codes?kind=省级科协").get_data(as_text=True)
    assert "省级科协甲" in html and "全国学会甲" not in html
    html = client.get("/cases/admin/codes?q=学会").get_data(as_text=True)
    assert "全国学会甲" in html and "省级科协甲" not in html
    r = client.get("/cases/admin/codes?q=学会", headers=HX)
    frag = r.get_data(as_text=True)
    assert 'id="code-results"' in frag and "<html" not in frag


def test_admin_pagination(world, client, auth):
    db.session.add_all([Org(name=f"学会{i:02d}", kind="全国学会") for i in range(25)])
    db.session.commit()
    code_ops.ensure_codes(world["campaign"])
    auth.login_as(world["admin"])
    html = client.get("/cases/admin/codes?kind=全国学会").get_data(as_text=True)
    assert "共 26 个推荐单位" in html and "第 1 / 2 页" in html
    html = client.get("/cases/admin/codes?kind=全国学会&page=2").get_data(as_text=True)
    assert html.count('id="code-row-') == 6


def test_regenerate_swaps_row_and_old_code_stops_working(world, client, auth):
    campaign = world["campaign"]
    code_ops.ensure_codes(campaign)
    code = db.session.scalars(select(RecommendCode)).first()
    old = code.code
    auth.login_as(world["admin"])
    r = client.post(f"/cases/admin/codes/{code.id}/regenerate", headers=HX)
    assert r.status_code == 200
    frag = r.get_data(as_text=True)
    db.session.expire_all()
    code = db.session.get(RecommendCode, code.id)
    assert code.code != old and CODE_RE.match(code.code) and code.regenerated_at is not None
    assert frag.lstrip().startswith(f'<tr id="code-row-{code.org_id}"')
    assert code_ops.format_code(code.code) in frag and "原推荐码已失效" in frag
    assert code_ops.find_code(old, campaign) is None
    assert code_ops.find_code(code.code, campaign).id == code.id
    log = db.session.scalar(select(AuditLog).where(AuditLog.action == "regenerate"))
    assert log.entity_id == code.id and log.actor_id == world["admin"].id
    # the binding page refuses the old code
    auth.login_as(world["user"])
    r = client.post("/cases/bind", data={"code": old})
    assert r.status_code == 422 and "推荐码无效" in r.get_data(as_text=True)


def test_regenerate_without_js_redirects_back(world, client, auth):
    code_ops.ensure_codes(world["campaign"])
    code = db.session.scalars(select(RecommendCode)).first()
    auth.login_as(world["admin"])
    r = client.post(f"/cases/admin/codes/{code.id}/regenerate",
                    data={"next": "/cases/admin/codes?page=1&q=甲"})
    assert r.status_code == 303
    assert unquote(r.headers["Location"]).endswith("/cases/admin/codes?page=1&q=甲")
    r = client.post(f"/cases/admin/codes/{code.id}/regenerate", data={"next": "https://evil.example"})
    assert r.headers["Location"].endswith("/cases/admin/codes")


def test_export_xlsx(world, client, auth):
    code_ops.ensure_codes(world["campaign"])
    auth.login_as(world["admin"])
    r = client.get("/cases/admin/codes.xlsx")
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ws = load_workbook(io.BytesIO(r.data)).worksheets[0]
    rows = [[c or "" for c in row] for row in ws.iter_rows(values_only=True)]
    assert rows[0] == ["单位名称", "单位类别", "所在地区", "推荐码"]
    body = {r[0]: r for r in rows[1:]}
    assert set(body) == {o.name for o in world["units"]}
    codes = codes_by_org(world["campaign"])
    prov = next(o for o in world["units"] if o.kind == "省级科协")
    assert body[prov.name][1] == "省级科协" and body[prov.name][2] == "北京市"
    assert body[prov.name][3] == code_ops.format_code(codes[prov.id])


# --- binding --------------------------------------------------------------------------------

def test_bind_requires_login(world, client):
    r = client.get("/cases/bind")
    assert r.status_code in (302, 303) and "/account/login" in r.headers["Location"]


def test_bind_wrong_code_message_next_to_field(world, client, auth):
    code_ops.ensure_codes(world["campaign"])
    auth.login_as(world["user"])
    r = client.post("/cases/bind", data={"code": "ABCDE-FGHJK"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert re.search(r'<p class="error" id="code-error"[^>]*>推荐码无效', html)
    assert 'aria-invalid="true"' in html and 'value="ABCDE-FGHJK"' in html
    r = client.post("/cases/bind", data={"code": ""})
    assert r.status_code == 422 and "请输入推荐码" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Grant.id)).where(Grant.role == "case_unit")) == 0


def test_bind_right_code_grants_case_unit_once(world, client, auth):
    code_ops.ensure_codes(world["campaign"])
    org = world["units"][1]
    code = codes_by_org(world["campaign"])[org.id]
    auth.login_as(world["user"])
    r = client.post("/cases/bind", data={"code": code_ops.format_code(code).lower()})
    assert r.status_code in (302, 303)
    grants = db.session.scalars(select(Grant).where(Grant.user_id == world["user"].id)).all()
    assert [(g.role, g.org_id) for g in grants] == [("case_unit", org.id)]
    html = client.get("/cases/bind").get_data(as_text=True)
    assert org.name in html and "绑定成功" in html
    r = client.post("/cases/bind", data={"code": code})
    assert r.status_code == 200 and "无需重复绑定" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Grant.id)).where(
        Grant.user_id == world["user"].id)) == 1


def test_bind_refused_when_window_closed(world, client, auth):
    campaign = world["campaign"]
    code_ops.ensure_codes(campaign)
    campaign.settings = dict(campaign.settings, window_open="2098-01-01 00:00")
    db.session.commit()
    code = next(iter(codes_by_org(campaign).values()))
    auth.login_as(world["user"])
    assert "案例征集将于 2098-01-01 00:00 开始" in client.get("/cases/bind").get_data(as_text=True)
    r = client.post("/cases/bind", data={"code": code})
    assert r.status_code == 422 and "开始" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Grant.id)).where(Grant.role == "case_unit")) == 0


def test_wrong_codes_are_rate_limited_per_user(world, app_factory, login_session):
    code_ops.ensure_codes(world["campaign"])
    app2 = app_factory(RATELIMIT_ENABLED=True, CASES_CODE_RATE_LIMIT="3 per minute")
    client2 = app2.test_client()
    login_session(client2, world["user"])
    for _ in range(3):
        assert client2.post("/cases/bind", data={"code": "WRONGWRONG"}).status_code == 422
    r = client2.post("/cases/bind", data={"code": "WRONGWRONG"})
    assert r.status_code == 429
    assert "推荐码输入错误次数过多" in r.get_data(as_text=True)
    # the limit is shared with the start page (same guessing risk)
    r = client2.post("/cases/start", data={"code": "WRONGWRONG"})
    assert r.status_code == 429 and "推荐码输入错误次数过多" in r.get_data(as_text=True)
    # another user is not affected
    login_session(client2, world["admin"])
    assert client2.post("/cases/bind", data={"code": "WRONGWRONG"}).status_code == 422


def test_admin_codes_without_campaign(app, client, auth, make_user):
    admin = make_user("13900000109", roles=["platform_admin"])
    auth.login_as(admin)
    r = client.get("/cases/admin/codes")
    assert r.status_code == 200 and "尚未创建" in r.get_data(as_text=True)
    assert client.get("/cases/admin/codes", headers=HX).status_code == 200
    assert client.get("/cases/admin/codes.xlsx").status_code == 404
    r = client.post("/cases/admin/codes/generate", follow_redirects=True)
    assert "尚未创建案例征集活动" in r.get_data(as_text=True)
