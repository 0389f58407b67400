"""The works call's xlsx / CSV exports of the review lists, as export kinds on the task
queue (kepu.exports): the filtered unit list and the platform admin's list, every field
of every work, any size. The worker rebuilds the list's query from plain params (the
edition, the unit, the list's query string) with the queue's own clauses, re-checks the
requester's permission, and streams rows read as plain tuples, 1,000 at a time, with
their files' names fetched per batch, so memory stays flat whatever the count.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from ..accounts import roles as R
from ..accounts.models import User
from ..admin.models import Campaign
from ..exports import ExportSpec, Sheet, export_kind
from ..extensions import db
from ..files.models import StoredFile
from ..jobs import JobRefused
from ..orgs.models import Org
from ..review_queue import QueueContext
from ..timeutil import fmt
from .flow import STATE_LABELS
from .models import ENTITY, F_AWARD_FILES, F_COVER, F_COVER_SUB, F_WORK_FILES, Work
from .queues import ADMIN_QUEUE, UNIT_QUEUE
from .settings import WorksSettings

EXPORT_HEADER = [
    "编号", "作品名称", "作品类型", "作品分类", "作品简介", "作者姓名", "申报单位", "单位地址",
    "联系人", "联系电话", "电子邮箱", "职务/职称", "申报单位类型", "推荐渠道", "亮点总结",
    "相关媒体报道", "获奖情况", "状态", "退回意见", "提交时间", "推荐时间", "更新时间",
    "申报账号", "作品封面", "封面副图", "作品文件", "获奖情况附件",
]
FILE_FIELDS = (F_COVER, F_COVER_SUB, F_WORK_FILES, F_AWARD_FILES)
WIDTHS = {1: 30, 4: 60, 14: 60}
BATCH = 1000


def file_names(work_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    """{work id: {field key: [original names]}} for a batch of works."""
    out: dict[int, dict[str, list[str]]] = {}
    if not work_ids:
        return out
    rows = db.session.execute(
        select(StoredFile.entity_id, StoredFile.field, StoredFile.original_name)
        .where(StoredFile.entity_type == ENTITY, StoredFile.entity_id.in_(work_ids))
        .order_by(StoredFile.created_at, StoredFile.id))
    for wid, fieldname, name in rows:
        key = fieldname.rsplit(":", 1)[-1]
        out.setdefault(wid, {}).setdefault(key, []).append(name)
    return out


def media_text(items) -> str:
    parts = []
    for m in items or []:
        if isinstance(m, dict):
            parts.append(" ".join(x for x in (m.get("title", ""), m.get("url", "")) if x))
        elif m:
            parts.append(str(m))
    return "\n".join(parts)


def _spec(queue, ctx: QueueContext, qs: str, filename: str) -> ExportSpec:
    args = queue.parse(qs, ctx)
    where = queue.where(ctx, args)
    total = db.session.scalar(select(func.count(Work.id)).where(*where)) or 0
    owner, channel = aliased(User), aliased(Org)
    cols = (Work.id, Work.title, Work.work_type, Work.category, Work.intro,
            Work.author_name, Work.applicant_unit, Work.unit_address, Work.contact_name,
            Work.contact_phone, Work.email, Work.job_title, Work.unit_type, channel.name,
            Work.highlights, Work.media_reports, Work.awards, Work.status,
            Work.return_comment, Work.submitted_at, Work.recommended_at, Work.updated_at,
            owner.phone)
    stmt = (select(*cols).where(*where).order_by(*queue.order_by(args))
            .outerjoin(owner, owner.id == Work.owner_id)
            .outerjoin(channel, channel.id == Work.channel_id))

    def rows():
        result = db.session.execute(stmt.execution_options(yield_per=BATCH))
        for batch in result.partitions(BATCH):
            files = file_names([r[0] for r in batch])
            for r in batch:
                f = files.get(r[0], {})
                yield [*r[:15], media_text(r[15]), r[16], STATE_LABELS.get(r[17], r[17]),
                       r[18], fmt(r[19]), fmt(r[20]), fmt(r[21]), r[22] or "",
                       *["\n".join(f.get(k, [])) for k in FILE_FIELDS]]

    return ExportSpec(filename, [Sheet("作品列表", EXPORT_HEADER, rows())], total=total,
                      widths=WIDTHS)


def _campaign(params) -> Campaign:
    campaign = db.session.get(Campaign, int(params.get("campaign_id") or 0))
    if campaign is None or campaign.kind != "works":
        raise JobRefused("该届作品征集不存在")
    return campaign


@export_kind("works.unit_list")
def unit_list_export(user, params) -> ExportSpec:
    """A recommender unit's works (the unit list's filters)."""
    campaign = _campaign(params)
    org_id = int(params.get("org_id") or 0)
    if org_id not in user.org_ids_for(R.UNIT_ADMIN):
        raise JobRefused("您已不是该推荐单位的管理员，不能导出")
    org = db.session.get(Org, org_id)
    ctx = QueueContext(user, campaign, org, extra={"settings": WorksSettings(campaign)})
    return _spec(UNIT_QUEUE, ctx, params.get("qs", ""), f"{org.name}_推荐作品列表.xlsx")


@export_kind("works.admin_list")
def admin_list_export(user, params) -> ExportSpec:
    """Every non-draft work of the edition (the admin list's filters)."""
    campaign = _campaign(params)
    if not user.is_platform_admin:
        raise JobRefused("无权导出全部作品")
    ctx = QueueContext(user, campaign, extra={"settings": WorksSettings(campaign)})
    return _spec(ADMIN_QUEUE, ctx, params.get("qs", ""), f"{campaign.title}_全部作品列表.xlsx")
