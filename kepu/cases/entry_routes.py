"""Implementing units (案例实施单位): start a case with a 推荐码, fill the 附件 form,
my cases, read-only view.

- cases.start     GET/POST /cases/start              logged-in user (code → draft)
- cases.edit      GET/POST /cases/<id>/edit          owner (others 404)
- cases.autosave  POST     /cases/<id>/autosave      owner (others 404)
- cases.delete    POST     /cases/<id>/delete        owner, drafts only
- cases.my_cases  GET      /cases/mine               logged-in user
- cases.view      GET      /cases/<id>               case.can_view (others 404)
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..accounts import roles as R
from ..extensions import db
from ..files.operations import UploadError, claim_uploads, save_uploads_from_request
from ..files.storage import accepts_uploads
from ..htmx import redirect_to, render, render_fragment
from ..workflow import OperationError
from . import bp
from .code_routes import TOO_MANY, code_attempts_blocked, record_wrong_code
from .common import current_campaign, require_open_window, settings_of, window_state
from .flow import CASE_FLOW, STATE_LABELS
from .forms import CaseForm, StartForm
from .models import DRAFT, EDITABLE_STATES, ENTITY, RETURNED, Case
from .operations import codes as code_ops
from .operations import entry as ops

UPLOAD_TARGETS = ops.TARGETS
HISTORY_LABELS = {"create": "创建草稿", "delete": "删除草稿"}

#: Error slots of the form besides the text fields (see error_slot in _macros/forms.html):
#: the controls each one marks invalid.
SLOT_CONTROLS = {"category": "#category-field input[type=radio]", "media": "#media-field input"}
_ANCHORS = {"photo_landscape": "upload-photo_landscape-input",
            "photo_portrait": "upload-photo_portrait-input",
            "award_proof": "upload-award_proof-input", "category": "category-field",
            "subtype": "category-field", "media": "media_title_1"}


def error_anchors(errors: dict) -> dict:
    """Where the error summary links to, per error key (default: the field's id)."""
    out = {}
    for key in errors:
        if key.startswith("media_") and key[6:].isdigit():
            out[key] = "media_title_" + key[6:]
        elif key in _ANCHORS:
            out[key] = _ANCHORS[key]
    return out


def _shown_errors(problems: dict) -> dict:
    """Submit problems keyed by error slot: a subtype problem shows in the category slot."""
    shown = dict(problems)
    if "subtype" in shown:
        shown.setdefault("category", shown.pop("subtype"))
    return ops.ordered_errors(shown)


def _own_case_or_404(case_id: int, *options) -> Case:
    case = db.get_or_404(Case, case_id, options=options)
    if not case.is_owner(current_user):
        abort(404)
    return case


def _unit_list_url() -> str | None:
    if current_user.org_ids_for(R.CASE_UNIT) and "cases.unit_list" in current_app.view_functions:
        return url_for("cases.unit_list")
    return None


# --- start a case with a 推荐码 ------------------------------------------------------------

def _start_context(form, unit_code=None, **extra):
    campaign = current_campaign()
    settings = settings_of(campaign)
    return dict(form=form, campaign=campaign, settings=settings, window=window_state(campaign),
                unit_code=unit_code, format_code=code_ops.format_code, **extra)


@bp.route("/start", methods=["GET", "POST"])
@login_required
def start():
    form = StartForm()
    campaign = current_campaign()
    if request.method == "GET":
        raw = request.args.get("code", "")
        if not raw:
            return render("cases/start.html", **_start_context(form))
        # A code in the link (?code=) is checked under the POST's limit: the same guess.
        form.code.data = raw
        if code_attempts_blocked():
            form.code.errors = [TOO_MANY]
            return render("cases/start.html", status=429, **_start_context(form))
        code = code_ops.find_code(raw, campaign)
        if code is None:
            record_wrong_code()
            form.code.errors = [code_ops.INVALID_CODE]
            return render("cases/start.html", status=422, **_start_context(form))
        return render("cases/start.html", **_start_context(form, unit_code=code))
    if code_attempts_blocked():
        form.code.errors = [TOO_MANY]
        return render("cases/start.html", status=429, **_start_context(form))
    try:
        if request.form.get("confirm") == "1":
            case = ops.start_case(current_user, form.code.data)
            flash(f"已在“{case.org.name}”下创建案例草稿，请填写案例信息表。", "success")
            return redirect_to(url_for(".edit", case_id=case.id))
        require_open_window(campaign)
        code = code_ops.lookup(form.code.data, campaign)
    except OperationError as e:
        if e.code == "invalid_code":
            record_wrong_code()
        if e.field == "code":
            form.code.errors = [e.message]
            return render("cases/start.html", status=422, **_start_context(form))
        return render("cases/start.html", status=422, **_start_context(form, alert=e.message))
    form.code.data = code_ops.format_code(code.code)
    return render("cases/start.html", **_start_context(form, unit_code=code))


# --- the 附件 form ------------------------------------------------------------------------

def _posted_ids() -> dict[str, list]:
    return {t: request.form.getlist(t) for t in UPLOAD_TARGETS}


def _posted_files(case: Case, posted: dict[str, list]) -> dict[str, list]:
    """The files the user's form currently lists (for re-rendering a refused post)."""
    out = {}
    for target, field_name in UPLOAD_TARGETS.items():
        try:
            out[target] = claim_uploads(posted.get(target, []), current_user, field_name,
                                        ENTITY, case.id)
        except UploadError:
            out[target] = []
    return out


def _media_rows(values: dict, limit: int) -> list[dict]:
    rows = list(values.get("media_reports") or [])
    while len(rows) < limit:
        rows.append({"title": "", "url": ""})
    return rows


def _render_entry(case: Case, values: dict, errors: dict | None = None, files=None,
                  status: int = 200, alert: str | None = None, version=None,
                  confirm_submit: bool = False, check: bool = False):
    settings = settings_of(case)
    errors = ops.ordered_errors(errors or {})
    form = CaseForm(formdata=None, data={k: values.get(k, "") for k in ops.TEXT_FIELDS})
    form.set_errors(errors)
    window = settings.window()
    editable = window.open and case.status in EDITABLE_STATES
    return render(
        "cases/entry.html", status=status, case=case, settings=settings, form=form,
        values=values, errors=errors, files=files if files is not None else ops.case_files(case),
        media_rows=_media_rows(values, settings.limit("media_items")),
        version=case.version if version is None else version, window=window,
        editable=editable, alert=alert, dup_warning=ops.duplicate_warning(case),
        outline=settings["detail_outline"], state_label=STATE_LABELS.get(case.status, ""),
        media_error_keys=[k for k in errors if k.startswith("media")],
        error_labels=ops.LABELS, confirm_submit=confirm_submit, check=check,
        error_anchors=error_anchors, slot_controls=SLOT_CONTROLS)


def _render_locked(case: Case, status: int):
    return _render_view(case, status=status, alert=ops.state_message(case))


def _entry_upload_limit():
    from ..files.specs import get_field
    from ..files.storage import limit_for

    return limit_for(*(get_field(name) for name in UPLOAD_TARGETS.values()))


@bp.route("/<int:case_id>/edit", methods=["GET", "POST"])
@accepts_uploads(_entry_upload_limit)
@login_required
def edit(case_id: int):
    case = _own_case_or_404(case_id)
    if case.status not in EDITABLE_STATES:
        return _render_locked(case, 200 if request.method == "GET" else 409)
    settings = settings_of(case)
    if request.method == "GET":
        window = settings.window()
        return _render_entry(case, ops.values_of(case),
                             alert=None if window.open else window.message)

    values = ops.read_values(request.form, settings)
    posted = _posted_ids()
    # A file's 删除 without JavaScript submits the whole form: save everything typed,
    # minus that file (the posted ids are the files the form keeps).
    remove_id = request.form.get("remove_file", "")
    if remove_id:
        posted = {t: [i for i in ids if i != remove_id] for t, ids in posted.items()}
    try:
        ops.require_editable(case, current_user)
    except OperationError as e:
        return _render_entry(case, values, files=_posted_files(case, posted),
                             status=409 if e.code == "locked" else 422, alert=e.message,
                             version=request.form.get("version"))
    upload_errors, new_files = {}, {}
    for target, field_name in UPLOAD_TARGETS.items():
        stored, errs = save_uploads_from_request(field_name, current_user, target)
        new_files[target] = stored
        if errs:
            upload_errors[target] = "；".join(errs)
    try:
        plan = ops.save_draft(case, values, request.form.get("version"), current_user,
                              posted, new_files)
    except OperationError as e:
        files = _posted_files(case, posted)
        for target, stored in new_files.items():
            files[target] = files.get(target, []) + stored
        return _render_entry(case, values, upload_errors, files=files,
                             status=409 if e.code in ("conflict", "locked") else 422,
                             alert=e.message, version=request.form.get("version"))
    errors = {**plan.warnings, **upload_errors}
    action = request.form.get("action")
    if action in ("submit", "confirm_submit") and not remove_id:
        if errors:
            return _render_entry(case, values, errors, status=422,
                                 alert="上传的文件未通过检查，案例未提交；其余内容已保存为草稿。")
        if action == "submit":
            # 提交至推荐单位: validate first; only a case that can be submitted is asked
            # "确定提交？" (a server-side step, so it works without JavaScript too).
            problems, _near = ops.submit_problems(case)
            if problems:
                return _render_entry(case, values, problems, status=422,
                                     alert=_summary(problems), check=True)
            return _render_entry(case, values, confirm_submit=True)
        try:
            ops.submit(case, current_user)
        except OperationError as e:
            errors = e.errors or {}
            return _render_entry(case, values, errors, status=422,
                                 alert=e.message if not e.errors else _summary(errors),
                                 check=bool(e.errors))
        flash("案例已提交至推荐单位，请等待审核；如被退回，可在“我的案例”中修改后重新提交。",
              "success")
        return redirect(url_for(".view", case_id=case.id), 303)
    if errors:
        return _render_entry(case, values, errors, status=422,
                             alert="草稿已保存，但有文件未通过检查，请查看标红的提示。")
    flash("已删除文件，草稿已保存" if remove_id else "草稿已保存", "success")
    return redirect(url_for(".edit", case_id=case.id), 303)


def _summary(errors: dict) -> str:
    return f"请修改下列标红的 {len(errors)} 处内容后再提交（草稿已保存）。"


@bp.post("/<int:case_id>/autosave")
@login_required
def autosave(case_id: int):
    # Every save needs the edition (window, limits) and the unit (duplicate check).
    case = _own_case_or_404(case_id, joinedload(Case.campaign), joinedload(Case.org))
    settings = settings_of(case)
    values = ops.read_values(request.form, settings)
    # Checked on what is being saved, before the commit expires the loaded case.
    dup_warning = ops.duplicate_warning(case, values)
    try:
        plan = ops.save_draft(case, values, request.form.get("version"), current_user,
                              _posted_ids(), {})
    except OperationError as e:
        if e.code == "conflict":
            return render_fragment("cases/entry.html", "autosave_result", status=409,
                          conflict=True, case=case, oob=True)
        return render("cases/entry.html", block="autosave_result",
                      status=409 if e.code == "locked" else 422,
                      autosave_error=e.message, case=case, oob=True)
    message = "；".join(plan.warnings.values()) or None
    extra = {}
    if request.form.get("check") == "1":
        # 提交至推荐单位 found problems on this page: every autosave answers with each
        # field's current error, so an error goes as soon as its field is valid.
        problems, _near = ops.submit_problems(case)
        shown = _shown_errors({**problems, **plan.warnings})
        rows = len(request.form.getlist("media_title"))
        extra = dict(shown=shown, upload_slots=list(UPLOAD_TARGETS),
                     slots=[n for n in ops.TEXT_FIELDS] + ["category", "media"]
                     + [f"media_{i}" for i in range(1, rows + 1)],
                     slot_controls=SLOT_CONTROLS, error_anchors=error_anchors,
                     error_labels=ops.LABELS)
    return render_fragment("cases/entry.html", "autosave_result", case=case, oob=True,
                  saved_at=plan.saved_at, new_version=plan.version, autosave_message=message,
                  dup_warning=dup_warning, **extra)


@bp.post("/<int:case_id>/delete")
@login_required
def delete(case_id: int):
    case = _own_case_or_404(case_id)
    name = case.display_name
    try:
        ops.delete_draft(case, current_user)
    except OperationError as e:
        flash(e.message, "error")
        return redirect_to(url_for(".my_cases"))
    flash(f"已删除草稿：{name}", "success")
    return redirect_to(url_for(".my_cases"))


# --- lists and read-only view --------------------------------------------------------------

@bp.get("/mine")
@login_required
def my_cases():
    """我的案例 on the shared queue: search, status tabs, 需要处理, pages."""
    from sqlalchemy import func

    from ..review_queue import QueueContext
    from .queues import MY_QUEUE

    campaign = current_campaign()
    page = MY_QUEUE.page(QueueContext(current_user, campaign), request.args)
    returned = db.session.scalar(select(func.count(Case.id)).where(
        Case.owner_id == current_user.id, Case.status == RETURNED)) or 0
    return render("cases/my_cases.html", block="results", cases=page.items, page=page,
                  returned=returned, campaign=campaign,
                  window=window_state(campaign), labels=STATE_LABELS,
                  settings=settings_of(campaign), settings_of=settings_of,
                  unit_list_url=_unit_list_url(), DRAFT=DRAFT, RETURNED=RETURNED,
                  EDITABLE=EDITABLE_STATES)


def history_rows(case: Case) -> list[dict]:
    rows = []
    for entry in CASE_FLOW.history(case):
        t = CASE_FLOW.transitions.get(entry.action)
        rows.append(dict(at=entry.at, label=t.label if t else HISTORY_LABELS.get(entry.action,
                                                                                  entry.action),
                         actor=entry.actor.display_name if entry.actor else "系统",
                         from_label=STATE_LABELS.get(entry.from_state or "", ""),
                         to_label=STATE_LABELS.get(entry.to_state or "", ""),
                         comment=entry.comment))
    return rows


def _render_view(case: Case, status: int = 200, alert: str | None = None):
    settings = settings_of(case)
    return render("cases/view.html", status=status, case=case, settings=settings,
                  files=ops.case_files(case), history=history_rows(case),
                  state_label=STATE_LABELS.get(case.status, case.status),
                  can_edit=case.can_edit(current_user),
                  is_owner=case.is_owner(current_user), alert=alert,
                  unit_list_url=_unit_list_url() if case.can_review(current_user) else None)


@bp.get("/<int:case_id>")
@login_required
def view(case_id: int):
    case = db.get_or_404(Case, case_id)
    if not case.can_view(current_user):
        abort(404)
    return _render_view(case)
