"""The 活动管理 lists' xlsx (a job on the task queue) and CSV (streamed) exports.

One export kind per list (``science_day.review_<list>``); params are plain values: the
edition, the list, its scope (the route province, the 归口 org, the region) and the list's
query string. The worker re-checks the scope for the requester — a grant revoked since
the click refuses the export — and rebuilds the query with the queue's own clauses, so
the file has exactly the rows of the filtered list, read 1,000 at a time.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from ..accounts import roles as R
from ..accounts.models import User
from ..admin.models import Campaign
from ..exports import ExportSpec, Sheet, export_kind
from ..extensions import db
from ..jobs import JobRefused
from ..orgs import regions
from ..orgs.models import Org
from ..review_queue import QueueContext
from ..timeutil import fmt
from .flow import STATE_LABELS
from .models import Activity, is_national, provinces_of
from .queues import NATIONAL_QUEUE, PROVINCE_QUEUE, REGION_QUEUE, SUPERVISOR_QUEUE
from .routing import route_label
from .settings import KIND, ScienceDaySettings

QUEUES = {"province": PROVINCE_QUEUE, "national": NATIONAL_QUEUE,
          "supervisor": SUPERVISOR_QUEUE, "region": REGION_QUEUE}
HEADER = [
    "Id", "活动名称", "填报单位", "所在地区", "提交人", "提交人手机", "提交时间", "审核状态",
    "上下架", "退回原因", "活动方式", "活动类型", "开始时间", "结束时间", "归口类别", "归口单位",
    "首审省份", "主办单位", "承办单位", "食品安全", "纳入联合行动", "纳入科普专项行动",
    "纳入青少年科学节", "合作部委或委办厅局", "合作学会", "预约链接", "活动对象", "参与科技工作者",
    "联系人", "联系电话", "活动详情", "已修改次数", "提前不足规定天数",
]
WIDTHS = {1: 36, 2: 28, 3: 24, 17: 30, 30: 60}
BATCH = 1000


def scoped_context(user, list_key: str, campaign: Campaign, scope: str = "") -> QueueContext:
    """The list's context for ``user`` — or JobRefused when the list or scope is not theirs."""
    extra: dict = {"settings": ScienceDaySettings(campaign)}
    org = None
    if list_key == "province":
        if scope not in provinces_of(user):
            raise JobRefused("您已不是该省份的审核管理员，不能导出")
        extra.update(route=scope, region_base=scope if regions.get(scope) else None)
    elif list_key == "national":
        if not is_national(user):
            raise JobRefused("无权导出全国活动")
    elif list_key == "supervisor":
        org = next((g.org for g in user.grants if g.role in (R.SOCIETY_ADMIN, R.MINISTRY_ADMIN)
                    and g.org is not None and str(g.org.id) == str(scope)), None)
        if org is None:
            raise JobRefused("您已不是该归口单位的管理员，不能导出")
    elif list_key == "region":
        if not any(g.role in (R.CITY_ADMIN, R.COUNTY_ADMIN) and g.region_code == scope
                   for g in user.grants):
            raise JobRefused("您已不是该地区的管理员，不能导出")
        extra.update(region_base=scope)
    else:
        raise JobRefused("没有这个活动列表")
    return QueueContext(user, campaign, org, extra=extra)


def scope_of(list_key: str, ctx: QueueContext) -> str:
    """The scope value of a list page's context (what ``scoped_context`` takes back)."""
    if list_key == "province":
        return ctx.extra["route"]
    if list_key == "supervisor":
        return str(ctx.org.id)
    if list_key == "region":
        return ctx.extra["region_base"]
    return ""


def _names(items) -> str:
    return "、".join(str((i or {}).get("name", "")) for i in items or []
                    if isinstance(i, dict) and i.get("name"))


def _scientists(items, note: str) -> str:
    people = ["，".join(x for x in (str(s.get("name", "")), str(s.get("unit", "")),
                                   str(s.get("title", ""))) if x)
              for s in items or [] if isinstance(s, dict) and s.get("name")]
    return "\n".join(people) or (note or "")


def _yes(flag: bool, items=None) -> str:
    if not flag:
        return "否"
    listed = [str(i) for i in items or [] if i]
    return "是" + (f"（{'、'.join(listed)}）" if listed else "")


def spec(user, params: dict) -> ExportSpec:
    campaign = db.session.get(Campaign, int(params.get("campaign_id") or 0))
    if campaign is None or campaign.kind != KIND:
        raise JobRefused("该届全国科普日不存在")
    list_key = str(params.get("list") or "")
    ctx = scoped_context(user, list_key, campaign, str(params.get("scope") or ""))
    queue = QUEUES[list_key]
    args = queue.parse(params.get("qs", ""), ctx)
    where = queue.where(ctx, args)
    total = db.session.scalar(select(func.count(Activity.id)).where(*where)) or 0
    owner, sup = aliased(User), aliased(Org)
    stmt = (select(Activity, owner.name, owner.phone, sup.name).where(*where)
            .order_by(*queue.order_by(args))
            .outerjoin(owner, owner.id == Activity.owner_id)
            .outerjoin(sup, sup.id == Activity.supervisor_org_id))

    def rows():
        result = db.session.execute(stmt.execution_options(yield_per=BATCH))
        for batch in result.partitions(BATCH):
            for a, owner_name, owner_phone, sup_name in batch:
                yield [
                    a.id, a.name, a.filer_unit, regions.full_name(a.region_code) or "",
                    owner_name or "", owner_phone or "", fmt(a.submitted_at),
                    STATE_LABELS.get(a.status, a.status), "上架" if a.listed else "下架",
                    a.reject_reason or "", a.mode, a.activity_type, fmt(a.start_at),
                    fmt(a.end_at), a.supervisor_category, sup_name or "",
                    route_label(a.route_province) if a.route_province else "（全国直审）",
                    _names(a.hosts), _names(a.organisers), _yes(a.food_safety),
                    _yes(a.joint_action, a.joint_action_items),
                    _yes(a.special_action, a.special_action_items), _yes(a.youth_festival),
                    _names(a.gov_coop_orgs), _names(a.society_coop_orgs),
                    a.booking_url if a.booking else "", a.audience,
                    _scientists(a.scientists, a.scientists_note), a.contact_name,
                    a.contact_phone, a.details, a.edits_used, _yes(a.short_notice),
                ]
                db.session.expunge(a)  # memory stays flat whatever the count

    label = {"province": route_label(ctx.extra.get("route")),
             "supervisor": ctx.org.name if ctx.org else "",
             "region": regions.full_name(ctx.extra.get("region_base")) or "",
             "national": "全国"}[list_key]
    return ExportSpec(f"{campaign.title}_{label}_活动列表.xlsx",
                      [Sheet("活动列表", HEADER, rows())], total=total, widths=WIDTHS)


for _key in QUEUES:
    export_kind(f"science_day.review_{_key}")(spec)
