"""全国科普日: thank-you SMS queue (admins). (issue 12)

Platform admins and national admins (中国科协); everyone else gets 404.

- science_day.admin_thanks           GET  /science-day/admin/thanks
      the viewed edition (届次 switch): state, counts (待发送 / 发送中 / 已发送 / 失败,
      total phones), the queue (paged, searchable by phone or name, filter by status)
      and the settings form
- science_day.admin_thanks_settings  POST /science-day/admin/thanks/<campaign_id>/settings
      on/off, sender sign, wording, max tries (422 next to the field, 409 when another
      admin saved in between; what was typed is kept)
- science_day.admin_thanks_pause     POST …/pause    暂停 (audited)
- science_day.admin_thanks_resume    POST …/resume   恢复 (audited)
- science_day.admin_thanks_retry     POST …/retry    立即重试失败项 (audited)
- science_day.admin_thanks_send      POST …/send     立即发送一批 (enqueues the task)
"""
from __future__ import annotations

import math

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..accounts import roles as R
from ..accounts.permissions import role_required
from ..admin.models import Campaign
from ..extensions import db
from ..form_fields import IntField
from ..htmx import render
from . import bp
from . import thanks as T
from .after_models import ScientistThanks
from .operations.common import viewed_campaign
from .settings import KIND

PER_PAGE = 50
CONFLICT = "其他管理员刚刚修改了感谢短信设置，请核对后重新保存（您填写的内容已保留）。"


class ThanksSettingsForm(FlaskForm):
    digest = HiddenField()
    enabled = BooleanField("开启感谢短信（关闭后立即停止发送）")
    sign = StringField("短信签名", validators=[
        Optional(), Length(max=T.SIGN_MAX, message=f"不能超过 {T.SIGN_MAX} 字")])
    text = TextAreaField("短信内容", validators=[
        DataRequired("请填写短信内容"),
        Length(max=T.TEXT_MAX, message=f"不能超过 {T.TEXT_MAX} 字")])
    max_attempts = IntField("失败后最多尝试次数", minimum=T.MAX_ATTEMPTS_RANGE[0],
                            maximum=T.MAX_ATTEMPTS_RANGE[1], unit="次")

    conflict: str | None = None

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        text = self.text.data or ""
        if not self.text.errors and "{name}" not in text:
            self.text.errors.append("短信内容须包含 {name}（科学家姓名）")
            ok = False
        for bad in ("【", "】"):
            if bad in (self.sign.data or ""):
                self.sign.errors.append("签名不需要括号【】，系统会自动加上")
                ok = False
                break
        return ok

    @classmethod
    def of(cls, campaign) -> "ThanksSettingsForm":
        cfg = T.config_of(campaign.settings)
        return cls(formdata=None, data={
            "digest": T.settings_digest(campaign), "enabled": cfg.enabled, "sign": cfg.sign,
            "text": cfg.text, "max_attempts": cfg.max_attempts})


class QueuePage:
    def __init__(self, items, total: int, page: int, per_page: int):
        self.items, self.total, self.page = items, total, page
        self.pages = max(1, math.ceil(total / per_page))

    has_prev = property(lambda self: self.page > 1)
    has_next = property(lambda self: self.page < self.pages)
    prev_num = property(lambda self: self.page - 1)
    next_num = property(lambda self: self.page + 1)


def _filters() -> dict:
    q = (request.args.get("q") or "").strip()[:50]
    status = request.args.get("status") or ""
    if status not in T.STATUS_LABELS:
        status = ""
    try:
        page = max(1, int(request.args.get("page") or 1))
    except ValueError:
        page = 1
    return {"q": q, "status": status, "page": page}


def _queue(campaign_id: int, f: dict) -> QueuePage:
    where = [ScientistThanks.campaign_id == campaign_id]
    if f["status"]:
        where.append(ScientistThanks.status == f["status"])
    if f["q"]:
        like = f["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(or_(ScientistThanks.phone.like(like + "%", escape="\\"),
                         ScientistThanks.name.like("%" + like + "%", escape="\\")))
    total = db.session.scalar(select(func.count(ScientistThanks.id)).where(*where)) or 0
    page = QueuePage([], total, f["page"], PER_PAGE)
    page.page = min(page.page, page.pages)
    page.items = db.session.scalars(
        select(ScientistThanks).where(*where).order_by(ScientistThanks.id)
        .offset((page.page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    return page


def _page(campaign, form=None, status: int = 200, alert: str | None = None):
    f = _filters()
    cfg = T.config_of(campaign.settings)
    args = {k: v for k, v in (("q", f["q"]), ("status", f["status"])) if v}
    return render("science_day/thanks/admin.html", block="results", status=status,
                  campaign=campaign, cfg=cfg, counts=T.counts(campaign.id),
                  page=_queue(campaign.id, f), filters=f, args=args,
                  labels=T.STATUS_LABELS, form=form or ThanksSettingsForm.of(campaign),
                  alert=alert, preview=T.message_text(cfg, "张三", campaign.year))


def _load(campaign_id: int) -> Campaign:
    campaign = db.get_or_404(Campaign, campaign_id)
    if campaign.kind != KIND:
        abort(404)
    return campaign


def _back(campaign):
    return redirect(url_for("science_day.admin_thanks"), 303)


admin_only = role_required(R.NATIONAL_ADMIN)


@bp.route("/admin/thanks")
@admin_only
def admin_thanks():
    campaign = viewed_campaign()
    if campaign is None:
        return render("science_day/thanks/admin.html", campaign=None)
    return _page(campaign)


@bp.route("/admin/thanks/<int:campaign_id>/settings", methods=["POST"])
@admin_only
def admin_thanks_settings(campaign_id: int):
    campaign = _load(campaign_id)
    form = ThanksSettingsForm()
    if not form.validate():
        return _page(campaign, form, status=422)
    if (form.digest.data or "") != T.settings_digest(campaign):
        form.conflict = CONFLICT
        form.digest.data = T.settings_digest(campaign)
        return _page(campaign, form, status=409)
    values = {"enabled": bool(form.enabled.data), "sign": (form.sign.data or "").strip(),
              "text": form.text.data.strip(), "max_attempts": form.max_attempts.data}
    cfg = T.config_of(campaign.settings)
    if values == {"enabled": cfg.enabled, "sign": cfg.sign, "text": cfg.text,
                  "max_attempts": cfg.max_attempts}:
        flash("设置没有变化，无需保存", "info")
        return _back(campaign)
    T.store_settings(campaign, current_user, "thanks_settings", **values)
    flash("感谢短信设置已保存，立即生效" + ("" if values["enabled"] else "：已关闭，不再发送"),
          "success")
    return _back(campaign)


@bp.route("/admin/thanks/<int:campaign_id>/pause", methods=["POST"])
@admin_only
def admin_thanks_pause(campaign_id: int):
    campaign = _load(campaign_id)
    if not T.config_of(campaign.settings).paused:
        T.store_settings(campaign, current_user, "thanks_pause", paused=True)
    flash("感谢短信已暂停：正在发送的一批在当前这条后停止", "success")
    return _back(campaign)


@bp.route("/admin/thanks/<int:campaign_id>/resume", methods=["POST"])
@admin_only
def admin_thanks_resume(campaign_id: int):
    campaign = _load(campaign_id)
    if T.config_of(campaign.settings).paused:
        T.store_settings(campaign, current_user, "thanks_resume", paused=False)
    flash("感谢短信已恢复，将在下一次定期发送时继续", "success")
    return _back(campaign)


@bp.route("/admin/thanks/<int:campaign_id>/retry", methods=["POST"])
@admin_only
def admin_thanks_retry(campaign_id: int):
    campaign = _load(campaign_id)
    n = T.retry_failed(campaign.id, current_user)
    flash(f"已将 {n} 条失败的短信重新列入待发送" if n else "没有失败的短信", "success" if n else "info")
    return _back(campaign)


@bp.route("/admin/thanks/<int:campaign_id>/send", methods=["POST"])
@admin_only
def admin_thanks_send(campaign_id: int):
    campaign = _load(campaign_id)
    cfg = T.config_of(campaign.settings)
    if not cfg.active:
        reason = "感谢短信已关闭，请先开启" if not cfg.enabled else "感谢短信已暂停，请先恢复"
        return _page(campaign, status=409, alert=f"{reason}后再发送。")
    from ..workflow import audit

    audit("campaign", campaign.id, "thanks_send", current_user)
    db.session.commit()
    T.send_thanks_batch.delay(campaign.id)
    flash("已安排立即发送一批感谢短信，稍后刷新本页查看结果", "success")
    return _back(campaign)


# --------------------------------------------------------------------------- workbench

def thanks_card(user):
    """科学家感谢短信 on the workbench of national admins (platform admins also reach it
    from the admin side menu): the current edition's counts, once anything is queued."""
    from ..workbench import Card, Count, Link, url_or_none
    from .models import is_national
    from .operations.common import current_campaign

    if not is_national(user):
        return []
    campaign = current_campaign()
    if campaign is None:
        return []
    c = T.counts(campaign.id)
    if not c["total"]:
        return []
    url = url_or_none("science_day.admin_thanks")
    cfg = T.config_of(campaign.settings)
    card = Card(key="science_day.thanks", title="科学家感谢短信",
                subtitle=f"{campaign.title} · {cfg.state_label}", order=37)
    card.counts = [Count("待发送", c[T.THANKS_PENDING] + c[T.THANKS_SENDING], url),
                   Count("已发送", c[T.THANKS_SENT], url),
                   Count("失败", c[T.THANKS_FAILED], url and f"{url}?status=failed", "warn")]
    card.action = Link("查看发送队列", url) if url else None
    return [card]


def _register_card() -> None:
    from ..workbench import register

    register(thanks_card, key="science_day.thanks")


_register_card()
