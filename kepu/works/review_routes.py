"""Recommender-unit review and the platform admin's list of all works, on the shared
review queue (kepu.review_queue; the lists are declared in kepu.works.queues).

URL map (blueprint ``works``, prefix /works):

  GET       /unit/                       unit_list        unit admin (?org=<id> switches unit)
  POST      /unit/export.xlsx            unit_export      unit admin: the filtered list (a job)
  GET       /unit/export.csv             unit_export_csv  unit admin: the filtered list (streamed)
  POST      /unit/bulk                   unit_bulk        unit admin: bulk 推荐 (confirmed)
  POST      /unit/bulk-recommend         bulk_recommend   (older form name of the same)
  GET       /<id>/review                 review_detail    unit admin of the channel, platform admin
  GET       /<id>/review/row             review_row       same (HTMX: the row / panel, 取消)
  POST      /<id>/recommend              recommend        unit admin of the channel
  GET|POST  /<id>/return                 return_work      unit admin of the channel
  POST      /<id>/unrecommend            unrecommend      unit admin: 撤销推荐 (before experts)
  POST      /<id>/unreturn               unreturn         unit admin: 撤销退回 (untouched since)
  GET       /admin/                      admin_list       platform admin
  POST      /admin/export.xlsx           admin_export     platform admin (a job)
  GET       /admin/export.csv            admin_export_csv platform admin (streamed)
  GET|POST  /admin/quotas                admin_quotas     platform admin

Decision forms carry ``view`` (row / detail), the list's query string ``qs`` and, for
推荐并下一件, ``then=next``; see kepu.review_queue.views.
"""
from __future__ import annotations

from flask import abort, flash, redirect, request, session, url_for
from flask_login import current_user, login_required

from ..accounts import roles as R
from ..accounts.permissions import platform_admin_required, role_required
from ..exports import export_csv_response, start_export_response
from ..extensions import db
from ..htmx import redirect_to, render
from ..orgs.models import Org
from ..review_queue import Deadline, QueueContext
from ..review_queue.views import QueueViews
from . import bp
from . import exports as _exports  # noqa: F401  (registers the export kinds)
from .flow import STATE_LABELS, WORK_FLOW
from .models import DRAFT, Work
from .operations import review as ops
from .operations.common import current_campaign, settings_of, viewed_campaign
from .queues import ADMIN_QUEUE, UNIT_QUEUE
from .settings import WorksSettings

LIST_TEMPLATE = "works/review_list.html"
ROW_TEMPLATE = "works/_review_row.html"
DETAIL_TEMPLATE = "works/review_detail.html"
CONFIRM_TEMPLATE = "queue/confirm.html"

BADGES = {"pending": "badge-pending", "returned": "badge-bad", "recommended": "badge-ok",
          "in_review": "badge-ok", "reviewed": "badge-ok"}


# --- scope helpers ----------------------------------------------------------------------
def _unit_orgs(user) -> list[Org]:
    return user.orgs_for(R.UNIT_ADMIN)


def _selected_org(orgs: list[Org]) -> Org:
    raw = (request.values.get("org") or "").strip()
    if raw:
        if not raw.isdigit() or len(raw) > 18:
            abort(404)
        for o in orgs:
            if o.id == int(raw):
                return o
        abort(404)
    return orgs[0]


def _reviewable_or_404(work_id: int) -> Work:
    """The work, if the current user is the unit admin of its channel; else 404."""
    work = db.get_or_404(Work, work_id)
    if not work.can_review(current_user):
        abort(404)
    return work


def _visible_or_404(work_id: int) -> Work:
    """Unit admin of the work's channel, or platform admin (non-draft works only)."""
    work = db.get_or_404(Work, work_id)
    if work.status == DRAFT:
        abort(404)
    if not (work.can_review(current_user) or current_user.is_platform_admin):
        abort(404)
    return work


def _deadline(settings: WorksSettings) -> Deadline | None:
    review_close = settings.review_close_at
    if review_close is not None:
        return Deadline("推荐截止", review_close)
    close = settings.window_close_at
    if close is not None:
        return Deadline("作品征集截止", close, note="截止后仍可继续推荐审核")
    return None


def _unit_context(work: Work | None = None, orgs: list[Org] | None = None) -> QueueContext:
    """The unit list's context: the work's channel, or the unit picked with ?org=."""
    if work is not None:
        campaign, org = work.campaign, work.channel
        several = len(current_user.org_ids_for(R.UNIT_ADMIN)) > 1
    else:
        campaign = viewed_campaign()
        org = _selected_org(orgs)
        several = len(orgs) > 1
    settings = WorksSettings(campaign)
    return QueueContext(
        current_user, campaign, org, can_decide=settings.review_window().open,
        extra={"settings": settings, "orgs": orgs or [],
               "list_url_args": {"org": org.id} if several else {}})


def _admin_context(work: Work | None = None) -> QueueContext:
    campaign = work.campaign if work is not None else viewed_campaign()
    return QueueContext(current_user, campaign, None, can_decide=True,
                        extra={"settings": WorksSettings(campaign)})


def _page_extra(page) -> dict:
    """Quota meter (unit list), deadline banner and labels for the list and its rows."""
    ctx = page.ctx
    settings = ctx.extra["settings"]
    extra = dict(mode="unit" if page.queue is UNIT_QUEUE else "admin", campaign=ctx.campaign,
                 settings=settings, org=ctx.org, orgs=ctx.extra.get("orgs", []),
                 state_labels=STATE_LABELS, badges=BADGES, deadline=_deadline(settings),
                 quota=None)
    if page.queue is UNIT_QUEUE and ctx.org is not None and ctx.campaign is not None:
        # the tabs' counts cover the unit's whole list unless a search or filter is on
        counts = page.counts if not page.args.active else None
        extra["quota"] = ops.quota_info(ctx.campaign.id, ctx.org.id, counts)
    export = "works.unit_export" if page.queue is UNIT_QUEUE else "works.admin_export"
    query = {**ctx.extra.get("list_url_args", {}), **page.args.query(page=None, per_page=None)}
    extra["export_url"] = url_for(export, **query)
    extra["export_csv_url"] = url_for(export + "_csv", **query)
    return extra


def _detail_ctx(work: Work) -> dict:
    from .operations.apply import work_files  # written by the applicant-side module

    return dict(
        work=work, settings=settings_of(work), files=work_files(work),
        history=WORK_FLOW.history(work),
        action_labels={a: t.label for a, t in WORK_FLOW.transitions.items()},
        badges=BADGES, state_labels=STATE_LABELS,
        assign_url=(url_for("works.admin_assign_work", work_id=work.id)
                    if current_user.is_platform_admin else None))


def _op(fn):
    return lambda work, user, comment: fn(work, user)


OPERATIONS = {
    "recommend": _op(ops.recommend),
    "return": lambda work, user, comment: ops.return_work(work, user, comment),
    "unrecommend": _op(ops.unrecommend),
    "unreturn": _op(ops.unreturn),
}
NOTICES = {
    "recommend": "已推荐作品《{title}》。",
    "return": "已将作品《{title}》退回修改。",
    "unrecommend": "已撤销推荐作品《{title}》，作品回到待推荐。",
    "unreturn": "已撤销退回，作品《{title}》回到待推荐。",
}
ENDPOINTS = {"recommend": "works.recommend", "return": "works.return_work",
             "unrecommend": "works.unrecommend", "unreturn": "works.unreturn",
             "assign": "works.admin_assign_work"}

_VIEWS_COMMON = dict(
    list_template=LIST_TEMPLATE, row_template=ROW_TEMPLATE, detail_template=DETAIL_TEMPLATE,
    operations=OPERATIONS, detail_context=_detail_ctx, page_context=_page_extra,
    notices=NOTICES, title=lambda w: w.display_title, action_endpoints=ENDPOINTS,
    row_endpoint="works.review_row", id_arg="work_id", row_id_prefix="work-row-")

UNIT_VIEWS = QueueViews(UNIT_QUEUE, context=lambda w: _unit_context(w),
                        bulk_endpoint="works.unit_bulk", **_VIEWS_COMMON)
ADMIN_VIEWS = QueueViews(ADMIN_QUEUE, context=lambda w: _admin_context(w), **_VIEWS_COMMON)


def _views_for(work: Work) -> QueueViews:
    """Decisions and detail pages use the unit's list when the viewer reviews the
    work, the admin's list otherwise."""
    return UNIT_VIEWS if work.can_review(current_user) else ADMIN_VIEWS


# --- lists -----------------------------------------------------------------------------------
@bp.get("/unit/")
@login_required
def unit_list():
    orgs = _unit_orgs(current_user)
    if not orgs:
        if current_user.is_platform_admin:
            return redirect(url_for("works.admin_list"))
        abort(404)
    return UNIT_VIEWS.list_page(_unit_context(orgs=orgs),
                                clear_selection=session.pop("queue_clear", None))


@bp.get("/admin/")
@platform_admin_required
def admin_list():
    return ADMIN_VIEWS.list_page(_admin_context(),
                                 clear_selection=session.pop("queue_clear", None))


# --- detail / row --------------------------------------------------------------------------
@bp.get("/<int:work_id>/review")
@login_required
def review_detail(work_id: int):
    work = _visible_or_404(work_id)
    return _views_for(work).detail(work)


@bp.get("/<int:work_id>/review/row")
@login_required
def review_row(work_id: int):
    """HTMX 取消: the row / review panel without the comment box."""
    work = _visible_or_404(work_id)
    return _views_for(work).row(work)


# --- decisions -----------------------------------------------------------------------------
@bp.post("/<int:work_id>/recommend")
@login_required
def recommend(work_id: int):
    return UNIT_VIEWS.decide(_reviewable_or_404(work_id), "recommend")


@bp.route("/<int:work_id>/return", methods=["GET", "POST"])
@login_required
def return_work(work_id: int):
    work = _reviewable_or_404(work_id)
    if request.method == "GET":
        return UNIT_VIEWS.open_comment(work, "return")
    return UNIT_VIEWS.decide(work, "return")


@bp.post("/<int:work_id>/unrecommend")
@login_required
def unrecommend(work_id: int):
    return UNIT_VIEWS.decide(_reviewable_or_404(work_id), "unrecommend")


@bp.post("/<int:work_id>/unreturn")
@login_required
def unreturn(work_id: int):
    return UNIT_VIEWS.decide(_reviewable_or_404(work_id), "unreturn")


@bp.post("/unit/bulk")
@role_required(R.UNIT_ADMIN)
def unit_bulk():
    orgs = _unit_orgs(current_user)
    if not orgs:
        abort(404)
    ctx = _unit_context(orgs=orgs)
    return UNIT_VIEWS.bulk(ctx, request.form.get("action") or "recommend", CONFIRM_TEMPLATE)


@bp.post("/unit/bulk-recommend")
@role_required(R.UNIT_ADMIN)
def bulk_recommend():
    """The same bulk 推荐 (older field name ``work_ids``), confirmed like any bulk."""
    from werkzeug.datastructures import MultiDict

    orgs = _unit_orgs(current_user)
    if not orgs:
        abort(404)
    ctx = _unit_context(orgs=orgs)
    form = MultiDict(request.form)
    form.setlist("ids", request.form.getlist("ids") or request.form.getlist("work_ids"))
    return UNIT_VIEWS.bulk(ctx, "recommend", CONFIRM_TEMPLATE, form=form)


# --- exports ---------------------------------------------------------------------------------
# Excel runs as a job on the task queue (any size; progress page, download when done);
# CSV streams at once. Both rebuild the list from its query string (kepu.works.exports).
def _export_params(ctx) -> dict:
    args = (UNIT_QUEUE if ctx.org is not None else ADMIN_QUEUE).parse(request.args, ctx)
    params = {"campaign_id": ctx.campaign_id, "qs": args.query_string(page=None, per_page=None)}
    if ctx.org is not None:
        params["org_id"] = ctx.org.id
    return params


def _unit_export_ctx():
    orgs = _unit_orgs(current_user)
    if not orgs:
        abort(404)
    ctx = _unit_context(orgs=orgs)
    if ctx.campaign is None:
        abort(404)
    return ctx


@bp.post("/unit/export.xlsx")
@login_required
def unit_export():
    ctx = _unit_export_ctx()
    return start_export_response("works.unit_list", _export_params(ctx),
                                 f"{ctx.org.name} 推荐作品列表（Excel）")


@bp.get("/unit/export.csv")
@login_required
def unit_export_csv():
    return export_csv_response("works.unit_list", _export_params(_unit_export_ctx()))


def _admin_export_ctx():
    ctx = _admin_context()
    if ctx.campaign is None:
        abort(404)
    return ctx


@bp.post("/admin/export.xlsx")
@platform_admin_required
def admin_export():
    ctx = _admin_export_ctx()
    return start_export_response("works.admin_list", _export_params(ctx),
                                 f"{ctx.campaign.title} 全部作品（Excel）")


@bp.get("/admin/export.csv")
@platform_admin_required
def admin_export_csv():
    return export_csv_response("works.admin_list", _export_params(_admin_export_ctx()))


# --- quotas --------------------------------------------------------------------------
@bp.route("/admin/quotas", methods=["GET", "POST"])
@platform_admin_required
def admin_quotas():
    campaign = current_campaign()
    q = (request.args.get("q") or "").strip()[:50]
    units = ops.recommender_units(q)
    usage = ops.usage_by_unit(campaign.id, [u.id for u in units]) if campaign else {}
    values = {u.id: ("" if usage.get(u.id) is None or usage[u.id].quota is None
                     else str(usage[u.id].quota)) for u in units}
    errors: dict[int, str] = {}
    if request.method == "POST" and campaign is not None:
        parsed: dict[int, int | None] = {}
        unit_ids = {u.id for u in units}
        for key in request.form:
            if not key.startswith("quota-"):
                continue
            raw_id = key[len("quota-"):]
            if not raw_id.isdigit() or int(raw_id) not in unit_ids:
                continue
            oid = int(raw_id)
            raw = request.form.get(key, "")
            values[oid] = raw.strip()
            value, error = ops.parse_quota(raw)
            if error:
                errors[oid] = error
            else:
                parsed[oid] = value
        if not errors:
            changed = ops.set_quotas(campaign, parsed, current_user)
            flash(f"已保存推荐限额（{changed} 个单位有变更）。" if changed else "推荐限额没有变更。",
                  "success")
            return redirect_to(url_for("works.admin_quotas", q=q or None))
    return render("works/admin_quotas.html", status=422 if errors else 200, campaign=campaign,
                  units=units, usage=usage, values=values, errors=errors, q=q)
