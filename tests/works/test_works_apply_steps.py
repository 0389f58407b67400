"""Applicant steps: start, field rules (limits at N and N+1, required, formats), channel,
files (whitelist, size, per-edition limits), what the pages show."""
from __future__ import annotations

import io
import os

import pytest
from test_works_apply_support import (HX, PDF_BYTES, applicant, attach_required_files,  # noqa: F401
                                      filled_draft, fresh, new_draft, png_bytes, post_step,
                                      set_settings, step1_values, step2_values, url)

from kepu.extensions import db
from kepu.files.models import StoredFile
from kepu.files.operations import files_for
from kepu.files.validation import MISMATCH_MESSAGE
from kepu.works.files import field_name
from kepu.works.models import Work

pytestmark = pytest.mark.usefixtures("applicant")


# ------------------------------------------------------------------ start

def test_new_shows_start_page_and_post_creates_draft(client, wc):
    r = client.get("/works/new")
    assert r.status_code == 200
    assert "开始填写" in r.text and "暂存草稿" in r.text
    r = client.post("/works/new")
    assert r.status_code == 303
    work = db.session.scalar(db.select(Work))
    assert r.headers["Location"].endswith(f"/works/{work.id}/step/1")
    assert work.status == "draft" and work.owner_id == wc.applicant.id
    assert work.campaign_id == wc.campaign.id and work.version == 1
    # pre-filled from the profile
    assert work.contact_phone == wc.applicant.phone


def test_new_refused_when_window_closed(client, wc):
    set_settings(wc, window_close="2021-01-01 00:00")
    r = client.get("/works/new")
    assert r.status_code == 403
    assert "已于 2021-01-01 00:00 截止" in r.text
    assert "开始填写" not in r.text
    r = client.post("/works/new")
    assert r.status_code == 403
    assert db.session.scalar(db.select(db.func.count(Work.id))) == 0


def test_new_404_without_campaign(client, wc):
    db.session.delete(wc.campaign)
    db.session.commit()
    assert client.get("/works/new").status_code == 404


def test_new_requires_login(client, wc, auth):
    auth.logout()
    r = client.get("/works/new")
    assert r.status_code == 302 and "/account/login" in r.headers["Location"]


# ------------------------------------------------------------------ what the steps show

def test_step1_page(client, wc):
    work = new_draft(wc)
    r = client.get(url(work, 1))
    assert r.status_code == 200
    html = r.text
    for text in ("1", "基本信息", "补充信息", "预览", "作品名称", "作品类型", "作品分类",
                 "作品简介", "作品封面（主图）", "封面副图", "作品文件", "点击上传",
                 "支持多个文件，单个最大100MB", "暂存草稿", "下一步", "0</span> / 50"):
        assert text in html, text
    assert 'aria-current="step"' in html
    for t in ("科普视频", "科普演讲稿"):
        assert f'<option value="{t}">' in html
    assert f'hx-post="/works/{work.id}/autosave"' in html
    assert 'name="version" value="1"' in html
    assert "上一步" not in html


def test_step2_page_labels_hints_counter_channel_help(client, wc):
    work = new_draft(wc)
    html = client.get(url(work, 2)).text
    for text in ("作者姓名", "请填写身份证上的姓名", "申报单位", "单位地址", "联系人", "联系电话",
                 "电子邮箱", "职务/职称", "申报单位类型", "推荐渠道",
                 "如果未找到推荐单位，请联系推荐渠道咨询", "推荐渠道未显示的处理办法",
                 "暂无推荐单位的【其他主体】申报用户，可联系本省省级科协作为推荐渠道",
                 "请提炼出作品最核心的亮点与价值", "字数要求3000字以内", "0</span> / 3000",
                 "相关媒体报道名称和链接", "篇幅控制在3篇以内", "0</span> / 300", "获奖情况",
                 "请注明最高级别的奖项，需上传证明材料", "0</span> / 500", "获奖情况附件",
                 ".jpg、.jpeg、.png、.pdf、.doc、.docx、.wps、.ppt、.pptx、.xls、.xlsx、.zip、.mp4",
                 "上一步", "暂存草稿", "下一步", "刷新推荐渠道列表"):
        assert text in html, text
    assert html.count('name="media_title"') == 3
    # required marks on the seed's starred fields, not on the optional ones
    for label in ("作者姓名", "申报单位", "单位地址", "联系电话", "申报单位类型", "推荐渠道", "亮点总结"):
        assert f'<span class="req" aria-hidden="true">*</span> {label}</label>' in html, label
    for label in ("联系人", "电子邮箱", "职务/职称"):
        assert f'<span class="req" aria-hidden="true">*</span> {label}</label>' not in html


def test_highlights_counter_follows_setting(client, wc):
    set_settings(wc, limits={"highlights": 2000})
    work = new_draft(wc)
    html = client.get(url(work, 2)).text
    assert "0</span> / 2000" in html and "字数要求2000字以内" in html


def test_step_out_of_range_404(client, wc):
    work = new_draft(wc)
    assert client.get(f"/works/{work.id}/step/4").status_code == 404
    assert client.get(f"/works/{work.id}/step/0").status_code == 404


# ------------------------------------------------------------------ step 1 rules

def _next1(client, wc, work, **overrides):
    return post_step(client, work, 1, "next", step1_values(**overrides))


def test_step1_valid_moves_to_step2(client, wc):
    work = new_draft(wc)
    attach_required_files(wc, work)
    r = _next1(client, wc, work, title="题" * 50, intro="简" * 500)
    assert r.status_code == 303 and r.headers["Location"].endswith(url(work, 2))
    w = fresh(work)
    assert w.step == 2 and w.title == "题" * 50 and len(w.intro) == 500


@pytest.mark.parametrize("name,limit", [("title", 50), ("intro", 500)])
def test_step1_length_limit_plus_one_refused_but_saved(client, wc, name, limit):
    work = new_draft(wc)
    attach_required_files(wc, work)
    value = "字" * (limit + 1)
    r = _next1(client, wc, work, **{name: value})
    assert r.status_code == 422
    label = {"title": "作品名称", "intro": "作品简介"}[name]
    assert f"{label}不能超过{limit}字（当前{limit + 1}字）" in r.text
    assert value in r.text  # the typed value is kept in the form
    assert 'aria-invalid="true"' in r.text
    w = fresh(work)
    assert getattr(w, name) == value  # the draft keeps it
    assert w.step == 1


def test_step1_newlines_count_as_one_character(client, wc):
    work = new_draft(wc)
    attach_required_files(wc, work)
    intro = "\r\n".join(["行"] * 250)  # 250 chars + 249 CRLF = 499 as the browser counts
    r = _next1(client, wc, work, intro=intro)
    assert r.status_code == 303
    assert fresh(work).intro == intro.replace("\r\n", "\n")


def test_step1_required_fields_and_files(client, wc):
    work = new_draft(wc)
    r = post_step(client, work, 1, "next", {"title": " ", "work_type": "", "category": "",
                                            "intro": ""})
    assert r.status_code == 422
    for msg in ("请填写作品名称", "请选择作品类型", "请选择作品分类", "请填写作品简介",
                "请上传作品封面（主图）", "请上传作品文件"):
        assert msg in r.text, msg
    assert fresh(work).step == 1


def test_step1_unknown_type_refused(client, wc):
    work = new_draft(wc)
    attach_required_files(wc, work)
    r = _next1(client, wc, work, work_type="黑客工具")
    assert r.status_code == 422 and "请从列表中选择作品类型" in r.text
    assert "黑客工具（已停用，请重新选择）" in r.text  # kept and visible


def test_title_too_long_for_database_not_stored_and_said_next_to_field(client, wc):
    work = new_draft(wc, title="原标题")
    value = "长" * 201
    r = post_step(client, work, 1, "save", step1_values(title=value, intro="新简介"))
    assert r.status_code == 422
    assert "作品名称过长（201字，最多可保存200字），本项未能保存" in r.text
    assert value in r.text
    w = fresh(work)
    assert w.title == "原标题"  # not stored (the column holds 200)
    assert w.intro == "新简介"  # the rest is saved


# ------------------------------------------------------------------ step 2 rules

def _next2(client, wc, work, **overrides):
    return post_step(client, work, 2, "next", step2_values(wc, **overrides))


def test_step2_valid_moves_to_preview(client, wc):
    work = filled_draft(wc, step=2)
    r = _next2(client, wc, work, highlights="亮" * 3000, awards="",
               media_title=["人民日报报道", "", ""], media_url=["https://www.people.com.cn/a", "", ""])
    assert r.status_code == 303 and r.headers["Location"].endswith(url(work, 3))
    w = fresh(work)
    assert w.step == 3 and len(w.highlights) == 3000 and w.channel_id == wc.unit.id
    assert w.media_reports == [{"title": "人民日报报道", "url": "https://www.people.com.cn/a"}]


@pytest.mark.parametrize("name,limit,label", [("highlights", 3000, "亮点总结"),
                                              ("awards", 500, "获奖情况")])
def test_step2_length_limits(client, wc, name, limit, label):
    work = filled_draft(wc, step=2)
    award = wc.upload(wc.applicant, "award_file", PDF_BYTES, "证书.pdf")
    ok = _next2(client, wc, work, **{name: "字" * limit}, award_files=[str(award.id)])
    assert ok.status_code == 303
    work.step = 2
    db.session.commit()
    r = _next2(client, wc, work, **{name: "字" * (limit + 1)}, award_files=[str(award.id)])
    assert r.status_code == 422
    assert f"{label}不能超过{limit}字（当前{limit + 1}字）" in r.text
    assert len(getattr(fresh(work), name)) == limit + 1


def test_step2_required(client, wc):
    work = new_draft(wc)
    r = post_step(client, work, 2, "next", {
        "author_name": "", "applicant_unit": "", "unit_address": "", "contact_name": "",
        "contact_phone": "", "email": "", "job_title": "", "unit_type": "", "channel_id": "",
        "highlights": "", "awards": "", "media_title": ["", "", ""], "media_url": ["", "", ""]})
    assert r.status_code == 422
    for msg in ("请填写作者姓名", "请填写申报单位", "请填写单位地址", "请填写联系电话",
                "请选择申报单位类型", "请填写亮点总结"):
        assert msg in r.text, msg
    assert "请填写联系人" not in r.text


def test_step2_phone_and_email_format(client, wc):
    work = filled_draft(wc, step=2)
    r = _next2(client, wc, work, contact_phone="12345", email="not-an-email")
    assert r.status_code == 422
    assert "联系电话格式不正确" in r.text and "电子邮箱格式不正确" in r.text
    assert _next2(client, wc, work, contact_phone="010-68524993").status_code == 303


def test_step2_channel_must_match_unit_type(client, wc):
    work = filled_draft(wc, step=2)
    r = _next2(client, wc, work, unit_type="全国学会")  # Beijing 科协 is a 省级科协
    assert r.status_code == 422 and "所选推荐渠道与申报单位类型不符" in r.text
    r = _next2(client, wc, work, channel_id="")
    assert r.status_code == 422 and "请选择推荐渠道" in r.text
    # an org that is not a recommender unit (no admin) is refused too
    from kepu.orgs.models import Org
    lonely = Org(name="天津市科学技术协会", kind="省级科协", region_code="12")
    db.session.add(lonely)
    db.session.commit()
    r = _next2(client, wc, work, channel_id=str(lonely.id))
    assert r.status_code == 422 and "所选推荐渠道与申报单位类型不符" in r.text


def test_step2_channel_refresh_saves_and_rerenders(client, wc):
    work = new_draft(wc)
    data = step2_values(wc, unit_type="高校科协", channel_id="", highlights="先写一半")
    r = post_step(client, work, 2, "channels", data)
    assert r.status_code == 303 and url(work, 2) in r.headers["Location"]
    w = fresh(work)
    assert w.unit_type == "高校科协" and w.highlights == "先写一半"
    html = client.get(url(work, 2)).text
    assert "推荐渠道类别：<strong>省级科协</strong>" in html
    assert f'<option value="{wc.unit.id}">北京市科学技术协会</option>' in html


def test_media_more_than_three_items(client, wc):
    work = filled_draft(wc, step=2)
    titles = ["报道一", "报道二", "报道三", "报道四"]
    urls = [f"https://news.example.com/{i}" for i in range(4)]
    r = _next2(client, wc, work, media_title=titles, media_url=urls)
    assert r.status_code == 422
    assert "相关媒体报道最多填写3篇（当前4篇）" in r.text
    assert len(fresh(work).media_reports) == 4  # stored, shown, nothing lost
    assert "报道四" in r.text and r.text.count('name="media_title"') == 4


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "www.example.com/a", "ftp://x.com/a",
                                 "http://exa mple.com"])
def test_media_bad_url(client, wc, bad):
    work = filled_draft(wc, step=2)
    r = _next2(client, wc, work, media_title=["报道", "", ""], media_url=[bad, "", ""])
    assert r.status_code == 422
    assert "第1篇报道的链接格式不正确" in r.text


def test_media_name_and_link_both_needed(client, wc):
    work = filled_draft(wc, step=2)
    r = _next2(client, wc, work, media_title=["", "", ""], media_url=["https://a.example.com", "", ""])
    assert r.status_code == 422 and "请填写第1篇报道的名称" in r.text


def test_media_total_length(client, wc):
    work = filled_draft(wc, step=2)
    url_ = "https://news.example.com/a"          # 26 characters
    ok_title = "名" * (300 - len(url_))          # exactly 300 together
    assert _next2(client, wc, work, media_title=[ok_title, "", ""],
                  media_url=[url_, "", ""]).status_code == 303
    work.step = 2
    db.session.commit()
    r = _next2(client, wc, work, media_title=[ok_title + "名", "", ""], media_url=[url_, "", ""])
    assert r.status_code == 422
    assert "相关媒体报道名称和链接合计不能超过300字（当前301字）" in r.text


def test_awards_need_a_proof_file(client, wc):
    work = filled_draft(wc, step=2)
    r = _next2(client, wc, work, awards="2024年全国优秀科普作品一等奖")
    assert r.status_code == 422 and "填写了获奖情况时，请上传获奖证明材料" in r.text


# ------------------------------------------------------------------ files

def _noise_png(min_bytes: int) -> bytes:
    from PIL import Image

    side = 300
    while True:
        img = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
        buf = io.BytesIO()
        img.save(buf, "PNG")
        if buf.tell() > min_bytes:
            return buf.getvalue()
        side += 200


def test_no_js_upload_in_step_post_attaches_files(client, wc):
    work = new_draft(wc)
    data = step1_values()
    data["cover__upload"] = (io.BytesIO(png_bytes()), "封面.png")
    data["work_files__upload"] = [(io.BytesIO(PDF_BYTES), "a.pdf"), (io.BytesIO(PDF_BYTES), "b.pdf")]
    r = post_step(client, work, 1, "next", data)
    assert r.status_code == 303, r.text
    cover = files_for("work", work.id, field_name(wc.campaign.id, "cover"))
    wfs = files_for("work", work.id, field_name(wc.campaign.id, "work_file"))
    assert [f.original_name for f in cover] == ["封面.png"]
    assert sorted(f.original_name for f in wfs) == ["a.pdf", "b.pdf"]


def test_widget_upload_is_claimed_on_save(client, wc):
    work = new_draft(wc)
    r = client.post("/files/upload", headers=HX, data={
        "field": field_name(wc.campaign.id, "work_file"), "target": "work_files",
        "work_files__upload": (io.BytesIO(PDF_BYTES), "讲稿.pdf")})
    assert r.status_code == 200 and 'name="work_files"' in r.text
    stored = db.session.scalar(db.select(StoredFile.id))
    assert post_step(client, work, 1, "save", step1_values(work_files=[str(stored)])).status_code == 303
    assert [f.original_name for f in files_for("work", work.id)] == ["讲稿.pdf"]
    # another user cannot claim it into their own work
    other = new_draft(wc, owner=wc.other_applicant)
    from kepu.files.operations import claim_uploads
    assert claim_uploads([stored], wc.other_applicant, field_name(wc.campaign.id, "work_file"),
                         "work", other.id) == []


def test_new_cover_replaces_old_one(client, wc):
    work = new_draft(wc)
    cover, _ = attach_required_files(wc, work)
    data = step1_values(cover=[str(cover.id)])
    data["cover__upload"] = (io.BytesIO(png_bytes(50, 50)), "新封面.png")
    assert post_step(client, work, 1, "save", data).status_code == 303
    covers = files_for("work", work.id, field_name(wc.campaign.id, "cover"))
    assert [f.original_name for f in covers] == ["新封面.png"]


@pytest.mark.parametrize("target,name,data,message", [
    ("work_files", "tool.exe", b"MZ\x90\x00" + b"0" * 100, "不支持的文件格式"),
    ("cover", "cover.pdf", PDF_BYTES, "不支持的文件格式，仅支持：.jpg、.jpeg、.png"),
    ("cover", "fake.png", PDF_BYTES, MISMATCH_MESSAGE),
])
def test_step1_file_whitelist(client, wc, target, name, data, message):
    work = new_draft(wc)
    payload = step1_values(title="保留的标题")
    payload[f"{target}__upload"] = (io.BytesIO(data), name)
    r = post_step(client, work, 1, "save", payload)
    assert r.status_code == 422
    assert message in r.text
    assert "保留的标题" in r.text and fresh(work).title == "保留的标题"
    assert files_for("work", work.id) == []


def test_award_file_whitelist(client, wc):
    work = new_draft(wc)
    payload = step2_values(wc)
    payload["award_files__upload"] = (io.BytesIO(b"hello"), "证书.txt")
    r = post_step(client, work, 2, "save", payload)
    assert r.status_code == 422
    assert "不支持的文件格式，仅支持：.jpg" in r.text
    payload["award_files__upload"] = (io.BytesIO(PDF_BYTES), "证书.pdf")
    assert post_step(client, work, 2, "save", payload).status_code == 303
    assert [f.original_name for f in files_for("work", work.id)] == ["证书.pdf"]


@pytest.mark.parametrize("limit_key,target,step,make", [
    ("work_file_mb", "work_files", 1, lambda: PDF_BYTES + b"0" * (1024 * 1024 + 10)),
    ("award_file_mb", "award_files", 2, lambda: PDF_BYTES + b"0" * (1024 * 1024 + 10)),
    ("cover_mb", "cover", 1, lambda: _noise_png(1024 * 1024 + 10)),
])
def test_edition_size_limits(client, wc, limit_key, target, step, make):
    set_settings(wc, limits={limit_key: 1})
    work = new_draft(wc)
    payload = step1_values() if step == 1 else step2_values(wc)
    ext = "png" if target == "cover" else "pdf"
    payload[f"{target}__upload"] = (io.BytesIO(make()), f"big.{ext}")
    r = post_step(client, work, step, "save", payload)
    assert r.status_code == 422
    assert "文件大小不能超过1MB" in r.text
    assert files_for("work", work.id) == []
    # the widget path uses the same per-edition limit
    r = client.post("/files/upload", headers=HX, data={
        "field": field_name(wc.campaign.id, target if target == "cover" else target[:-1]),
        "target": target, f"{target}__upload": (io.BytesIO(make()), f"big.{ext}")})
    assert r.status_code == 422 and "文件大小不能超过1MB" in r.text


def test_work_files_max_count(client, wc):
    set_settings(wc, limits={"work_files_max": 2})
    work = new_draft(wc)
    ids = [str(wc.upload(wc.applicant, "work_file", PDF_BYTES, f"{i}.pdf").id) for i in range(3)]
    r = post_step(client, work, 1, "save", step1_values(work_files=ids))
    assert r.status_code == 422
    assert "最多上传2个文件，以下文件未保存：2.pdf" in r.text
    assert len(files_for("work", work.id)) == 2
