"""Drafts: autosave, 暂存草稿 / 上一步 / 下一步 record the step, resume after login,
two tabs (stale version refused, nothing overwritten)."""
from __future__ import annotations

import re

import pytest
from test_works_apply_support import (applicant, autosave, filled_draft, fresh,  # noqa: F401
                                      new_draft, post_step, set_settings, step1_values,
                                      step2_values, url)

from kepu.extensions import db


def test_autosave_stores_everything_and_bumps_version(client, wc, applicant):
    work = new_draft(wc)
    r = autosave(client, work, 1, step1_values(title="标" * 60, work_type="不存在的类型",
                                               intro="半句话"))
    assert r.status_code == 200
    assert "已保存" in r.text
    assert 'id="draft-version" name="version" value="2" hx-swap-oob="true"' in r.text
    w = fresh(work)
    assert w.version == 2 and w.step == 1
    assert w.title == "标" * 60          # over the 50 limit, still stored (checked at 下一步)
    assert w.work_type == "不存在的类型" and w.intro == "半句话"


def test_autosave_step2_media_and_channel(client, wc, applicant):
    work = new_draft(wc)
    data = step2_values(wc, media_title=["报道", "", ""], media_url=["not a url", "", ""],
                        channel_id=str(wc.other_unit.id), unit_type="全国学会")
    r = autosave(client, work, 2, data)
    assert r.status_code == 200
    w = fresh(work)
    assert w.step == 2 and w.version == 2
    assert w.media_reports == [{"title": "报道", "url": "not a url"}]
    assert w.channel_id == wc.other_unit.id and w.unit_type == "全国学会"
    html = client.get(url(work, 2)).text
    assert 'value="not a url"' in html  # shown again, nothing lost


def test_autosave_reports_value_too_long_to_store_next_to_field(client, wc, applicant):
    work = new_draft(wc, title="旧标题")
    r = autosave(client, work, 1, step1_values(title="长" * 201, intro="新的简介"))
    assert r.status_code == 200
    assert "作品名称过长" in r.text and "autosave-conflict" in r.text
    # an out-of-band message into the slot under the field
    assert re.search(r'id="store-title"[^>]*hx-swap-oob="true"><p class="error" id="title-error" '
                     r'role="alert">作品名称过长', r.text)
    assert re.search(r'id="store-intro"[^>]*hx-swap-oob="true"></div>', r.text)
    w = fresh(work)
    assert w.title == "旧标题" and w.intro == "新的简介" and w.version == 2


def test_autosave_unknown_channel_not_stored(client, wc, applicant):
    work = new_draft(wc)
    r = autosave(client, work, 2, step2_values(wc, channel_id="999999"))
    assert r.status_code == 200 and "所选推荐渠道不存在" in r.text
    assert fresh(work).channel_id is None


def test_partial_post_does_not_blank_other_fields(client, wc, applicant):
    work = new_draft(wc, title="标题", intro="简介")
    assert autosave(client, work, 1, {"title": "新标题"}).status_code == 200
    w = fresh(work)
    assert w.title == "新标题" and w.intro == "简介"


def test_autosave_ignores_fields_of_other_steps(client, wc, applicant):
    work = new_draft(wc, title="标题")
    assert autosave(client, work, 2, {"title": "偷偷改", "author_name": "张三"}).status_code == 200
    w = fresh(work)
    assert w.title == "标题" and w.author_name == "张三"


def test_autosave_bad_step_400(client, wc, applicant):
    work = new_draft(wc)
    assert autosave(client, work, 7, {}).status_code == 400


def test_save_draft_button_keeps_step_and_flashes(client, wc, applicant):
    work = new_draft(wc)
    r = post_step(client, work, 2, "save", step2_values(wc, highlights="写到一半"))
    assert r.status_code == 303 and r.headers["Location"].endswith(url(work, 2))
    assert "草稿已保存" in client.get(r.headers["Location"]).text
    w = fresh(work)
    assert w.step == 2 and w.highlights == "写到一半" and w.version == 2


def test_prev_saves_and_records_previous_step(client, wc, applicant):
    work = new_draft(wc, step=2)
    r = post_step(client, work, 2, "prev", step2_values(wc, author_name="王五", contact_phone="1"))
    assert r.status_code == 303 and r.headers["Location"].endswith(url(work, 1))
    w = fresh(work)
    assert w.step == 1 and w.author_name == "王五" and w.contact_phone == "1"


def test_next_with_errors_keeps_draft_and_step(client, wc, applicant):
    work = new_draft(wc)
    r = post_step(client, work, 1, "next", step1_values(title="", intro="已写的简介"))
    assert r.status_code == 422
    assert "已写的简介" in r.text
    w = fresh(work)
    assert w.intro == "已写的简介" and w.step == 1 and w.version == 2
    # the re-rendered page carries the new version, so the next save is accepted
    assert 'name="version" value="2"' in r.text


def test_resume_at_step_after_logout_and_login(client, wc, auth):
    work = filled_draft(wc)
    auth.login(wc.applicant.phone)
    r = post_step(client, work, 1, "next", step1_values())
    assert r.status_code == 303
    r = post_step(client, work, 2, "save", step2_values(wc, highlights="明天再写"))
    assert r.status_code == 303
    auth.logout()
    assert client.get("/works/mine").status_code == 302
    r = auth.login(wc.applicant.phone)
    assert r.status_code in (302, 303)
    html = client.get("/works/mine").text
    assert f'href="/works/{work.id}/step/2">继续填写</a>' in html
    page = client.get(url(work, 2)).text
    assert "明天再写" in page


# ------------------------------------------------------------------ two tabs

def test_two_tabs_autosave_conflict(client, wc, applicant):
    work = new_draft(wc)
    # tab A and tab B both render version 1; B saves first
    assert autosave(client, work, 1, {"title": "B 的标题"}, version=1).status_code == 200
    r = autosave(client, work, 1, {"title": "A 的标题"}, version=1)
    assert r.status_code == 409
    assert "此草稿已在其他窗口或设备上修改" in r.text
    w = fresh(work)
    assert w.title == "B 的标题" and w.version == 2


def test_two_tabs_full_post_conflict_keeps_typed_values(client, wc, applicant):
    work = new_draft(wc)
    assert autosave(client, work, 2, {"highlights": "B 写的"}, version=1).status_code == 200
    r = post_step(client, work, 2, "next", step2_values(wc, highlights="A 写的长长的亮点"),
                  version=1)
    assert r.status_code == 409
    assert "此作品已在其他窗口修改" in r.text
    assert "A 写的长长的亮点" in r.text           # typed values kept on the page
    assert 'name="version" value="1"' in r.text   # still stale: a later save cannot overwrite
    assert "重新加载最新内容" in r.text
    w = fresh(work)
    assert w.highlights == "B 写的" and w.version == 2 and w.step == 2


def test_missing_version_is_refused(client, wc, applicant):
    work = new_draft(wc, title="标题")
    r = client.post(url(work, 1), data={"action": "save", "title": "无版本"})
    assert r.status_code == 409
    assert fresh(work).title == "标题"


def test_save_refused_when_unit_recommended_meanwhile(client, wc, applicant):
    work = filled_draft(wc)
    version = work.version
    work.status = "recommended"
    db.session.commit()
    r = post_step(client, work, 1, "save", step1_values(title="改名"), version=version)
    assert r.status_code == 409
    assert "不能再修改" in r.text and "改名" in r.text
    assert fresh(work).title == "量子计算入门"
    r = autosave(client, work, 1, {"title": "改名"}, version=version)
    assert r.status_code == 409 and "不能再修改" in r.text
    assert fresh(work).title == "量子计算入门"


def test_autosave_refused_when_window_closed(client, wc, applicant):
    work = new_draft(wc, title="标题")
    set_settings(wc, window_close="2021-01-01 00:00")
    r = autosave(client, work, 1, {"title": "截止后"})
    assert r.status_code == 409 and "截止" in r.text
    assert fresh(work).title == "标题"


def test_pending_work_edits_are_saved_directly(client, wc, applicant):
    work = wc.make_work(status="pending")
    r = autosave(client, work, 1, {"title": "待推荐时修改"})
    assert r.status_code == 200
    w = fresh(work)
    assert w.title == "待推荐时修改" and w.status == "pending"


@pytest.mark.parametrize("path", ["autosave", "step"])
def test_other_users_work_404(client, wc, applicant, path):
    work = new_draft(wc, owner=wc.other_applicant, title="别人的")
    if path == "autosave":
        r = autosave(client, work, 1, {"title": "偷改"})
    else:
        r = post_step(client, work, 1, "save", step1_values(title="偷改"))
    assert r.status_code == 404
    assert fresh(work).title == "别人的"
