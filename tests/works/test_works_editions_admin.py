"""Edition administration of the works call: access, creating editions, editing every
setting (server-side validation, errors next to the field, nothing lost), audit."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from kepu import editions
from kepu.admin.models import Campaign
from kepu.editions import shift_year
from kepu.extensions import db
from kepu.timeutil import utcnow
from kepu.workflow import AuditLog
from kepu.works.models import WorkAssignment
from kepu.works.operations import editions as ops
from kepu.works.operations.common import OperationError, require_open_window
from kepu.works.settings import DEFAULTS, WorksSettings

HX = {"HX-Request": "true"}


def settings_url(campaign) -> str:
    return f"/works/admin/editions/{campaign.id}/settings"


def form_data(campaign, **over) -> dict:
    """A complete, valid settings form for ``campaign`` (what the GET page posts back)."""
    s = WorksSettings(campaign)
    data = {
        "settings_digest": ops.settings_digest(campaign),  # the version the page was shown at
        "title": campaign.title,
        "window_open": (s["window_open"] or "").replace(" ", "T"),
        "window_close": (s["window_close"] or "").replace(" ", "T"),
        "work_types": "\n".join(s["work_types"]),
        "categories": "\n".join(s["categories"]),
        "work_file_extensions": ", ".join(s["work_file_extensions"]),
        "award_extensions": ", ".join(s["award_extensions"]),
        "declaration": "\n".join(s["declaration"]),
        "experts_per_work": str(s["experts_per_work"]),
        "help_audience": s["help"]["audience"],
        "help_business_contact": s["help"]["business_contact"],
        "help_tech_contact": s["help"]["tech_contact"],
        "help_notes": s["help"]["notes"],
    }
    if s["sms_notify"]:
        data["sms_notify"] = "y"
    for key, value in s["limits"].items():
        data[f"limit_{key}"] = str(value)
    for i, row in enumerate(s["rubric"]):
        for k in ("key", "label", "weight", "max", "hint"):
            data[f"rubric-{i}-{k}"] = str(row[k])
    n = len(s["rubric"])
    for i in range(n, n + 3):  # the spare rows, posted empty
        for k in ("key", "label", "weight", "max", "hint"):
            data[f"rubric-{i}-{k}"] = ""
    data.update(over)
    return data


def field_block(html: str, field_id: str) -> str:
    """The HTML of the field wrapper <div id="<field_id>-field"> (up to its error line)."""
    start = html.index(f'id="{field_id}-field"')
    end = html.find('class="field', start + 10)
    return html[start:end if end != -1 else len(html)]


def audit_rows(campaign, action="settings"):
    return list(db.session.scalars(select(AuditLog).where(
        AuditLog.entity_type == "campaign", AuditLog.entity_id == campaign.id,
        AuditLog.action == action)))


# --- access -----------------------------------------------------------------------------

def _urls(wc):
    return ["/works/admin/editions", settings_url(wc.campaign)]


def test_anonymous_is_sent_to_login(client, wc):
    for url in _urls(wc):
        r = client.get(url)
        assert r.status_code == 302 and "/account/login" in r.headers["Location"]
        r = client.post(url, data={"year": "2030", "title": "x"})
        assert r.status_code == 302 and "/account/login" in r.headers["Location"]
    assert db.session.scalar(select(Campaign).where(Campaign.year == 2030)) is None


@pytest.mark.parametrize("who", ["applicant", "unit_admin", "expert"])
def test_non_admins_get_404(client, auth, wc, who):
    auth.login_as(getattr(wc, who))
    before = dict(wc.campaign.settings)
    for url in _urls(wc):
        assert client.get(url).status_code == 404
    assert client.post("/works/admin/editions",
                       data={"year": "2030", "title": "x"}).status_code == 404
    r = client.post(settings_url(wc.campaign),
                    data=form_data(wc.campaign, window_close="2020-06-01T00:00"))
    assert r.status_code == 404
    db.session.refresh(wc.campaign)
    assert wc.campaign.settings == before
    assert db.session.scalar(select(Campaign).where(Campaign.year == 2030)) is None


def test_settings_of_unknown_or_other_kind_campaign_is_404(client, auth, wc):
    other = Campaign(kind="cases", year=2026, title="典赞", settings={})
    db.session.add(other)
    db.session.commit()
    auth.login_as(wc.admin)
    assert client.get(f"/works/admin/editions/{other.id}/settings").status_code == 404
    assert client.get("/works/admin/editions/99999/settings").status_code == 404
    assert client.post(f"/works/admin/editions/{other.id}/settings",
                       data=form_data(wc.campaign)).status_code == 404


# --- list and create ---------------------------------------------------------------------

def test_list_shows_editions_window_and_counts_by_status(client, auth, wc):
    wc.make_work(status="pending", with_files=False)
    wc.make_work(status="pending", with_files=False)
    wc.make_work(status="recommended", with_files=False)
    old = Campaign(kind="works", year=2025, title="2025年全国优质科普作品征集",
                   settings={"window_open": "2025-03-01 08:00", "window_close": "2025-06-30 18:00"})
    db.session.add(old)
    db.session.commit()
    auth.login_as(wc.admin)
    r = client.get("/works/admin/editions")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    row = html[html.index(f'id="edition-{wc.campaign.id}"'):html.index(f'id="edition-{old.id}"')]
    assert "2026年全国优质科普作品征集" in row and "当前届次" in row
    assert "共 3 件" in row and "待推荐 2" in row and "完成推荐 1" in row
    assert "征集进行中" in row
    old_row = html[html.index(f'id="edition-{old.id}"'):]
    assert "2025-03-01 08:00 至 2025-06-30 18:00" in old_row and "已截止" in old_row
    assert "共 0 件" in old_row
    # the create form proposes the next year
    assert 'value="2027"' in html


def test_create_edition_copies_latest_settings_with_shifted_window(client, auth, wc):
    wc.campaign.settings = {**wc.campaign.settings, "window_open": "2026-03-01 09:00",
                            "window_close": "2026-06-30 23:59",
                            "categories": ["前沿科技", "健康生活"],
                            "limits": {**DEFAULTS["limits"], "highlights": 2000},
                            "results_published_at": "2026-09-01T00:00:00"}
    db.session.commit()
    auth.login_as(wc.admin)
    r = client.post("/works/admin/editions", data={"year": "2027", "title": "2027年全国优质科普作品征集"})
    assert r.status_code == 303
    new = db.session.scalar(select(Campaign).where(Campaign.kind == "works", Campaign.year == 2027))
    assert new is not None and new.title == "2027年全国优质科普作品征集"
    assert r.headers["Location"].endswith(settings_url(new))
    s = WorksSettings(new)
    assert s["window_open"] == "2027-03-01 09:00" and s["window_close"] == "2027-06-30 23:59"
    assert s["categories"] == ["前沿科技", "健康生活"]
    assert s.limit("highlights") == 2000
    assert not s.results_published  # a new edition has no published result
    assert audit_rows(new, "create")[0].data["copied_from"] == 2026
    # the new edition is now the current one
    assert "2027年全国优质科普作品征集" in client.get("/works/").get_data(as_text=True)


def test_create_duplicate_year_is_refused_next_to_the_field(client, auth, wc):
    auth.login_as(wc.admin)
    r = client.post("/works/admin/editions", data={"year": "2026", "title": "我输入的名称"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    block = field_block(html, "year")
    assert "2026 年度的作品征集已存在" in block and 'aria-invalid="true"' in block
    assert 'value="我输入的名称"' in html  # nothing typed is lost
    assert len(list(db.session.scalars(select(Campaign).where(Campaign.year == 2026)))) == 1


@pytest.mark.parametrize("data, field, message", [
    ({"year": "", "title": "x"}, "year", "请填写"),
    ({"year": "二〇二七", "title": "x"}, "year", "请输入整数"),
    ({"year": "1999", "title": "x"}, "year", "2000–2100"),
    ({"year": "2027", "title": "  "}, "title", "请填写征集活动名称"),
    ({"year": "2027", "title": "长" * 101}, "title", "不能超过 100 字"),
])
def test_create_edition_validation(client, auth, wc, data, field, message):
    auth.login_as(wc.admin)
    r = client.post("/works/admin/editions", data=data)
    assert r.status_code == 422
    assert message in field_block(r.get_data(as_text=True), field)
    assert db.session.scalar(select(Campaign).where(Campaign.year == 2027)) is None


def test_create_first_edition_uses_defaults(client, auth, make_user):
    admin = make_user(roles=["platform_admin"])
    auth.login_as(admin)
    r = client.get("/works/admin/editions")
    assert r.status_code == 200 and "还没有作品征集届次" in r.get_data(as_text=True)
    r = client.post("/works/admin/editions", data={"year": "2028", "title": "2028年征集"})
    assert r.status_code == 303
    s = WorksSettings(ops.edition_by_year(2028))
    assert s["window_open"] == "2028-01-01 00:00" and s["window_close"] == "2028-12-31 23:59"
    assert s["rubric"] == DEFAULTS["rubric"] and s["work_types"] == DEFAULTS["work_types"]


def test_ensure_edition_is_idempotent(app):
    campaign, created = ops.ensure_edition(2026)
    assert created and campaign.title == "2026年全国优质科普作品征集"
    assert WorksSettings(campaign).window(datetime(2026, 6, 1)).open
    campaign.settings = {**campaign.settings, "categories": ["只此一类"]}
    db.session.commit()
    again, created = ops.ensure_edition(2026)
    assert not created and again.id == campaign.id
    assert WorksSettings(again)["categories"] == ["只此一类"]  # edits are kept
    assert len(ops.editions()) == 1


def test_shift_year_handles_leap_day():
    assert shift_year("2028-02-29 12:00", 1) == "2029-02-28 12:00"
    assert shift_year("2026-06-30 23:59", 2) == "2028-06-30 23:59"
    assert shift_year("", 1) == ""


def test_create_edition_operation_refuses_duplicate(app, wc):
    with pytest.raises(OperationError) as e:
        ops.create_edition(2026, "重复")
    assert e.value.field == "year"


# --- settings page ------------------------------------------------------------------------

def test_settings_page_shows_every_group(client, auth, wc):
    auth.login_as(wc.admin)
    r = client.get(settings_url(wc.campaign))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    for legend in ("基本", "征集时间", "作品类型与分类", "字数限制", "文件限制", "申报声明",
                   "专家评审", "短信通知", "帮助信息"):
        assert f"<legend>{legend}</legend>" in html
    assert 'type="datetime-local"' in html and 'value="2020-01-01T00:00"' in html
    assert "0 / 2000" in html and "默认 3000 字" in html  # the seed's 3000 vs 2000 note
    # 3 rubric rows + 3 spare rows
    assert 'name="rubric-2-key"' in html and 'name="rubric-5-key"' in html
    assert 'name="rubric-6-key"' not in html
    assert "rubric-warning" not in html


def test_successful_save_changes_settings_and_audits(client, auth, wc):
    wc.campaign.settings = {**wc.campaign.settings, "results_published_at": "2026-09-01T00:00:00"}
    db.session.commit()
    auth.login_as(wc.admin)
    data = form_data(
        wc.campaign, title="2026年度征集（修订）", window_open="2026-03-01T08:00",
        window_close="2026-12-31T18:00", limit_highlights="2000",
        categories="前沿科技\n 健康生活 \n\n生态环境", work_file_extensions=".PDF, docx，mp4",
        declaration="（一）作品原创。\n(2) 同意公益使用。", experts_per_work="3",
        help_tech_contact="技术保障　王五　010-12345678")
    data.pop("sms_notify")
    data.update({"rubric-3-key": "fun", "rubric-3-label": "趣味性", "rubric-3-weight": "10",
                 "rubric-3-max": "100", "rubric-3-hint": "生动有趣",
                 "rubric-0-weight": "30"})
    r = client.post(settings_url(wc.campaign), data=data)
    assert r.status_code == 303 and r.headers["Location"].endswith(settings_url(wc.campaign))
    db.session.expire_all()
    c = db.session.get(Campaign, wc.campaign.id)
    s = WorksSettings(c)
    assert c.title == "2026年度征集（修订）"
    assert s["window_open"] == "2026-03-01 08:00" and s["window_close"] == "2026-12-31 18:00"
    assert s.limit("highlights") == 2000
    assert s["categories"] == ["前沿科技", "健康生活", "生态环境"]
    assert s["work_file_extensions"] == ["pdf", "docx", "mp4"]
    assert s["declaration"] == ["作品原创。", "同意公益使用。"]
    assert s["experts_per_work"] == 3 and s["sms_notify"] is False
    assert s["help"]["tech_contact"] == "技术保障　王五　010-12345678"
    assert [row["key"] for row in s.rubric] == ["scientific", "innovative", "communicative", "fun"]
    assert sum(row["weight"] for row in s.rubric) == 100
    assert s.results_published  # keys not edited here are kept
    (entry,) = audit_rows(c)
    assert entry.actor_id == wc.admin.id
    assert set(entry.data["changed"]) == {"title", "window_open", "window_close", "limits",
                                          "categories", "work_file_extensions", "declaration",
                                          "experts_per_work", "sms_notify", "help", "rubric"}
    page = client.get(settings_url(c)).get_data(as_text=True)
    assert "设置已保存" in page
    assert 'value="2026-12-31T18:00"' in page


def test_unchanged_save_writes_nothing(client, auth, wc):
    auth.login_as(wc.admin)
    r = client.post(settings_url(wc.campaign), data=form_data(wc.campaign), follow_redirects=True)
    assert r.status_code == 200 and "设置没有变化" in r.get_data(as_text=True)
    assert audit_rows(wc.campaign) == []


def test_window_change_takes_effect_at_once(client, auth, wc):
    require_open_window(wc.campaign)  # open now
    auth.login_as(wc.admin)
    r = client.post(settings_url(wc.campaign), data=form_data(
        wc.campaign, window_open="2020-01-01T00:00", window_close="2021-01-01T00:00"))
    assert r.status_code == 303
    db.session.expire_all()
    with pytest.raises(OperationError) as e:
        require_open_window(db.session.get(Campaign, wc.campaign.id))
    assert "2021-01-01 00:00" in e.value.message
    assert "已截止" in client.get("/works/").get_data(as_text=True)


def _rubric(rows):
    data = {}
    for i, row in enumerate(rows):
        for k, v in zip(("key", "label", "weight", "max", "hint"), row):
            data[f"rubric-{i}-{k}"] = v
    return data


def _blank_rubric(n=6):
    return {f"rubric-{i}-{k}": "" for i in range(n) for k in ("key", "label", "weight", "max", "hint")}


INVALID = [
    # (overrides, field id of the error, message)
    ({"window_open": "2026-06-01T00:00", "window_close": "2026-05-01T00:00"},
     "window_close", "截止时间必须晚于开始时间"),
    ({"window_open": "2026-06-01T00:00", "window_close": "2026-06-01T00:00"},
     "window_close", "截止时间必须晚于开始时间"),
    ({"window_open": "2026-13-45T99:00"}, "window_open", "请输入有效的日期和时间"),
    ({"work_types": "\n  \n"}, "work_types", "请至少填写一种作品类型"),
    ({"categories": ""}, "categories", "请至少填写一个作品分类"),
    ({"categories": "前沿科技\n健康生活\n前沿科技"}, "categories", "“前沿科技”重复"),
    ({"work_types": "这是一个特别特别特别特别特别长的作品类型名称啊"}, "work_types", "超过 20 字"),
    ({"limit_highlights": "三千"}, "limit_highlights", "请输入整数"),
    ({"limit_highlights": "2.5"}, "limit_highlights", "请输入整数"),
    ({"limit_intro": "0"}, "limit_intro", "应为 1–20000 之间的整数"),
    ({"limit_title": ""}, "limit_title", "请填写"),
    ({"limit_title": "300"}, "limit_title", "应为 1–200 之间的整数"),
    ({"limit_work_file_mb": "5000"}, "limit_work_file_mb", "之间的整数"),
    ({"limit_media_items": "-1"}, "limit_media_items", "之间的整数"),
    ({"work_file_extensions": "pdf, exe!"}, "work_file_extensions", "“exe!”不是有效的扩展名"),
    ({"award_extensions": "pdf docx toolongext"}, "award_extensions", "“toolongext”不是有效的扩展名"),
    ({"award_extensions": " , "}, "award_extensions", "请至少填写一种文件格式"),
    ({"declaration": ""}, "declaration", "请至少填写一条声明"),
    ({"experts_per_work": "10"}, "experts_per_work", "应为 1–9 之间的整数"),
    ({"title": ""}, "title", "请填写征集活动名称"),
    ({"help_audience": " "}, "help_audience", "请填写面向对象"),
    ({"help_business_contact": ""}, "help_business_contact", "请填写业务咨询联系方式"),
    ({**_blank_rubric(), **_rubric([("scientific", "科学性", "50", "100", ""),
                                   ("innovative", "创新性", "30", "100", "")])},
     None, "各评分项权重之和应为 100，当前为 80"),
    ({**_blank_rubric(), **_rubric([("Scientific", "科学性", "100", "100", "")])},
     "rubric-0-key", "标识只能由小写字母和下划线组成"),
    ({**_blank_rubric(), **_rubric([("a", "甲", "50", "100", ""), ("a", "乙", "50", "100", "")])},
     "rubric-1-key", "标识“a”重复"),
    ({**_blank_rubric(), **_rubric([("a", "甲", "五十", "100", ""), ("b", "乙", "50", "100", "")])},
     "rubric-0-weight", "请输入整数"),
    ({**_blank_rubric(), **_rubric([("a", "甲", "0", "100", ""), ("b", "乙", "100", "100", "")])},
     "rubric-0-weight", "权重应大于 0"),
    ({**_blank_rubric(), **_rubric([("a", "", "100", "0", "")])}, "rubric-0-label", "请填写评分项名称"),
    ({**_blank_rubric(), **_rubric([("a", "甲", "100", "0", "")])}, "rubric-0-max", "满分应为 1–1000"),
    (_blank_rubric(), None, "请至少保留一个评分项"),
]


@pytest.mark.parametrize("over, field, message", INVALID)
def test_settings_validation(client, auth, wc, over, field, message):
    auth.login_as(wc.admin)
    before = dict(wc.campaign.settings)
    data = form_data(wc.campaign, help_notes="我刚输入的说明", **over)
    r = client.post(settings_url(wc.campaign), data=data)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "设置未保存" in html
    if field:
        block = field_block(html, field)
        assert message in block, block
        assert 'aria-invalid="true"' in block
    else:
        rubric = html[html.index('id="rubric-fieldset"'):html.index('id="fs-sms"')]
        assert message in rubric and 'id="rubric-error"' in rubric
    assert "我刚输入的说明" in html  # nothing typed is lost
    for key, value in over.items():
        if value.strip() and "\n" not in value:
            assert f'value="{value}"' in html or f">{value}<" in html or value in html
    db.session.expire_all()
    assert db.session.get(Campaign, wc.campaign.id).settings == before
    assert audit_rows(wc.campaign) == []


def test_rubric_row_removed_with_checkbox(client, auth, wc):
    auth.login_as(wc.admin)
    data = form_data(wc.campaign, **{"rubric-2-remove": "y", "rubric-1-weight": "60"})
    r = client.post(settings_url(wc.campaign), data=data)
    assert r.status_code == 303
    db.session.expire_all()
    rubric = WorksSettings(db.session.get(Campaign, wc.campaign.id)).rubric
    assert [row["key"] for row in rubric] == ["scientific", "innovative"]


def test_add_rubric_row_keeps_input_and_saves_nothing(client, auth, wc):
    auth.login_as(wc.admin)
    data = form_data(wc.campaign, action="add_row", title="正在修改的名称",
                     **{"rubric-3-key": "fun", "rubric-3-label": "趣味性"})
    # htmx: only the rubric fieldset, with one more empty row
    r = client.post(settings_url(wc.campaign), data=data, headers=HX)
    assert r.status_code == 200
    frag = r.get_data(as_text=True)
    assert frag.lstrip().startswith("<fieldset") and 'id="rubric-fieldset"' in frag
    assert 'name="rubric-6-key"' in frag and 'value="fun"' in frag
    assert "<html" not in frag
    # no JS: the whole page, everything typed kept
    r = client.post(settings_url(wc.campaign), data=data)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" in page
    assert 'value="正在修改的名称"' in page and 'name="rubric-6-key"' in page
    db.session.expire_all()
    assert db.session.get(Campaign, wc.campaign.id).title == "2026年全国优质科普作品征集"
    assert audit_rows(wc.campaign) == []


def test_rubric_weight_change_after_scores_is_allowed_and_recomputes(client, auth, wc):
    work = wc.make_work(status="in_review", with_files=False)
    db.session.add(WorkAssignment(work_id=work.id, expert_id=wc.expert.id,
                                  scores={"scientific": 80}, saved_at=utcnow()))
    db.session.commit()
    auth.login_as(wc.admin)
    page = client.get(settings_url(wc.campaign)).get_data(as_text=True)
    assert 'id="rubric-warning"' in page and "本届已有 1 份专家评分" in page
    data = form_data(wc.campaign, **{"rubric-0-weight": "50", "rubric-1-weight": "20"})
    r = client.post(settings_url(wc.campaign), data=data, follow_redirects=True)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "设置已保存" in html and "已按新权重重新计算 1 份评分的总分" in html
    db.session.expire_all()
    assert WorksSettings(db.session.get(Campaign, wc.campaign.id)).rubric[0]["weight"] == 50


def test_file_limit_cap_follows_server_upload_ceiling(client, auth, wc):
    auth.login_as(wc.admin)
    r = client.post(settings_url(wc.campaign), data=form_data(wc.campaign, limit_work_file_mb="209"))
    assert r.status_code == 303  # 210 MB request ceiling (MAX_CONTENT_LENGTH) - 1 MB
    r = client.post(settings_url(wc.campaign), data=form_data(wc.campaign, limit_work_file_mb="300"))
    assert r.status_code == 422
    assert "应为 1–209 之间的整数" in field_block(r.get_data(as_text=True), "limit_work_file_mb")


def test_saved_file_limits_drive_upload_specs(client, auth, wc):
    from kepu.files.specs import MB
    from kepu.works.files import spec_for

    auth.login_as(wc.admin)
    r = client.post(settings_url(wc.campaign), data=form_data(
        wc.campaign, limit_cover_mb="2", award_extensions="pdf jpg"))
    assert r.status_code == 303
    db.session.expire_all()
    s = WorksSettings(db.session.get(Campaign, wc.campaign.id))
    assert spec_for(s, "cover").max_bytes == 2 * MB
    assert set(spec_for(s, "award_file").extensions) == {"pdf", "jpg"}


def test_empty_window_means_open_ended(client, auth, wc):
    auth.login_as(wc.admin)
    r = client.post(settings_url(wc.campaign), data=form_data(wc.campaign, window_open="",
                                                              window_close=""))
    assert r.status_code == 303
    db.session.expire_all()
    s = WorksSettings(db.session.get(Campaign, wc.campaign.id))
    assert s["window_open"] == "" and s["window_close"] == "" and s.window().open
    assert re.search(r"不限\s*至\s*不限", client.get("/works/").get_data(as_text=True))


def test_create_edition_race_on_unique_year(app, wc, monkeypatch):
    # another admin created 2027 between our check and our insert
    monkeypatch.setattr(editions, "check_year", lambda settings_cls, year: int(year))
    db.session.add(Campaign(kind="works", year=2027, title="先建的", settings={}))
    db.session.commit()
    with pytest.raises(OperationError) as e:
        ops.create_edition(2027, "后建的")
    assert e.value.field == "year" and "2027 年度的作品征集已存在" in e.value.message
    assert [c.title for c in ops.editions() if c.year == 2027] == ["先建的"]
