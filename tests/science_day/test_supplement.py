"""补充活动信息 (seed 001 三.6, 002 三(四).1): the owner of an approved activity that has
ended, inside the 补充活动填报 window: media reports, photos, short videos (duration read
on the server), participants with the 推优 minimums, the scientists list (rows, xlsx
import, phone checks and de-duplication, the 100 cap), autosave with the version check,
and every refusal (window, state, not ended, someone else's activity)."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.files.models import StoredFile
from kepu.science_day.after_models import ActivityScientist, ActivitySupplement
from kepu.science_day.models import Activity
from kepu.timeutil import utcnow

from sd_media import broken_mp4_bytes, mp4_bytes, png_bytes, xlsx_bytes

OPEN = {"windows": {"filing": {"open": "2020-01-01 00:00", "close": "2099-12-31 23:59"},
                    "supplement": {"open": "2020-01-01 00:00", "close": "2099-12-31 23:59"}}}


@pytest.fixture
def sp(app, make_user):
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                        settings={k: dict(v) for k, v in OPEN.items()})
    db.session.add(campaign)
    db.session.commit()
    owner = make_user("13900000801", name="信息员", roles=["info_officer"])
    other = make_user("13900000802", roles=["info_officer"])
    now = utcnow()
    a = Activity(campaign_id=campaign.id, owner_id=owner.id, status="approved",
                 name="科学之夜", mode="线上线下", activity_type="科普讲座",
                 start_at=now - timedelta(days=2), end_at=now - timedelta(days=1),
                 region_code="110105", hosts=[{"name": "某馆"}], submitted_at=now,
                 approved_at=now)
    db.session.add(a)
    db.session.commit()
    return dict(campaign=campaign, owner=owner, other=other, a=a)


def url(a, tail=""):
    return f"/science-day/activities/{a.id}/supplement{tail}"


def sup_of(a) -> ActivitySupplement | None:
    db.session.expire_all()
    return db.session.get(ActivitySupplement, a.id)


def scientists(a) -> list[ActivityScientist]:
    db.session.expire_all()
    return list(db.session.scalars(select(ActivityScientist).where(
        ActivityScientist.activity_id == a.id).order_by(ActivityScientist.position)))


def version(a) -> int:
    s = sup_of(a)
    return s.version if s else 1


def form(a, **over) -> dict:
    data = {"version": str(version(a)), "media__present": "1", "media_title": [""],
            "media_url": [""], "participants_offline": "", "participants_online": "",
            "sci__present": "1", "sci_name": [""], "sci_phone": [""], "sci_unit": [""],
            "sci_title": [""]}
    data.update(over)
    return data


def upload(client, a, key, *files):
    return client.post(url(a, f"/files/{key}"), data={
        f"{key}__upload": [(io.BytesIO(b), name) for name, b in files]},
        content_type="multipart/form-data")


def attached(a, key) -> list[StoredFile]:
    db.session.expire_all()
    return list(db.session.scalars(select(StoredFile).where(
        StoredFile.entity_type == "activity", StoredFile.entity_id == a.id,
        StoredFile.field == f"science_day:{a.campaign_id}:{key}")))


def set_settings(campaign, **changes):
    s = dict(campaign.settings or {})
    s.update(changes)
    campaign.settings = s
    db.session.commit()


def text(resp) -> str:
    return resp.get_data(as_text=True)


# --- the page, ownership and refusals -------------------------------------------------------

def test_owner_sees_the_page_with_what_is_missing(client, auth, sp):
    auth.login_as(sp["owner"])
    resp = client.get(url(sp["a"]))
    assert resp.status_code == 200
    body = text(resp)
    assert "补充活动信息" in body and "推优条件" in body
    assert "至少 1 篇媒体报道" in body and "3–10 张反映活动成效的照片" in body
    assert "线下参与人数（人）" in body and "线上参与人数（人）" in body
    assert 'id="supplement-form"' in body and "data-autosave" in body
    assert sup_of(sp["a"]) is None          # the row is created on the first save


def test_someone_elses_activity_is_404_and_anonymous_logs_in(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["other"])
    assert client.get(url(a)).status_code == 404
    assert client.post(url(a), data=form(a, participants_offline="80")).status_code == 404
    assert client.post(url(a, "/autosave"), data=form(a)).status_code == 404
    assert upload(client, a, "effect_photo", ("a.png", png_bytes())).status_code == 404
    assert client.get(url(a, "/scientists.xlsx")).status_code == 404
    assert sup_of(a) is None and not attached(a, "effect_photo")
    auth.logout()
    resp = client.get(url(a))
    assert resp.status_code in (302, 303) and "/account/login" in resp.headers["Location"]


@pytest.mark.parametrize("status", ["draft", "province_pending", "national_pending",
                                    "province_rejected", "national_rejected"])
def test_only_approved_activities(client, auth, sp, status):
    a = sp["a"]
    a.status = status
    db.session.commit()
    auth.login_as(sp["owner"])
    resp = client.get(url(a))
    assert resp.status_code == 200 and "只有审核通过的活动才能填写补充活动信息" in text(resp)
    assert 'id="save-supplement"' not in text(resp)
    resp = client.post(url(a), data=form(a, participants_offline="80"))
    assert resp.status_code == 409 and "只有审核通过的活动" in text(resp)
    assert client.post(url(a, "/autosave"), data=form(a)).status_code == 409
    assert upload(client, a, "effect_photo", ("a.png", png_bytes())).status_code == 409
    assert sup_of(a) is None and not attached(a, "effect_photo")


def test_not_before_the_activity_has_ended(client, auth, sp):
    a = sp["a"]
    a.end_at = utcnow() + timedelta(hours=2)
    db.session.commit()
    auth.login_as(sp["owner"])
    resp = client.get(url(a))
    assert "活动结束后才能填写补充活动信息（活动结束时间：" in text(resp)
    resp = client.post(url(a), data=form(a, participants_offline="80"))
    assert resp.status_code == 409
    assert 'value="80"' in text(resp)         # what was typed is shown again
    resp = client.post(url(a, "/scientists-import"), data={
        "scientists_file": (io.BytesIO(xlsx_bytes([("张三", "13800138000", "", "")])),
                            "名单.xlsx")}, content_type="multipart/form-data")
    assert resp.status_code == 409 and not scientists(a)


def test_outside_the_supplement_window(client, auth, sp):
    a, c = sp["a"], sp["campaign"]
    set_settings(c, windows={**OPEN["windows"], "supplement": {
        "open": "2020-01-01 00:00", "close": "2021-10-14 23:59:59"}})
    auth.login_as(sp["owner"])
    resp = client.get(url(a))
    assert "补充活动填报已于 2021-10-14 23:59 截止，系统已自动关闭填报补充活动信息" in text(resp)
    assert client.post(url(a), data=form(a, participants_offline="80")).status_code == 403
    assert client.post(url(a, "/autosave"), data=form(a)).status_code == 403
    assert upload(client, a, "effect_photo", ("a.png", png_bytes())).status_code == 403
    set_settings(c, windows={**OPEN["windows"], "supplement": {
        "open": "2098-01-01 00:00", "close": "2099-10-14 23:59:59"}})
    resp = client.post(url(a), data=form(a, participants_offline="80"))
    assert resp.status_code == 403 and "补充活动填报将于 2098-01-01 00:00 开始" in text(resp)
    # an unreadable window setting never takes the page down; the window stays shut
    set_settings(c, windows={**OPEN["windows"], "supplement": {"open": "坏", "close": "x"}})
    resp = client.get(url(a))
    assert resp.status_code == 200 and "时间设置有误" in text(resp)
    assert sup_of(a) is None


def test_unreadable_stored_values_do_not_take_the_page_down(client, auth, sp):
    a = sp["a"]
    db.session.add(ActivitySupplement(activity_id=a.id, version=3, media_reports={"x": 1},
                                      video_durations=["bad"], summary="?"))
    db.session.commit()
    auth.login_as(sp["owner"])
    resp = client.get(url(a))
    assert resp.status_code == 200 and "已填 0 篇" in text(resp)


# --- media reports ----------------------------------------------------------------------

def test_media_reports_saved_and_bad_links_reported(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["owner"])
    resp = client.post(url(a), data=form(a, media_title=["新华网报道", "本地报道", ""],
                                         media_url=["https://news.example.com/a", "ftp://x.y/z",
                                                    ""]))
    assert resp.status_code == 422
    body = text(resp)
    assert "报道链接格式不正确" in body and 'id="media_2-error"' in body
    assert 'value="ftp://x.y/z"' in body          # kept as typed
    s = sup_of(a)
    assert s.media_reports == [{"title": "新华网报道", "url": "https://news.example.com/a"},
                               {"title": "本地报道", "url": "ftp://x.y/z"}]
    assert a.completeness().items[1].ok          # one good report is enough
    resp = client.post(url(a), data=form(a, media_title=["", "无链接"], media_url=["", ""]))
    assert resp.status_code == 422 and "请填写报道链接" in text(resp)
    resp = client.post(url(a), data=form(a, media_title=["x" * 201], media_url=["https://a.cn"]))
    assert resp.status_code == 422 and "报道标题不能超过200字" in text(resp)
    resp = client.post(url(a), data=form(a, media_title=["只有链接不算"], media_url=["http://"]))
    assert resp.status_code == 422
    db.session.expire_all()
    assert not db.session.get(Activity, a.id).completeness().items[1].ok


def test_media_rows_added_and_removed_without_javascript(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["owner"])
    resp = client.post(url(a), data=form(a, action="add:media", media_title=["甲", ""],
                                         media_url=["https://a.cn/1", ""]))
    assert resp.status_code == 303 and "media_rows=2" in resp.headers["Location"]
    page = text(client.get(resp.headers["Location"]))
    assert page.count('name="media_title"') == 3
    resp = client.post(url(a), data=form(a, action="remove:media:1",
                                         media_title=["甲", "乙"],
                                         media_url=["https://a.cn/1", "https://a.cn/2"]))
    assert resp.status_code == 303
    assert sup_of(a).media_reports == [{"title": "乙", "url": "https://a.cn/2"}]


# --- participants -----------------------------------------------------------------------

def test_participants_whole_numbers_and_the_minimums(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["owner"])
    resp = client.post(url(a), data=form(a, participants_offline="-3",
                                         participants_online="十个"))
    assert resp.status_code == 422
    assert text(resp).count("请填写不小于0的整数") == 2
    assert 'value="-3"' in text(resp) and 'value="十个"' in text(resp)
    s = sup_of(a)
    assert s.participants_offline is None and s.participants_online is None
    resp = client.post(url(a), data=form(a, participants_offline="30",
                                         participants_online="1,200"))
    assert resp.status_code == 303
    s = sup_of(a)
    assert (s.participants_offline, s.participants_online) == (30, 1200)
    page = text(client.get(url(a)))
    assert 'id="participants_offline-ineligible"' in page and "不符合推优条件" in page
    assert 'id="participants_online-ineligible"' not in page
    c = db.session.get(Activity, a.id).completeness()
    assert {n.key: n.ok for n in c.notes} == {"offline_min": False, "online_min": True}
    client.post(url(a), data=form(a, participants_offline="50", participants_online="99"))
    c = db.session.get(Activity, a.id).completeness()
    assert {n.key: n.ok for n in c.notes} == {"offline_min": True, "online_min": False}
    resp = client.post(url(a), data=form(a, participants_offline="1000000001"))
    assert resp.status_code == 422 and "不能超过" in text(resp)


def test_which_figures_are_asked_follows_the_mode(client, auth, sp):
    a = sp["a"]
    a.mode = "线下"
    db.session.commit()
    auth.login_as(sp["owner"])
    page = text(client.get(url(a)))
    assert 'name="participants_offline"' in page and 'name="participants_online"' not in page
    client.post(url(a), data=form(a, participants_offline="60", participants_online="500"))
    s = sup_of(a)
    assert s.participants_offline == 60 and s.participants_online is None
    a = db.session.get(Activity, a.id)
    a.mode = "线上"
    db.session.commit()
    page = text(client.get(url(a)))
    assert 'name="participants_online"' in page and 'name="participants_offline"' not in page


# --- the scientists list ----------------------------------------------------------------

def sci(rows):
    return {"sci_name": [r[0] for r in rows], "sci_phone": [r[1] for r in rows],
            "sci_unit": [r[2] if len(r) > 2 else "" for r in rows],
            "sci_title": [r[3] if len(r) > 3 else "" for r in rows]}


def test_scientist_rows_phones_checked_and_deduplicated(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["owner"])
    resp = client.post(url(a), data=form(a, **sci([
        ("张三", "+86 138-0013-8000", "某研究所", "研究员"),
        ("李四", "12345", "某大学", "教授"),
        ("王五", "13800138000", "某医院", "主任医师"),
        ("", "13900139000", "某馆", ""),
        ("", "", "", ""),
        ("赵六", "13700137000", "", "")])))
    assert resp.status_code == 422
    body = text(resp)
    assert "第2行：手机号格式不正确" in body
    assert "第3行：手机号与第1行重复" in body and 'id="sci_3-error"' in body
    assert "第4行：请填写姓名" in body
    assert 'value="12345"' in body and 'value="王五"' in body     # nothing typed is lost
    assert [(s.name, s.phone, s.position) for s in scientists(a)] == [
        ("张三", "13800138000", 0), ("赵六", "13700137000", 1)]
    # edit and remove rows
    resp = client.post(url(a), data=form(a, action="remove:sci:1", **sci([
        ("张三", "13800138000"), ("赵六", "13700137000", "某中心", "工程师")])))
    assert resp.status_code == 303
    assert [(s.name, s.unit, s.title) for s in scientists(a)] == [("赵六", "某中心", "工程师")]
    resp = client.post(url(a), data=form(a, action="add:sci", **sci([
        ("赵六", "13700137000")])))
    assert resp.status_code == 303 and "sci_rows=1" in resp.headers["Location"]


def test_at_most_100_scientists(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["owner"])
    rows = [(f"专家{i}", f"1380000{i:04d}") for i in range(101)]
    resp = client.post(url(a), data=form(a, **sci(rows)))
    assert resp.status_code == 422
    assert "第101行：名单最多100人，此行未保存" in text(resp)
    assert len(scientists(a)) == 100
    page = text(client.get(url(a)))
    assert "已保存 100/100 人" in page and 'value="add:sci"' not in page


# --- autosave and the version check --------------------------------------------------------

def test_autosave_and_a_stale_tab(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["owner"])
    resp = client.post(url(a, "/autosave"), data=form(a, media_title=["报道"],
                                                      media_url=["https://a.cn"]),
                       headers={"HX-Request": "true"})
    assert resp.status_code == 200
    body = text(resp)
    assert "已保存" in body and 'name="version" value="2"' in body
    assert 'id="supp-completeness"' in body and "hx-swap-oob" in body
    assert sup_of(a).version == 2
    # a row with an error: saved but reported (the slot is swapped out of band)
    resp = client.post(url(a, "/autosave"), data=form(a, media_title=["报道"],
                                                      media_url=["https://a.cn"],
                                                      **sci([("张三", "1")])),
                       headers={"HX-Request": "true"})
    assert resp.status_code == 200 and "第1行：手机号格式不正确" in text(resp)
    assert 'id="store-sci_1"' in text(resp)
    # the first tab, still at version 1
    resp = client.post(url(a, "/autosave"), data=form(a, version="1", media_title=["旧"],
                                                      media_url=["https://old.cn"]),
                       headers={"HX-Request": "true"})
    assert resp.status_code == 409 and "已在其他窗口或设备上修改" in text(resp)
    assert sup_of(a).media_reports == [{"title": "报道", "url": "https://a.cn"}]
    resp = client.post(url(a), data=form(a, version="1", media_title=["旧"],
                                         media_url=["https://old.cn"]))
    assert resp.status_code == 409
    assert 'value="https://old.cn"' in text(resp) and "重新加载最新内容" in text(resp)
    assert sup_of(a).version == 3
    resp = client.post(url(a), data=form(a, version="abc"))
    assert resp.status_code == 409 and "页面已过期" in text(resp)


# --- photos and videos --------------------------------------------------------------------

def test_effect_photos_up_to_10_images_only(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["owner"])
    resp = upload(client, a, "effect_photo", *[(f"p{i}.png", png_bytes()) for i in range(4)])
    assert resp.status_code == 303
    assert len(attached(a, "effect_photo")) == 4
    page = text(client.get(url(a)))
    assert "已上传 4/10" in page and 'class="wf-thumb"' in page
    resp = upload(client, a, "effect_photo", ("notes.pdf", b"%PDF-1.4 x"))
    assert resp.status_code == 422 and "不支持的文件格式" in text(resp)
    resp = upload(client, a, "effect_photo", ("fake.png", b"not an image at all"))
    assert resp.status_code == 422
    resp = upload(client, a, "effect_photo", *[(f"q{i}.png", png_bytes()) for i in range(7)])
    assert resp.status_code == 422
    assert "还可上传6张" in text(resp) and "q6.png" in text(resp)
    assert len(attached(a, "effect_photo")) == 10
    resp = upload(client, a, "effect_photo", ("r.png", png_bytes()))
    assert resp.status_code == 422 and "最多10张" in text(resp)
    assert len(attached(a, "effect_photo")) == 10
    assert db.session.get(Activity, a.id).completeness().items[2].ok


def test_photo_size_is_an_edition_setting(client, auth, sp):
    a = sp["a"]
    set_settings(sp["campaign"], limits={"photo_mb": 1})
    big = png_bytes(size=(1200, 1200))
    big += b"\0" * (1024 * 1024 + 10 - len(big))           # trailing bytes past 1 MB
    auth.login_as(sp["owner"])
    resp = upload(client, a, "participant_photo", ("big.png", big))
    assert resp.status_code == 422 and "文件大小不能超过1MB" in text(resp)
    assert not attached(a, "participant_photo")


def test_participant_photos_up_to_5(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["owner"])
    assert upload(client, a, "participant_photo",
                  *[(f"p{i}.png", png_bytes()) for i in range(5)]).status_code == 303
    resp = upload(client, a, "participant_photo", ("p6.png", png_bytes()))
    assert resp.status_code == 422 and "最多5张" in text(resp)


def test_video_duration_is_read_on_the_server(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["owner"])
    resp = upload(client, a, "effect_video", ("long.mp4", mp4_bytes(245)))
    assert resp.status_code == 422
    assert "long.mp4：视频时长 4分05秒，超过 3 分钟的上限" in text(resp)
    assert not attached(a, "effect_video")
    assert db.session.scalar(select(func.count(StoredFile.id))) == 0     # nothing kept
    resp = upload(client, a, "effect_video", ("broken.mp4", broken_mp4_bytes()))
    assert resp.status_code == 422 and "无法读取视频时长" in text(resp)
    resp = upload(client, a, "effect_video", ("fine.mp4", mp4_bytes(120)))
    assert resp.status_code == 303
    (video,) = attached(a, "effect_video")
    assert sup_of(a).video_durations == {str(video.id): 120.0}
    assert "时长 2分00秒" in text(client.get(url(a)))
    resp = upload(client, a, "effect_video", ("edge.mov", mp4_bytes(180, quicktime=True)))
    assert resp.status_code == 303            # exactly 3 minutes is allowed, MOV too
    resp = upload(client, a, "effect_video", ("clip.avi", b"RIFF0000AVI "))
    assert resp.status_code == 422 and "不支持的文件格式" in text(resp)
    assert upload(client, a, "effect_video", ("third.mp4", mp4_bytes(60))).status_code == 303
    resp = upload(client, a, "effect_video", ("fourth.mp4", mp4_bytes(60)))
    assert resp.status_code == 422 and "最多3段" in text(resp)
    # removing a video drops its duration
    resp = client.post(url(a, f"/files/{video.id}/delete"))
    assert resp.status_code == 303
    assert str(video.id) not in sup_of(a).video_durations
    assert len(attached(a, "effect_video")) == 2


def test_video_size_is_an_edition_setting(client, auth, sp):
    a = sp["a"]
    set_settings(sp["campaign"], limits={"video_mb": 1})
    auth.login_as(sp["owner"])
    resp = upload(client, a, "effect_video", ("big.mp4", mp4_bytes(30, pad=1024 * 1024)))
    assert resp.status_code == 422 and "文件大小不能超过1MB" in text(resp)
    assert not attached(a, "effect_video")


def test_files_of_other_activities_cannot_be_deleted_here(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["owner"])
    upload(client, a, "effect_photo", ("p.png", png_bytes()))
    (photo,) = attached(a, "effect_photo")
    other = Activity(campaign_id=a.campaign_id, owner_id=sp["owner"].id, status="approved",
                     name="另一个", mode="线下", start_at=a.start_at, end_at=a.end_at)
    db.session.add(other)
    db.session.commit()
    resp = client.post(f"/science-day/activities/{other.id}/supplement/files/{photo.id}/delete")
    assert resp.status_code == 404
    assert attached(a, "effect_photo")
    auth.login_as(sp["other"])
    assert client.post(url(a, f"/files/{photo.id}/delete")).status_code == 404
    assert attached(a, "effect_photo")


def test_unknown_upload_field_is_404(client, auth, sp):
    auth.login_as(sp["owner"])
    resp = upload(client, sp["a"], "poster", ("p.png", png_bytes()))
    assert resp.status_code == 404


# --- xlsx template and import ------------------------------------------------------------

def post_xlsx(client, a, raw, name="名单.xlsx"):
    return client.post(url(a, "/scientists-import"), data={
        "scientists_file": (io.BytesIO(raw), name)}, content_type="multipart/form-data")


def test_template_download(client, auth, sp):
    auth.login_as(sp["owner"])
    resp = client.get(url(sp["a"], "/scientists.xlsx"))
    assert resp.status_code == 200 and "spreadsheetml" in resp.headers["Content-Type"]
    wb = load_workbook(io.BytesIO(resp.data))
    assert [c.value for c in wb.worksheets[0][1]] == ["姓名", "手机号", "单位", "职务/职称"]
    assert wb.worksheets[0].max_row == 1          # filled rows start at row 2
    # the template itself, filled in, imports
    ws = wb.worksheets[0]
    ws.append(["张三", "13800138000", "某所", "研究员"])
    buf = io.BytesIO()
    wb.save(buf)
    assert post_xlsx(client, sp["a"], buf.getvalue()).status_code == 303
    assert [s.name for s in scientists(sp["a"])] == ["张三"]


def test_import_appends_good_rows(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["owner"])
    client.post(url(a), data=form(a, **sci([("已有", "13600136000")])))
    v = version(a)
    resp = post_xlsx(client, a, xlsx_bytes([("张三", 13800138000, "某研究所", "研究员"),
                                            (None, None, None, None),
                                            ("李四", "+86 139 0013 9000", "某大学", "")]))
    assert resp.status_code == 303
    assert [(s.name, s.phone, s.position) for s in scientists(a)] == [
        ("已有", "13600136000", 0), ("张三", "13800138000", 1), ("李四", "13900139000", 2)]
    assert version(a) == v + 1          # a page rendered before the import is stale
    assert "已导入2位科技工作者" in text(client.get(url(a)))


def test_import_reports_every_bad_row_and_imports_nothing(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["owner"])
    client.post(url(a), data=form(a, **sci([("已有", "13600136000")])))
    resp = post_xlsx(client, a, xlsx_bytes([
        ("张三", "13800138000", "某所", ""),       # row 2: fine
        ("", "13900139000", "", ""),               # row 3: no name
        ("王五", "1234", "", ""),                   # row 4: bad phone
        ("赵六", "13800138000", "", ""),           # row 5: duplicate of row 2
        ("钱七", "13600136000", "", ""),           # row 6: already in the list
    ]))
    assert resp.status_code == 422
    body = text(resp)
    assert "名单未导入" in body
    assert "第3行：请填写姓名" in body
    assert "第4行：手机号格式不正确" in body
    assert "第5行：手机号 13800138000 与第2行重复" in body
    assert "第6行：手机号 13600136000 已在名单中" in body
    assert "<li>第2行" not in body
    assert [s.name for s in scientists(a)] == ["已有"]


def test_import_refuses_more_than_100(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["owner"])
    client.post(url(a), data=form(a, **sci([("已有", "13600136000")])))
    rows = [(f"专家{i}", f"1380000{i:04d}", "", "") for i in range(100)]
    resp = post_xlsx(client, a, xlsx_bytes(rows))
    assert resp.status_code == 422
    assert "名单最多100人：现有1人，文件中100人，导入后将超过100人" in text(resp)
    assert len(scientists(a)) == 1
    assert post_xlsx(client, a, xlsx_bytes(rows[:99])).status_code == 303
    assert len(scientists(a)) == 100


@pytest.mark.parametrize("raw,name,message", [
    (b"name,phone\n", "名单.csv", "只支持 .xlsx 格式"),
    (b"PK\x03\x04 broken", "名单.xlsx", "无法读取此文件"),
    (b"plain text", "名单.xlsx", "无法读取此文件"),
    (None, "名单.xlsx", "表头不符合模板"),
    (b"", "名单.xlsx", "文件为空"),
])
def test_import_refuses_unreadable_files(client, auth, sp, raw, name, message):
    if raw is None:
        raw = xlsx_bytes([("张三", "13800138000")], header=("名字", "电话"))
    auth.login_as(sp["owner"])
    resp = post_xlsx(client, sp["a"], raw, name)
    assert resp.status_code == 422 and message in text(resp)
    assert not scientists(sp["a"])


def test_import_without_a_file(client, auth, sp):
    auth.login_as(sp["owner"])
    resp = client.post(url(sp["a"], "/scientists-import"), data={},
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and "请选择填写好的名单文件" in text(resp)


# --- settings ---------------------------------------------------------------------------

def test_photo_and_video_sizes_are_on_the_edition_settings_form(app):
    from kepu.science_day.admin_forms import SettingsForm

    assert hasattr(SettingsForm, "limit_photo_mb") and hasattr(SettingsForm, "limit_video_mb")
    from kepu.science_day.settings import DEFAULTS

    assert DEFAULTS["limits"]["photo_mb"] == 10 and DEFAULTS["limits"]["video_mb"] == 200


def test_the_completeness_panel_turns_complete_for_the_supplement(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["owner"])
    client.post(url(a), data=form(a, media_title=["报道"], media_url=["https://a.cn/x"],
                                  participants_offline="80", participants_online="150"))
    upload(client, a, "effect_photo", *[(f"p{i}.png", png_bytes()) for i in range(3)])
    upload(client, a, "participant_photo", ("e.png", png_bytes()))
    c = db.session.get(Activity, a.id).completeness()
    assert c.section_ok("supplement") and all(n.ok for n in c.notes)
    page = text(client.get(url(a)))
    assert re.search(r'data-item="photos"', page)
    assert not re.search(r'class="missing" data-item="(media|photos|videos|participants|'
                         r'participant_photos)"', page)


def test_an_oversized_import_file_is_refused(client, auth, sp):
    auth.login_as(sp["owner"])
    resp = post_xlsx(client, sp["a"], b"PK\x03\x04" + b"\0" * (3 * 1024 * 1024))
    assert resp.status_code == 422 and "文件大小不能超过2MB" in text(resp)
    resp = post_xlsx(client, sp["a"], b"PK\x03\x04" + b"\0" * (7 * 1024 * 1024))
    assert resp.status_code == 413 and "文件过大" in text(resp)   # refused before reading
    assert not scientists(sp["a"])


def test_the_activity_forms_files_cannot_be_deleted_here(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["owner"])
    poster = StoredFile(owner_id=sp["owner"].id, field=f"science_day:{a.campaign_id}:poster",
                        original_name="poster.png", stored_name="x" * 32, ext="png",
                        content_type="image/png", size=10, sha256="0" * 64,
                        entity_type="activity", entity_id=a.id)
    db.session.add(poster)
    db.session.commit()
    resp = client.post(url(a, f"/files/{poster.id}/delete"))
    assert resp.status_code == 404 and "文件不存在或已删除" in text(resp)
    db.session.expire_all()
    assert db.session.get(StoredFile, poster.id) is not None


def test_nothing_changes_after_the_window_closes(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["owner"])
    upload(client, a, "effect_photo", ("p.png", png_bytes()))
    client.post(url(a), data=form(a, **sci([("张三", "13800138000")])))
    (photo,) = attached(a, "effect_photo")
    set_settings(sp["campaign"], windows={**OPEN["windows"], "supplement": {
        "open": "2020-01-01 00:00", "close": "2021-10-14 23:59:59"}})
    assert client.post(url(a, f"/files/{photo.id}/delete")).status_code == 403
    assert attached(a, "effect_photo")
    resp = post_xlsx(client, a, xlsx_bytes([("李四", "13900139000")]))
    assert resp.status_code == 403 and [s.name for s in scientists(a)] == ["张三"]
    page = text(client.get(url(a)))
    assert "disabled" in page and 'id="save-supplement"' not in page
    assert "导入名单" not in page.split('id="sci-import"')[1].split("</section>")[0] \
        .replace("用表格导入科技工作者名单", "")
    # the template can still be downloaded, and the stored list is still shown
    assert client.get(url(a, "/scientists.xlsx")).status_code == 200
    assert 'value="张三"' in page


def test_admins_edit_the_photo_and_video_sizes(client, auth, make_user):
    from kepu.science_day.operations import editions as edition_ops
    from kepu.science_day.settings import ScienceDaySettings
    from test_admin_editions import form_data, settings_url

    campaign, _ = edition_ops.ensure_edition(2026)
    db.session.commit()
    auth.login_as(make_user("13900000803", roles=["platform_admin"]))
    page = text(client.get(settings_url(campaign)))
    assert "补充信息照片大小（MB）" in page and "活动短视频大小（MB）" in page
    resp = client.post(settings_url(campaign), data=form_data(campaign, limit_video_mb="500"))
    assert resp.status_code == 422
    resp = client.post(settings_url(campaign), data=form_data(
        campaign, limit_photo_mb="5", limit_video_mb="100"))
    assert resp.status_code == 303, text(resp)[:500]
    db.session.expire_all()
    s = ScienceDaySettings(db.session.get(Campaign, campaign.id))
    assert (s.limit("photo_mb"), s.limit("video_mb")) == (5, 100)


def test_saving_the_list_keeps_the_rows_of_listed_phones(client, auth, sp):
    a = sp["a"]
    auth.login_as(sp["owner"])
    client.post(url(a), data=form(a, **sci([("张三", "13800138000"), ("李四", "13900139000")])))
    before = {s.phone: (s.id, s.created_at) for s in scientists(a)}
    resp = client.post(url(a), data=form(a, **sci([
        ("李四", "13900139000", "某大学", "教授"), ("王五", "13700137000"),
        ("张三（改）", "138 0013 8000")])))
    assert resp.status_code == 303
    rows = scientists(a)
    assert [(s.name, s.phone, s.position) for s in rows] == [
        ("李四", "13900139000", 0), ("王五", "13700137000", 1),
        ("张三（改）", "13800138000", 2)]
    after = {s.phone: (s.id, s.created_at) for s in rows}
    assert after["13800138000"] == before["13800138000"]
    assert after["13900139000"] == before["13900139000"]
    client.post(url(a), data=form(a, **sci([("王五", "13700137000")])))
    assert [s.name for s in scientists(a)] == ["王五"]


def test_an_unreadable_size_setting_falls_back_to_the_default(client, auth, sp):
    set_settings(sp["campaign"], limits={"photo_mb": "十", "video_mb": None})
    auth.login_as(sp["owner"])
    page = text(client.get(url(sp["a"])))
    assert "单个最大10MB" in page and "单个最大200MB" in page
    assert upload(client, sp["a"], "effect_photo", ("p.png", png_bytes())).status_code == 303
