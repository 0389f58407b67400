"""Errors on the works form tell the truth: once a step has been checked (下一步 or
确认提交 found problems), every autosave answers with each field's current error, so an
error goes as soon as its field is valid and the summary banner goes with the last one.
Before the step is checked, autosave reports only values it could not store."""
from __future__ import annotations

import re

from test_works_apply_support import (applicant, attach_required_files, autosave,  # noqa: F401
                                      filled_draft, new_draft, post_step, step1_values,
                                      step2_values, url)


def slot(html: str, name: str) -> str:
    """The content of a field's out-of-band error slot in an autosave answer."""
    m = re.search(r'<div class="store-slot" id="store-' + name + r'"[^>]*hx-swap-oob="true">(.*?)</div>',
                  html, re.S)
    assert m, f"no slot for {name}"
    return m.group(1)


def summary(html: str) -> str:
    m = re.search(r'<div class="error-summary" id="error-summary"[^>]*>(.*?)\n?</div>', html, re.S)
    assert m, "no error summary"
    return m.group(0)


def checked(html: str) -> bool:
    return '<input type="hidden" name="check" value="1">' in html


def test_next_with_errors_lists_them_at_the_top_and_marks_the_step_checked(client, wc, applicant):
    work = new_draft(wc)
    r = post_step(client, work, 1, "next", step1_values(title="", category=""))
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and checked(html)
    top = summary(html)
    assert 'href="#title"' in top and "请填写作品名称" in top
    assert 'href="#category"' in top
    assert 'href="#upload-cover-input"' in top and 'href="#upload-work_files-input"' in top
    # in form order: 作品名称 before 作品分类 before the uploads
    order = [m for m in re.findall(r'href="#([^"]+)"', top)]
    assert order.index("title") < order.index("category") < order.index("upload-cover-input")
    # the error also stays next to its field, and the slot for later updates is there
    assert re.search(r'<p class="error" id="title-error" role="alert">请填写作品名称</p>', html)
    assert 'id="store-title" data-error-for="title"' in html
    # ?check=1 (确认提交 sent the applicant back here) marks it checked too
    assert checked(client.get(url(work, 1) + "?check=1").get_data(as_text=True))
    assert not checked(client.get(url(work, 1)).get_data(as_text=True))


def test_autosave_of_a_checked_step_clears_fixed_errors_and_keeps_the_others(client, wc,
                                                                            applicant):
    work = new_draft(wc)
    r = autosave(client, work, 1, dict(step1_values(title="量子计算入门", category=""), check="1"))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "已保存" in html
    assert slot(html, "title") == ""                      # fixed: the error goes
    assert "请选择作品分类" in slot(html, "category")      # still wrong: stays
    assert 'id="category-error"' in slot(html, "category")
    # the uploads' error boxes tell the truth too
    cover = re.search(r'<div class="upload-error" id="upload-cover-error"[^>]*>(.*?)</div>',
                      html, re.S)
    assert cover and "请上传作品封面" in cover.group(1) and 'hx-swap-oob="true"' in cover.group(0)
    top = summary(html)
    assert "请填写作品名称" not in top and "请选择作品分类" in top
    assert 'role="alert"' not in top  # an update is not announced again


def test_the_banner_goes_with_the_last_error(client, wc, applicant):
    work = new_draft(wc)
    attach_required_files(wc, work)
    r = autosave(client, work, 1, dict(step1_values(), check="1"))
    html = r.get_data(as_text=True)
    top = summary(html)
    assert " hidden" in top.split(">")[0] and "<li>" not in top
    for name in ("title", "work_type", "category", "intro"):
        assert slot(html, name) == ""
    assert re.search(r'<div class="upload-error" id="upload-cover-error"[^>]*hidden', html)


def test_a_field_made_invalid_after_the_check_shows_its_error(client, wc, applicant):
    work = new_draft(wc)
    html = autosave(client, work, 1, dict(step1_values(title=""), check="1")).get_data(as_text=True)
    assert "请填写作品名称" in slot(html, "title")


def test_autosave_before_the_check_reports_only_what_could_not_be_stored(client, wc, applicant):
    work = new_draft(wc)
    html = autosave(client, work, 1, step1_values(title="", category="")).get_data(as_text=True)
    assert slot(html, "title") == "" and slot(html, "category") == ""
    assert "upload-cover-error" not in html  # the upload boxes are left alone
    assert "<li>" not in summary(html)


def test_step2_channel_and_media_errors_follow_the_fields(client, wc, applicant):
    work = filled_draft(wc, step=2)
    data = dict(step2_values(wc, unit_type="", channel_id="",
                             media_title=["报道", "", ""], media_url=["not a url", "", ""]),
                check="1")
    html = autosave(client, work, 2, data).get_data(as_text=True)
    assert "请选择申报单位类型" in slot(html, "unit_type")
    assert "链接格式不正确" in slot(html, "media_reports")
    assert 'data-controls="#media_reports-field [data-media-input]"' in html
    data = dict(step2_values(wc), check="1")
    html = autosave(client, work, 2, data).get_data(as_text=True)
    assert slot(html, "unit_type") == "" and slot(html, "media_reports") == ""
    assert "<li>" not in summary(html)


def test_a_plain_post_without_javascript_shows_the_same_truth(client, wc, applicant):
    """No autosave without JavaScript: 下一步 checks again and shows what is left."""
    work = new_draft(wc)
    post_step(client, work, 1, "next", step1_values(title=""))
    attach_required_files(wc, work)
    r = post_step(client, work, 1, "next", step1_values())
    assert r.status_code == 303 and r.headers["Location"].endswith(url(work, 2))
