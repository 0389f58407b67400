"""全国科普日: 补充活动信息 (organisers of approved activities, after the event). (issue 12)

URL map (blueprint ``science_day``, prefix /science-day):

  GET|POST  /activities/<id>/supplement                 supplement            the page; action=
                                                                              save | add:<list> |
                                                                              remove:<list>:<row>
  POST      /activities/<id>/supplement/autosave        supplement_autosave   htmx autosave (409)
  POST      /activities/<id>/supplement/files/<field>   supplement_upload     photos / videos
  POST      /activities/<id>/supplement/files/<fid>/delete  supplement_file_delete
  GET       /activities/<id>/supplement/scientists.xlsx supplement_template   the xlsx template
  POST      /activities/<id>/supplement/scientists-import  supplement_import  append from xlsx

Only the owner reaches these (anyone else: 404). The owner is refused (page: the reason;
POST: 403 outside the 补充活动填报 window, 409 before the end or when not approved).
"""
from __future__ import annotations

from flask import abort, flash, make_response, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..files.operations import upload_input_name
from ..files.specs import get_field
from ..files.storage import accepts_uploads, limit_for
from ..htmx import render, render_fragment
from ..inputs import parse_int
from . import bp
from .after_models import F_EFFECT_PHOTO, F_EFFECT_VIDEO, F_PARTICIPANT_PHOTO
from .completeness import OFFLINE_MIN, ONLINE_MIN, check
from .files import field_name
from .models import Activity
from .operations import supplement as ops
from .operations.common import OperationError, settings_of

PAGE = "science_day/after/supplement.html"
FILE_LABELS = {F_EFFECT_PHOTO: "活动成效照片", F_EFFECT_VIDEO: "活动短视频",
               F_PARTICIPANT_PHOTO: "参与人数佐证照片"}
BLANK_MAX = 20


def _own(activity_id: int) -> Activity:
    activity = db.get_or_404(Activity, activity_id, options=(joinedload(Activity.campaign),))
    if not activity.is_owner(current_user):
        abort(404)
    return activity


def _blank(name: str) -> int:
    return min(max(parse_int(request.args.get(name)) or 1, 1), BLANK_MAX)


def _stored_rows(activity: Activity):
    sup = ops.supplement_of(activity)
    media = ops.media_of(sup) + [{"title": "", "url": ""}] * _blank("media_rows")
    scientists = [{"name": s.name, "phone": s.phone, "unit": s.unit, "title": s.title}
                  for s in ops.scientists_of(activity)]
    free = max(ops.SCIENTISTS_MAX - len(scientists), 0)
    scientists += [{"name": "", "phone": "", "unit": "", "title": ""}] * min(
        _blank("sci_rows"), free)
    participants = {col: ("" if getattr(sup, col, None) is None else str(getattr(sup, col)))
                    for col, _l, _m in ops.participant_fields(activity)}
    return sup, media, scientists, participants


def _render(activity: Activity, *, status: int = 200, data: ops.SupplementInput | None = None,
            errors=None, alert: str | None = None, conflict: bool = False,
            upload_errors=None, import_problems=None, refusal=None):
    sup, media, scientists, participants = _stored_rows(activity)
    version = sup.version if sup is not None else 1
    if data is not None:
        if data.media is not None:
            media = data.media or [{"title": "", "url": ""}]
        if data.scientists is not None:
            scientists = data.scientists or [{"name": "", "phone": "", "unit": "", "title": ""}]
        participants.update(data.participants)
        version = data.version if data.version is not None else version
    if refusal is None:
        refusal = ops.refusal(activity, current_user)
    stored_count = len(ops.scientists_of(activity))
    return render(
        PAGE, status=status, activity=activity, settings=settings_of(activity), sup=sup,
        media=media, scientists=scientists, participants=participants, version=version,
        stored_participants={col: getattr(sup, col, None) if sup else None
                             for col, _l, _m in ops.participant_fields(activity)},
        participant_fields=ops.participant_fields(activity), errors=dict(errors or {}),
        alert=alert, conflict=conflict, refusal=refusal.message if refusal else None,
        files=ops.files_of(activity), durations=ops.durations_of(sup),
        specs={k: get_field(field_name(activity.campaign_id, k)) for k in ops.FILE_FIELDS},
        file_labels=FILE_LABELS, upload_errors=dict(upload_errors or {}),
        import_problems=import_problems or [], completeness=check(activity),
        duration_text=ops.duration_text, upload_input_name=upload_input_name,
        scientists_max=ops.SCIENTISTS_MAX, stored_count=stored_count,
        offline_min=OFFLINE_MIN, online_min=ONLINE_MIN)


def _apply_row_action(data: ops.SupplementInput, action: str) -> dict | None:
    """add:<list> / remove:<list>:<row> without JavaScript. Returns the query string
    arguments of the page to come back to."""
    parts = action.split(":")
    key = parts[1] if len(parts) > 1 else ""
    if key not in ("media", "sci"):
        return None
    rows = data.media if key == "media" else data.scientists
    if rows is None:
        return None
    if parts[0] == "remove" and len(parts) == 3 and parts[2].isdigit():
        i = int(parts[2]) - 1
        if 0 <= i < len(rows):
            rows.pop(i)
        return {"_anchor": f"{key}-box"}
    if parts[0] == "add":
        blanks = sum(1 for r in rows if not any(r.values()))
        return {f"{key}_rows": min(blanks + 1, BLANK_MAX), "_anchor": f"{key}-box"}
    return None


@bp.route("/activities/<int:activity_id>/supplement", methods=["GET", "POST"])
@login_required
def supplement(activity_id: int):
    activity = _own(activity_id)
    if request.method == "GET":
        return _render(activity)
    data = ops.read_form(request.form)
    action = request.form.get("action", "save")
    back = _apply_row_action(data, action) if action != "save" else None
    try:
        result = ops.save(activity, current_user, data)
    except ops.Refused as e:
        return _render(activity, status=e.status, data=data, alert=e.message, refusal=e)
    except ops.ConflictError as e:
        return _render(activity, status=409, data=data, alert=e.message, conflict=True)
    if not result.ok:
        data.version = result.version
        return _render(activity, status=422, data=data, errors=result.errors,
                       alert="部分内容未能保存，请按标红的提示修改后再保存。")
    if back is None:
        flash("补充活动信息已保存。", "success")
        back = {}
    return redirect(url_for(".supplement", activity_id=activity.id, **back), 303)


@bp.post("/activities/<int:activity_id>/supplement/autosave")
@login_required
def supplement_autosave(activity_id: int):
    activity = _own(activity_id)
    data = ops.read_form(request.form)
    try:
        result = ops.save(activity, current_user, data)
    except ops.Refused as e:
        return render_fragment(PAGE, "autosave_reply", status=e.status, conflict=True,
                               message=e.message)
    except ops.ConflictError as e:
        return render_fragment(PAGE, "autosave_reply", status=409, conflict=True,
                               message=e.message)
    slots = [("media", None), ("scientists", None),
             *[(c, None) for c, _l, _m in ops.participant_fields(activity)]]
    slots += [(f"media_{i}", f"#media_title_{i}, #media_url_{i}")
              for i in range(1, len(data.media or []) + 1)]
    slots += [(f"sci_{i}", f"#sci_name_{i}, #sci_phone_{i}")
              for i in range(1, len(data.scientists or []) + 1)]
    return render_fragment(
        PAGE, "autosave_reply", conflict=False, saved_at=result.saved_at,
        version=result.version, errors=result.errors, slots=slots, activity=activity,
        completeness=check(activity),
        message=("已自动保存，但标红的行未能保存" if result.errors else None))


def _upload_limit():
    activity = db.session.get(Activity, request.view_args["activity_id"])
    key = request.view_args.get("key")
    if activity is None or key not in ops.FILE_FIELDS:
        return limit_for(max_bytes=0, max_files=1)
    return limit_for(get_field(field_name(activity.campaign_id, key)))


@bp.post("/activities/<int:activity_id>/supplement/files/<key>")
@accepts_uploads(_upload_limit)
@login_required
def supplement_upload(activity_id: int, key: str):
    activity = _own(activity_id)
    if key not in ops.FILE_FIELDS:
        abort(404)
    files = request.files.getlist(upload_input_name(key))
    try:
        attached, messages = ops.upload(activity, current_user, key, files)
    except ops.Refused as e:
        return _render(activity, status=e.status, alert=e.message, refusal=e)
    if messages:
        return _render(activity, status=422, upload_errors={key: messages},
                       alert=(f"已上传{len(attached)}个文件，" if attached else "")
                       + "有文件未能上传，请看“" + FILE_LABELS[key] + "”处的提示。")
    flash(f"已上传{len(attached)}个{FILE_LABELS[key]}文件。", "success")
    return redirect(url_for(".supplement", activity_id=activity.id, _anchor=f"{key}-box"), 303)


@bp.post("/activities/<int:activity_id>/supplement/files/<int:file_id>/delete")
@login_required
def supplement_file_delete(activity_id: int, file_id: int):
    activity = _own(activity_id)
    try:
        stored = ops.remove_file(activity, current_user, file_id)
    except ops.Refused as e:
        return _render(activity, status=e.status, alert=e.message, refusal=e)
    except OperationError as e:
        return _render(activity, status=404, alert=e.message)
    flash(f"已删除“{stored.original_name}”。", "success")
    return redirect(url_for(".supplement", activity_id=activity.id), 303)


@bp.get("/activities/<int:activity_id>/supplement/scientists.xlsx")
@login_required
def supplement_template(activity_id: int):
    _own(activity_id)
    resp = make_response(ops.template_xlsx())
    resp.headers["Content-Type"] = ("application/vnd.openxmlformats-officedocument."
                                    "spreadsheetml.sheet")
    resp.headers["Content-Disposition"] = (
        "attachment; filename=\"scientists.xlsx\"; "
        "filename*=UTF-8''%E7%A7%91%E6%8A%80%E5%B7%A5%E4%BD%9C%E8%80%85%E5%90%8D%E5%8D%95"
        "%E6%A8%A1%E6%9D%BF.xlsx")
    return resp


@bp.post("/activities/<int:activity_id>/supplement/scientists-import")
@accepts_uploads(lambda: limit_for(max_bytes=ops.IMPORT_MAX_BYTES + 1024, max_files=1))
@login_required
def supplement_import(activity_id: int):
    activity = _own(activity_id)
    f = request.files.get("scientists_file")
    if f is None or not f.filename:
        return _render(activity, status=422, import_problems=["请选择填写好的名单文件（.xlsx）"])
    if not f.filename.lower().endswith(".xlsx"):
        f.close()
        return _render(activity, status=422,
                       import_problems=["只支持 .xlsx 格式，请使用下载的模板填写后上传"])
    raw = f.stream.read(ops.IMPORT_MAX_BYTES + 1)
    f.close()
    try:
        count, problems = ops.import_scientists(activity, current_user, raw)
    except ops.Refused as e:
        return _render(activity, status=e.status, alert=e.message, refusal=e)
    if problems:
        return _render(activity, status=422, import_problems=problems)
    flash(f"已导入{count}位科技工作者。", "success")
    return redirect(url_for(".supplement", activity_id=activity.id, _anchor="sci-box"), 303)
