"""National showcase selection (精选展示, seed 004): at most ``showcase_total`` (100) in
all, about ``showcase_targets`` per category (科普作品传播 ~40 from the works call's
入选 works of the same year, 科普活动服务 ~30, 科普阵地建设 ~30).

The total is a hard limit, enforced race-safely: lock the edition's ``Campaign`` row,
write, then count within the same transaction and roll back when over. Category
targets are approximate: exceeding one only yields a warning. Not bound by the window.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from ...admin.models import Campaign
from ...extensions import db
from ...timeutil import utcnow
from ...selections import pool
from ...workflow import OperationError, audit, lock_row
from ..common import settings_of
from ..models import COUNTED_STATES, Case, ShowcaseWork, is_national

CONFLICT_MESSAGE = "操作冲突，请刷新后重试"
WORKS = "works"


def works_campaign_for(campaign) -> Campaign | None:
    """The works-call edition of the same year as the cases edition."""
    return db.session.scalar(select(Campaign).where(
        Campaign.kind == "works", Campaign.year == campaign.year)
        .order_by(Campaign.id.desc()).limit(1))


def works_pool():
    """The works call's 入选 works (kepu.selections), or None without that campaign."""
    return pool("works")


def selected_works_query(campaign):
    """Works marked 入选 in the same-year works edition (the 科普作品传播 pool)."""
    works = works_pool()
    if works is None or works_campaign_for(campaign) is None:
        return None
    return works.query(campaign.year)


def showcase_work_ids(campaign) -> set[int]:
    return set(db.session.scalars(select(ShowcaseWork.work_id).where(
        ShowcaseWork.campaign_id == campaign.id)))


def counts(campaign) -> dict[str, int]:
    """Selected per category ("works", "activity", "venue"…) and "total"."""
    out: dict[str, int] = {WORKS: 0}
    settings = settings_of(campaign)
    for key in settings["categories"]:
        out[key] = 0
    works = works_pool()
    if works is not None and works_campaign_for(campaign) is not None:
        out[WORKS] = db.session.scalar(
            select(func.count(ShowcaseWork.id))
            .join(works.model, works.model.id == ShowcaseWork.work_id)
            .where(ShowcaseWork.campaign_id == campaign.id,
                   *works.selected(campaign.year))) or 0
    rows = db.session.execute(
        select(Case.category, func.count(Case.id))
        .where(Case.campaign_id == campaign.id, Case.selected.is_(True),
               Case.status.in_(COUNTED_STATES))
        .group_by(Case.category)).all()
    for cat, n in rows:
        out[cat] = out.get(cat, 0) + n
    out["total"] = sum(out.values())
    return out


def counters(campaign) -> dict:
    """What the live counter shows: total vs limit, each category vs its target."""
    settings = settings_of(campaign)
    c = counts(campaign)
    targets = settings["showcase_targets"]
    limit = int(settings["showcase_total"])
    cats = []
    for key in [WORKS, *settings["categories"].keys()]:
        target = int(targets.get(key, 0) or 0)
        cats.append({"key": key, "label": settings.category_label(key), "count": c.get(key, 0),
                     "target": target, "over": bool(target) and c.get(key, 0) > target})
    return {"total": c["total"], "limit": limit, "full": c["total"] >= limit,
            "categories": cats,
            "warnings": [f"“{x['label']}”已选{x['count']}个，超过约{x['target']}个的目标"
                         for x in cats if x["over"]]}


def _over_limit(campaign) -> str | None:
    limit = int(settings_of(campaign)["showcase_total"])
    if counts(campaign)["total"] > limit:
        return f"入选展示的案例已达上限（总数不超过{limit}个），请先取消其他案例"
    return None


def set_case_selected(case: Case, user, value: bool) -> None:
    if not is_national(user):
        raise OperationError("无权执行此操作", code="forbidden")
    if case.status not in COUNTED_STATES:
        raise OperationError("只能选择已推荐的案例", code="wrong_state")
    if bool(case.selected) == bool(value):
        return
    campaign = case.campaign
    try:
        lock_row(Campaign, campaign.id)
        case.selected = bool(value)
        case.selected_at = utcnow() if value else None
        db.session.flush()  # the write first (SQLite: takes the write lock), then count
        if value:
            message = _over_limit(campaign)
            if message:
                db.session.rollback()
                raise OperationError(message, code="limit")
        audit("case", case.id, "showcase_select" if value else "showcase_unselect", user,
              data={"campaign_id": campaign.id})
        db.session.commit()
    except OperationalError:
        db.session.rollback()
        raise OperationError(CONFLICT_MESSAGE, code="conflict") from None


def work_in_pool(campaign, work) -> bool:
    works = works_pool()
    return works is not None and works.contains(work, campaign.year)


def set_work_selected(campaign, work, user, value: bool) -> None:
    if not is_national(user):
        raise OperationError("无权执行此操作", code="forbidden")
    if value and not work_in_pool(campaign, work):
        raise OperationError("只能选择本年度优质科普作品征集中已入选的作品", code="wrong_state")
    try:
        lock_row(Campaign, campaign.id)
        row = db.session.scalar(select(ShowcaseWork).where(
            ShowcaseWork.campaign_id == campaign.id, ShowcaseWork.work_id == work.id))
        if bool(row) == bool(value):
            db.session.rollback()
            return
        if value:
            db.session.add(ShowcaseWork(campaign_id=campaign.id, work_id=work.id,
                                        selected_by_id=user.id))
            db.session.flush()
            message = _over_limit(campaign)
            if message:
                db.session.rollback()
                raise OperationError(message, code="limit")
        else:
            db.session.delete(row)
        audit("work", work.id, "showcase_select" if value else "showcase_unselect", user,
              data={"campaign_id": campaign.id})
        db.session.commit()
    except (OperationalError, IntegrityError):
        # SQLite lock errors; the unique row when two admins add the same work at once
        db.session.rollback()
        raise OperationError(CONFLICT_MESSAGE, code="conflict") from None
