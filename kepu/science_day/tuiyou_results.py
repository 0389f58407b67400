"""推优 national results (issue 13, seed 002 五): the national admin sees every scope's
recommendations against its quotas, selects (入选) excellent activities and organiser
units among the recommended ones, publishes the edition's result (a public page) and
exports everything to xlsx.

Rules (all enforced here, the routes only translate errors):

- only recommended rows can be selected (an ExcellentActivity / ExcellentUnit row of
  the scope); selecting beyond the formula's national totals (``total_activities`` /
  ``total_units``) is refused;
- while the result is published the selection is locked; publishing needs at least one
  selected activity or unit;
- every select / unselect / publish / unpublish writes an audit entry.

Decisions are serialised per edition on the TuiyouPublication row (``SELECT … FOR
UPDATE`` on PostgreSQL; SQLite writes one transaction at a time), so two national admins
selecting at once cannot pass the national total, and a selection cannot slip in while
the result is being published.

``is_decided`` is what the scope admins' withdraw operations ask: a selected
recommendation, or any recommendation of a published edition, cannot be withdrawn.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..admin.models import Campaign
from ..extensions import db
from ..orgs import regions
from ..orgs.operations import normalise_name
from ..timeutil import utcnow
from ..workflow import OperationError, audit
from .annual import Scope
from .models import Activity, ActivityPublic
from .tuiyou import all_scopes, approved_counts, formula_of, quotas, scope_from_key
from .tuiyou_models import ExcellentActivity, ExcellentUnit, TuiyouPublication

ACTIVITY, UNIT = "activity", "unit"
KINDS = {ACTIVITY: "优秀活动", UNIT: "优秀组织单位"}
SHOWS = {"": "全部", "selected": "已入选", "unselected": "未入选"}
MAX_IDS = 500      # ids per bulk request
LOCKED = "评选结果已公布，入选名单已锁定；如需调整，请先撤销公布"


# --------------------------------------------------------------------------- publication

def publication(campaign_id: int) -> TuiyouPublication | None:
    return db.session.get(TuiyouPublication, campaign_id)


def is_published(campaign_id: int) -> bool:
    pub = publication(campaign_id)
    return pub is not None and pub.published_at is not None


def is_decided(campaign_id: int, *, activity_id: int | None = None,
               unit_id: int | None = None) -> bool:
    """True when the recommendation may no longer be withdrawn: the edition's result is
    published, or the recommendation (``activity_id``: the Activity's id;
    ``unit_id``: the ExcellentUnit's id) has been selected."""
    if is_published(campaign_id):
        return True
    if activity_id is not None:
        if db.session.scalar(select(ExcellentActivity.selected_at).where(
                ExcellentActivity.campaign_id == campaign_id,
                ExcellentActivity.activity_id == activity_id)) is not None:
            return True
    if unit_id is not None:
        if db.session.scalar(select(ExcellentUnit.selected_at).where(
                ExcellentUnit.campaign_id == campaign_id,
                ExcellentUnit.id == unit_id)) is not None:
            return True
    return False


def refuse_if_decided(campaign_id: int, *, activity_id: int | None = None,
                      unit_id: int | None = None) -> None:
    """For the scope admins' recommend / withdraw: OperationError once the result is
    published (nothing changes then), or when withdrawing a selected recommendation."""
    if is_published(campaign_id):
        raise OperationError("全国评选结果已公布，推荐不能再更改", code="published")
    if (activity_id is not None or unit_id is not None) and is_decided(
            campaign_id, activity_id=activity_id, unit_id=unit_id):
        raise OperationError("该推荐已在全国评选中入选，不能撤回", code="selected")


def _lock(campaign_id: int) -> TuiyouPublication:
    """The edition's publication row, locked for this transaction (made when missing)."""
    stmt = select(TuiyouPublication).where(
        TuiyouPublication.campaign_id == campaign_id).with_for_update()
    pub = db.session.scalar(stmt)
    if pub is None:
        db.session.add(TuiyouPublication(campaign_id=campaign_id, published_at=None))
        try:
            db.session.flush()
        except IntegrityError:       # made by a concurrent request: take its row
            db.session.rollback()
        pub = db.session.scalar(stmt)
    return pub


# --------------------------------------------------------------------------- overview

@dataclass
class ScopeRow:
    scope: Scope
    approved: int = 0
    act_quota: int | None = None
    act_used: int = 0
    act_selected: int = 0
    unit_quota: int | None = None
    unit_used: int = 0
    unit_selected: int = 0


@dataclass
class Overview:
    rows: list[ScopeRow]
    total_activities: int            # the formula's national totals
    total_units: int
    sums: dict = field(default_factory=dict)


def _grouped(model, campaign_id: int) -> dict[str, tuple[int, int]]:
    """Per scope key: (recommended, selected) rows (ix_excellent_*_scope)."""
    return {k: (n, s) for k, n, s in db.session.execute(
        select(model.scope_key, func.count(), func.count(model.selected_at))
        .where(model.campaign_id == campaign_id).group_by(model.scope_key))}


def overview(campaign: Campaign) -> Overview:
    counts = approved_counts(campaign.id)
    stored = quotas(campaign.id)
    acts = _grouped(ExcellentActivity, campaign.id)
    units = _grouped(ExcellentUnit, campaign.id)
    scopes = all_scopes(campaign.id, counts)
    known = {s.key for s in scopes}
    # a scope with recommendations but (no longer) approved activities still shows
    for key in sorted(set(acts) | set(units)):
        if key not in known:
            s = scope_from_key(key)
            if s is not None:
                scopes.append(s)
                known.add(key)
    rows = []
    for s in scopes:
        q = stored.get(s.key)
        rows.append(ScopeRow(
            s, counts.get(s.key, 0),
            q.activities if q else None, acts.get(s.key, (0, 0))[0],
            acts.get(s.key, (0, 0))[1],
            q.units if q else None, units.get(s.key, (0, 0))[0],
            units.get(s.key, (0, 0))[1]))
    formula = formula_of(campaign)
    sums = {k: sum(getattr(r, k) or 0 for r in rows)
            for k in ("approved", "act_quota", "act_used", "act_selected", "unit_quota",
                      "unit_used", "unit_selected")}
    return Overview(rows, formula.total_activities, formula.total_units, sums)


def selected_totals(campaign_id: int) -> tuple[int, int]:
    """(selected activities, selected units) of the edition (ix_excellent_*_selected)."""
    def count(model):
        return db.session.scalar(select(func.count()).select_from(model).where(
            model.campaign_id == campaign_id, model.selected_at.is_not(None))) or 0
    return count(ExcellentActivity), count(ExcellentUnit)


# --------------------------------------------------------------------------- one scope

def host_names(activity: Activity) -> list[str]:
    return [str(h.get("name")) for h in activity.hosts or []
            if isinstance(h, dict) and h.get("name")]


def hosts_unit(activity: Activity, unit: ExcellentUnit) -> bool:
    """Is ``unit`` one of the activity's 主办单位 (by org id, else by normalised name)?"""
    for h in activity.hosts or []:
        if not isinstance(h, dict):
            continue
        hid = h.get("id") or h.get("org_id")
        if unit.org_id is not None and hid is not None and str(hid) == str(unit.org_id):
            return True
        if unit.unit_key.startswith("name:") and h.get("name") \
                and normalise_name(str(h["name"])) == unit.unit_key[5:]:
            return True
        if unit.org_id is not None and h.get("name") \
                and normalise_name(str(h["name"])) == normalise_name(unit.name):
            return True
    return False


def activity_query(campaign_id: int, scope_key: str | None = None, show: str = ""):
    """A scope's recommended activities, newest recommendation first
    (ix_excellent_activity_scope); every scope's when ``scope_key`` is None (export)."""
    stmt = (select(ExcellentActivity, Activity)
            .join(Activity, Activity.id == ExcellentActivity.activity_id)
            .where(ExcellentActivity.campaign_id == campaign_id))
    if scope_key is not None:
        stmt = stmt.where(ExcellentActivity.scope_key == scope_key)
    if show == "selected":
        stmt = stmt.where(ExcellentActivity.selected_at.is_not(None))
    elif show == "unselected":
        stmt = stmt.where(ExcellentActivity.selected_at.is_(None))
    if scope_key is None:     # the export: scope by scope, in the index's order
        return stmt.order_by(ExcellentActivity.scope_key, ExcellentActivity.created_at,
                             ExcellentActivity.id)
    return stmt.order_by(ExcellentActivity.created_at.desc(), ExcellentActivity.id.desc())


def unit_query(campaign_id: int, scope_key: str | None = None, show: str = ""):
    stmt = select(ExcellentUnit).where(ExcellentUnit.campaign_id == campaign_id)
    if scope_key is not None:
        stmt = stmt.where(ExcellentUnit.scope_key == scope_key)
    if show == "selected":
        stmt = stmt.where(ExcellentUnit.selected_at.is_not(None))
    elif show == "unselected":
        stmt = stmt.where(ExcellentUnit.selected_at.is_(None))
    if scope_key is None:
        return stmt.order_by(ExcellentUnit.scope_key, ExcellentUnit.created_at,
                             ExcellentUnit.id)
    return stmt.order_by(ExcellentUnit.created_at.desc(), ExcellentUnit.id.desc())


@dataclass
class ActivityItem:
    row: ExcellentActivity
    activity: Activity
    region: str
    hosts: str
    recommended_by: str


@dataclass
class UnitItem:
    row: ExcellentUnit
    hosted: list[Activity]
    recommended_by: str


def _user_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {i: (n or p) for i, n, p in db.session.execute(
        select(User.id, User.name, User.phone).where(User.id.in_(ids)))}


def activity_items(campaign_id: int, scope_key: str | None = None,
                   show: str = "") -> list[ActivityItem]:
    pairs = db.session.execute(activity_query(campaign_id, scope_key, show)).all()
    names = _user_names(r.recommended_by_id for r, _ in pairs)
    return [ActivityItem(r, a, regions.full_name(a.region_code) if a.region_code else "",
                         "、".join(host_names(a)), names.get(r.recommended_by_id, ""))
            for r, a in pairs]


def unit_items(campaign_id: int, scope_key: str | None = None,
               show: str = "") -> list[UnitItem]:
    units = db.session.scalars(unit_query(campaign_id, scope_key, show)).all()
    if not units:
        return []
    names = _user_names(u.recommended_by_id for u in units)
    # the scopes' recommended activities: a unit's candidates are their hosts
    by_scope: dict[str, list[Activity]] = {}
    for key in {u.scope_key for u in units}:
        by_scope[key] = [a for _, a in db.session.execute(activity_query(campaign_id, key))]
    return [UnitItem(u, [a for a in by_scope[u.scope_key] if hosts_unit(a, u)],
                     names.get(u.recommended_by_id, "")) for u in units]


def scope_counts(campaign_id: int, scope_key: str) -> dict[str, tuple[int, int]]:
    """{kind: (recommended, selected)} of one scope."""
    out = {}
    for kind, model in ((ACTIVITY, ExcellentActivity), (UNIT, ExcellentUnit)):
        n, s = db.session.execute(
            select(func.count(), func.count(model.selected_at)).where(
                model.campaign_id == campaign_id, model.scope_key == scope_key)).one()
        out[kind] = (n, s)
    return out


# --------------------------------------------------------------------------- selecting

def _rows(kind: str, campaign_id: int, scope_key: str, ids: list[int]):
    if kind == ACTIVITY:
        return db.session.scalars(select(ExcellentActivity).where(
            ExcellentActivity.campaign_id == campaign_id,
            ExcellentActivity.scope_key == scope_key,
            ExcellentActivity.activity_id.in_(ids))).all()
    return db.session.scalars(select(ExcellentUnit).where(
        ExcellentUnit.campaign_id == campaign_id, ExcellentUnit.scope_key == scope_key,
        ExcellentUnit.id.in_(ids))).all()


def set_selected(campaign: Campaign, scope: Scope, kind: str, ids: list[int], selected: bool,
                 by) -> int:
    """Select (入选) or unselect the scope's recommended rows ``ids`` (Activity ids for
    activities, ExcellentUnit ids for units); returns how many changed. OperationError
    (Chinese) when refused; nothing changes then."""
    if kind not in KINDS:
        raise OperationError("没有这种评选对象")
    label = KINDS[kind]
    ids = list(dict.fromkeys(ids))[:MAX_IDS]
    if not ids:
        raise OperationError(f"请先勾选要{'入选' if selected else '取消入选'}的{label}",
                             code="empty")
    pub = _lock(campaign.id)
    if pub.published_at is not None:
        db.session.rollback()
        raise OperationError(LOCKED, code="locked")
    rows = _rows(kind, campaign.id, scope.key, ids)
    if len(rows) != len(ids):
        db.session.rollback()
        raise OperationError(f"只能从{scope.name}推荐的{label}中评选；所选的部分项目未被推荐"
                             "（可能已被撤回），请刷新页面后重试", code="not_recommended")
    todo = [r for r in rows if (r.selected_at is None) == selected]
    if not todo:
        db.session.rollback()
        raise OperationError(f"所选{label}均{'已入选' if selected else '未入选'}",
                             code="unchanged")
    if selected:
        formula = formula_of(campaign)
        cap = formula.total_activities if kind == ACTIVITY else formula.total_units
        model = ExcellentActivity if kind == ACTIVITY else ExcellentUnit
        current = db.session.scalar(select(func.count()).select_from(model).where(
            model.campaign_id == campaign.id, model.selected_at.is_not(None))) or 0
        if current + len(todo) > cap:
            db.session.rollback()
            left = max(cap - current, 0)
            raise OperationError(
                f"入选{label}不能超过全国总名额 {cap} 个：已入选 {current} 个，"
                f"还可入选 {left} 个，本次选择了 {len(todo)} 个", code="cap")
    now = utcnow()
    for r in todo:
        r.selected_at = now if selected else None
        r.selected_by_id = getattr(by, "id", None) if selected else None
        action = "tuiyou_select" if selected else "tuiyou_unselect"
        if kind == ACTIVITY:
            audit("activity", r.activity_id, action, by, data={"scope": scope.key})
        else:
            audit("excellent_unit", r.id, action, by,
                  data={"scope": scope.key, "unit": r.unit_key, "name": r.name})
    db.session.commit()
    return len(todo)


def publish(campaign: Campaign, by, note: str = "") -> TuiyouPublication:
    note = (note or "").strip()
    if len(note) > 500:
        raise OperationError("公布说明不超过 500 字", field="note")
    pub = _lock(campaign.id)
    if pub.published_at is not None:
        db.session.rollback()
        raise OperationError("评选结果已公布", code="published")
    acts, units = selected_totals(campaign.id)
    if acts + units == 0:
        db.session.rollback()
        raise OperationError("尚未选出入选的优秀活动或优秀组织单位，不能公布", code="empty")
    pub.published_at = utcnow()
    pub.published_by_id = getattr(by, "id", None)
    pub.note = note
    pub.updated_at = pub.published_at
    audit("campaign", campaign.id, "tuiyou_publish", by,
          data={"activities": acts, "units": units})
    db.session.commit()
    return pub


def unpublish(campaign: Campaign, by) -> None:
    pub = _lock(campaign.id)
    if pub.published_at is None:
        db.session.rollback()
        raise OperationError("评选结果尚未公布", code="not_published")
    pub.published_at = None
    pub.published_by_id = None
    pub.updated_at = utcnow()
    audit("campaign", campaign.id, "tuiyou_unpublish", by)
    db.session.commit()


# --------------------------------------------------------------------------- public page

@dataclass
class PublicGroup:
    scope_name: str
    activities: list = field(default_factory=list)   # (Activity, public id or None)
    units: list = field(default_factory=list)        # ExcellentUnit


def public_result(campaign: Campaign) -> list[PublicGroup] | None:
    """The published selection grouped by scope (provinces first, in all_scopes'
    order); None while the result is not published."""
    if not is_published(campaign.id):
        return None
    acts = db.session.execute(
        select(ExcellentActivity.scope_key, Activity)
        .join(Activity, Activity.id == ExcellentActivity.activity_id)
        .where(ExcellentActivity.campaign_id == campaign.id,
               ExcellentActivity.selected_at.is_not(None))
        .order_by(ExcellentActivity.selected_at, ExcellentActivity.id)).all()
    units = db.session.scalars(select(ExcellentUnit).where(
        ExcellentUnit.campaign_id == campaign.id, ExcellentUnit.selected_at.is_not(None))
        .order_by(ExcellentUnit.selected_at, ExcellentUnit.id)).all()
    ids = [a.id for _, a in acts]
    listed = set(db.session.scalars(select(ActivityPublic.activity_id).where(
        ActivityPublic.activity_id.in_(ids), ActivityPublic.listed.is_(True)))) if ids else set()
    keys = {k for k, _ in acts} | {u.scope_key for u in units}
    order = [s.key for s in all_scopes(campaign.id, {k: 1 for k in keys
                                                      if k.startswith("org:")})]
    groups: dict[str, PublicGroup] = {}
    for key in sorted(keys, key=lambda k: (order.index(k) if k in order else len(order), k)):
        s = scope_from_key(key)
        groups[key] = PublicGroup(s.name if s else key)
    for key, a in acts:
        groups[key].activities.append((a, a.id if a.id in listed else None))
    for u in units:
        groups[u.scope_key].units.append(u)
    return list(groups.values())


# --------------------------------------------------------------------------- export

SUMMARY_HEADER = ["单位", "审核通过活动", "优秀活动名额", "已推荐优秀活动", "入选优秀活动",
                  "优秀组织单位名额", "已推荐优秀组织单位", "入选优秀组织单位"]
ACTIVITY_HEADER = ["推荐单位", "活动Id", "活动名称", "所在地区", "主办单位", "推荐时间",
                   "推荐人", "入选"]
UNIT_HEADER = ["推荐单位", "单位名称", "科协组织", "主办的推荐活动", "推荐时间", "推荐人",
               "入选"]


def export_sheets(campaign: Campaign) -> list[tuple[str, list[str], list[list]]]:
    ov = overview(campaign)
    names = {r.scope.key: r.scope.name for r in ov.rows}
    summary = [[r.scope.name, r.approved, r.act_quota if r.act_quota is not None else "",
                r.act_used, r.act_selected,
                r.unit_quota if r.unit_quota is not None else "", r.unit_used,
                r.unit_selected] for r in ov.rows]
    s = ov.sums
    summary.append(["合计", s["approved"], s["act_quota"], s["act_used"], s["act_selected"],
                    s["unit_quota"], s["unit_used"], s["unit_selected"]])
    summary.append(["全国总名额（建议名额计算参数）", "", ov.total_activities, "", "",
                    ov.total_units, "", ""])
    acts = [[names.get(i.row.scope_key, i.row.scope_key), i.activity.id,
             i.activity.display_name, i.region, i.hosts, i.row.created_at, i.recommended_by,
             i.row.selected_at is not None]
            for i in activity_items(campaign.id)]
    units = [[names.get(u.row.scope_key, u.row.scope_key), u.row.name, u.row.is_cast,
              "、".join(a.display_name for a in u.hosted), u.row.created_at,
              u.recommended_by, u.row.selected_at is not None]
             for u in unit_items(campaign.id)]
    return [("名额与推荐", SUMMARY_HEADER, summary), ("优秀活动", ACTIVITY_HEADER, acts),
            ("优秀组织单位", UNIT_HEADER, units)]
