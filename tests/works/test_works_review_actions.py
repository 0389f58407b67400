"""推荐 / 退回修改 by the recommender unit: scope, refused transitions, HTMX fragments,
no-JS post/redirect/get, SMS notices, audit history."""
from __future__ import annotations

import pytest

from kepu.extensions import db
from kepu.workflow import AuditLog
from kepu.works.models import Work

HX = {"HX-Request": "true"}


def reload(work_id: int) -> Work:
    db.session.expire_all()
    return db.session.get(Work, work_id)


def test_recommend_htmx_swaps_row_and_sends_sms(client, auth, wc, sms_outbox):
    w = wc.make_work(title="推荐我")
    auth.login_as(wc.unit_admin)
    r = client.post(f"/works/{w.id}/recommend", data={"view": "row", "qs": ""}, headers=HX)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tr id="work-row-{w.id}"')
    assert "<html" not in html
    assert "完成推荐" in html and "已推荐作品《推荐我》" in html
    # the status counts come along out of band
    assert 'id="queue-summary"' in html and 'hx-swap-oob="true"' in html
    # the row offers 撤销 right after the decision
    assert f'hx-post="/works/{w.id}/unrecommend"' in html and ">撤销推荐</button>" in html
    assert "已推荐 1 / 不限" in html
    w = reload(w.id)
    assert w.status == "recommended" and w.recommended_at is not None
    log = db.session.scalars(db.select(AuditLog).where(AuditLog.entity_id == w.id)).all()
    assert [(a.action, a.from_state, a.to_state, a.actor_id) for a in log] == [
        ("recommend", "pending", "recommended", wc.unit_admin.id)]
    assert len(sms_outbox) == 1
    assert sms_outbox[0]["phone"] == wc.applicant.phone
    assert "推荐我" in sms_outbox[0]["text"] and "完成推荐" in sms_outbox[0]["text"]


def test_recommend_plain_post_redirects_back_with_flash(client, auth, wc):
    w = wc.make_work(title="无脚本推荐")
    auth.login_as(wc.unit_admin)
    r = client.post(f"/works/{w.id}/recommend", data={"view": "row", "qs": "q=无&sort=title"})
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/works/unit/?q=%E6%97%A0&sort=title")
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已推荐作品《无脚本推荐》" in html
    assert reload(w.id).status == "recommended"
    # the list URL is rebuilt from validated arguments: nothing can point elsewhere
    w2 = wc.make_work(title="第二件")
    r = client.post(f"/works/{w2.id}/recommend",
                    data={"qs": "//evil.example/&sort=https://evil.example", "next": "//evil.example/"})
    assert r.headers["Location"].endswith("/works/unit/")
    w3 = wc.make_work(title="第三件")
    r = client.post(f"/works/{w3.id}/recommend", data={"view": "detail"})
    assert r.headers["Location"].endswith(f"/works/{w3.id}/review")


@pytest.mark.parametrize("status", ["returned", "recommended", "in_review", "reviewed"])
def test_recommend_refused_in_wrong_state(client, auth, wc, sms_outbox, status):
    w = wc.make_work(status=status)
    auth.login_as(wc.unit_admin)
    r = client.post(f"/works/{w.id}/recommend", data={"view": "row"}, headers=HX)
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "不能执行“推荐”" in html and 'role="alert"' in html
    assert reload(w.id).status == status
    assert sms_outbox == []
    # without JS: flash + redirect
    r = client.post(f"/works/{w.id}/recommend", data={"view": "detail"}, follow_redirects=True)
    assert "不能执行“推荐”" in r.get_data(as_text=True)


def test_other_unit_applicant_and_admin_get_404(client, auth, wc):
    w = wc.make_work()
    draft = wc.make_work(status="draft")
    for user in (wc.other_unit_admin, wc.applicant, wc.expert, wc.admin):
        auth.login_as(user)
        assert client.post(f"/works/{w.id}/recommend").status_code == 404
        assert client.get(f"/works/{w.id}/return").status_code == 404
        assert client.post(f"/works/{w.id}/return", data={"comment": "x"}).status_code == 404
    auth.login_as(wc.unit_admin)
    assert client.post(f"/works/{draft.id}/recommend").status_code == 404
    assert client.post("/works/424242/recommend").status_code == 404
    assert reload(w.id).status == "pending"
    assert reload(draft.id).status == "draft"


def test_return_opens_inline_box_with_htmx_and_page_without(client, auth, wc):
    w = wc.make_work(title="待退回")
    auth.login_as(wc.unit_admin)
    r = client.get(f"/works/{w.id}/return?view=row&qs=q%3D%E5%BE%85", headers=HX)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tr id="work-row-{w.id}"')
    assert "<textarea" in html and "确认退回" in html and "取消" in html
    assert f'hx-target="#work-row-{w.id}"' in html
    assert 'name="qs" value="q=%E5%BE%85"' in html
    # 取消 (HTMX) brings the row back without the box
    r = client.get(f"/works/{w.id}/review/row?view=row", headers=HX)
    assert "<textarea" not in r.get_data(as_text=True)
    assert ">退回修改</a>" in r.get_data(as_text=True)
    # without JS: the list focused on this work, with the comment box
    r = client.get(f"/works/{w.id}/return?view=row")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" in html and "<textarea" in html
    assert f'action="/works/{w.id}/return"' in html and "正在处理：待退回" in html
    r = client.post(f"/works/{w.id}/return",
                    data={"view": "row", "qs": "sort=title", "comment": "请修改"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/works/unit/?sort=title")
    assert reload(w.id).status == "returned"


def test_return_requires_comment_and_keeps_text(client, auth, wc, sms_outbox):
    w = wc.make_work()
    auth.login_as(wc.unit_admin)
    r = client.post(f"/works/{w.id}/return", data={"view": "row", "comment": "   "}, headers=HX)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "请填写退回意见" in html and 'aria-invalid="true"' in html
    assert html.lstrip().startswith(f'<tr id="work-row-{w.id}"')
    # too long: error, the typed text is kept
    long_text = "改" * 1001
    r = client.post(f"/works/{w.id}/return", data={"view": "detail", "comment": long_text})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "退回意见不能超过1000字" in html and long_text in html and "<html" in html
    assert reload(w.id).status == "pending"
    assert sms_outbox == []


def test_return_success_sets_comment_sms_and_history(client, auth, wc, sms_outbox):
    w = wc.make_work(title="需修改的作品")
    auth.login_as(wc.unit_admin)
    r = client.post(f"/works/{w.id}/return",
                    data={"view": "detail", "comment": "请补充获奖证明材料"}, headers=HX)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="review-actions"')
    assert "退回修改" in html and "请补充获奖证明材料" in html
    w = reload(w.id)
    assert w.status == "returned" and w.return_comment == "请补充获奖证明材料"
    assert len(sms_outbox) == 1 and "退回修改" in sms_outbox[0]["text"]
    # second return is refused (already returned)
    r = client.post(f"/works/{w.id}/return", data={"view": "row", "comment": "再退"}, headers=HX)
    assert r.status_code == 409 and "不能执行“退回修改”" in r.get_data(as_text=True)
    assert len(sms_outbox) == 1


def test_no_sms_when_disabled(client, auth, wc, sms_outbox):
    wc.campaign.settings = {**wc.campaign.settings, "sms_notify": False}
    db.session.commit()
    a, b = wc.make_work(), wc.make_work()
    auth.login_as(wc.unit_admin)
    client.post(f"/works/{a.id}/recommend", headers=HX)
    client.post(f"/works/{b.id}/return", data={"comment": "请修改"}, headers=HX)
    assert reload(a.id).status == "recommended" and reload(b.id).status == "returned"
    assert sms_outbox == []


def test_detail_history_and_actions(client, auth, wc):
    w = wc.make_work(title="有历史")
    auth.login_as(wc.unit_admin)
    client.post(f"/works/{w.id}/return", data={"comment": "补充亮点"})
    html = client.get(f"/works/{w.id}/review").get_data(as_text=True)
    assert "处理记录" in html and "补充亮点" in html
    assert "待推荐 → 退回修改" in html and "北京推荐管理员" in html
    # returned: no actions any more
    assert ">推荐</button>" not in html
    # the applicant resubmits → pending: actions again
    from kepu.works.flow import WORK_FLOW

    w = reload(w.id)
    WORK_FLOW.apply(w, "update", wc.applicant)
    db.session.commit()
    html = client.get(f"/works/{w.id}/review").get_data(as_text=True)
    assert ">推荐</button>" in html and ">退回修改</a>" in html


def test_bulk_recommend_confirms_then_reports_each(client, auth, wc, sms_outbox):
    a = wc.make_work(title="甲")
    b = wc.make_work(title="乙", status="returned")
    c = wc.make_work(title="丙")
    other = wc.make_work(title="外单位", channel=wc.other_unit)
    auth.login_as(wc.unit_admin)
    # First the confirmation, naming how many: only a and c can be recommended here
    # (b is returned, the other unit's work is out of scope, "x" is no id).
    r = client.post("/works/unit/bulk", data={"action": "recommend", "qs": "sort=title",
                                              "ids": [a.id, b.id, c.id, other.id, "x"]})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "确认批量推荐 2 件作品？" in html and "<li>甲</li>" in html and "<li>丙</li>" in html
    assert "外单位" not in html and "<li>乙</li>" not in html
    assert reload(a.id).status == "pending" and sms_outbox == []
    # confirmed: each one is recommended on its own
    r = client.post("/works/unit/bulk", data={"action": "recommend", "confirmed": "1",
                                              "qs": "sort=title", "ids": [a.id, c.id, other.id]})
    assert r.status_code == 303 and r.headers["Location"].endswith("/works/unit/?sort=title")
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已推荐 2 件" in html and "外单位" not in html
    assert "data-queue-reset" in html  # the browser forgets the selection
    assert reload(a.id).status == reload(c.id).status == "recommended"
    assert reload(other.id).status == "pending"
    assert len(sms_outbox) == 2
    # a race: one of the confirmed works changed meanwhile -> reported, not hidden
    d = wc.make_work(title="丁")
    e = wc.make_work(title="戊")
    db.session.get(Work, e.id).status = "returned"
    db.session.commit()
    r = client.post("/works/unit/bulk", data={"action": "recommend", "confirmed": "1",
                                              "ids": [d.id, e.id]}, follow_redirects=True)
    assert "已推荐 1 件" in r.get_data(as_text=True)
    r = client.post("/works/unit/bulk", data={"action": "recommend"}, follow_redirects=True)
    assert "请先勾选要推荐的作品" in r.get_data(as_text=True)
    # the older form field name still works (and still asks first)
    f = wc.make_work(title="己")
    r = client.post("/works/unit/bulk-recommend", data={"work_ids": [f.id]})
    assert "确认批量推荐 1 件作品？" in r.get_data(as_text=True)
    auth.login_as(wc.applicant)
    assert client.post("/works/unit/bulk", data={"ids": [c.id]}).status_code == 404
