"""Applicant routes (seed 000 三.2–3): 提交作品 in three steps with drafts, 我的作品.

- works.new       GET/POST /works/new                       start a draft (window open)
- works.edit      GET/POST /works/<id>/step/<1..3>           the steps; buttons post action=
                                                             prev | save | next | submit | channels
- works.autosave  POST     /works/<id>/autosave              htmx draft autosave (409 on conflict)
- works.my_works  GET      /works/mine                       我的作品
- works.view      GET      /works/<id>                       read-only view with history
- works.delete    POST     /works/<id>/delete                drafts only

Only the owner reaches a work (others: 404). Edits are refused on the server outside
草稿/待推荐/退回修改 and outside the edition's window.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..files.specs import get_field
from ..files.storage import accepts_uploads, limit_for
from ..htmx import render, render_fragment
from ..inputs import parse_id
from . import bp
from .files import field_name
from .flow import STATE_HINTS, STATE_LABELS, status_label
from .forms import FORMS, media_display_rows, media_rows, read_step
from .models import RETURNED, Work
from .operations import apply as ops
from .operations.common import OperationError, current_campaign, settings_of
from .settings import WindowState, WorksSettings

TEMPLATE = "works/apply.html"

#: Where the error summary links to, for errors whose key is not the field's id.
ERROR_ANCHORS = {"cover": "upload-cover-input", "cover_sub": "upload-cover_sub-input",
                 "work_file": "upload-work_files-input",
                 "award_file": "upload-award_files-input", "media_reports": "media_title_1"}
#: The controls an error slot marks invalid, when not the element with the field's id.
SLOT_CONTROLS = {"media_reports": "#media_reports-field [data-media-input]"}
#: Field order of each step (the error summary lists errors top to bottom).
FIELD_ORDER = {
    1: ("title", "work_type", "category", "intro", "cover", "cover_sub", "work_file"),
    2: ("author_name", "applicant_unit", "unit_address", "contact_name", "contact_phone",
        "email", "job_title", "unit_type", "channel_id", "highlights", "media_reports",
        "awards", "award_file"),
    3: ("declaration",),
}


def ordered_errors(errors: dict, step: int) -> dict:
    order = FIELD_ORDER.get(step, ())
    rank = {name: i for i, name in enumerate(order)}
    return {k: errors[k] for k in sorted(errors, key=lambda k: rank.get(k, len(order)))}


def _own_work(work_id: int, *options) -> Work:
    work = db.get_or_404(Work, work_id, options=options)
    if not work.is_owner(current_user):
        abort(404)
    return work


def _render_step(work: Work, step: int, *, status: int = 200, errors: dict | None = None,
                 posted: bool = False, alert: str | None = None, alert_kind: str = "error",
                 check: bool = False, version: int | None = None, conflict: bool = False):
    """One step page. ``posted``: show the values of this request instead of the stored
    ones (re-render after a refusal, nothing typed is lost)."""
    settings = settings_of(work)
    errors = ordered_errors(dict(errors or {}), step)
    files = ops.work_files(work)
    form = None
    media = work.media_reports or []
    if step in FORMS:
        form = FORMS[step](settings, obj=None if posted else work,
                           formdata=request.form if posted else None)
        for name, message in errors.items():
            if name in form:
                form[name].errors = [message]
        if posted and step == 2 and ("media_title" in request.form
                                     or "media_url" in request.form):
            media = media_rows(request.form)
    unit_type = (request.form.get("unit_type") if posted and "unit_type" in request.form
                 else work.unit_type) or None
    channel_id = (request.form.get("channel_id") if posted and "channel_id" in request.form
                  else work.channel_id)
    problems = ops.validate_all(work, settings, files) if step == 3 else {}
    return render(
        TEMPLATE, status=status, step=step, steps=ops.STEPS, work=work, settings=settings,
        form=form, errors=errors, files=files, alert=alert, alert_kind=alert_kind,
        check=check, conflict=conflict,
        version=version if version is not None else work.version,
        media=media_display_rows(media, settings.limit("media_items")),
        unit_type=unit_type, channel_id=channel_id, problems=problems,
        labels=ops.LABELS, field_step=ops.FIELD_STEP,
        upload_fields={key: field_name(work.campaign_id, key) for key in ops.FILE_KEYS},
        window=settings.window(), submitted=work.status != "draft",
        return_comment=ops.return_comment_of(work) if work.status == RETURNED else "",
        declared=bool(request.form.get("declaration")) if posted else False,
        error_anchors=ERROR_ANCHORS, slot_controls=SLOT_CONTROLS,
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    campaign = current_campaign()
    if campaign is None:
        abort(404)
    settings = WorksSettings(campaign)
    window = settings.window()
    if request.method == "POST" and window.open:
        try:
            work = ops.create_draft(current_user, campaign)
        except OperationError as e:
            window = WindowState(False, e.message)
        else:
            return redirect(url_for(".edit", work_id=work.id, step=1), code=303)
    return render(TEMPLATE, status=200 if window.open else 403, step=0, steps=ops.STEPS,
                  campaign=campaign, settings=settings, window=window,
                  drafts=ops.drafts_of(current_user, campaign))


def _step_upload_limit():
    """Cover, sub-cover, work files and award files of the work's edition."""
    from .models import F_AWARD_FILES, F_COVER, F_COVER_SUB, F_WORK_FILES

    work = db.session.get(Work, request.view_args["work_id"])
    if work is None:
        return limit_for(max_bytes=0, max_files=1)
    return limit_for(*(get_field(field_name(work.campaign_id, f))
                       for f in (F_COVER, F_COVER_SUB, F_WORK_FILES, F_AWARD_FILES)))


@bp.route("/<int:work_id>/step/<int:step>", methods=["GET", "POST"])
@accepts_uploads(_step_upload_limit)
@login_required
def edit(work_id: int, step: int):
    work = _own_work(work_id)
    if step not in ops.STEPS:
        abort(404)
    refusal = ops.edit_refusal(work, current_user)
    if request.method == "GET":
        if refusal:
            flash(refusal, "warning")
            return redirect(url_for(".view", work_id=work.id), code=303)
        check = bool(request.args.get("check"))
        errors = ops.validate_step(work, step) if check else {}
        alert = "请修改标红的内容后再提交。" if errors else None
        return _render_step(work, step, errors=errors, alert=alert, check=check)

    if refusal:
        return _render_step(work, step, status=409, posted=True, alert=refusal)
    action = request.form.get("action", "save")
    # A file's 删除 without JavaScript submits the whole step (nothing typed is lost).
    remove_id = parse_id(request.form.get("remove_file"))
    if remove_id:
        action = "save"
    data = read_step(step, request.form, request.files)
    try:
        if action == "next" and step < ops.LAST_STEP:
            ops.save_and_next(work, current_user, data)
            return redirect(url_for(".edit", work_id=work.id, step=step + 1), code=303)
        if action == "submit" and step == ops.LAST_STEP:
            updating = work.status != "draft"
            ops.submit(work, current_user, data, declared=bool(request.form.get("declaration")))
            flash("作品已更新，等待推荐单位审核推荐。" if updating
                  else "作品已提交，等待推荐单位审核推荐。", "success")
            return redirect(url_for(".my_works"), code=303)
        goto = step - 1 if action == "prev" and step > 1 else None
        result = ops.save_draft(work, current_user, data, goto=goto, remove_file=remove_id)
    except ops.InvalidWork as e:
        if e.step != step:  # 确认提交 with problems in an earlier step: send them there
            return redirect(url_for(".edit", work_id=work.id, step=e.step, check=1), code=303)
        return _render_step(work, step, status=422, errors=e.errors, posted=True,
                            alert=e.message, check=True)
    except ops.ConflictError as e:
        # Keep the stale version: a later save from this page must not overwrite either.
        return _render_step(work, step, status=409, posted=True, alert=e.message,
                            version=data.version or 0, conflict=True)
    except OperationError as e:
        return _render_step(work, step, status=409, posted=True, alert=e.message)

    if not result.ok:
        return _render_step(work, step, status=422, errors=result.store_errors, posted=True,
                            alert="部分内容未能保存，请按提示修改后再保存。")
    if goto:
        return redirect(url_for(".edit", work_id=work.id, step=goto), code=303)
    anchor = "unit_type" if action == "channels" else None
    if remove_id:
        flash("已删除文件，草稿已保存。", "success")
    elif action != "channels":
        flash("草稿已保存。", "success")
    return redirect(url_for(".edit", work_id=work.id, step=step, _anchor=anchor), code=303)


def _autosave_reply(status: int, **ctx):
    return render_fragment(TEMPLATE, "autosave_reply", status=status, **ctx)


@bp.post("/<int:work_id>/autosave")
@login_required
def autosave(work_id: int):
    # The edition (window, limits) is needed by every save: load it with the work.
    work = _own_work(work_id, joinedload(Work.campaign))
    step = request.form.get("step", type=int)
    if step not in (1, 2):
        abort(400)
    data = read_step(step, request.form, uploads=False)
    try:
        result = ops.save_draft(work, current_user, data)
    except ops.ConflictError:
        return _autosave_reply(409, conflict=True, message=None)
    except OperationError as e:
        return _autosave_reply(409, conflict=True, message=e.message)
    slots = [n for n in ops.STEP_TEXT[step] + ops.STEP_OTHER[step]]
    # Once the step has been checked (the page shows its errors), the answer carries
    # every field's current error, so an error goes as soon as its field is valid.
    checked = request.form.get("check") == "1"
    shown = ops.validate_step(work, step) if checked else {}
    shown.update(result.store_errors)
    upload_slots = [(key, ops.FILE_TARGETS[key]) for key in ops.STEP_FILES[step]
                    if checked or key in result.store_errors]
    return _autosave_reply(
        200, conflict=False, saved_at=result.saved_at, version=result.version,
        store_errors=result.store_errors, slots=slots, upload_slots=upload_slots,
        shown=ordered_errors(shown, step), labels=ops.LABELS, error_anchors=ERROR_ANCHORS,
        slot_controls=SLOT_CONTROLS,
        message=("已自动保存，但" + "；".join(result.store_errors.values()))
        if result.store_errors else None)


@bp.get("/mine")
@login_required
def my_works():
    """我的作品 on the shared queue: search, status tabs, 需要处理, pages."""
    from ..review_queue import QueueContext
    from .queues import MY_QUEUE

    campaign = current_campaign()
    window = WorksSettings(campaign).window() if campaign else None
    page = MY_QUEUE.page(QueueContext(current_user, campaign), request.args)
    return render("works/my_works.html", block="results", page=page,
                  rows=ops.my_work_rows(page.items, current_user),
                  returned=ops.returned_count(current_user), campaign=campaign,
                  window=window, labels=STATE_LABELS, hints=STATE_HINTS)


@bp.get("/<int:work_id>")
@login_required
def view(work_id: int):
    work = _own_work(work_id)
    settings = settings_of(work)
    return render(
        "works/view.html", work=work, settings=settings, files=ops.work_files(work),
        status_label=status_label(work, settings.results_published),
        hint=STATE_HINTS.get(work.status, ""), editable=work.can_edit(current_user),
        refusal=ops.edit_refusal(work, current_user),
        return_comment=ops.return_comment_of(work) if work.status == RETURNED else "",
        history=ops.history_for_owner(work, current_user), resume=ops.resume_step(work))


@bp.post("/<int:work_id>/delete")
@login_required
def delete(work_id: int):
    work = _own_work(work_id)
    title = work.display_title
    try:
        ops.delete_draft(work, current_user)
    except OperationError as e:
        flash(e.message, "error")
    else:
        flash(f"已删除草稿《{title}》。", "success")
    return redirect(url_for(".my_works"), code=303)
