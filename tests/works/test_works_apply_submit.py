"""确认提交 / 确认更新, refusals (state, window, other users), delete, 我的作品, view."""
from __future__ import annotations

import pytest
from test_works_apply_support import (applicant, autosave, filled_draft, fresh, new_draft,  # noqa: F401
                                      post_step, set_settings, step1_values, url)

from kepu.extensions import db
from kepu.files.operations import files_for
from kepu.files.models import StoredFile
from kepu.workflow import AuditLog
from kepu.works.models import Work


def _audit(work, action):
    return db.session.scalars(db.select(AuditLog).where(
        AuditLog.entity_type == "work", AuditLog.entity_id == work.id,
        AuditLog.action == action)).all()


def _submit(client, work, declaration=True, version=None):
    data = {"declaration": "1"} if declaration else {}
    return post_step(client, work, 3, "submit", data, version=version)


# ------------------------------------------------------------------ preview

def test_preview_shows_every_field_declaration_and_button(client, wc, applicant):
    work = filled_draft(wc, step=3, media_reports=[{"title": "科技日报报道", "url": "https://kj.example.com/1"}])
    html = client.get(url(work, 3)).text
    for text in ("请确认以下信息无误后提交，提交后将进入审核流程", "基本信息", "补充信息",
                 "量子计算入门", "科普视频", "前沿科技", "用动画讲清量子比特。", "作品.pdf",
                 "cover.png", "张三", "北京科普创作中心", "北京市科学技术协会", "科技日报报道",
                 'href="https://kj.example.com/1"', "申报声明", "本单位郑重承诺：",
                 "（一）作品符合党的路线", "（五）本单位同意并不可撤销的授权",
                 "我已阅读并同意上述申报声明", "上一步", "暂存草稿", "确认提交"):
        assert text in html, text
    assert "确认更新" not in html
    assert 'class="wf-thumb"' in html
    # optional empty fields show '-'
    assert "<dt>获奖情况</dt><dd>-</dd>" in html


def test_preview_lists_problems_with_links(client, wc, applicant):
    work = new_draft(wc, step=3, title="只写了标题")
    html = client.get(url(work, 3)).text
    assert "以下内容尚需修改" in html
    assert f'href="/works/{work.id}/step/1?check=1"' in html
    assert "请上传作品文件" in html and "请填写亮点总结" in html


# ------------------------------------------------------------------ submit

def test_submit_without_declaration_refused_next_to_checkbox(client, wc, applicant):
    work = filled_draft(wc, step=3)
    r = _submit(client, work, declaration=False)
    assert r.status_code == 422
    assert 'id="declaration-error"' in r.text and "请阅读并勾选同意申报声明" in r.text
    assert 'aria-invalid="true" aria-describedby="declaration-error"' in r.text
    assert fresh(work).status == "draft"
    assert _audit(work, "submit") == []


def test_submit_moves_to_pending_with_audit(client, wc, applicant):
    work = filled_draft(wc, step=3)
    r = _submit(client, work)
    assert r.status_code == 303 and r.headers["Location"].endswith("/works/mine")
    w = fresh(work)
    assert w.status == "pending" and w.submitted_at is not None
    [entry] = _audit(work, "submit")
    assert (entry.from_state, entry.to_state, entry.actor_id) == ("draft", "pending", wc.applicant.id)
    page = client.get("/works/mine").text
    assert "作品已提交，等待推荐单位审核推荐" in page and "待推荐" in page
    # the chosen unit now sees it
    assert w.can_review(wc.unit_admin) and not w.can_review(wc.other_unit_admin)


def test_submit_with_errors_in_step1_sends_user_there(client, wc, applicant):
    work = filled_draft(wc, step=3, title="")
    r = _submit(client, work)
    assert r.status_code == 303
    assert r.headers["Location"].endswith(f"/works/{work.id}/step/1?check=1")
    page = client.get(r.headers["Location"]).text
    assert "请填写作品名称" in page and "请修改下列" in page
    w = fresh(work)
    assert w.status == "draft" and w.step == 1


def test_submit_with_errors_in_step2(client, wc, applicant):
    work = filled_draft(wc, step=3, highlights="亮" * 3001)
    r = _submit(client, work)
    assert r.headers["Location"].endswith("/step/2?check=1")
    assert "亮点总结不能超过3000字（当前3001字）" in client.get(r.headers["Location"]).text
    assert fresh(work).status == "draft"


def test_submit_stale_version_refused(client, wc, applicant):
    work = filled_draft(wc, step=3)
    r = _submit(client, work, version=work.version - 1 if work.version > 1 else 99)
    assert r.status_code == 409
    assert fresh(work).status == "draft"


def test_update_after_return(client, wc, applicant):
    work = wc.make_work(status="returned", return_comment="请补充传播数据")
    db.session.add(AuditLog(entity_type="work", entity_id=work.id, action="return",
                            from_state="pending", to_state="returned",
                            actor_id=wc.unit_admin.id, comment="请补充传播数据"))
    db.session.commit()
    mine = client.get("/works/mine").text
    assert "退回修改" in mine and "请补充传播数据" in mine
    assert f'href="/works/{work.id}/step/1">编辑</a>' in mine
    page = client.get(url(work, 3)).text
    assert "确认更新" in page and "确认提交" not in page
    assert "退回意见：请补充传播数据" in page
    r = post_step(client, work, 2, "save", {"highlights": "补充：播放量 100 万次"})
    assert r.status_code == 303
    assert fresh(work).status == "returned"
    r = _submit(client, work)
    assert r.status_code == 303
    w = fresh(work)
    assert w.status == "pending" and w.return_comment == ""
    [entry] = _audit(work, "update")
    assert (entry.from_state, entry.to_state) == ("returned", "pending")
    history = client.get(url(work)).text
    assert "请补充传播数据" in history and "确认更新" in history and "推荐单位" in history
    assert wc.unit_admin.display_name not in history  # reviewers stay anonymous


def test_update_while_pending(client, wc, applicant):
    work = wc.make_work(status="pending")
    r = _submit(client, work)
    assert r.status_code == 303
    assert fresh(work).status == "pending"
    assert len(_audit(work, "update")) == 1


@pytest.mark.parametrize("status", ["recommended", "in_review", "reviewed"])
def test_edit_refused_after_recommendation(client, wc, applicant, status):
    work = wc.make_work(status=status)
    r = client.get(url(work, 1))
    assert r.status_code == 303 and r.headers["Location"].endswith(url(work))
    assert "不能再修改" in client.get(r.headers["Location"]).text
    r = post_step(client, work, 1, "save", step1_values(title="偷改"))
    assert r.status_code == 409 and "不能再修改" in r.text
    r = _submit(client, work)
    assert r.status_code == 409
    r = autosave(client, work, 1, {"title": "偷改"})
    assert r.status_code == 409
    w = fresh(work)
    assert w.title == "量子计算入门" and w.status == status
    mine = client.get("/works/mine").text
    assert f"/works/{work.id}/step/" not in mine


def test_window_closed_refuses_edit_and_submit_but_lists_works(client, wc, applicant):
    draft = filled_draft(wc, step=3)
    pending = wc.make_work(status="pending", title="已提交的作品")
    set_settings(wc, window_close="2021-01-01 00:00")
    r = _submit(client, draft)
    assert r.status_code == 409 and "截止" in r.text
    assert fresh(draft).status == "draft"
    r = client.get(url(pending, 1))
    assert r.status_code == 303
    mine = client.get("/works/mine").text
    assert "已于 2021-01-01 00:00 截止" in mine
    assert "已提交的作品" in mine and "量子计算入门" in mine
    assert "/step/" not in mine and 'href="/works/new"' not in mine


def test_other_users_work_is_404_everywhere(client, wc, applicant):
    work = wc.make_work(owner=wc.other_applicant, status="draft", title="别人的作品")
    for path in (url(work), url(work, 1), url(work, 3)):
        assert client.get(path).status_code == 404, path
    assert _submit(client, work).status_code == 404
    assert client.post(f"/works/{work.id}/delete").status_code == 404
    assert autosave(client, work, 1, {"title": "x"}).status_code == 404
    assert fresh(work).status == "draft"
    assert "别人的作品" not in client.get("/works/mine").text


def test_login_required(client, wc):
    work = new_draft(wc)
    for path in ("/works/mine", url(work), url(work, 1)):
        r = client.get(path)
        assert r.status_code == 302 and "/account/login" in r.headers["Location"]


# ------------------------------------------------------------------ delete

def test_delete_draft_with_files(client, wc, applicant):
    work = filled_draft(wc)
    assert len(files_for("work", work.id)) == 2
    r = client.post(f"/works/{work.id}/delete")
    assert r.status_code == 303
    assert db.session.get(Work, work.id) is None
    assert db.session.scalar(db.select(db.func.count(StoredFile.id))) == 0
    assert len(_audit(work, "delete")) == 1
    assert "已删除草稿" in client.get("/works/mine").text


@pytest.mark.parametrize("status", ["pending", "returned", "recommended"])
def test_delete_only_drafts(client, wc, applicant, status):
    work = wc.make_work(status=status)
    r = client.post(f"/works/{work.id}/delete", follow_redirects=True)
    assert "只有草稿可以删除" in r.text
    assert db.session.get(Work, work.id) is not None


# ------------------------------------------------------------------ 我的作品 / view

def test_my_works_lists_columns_actions_and_legend(client, wc, applicant):
    draft = filled_draft(wc, step=2, title="我的草稿")
    pending = wc.make_work(status="pending", title="等待推荐的作品")
    wc.make_work(owner=wc.other_applicant, title="别人的")
    html = client.get("/works/mine").text
    assert "我的草稿" in html and "等待推荐的作品" in html and "别人的" not in html
    for text in ("作品名称", "作品类型", "推荐渠道", "状态", "更新时间", "草稿", "待推荐",
                 "北京市科学技术协会", "作品状态说明", "专家评审中",
                 "作品已进入专家评审阶段。此状态下不可编辑作品。"):
        assert text in html, text
    assert f'href="/works/{draft.id}/step/2">继续填写</a>' in html
    assert f'action="/works/{draft.id}/delete"' in html
    assert f'action="/works/{pending.id}/delete"' not in html
    assert 'data-confirm="确定删除草稿《我的草稿》吗' in html


def test_results_published_shows_selected(client, wc, applicant):
    chosen = wc.make_work(status="reviewed", title="入选作品", selected=True)
    wc.make_work(status="reviewed", title="另一个")
    html = client.get("/works/mine").text
    assert ">入选</span>" not in html and ">未入选</span>" not in html
    assert html.count(">专家已评审</span>") == 2
    set_settings(wc, results_published_at="2026-09-01T00:00:00")
    html = client.get("/works/mine").text
    assert ">入选</span>" in html and ">未入选</span>" in html
    assert ">入选</span>" in client.get(url(chosen)).text


def test_view_shows_history_and_status(client, wc, applicant):
    work = filled_draft(wc, step=3)
    _submit(client, work)
    html = client.get(url(work)).text
    for text in ("作品状态", "待推荐", "处理记录", "确认提交", "本人", "草稿 → 待推荐",
                 "量子计算入门", "编辑作品"):
        assert text in html, text
