"""活动总结 (seed 001 二.1(3), 002 三(四).1(4)) and the completeness panels (001 三.9):
the owner of an approved, ended activity writes five parts (autosaved, version-checked
against the supplement row), files them within min(end + 10 days, the edition's window);
after that the server refuses with the date it closed; before the end it refuses; parts
are limited by an edition setting; reviewers see it with the supplement; 我的活动 shows
a completeness badge computed for the whole page in a constant number of statements."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import event
from werkzeug.datastructures import FileStorage

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.files.operations import attach, save_upload
from kepu.files.specs import MB, FieldSpec
from kepu.orgs.models import Org
from kepu.science_day.after_models import (F_EFFECT_PHOTO, F_EFFECT_VIDEO,
                                           F_PARTICIPANT_PHOTO, SUMMARY_PARTS,
                                           ActivityScientist, ActivitySupplement)
from kepu.science_day.files import field_name
from kepu.science_day.models import ENTITY, Activity
from kepu.timeutil import fmt, utcnow

WINDOWS = {k: {"open": "2020-01-01 00:00", "close": "2099-12-31 23:59"}
           for k in ("filing", "supplement", "summary", "annual_report", "recommend")}
TEXTS = {"basic": "9月20日在社区举办科普讲座，约80人参加。", "results": "居民了解了量子科技。",
         "highlights": "科学家现场互动。", "resources": "形成讲座视频1部。",
         "experience": "提前预约效果好。"}


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (80, 60), (30, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def sd(app, make_user):
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                        settings={"windows": {k: dict(v) for k, v in WINDOWS.items()}})
    bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    db.session.add_all([campaign, bj])
    db.session.commit()
    owner = make_user("13900000801", roles=["info_officer"], name="信息员")
    other = make_user("13900000802", roles=["info_officer"])
    national = make_user("13900000803", roles=["national_admin"])
    province = make_user("13900000804", roles=[("provincial_admin", {"region_code": "11"})])
    other_province = make_user("13900000805",
                               roles=[("provincial_admin", {"region_code": "44"})])
    return dict(campaign=campaign, bj=bj, owner=owner, other=other, national=national,
                province=province, other_province=other_province)


def make_activity(sd, *, status="approved", ended_days_ago=2.0, name="量子科普进社区",
                  mode="线下") -> Activity:
    now = utcnow()
    end = now - timedelta(days=ended_days_ago)
    a = Activity(campaign_id=sd["campaign"].id, owner_id=sd["owner"].id, status=status,
                 name=name, mode=mode, activity_type="科普讲座", start_at=end - timedelta(hours=2),
                 end_at=end, region_code="110105", supervisor_category="省科协",
                 supervisor_org_id=sd["bj"].id, route_province="11",
                 hosts=[{"name": "某馆"}], submitted_at=now - timedelta(days=20),
                 approved_at=None if status != "approved" else now - timedelta(days=15))
    db.session.add(a)
    db.session.commit()
    return a


def attach_file(a: Activity, field: str, owner, name="p.png", data=None):
    spec = FieldSpec(field_name(a.campaign_id, field), "测试", ("png", "mp4"), 10 * MB,
                     multiple=True)
    f = save_upload(spec, FileStorage(io.BytesIO(data or png_bytes()), name), owner)
    attach(f, ENTITY, a.id)
    return f


def complete_supplement(a: Activity, owner, photos=3) -> ActivitySupplement:
    sup = db.session.get(ActivitySupplement, a.id) or ActivitySupplement(activity_id=a.id)
    sup.media_reports = [{"title": "北京日报报道", "url": "https://example.com/news/1"},
                         {"title": "区融媒体", "url": "https://example.com/news/2"}]
    sup.participants_offline = 80
    sup.version = (sup.version or 1) + 1
    db.session.add(sup)
    db.session.add(ActivityScientist(activity_id=a.id, name="张研究员", phone="13800000001",
                                     unit="中国科学院物理研究所", title="研究员"))
    db.session.commit()
    for i in range(photos):
        attach_file(a, F_EFFECT_PHOTO, owner, name=f"photo{i}.png")
    attach_file(a, F_PARTICIPANT_PHOTO, owner, name="people.png")
    return sup


def sup_of(a) -> ActivitySupplement | None:
    db.session.expire_all()
    return db.session.get(ActivitySupplement, a.id)


def version_of(a) -> int:
    sup = sup_of(a)
    return sup.version if sup else 0


def url(a, tail=""):
    return f"/science-day/activities/{a.id}/summary{tail}"


def field_error(html: str, name: str) -> str:
    m = re.search(rf'id="{name}-error"[^>]*>([^<]+)<', html)
    return m.group(1) if m else ""


def post(client, a, action="draft", version=None, **parts):
    data = {"action": action, "version": str(version_of(a) if version is None else version),
            **parts}
    return client.post(url(a), data=data)


# --------------------------------------------------------------------------- the page

def test_page_autosave_conflict_and_filing(client, auth, sd):
    a = make_activity(sd)
    auth.login_as(sd["owner"])
    html = client.get(url(a)).get_data(as_text=True)
    for _key, label in SUMMARY_PARTS:
        assert label in html
    assert 'data-counter="2000"' in html and "提交总结" in html
    assert sup_of(a) is None            # created lazily
    resp = client.post(url(a, "/autosave"), data={"version": "0", "basic": "第一稿"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert 'name="version" value="1"' in resp.get_data(as_text=True)
    assert sup_of(a).summary["basic"] == "第一稿" and sup_of(a).summary_filed_at is None
    # a second tab still on version 0: refused, nothing overwritten
    resp = client.post(url(a, "/autosave"), data={"version": "0", "basic": "旧页面"})
    assert resp.status_code == 409 and "其他窗口" in resp.get_data(as_text=True)
    assert sup_of(a).summary["basic"] == "第一稿"
    # without JavaScript: 暂存 then 提交总结
    resp = post(client, a, "draft", **{"results": "成效\r\n第二行"})
    assert resp.status_code == 303
    assert sup_of(a).summary["results"] == "成效\n第二行"
    resp = post(client, a, "file", **TEXTS)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(
        f"/science-day/activities/{a.id}#after-panel")
    sup = sup_of(a)
    assert sup.summary_filed_at is not None and sup.summary == TEXTS
    c = db.session.get(Activity, a.id).completeness()
    assert c.section_ok("summary")


def test_filing_needs_every_part_and_keeps_what_was_typed(client, auth, sd):
    a = make_activity(sd)
    auth.login_as(sd["owner"])
    parts = {**TEXTS, "highlights": "  "}
    resp = post(client, a, "file", **parts)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert field_error(html, "highlights") == "请填写特色亮点"
    assert TEXTS["basic"] in html and TEXTS["experience"] in html
    sup = sup_of(a)
    assert sup.summary_filed_at is None
    assert sup.summary["basic"] == TEXTS["basic"]       # the valid parts kept as the draft


def test_part_length_is_an_edition_setting(client, auth, sd):
    sd["campaign"].settings = {**sd["campaign"].settings, "limits": {"summary_part": 10}}
    db.session.commit()
    a = make_activity(sd)
    auth.login_as(sd["owner"])
    html = client.get(url(a)).get_data(as_text=True)
    assert 'data-counter="10"' in html
    long = "一" * 11
    resp = post(client, a, "file", **{**TEXTS, "basic": long, "results": "短"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert field_error(html, "basic") == "活动基本情况不能超过10字（现为11字）"
    assert long in html                      # nothing typed is lost
    assert sup_of(a).summary.get("basic", "") == "" and sup_of(a).summary_filed_at is None
    # the autosave says so next to the field and stores the parts within the limit
    resp = client.post(url(a, "/autosave"), data={"version": str(version_of(a)),
                                                  "basic": long, "results": "十个字以内"})
    assert resp.status_code == 422
    reply = resp.get_data(as_text=True)
    assert "活动基本情况不能超过10字" in reply and 'id="store-basic"' in reply
    assert sup_of(a).summary["results"] == "十个字以内"
    assert sup_of(a).summary.get("basic", "") == ""


def test_an_unreadable_limit_never_takes_the_page_down(client, auth, sd):
    sd["campaign"].settings = {**sd["campaign"].settings, "limits": {"summary_part": "abc"}}
    db.session.commit()
    a = make_activity(sd)
    auth.login_as(sd["owner"])
    resp = client.get(url(a))
    assert resp.status_code == 200 and 'data-counter="2000"' in resp.get_data(as_text=True)


# --------------------------------------------------------------------------- windows

def test_ten_days_after_the_end_the_server_refuses_with_the_date(client, auth, sd):
    a = make_activity(sd, ended_days_ago=10.5)
    due = a.end_at + timedelta(days=10)
    message = f"活动总结已于 {fmt(due)} 截止（活动结束后 10 日内），不能再提交"
    auth.login_as(sd["owner"])
    html = client.get(url(a)).get_data(as_text=True)
    assert message in html and 'id="file-summary"' not in html and "data-autosave" not in html
    resp = post(client, a, "file", **TEXTS)
    assert resp.status_code == 403 and message in resp.get_data(as_text=True)
    assert sup_of(a) is None
    resp = client.post(url(a, "/autosave"), data={"version": "0", "basic": "晚了"})
    assert resp.status_code == 409 and message in resp.get_data(as_text=True)
    assert sup_of(a) is None


def test_nine_days_after_the_end_it_is_still_open(client, auth, sd):
    a = make_activity(sd, ended_days_ago=9.9)
    auth.login_as(sd["owner"])
    assert post(client, a, "file", **TEXTS).status_code == 303
    assert sup_of(a).summary_filed_at is not None


def test_the_editions_window_closing_first_is_the_deadline(client, auth, sd):
    closes = fmt(utcnow() - timedelta(days=1), "%Y-%m-%d %H:%M")
    windows = {**sd["campaign"].settings["windows"],
               "summary": {"open": "2020-01-01 00:00", "close": closes}}
    sd["campaign"].settings = {**sd["campaign"].settings, "windows": windows}
    db.session.commit()
    a = make_activity(sd, ended_days_ago=3)
    auth.login_as(sd["owner"])
    resp = post(client, a, "file", **TEXTS)
    assert resp.status_code == 403
    assert f"活动总结已于 {closes} 截止（本届活动总结填报截止），不能再提交" in resp.get_data(
        as_text=True)
    assert sup_of(a) is None


def test_before_the_window_opens_it_is_refused(client, auth, sd):
    opens = fmt(utcnow() + timedelta(days=3), "%Y-%m-%d %H:%M")
    windows = {**sd["campaign"].settings["windows"],
               "summary": {"open": opens, "close": "2099-12-31 23:59"}}
    sd["campaign"].settings = {**sd["campaign"].settings, "windows": windows}
    db.session.commit()
    a = make_activity(sd)
    auth.login_as(sd["owner"])
    resp = post(client, a, "file", **TEXTS)
    assert resp.status_code == 403 and f"活动总结填报将于 {opens} 开始" in resp.get_data(
        as_text=True)


def test_an_unreadable_window_refuses_without_failing(client, auth, sd):
    windows = {**sd["campaign"].settings["windows"],
               "summary": {"open": "2020-01-01 00:00", "close": "不是时间"}}
    sd["campaign"].settings = {**sd["campaign"].settings, "windows": windows}
    db.session.commit()
    a = make_activity(sd)
    auth.login_as(sd["owner"])
    html = client.get(url(a)).get_data(as_text=True)
    assert "活动总结填报时间设置有误" in html
    assert post(client, a, "file", **TEXTS).status_code == 403
    assert client.get(f"/science-day/activities/{a.id}").status_code == 200


def test_before_the_activity_ends_it_is_refused(client, auth, sd):
    a = make_activity(sd, ended_days_ago=-1)
    auth.login_as(sd["owner"])
    resp = post(client, a, "file", **TEXTS)
    assert resp.status_code == 403
    assert f"活动尚未结束（活动结束时间 {fmt(a.end_at)}），活动结束后才能填写活动总结" in \
        resp.get_data(as_text=True)
    assert client.post(url(a, "/autosave"), data={"version": "0", "basic": "x"}).status_code \
        == 409
    assert sup_of(a) is None


@pytest.mark.parametrize("status", ["draft", "province_pending", "national_rejected"])
def test_only_approved_activities_have_a_summary(client, auth, sd, status):
    a = make_activity(sd, status=status)
    auth.login_as(sd["owner"])
    resp = post(client, a, "file", **TEXTS)
    assert resp.status_code == 403 and "活动审核通过后，才能填写活动总结" in resp.get_data(
        as_text=True)
    assert sup_of(a) is None


def test_refiling_keeps_the_first_time_and_drafts_stop(client, auth, sd):
    a = make_activity(sd)
    auth.login_as(sd["owner"])
    assert post(client, a, "file", **TEXTS).status_code == 303
    first = sup_of(a).summary_filed_at
    html = client.get(url(a)).get_data(as_text=True)
    assert "提交修改" in html and "data-autosave" not in html
    # a draft save after filing would change the filed text silently: refused
    resp = post(client, a, "draft", basic="悄悄改")
    assert resp.status_code == 409 and "提交修改" in resp.get_data(as_text=True)
    assert client.post(url(a, "/autosave"), data={"version": str(version_of(a)),
                                                  "basic": "悄悄改"}).status_code == 409
    # a correction with an empty part is refused and the filed text stays
    resp = post(client, a, "file", **{**TEXTS, "basic": ""})
    assert resp.status_code == 422 and sup_of(a).summary["basic"] == TEXTS["basic"]
    assert post(client, a, "file", **{**TEXTS, "basic": "更正后的基本情况"}).status_code == 303
    sup = sup_of(a)
    assert sup.summary["basic"] == "更正后的基本情况" and sup.summary_filed_at == first
    # once the deadline has passed, no more corrections
    act = db.session.get(Activity, a.id)
    act.end_at = utcnow() - timedelta(days=11)
    db.session.commit()
    resp = post(client, a, "file", **{**TEXTS, "basic": "太晚了"})
    assert resp.status_code == 403 and "截止" in resp.get_data(as_text=True)
    assert sup_of(a).summary["basic"] == "更正后的基本情况"


def test_a_save_of_the_supplement_page_meanwhile_is_a_conflict(client, auth, sd):
    a = make_activity(sd)
    auth.login_as(sd["owner"])
    assert post(client, a, "draft", basic="我的稿").status_code == 303
    seen = version_of(a)
    # the 补充活动信息 page saves the same row (and bumps its version)
    sup = sup_of(a)
    sup.participants_offline, sup.version = 60, sup.version + 1
    db.session.commit()
    resp = post(client, a, "file", version=seen, **TEXTS)
    assert resp.status_code == 409 and "其他窗口" in resp.get_data(as_text=True)
    assert TEXTS["results"] in resp.get_data(as_text=True)         # the text is kept
    sup = sup_of(a)
    assert sup.summary_filed_at is None and sup.participants_offline == 60
    # the supplement page created the row first: the summary's "no row yet" is stale
    b = make_activity(sd, name="另一个活动")
    db.session.add(ActivitySupplement(activity_id=b.id, version=1, participants_offline=5))
    db.session.commit()
    assert post(client, b, "draft", version=0, basic="x").status_code == 409
    assert sup_of(b).summary in ({}, None) and sup_of(b).participants_offline == 5


def test_a_stale_page_without_version_is_refused(client, auth, sd):
    a = make_activity(sd)
    auth.login_as(sd["owner"])
    resp = client.post(url(a), data={"action": "draft", "basic": "x"})
    assert resp.status_code == 409 and "页面已过期" in resp.get_data(as_text=True)


def test_someone_elses_activity_is_404(client, auth, sd):
    a = make_activity(sd)
    for user in ("other", "national", "province"):
        auth.login_as(sd[user])
        assert client.get(url(a)).status_code == 404
        assert post(client, a, "file", **TEXTS).status_code == 404
        assert client.post(url(a, "/autosave"), data={"version": "0", "basic": "x"}
                           ).status_code == 404
    assert sup_of(a) is None
    auth.logout()
    assert client.get(url(a)).status_code in (302, 303)


# --------------------------------------------------------------------------- panels

def test_owner_panel_item_by_item_with_the_deadline(client, app, auth, sd):
    a = make_activity(sd, ended_days_ago=2.5)
    auth.login_as(sd["owner"])
    html = client.get(f"/science-day/activities/{a.id}").get_data(as_text=True)
    assert 'id="after-panel"' in html and "活动完整性" in html
    for label in ("活动填报信息", "补充活动信息", "活动总结", "至少 1 篇媒体报道", "参与人数佐证照片",
                  "活动总结五部分齐全", "线下参与人数不少于 50 人"):
        assert label in html
    due = a.end_at + timedelta(days=10)
    assert f"截止：{fmt(due)}（活动结束后 10 日内）" in html and "还剩 7 天" in html
    assert f'href="/science-day/activities/{a.id}/summary"' in html and "填写活动总结" in html
    if "science_day.supplement" in app.view_functions:
        assert f"/science-day/activities/{a.id}/supplement" in html
    else:
        assert "补充活动信息填报页面暂未开放" in html
    assert "缺 " in html
    # complete: supplement in the DB, then the summary filed
    complete_supplement(a, sd["owner"])
    assert post(client, a, "file", **TEXTS).status_code == 303
    html = client.get(f"/science-day/activities/{a.id}").get_data(as_text=True)
    overall = re.search(r'id="after-overall">(.*?)</span>\s*</div>', html, re.S).group(1)
    assert "完整" in overall and "缺" not in overall
    assert "修改活动总结" in html


def test_owner_panel_only_for_approved(client, auth, sd):
    a = make_activity(sd, status="province_pending")
    auth.login_as(sd["owner"])
    html = client.get(f"/science-day/activities/{a.id}").get_data(as_text=True)
    assert 'id="after-panel"' not in html


def test_reviewers_see_the_summary_and_the_supplement(client, auth, sd):
    a = make_activity(sd)
    complete_supplement(a, sd["owner"])
    video = attach_file(a, F_EFFECT_VIDEO, sd["owner"], name="clip.mp4",
                        data=b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64)
    sup = sup_of(a)
    sup.video_durations = {str(video.id): 125}
    db.session.commit()
    auth.login_as(sd["owner"])
    assert post(client, a, "file", **TEXTS).status_code == 303
    for user, path in (("national", "national"), ("province", "province")):
        auth.login_as(sd[user])
        resp = client.get(f"/science-day/review/{path}/{a.id}")
        assert resp.status_code == 200, (user, resp.status_code)
        html = resp.get_data(as_text=True)
        for text in TEXTS.values():
            assert text in html
        assert "138****0001" in html and "13800000001" not in html
        assert "中国科学院物理研究所" in html and "研究员" in html
        assert 'href="https://example.com/news/1"' in html and "北京日报报道" in html
        assert "clip.mp4" in html and "2分05秒" in html
        assert "线下 80 人" in html
        photos = re.findall(r'<img class="wf-thumb" src="(/files/\d+/photo\d\.png\?inline=1)"',
                            html)
        assert len(photos) == 3
        assert client.get(photos[0]).status_code == 200
        assert re.search(r'id="after-overall">\s*<span class="badge badge-ok">完整', html)
    # another province's admin does not reach the activity nor its files
    auth.login_as(sd["other_province"])
    assert client.get(f"/science-day/review/province/{a.id}").status_code == 404
    assert client.get(photos[0]).status_code == 404


def test_reviewers_see_an_unfiled_summary_as_not_filed(client, auth, sd):
    a = make_activity(sd)
    auth.login_as(sd["owner"])
    assert post(client, a, "draft", basic="草稿里的内容").status_code == 303
    auth.login_as(sd["national"])
    html = client.get(f"/science-day/review/national/{a.id}").get_data(as_text=True)
    assert "活动总结尚未提交" in html and "草稿里的内容" not in html


def test_my_activities_badge_in_constant_statements(client, auth, sd):
    draft = make_activity(sd, status="draft", name="草稿活动")
    first = make_activity(sd, name="已通过一")
    auth.login_as(sd["owner"])

    def count_statements():
        n = {"n": 0}

        def on(*_args, **_kw):
            n["n"] += 1

        event.listen(db.engine, "before_cursor_execute", on)
        try:
            resp = client.get("/science-day/activities/mine")
        finally:
            event.remove(db.engine, "before_cursor_execute", on)
        return resp, n["n"]

    resp, few = count_statements()
    html = resp.get_data(as_text=True)
    row = re.search(rf'<tr id="activity-{first.id}">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'completeness-badge"[^>]*>缺 \d+ 项<', row)
    drow = re.search(rf'<tr id="activity-{draft.id}">(.*?)</tr>', html, re.S).group(1)
    assert "completeness-badge" not in drow
    complete_supplement(first, sd["owner"])
    assert post(client, first, "file", **TEXTS).status_code == 303
    for i in range(5):
        make_activity(sd, name=f"已通过{i + 2}")
    resp, many = count_statements()
    html = resp.get_data(as_text=True)
    row = re.search(rf'<tr id="activity-{first.id}">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'completeness-badge"[^>]*>完整<', row)
    assert html.count("completeness-badge") == 6
    assert many == few, (few, many)


def test_unreadable_stored_values_never_take_a_page_down(client, auth, sd):
    a = make_activity(sd)
    db.session.add(ActivitySupplement(activity_id=a.id, version=2, summary=["不是字典"],
                                      media_reports="坏数据", video_durations=[1, 2],
                                      participants_offline=None))
    db.session.commit()
    auth.login_as(sd["owner"])
    for path in (url(a), f"/science-day/activities/{a.id}", "/science-day/activities/mine"):
        assert client.get(path).status_code == 200, path
    auth.login_as(sd["national"])
    html = client.get(f"/science-day/review/national/{a.id}").get_data(as_text=True)
    assert "活动总结尚未提交" in html
    sup = sup_of(a)
    sup.summary = {"basic": 12, "results": {"x": 1}}
    sup.summary_filed_at = utcnow()
    db.session.commit()
    assert client.get(f"/science-day/review/national/{a.id}").status_code == 200
    auth.login_as(sd["owner"])
    assert client.get(url(a)).status_code == 200
    # and the owner can still write over it
    assert post(client, a, "file", **TEXTS).status_code == 303
    assert sup_of(a).summary == TEXTS


# --------------------------------------------------------------------------- the workbench

def test_workbench_card_counts_held_activities_still_to_complete(client, auth, sd):
    """我的活动 on the 工作台 counts the approved, ended activities that are not complete
    (the shared predicate) and leads to the first of them; a complete one drops out."""
    from kepu.science_day.after_models import SUMMARY_PARTS

    first = make_activity(sd, ended_days_ago=3, name="先结束的活动")
    second = make_activity(sd, ended_days_ago=1, name="后结束的活动")
    make_activity(sd, ended_days_ago=-3, name="还没举办的活动")       # not ended: not counted
    auth.login_as(sd["owner"])
    html = client.get("/workbench").get_data(as_text=True)
    assert re.search(r"待补充信息或总结\D*2\b", html), html[html.find("我的活动"):][:1500]
    assert f'/science-day/activities/{first.id}"' in html and "补充活动信息和总结" in html

    sup = complete_supplement(first, sd["owner"])
    sup.summary = {k: "内容" for k, _ in SUMMARY_PARTS}
    sup.summary_filed_at = utcnow()
    db.session.commit()
    html = client.get("/workbench").get_data(as_text=True)
    assert re.search(r"待补充信息或总结\D*1\b", html)
    assert f'/science-day/activities/{second.id}"' in html
