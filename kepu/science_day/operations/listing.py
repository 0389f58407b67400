"""The public snapshot of approved activities (a first version, replaced by the public
site's own module when it lands: keep ``publish_snapshot(activity)``'s contract)."""
from __future__ import annotations

from ...extensions import db
from ...orgs import regions
from ...timeutil import utcnow
from ..models import Activity, ActivityPublic


def publish_snapshot(activity: Activity) -> ActivityPublic:
    """Write the approved version's public row (no commit)."""
    row = db.session.get(ActivityPublic, activity.id)
    if row is None:
        row = ActivityPublic(activity_id=activity.id, campaign_id=activity.campaign_id)
        db.session.add(row)
    p, c, d = regions.split(activity.region_code)
    row.listed = activity.listed
    row.name = activity.name
    row.mode = activity.mode
    row.activity_type = activity.activity_type
    row.start_at, row.end_at = activity.start_at, activity.end_at
    row.province_code, row.city_code, row.county_code = p, c, d
    row.host_names = "、".join(h.get("name", "") for h in activity.hosts or [])
    row.approved_at = activity.approved_at
    row.updated_at = utcnow()
    row.data = {"details": activity.details, "audience": activity.audience}
    return row
