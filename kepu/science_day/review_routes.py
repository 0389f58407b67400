"""活动管理: the review lists of 全国科普日 on the shared review queue.

URL map (blueprint ``science_day``, prefix /science-day):

  GET       /review/                                review_home       the first list the user has
  GET       /review/<list>/                         review_<list>     province | national |
                                                                      supervisor | region
  GET       /review/<list>/<id>                     review_<list>_detail
  GET       /review/<list>/<id>/row                 review_<list>_row       (HTMX 取消)
  GET|POST  /review/<list>/<id>/<action>            review_<list>_<action>  (province and
                                                     national lists: 通过 / 退回 / 撤销)
  POST      /review/<list>/bulk                     review_<list>_bulk      bulk 通过 (confirmed)
  POST      /review/<list>/export.xlsx              review_<list>_export    the filtered list
                                                                      (a job on the task queue)
  GET       /review/<list>/export.csv               review_<list>_export_csv  (streamed)

Scope: a provincial admin sees the activities whose first review is theirs (route
province), the national admin every submitted activity, a society / ministry admin
those 归口 to their org, a city / county admin those of their region (read-only).
Anything else — another province's activity included — is 404.
"""
from __future__ import annotations

from flask import abort, redirect, request, session, url_for
from flask_login import current_user, login_required

from ..accounts import roles as R
from ..exports import export_csv_response, start_export_response
from ..extensions import db
from ..files.operations import files_for
from ..orgs import regions
from ..review_queue import Deadline, QueueContext
from ..review_queue.views import QueueViews
from . import bp
from . import exports as _exports
from .files import field_name
from .flow import ACTIVITY_FLOW, STATE_LABELS
from .models import (APPROVED, ENTITY, F_DETAIL_IMAGE, F_POSTER, NATIONAL_PENDING,
                     NATIONAL_REJECTED, PROVINCE_PENDING, PROVINCE_REJECTED, Activity,
                     is_national, provinces_of)
from .operations import review as ops
from .operations.listing import LABELS as LISTING_LABELS
from .operations.common import settings_of, viewed_campaign
from .queues import (NATIONAL_QUEUE, PROVINCE_QUEUE, REGION_QUEUE, SUPERVISOR_QUEUE,
                     review_roles)
from .routing import route_label
from .settings import ScienceDaySettings

BADGES = {PROVINCE_PENDING: "badge-pending", NATIONAL_PENDING: "badge-pending",
          PROVINCE_REJECTED: "badge-bad", NATIONAL_REJECTED: "badge-bad",
          APPROVED: "badge-ok"}
LIST_TEMPLATE = "science_day/review_list.html"


# --- who sees which list -------------------------------------------------------------------

def _choose(options: list, arg: str):
    """The option picked with ?<arg>= among the user's own (404 for anything else)."""
    if not options:
        abort(404)
    raw = (request.values.get(arg) or "").strip()
    if not raw:
        return options[0]
    for o in options:
        if str(o[0]) == raw:
            return o
    abort(404)


def _base_ctx(campaign, org=None, **extra) -> QueueContext:
    settings = ScienceDaySettings(campaign)
    return QueueContext(current_user, campaign, org, can_decide=True,
                        extra={"settings": settings, **extra})


def _province_routes() -> list[tuple[str, str]]:
    return [(key, route_label(key)) for key in sorted(provinces_of(current_user))]


def _province_ctx(activity: Activity | None = None) -> QueueContext:
    routes = _province_routes()
    if activity is not None:
        if activity.route_province not in dict(routes):
            abort(404)
        key = activity.route_province
        campaign = activity.campaign
    else:
        key = _choose(routes, "route")[0]
        campaign = viewed_campaign()
    base = key if regions.get(key) else None
    return _base_ctx(campaign, route=key, region_base=base, switch=("route", routes, key),
                     list_url_args={"route": key} if len(routes) > 1 else {})


def _national_ctx(activity: Activity | None = None) -> QueueContext:
    if not is_national(current_user):
        abort(404)
    return _base_ctx(activity.campaign if activity else viewed_campaign())


def _supervisor_orgs() -> list:
    orgs = {g.org.id: g.org for g in current_user.grants
            if g.role in (R.SOCIETY_ADMIN, R.MINISTRY_ADMIN) and g.org is not None}
    return sorted(((o.id, o.name, o) for o in orgs.values()), key=lambda t: t[1])


def _supervisor_ctx(activity: Activity | None = None) -> QueueContext:
    orgs = _supervisor_orgs()
    if activity is not None:
        match = [o for o in orgs if o[0] == activity.supervisor_org_id]
        if not match:
            abort(404)
        chosen, campaign = match[0], activity.campaign
    else:
        chosen, campaign = _choose(orgs, "org"), viewed_campaign()
    return _base_ctx(campaign, chosen[2],
                     switch=("org", [(o[0], o[1]) for o in orgs], chosen[0]),
                     list_url_args={"org": chosen[0]} if len(orgs) > 1 else {})


def _regions_of_user() -> list[tuple[str, str]]:
    codes = sorted({g.region_code for g in current_user.grants
                    if g.role in (R.CITY_ADMIN, R.COUNTY_ADMIN) and g.region_code})
    return [(c, regions.full_name(c) or c) for c in codes]


def _region_ctx(activity: Activity | None = None) -> QueueContext:
    mine = _regions_of_user()
    if activity is not None:
        match = [r for r in mine if (activity.region_code or "").startswith(r[0])]
        if not match or activity.status == "draft":
            abort(404)
        code, campaign = match[0][0], activity.campaign
    else:
        code, campaign = _choose(mine, "region")[0], viewed_campaign()
    ctx = _base_ctx(campaign, region_base=code, switch=("region", mine, code),
                    list_url_args={"region": code} if len(mine) > 1 else {})
    ctx.can_decide = False
    return ctx


def _deadline(campaign) -> Deadline | None:
    close = ScienceDaySettings(campaign).window_of("filing")[1]
    return Deadline("活动信息填报截止", close, note="截止后仍可继续审核") if close else None


def _page_extra(page) -> dict:
    ctx = page.ctx
    list_key = page.queue.key.split(".")[1]
    export = None
    if ctx.campaign is not None:
        query = {**ctx.extra.get("list_url_args", {}), **page.args.query(page=None,
                                                                          per_page=None)}
        export = (url_for(f"science_day.review_{list_key}_export", **query),
                  url_for(f"science_day.review_{list_key}_export_csv", **query))
    return dict(export=export, campaign=ctx.campaign, settings=ctx.extra["settings"],
                state_labels=STATE_LABELS, badges=BADGES, deadline=_deadline(ctx.campaign),
                switch=ctx.extra.get("switch"), list_key=page.queue.key.split(".")[1],
                region_name=regions.full_name, route_label=route_label,
                lists=review_roles(current_user))


# --- the detail page ----------------------------------------------------------------------------

def principles(activity: Activity, settings: ScienceDaySettings, poster: bool) -> list[dict]:
    """Seed 002 四(二)'s seven review principles, with what the data already answers
    (ok True / False) or None where only the reviewer can judge."""
    notice = None
    if activity.start_at and activity.submitted_at:
        notice = (activity.start_at - activity.submitted_at).total_seconds() / 86400
    days = settings.get("notice_days", 7)
    scientists = [s for s in (activity.scientists or []) if (s or {}).get("name")]
    contact = bool(activity.contact_name and activity.contact_phone)
    return [
        {"text": f"于活动举办前 {days} 日在平台发布活动",
         "ok": None if notice is None else notice >= days,
         "data": "—" if notice is None else f"提交时距活动开始 {notice:.1f} 天"},
        {"text": "活动名称规范，活动组织架构完整，主办单位名称准确",
         "ok": None, "data": f"主办单位 {len(activity.hosts or [])} 个，承办单位 "
                             f"{len(activity.organisers or [])} 个"},
        {"text": "高质量填写活动简介，围绕科普日主题，具有参与性和互动性，不得为商业推广、日常教学",
         "ok": None, "data": f"活动详情 {len(activity.details or '')} 字"},
        {"text": "上传高质量宣传海报或活动宣传图片", "ok": poster,
         "data": "已上传宣传图" if poster else "未上传宣传图"},
        {"text": "提供活动联系人和联系方式，或明确的预约渠道及参与方式",
         "ok": contact or bool(activity.booking and activity.booking_url),
         "data": "；".join(x for x in (
             f"联系人 {activity.contact_name} {activity.contact_phone}" if contact else "",
             f"预约链接 {activity.booking_url}" if activity.booking and activity.booking_url
             else "") if x) or "未提供"},
        {"text": "通过宣传栏、展板、报刊、微博、微信公众号等渠道发布活动进行预热", "ok": None,
         "data": "请在活动详情中核对"},
        {"text": "提供主要参与的科技工作者（不超过 3 人）",
         "ok": 1 <= len(scientists) <= 3 if scientists else False,
         "data": "、".join(s["name"] for s in scientists) if scientists
         else ("仅描述：" + activity.scientists_note if activity.scientists_note else "未提供")},
    ]


def _detail_ctx(activity: Activity) -> dict:
    files = files_for(ENTITY, activity.id)
    poster_field = field_name(activity.campaign_id, F_POSTER)
    image_field = field_name(activity.campaign_id, F_DETAIL_IMAGE)
    posters = [f for f in files if f.field == poster_field]
    settings = settings_of(activity)
    history = ops.history(activity)
    return dict(activity=activity, settings=settings, posters=posters,
                images=[f for f in files if f.field == image_field], history=history,
                action_labels={**{a: t.label for a, t in ACTIVITY_FLOW.transitions.items()},
                               **LISTING_LABELS},
                principles=principles(activity, settings, bool(posters)), badges=BADGES,
                state_labels=STATE_LABELS, region_name=regions.full_name,
                route_label=route_label, now_status=activity.time_status())


# --- the lists -------------------------------------------------------------------------------

def _decision(action):
    return lambda activity, user, comment: ops.decide(activity, action, user, comment)


def _undo(action):
    return lambda activity, user, comment: ops.undo(activity, action, user)


NOTICES = {"province_approve": "已通过“{title}”，提交全国审核。",
           "province_reject": "已退回“{title}”。",
           "national_approve": "已通过“{title}”，活动已在全国科普日网站展示。",
           "national_reject": "已退回“{title}”。",
           "province_unapprove": "已撤销通过，“{title}”回到省管理员审批中。",
           "province_unreject": "已撤销退回，“{title}”回到省管理员审批中。",
           "national_unapprove": "已撤销通过，“{title}”回到全国审批中。",
           "national_unreject": "已撤销退回，“{title}”回到全国审批中。"}

LISTS = {
    "province": (PROVINCE_QUEUE, _province_ctx),
    "national": (NATIONAL_QUEUE, _national_ctx),
    "supervisor": (SUPERVISOR_QUEUE, _supervisor_ctx),
    "region": (REGION_QUEUE, _region_ctx),
}
VIEWS: dict[str, QueueViews] = {}


def _visible(activity_id: int, list_key: str) -> tuple[Activity, QueueContext]:
    activity = db.get_or_404(Activity, activity_id)
    if activity.status == "draft":
        abort(404)
    queue, make_ctx = LISTS[list_key]
    ctx = make_ctx(activity)   # 404 outside the viewer's scope
    return activity, ctx


def _register(list_key: str) -> None:
    queue, make_ctx = LISTS[list_key]
    endpoints = {a.key: f"science_day.review_{list_key}_{a.key}" for a in queue.actions}
    views = QueueViews(
        queue, list_template=LIST_TEMPLATE, row_template="science_day/_review_row.html",
        detail_template="science_day/review_detail.html",
        context=lambda activity: _visible(activity.id, list_key)[1],
        operations={a.key: (_undo(a.key) if a.is_undo else _decision(a.key))
                    for a in queue.actions},
        detail_context=_detail_ctx, page_context=_page_extra, notices=NOTICES,
        title=lambda a: a.display_name, action_endpoints=endpoints,
        row_endpoint=f"science_day.review_{list_key}_row", id_arg="activity_id",
        row_id_prefix="activity-row-")
    VIEWS[list_key] = views
    queue.detail_endpoint = f"science_day.review_{list_key}_detail"

    @login_required
    def list_view():
        return views.list_page(make_ctx(), clear_selection=session.pop("queue_clear", None))

    @login_required
    def detail_view(activity_id: int):
        activity, _ = _visible(activity_id, list_key)
        return views.detail(activity)

    @login_required
    def row_view(activity_id: int):
        activity, _ = _visible(activity_id, list_key)
        return views.row(activity)

    prefix = f"/review/{list_key}"
    bp.add_url_rule(f"{prefix}/", f"review_{list_key}", list_view, methods=["GET"])
    bp.add_url_rule(f"{prefix}/<int:activity_id>", f"review_{list_key}_detail", detail_view,
                    methods=["GET"])
    bp.add_url_rule(f"{prefix}/<int:activity_id>/row", f"review_{list_key}_row", row_view,
                    methods=["GET"])
    for action in queue.actions:
        def act(activity_id: int, _action=action):
            activity, _ = _visible(activity_id, list_key)
            if request.method == "GET":
                if not _action.comment:
                    abort(405)
                return views.open_comment(activity, _action.key)
            return views.decide(activity, _action.key)

        bp.add_url_rule(f"{prefix}/<int:activity_id>/{action.key}",
                        f"review_{list_key}_{action.key}", login_required(act),
                        methods=["GET", "POST"] if action.comment else ["POST"])
    def export_params():
        ctx = make_ctx()
        if ctx.campaign is None:
            abort(404)
        args = queue.parse(request.args, ctx)
        return ctx, {"campaign_id": ctx.campaign_id, "list": list_key,
                     "scope": _exports.scope_of(list_key, ctx),
                     "qs": args.query_string(page=None, per_page=None)}

    @login_required
    def export_view():
        ctx, params = export_params()
        return start_export_response(f"science_day.review_{list_key}", params,
                                     f"{ctx.campaign.title} 活动列表（Excel）")

    @login_required
    def export_csv_view():
        return export_csv_response(f"science_day.review_{list_key}", export_params()[1])

    bp.add_url_rule(f"{prefix}/export.xlsx", f"review_{list_key}_export", export_view,
                    methods=["POST"])
    bp.add_url_rule(f"{prefix}/export.csv", f"review_{list_key}_export_csv", export_csv_view,
                    methods=["GET"])
    if any(a.bulk for a in queue.actions):
        @login_required
        def bulk_view():
            return views.bulk(make_ctx(), request.form.get("action") or "", "queue/confirm.html")

        bp.add_url_rule(f"{prefix}/bulk", f"review_{list_key}_bulk", bulk_view,
                        methods=["POST"])


for _key in LISTS:
    _register(_key)


@bp.get("/review/")
@login_required
def review_home():
    lists = review_roles(current_user)
    if not lists:
        abort(404)
    return redirect(url_for(lists[0][0]))
