"""Info officers: certification, 发布活动 (the activity form), 用户中心 我的活动.

URL map (blueprint ``science_day``, prefix /science-day):

  GET|POST  /officer                              officer             信息员认证 (real name,
                                                                      unit, undertaking)
  GET|POST  /activities/new                       new_activity        start a draft
  GET|POST  /activities/<id>/edit                 edit_activity       the form; action=
                                                                      save | draft | add:<list> |
                                                                      remove:<list>:<i>
  POST      /activities/<id>/autosave             autosave_activity   htmx autosave (409 conflict)
  POST      /activities/<id>/org-list/<list>      activity_org_list   htmx: the list re-rendered
                                                                      with an org added / removed
  GET       /activities/<id>/org-suggest/<list>   activity_org_suggest  htmx: matching orgs
  POST      /activities/<id>/discard              discard_edit        放弃修改 (pending edit)
  POST      /activities/<id>/delete               delete_activity     drafts only
  GET       /activities/<id>                      view_activity       the owner's view
  GET       /activities/mine                      my_activities       用户中心 · 我的活动
  GET       /admin/officers                       admin_officers      platform admins
  POST      /admin/officers/<id>/revoke           admin_officer_revoke  撤销 with a reason

Only the owner reaches an activity here (anyone else: 404).
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from ..accounts import operations as account_ops
from ..accounts.forms import RealNameForm
from ..accounts.permissions import platform_admin_required
from ..extensions import db
from ..files.specs import get_field
from ..files.storage import accepts_uploads, limit_for
from ..htmx import render, render_fragment
from ..inputs import parse_id, parse_int
from ..orgs import regions, supervisors
from ..orgs.forms import check_org_choice
from ..orgs.models import ORG_ACTIVE, Org
from ..orgs.search import search_orgs
from ..review_queue import Filter, Queue, QueueContext, Sort
from . import bp
from .apply_forms import display_values, org_items, read_form
from .files import field_name
from .flow import STATE_HINTS, STATE_LABELS
from .models import (APPROVED, DRAFT, F_DETAIL_IMAGE, F_POSTER, InfoOfficer, NATIONAL_REJECTED,
                     PROVINCE_REJECTED, Activity)
from .operations import apply as ops
from .operations import officers as officer_ops
from .operations.common import OperationError, current_campaign, settings_of
from .routing import route_label
from .settings import ScienceDaySettings

FORM = "science_day/apply/form.html"
ORG_LIST_KEYS = ops.ORG_LISTS
LIST_LABELS = {"hosts": "主办单位", "organisers": "承办单位",
               "gov_coop_orgs": "合作的部委或委办厅局", "society_coop_orgs": "合作的学会"}
ERROR_ANCHORS = {"start_at": "start_at", "region_code": "region_province",
                 "supervisor_category": "supervisor_org_id-category",
                 "supervisor_org_id": "supervisor_org_id-field",
                 F_POSTER: "upload-poster-input", F_DETAIL_IMAGE: "upload-detail_images-input",
                 "scientists": "sci_name_1", "hosts": "hosts__q", "organisers": "organisers__q",
                 "gov_coop_orgs": "gov_coop_orgs__q", "society_coop_orgs": "society_coop_orgs__q",
                 "joint_action_items": "joint_action_items-field",
                 "special_action_items": "special_action_items-field"}
#: the error slots every autosave answer refreshes, and the controls each one marks
SLOTS = [k for k in ops.FIELD_ORDER if k not in (F_POSTER, F_DETAIL_IMAGE)]
SLOT_CONTROLS = {"region_code": "#region_province",
                 "scientists": "#scientists-field input[name=sci_name]",
                 "supervisor_category": "#supervisor_org_id-category",
                 "supervisor_org_id": "#supervisor_org_id_q",
                 **{k: f"#{k}__q" for k in ops.ORG_LISTS}}


def _own(activity_id: int, *options) -> Activity:
    activity = db.get_or_404(Activity, activity_id, options=options)
    if not activity.is_owner(current_user):
        abort(404)
    return activity


# --------------------------------------------------------------------------- 信息员认证

@bp.route("/officer", methods=["GET", "POST"])
@login_required
def officer():
    """信息员认证: 1 实名认证, 2 所在单位, 3 承诺书 → the info_officer grant."""
    campaign = current_campaign()
    settings = ScienceDaySettings(campaign)
    rn_form = RealNameForm(formdata=request.form if request.form.get("action") == "realname"
                           else None)
    errors: dict[str, str] = {}
    status = 200
    nxt = url_for(".new_activity")
    action = request.form.get("action")
    if request.method == "POST" and action == "realname" \
            and current_user.real_name_verified_at is None:
        if rn_form.validate():
            try:
                account_ops.certify_real_name(current_user, rn_form.real_name.data,
                                              rn_form.id_number.data)
            except account_ops.AccountError as e:
                getattr(rn_form, e.field or "id_number").errors = [e.message]
                status = 422
            else:
                flash("实名认证成功，请继续填写所在单位。", "success")
                return redirect(url_for(".officer", _anchor="unit-h"), 303)
        else:
            status = 422
    elif request.method == "POST" and action == "certify":
        org, org_error = (None, None)
        if request.form.get("org_id"):
            org, org_error = check_org_choice(request.form.get("org_id"))
        try:
            if org_error:
                raise OperationError(org_error, field="org_id")
            officer_ops.certify(current_user, org, bool(request.form.get("agree")))
        except OperationError as e:
            errors = e.errors or {"org_id": e.message}
            status = 422
        else:
            flash("您已成为科普中国信息员，现在可以发布活动。", "success")
            return redirect(nxt, 303)
    selected = None
    raw = request.values.get("org_id")
    if raw:
        selected, _err = check_org_choice(raw)
    row = officer_ops.officer_of(current_user)
    if row is not None and selected is None and row.org is not None:
        selected = row.org
    return render("science_day/apply/officer.html", status=status, rn_form=rn_form,
                  errors=errors, selected_org=selected, settings=settings, row=row,
                  is_officer=officer_ops.is_officer(current_user),
                  agreed=bool(request.form.get("agree")))


# --------------------------------------------------------------------------- 发布活动

@bp.route("/activities/new", methods=["GET", "POST"])
@login_required
def new_activity():
    campaign = current_campaign()
    if campaign is None:
        abort(404)
    if not officer_ops.is_officer(current_user):
        return redirect(url_for(".officer"), 303)
    settings = ScienceDaySettings(campaign)
    window = settings.phase("filing")
    message = None if window.open else window.message
    if request.method == "POST" and window.open:
        try:
            activity = ops.create_draft(current_user, campaign)
        except OperationError as e:
            message = e.message
        else:
            return redirect(url_for(".edit_activity", activity_id=activity.id), 303)
    return render("science_day/apply/new.html", status=200 if message is None else 403,
                  campaign=campaign, settings=settings, message=message,
                  drafts=ops.drafts_of(current_user, campaign))


def _form_upload_limit():
    activity = db.session.get(Activity, request.view_args["activity_id"])
    if activity is None:
        return limit_for(max_bytes=0, max_files=1)
    return limit_for(*(get_field(field_name(activity.campaign_id, f))
                       for f in (F_POSTER, F_DETAIL_IMAGE)))


def _render_form(activity: Activity, *, status: int = 200, errors=None, data=None,
                 alert: str | None = None, alert_kind: str = "error", conflict=False,
                 version: int | None = None, check: bool = False, warns=None):
    settings = settings_of(activity)
    form = request.form if request.method == "POST" else request.args
    v = display_values(activity, data, form)
    errors = dict(errors or {})
    files = ops.activity_files(activity)
    sup_org = db.session.get(Org, v.supervisor_org_id) if v.supervisor_org_id else None
    if warns is None:
        warns = ops.warnings(v, settings)
    return render(
        FORM, status=status, activity=activity, v=v, settings=settings, errors=errors,
        files=files, alert=alert, alert_kind=alert_kind, conflict=conflict, check=check,
        version=version if version is not None else activity.version, warns=warns,
        sup_org=sup_org, labels=ops.LABELS, anchors=ERROR_ANCHORS,
        list_labels=LIST_LABELS, orgs_by_id=_orgs_of(v),
        upload_fields={k: field_name(activity.campaign_id, k) for k in ops.FILE_KEYS},
        editing=ops.editing_submitted(activity), edits_left=ops.edits_left(activity, settings),
        counted=ops.counts_as_edit(activity), state_label=STATE_LABELS.get(activity.status),
        window=settings.phase("filing"), food_keyword=settings.get("food_safety_keyword"),
        notice_days=ops._notice_days(settings))


def _orgs_of(v) -> dict[int, Org]:
    ids = {i["id"] for key in ORG_LIST_KEYS for i in (getattr(v, key) or []) if i.get("id")}
    if not ids:
        return {}
    from sqlalchemy import select

    return {o.id: o for o in db.session.scalars(select(Org).where(Org.id.in_(ids)))}


def _apply_list_action(data, action: str) -> str | None:
    """add:<list> / remove:<list>:<i> of the form without JavaScript: change the posted
    list before it is stored. Returns the anchor to come back to."""
    parts = action.split(":")
    key = parts[1] if len(parts) > 1 else ""
    if key not in ORG_LIST_KEYS:
        return None
    items = list(data.values.get(key) or org_items(request.form, key))
    if parts[0] == "add":
        name = (request.form.get(f"{key}__q") or "").strip()
        if name and not any(i.get("name") == name for i in items):
            items.append({"name": name})
    elif parts[0] == "remove" and len(parts) == 3 and parts[2].isdigit():
        i = int(parts[2])
        if 0 <= i < len(items):
            items.pop(i)
    data.values[key] = items
    return f"{key}-box"


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@accepts_uploads(_form_upload_limit)
@login_required
def edit_activity(activity_id: int):
    activity = _own(activity_id, joinedload(Activity.campaign))
    refusal = ops.edit_refusal(activity, current_user)
    if request.method == "GET":
        if refusal:
            flash(refusal, "warning")
            return redirect(url_for(".view_activity", activity_id=activity.id), 303)
        check = bool(request.args.get("check"))
        errors = ops.validate(ops.current_values(activity), settings_of(activity),
                              ops.activity_files(activity)) if check else {}
        return _render_form(activity, errors=errors, check=check,
                            alert="请修改标红的内容后再保存。" if errors else None)
    data = read_form(request.form, request.files)
    if refusal:
        return _render_form(activity, status=409, data=data, alert=refusal)
    action = request.form.get("action", "draft")
    remove_id = parse_id(request.form.get("remove_file"))
    anchor = None
    if remove_id:
        action = "draft"
    elif action.startswith(("add:", "remove:")):
        anchor = _apply_list_action(data, action)
        action = "draft"
    try:
        if action == "save":
            editing = ops.editing_submitted(activity)
            warns = ops.submit(activity, current_user, data)
            route = "省级科协审核" if activity.route_province else "中国科协审核"
            flash(("活动修改已提交，将重新进入审核（" if editing else "活动已提交，等待")
                  + route + ("）。" if editing else "。"), "success")
            for message in warns.values():
                flash(message, "warning")
            return redirect(url_for(".my_activities"), 303)
        result = ops.save_draft(activity, current_user, data, remove_file=remove_id)
    except ops.InvalidActivity as e:
        return _render_form(activity, status=422, errors=e.errors, data=data,
                            alert=e.message, check=True)
    except ops.ConflictError as e:
        return _render_form(activity, status=409, data=data, alert=e.message,
                            conflict=True, version=data.version or 0)
    except OperationError as e:
        return _render_form(activity, status=409, data=data, alert=e.message)
    if not result.ok:
        return _render_form(activity, status=422, errors=result.store_errors, data=data,
                            alert="部分内容未能保存，请按提示修改后再保存。")
    if not anchor:
        flash("已暂存。" if not ops.editing_submitted(activity)
              else "修改已暂存，点击“保存”后才会提交审核。", "success")
    return redirect(url_for(".edit_activity", activity_id=activity.id, _anchor=anchor), 303)


@bp.post("/activities/<int:activity_id>/autosave")
@login_required
def autosave_activity(activity_id: int):
    activity = _own(activity_id, joinedload(Activity.campaign))
    data = read_form(request.form, uploads=False)
    try:
        result = ops.save_draft(activity, current_user, data)
    except ops.ConflictError:
        return render_fragment(FORM, "autosave_reply", status=409, conflict=True, message=None)
    except OperationError as e:
        return render_fragment(FORM, "autosave_reply", status=409, conflict=True,
                               message=e.message)
    settings = settings_of(activity)
    v = ops.current_values(activity)
    checked = request.form.get("check") == "1"
    shown = ops.validate(v, settings, ops.activity_files(activity)) if checked else {}
    shown.update(result.store_errors)
    return render_fragment(
        FORM, "autosave_reply", conflict=False, saved_at=result.saved_at,
        version=result.version, store_errors=result.store_errors, slots=SLOTS, shown=shown,
        slot_controls=SLOT_CONTROLS,
        labels=ops.LABELS, anchors=ERROR_ANCHORS, warns=ops.warnings(v, settings),
        food=ops.food_safety(v.name, settings),
        message=("已自动保存，但" + "；".join(result.store_errors.values()))
        if result.store_errors else None)


def _list_key(key: str) -> str:
    if key not in ORG_LIST_KEYS:
        abort(404)
    return key


@bp.post("/activities/<int:activity_id>/org-list/<key>")
@login_required
def activity_org_list(activity_id: int, key: str):
    """The list box re-rendered with an org added (``add_id`` from the library, or the
    typed ``<key>__q`` as text) or removed (``remove``): stored by the next autosave."""
    activity = _own(activity_id)
    key = _list_key(key)
    items = org_items(request.form, key)
    error = None
    add_id = parse_id(request.form.get("add_id"))
    if add_id:
        org, error = check_org_choice(add_id)
        if org is not None and not any(i.get("id") == org.id for i in items):
            items.append({"id": org.id, "name": org.name})
    elif "add" in request.form:
        name = (request.form.get(f"{key}__q") or "").strip()
        if len(name) < 2:
            error = "请输入单位的准确全称后再点击“添加”"
        elif len(name) > ops.ORG_NAME_MAX:
            error = f"单位名称不能超过{ops.ORG_NAME_MAX}字"
        elif not any(i.get("name") == name for i in items):
            items.append({"name": name})
    remove = parse_int(request.form.get("remove"))
    if remove is not None and 0 <= remove < len(items):
        items.pop(remove)
    items, _ = ops._clean_org_items(items, {i["id"] for i in items if i.get("id")},
                                    current_user)
    from sqlalchemy import select

    ids = [i["id"] for i in items if i.get("id")]
    orgs = {o.id: o for o in db.session.scalars(select(Org).where(Org.id.in_(ids)))} \
        if ids else {}
    resp = render_fragment(FORM, "org_list_reply", activity=activity, key=key, items=items,
                           orgs_by_id=orgs, list_error=error, list_labels=LIST_LABELS)
    resp.headers["HX-Trigger-After-Settle"] = "orglist-changed"
    return resp


@bp.get("/activities/<int:activity_id>/org-suggest/<key>")
@login_required
def activity_org_suggest(activity_id: int, key: str):
    activity = _own(activity_id)
    key = _list_key(key)
    q = (request.args.get(f"{key}__q") or request.args.get("q") or "").strip()[:100]
    hits = [h for h in search_orgs(q, current_user, None, limit=8)
            if h.org.status == ORG_ACTIVE] if len(q) >= 1 else []
    return render_fragment(FORM, "org_suggest_reply", activity=activity, key=key, q=q,
                           hits=hits)


@bp.post("/activities/<int:activity_id>/discard")
@login_required
def discard_edit(activity_id: int):
    activity = _own(activity_id)
    try:
        ops.discard_edit(activity, current_user)
    except OperationError as e:
        flash(e.message, "error")
    else:
        flash("已放弃未提交的修改，活动保持原提交内容。", "success")
    return redirect(url_for(".view_activity", activity_id=activity.id), 303)


@bp.post("/activities/<int:activity_id>/delete")
@login_required
def delete_activity(activity_id: int):
    activity = _own(activity_id)
    name = activity.display_name
    try:
        ops.delete_draft(activity, current_user)
    except OperationError as e:
        flash(e.message, "error")
    else:
        flash(f"已删除草稿“{name}”。", "success")
    return redirect(url_for(".my_activities"), 303)


@bp.get("/activities/<int:activity_id>")
@login_required
def view_activity(activity_id: int):
    activity = _own(activity_id, joinedload(Activity.campaign))
    settings = settings_of(activity)
    files = ops.activity_files(activity)
    return render("science_day/apply/view.html", activity=activity, settings=settings,
                  posters=files[F_POSTER], images=files[F_DETAIL_IMAGE],
                  region_name=regions.full_name, route_label=route_label,
                  state_label=STATE_LABELS.get(activity.status),
                  hint=STATE_HINTS.get(activity.status, ""),
                  refusal=ops.edit_refusal(activity, current_user),
                  edits_left=ops.edits_left(activity, settings),
                  listing=ops.listing_label(activity),
                  history=ops.history_for_owner(activity, current_user))


# --------------------------------------------------------------------------- 我的活动

MY_QUEUE = Queue(
    "science_day.mine", Activity,
    states={s: STATE_LABELS[s] for s in STATE_LABELS},
    scope=lambda c: [Activity.owner_id == c.user.id],
    search=(Activity.name,),
    filters=[Filter("needs_action", "需要处理", Activity.status, kind="flag",
                    apply=lambda v, c: Activity.status.in_((PROVINCE_REJECTED,
                                                            NATIONAL_REJECTED, DRAFT)),
                    all_label="全部活动")],
    sorts=[Sort("updated", "更新时间", (Activity.updated_at,)),
           Sort("start", "活动时间", (Activity.start_at,)),
           Sort("name", "活动名称", (Activity.name,), default_order="asc")],
    options=lambda: (joinedload(Activity.campaign),),
    search_label="活动名称", search_placeholder="输入活动名称搜索", noun="个",
    item_label="活动", list_endpoint="science_day.my_activities",
    detail_endpoint="science_day.view_activity", detail_id_arg="activity_id")


@bp.get("/activities/mine")
@login_required
def my_activities():
    campaign = current_campaign()
    settings = ScienceDaySettings(campaign) if campaign else None
    page = MY_QUEUE.page(QueueContext(current_user, campaign), request.args)
    return render("science_day/apply/mine.html", block="results", page=page,
                  rows=ops.my_rows(page.items, current_user), campaign=campaign,
                  settings=settings, window=settings.phase("filing") if settings else None,
                  is_officer=officer_ops.is_officer(current_user),
                  labels=STATE_LABELS, hints=STATE_HINTS, approved=APPROVED)


# --------------------------------------------------------------------------- admin: officers

@bp.get("/admin/officers")
@platform_admin_required
def admin_officers():
    state = request.args.get("state") if request.args.get("state") in (
        "active", "revoked", "all") else "active"
    page = max(parse_int(request.args.get("page")) or 1, 1)
    q = (request.args.get("q") or "").strip()
    rows, total = officer_ops.list_officers(q, state, page)
    return render("science_day/apply/admin_officers.html", rows=rows, total=total, q=q,
                  state=state, page=page, per_page=50, errors={}, posted_reason={})


@bp.post("/admin/officers/<int:officer_id>/revoke")
@platform_admin_required
def admin_officer_revoke(officer_id: int):
    row = db.get_or_404(InfoOfficer, officer_id)
    reason = request.form.get("reason", "")
    try:
        officer_ops.revoke(row, current_user, reason)
    except OperationError as e:
        rows, total = officer_ops.list_officers("", "active", 1)
        if row not in rows:
            rows = [row] + rows
        return render("science_day/apply/admin_officers.html", status=422, rows=rows,
                      total=total, q="", state="active", page=1, per_page=50,
                      errors={row.id: e.message}, posted_reason={row.id: reason})
    flash(f"已撤销 {row.user.display_name} 的科普中国信息员资格。", "success")
    return redirect(url_for(".admin_officers"), 303)
