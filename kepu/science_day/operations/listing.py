"""The public face of approved activities: the snapshot, 下架 and 上架 (seed 002 三(三)).

- ``publish_snapshot(activity)``: called by operations/review.py when the national admin
  approves; writes ``ActivityPublic`` from the activity's (just approved) fields. An
  edit under review changes only the activity, so the public page keeps showing the last
  approved version until the next approval.
- ``unpublish(activity)``: removes the public row (a first approval undone).
- ``delist(activity, user, reason)`` / ``relist(activity, user)``: 下架 with a reason and
  上架 again, by the national admin (any activity) or the provincial admin of the
  activity's route province; audited, effective on the public site at once.

Only 已通过 activities have a public row; the public pages read nothing else.
"""
from __future__ import annotations

from sqlalchemy import select

from ...extensions import db
from ...files.operations import files_for
from ...orgs import regions
from ...orgs.models import Org
from ...timeutil import utcnow
from ...workflow import OperationError, audit
from ..files import field_name
from ..models import (ENTITY, F_DETAIL_IMAGE, F_POSTER, Activity, ActivityPublic, is_national)
from .search import bigrams

REASON_MAX = 500
#: audit actions (their labels on the review detail's history)
DELIST, RELIST = "delist", "relist"
LABELS = {DELIST: "下架", RELIST: "上架"}


def _orgs(items, certs: dict[int, list]) -> list[dict]:
    out = []
    for item in items or []:
        name = (item or {}).get("name") or ""
        if not name:
            continue
        org_id = item.get("id")
        out.append({"id": org_id, "name": name, "certified": certs.get(org_id, [])})
    return out


def _certifications(activity: Activity) -> dict[int, list]:
    """{org id: certification tags} of every library org the activity names (one query)."""
    ids = set()
    for items in (activity.hosts, activity.organisers, activity.gov_coop_orgs,
                  activity.society_coop_orgs):
        ids.update(i.get("id") for i in items or [] if isinstance((i or {}).get("id"), int))
    if activity.supervisor_org_id:
        ids.add(activity.supervisor_org_id)
    if not ids:
        return {}
    return {oid: list(tags or []) for oid, tags in db.session.execute(
        select(Org.id, Org.certifications).where(Org.id.in_(ids)))}


def publish_snapshot(activity: Activity) -> ActivityPublic:
    """Write the approved version's public row (no commit). 下架 stays as it was."""
    row = db.session.get(ActivityPublic, activity.id)
    if row is None:
        row = ActivityPublic(activity_id=activity.id, campaign_id=activity.campaign_id,
                             listed=activity.listed)
        db.session.add(row)
    certs = _certifications(activity)
    p, c, d = regions.split(activity.region_code)
    hosts = _orgs(activity.hosts, certs)
    organisers = _orgs(activity.organisers, certs)
    place = regions.full_name(activity.region_code)
    files = files_for(ENTITY, activity.id)
    posters = [f.id for f in files if f.field == field_name(activity.campaign_id, F_POSTER)]
    images = [f.id for f in files
              if f.field == field_name(activity.campaign_id, F_DETAIL_IMAGE)]
    row.campaign_id = activity.campaign_id
    row.listed = activity.listed
    row.name = activity.name
    row.mode = activity.mode
    row.activity_type = activity.activity_type
    row.start_at, row.end_at = activity.start_at, activity.end_at
    row.province_code, row.city_code, row.county_code = p, c, d
    row.host_names = "、".join(h["name"] for h in hosts)
    row.poster_file_id = posters[-1] if posters else None
    row.approved_at = activity.approved_at
    row.updated_at = utcnow()
    supervisor = activity.supervisor_org
    row.data = {
        "details": activity.details, "audience": activity.audience,
        "place": place, "region_code": activity.region_code,
        "hosts": hosts, "organisers": organisers,
        "supervisor": ({"category": activity.supervisor_category, "name": supervisor.name,
                        "certified": certs.get(supervisor.id, [])} if supervisor else
                       {"category": activity.supervisor_category, "name": "",
                        "certified": []}),
        "scientists": [{k: s.get(k, "") for k in ("name", "unit", "title")}
                       for s in activity.scientists or [] if (s or {}).get("name")],
        "scientists_note": activity.scientists_note,
        "contact_name": activity.contact_name, "contact_phone": activity.contact_phone,
        "booking_url": activity.booking_url if activity.booking else "",
        "joint_action_items": list(activity.joint_action_items or [])
        if activity.joint_action else [],
        "special_action_items": list(activity.special_action_items or [])
        if activity.special_action else [],
        "youth_festival": bool(activity.youth_festival),
        "gov_coop_orgs": _orgs(activity.gov_coop_orgs, certs) if activity.gov_coop else [],
        "society_coop_orgs": _orgs(activity.society_coop_orgs, certs)
        if activity.society_coop else [],
        "image_ids": images,
    }
    row.search_text = bigrams(activity.name, row.host_names,
                              " ".join(o["name"] for o in organisers), place)
    return row


def unpublish(activity: Activity) -> None:
    """Remove the public row (no commit): the activity is no longer 已通过 and has no
    earlier approved version to show."""
    row = db.session.get(ActivityPublic, activity.id)
    if row is not None:
        db.session.delete(row)


# --------------------------------------------------------------------------- 上架 / 下架

def public_row(activity_id: int) -> ActivityPublic | None:
    return db.session.get(ActivityPublic, activity_id)


def can_manage_listing(activity: Activity, user) -> bool:
    """National admins for any activity, provincial admins for their route province's."""
    return is_national(user) or activity.is_provincial_reviewer(user)


def _set_listed(activity: Activity, user, listed: bool, reason: str) -> ActivityPublic:
    row = public_row(activity.id)
    if row is None:
        raise OperationError("该活动尚未通过审核，没有公开展示的版本", code="not_public")
    if row.listed == listed and activity.listed == listed:
        raise OperationError("该活动已上架" if listed else "该活动已下架", code="unchanged")
    activity.listed = listed
    activity.delist_reason = "" if listed else reason
    row.listed = listed
    row.updated_at = utcnow()
    audit(ENTITY, activity.id, RELIST if listed else DELIST, user, comment=reason,
          data={"version": activity.version})
    db.session.commit()
    return row


def delist(activity: Activity, user, reason: str | None) -> ActivityPublic:
    """下架: hidden from the public list and detail at once; the reason is required."""
    if not can_manage_listing(activity, user):
        raise OperationError("您不能下架此活动", code="forbidden")
    reason = (reason or "").strip()
    if not reason:
        raise OperationError("请填写下架原因", field="reason", code="reason_required")
    if len(reason) > REASON_MAX:
        raise OperationError(f"下架原因不能超过{REASON_MAX}字（当前{len(reason)}字）",
                             field="reason", code="too_long")
    return _set_listed(activity, user, False, reason)


def relist(activity: Activity, user) -> ActivityPublic:
    """上架 again: the last approved version is public again."""
    if not can_manage_listing(activity, user):
        raise OperationError("您不能上架此活动", code="forbidden")
    return _set_listed(activity, user, True, "")


def listing_history(activity: Activity) -> list:
    from ...workflow import AuditLog

    return list(db.session.scalars(
        select(AuditLog).where(AuditLog.entity_type == ENTITY,
                               AuditLog.entity_id == activity.id,
                               AuditLog.action.in_((DELIST, RELIST)))
        .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(5)))
