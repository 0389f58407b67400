"""推优 (seed 002 五, issue 13): who recommends (推优 admins named by phone), how many
(quotas per scope and edition, suggested from the approved-activity counts) and which
activities (eligibility from the shared completeness predicate).

Scopes are kepu.science_day.annual's: ``province:<route key>`` (provinces and the 兵团)
and ``org:<id>`` (全国学会 / 有关部委 with approved activities). A province's candidates
are its approved activities on the provincial route (they passed its review, then the
national one); an org's are the approved activities 归口 to it.

The quota holds under concurrency: a recommendation first runs ``UPDATE tuiyou_quota SET
activities_used = activities_used + 1 WHERE … AND activities_used < activities`` and
inserts only if that changed a row, in the same transaction (PostgreSQL re-checks the
condition after a concurrent commit; SQLite writes one transaction at a time, BEGIN
IMMEDIATE, kepu/db_setup.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from ..accounts import roles as R
from ..accounts import validators as V
from ..accounts.hooks import on_account
from ..accounts.models import Grant, User
from ..admin.models import Campaign
from ..extensions import db
from ..orgs import regions, supervisors
from ..orgs.models import Org
from ..timeutil import utcnow
from ..workflow import OperationError, audit
from .annual import NOT_EXPECTED, Scope, org_scope, province_scope
from .completeness import check_many
from .models import APPROVED, BINGTUAN_ROUTE, SUP_MINISTRY, SUP_SOCIETY, Activity, is_national
from .operations.common import require_window
from .settings import ScienceDaySettings
from .tuiyou_models import ExcellentActivity, TuiyouGrant, TuiyouQuota

PER_PAGE = 20
SCAN_ROWS = 1000          # rows examined per request by the 可推荐 / 不符合条件 filters
# cast_share: the most a scope's recommended organiser units may be 科协 organisations,
# in per cent (seed 002 五(一): 70%; kepu.science_day.tuiyou_units)
FORMULA_DEFAULTS = {"total_activities": 1000, "total_units": 300, "minimum": 1,
                    "cast_share": 70}
FORMULA_MAXIMA = {"cast_share": 100}
ORG_CATEGORIES = (SUP_SOCIETY, SUP_MINISTRY)


# --------------------------------------------------------------------------- scopes

def scope_from_key(key: str) -> Scope | None:
    """A province (or the 兵团), or a 全国学会 / 部委 org; anything else None (→ 404)."""
    kind, _, rest = (key or "").partition(":")
    if kind == "province" and rest in province_keys():
        return province_scope(rest)
    if kind == "org" and rest.isdigit() and len(rest) < 12:
        org = db.session.get(Org, int(rest))
        if org is not None and supervisors.category_of(org) in ORG_CATEGORIES:
            return org_scope(org)
    return None


def scopes_of(user) -> list[Scope]:
    """The scopes ``user`` recommends for (their 推优 admin grants)."""
    if not getattr(user, "is_authenticated", False):
        return []
    out = [province_scope(g.region_code) for g in user.grants
           if g.role == R.TUIYOU_ADMIN and g.region_code]
    out += [org_scope(g.org) for g in user.grants
            if g.role == R.TUIYOU_ORG_ADMIN and g.org is not None]
    seen, unique = set(), []
    for s in out:
        if s.key not in seen:
            seen.add(s.key)
            unique.append(s)
    return unique


def acting_scope(user, raw: str | None) -> tuple[list[Scope], Scope] | None:
    """(the user's scopes, the one ``raw`` names — the first when empty); None when the
    user recommends for no scope or ``raw`` is not one of theirs (→ 404)."""
    scopes = scopes_of(user)
    if not scopes:
        return None
    raw = (raw or "").strip()
    if not raw:
        return scopes, scopes[0]
    for s in scopes:
        if s.key == raw:
            return scopes, s
    return None


def province_keys() -> list[str]:
    keys = [r.code for r in regions.provinces() if r.code not in NOT_EXPECTED]
    if BINGTUAN_ROUTE not in keys:
        keys.append(BINGTUAN_ROUTE)
    return keys


def approved_counts(campaign_id: int) -> dict[str, int]:
    """Approved activities per scope key: provinces from the trigger-kept tally, orgs
    from ix_activity_queue_supervisor."""
    from .models import ActivityTally

    out = {f"province:{k}": n for k, n in db.session.execute(
        select(ActivityTally.route_key, ActivityTally.n).where(
            ActivityTally.campaign_id == campaign_id, ActivityTally.status == APPROVED,
            ActivityTally.route_key != ""))}
    for org_id, n in db.session.execute(
            select(Activity.supervisor_org_id, func.count()).where(
                Activity.campaign_id == campaign_id, Activity.supervisor_org_id.is_not(None),
                Activity.status == APPROVED, Activity.route_province.is_(None))
            .group_by(Activity.supervisor_org_id)):
        out[f"org:{org_id}"] = n
    return out


def all_scopes(campaign_id: int, counts: dict[str, int]) -> list[Scope]:
    """Every province and the 兵团, then each org with approved activities (by name)."""
    out = [province_scope(k) for k in province_keys()]
    org_ids = [int(k[4:]) for k in counts if k.startswith("org:")]
    if org_ids:
        orgs = db.session.scalars(select(Org).where(Org.id.in_(org_ids)).order_by(Org.name))
        out += [org_scope(o) for o in orgs]
    return out


# --------------------------------------------------------------------------- formula

@dataclass
class Formula:
    total_activities: int
    total_units: int
    minimum: int
    cast_share: int = FORMULA_DEFAULTS["cast_share"]

    def suggest(self, total: int, n: int, which: str = "activities") -> int:
        pool = self.total_activities if which == "activities" else self.total_units
        share = round(pool * n / total) if total else 0
        return max(self.minimum, share)


def formula_of(campaign: Campaign) -> Formula:
    stored = campaign.settings if isinstance(campaign.settings, dict) else {}
    raw = stored.get("tuiyou")
    raw = raw if isinstance(raw, dict) else {}
    values = {}
    for key, default in FORMULA_DEFAULTS.items():
        try:
            v = int(raw.get(key, default))
        except (TypeError, ValueError):
            v = default
        values[key] = v if 0 <= v <= FORMULA_MAXIMA.get(key, v) else default
    return Formula(**values)


def _int_field(raw, label: str, errors: dict, key: str, maximum: int = 1_000_000):
    text = (raw or "").strip()
    if not text:
        errors[key] = f"请填写{label}"
        return None
    if not text.isdigit() or int(text) > maximum:
        errors[key] = f"{label}须为 0–{maximum} 的整数"
        return None
    return int(text)


def save_formula(campaign: Campaign, form, by) -> dict[str, str]:
    errors: dict[str, str] = {}
    values = {
        "total_activities": _int_field(form.get("total_activities"), "全国优秀活动总名额",
                                       errors, "total_activities"),
        "total_units": _int_field(form.get("total_units"), "全国优秀组织单位总名额", errors,
                                  "total_units"),
        "minimum": _int_field(form.get("minimum"), "每个单位最少名额", errors, "minimum", 1000),
    }
    # a form without the field (an older page still open) keeps the stored share
    values["cast_share"] = (_int_field(form.get("cast_share"), "科协单位占比上限（%）", errors,
                                       "cast_share", 100)
                            if "cast_share" in form else formula_of(campaign).cast_share)
    if errors:
        return errors
    settings = dict(campaign.settings) if isinstance(campaign.settings, dict) else {}
    settings["tuiyou"] = values
    campaign.settings = settings
    audit("campaign", campaign.id, "tuiyou_formula", by, data=values)
    db.session.commit()
    return {}


# --------------------------------------------------------------------------- quotas

def quotas(campaign_id: int) -> dict[str, TuiyouQuota]:
    return {q.scope_key: q for q in db.session.scalars(
        select(TuiyouQuota).where(TuiyouQuota.campaign_id == campaign_id))}


def quota_of(campaign_id: int, scope_key: str) -> TuiyouQuota | None:
    return db.session.get(TuiyouQuota, (campaign_id, scope_key))


def save_quota(campaign: Campaign, scope: Scope, form, by) -> dict[str, str]:
    """Set a scope's two quotas. Lower than the suggestion or than before → a reason is
    required (kept and shown to the scope's 推优 admin); never below what is used."""
    errors: dict[str, str] = {}
    acts = _int_field(form.get("activities"), "优秀活动名额", errors, "activities")
    units = _int_field(form.get("units"), "优秀组织单位名额", errors, "units")
    reason = (form.get("reason") or "").strip()
    if len(reason) > 500:
        errors["reason"] = "削减原因不超过 500 字"
    if errors:
        return errors
    counts = approved_counts(campaign.id)
    formula = formula_of(campaign)
    total = sum(counts.values())
    n = counts.get(scope.key, 0)
    s_acts, s_units = formula.suggest(total, n), formula.suggest(total, n, "units")
    q = quota_of(campaign.id, scope.key)
    before_acts = q.activities if q else s_acts
    before_units = q.units if q else s_units
    cut = acts < min(s_acts, before_acts) or units < min(s_units, before_units)
    if cut and not reason:
        errors["reason"] = "名额低于建议名额或原名额，请填写削减原因（推优管理员可见）"
    if q is not None and acts < q.activities_used:
        errors["activities"] = f"已推荐 {q.activities_used} 个优秀活动，名额不能少于已推荐数"
    if q is not None and units < q.units_used:
        errors["units"] = f"已推荐 {q.units_used} 个优秀组织单位，名额不能少于已推荐数"
    if errors:
        return errors
    if q is None:
        q = TuiyouQuota(campaign_id=campaign.id, scope_key=scope.key, activities_used=0,
                        units_used=0)
        db.session.add(q)
    q.activities, q.units = acts, units
    q.suggested_activities, q.suggested_units = s_acts, s_units
    q.cut_reason = reason if cut else ""
    q.updated_at, q.updated_by_id = utcnow(), getattr(by, "id", None)
    audit("campaign", campaign.id, "tuiyou_quota", by, data={
        "scope": scope.key, "activities": acts, "units": units, "reason": q.cut_reason})
    db.session.commit()
    return {}


# --------------------------------------------------------------------------- grants

class NeedsConfirm(Exception):
    def __init__(self, current: TuiyouGrant):
        self.current = current


def grants() -> dict[str, TuiyouGrant]:
    return {g.scope_key: g for g in db.session.scalars(select(TuiyouGrant))}


def _role_for(scope: Scope) -> str:
    return R.TUIYOU_ADMIN if scope.region_code else R.TUIYOU_ORG_ADMIN


def _scope_grants(scope: Scope):
    role = _role_for(scope)
    where = [Grant.role == role]
    where.append(Grant.region_code == scope.region_code if scope.region_code
                 else Grant.org_id == scope.org_id)
    return where


def grant_by_phone(scope: Scope, name: str, phone: str, by, *, confirm: bool = False
                   ) -> dict[str, str]:
    """Name ``scope``'s 推优 admin. Replacing another person needs ``confirm``
    (raises NeedsConfirm); the replaced person's role ends at once."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "请填写姓名"
    elif len(name) > 50:
        errors["name"] = "姓名不超过 50 字"
    try:
        phone = V.validate_phone(phone)
    except ValueError as e:
        errors["phone"] = str(e)
    if errors:
        return errors
    current = db.session.scalar(select(TuiyouGrant).where(TuiyouGrant.scope_key == scope.key))
    if current is not None and current.phone != phone and not confirm:
        raise NeedsConfirm(current)
    if current is not None:
        if current.phone != phone:
            db.session.execute(delete(Grant).where(*_scope_grants(scope)))
        db.session.delete(current)
        db.session.flush()
    pending = TuiyouGrant(scope_key=scope.key, region_code=scope.region_code,
                          org_id=scope.org_id, name=name, phone=phone,
                          created_by_id=getattr(by, "id", None))
    db.session.add(pending)
    db.session.flush()
    audit("tuiyou_grant", pending.id, "grant", by, data={
        "scope": scope.key, "name": name, "phone": phone,
        "replaced": current.phone if current is not None and current.phone != phone
        else None})
    db.session.commit()
    user = User.by_phone(phone)
    if user is not None:
        apply_pending(user)
    return {}


@on_account
def apply_pending(user) -> int:
    """Give ``user`` the 推优 admin roles granted to their phone (on register / login, or
    at once when they already exist). Returns how many were applied."""
    if not getattr(user, "phone", None):
        return 0
    todo = db.session.scalars(select(TuiyouGrant).where(
        TuiyouGrant.phone == user.phone, TuiyouGrant.applied_at.is_(None))).all()
    for pending in todo:
        scope = (province_scope(pending.region_code) if pending.region_code
                 else Scope(pending.scope_key, "", org_id=pending.org_id))
        exists = db.session.scalar(select(Grant.id).where(
            Grant.user_id == user.id, *_scope_grants(scope)))
        if exists is None:
            db.session.add(Grant(user_id=user.id, role=_role_for(scope),
                                 region_code=pending.region_code, org_id=pending.org_id,
                                 created_by_id=pending.created_by_id))
        pending.user_id, pending.applied_at = user.id, utcnow()
        if not user.name and pending.name:
            user.name = pending.name
    if todo:
        db.session.commit()
        db.session.expire(user, ["grants"])
    return len(todo)


# --------------------------------------------------------------------------- candidates

def _scope_where(campaign_id: int, scope: Scope) -> list:
    if scope.region_code:
        return [Activity.campaign_id == campaign_id,
                Activity.route_province == scope.region_code, Activity.status == APPROVED]
    return [Activity.campaign_id == campaign_id, Activity.supervisor_org_id == scope.org_id,
            Activity.status == APPROVED, Activity.route_province.is_(None)]


def candidate_query(campaign_id: int, scope: Scope, q: str = ""):
    """The scope's candidates in review order (newest first), served by
    ix_activity_queue_province / ix_activity_queue_supervisor."""
    stmt = select(Activity).where(*_scope_where(campaign_id, scope))
    if q:
        stmt = stmt.where(Activity.name.contains(q, autoescape=True))
    # submitted_at alone: the index's order (ties keep the index's row order), no sort
    return stmt.order_by(Activity.submitted_at.desc())


def recommended_query(campaign_id: int, scope: Scope):
    return (select(Activity).join(ExcellentActivity, ExcellentActivity.activity_id == Activity.id)
            .where(ExcellentActivity.campaign_id == campaign_id,
                   ExcellentActivity.scope_key == scope.key)
            .order_by(ExcellentActivity.created_at.desc(), ExcellentActivity.id.desc()))


def in_scope(activity: Activity, campaign_id: int, scope: Scope) -> bool:
    if activity.campaign_id != campaign_id or activity.status != APPROVED:
        return False
    if scope.region_code:
        return activity.route_province == scope.region_code
    return activity.route_province is None and activity.supervisor_org_id == scope.org_id


@dataclass
class Line:
    label: str
    ok: bool
    detail: str


@dataclass
class Candidate:
    activity: Activity
    lines: list[Line] = field(default_factory=list)
    recommended: bool = False

    @property
    def eligible(self) -> bool:
        return all(line.ok for line in self.lines)

    @property
    def missing(self) -> list[str]:
        return [line.label for line in self.lines if not line.ok]


def _lines(activity: Activity, c, scope: Scope, campaign_id: int) -> list[Line]:
    from ..timeutil import fmt

    ok = in_scope(activity, campaign_id, scope)
    when = fmt(activity.approved_at) if activity.approved_at else ""
    label = ("经本省审核推荐并经全国审核通过" if scope.region_code
             else "归口本单位并经全国审核通过")
    out = [Line(label, ok, f"已通过（{when}）" if ok and when else ("已通过" if ok
                                                                  else "未通过"))]
    missing = [i.label for i in c.items if not i.ok]
    out.append(Line("活动信息完整（填报、补充信息、总结）", c.complete,
                    "齐全" if c.complete else "缺：" + "、".join(missing)))
    items = {i.key: i for i in c.items}
    for key, text in (("media", "至少 1 篇媒体报道"), ("photos", "3–10 张活动照片"),
                      ("videos", "短视频不超过 3 段，每段 3 分钟以内")):
        i = items[key]
        out.append(Line(text, i.ok, i.detail))
    for n in c.notes:
        out.append(Line(n.label, n.ok, n.detail))
    i = items["summary_filed"]
    out.append(Line("活动结束后 10 日内提交总结", i.ok, i.detail))
    return out


def evaluate(activities: list[Activity], campaign_id: int, scope: Scope) -> list[Candidate]:
    """The checklist of each activity of a page (check_many: one load for the page)."""
    if not activities:
        return []
    checks = check_many(activities)
    ids = [a.id for a in activities]
    chosen = set(db.session.scalars(select(ExcellentActivity.activity_id).where(
        ExcellentActivity.activity_id.in_(ids))))
    return [Candidate(a, _lines(a, checks[a.id], scope, campaign_id), a.id in chosen)
            for a in activities]


@dataclass
class Page:
    rows: list[Candidate]
    page: int = 1
    has_next: bool = False
    # the eligibility filters scan the list in index order, SCAN_ROWS at a time
    scanned_from: int = 0
    scanned_to: int = 0
    more: bool = False


def candidates(campaign_id: int, scope: Scope, *, q: str = "", show: str = "",
               page: int = 1, start: int = 0) -> Page:
    if show == "recommended":
        rows = db.session.scalars(recommended_query(campaign_id, scope)
                                  .limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)).all()
        return Page(evaluate(rows[:PER_PAGE], campaign_id, scope), page,
                    len(rows) > PER_PAGE)
    stmt = candidate_query(campaign_id, scope, q)
    if show in ("eligible", "ineligible"):
        want = show == "eligible"
        found: list[Candidate] = []
        pos = start
        chunk = 100
        while pos < start + SCAN_ROWS and len(found) < PER_PAGE:
            rows = db.session.scalars(stmt.limit(chunk).offset(pos)).all()
            for cand in evaluate(rows, campaign_id, scope):
                pos += 1
                if cand.eligible == want:
                    found.append(cand)
                    if len(found) == PER_PAGE:
                        break
            if len(rows) < chunk:
                return Page(found, scanned_from=start, scanned_to=pos, more=False)
        more = db.session.scalar(stmt.with_only_columns(Activity.id).limit(1).offset(pos)) \
            is not None
        return Page(found, scanned_from=start, scanned_to=pos, more=more)
    rows = db.session.scalars(stmt.limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)).all()
    return Page(evaluate(rows[:PER_PAGE], campaign_id, scope), page, len(rows) > PER_PAGE)


# --------------------------------------------------------------------------- recommend

def _scoped_activity(campaign: Campaign, scope: Scope, activity_id: int) -> Activity:
    activity = db.session.get(Activity, activity_id)
    if activity is None or not in_scope(activity, campaign.id, scope):
        raise LookupError(activity_id)
    return activity


def results_ops():
    from . import tuiyou_results  # it builds on this module

    return tuiyou_results


def recommend(campaign: Campaign, scope: Scope, activity_id: int, by) -> Activity:
    """Recommend one activity; OperationError (Chinese) when refused, LookupError when
    the activity is not this scope's (→ 404)."""
    require_window(campaign, "recommend")
    activity = _scoped_activity(campaign, scope, activity_id)
    results_ops().refuse_if_decided(campaign.id)
    cand = evaluate([activity], campaign.id, scope)[0]
    if cand.recommended:
        raise OperationError("该活动已推荐", code="duplicate")
    if not cand.eligible:
        raise OperationError("不符合推优条件：" + "；".join(cand.missing), code="ineligible")
    done = db.session.execute(
        update(TuiyouQuota)
        .where(TuiyouQuota.campaign_id == campaign.id, TuiyouQuota.scope_key == scope.key,
               TuiyouQuota.activities_used < TuiyouQuota.activities)
        .values(activities_used=TuiyouQuota.activities_used + 1)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        db.session.rollback()
        q = quota_of(campaign.id, scope.key)
        if q is None or q.activities == 0:
            raise OperationError("尚未分配优秀活动推荐名额", code="no_quota")
        raise OperationError(f"优秀活动推荐名额（{q.activities} 个）已用完", code="quota")
    db.session.add(ExcellentActivity(campaign_id=campaign.id, scope_key=scope.key,
                                     activity_id=activity.id,
                                     recommended_by_id=getattr(by, "id", None)))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise OperationError("该活动已推荐", code="duplicate") from None
    audit("activity", activity.id, "tuiyou_recommend", by, data={"scope": scope.key})
    db.session.commit()
    return activity


def withdraw(campaign: Campaign, scope: Scope, activity_id: int, by) -> Activity:
    require_window(campaign, "recommend")
    activity = _scoped_activity(campaign, scope, activity_id)
    results_ops().refuse_if_decided(campaign.id, activity_id=activity.id)
    from .tuiyou_units import unit_blocking_withdrawal  # it builds on this module

    unit = unit_blocking_withdrawal(campaign.id, scope, activity)
    if unit is not None:
        raise OperationError(f"该活动的主办单位“{unit.name}”已推荐为优秀组织单位，"
                             f"请先撤回优秀组织单位“{unit.name}”的推荐", code="unit")
    gone = db.session.execute(delete(ExcellentActivity).where(
        ExcellentActivity.activity_id == activity.id,
        ExcellentActivity.campaign_id == campaign.id,
        ExcellentActivity.scope_key == scope.key,
        # selected by the national admin meanwhile: kept (refused below)
        ExcellentActivity.selected_at.is_(None)))
    if gone.rowcount != 1:
        db.session.rollback()
        results_ops().refuse_if_decided(campaign.id, activity_id=activity.id)
        raise OperationError("该活动未被推荐", code="not_recommended")
    db.session.execute(
        update(TuiyouQuota)
        .where(TuiyouQuota.campaign_id == campaign.id, TuiyouQuota.scope_key == scope.key,
               TuiyouQuota.activities_used > 0)
        .values(activities_used=TuiyouQuota.activities_used - 1)
        .execution_options(synchronize_session=False))
    audit("activity", activity.id, "tuiyou_withdraw", by, data={"scope": scope.key})
    db.session.commit()
    return activity


def deadline_text(campaign: Campaign) -> str:
    return ScienceDaySettings(campaign).window_text("recommend", "close")


def can_manage(user) -> bool:
    return is_national(user)
