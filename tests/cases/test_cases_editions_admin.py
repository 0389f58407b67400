"""Edition administration of the 典赞·科普中国 cases call: access, creating editions,
editing every setting (server-side validation next to the field, nothing typed lost),
the window taking effect at once, the version check between two admins, audit."""
from __future__ import annotations

import html as htmllib
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from kepu.admin.models import Campaign
from kepu.cases.common import DEFAULT_UNIT_KINDS, require_open_window, unit_kinds
from kepu.cases.models import Case
from kepu.cases.operations import editions as ops
from kepu.cases.settings import DEFAULTS, CasesSettings
from kepu.editions import SETTINGS_CONFLICT
from kepu.extensions import db
from kepu.workflow import AuditLog, OperationError
from tests.conftest import AuthActions

LIST_URL = "/cases/admin/editions"


def settings_url(campaign) -> str:
    return f"/cases/admin/editions/{campaign.id}/settings"


def form_data(campaign, **over) -> dict:
    """A complete, valid settings form for ``campaign`` (what the GET page posts back)."""
    s = CasesSettings(campaign)
    cats = s["categories"]
    data = {
        "settings_digest": ops.settings_digest(campaign),
        "title": campaign.title,
        "window_open": s["window_open"][:16].replace(" ", "T"),
        "window_close": s["window_close"][:16].replace(" ", "T"),
        "work_since": s["work_since"],
        "activity_label": cats["activity"]["label"],
        "activity_subtypes": "\n".join(cats["activity"]["subtypes"]),
        "venue_label": cats["venue"]["label"],
        "venue_subtypes": "\n".join(cats["venue"]["subtypes"]),
        "quota_per_category": str(s["quota_per_category"]),
        "quota_total": str(s["quota_total"]),
        "showcase_total": str(s["showcase_total"]),
        "works_category_label": s["works_category_label"],
        "target_works": str(s["showcase_targets"]["works"]),
        "target_activity": str(s["showcase_targets"]["activity"]),
        "target_venue": str(s["showcase_targets"]["venue"]),
        "unit_kinds": list(unit_kinds(s)),
        "detail_outline": "\n".join(s["detail_outline"]),
        "past_years_rule": s["past_years_rule"],
        "contact_business": s["contacts"]["business"],
        "contact_tech": s["contacts"]["tech"],
    }
    for key, value in s["limits"].items():
        data[f"limit_{key}"] = str(value)
    data.update(over)
    return data


def field_block(html: str, field_id: str) -> str:
    """The HTML of the field wrapper <... id="<field_id>-field"> (up to the next field)."""
    start = html.index(f'id="{field_id}-field"')
    end = html.find('class="field', start + 10)
    return html[start:end if end != -1 else len(html)]


def audit_rows(campaign, action="settings"):
    return list(db.session.scalars(select(AuditLog).where(
        AuditLog.entity_type == "campaign", AuditLog.entity_id == campaign.id,
        AuditLog.action == action)))


def reload(campaign) -> Campaign:
    db.session.expire_all()
    return db.session.get(Campaign, campaign.id)


def digest_in(html: str) -> str:
    m = re.search(r'name="settings_digest" type="hidden" value="([^"]*)"', html)
    assert m, "no settings_digest input"
    return m.group(1)


# --- access -----------------------------------------------------------------------------

def test_anonymous_is_sent_to_login(client, cc):
    for url in (LIST_URL, settings_url(cc.campaign)):
        r = client.get(url)
        assert r.status_code == 302 and "/account/login" in r.headers["Location"]
    r = client.post(LIST_URL, data={"year": "2030", "title": "x"})
    assert r.status_code == 302 and "/account/login" in r.headers["Location"]
    r = client.post(settings_url(cc.campaign), data=form_data(cc.campaign, title="改名"))
    assert r.status_code == 302 and "/account/login" in r.headers["Location"]
    assert ops.edition_by_year(2030) is None
    assert reload(cc.campaign).title != "改名"


@pytest.mark.parametrize("who", ["implementer", "case_admin", "unit_admin", "national_admin"])
def test_non_platform_admins_are_refused(client, auth, cc, make_user, who):
    if who == "unit_admin":
        user = make_user(roles=[("unit_admin", {"org_id": cc.unit.id})])
    elif who == "national_admin":
        user = make_user(roles=["national_admin"])
    else:
        user = getattr(cc, who)
    auth.login_as(user)
    before = dict(cc.campaign.settings)
    for url in (LIST_URL, settings_url(cc.campaign)):
        assert client.get(url).status_code == 404
    assert client.post(LIST_URL, data={"year": "2030", "title": "x"}).status_code == 404
    r = client.post(settings_url(cc.campaign),
                    data=form_data(cc.campaign, window_close="2021-01-01T00:00"))
    assert r.status_code == 404
    assert reload(cc.campaign).settings == before
    assert ops.edition_by_year(2030) is None


def test_platform_admin_may_use_both_pages(client, auth, cc):
    auth.login_as(cc.admin)
    assert client.get(LIST_URL).status_code == 200
    assert client.get(settings_url(cc.campaign)).status_code == 200


def test_settings_of_unknown_or_other_kind_campaign_is_404(client, auth, cc):
    works = Campaign(kind="works", year=2026, title="作品征集", settings={})
    db.session.add(works)
    db.session.commit()
    auth.login_as(cc.admin)
    assert client.get(settings_url(works)).status_code == 404
    assert client.get("/cases/admin/editions/99999/settings").status_code == 404
    assert client.post(settings_url(works), data=form_data(cc.campaign)).status_code == 404
    assert reload(works).settings == {}


# --- list and create ---------------------------------------------------------------------

def test_list_shows_editions_window_phase_and_counts(client, auth, cc):
    cc.make_case(status="submitted", with_photos=False)
    cc.make_case(status="submitted", with_photos=False)
    cc.make_case(status="recommended", with_photos=False)
    cc.make_case(status="draft", with_photos=False)
    old = Campaign(kind="cases", year=2025, title="2025年度案例征集",
                   settings={"window_open": "2025-06-17 00:00",
                             "window_close": "2025-06-30 23:59:59"})
    future = Campaign(kind="cases", year=2099, title="2099年度案例征集",
                      settings={"window_open": "2099-06-17 00:00",
                                "window_close": "2099-06-30 23:59:59"})
    works = Campaign(kind="works", year=2030, title="作品征集（不应列出）", settings={})
    db.session.add_all([old, future, works])
    db.session.commit()
    auth.login_as(cc.admin)
    r = client.get(LIST_URL)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "作品征集（不应列出）" not in html
    assert html.index(f'id="edition-{future.id}"') < html.index(f'id="edition-{cc.campaign.id}"') \
        < html.index(f'id="edition-{old.id}"')
    row = html[html.index(f'id="edition-{cc.campaign.id}"'):html.index(f'id="edition-{old.id}"')]
    assert "2026年度“典赞·科普中国”科普案例征集" in row and "征集进行中" in row
    assert "共 4 个" in row and "草稿 1" in row and "待推荐 2" in row and "已推荐 1" in row
    assert settings_url(cc.campaign) in row
    old_row = html[html.index(f'id="edition-{old.id}"'):]
    assert "2025-06-17 00:00 至 2025-06-30 23:59" in old_row and "已截止" in old_row
    assert "共 0 个" in old_row
    future_row = html[html.index(f'id="edition-{future.id}"'):
                      html.index(f'id="edition-{cc.campaign.id}"')]
    assert "未开始" in future_row and "当前届次" in future_row
    # the create form proposes the year after the latest, with the default title
    assert 'value="2100"' in html and "2100年度“典赞·科普中国”科普案例征集" in html


def test_create_form_defaults_to_next_year(client, auth, cc):
    auth.login_as(cc.admin)
    html = client.get(LIST_URL).get_data(as_text=True)
    block = field_block(html, "year")
    assert 'value="2027"' in block
    assert 'value="2027年度“典赞·科普中国”科普案例征集"' in html


def test_create_edition_copies_latest_settings_with_shifted_dates(client, auth, cc):
    cc.campaign.settings = {
        **cc.campaign.settings, "window_open": "2026-06-17 00:00",
        "window_close": "2026-06-30 23:59:59", "work_since": "2025-01-01",
        "categories": {"activity": {"label": "活动", "subtypes": ["讲座", "其他"]},
                       "venue": {"label": "阵地", "subtypes": ["科技馆", "其他"]}},
        "limits": {**DEFAULTS["limits"], "details": 5000}, "quota_total": 5,
        "unit_kinds": ["全国学会", "省级科协"]}
    db.session.commit()
    auth.login_as(cc.admin)
    r = client.post(LIST_URL, data={"year": "2027", "title": "2027年度“典赞·科普中国”科普案例征集"})
    assert r.status_code == 303
    new = ops.edition_by_year(2027)
    assert new is not None and new.kind == "cases"
    assert r.headers["Location"].endswith(settings_url(new))
    s = CasesSettings(new)
    assert s["window_open"] == "2027-06-17 00:00" and s["window_close"] == "2027-06-30 23:59:59"
    assert s["work_since"] == "2026-01-01"
    assert s["categories"]["activity"] == {"label": "活动", "subtypes": ["讲座", "其他"]}
    assert s.limit("details") == 5000 and s["quota_total"] == 5
    assert unit_kinds(s) == ["全国学会", "省级科协"]
    (row,) = audit_rows(new, "create")
    assert row.data["copied_from"] == 2026 and row.actor_id == cc.admin.id
    # the old edition is untouched; the flash asks to check the window
    assert CasesSettings(reload(cc.campaign))["window_open"] == "2026-06-17 00:00"
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已创建 2027 年度案例征集" in page and "请核对征集时间" in page


def test_create_duplicate_year_is_refused_next_to_the_field(client, auth, cc):
    auth.login_as(cc.admin)
    r = client.post(LIST_URL, data={"year": "2026", "title": "我输入的名称"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    block = field_block(html, "year")
    assert "2026 年度的案例征集已存在" in block and 'aria-invalid="true"' in block
    assert 'value="我输入的名称"' in html  # nothing typed is lost
    assert len(ops.editions()) == 1


@pytest.mark.parametrize("data, field, message", [
    ({"year": "", "title": "x"}, "year", "请填写"),
    ({"year": "二〇二七", "title": "x"}, "year", "请输入整数"),
    ({"year": "1999", "title": "x"}, "year", "2000–2100"),
    ({"year": "2101", "title": "x"}, "year", "2000–2100"),
    ({"year": "2027", "title": "  "}, "title", "请填写征集活动名称"),
    ({"year": "2027", "title": "长" * 101}, "title", "不能超过 100 字"),
])
def test_create_edition_validation(client, auth, cc, data, field, message):
    auth.login_as(cc.admin)
    r = client.post(LIST_URL, data=data)
    assert r.status_code == 422
    block = field_block(r.get_data(as_text=True), field)
    assert message in block and 'aria-invalid="true"' in block
    assert len(ops.editions()) == 1


def test_create_first_edition_uses_defaults(client, auth, make_user):
    admin = make_user(roles=["platform_admin"])
    auth.login_as(admin)
    r = client.get(LIST_URL)
    assert r.status_code == 200 and "还没有案例征集届次" in r.get_data(as_text=True)
    r = client.post(LIST_URL, data={"year": "2028", "title": "2028年度案例征集"})
    assert r.status_code == 303
    s = CasesSettings(ops.edition_by_year(2028))
    assert s["window_open"] == "2028-06-17 00:00" and s["window_close"] == "2028-06-30 23:59:59"
    assert s["work_since"] == "2027-01-01"
    assert s["categories"] == DEFAULTS["categories"] and s["quota_per_category"] == 3


def test_ensure_edition_is_idempotent(app):
    campaign, created = ops.ensure_edition(2026, window_open="2020-01-01 00:00")
    assert created and campaign.title == "2026年度“典赞·科普中国”科普案例征集"
    s = CasesSettings(campaign)
    assert s["window_open"] == "2020-01-01 00:00" and s["window_close"] == "2026-06-30 23:59:59"
    campaign.settings = {**campaign.settings, "quota_total": 4}
    db.session.commit()
    again, created = ops.ensure_edition(2026, title="别的名称", window_open="2021-01-01 00:00")
    assert not created and again.id == campaign.id and again.title == campaign.title
    assert CasesSettings(again)["quota_total"] == 4  # edits are kept
    assert CasesSettings(again)["window_open"] == "2020-01-01 00:00"
    assert len(ops.editions()) == 1


def test_create_edition_operation_refuses_duplicate(app, cc):
    with pytest.raises(OperationError) as e:
        ops.create_edition(2026, "重复")
    assert e.value.field == "year"


# --- settings page ------------------------------------------------------------------------

def test_settings_page_shows_every_group(client, auth, cc):
    auth.login_as(cc.admin)
    r = client.get(settings_url(cc.campaign))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for legend in ("基本", "征集时间", "案例类别", "字数与数量限制", "推荐名额", "精选展示",
                   "推荐单位", "说明与联系方式", "科普活动服务类", "科普阵地建设类",
                   "各类目标数（个）"):
        assert f"<legend>{legend}</legend>" in html or f"{legend}</legend>" in html, legend
    for anchor in ("fs-basic", "fs-window", "fs-categories", "fs-limits", "fs-quota",
                   "fs-showcase", "fs-units", "fs-texts"):
        assert f'href="#{anchor}"' in html and f'id="{anchor}"' in html
    assert 'type="datetime-local"' in html and 'value="2020-01-01T00:00"' in html
    assert 'value="2099-12-31T23:59"' in html and 'type="date"' in html
    assert digest_in(html) == ops.settings_digest(cc.campaign)
    assert "23:59:59" in html  # the hint explains the close minute
    # every input has a label
    for name in re.findall(r'<(?:input|textarea)[^>]*\bid="([^"]+)"', html):
        if name in ("nav-toggle", "settings_digest", "csrf_token") \
                or name.startswith("unit_kinds-"):
            continue
        assert f'for="{name}"' in html, name
    # the default recommender kinds are ticked, the others not
    for kind in DEFAULT_UNIT_KINDS:
        assert re.search(rf'value="{re.escape(kind)}"\s*checked', html), kind
    assert not re.search(r'value="市级科协"\s*checked', html)


def test_successful_save_changes_settings_and_audits(client, auth, cc):
    auth.login_as(cc.admin)
    data = form_data(
        cc.campaign, title="2026年度案例征集（修订）", window_open="2026-06-17T00:00",
        window_close="2026-07-15T18:00", work_since="2025-03-01",
        activity_label="科普活动", activity_subtypes="科普讲座\n 科普沙龙 \n\n其他",
        venue_subtypes="科技馆\n其他\n实验室", limit_details="4000", limit_media_items="5",
        quota_per_category="4", quota_total="7", showcase_total="120", target_works="50",
        target_activity="35", target_venue="35", works_category_label="科普作品",
        unit_kinds=["省级科协", "全国学会", "市级科协"],
        detail_outline="背景：\n做法\n成效", past_years_rule="2024、2025年已入选的案例不再重复提交。",
        contact_tech="技术支持　王五　010-12345678")
    r = client.post(settings_url(cc.campaign), data=data)
    assert r.status_code == 303 and r.headers["Location"].endswith(settings_url(cc.campaign))
    c = reload(cc.campaign)
    s = CasesSettings(c)
    assert c.title == "2026年度案例征集（修订）"
    assert s["window_open"] == "2026-06-17 00:00"
    assert s["window_close"] == "2026-07-15 18:00:59"  # the whole closing minute
    assert s["work_since"] == "2025-03-01"
    assert s["categories"] == {
        "activity": {"label": "科普活动", "subtypes": ["科普讲座", "科普沙龙", "其他"]},
        "venue": {"label": "科普阵地建设", "subtypes": ["科技馆", "其他", "实验室"]}}
    assert s.limit("details") == 4000 and s.limit("media_items") == 5
    assert s.limit("name") == DEFAULTS["limits"]["name"]
    assert (s["quota_per_category"], s["quota_total"]) == (4, 7)
    assert s["showcase_total"] == 120
    assert s["showcase_targets"] == {"works": 50, "activity": 35, "venue": 35}
    assert s.category_label("works") == "科普作品"
    assert unit_kinds(s) == ["全国学会", "省级科协", "市级科协"]  # org library order
    assert s["detail_outline"] == ["背景", "做法", "成效"]
    assert s["past_years_rule"] == "2024、2025年已入选的案例不再重复提交。"
    assert s["contacts"]["tech"] == "技术支持　王五　010-12345678"
    (entry,) = audit_rows(c)
    assert entry.actor_id == cc.admin.id
    assert set(entry.data["changed"]) == {
        "title", "window_open", "window_close", "work_since", "categories", "limits",
        "quota_per_category", "quota_total", "showcase_total", "showcase_targets",
        "works_category_label", "unit_kinds", "detail_outline", "past_years_rule", "contacts"}
    page = client.get(settings_url(c)).get_data(as_text=True)
    assert "设置已保存，立即生效" in page
    assert 'value="2026-07-15T18:00"' in page and digest_in(page) == ops.settings_digest(c)


def test_unchanged_save_writes_nothing(client, auth, cc):
    cc.campaign.settings = {**cc.campaign.settings, "window_close": "2099-12-31 23:59:59"}
    db.session.commit()
    before = dict(cc.campaign.settings)
    auth.login_as(cc.admin)
    r = client.post(settings_url(cc.campaign), data=form_data(cc.campaign), follow_redirects=True)
    assert r.status_code == 200 and "设置没有变化" in r.get_data(as_text=True)
    assert audit_rows(cc.campaign) == []
    # the default recommender kinds stay a default (not copied into the edition)
    assert reload(cc.campaign).settings == before


def test_close_minute_is_included():
    s = CasesSettings(Campaign(kind="cases", year=2026, title="x",
                               settings={"window_close": "2026-06-30 23:59:59"}))
    # Beijing 23:59:30 on 30 June = 15:59:30 UTC
    assert s.window(datetime(2026, 6, 30, 15, 59, 30)).open
    assert not s.window(datetime(2026, 6, 30, 16, 0, 0)).open


def test_window_change_takes_effect_at_once(client, auth, cc, app):
    auth.login_as(cc.admin)
    # close in the past: starting a case with a 推荐码 is refused
    r = client.post(settings_url(cc.campaign), data=form_data(
        cc.campaign, window_open="2021-01-01T00:00", window_close="2021-06-30T23:59",
        work_since="2020-01-01"))
    assert r.status_code == 303
    with pytest.raises(OperationError) as e:
        require_open_window(reload(cc.campaign))
    assert "案例征集已于 2021-06-30 23:59" in e.value.message
    other = app.test_client()
    AuthActions(other).login_as(cc.implementer)
    r = other.post("/cases/start", data={"code": cc.code.code, "confirm": "1"})
    assert r.status_code == 422 and "已于 2021-06-30 23:59" in r.get_data(as_text=True)
    assert db.session.scalar(select(Case.id)) is None
    html = client.get(LIST_URL).get_data(as_text=True)
    assert "已截止" in html[html.index(f'id="edition-{cc.campaign.id}"'):]
    # the deadline is extended: the same user can start at once
    c = reload(cc.campaign)
    r = client.post(settings_url(c), data=form_data(c, window_close="2099-07-31T23:59"))
    assert r.status_code == 303
    r = other.post("/cases/start", data={"code": cc.code.code, "confirm": "1"})
    assert r.status_code in (302, 303)
    case = db.session.scalars(select(Case)).one()
    assert r.headers["Location"].endswith(f"/cases/{case.id}/edit")
    assert other.get(f"/cases/{case.id}/edit").status_code == 200


def test_opening_later_is_refused_until_then(client, auth, cc, app):
    auth.login_as(cc.admin)
    r = client.post(settings_url(cc.campaign), data=form_data(
        cc.campaign, window_open="2098-06-17T00:00", window_close="2098-06-30T23:59"))
    assert r.status_code == 303
    other = app.test_client()
    AuthActions(other).login_as(cc.implementer)
    r = other.post("/cases/start", data={"code": cc.code.code, "confirm": "1"})
    assert r.status_code == 422 and "案例征集将于 2098-06-17 00:00 开始" in r.get_data(as_text=True)


def test_saved_limits_and_categories_drive_the_entry_form(client, auth, cc):
    case = cc.make_case(owner=cc.implementer, status="draft", with_photos=False)
    auth.login_as(cc.admin)
    r = client.post(settings_url(cc.campaign), data=form_data(
        cc.campaign, limit_name="12", activity_subtypes="科普讲座\n科学快闪\n其他"))
    assert r.status_code == 303
    auth.login_as(cc.implementer)
    html = client.get(f"/cases/{case.id}/edit").get_data(as_text=True)
    assert "12字以内" in html and "科学快闪" in html and "科普沙龙" not in html


# --- validation -----------------------------------------------------------------------------

INVALID = [
    # (overrides, field id of the error, message)
    ({"title": ""}, "title", "请填写征集活动名称"),
    ({"title": "长" * 101}, "title", "不能超过 100 字"),
    ({"window_open": ""}, "window_open", "请填写开始时间"),
    ({"window_close": ""}, "window_close", "请填写截止时间"),
    ({"window_open": "2026-13-45T99:00"}, "window_open", "请输入有效的日期和时间"),
    ({"window_close": "明天"}, "window_close", "请输入有效的日期和时间"),
    ({"window_open": "2026-06-30T00:00", "window_close": "2026-06-17T00:00"},
     "window_close", "截止时间必须晚于开始时间"),
    ({"window_open": "2026-06-30T12:00", "window_close": "2026-06-30T12:00"},
     "window_close", "截止时间必须晚于开始时间"),
    ({"work_since": ""}, "work_since", "请填写案例工作起始日期"),
    ({"work_since": "2025-02-30"}, "work_since", "请输入有效的日期"),
    ({"window_open": "2026-06-17T00:00", "window_close": "2026-06-30T23:59",
      "work_since": "2026-06-30"}, "work_since", "应早于征集截止日期"),
    ({"work_since": "2100-01-01"}, "work_since", "应早于征集截止日期"),
    ({"activity_label": " "}, "activity_label", "请填写科普活动服务类名称"),
    ({"venue_label": "阵" * 21}, "venue_label", "不能超过 20 字"),
    ({"activity_label": "活动/服务"}, "activity_label", "不能包含 /"),
    ({"venue_label": "科普活动服务"}, "venue_label", "与“科普活动服务类”重名"),
    ({"works_category_label": "科普阵地建设"}, "works_category_label", "与“科普阵地建设类”重名"),
    ({"activity_subtypes": "\n \n"}, "activity_subtypes", "请至少填写一个具体类型"),
    ({"activity_subtypes": "科普讲座\n其他\n科普讲座"}, "activity_subtypes", "“科普讲座”重复"),
    ({"venue_subtypes": "科技馆\n" + "很" * 21 + "\n其他"}, "venue_subtypes", "超过 20 字"),
    ({"venue_subtypes": "科技馆\n实验室"}, "venue_subtypes", "请保留“其他”一行"),
    ({"limit_name": "0"}, "limit_name", "应为 1–100 之间的整数"),
    ({"limit_name": "101"}, "limit_name", "应为 1–100 之间的整数"),
    ({"limit_summary": "五百"}, "limit_summary", "请输入整数"),
    ({"limit_summary": "5001"}, "limit_summary", "应为 1–5000 之间的整数"),
    ({"limit_details": "-5"}, "limit_details", "应为 1–20000 之间的整数"),
    ({"limit_details": ""}, "limit_details", "请填写"),
    ({"limit_awards": "1.5"}, "limit_awards", "请输入整数"),
    ({"limit_media_items": "11"}, "limit_media_items", "应为 1–10 之间的整数"),
    ({"limit_other_text": "101"}, "limit_other_text", "应为 1–100 之间的整数"),
    ({"quota_per_category": "0"}, "quota_per_category", "应为 1–50 之间的整数"),
    ({"quota_per_category": "三"}, "quota_per_category", "请输入整数"),
    ({"quota_total": "0"}, "quota_total", "应为 1–100 之间的整数"),
    ({"quota_total": ""}, "quota_total", "请填写"),
    ({"showcase_total": "0"}, "showcase_total", "应为 1–1000 之间的整数"),
    ({"showcase_total": "1001"}, "showcase_total", "应为 1–1000 之间的整数"),
    ({"target_works": "-1"}, "target_works", "应为 0–1000 之间的整数"),
    ({"target_venue": "约30"}, "target_venue", "请输入整数"),
    ({"works_category_label": ""}, "works_category_label", "请填写科普作品传播类名称"),
    ({"unit_kinds": []}, "unit_kinds", "请至少选择一类推荐单位"),
    ({"unit_kinds": ["全国学会", "外星组织"]}, "unit_kinds", "未知的单位类型"),
    ({"detail_outline": ""}, "detail_outline", "请至少填写一项"),
    ({"detail_outline": "背景|做法\n成效"}, "detail_outline", "不能包含“|”"),
    ({"detail_outline": "成效\n成效"}, "detail_outline", "“成效”重复"),
    ({"past_years_rule": "  "}, "past_years_rule", "请填写往届案例规则"),
    ({"past_years_rule": "规" * 201}, "past_years_rule", "不能超过 200 字"),
    ({"contact_business": ""}, "contact_business", "请填写业务咨询联系方式"),
    ({"contact_tech": "电" * 301}, "contact_tech", "不能超过 300 字"),
]


@pytest.mark.parametrize("over, field, message", INVALID,
                         ids=[f"{i}-{x[1]}" for i, x in enumerate(INVALID)])
def test_settings_validation(client, auth, cc, over, field, message):
    auth.login_as(cc.admin)
    before = dict(cc.campaign.settings)
    sentinel = "sentinel_title" if "title" in over else "title"
    data = form_data(cc.campaign, title="我刚输入的名称")
    data.update(over)
    r = client.post(settings_url(cc.campaign), data=data)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "设置未保存" in html
    block = field_block(html, field)
    assert message in htmllib.unescape(block), block
    assert 'aria-invalid="true"' in block and f'id="{field}-error"' in block
    assert f"{field}-error" in re.search(r'aria-describedby="([^"]*)"', block).group(1)
    if sentinel == "title":
        assert 'value="我刚输入的名称"' in html  # nothing typed is lost
    for key, value in over.items():  # the invalid input itself is shown as typed
        if isinstance(value, str) and value.strip():
            assert htmllib.escape(value, quote=True) in html or value in html, key
    assert reload(cc.campaign).settings == before
    assert audit_rows(cc.campaign) == []


def test_unticked_kinds_are_kept_unticked(client, auth, cc):
    auth.login_as(cc.admin)
    r = client.post(settings_url(cc.campaign), data=form_data(
        cc.campaign, unit_kinds=[], quota_total="0"))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert " checked" not in field_block(html, "unit_kinds")
    assert "请修改下列标红的 2 处内容" in html
    start = html.index('id="form-errors"')
    assert 'href="#fs-quota"' in html[start:html.index("</div>", start)]


def test_showcase_targets_over_total_error_next_to_targets(client, auth, cc):
    auth.login_as(cc.admin)
    r = client.post(settings_url(cc.campaign), data=form_data(
        cc.campaign, showcase_total="90", target_works="40", target_activity="30",
        target_venue="30"))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    start = html.index('id="showcase-targets"')
    targets = html[start:html.index("</fieldset>", start)]
    assert "三类目标数之和（100 个）超过精选展示总数上限（90 个）" in targets
    assert 'id="targets-error"' in targets and 'role="alert"' in targets
    assert targets.count('aria-invalid="true"') == 3
    assert targets.count('aria-describedby="targets-error"') == 3
    assert 'value="90"' in html  # typed values kept
    assert CasesSettings(reload(cc.campaign))["showcase_total"] == 100
    # equal to the total is fine; a zero target means none
    r = client.post(settings_url(cc.campaign), data=form_data(
        cc.campaign, showcase_total="70", target_works="40", target_activity="30",
        target_venue="0"))
    assert r.status_code == 303
    s = CasesSettings(reload(cc.campaign))
    assert s["showcase_total"] == 70 and s["showcase_targets"]["venue"] == 0


def test_quota_total_may_be_below_per_category(client, auth, cc):
    auth.login_as(cc.admin)
    r = client.post(settings_url(cc.campaign), data=form_data(
        cc.campaign, quota_per_category="3", quota_total="2"))
    assert r.status_code == 303
    assert CasesSettings(reload(cc.campaign))["quota_total"] == 2


# --- two admins: the version check ----------------------------------------------------------

def test_second_admin_gets_409_and_nothing_is_overwritten(client, auth, cc, app, make_user):
    admin_b = make_user(name="另一位管理员", roles=["platform_admin"])
    auth.login_as(cc.admin)
    client_b = app.test_client()
    AuthActions(client_b).login_as(admin_b)
    page_a = client.get(settings_url(cc.campaign)).get_data(as_text=True)
    page_b = client_b.get(settings_url(cc.campaign)).get_data(as_text=True)
    old_digest = digest_in(page_a)
    assert digest_in(page_b) == old_digest
    # B extends the deadline
    r = client_b.post(settings_url(cc.campaign), data=form_data(
        cc.campaign, settings_digest=old_digest, window_close="2099-12-31T20:00"))
    assert r.status_code == 303
    # A saves other changes from the page loaded before B's save
    data_a = form_data(cc.campaign, settings_digest=old_digest, window_close="2099-12-31T23:59",
                       quota_total="5", past_years_rule="A 刚输入的规则")
    r = client.post(settings_url(cc.campaign), data=data_a)
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    alert = html[html.index('id="settings-conflict"'):]
    assert html.index('id="settings-conflict"') < html.index('id="fs-basic"')
    assert 'role="alert"' in html[html.index("<div", html.index('id="settings-conflict"') - 60):
                                  html.index('id="settings-conflict"')]
    assert SETTINGS_CONFLICT in alert
    assert 'href="#fs-window"' in alert[:alert.index("</div>")]  # A's window differs from B's
    assert "A 刚输入的规则" in html and 'value="5"' in field_block(html, "quota_total")
    assert 'value="2099-12-31T23:59"' in html  # A's typed value, not B's
    c = reload(cc.campaign)
    new_digest = ops.settings_digest(c)
    assert new_digest != old_digest and digest_in(html) == new_digest
    s = CasesSettings(c)
    assert s["window_close"] == "2099-12-31 20:00:59" and s["quota_total"] == 6
    assert [row.actor_id for row in audit_rows(c)] == [admin_b.id]
    # A checks and saves again (the page now carries the new fingerprint): A's content wins
    data_a["settings_digest"] = digest_in(html)
    r = client.post(settings_url(cc.campaign), data=data_a)
    assert r.status_code == 303
    s = CasesSettings(reload(cc.campaign))
    assert s["window_close"] == "2099-12-31 23:59:59" and s["quota_total"] == 5
    assert s["past_years_rule"] == "A 刚输入的规则"
    assert [row.actor_id for row in audit_rows(cc.campaign)] == [admin_b.id, cc.admin.id]


def test_stale_digest_is_refused_even_for_the_same_admin(client, auth, cc):
    auth.login_as(cc.admin)
    data = form_data(cc.campaign)
    r = client.post(settings_url(cc.campaign), data={**data, "quota_total": "5"})
    assert r.status_code == 303
    r = client.post(settings_url(cc.campaign), data={**data, "quota_total": "4"})
    assert r.status_code == 409
    assert CasesSettings(reload(cc.campaign))["quota_total"] == 5


def test_missing_digest_is_handled_as_conflict(client, auth, cc):
    auth.login_as(cc.admin)
    before = dict(cc.campaign.settings)
    data = form_data(cc.campaign, quota_total="5")
    data.pop("settings_digest")
    r = client.post(settings_url(cc.campaign), data=data)
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert SETTINGS_CONFLICT in html and 'id="settings-conflict"' in html
    assert digest_in(html) == ops.settings_digest(cc.campaign)
    assert 'value="5"' in field_block(html, "quota_total")
    assert reload(cc.campaign).settings == before and audit_rows(cc.campaign) == []
    r = client.post(settings_url(cc.campaign), data={**data, "settings_digest": digest_in(html)})
    assert r.status_code == 303
    assert CasesSettings(reload(cc.campaign))["quota_total"] == 5


def test_conflict_with_the_same_content_says_nothing_to_save(client, auth, cc):
    cc.campaign.settings = {**cc.campaign.settings, "window_close": "2099-12-31 23:59:59"}
    db.session.commit()
    auth.login_as(cc.admin)
    data = form_data(cc.campaign)
    data.pop("settings_digest")
    r = client.post(settings_url(cc.campaign), data=data)
    assert r.status_code == 409
    assert "您填写的内容与当前已保存的设置相同，无需再次保存" in r.get_data(as_text=True)


def test_validation_error_keeps_the_posted_digest(client, auth, cc):
    auth.login_as(cc.admin)
    r = client.post(settings_url(cc.campaign), data=form_data(
        cc.campaign, settings_digest="stale0000", quota_total="0"))
    assert r.status_code == 422 and digest_in(r.get_data(as_text=True)) == "stale0000"


# --- other editions and kinds -----------------------------------------------------------------

def test_saving_touches_only_this_edition(client, auth, cc):
    works_settings = {"window_open": "2026-03-01 00:00", "window_close": "2026-06-30 23:59",
                      "categories": ["前沿科技"], "limits": {"title": 30}}
    works = Campaign(kind="works", year=2026, title="2026年全国优质科普作品征集",
                     settings=dict(works_settings))
    old = Campaign(kind="cases", year=2025, title="2025年度案例征集",
                   settings={"window_open": "2025-06-17 00:00", "quota_total": 6,
                             "extra": "kept"})
    db.session.add_all([works, old])
    cc.campaign.settings = {**cc.campaign.settings, "not_edited_here": [1, 2]}
    db.session.commit()
    old_settings = dict(old.settings)
    auth.login_as(cc.admin)
    r = client.post(settings_url(cc.campaign), data=form_data(
        cc.campaign, quota_total="4", window_close="2099-06-30T23:59"))
    assert r.status_code == 303
    assert reload(works).settings == works_settings and reload(works).title.startswith("2026年全国")
    assert reload(old).settings == old_settings
    c = reload(cc.campaign)
    assert c.settings["not_edited_here"] == [1, 2]  # keys not edited here are kept
    assert c.settings["quota_total"] == 4
    assert audit_rows(works) == [] and audit_rows(old) == []
