"""推优 of excellent organiser units (seed 002 五(一), issue 13).

Candidates are the 主办单位 (``Activity.hosts``) of the scope's recommended excellent
activities, grouped by unit:

- ``unit_key`` is ``org:<id>`` when the host was picked from the org library (it has an
  id of an existing org) or its name equals an active org's name exactly; otherwise
  ``name:<normalised name>`` (stripped, whitespace collapsed, full-width brackets made
  ASCII: ``normalise_name``). A unit is recommended once per edition, by whichever scope
  gets there first (``uq_excellent_unit_unit``).
- A unit is a **科协 organisation** (any level) when its org's kinds (``Org.all_kinds``,
  the main kind and the 兼属类别) include one of ``kepu.orgs.models.CAST_KINDS``; a host
  known by name only is one when the name ends in 科学技术协会 or 科协 (so 北京市朝阳区科协
  is, 中国科学技术协会 too, 科协大厦 is not). ``is_cast`` is fixed when recommended.
- **No self-recommendation**: a province scope cannot recommend its own provincial 科协
  (``supervisors.cast_org_for_region``; the 兵团's ``bingtuan_org``), an org scope
  (全国学会 / 部委) its own org; matched by org id or by name (the org's name, its aliases
  and, for a province, the scope's short name such as 北京市科协).
- **科协 share**: at most ``cast_share`` % (per edition, default 70, the national admin's
  formula parameters) of a scope's recommended units may be 科协 organisations. Checked
  in the same conditional UPDATE as the quota, so two admins clicking at once cannot
  pass it together (PostgreSQL re-evaluates the WHERE after a concurrent commit; SQLite
  writes one transaction at a time, kepu/db_setup.py). Taken literally, a scope's first
  unit cannot be a 科协 organisation (1/1 = 100%); the page says so.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..admin.models import Campaign
from ..extensions import db
from ..orgs import supervisors
from ..orgs.models import CAST_KINDS, ORG_ACTIVE, Org
from ..workflow import OperationError, audit
from .annual import Scope
from .models import BINGTUAN_ROUTE, Activity
from .operations.common import require_window
from .tuiyou import formula_of, quota_of, recommended_query, results_ops, scope_from_key
from .tuiyou_models import ExcellentUnit, TuiyouQuota

CAST_SUFFIXES = ("科学技术协会", "科协")
_BRACKETS = str.maketrans({"（": "(", "）": ")", "［": "[", "］": "]", "【": "[", "】": "]",
                           "｛": "{", "｝": "}"})
_SPACES = re.compile(r"\s+")
NAME_MAX = 200


def normalise_name(name) -> str:
    """Strip, collapse whitespace (the full-width space too), full-width brackets → ASCII."""
    text = _SPACES.sub(" ", str(name or "").translate(_BRACKETS)).strip()
    return text[:NAME_MAX]


def cast_by_name(name: str) -> bool:
    return normalise_name(name).endswith(CAST_SUFFIXES)


def is_cast_org(org: Org) -> bool:
    return org.has_kind(CAST_KINDS)


def share_limit(campaign: Campaign) -> int:
    return formula_of(campaign).cast_share


def pct_text(num: int, den: int) -> str:
    """``num / den`` as a percentage: "75%", "66.7%"."""
    if not den:
        return "0%"
    value = num * 100 / den
    return f"{value:.0f}%" if value == int(value) else f"{value:.1f}%"


# --------------------------------------------------------------------------- units

@dataclass
class Unit:
    key: str
    name: str
    org: Org | None
    is_cast: bool
    activities: list[Activity] = field(default_factory=list)
    row: ExcellentUnit | None = None          # its recommendation (this scope or another)
    here: bool = False                        # recommended by this scope
    elsewhere: str = ""                       # name of the other scope that recommended it
    own: str = ""                             # why it is this scope's own unit
    blocked: str = ""                         # why its button is disabled (share / quota)
    share_after: str = ""                     # 科协 share after recommending / withdrawing
    over: bool = False                        # … which would be above the limit

    @property
    def eligible(self) -> bool:
        return not (self.here or self.elsewhere or self.own)


def _host_id(host) -> int | None:
    raw = host.get("id") if isinstance(host, dict) else None
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.isdigit() and len(raw) < 12:
        return int(raw)
    return None


def _host_name(host) -> str:
    return normalise_name(host.get("name") if isinstance(host, dict) else host)


class _Resolver:
    """Host → (unit_key, name, org), with the orgs of a batch loaded in two queries
    (by primary key and by ix_org_name)."""

    def __init__(self, hosts: list):
        ids = {i for i in (_host_id(h) for h in hosts) if i is not None}
        self.by_id = {o.id: o for o in db.session.scalars(select(Org).where(Org.id.in_(ids)))
                      } if ids else {}
        names = {_host_name(h) for h in hosts if _host_id(h) not in self.by_id} - {""}
        self.by_name: dict[str, Org] = {}
        if names:
            # by ix_org_name alone (the status filter in SQL lets SQLite pick ix_org_status)
            for o in sorted(db.session.scalars(select(Org).where(Org.name.in_(names))),
                            key=lambda o: o.id):
                if o.status == ORG_ACTIVE:
                    self.by_name.setdefault(o.name, o)

    def __call__(self, host) -> tuple[str, str, Org | None] | None:
        org = self.by_id.get(_host_id(host))
        name = _host_name(host)
        if org is None and name:
            org = self.by_name.get(name)
        if org is not None:
            return f"org:{org.id}", org.name, org
        if not name:
            return None
        return f"name:{name}", name, None


def own_unit(scope: Scope) -> tuple[int | None, set[str]]:
    """The scope's own unit: (org id, normalised names it goes by)."""
    if scope.region_code == BINGTUAN_ROUTE:
        # the scope's name is the 兵团's own, not its 科协's
        org, names = supervisors.bingtuan_org(), set()
    elif scope.region_code:
        org = supervisors.cast_org_for_region(scope.region_code)
        names = {normalise_name(scope.name)}       # the short name, e.g. 北京市科协
    else:
        org = db.session.get(Org, scope.org_id)
        names = set()
    if org is not None:
        names |= {normalise_name(org.name)} | {normalise_name(n) for n in org.alias_names}
    return (org.id if org is not None else None), names - {""}


def _scope_name(key: str) -> str:
    scope = scope_from_key(key)
    return scope.name if scope is not None else key


@dataclass
class Board:
    """The units page of one scope: candidates, the meter and the share limit."""
    units: list[Unit]
    quota: TuiyouQuota | None
    limit: int

    @property
    def used(self) -> int:
        return self.quota.units_used if self.quota else 0

    @property
    def cast_used(self) -> int:
        return self.quota.units_cast_used if self.quota else 0

    @property
    def total(self) -> int:
        return self.quota.units if self.quota else 0

    @property
    def share(self) -> str:
        return pct_text(self.cast_used, self.used)

    def get(self, key: str) -> Unit | None:
        return next((u for u in self.units if u.key == key), None)


def board(campaign: Campaign, scope: Scope) -> Board:
    activities = db.session.scalars(recommended_query(campaign.id, scope)).all()
    hosts = [h for a in activities for h in (a.hosts or [])]
    resolve = _Resolver(hosts)
    own_id, own_names = own_unit(scope)
    units: dict[str, Unit] = {}
    for a in activities:
        for h in a.hosts or []:
            found = resolve(h)
            if found is None:
                continue
            key, name, org = found
            unit = units.get(key)
            if unit is None:
                unit = units[key] = Unit(key, name, org,
                                         is_cast_org(org) if org is not None
                                         else cast_by_name(name))
            if a not in unit.activities:
                unit.activities.append(a)
    # this scope's recommendations that are no longer among the hosts stay listed
    # (so they can be withdrawn)
    mine = db.session.scalars(select(ExcellentUnit).where(
        ExcellentUnit.campaign_id == campaign.id, ExcellentUnit.scope_key == scope.key)
        .order_by(ExcellentUnit.created_at, ExcellentUnit.id)).all()
    for row in mine:
        if row.unit_key not in units:
            units[row.unit_key] = Unit(row.unit_key, row.name, row.org, row.is_cast)
    taken = {r.unit_key: r for r in mine}
    others = [k for k in units if k not in taken]
    if others:
        for row in db.session.scalars(select(ExcellentUnit).where(
                ExcellentUnit.campaign_id == campaign.id, ExcellentUnit.unit_key.in_(others))):
            taken[row.unit_key] = row
    quota = quota_of(campaign.id, scope.key)
    out = Board(list(units.values()), quota, share_limit(campaign))
    for u in out.units:
        u.row = taken.get(u.key)
        if u.row is not None:
            u.here = u.row.scope_key == scope.key
            u.is_cast = u.row.is_cast if u.here else u.is_cast
            if not u.here:
                u.elsewhere = _scope_name(u.row.scope_key)
        if (u.org is not None and u.org.id == own_id) or normalise_name(u.name) in own_names:
            u.own = (f"不能推荐本单位（{scope.name}）" if scope.region_code
                     else "不能推荐本单位")
        _mark(out, u)
    # recommended first (in order of recommendation), then candidates as found
    order = {r.unit_key: i for i, r in enumerate(mine)}
    out.units.sort(key=lambda u: (0, order[u.key]) if u.here else (1, 0))
    return out


def _mark(b: Board, u: Unit) -> None:
    """Why the unit's button is disabled now (the server checks again)."""
    n, c = b.used, b.cast_used
    if u.here:
        if not u.is_cast and n > 1 and c * 100 > (n - 1) * b.limit:
            u.share_after, u.over = pct_text(c, n - 1), True
            u.blocked = f"撤回后科协占比 {u.share_after}，超过上限 {b.limit}%"
        return
    if not u.eligible:
        return
    if b.quota is None or b.total == 0:
        u.blocked = "尚未分配优秀组织单位推荐名额"
    elif n >= b.total:
        u.blocked = f"推荐名额（{b.total} 个）已用完"
    if u.is_cast:
        u.share_after = pct_text(c + 1, n + 1)
        if (c + 1) * 100 > (n + 1) * b.limit:
            u.over = True
            u.blocked = u.blocked or f"推荐后科协占比 {u.share_after}，超过上限 {b.limit}%"


# --------------------------------------------------------------------------- actions

def _share_refusal(name: str, c: int, n: int, limit: int, verb: str) -> str:
    text = (f"{verb}“{name}”后科协单位占比将为 {pct_text(c, n)}（{c}/{n}），"
            f"超过上限 {limit}%")
    if verb == "推荐" and n == 1:
        text += "。第一个推荐的单位不能是科协组织，请先推荐非科协单位"
    elif verb == "推荐":
        text += "，请先推荐非科协单位"
    else:
        text += "，请先撤回科协单位的推荐"
    return text


def recommend(campaign: Campaign, scope: Scope, unit_key: str, by) -> Unit:
    """Recommend one unit; OperationError (Chinese) when refused, LookupError when it is
    not one of the scope's candidates (→ 404)."""
    require_window(campaign, "recommend")
    b = board(campaign, scope)
    unit = b.get(unit_key or "")
    if unit is None:
        raise LookupError(unit_key)
    results_ops().refuse_if_decided(campaign.id)
    if unit.here:
        raise OperationError(f"“{unit.name}”已推荐", code="duplicate")
    if unit.elsewhere:
        raise OperationError(f"“{unit.name}”已由{unit.elsewhere}推荐，每届一个单位只推荐一次",
                             code="elsewhere")
    if unit.own:
        raise OperationError(f"不能推荐本单位“{unit.name}”为优秀组织单位", code="own")
    c = 1 if unit.is_cast else 0
    limit = b.limit
    done = db.session.execute(
        update(TuiyouQuota)
        .where(TuiyouQuota.campaign_id == campaign.id, TuiyouQuota.scope_key == scope.key,
               TuiyouQuota.units_used < TuiyouQuota.units,
               (TuiyouQuota.units_cast_used + c) * 100 <= (TuiyouQuota.units_used + 1) * limit)
        .values(units_used=TuiyouQuota.units_used + 1,
                units_cast_used=TuiyouQuota.units_cast_used + c)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        db.session.rollback()
        q = quota_of(campaign.id, scope.key)
        if q is None or q.units == 0:
            raise OperationError("尚未分配优秀组织单位推荐名额", code="no_quota")
        if q.units_used >= q.units:
            raise OperationError(f"优秀组织单位推荐名额（{q.units} 个）已用完", code="quota")
        raise OperationError(_share_refusal(unit.name, q.units_cast_used + c, q.units_used + 1,
                                            limit, "推荐"), code="share")
    row = ExcellentUnit(campaign_id=campaign.id, scope_key=scope.key, unit_key=unit.key,
                        org_id=unit.org.id if unit.org is not None else None,
                        name=unit.name, is_cast=unit.is_cast,
                        recommended_by_id=getattr(by, "id", None))
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        other = db.session.scalar(select(ExcellentUnit.scope_key).where(
            ExcellentUnit.campaign_id == campaign.id, ExcellentUnit.unit_key == unit.key))
        if other == scope.key:
            raise OperationError(f"“{unit.name}”已推荐", code="duplicate") from None
        raise OperationError(f"“{unit.name}”已由{_scope_name(other or '')}推荐，"
                             "每届一个单位只推荐一次", code="elsewhere") from None
    audit("excellent_unit", row.id, "tuiyou_unit_recommend", by, data={
        "scope": scope.key, "unit": unit.key, "name": unit.name, "is_cast": unit.is_cast})
    db.session.commit()
    return unit


def withdraw(campaign: Campaign, scope: Scope, unit_key: str, by) -> Unit:
    """Withdraw one of the scope's units. Refused when withdrawing a non-科协 unit would
    leave the 科协 share above the limit (unless no unit is left)."""
    require_window(campaign, "recommend")
    b = board(campaign, scope)
    unit = b.get(unit_key or "")
    if unit is None:
        raise LookupError(unit_key)
    if not unit.here:
        raise OperationError(f"“{unit.name}”未被本单位推荐", code="not_recommended")
    results_ops().refuse_if_decided(campaign.id, unit_id=unit.row.id)
    c = 1 if unit.row.is_cast else 0
    gone = db.session.execute(delete(ExcellentUnit).where(
        ExcellentUnit.id == unit.row.id, ExcellentUnit.scope_key == scope.key,
        ExcellentUnit.selected_at.is_(None)))
    if gone.rowcount != 1:
        db.session.rollback()
        results_ops().refuse_if_decided(campaign.id, unit_id=unit.row.id)
        raise OperationError(f"“{unit.name}”未被本单位推荐", code="not_recommended")
    where = [TuiyouQuota.campaign_id == campaign.id, TuiyouQuota.scope_key == scope.key,
             TuiyouQuota.units_used > 0, TuiyouQuota.units_cast_used >= c]
    if not c:
        where.append(or_(TuiyouQuota.units_used == 1,
                         TuiyouQuota.units_cast_used * 100
                         <= (TuiyouQuota.units_used - 1) * b.limit))
    done = db.session.execute(
        update(TuiyouQuota).where(*where)
        .values(units_used=TuiyouQuota.units_used - 1,
                units_cast_used=TuiyouQuota.units_cast_used - c)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        db.session.rollback()
        q = quota_of(campaign.id, scope.key)
        n = q.units_used if q else 0
        cu = q.units_cast_used if q else 0
        raise OperationError(_share_refusal(unit.name, cu, max(n - 1, 0), b.limit, "撤回"),
                             code="share")
    audit("excellent_unit", unit.row.id, "tuiyou_unit_withdraw", by, data={
        "scope": scope.key, "unit": unit.key, "name": unit.name})
    db.session.commit()
    return unit


def unit_blocking_withdrawal(campaign_id: int, scope: Scope, activity: Activity
                             ) -> ExcellentUnit | None:
    """A unit this scope recommended that ``activity`` hosts and no other of the scope's
    recommended activities does (withdrawing the activity would orphan it)."""
    recommended = db.session.scalars(recommended_query(campaign_id, scope)).all()
    if activity not in recommended:
        return None
    others = [a for a in recommended if a is not activity]
    resolve = _Resolver([h for a in [activity, *others] for h in (a.hosts or [])])

    def keys_of(a: Activity) -> set[str]:
        return {u[0] for u in (resolve(h) for h in a.hosts or []) if u}

    keys = keys_of(activity)
    if not keys:
        return None
    rows = db.session.scalars(select(ExcellentUnit).where(
        ExcellentUnit.campaign_id == campaign_id, ExcellentUnit.scope_key == scope.key,
        ExcellentUnit.unit_key.in_(keys)).order_by(ExcellentUnit.id)).all()
    if not rows:
        return None
    hosted: set[str] = set()
    for a in others:
        hosted |= keys_of(a)
    return next((r for r in rows if r.unit_key not in hosted), None)

