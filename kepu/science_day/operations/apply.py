"""The info officer's writes: drafts, autosave, submit, edits of a submitted activity.

The activity form is one page of three sections (seed 002 三(二)); everything posted
is stored as typed (a draft keeps invalid values, so nothing typed is lost) and the
rules are checked when 保存 submits it.

Two tabs: every save carries the ``version`` the page was rendered with and is a
conditional ``UPDATE … WHERE version = :seen``; a stale page never overwrites a newer
save (``ConflictError``).

Editing a submitted activity (001 三.8, 002 三(三).3) autosaves into ``pending_edit``:
reviewers and the public page keep seeing the submitted version. 保存 applies the edit
and re-submits it to the start of its route; an activity that had been approved keeps
its public snapshot (``ActivityPublic``) until it is approved again. The edition's
edit cap counts these re-submissions (``edits_used``); correcting a refused (拒绝)
activity is always allowed and does not count, since the reviewer asked for it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

from sqlalchemy import select, update
from werkzeug.datastructures import FileStorage

from ...editions import parse_local
from ...extensions import db
from ...files.models import StoredFile
from ...files.operations import (UploadError, attach, claim_uploads, delete_file, files_for,
                                 save_uploads)
from ...files.specs import get_field
from ...orgs import regions, supervisors
from ...orgs.models import ORG_ACTIVE, Org
from ...timeutil import fmt, utcnow
from ...workflow import TransitionError, audit
from ..files import field_name
from ..flow import ACTIVITY_FLOW, STATE_LABELS
from ..models import (APPROVED, DRAFT, ENTITY, F_DETAIL_IMAGE, F_POSTER, NATIONAL_PENDING,
                      NATIONAL_REJECTED, PROVINCE_PENDING, PROVINCE_REJECTED,
                      SUBMITTED_STATES, Activity)
from ..routing import route_province
from ..settings import ScienceDaySettings
from .common import OperationError, require_window, settings_of
from .officers import is_officer, unit_name_of

REJECTED = frozenset({PROVINCE_REJECTED, NATIONAL_REJECTED})

TEXT_FIELDS = ("name", "mode", "activity_type", "supervisor_category", "booking_url",
               "details", "audience", "scientists_note", "contact_name", "contact_phone")
MULTI_LINE = {"details", "audience", "scientists_note"}
BOOL_FIELDS = ("joint_action", "special_action", "youth_festival", "gov_coop",
               "society_coop", "booking")
ITEM_FIELDS = ("joint_action_items", "special_action_items")
ORG_LISTS = ("hosts", "organisers", "gov_coop_orgs", "society_coop_orgs")
DATE_FIELDS = ("start_at", "end_at")
OTHER_FIELDS = ("region_code", "supervisor_org_id", "scientists")
ALL_FIELDS = (TEXT_FIELDS + BOOL_FIELDS + ITEM_FIELDS + ORG_LISTS + DATE_FIELDS
              + OTHER_FIELDS)
FILE_KEYS = (F_POSTER, F_DETAIL_IMAGE)
#: form field carrying the upload widget's file ids
FILE_TARGETS = {F_POSTER: "poster", F_DETAIL_IMAGE: "detail_images"}

LABELS = {
    "name": "活动名称", "mode": "活动方式", "activity_type": "活动类型",
    "start_at": "活动开始时间", "end_at": "活动结束时间", "region_code": "所在地区",
    "supervisor_category": "归口单位类别", "supervisor_org_id": "归口单位",
    "joint_action": "是否纳入联合行动", "joint_action_items": "联合行动类别",
    "special_action": "是否纳入科普专项行动", "special_action_items": "科普专项行动类别",
    "youth_festival": "是否纳入青少年科学节", "gov_coop": "是否与部委或委办厅局合作",
    "gov_coop_orgs": "合作的部委或委办厅局", "society_coop": "是否与学会合作",
    "society_coop_orgs": "合作的学会", "booking": "活动是否支持预约",
    "booking_url": "预约链接", F_POSTER: "活动宣传图", "details": "活动详情",
    F_DETAIL_IMAGE: "活动详情图片", "audience": "活动对象", "scientists": "参与科技工作者",
    "scientists_note": "参与科技工作者", "contact_name": "联系人",
    "contact_phone": "联系电话", "hosts": "主办单位", "organisers": "承办单位",
}
#: the order errors are listed in (the form's order)
FIELD_ORDER = ("name", "mode", "activity_type", "start_at", "end_at", "region_code",
               "supervisor_category", "supervisor_org_id", "joint_action_items",
               "special_action_items", "gov_coop_orgs", "society_coop_orgs", "booking_url",
               F_POSTER, "details", F_DETAIL_IMAGE, "audience", "scientists",
               "scientists_note", "contact_name", "contact_phone", "hosts", "organisers")

PHONE_RE = re.compile(r"^(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?|400-?\d{3}-?\d{4})$")
TEXT_STORE_CAP = 50_000
ORG_NAME_MAX = 100
LIST_STORE_MAX = 50
SCIENTIST_ROWS_MAX = 10


class ConflictError(OperationError):
    def __init__(self, message: str = ("此活动已在其他窗口或设备上修改。为避免覆盖，本次修改未保存；"
                                       "请复制需要保留的内容后刷新页面，在最新内容上继续编辑。")):
        super().__init__(message, code="conflict")


class InvalidActivity(OperationError):
    def __init__(self, errors: dict[str, str], message: str = "请修改标红的内容后再保存"):
        super().__init__(message, errors=errors, code="invalid")


@dataclass
class ActivityInput:
    """What the form posted: ``values`` holds only the fields present (column → value),
    ``bad`` the fields that could not be read (a date) with their message."""

    values: dict = field(default_factory=dict)
    bad: dict[str, str] = field(default_factory=dict)
    file_ids: dict[str, list] = field(default_factory=dict)
    uploads: dict[str, list[FileStorage]] = field(default_factory=dict)
    version: int | None = None


@dataclass
class SaveResult:
    activity: Activity
    store_errors: dict[str, str] = field(default_factory=dict)
    version: int | None = None
    saved_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.store_errors


# --------------------------------------------------------------------------- reading

def activity_files(activity: Activity) -> dict[str, list[StoredFile]]:
    out: dict[str, list[StoredFile]] = {k: [] for k in FILE_KEYS}
    if activity.id is None:
        return out
    by_field = {field_name(activity.campaign_id, k): k for k in FILE_KEYS}
    for f in files_for(ENTITY, activity.id):
        key = by_field.get(f.field)
        if key is not None:
            out[key].append(f)
    return out


def _to_json(name: str, value):
    if name in DATE_FIELDS:
        return value.strftime("%Y-%m-%d %H:%M:%S") if value else None
    return value


def _from_json(name: str, value):
    if name in DATE_FIELDS:
        if not value:
            return None
        try:
            return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
        except (TypeError, ValueError):
            return None
    return value


def current_values(activity: Activity) -> SimpleNamespace:
    """The activity as its owner is editing it: the submitted fields with the pending
    edit over them (a draft: its own fields)."""
    values = {name: getattr(activity, name) for name in ALL_FIELDS}
    for name, value in (activity.pending_edit or {}).items():
        if name in values:
            values[name] = _from_json(name, value)
    ns = SimpleNamespace(**values)
    ns.id, ns.campaign_id, ns.status = activity.id, activity.campaign_id, activity.status
    return ns


def editing_submitted(activity: Activity) -> bool:
    return activity.status in SUBMITTED_STATES


def counts_as_edit(activity: Activity) -> bool:
    """Re-submitting a pending or approved activity uses one of the edition's edits;
    correcting a refused one does not."""
    return activity.status in SUBMITTED_STATES and activity.status not in REJECTED


def edits_left(activity: Activity, settings: ScienceDaySettings | None = None) -> int | None:
    cap = (settings or settings_of(activity)).edit_cap
    if cap is None:
        return None
    return max(cap - (activity.edits_used or 0), 0)


def edit_refusal(activity: Activity, user) -> str | None:
    """Why ``user`` may not edit ``activity`` now (Chinese), or None."""
    if not activity.is_owner(user):
        return "无权修改此活动"
    if not is_officer(user):
        return "您的科普中国信息员资格未认证或已被撤销，暂不能发布或修改活动"
    settings = settings_of(activity)
    state = settings.phase("filing")
    if not state.open:
        return state.message
    if counts_as_edit(activity):
        left = edits_left(activity, settings)
        if left == 0:
            return (f"本届每个活动最多可修改{settings.edit_cap}次，此活动的修改次数已用完，"
                    "不能再修改")
    return None


def ensure_editable(activity: Activity, user) -> None:
    message = edit_refusal(activity, user)
    if message:
        raise OperationError(message, code="not_editable")


# --------------------------------------------------------------------------- validation

def valid_url(url: str) -> bool:
    url = (url or "").strip()
    if not url or any(ch.isspace() for ch in url):
        return False
    parts = urlsplit(url)
    return (parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
            and "." in (parts.hostname or ""))


def _len(value) -> int:
    return len(value or "")


def region_problem(code: str | None, mode: str) -> str | None:
    """所在地区: a province at least; 线上 may stop there; otherwise down to the county
    where the chosen city has counties (a 直辖市's district is its county level)."""
    r = regions.get(code)
    if r is None:
        return "请选择所在地区"
    if mode == "线上":
        return None
    if r.level == 1 and regions.children(r.code):
        return "请选择所在城市和区县（线上活动可只选择省份）"
    if r.level == 2 and regions.children(r.code):
        return "请选择所在区县"
    return None


def short_notice(start_at: datetime | None, settings: ScienceDaySettings,
                 now: datetime | None = None) -> bool:
    if start_at is None:
        return False
    now = now or utcnow()
    days = _notice_days(settings)
    return now < start_at < now + timedelta(days=days)


def _notice_days(settings) -> int:
    try:
        return max(int(settings.get("notice_days") or 0), 0)
    except (TypeError, ValueError):
        return 7


def food_safety(name: str | None, settings: ScienceDaySettings) -> bool:
    keyword = settings.get("food_safety_keyword") or "食品安全"
    return keyword in (name or "")


def _check_orgs(items, label: str, limit: int) -> str | None:
    if len(items or []) > limit:
        return f"{label}最多填写{limit}个（当前{len(items)}个）"
    for item in items or []:
        if len(item.get("name") or "") > ORG_NAME_MAX:
            return f"{label}“{item['name'][:12]}…”超过{ORG_NAME_MAX}字"
    return None


def validate(v, settings: ScienceDaySettings, files: dict, now: datetime | None = None
             ) -> dict[str, str]:
    """Field → message for every rule of seed 002 三(二), checked on ``v`` (an activity
    or ``current_values``). ``now`` is the submission time."""
    now = now or utcnow()
    e: dict[str, str] = {}
    name = (v.name or "").strip()
    limit = settings.limit("name")
    if not name:
        e["name"] = "请填写活动名称"
    elif len(name) > limit:
        e["name"] = f"活动名称不能超过{limit}字（当前{len(name)}字）"
    if v.mode not in settings["modes"]:
        e["mode"] = "请选择活动方式"
    if v.activity_type not in settings["activity_types"]:
        e["activity_type"] = "请选择活动类型"
    if v.start_at is None:
        e["start_at"] = "请填写活动开始时间"
    elif v.start_at <= now:
        e["start_at"] = (f"活动开始时间应晚于填报时间（现在是 {fmt(now)}），"
                         "请在活动举办之前填报")
    if v.end_at is None:
        e["end_at"] = "请填写活动结束时间"
    elif v.start_at is not None and v.end_at <= v.start_at:
        e["end_at"] = "活动结束时间应晚于开始时间"
    problem = region_problem(v.region_code, v.mode)
    if problem:
        e["region_code"] = problem
    org = db.session.get(Org, v.supervisor_org_id) if v.supervisor_org_id else None
    if v.supervisor_category not in supervisors.SUPERVISOR_CATEGORIES:
        e["supervisor_category"] = "请选择归口单位类别"
    else:
        problem = supervisors.check_supervisor(v.supervisor_category, org)
        if problem:
            e["supervisor_org_id"] = problem
    for flag, items_name, options_key in (("joint_action", "joint_action_items", "joint_actions"),
                                          ("special_action", "special_action_items",
                                           "special_actions")):
        if getattr(v, flag):
            items = getattr(v, items_name) or []
            if not items:
                e[items_name] = f"请勾选{LABELS[items_name]}"
            elif any(i not in settings[options_key] for i in items):
                e[items_name] = f"请从列表中勾选{LABELS[items_name]}"
    coop_limit = settings.limit("coop_orgs")
    for flag, list_name in (("gov_coop", "gov_coop_orgs"), ("society_coop", "society_coop_orgs")):
        if getattr(v, flag):
            items = getattr(v, list_name) or []
            if not items:
                e[list_name] = f"请添加至少一个{LABELS[list_name][3:]}（输入关键字选择，或输入准确名称后点击“添加”）"
            else:
                problem = _check_orgs(items, LABELS[list_name], coop_limit)
                if problem:
                    e[list_name] = problem
    if v.booking:
        url = (v.booking_url or "").strip()
        if not url:
            e["booking_url"] = "支持预约时请填写第三方平台预约链接"
        elif not valid_url(url) or len(url) > 500:
            e["booking_url"] = "预约链接格式不正确，请填写以 http:// 或 https:// 开头的完整网址"
    if not files.get(F_POSTER):
        e[F_POSTER] = "请上传活动宣传图"
    details = (v.details or "").strip()
    if not details:
        e["details"] = "请填写活动详情"
    elif len(details) > settings.limit("details"):
        e["details"] = f"活动详情不能超过{settings.limit('details')}字（当前{len(details)}字）"
    if len(files.get(F_DETAIL_IMAGE) or []) > settings.limit("detail_images"):
        e[F_DETAIL_IMAGE] = f"活动详情图片最多{settings.limit('detail_images')}张"
    audience = (v.audience or "").strip()
    if not audience:
        e["audience"] = "请填写活动对象"
    elif len(audience) > settings.limit("audience"):
        e["audience"] = f"活动对象不能超过{settings.limit('audience')}字（当前{len(audience)}字）"
    people = [s for s in (v.scientists or []) if any((s.get(k) or "").strip()
                                                    for k in ("name", "unit", "title"))]
    sci_max = settings.limit("scientists")
    note = (v.scientists_note or "").strip()
    if len(people) > sci_max:
        e["scientists"] = f"参与科技工作者最多填写{sci_max}人（当前{len(people)}人）"
    elif any(not (s.get("name") or "").strip() for s in people):
        e["scientists"] = "请填写每位科技工作者的姓名"
    elif any(_len(s.get(k)) > 100 for s in people for k in ("name", "unit", "title")):
        e["scientists"] = "科技工作者的姓名、单位、职务每项不超过100字"
    elif not people and not note:
        e["scientists"] = ("请填写参与的科技工作者（姓名、单位、职务），尚未确定时可在下方填写"
                           "“××领域的科技工作者”")
    if len(note) > settings.limit("scientists_note"):
        e["scientists_note"] = f"不能超过{settings.limit('scientists_note')}字（当前{len(note)}字）"
    if not (v.contact_name or "").strip():
        e["contact_name"] = "请填写联系人"
    elif len(v.contact_name) > 50:
        e["contact_name"] = "联系人不能超过50字"
    phone = (v.contact_phone or "").strip().replace(" ", "")
    if not phone:
        e["contact_phone"] = "请填写联系电话"
    elif not PHONE_RE.match(phone):
        e["contact_phone"] = "联系电话格式不正确，请填写手机号或带区号的固定电话（如 010-63581772）"
    if not v.hosts:
        e["hosts"] = "请添加至少一个主办单位"
    else:
        problem = _check_orgs(v.hosts, "主办单位", settings.limit("hosts"))
        if problem:
            e["hosts"] = problem
    problem = _check_orgs(v.organisers, "承办单位", settings.limit("organisers"))
    if problem:
        e["organisers"] = problem
    rank = {n: i for i, n in enumerate(FIELD_ORDER)}
    return {k: e[k] for k in sorted(e, key=lambda k: rank.get(k, 99))}


def warnings(v, settings: ScienceDaySettings, now: datetime | None = None) -> dict[str, str]:
    """Allowed but worth saying: less notice than the edition asks for."""
    out = {}
    if short_notice(v.start_at, settings, now):
        out["start_at"] = (f"距活动开始已不足{_notice_days(settings)}天。可以提交，但审核需要一定时间，"
                           f"建议在活动举办前{_notice_days(settings)}天以上填报（将标记为“临近填报”）")
    return out


# --------------------------------------------------------------------------- storing

def _clean_org_items(items, stored_ids: set[int], user) -> tuple[list[dict], str | None]:
    """[{"id"?, "name"}]: ids must name an org the user may pick (else the name stays as
    text); a typed name equal to an active org's name links it."""
    from ...orgs.operations import find_by_name

    out, seen = [], set()
    for item in items[:LIST_STORE_MAX]:
        name = (item.get("name") or "").strip()[:ORG_NAME_MAX * 2]
        oid = item.get("id")
        org = None
        if oid:
            org = db.session.get(Org, oid)
            if org is not None and oid not in stored_ids and not org.selectable_by(user):
                org = None
        elif name:
            found = find_by_name(name, include_pending=False)
            org = found if found is not None and found.status == ORG_ACTIVE else None
        if org is not None:
            entry = {"id": org.id, "name": org.name}
        elif name:
            entry = {"name": name}
        else:
            continue
        key = entry.get("id") or entry["name"]
        if key in seen:
            continue
        seen.add(key)
        out.append(entry)
    return out, None


def _storable(activity: Activity, data: ActivityInput, user) -> tuple[dict, dict[str, str]]:
    values, errors = {}, dict(data.bad)
    stored = current_values(activity)
    for name, value in data.values.items():
        if name not in ALL_FIELDS:
            continue
        if name in TEXT_FIELDS:
            value = value or ""
            column = Activity.__table__.c[name]
            cap = getattr(column.type, "length", None) or TEXT_STORE_CAP
            if len(value) > cap:
                errors[name] = (f"{LABELS.get(name, name)}过长（{len(value)}字，最多可保存{cap}字），"
                                "本项未能保存，请删减后再保存")
                continue
        elif name in ORG_LISTS:
            before = {i.get("id") for i in (getattr(stored, name) or []) if i.get("id")}
            value, _ = _clean_org_items(value or [], before, user)
        elif name == "supervisor_org_id":
            if value is not None and value != stored.supervisor_org_id:
                org = db.session.get(Org, value)
                if org is None:
                    errors[name] = "所选归口单位不存在，请重新选择"
                    value = None
        elif name == "region_code":
            value = regions.normalize(value) if value else None
        values[name] = value
    return values, errors


def _save_files(activity: Activity, user, data: ActivityInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    for key in FILE_KEYS:
        posted = [f for f in data.uploads.get(key, []) if f is not None and f.filename]
        ids = []
        for raw in data.file_ids.get(key, []):
            try:
                i = int(raw)
            except (TypeError, ValueError):
                continue
            if i not in ids:
                ids.append(i)
        if not posted and not ids:
            continue
        fname = field_name(activity.campaign_id, key)
        spec = get_field(fname)
        attached = files_for(ENTITY, activity.id, fname)
        have = {f.id for f in attached}
        if not posted and set(ids) <= have and (spec.max_files != 1 or len(have) == 1):
            continue
        new, messages = save_uploads(spec, posted, user) if posted else ([], [])
        try:
            claimed = claim_uploads(ids, user, fname, ENTITY, activity.id)
        except UploadError:
            claimed = [f for i in ids for f in claim_uploads([i], user, fname, ENTITY,
                                                              activity.id)]
        if spec.max_files == 1:
            chosen = new[-1:] or claimed[-1:]
            if chosen:
                keep = chosen[0]
                attach(keep, ENTITY, activity.id, commit=False)
                for f in {f.id: f for f in attached + claimed + new if f.id != keep.id}.values():
                    delete_file(f, commit=False)
        else:
            limit = spec.max_files or 10_000
            refused = []
            for f in claimed + new:
                if f.id in have:
                    continue
                if len(have) >= limit:
                    refused.append(f.original_name)
                    continue
                attach(f, ENTITY, activity.id, commit=False)
                have.add(f.id)
            if refused:
                messages.append(f"最多上传{limit}张，以下图片未保存：" + "、".join(refused))
        if messages:
            errors[key] = "；".join(messages)
    return errors


def _save(activity: Activity, user, data: ActivityInput) -> SaveResult:
    """Store what was posted (conditional on the version), without committing: on the
    columns of a draft, into ``pending_edit`` for a submitted activity."""
    ensure_editable(activity, user)
    if data.version is None:
        raise ConflictError("页面已过期，请刷新页面后重试。")
    values, store_errors = _storable(activity, data, user)
    settings = settings_of(activity)
    now = utcnow()
    t = Activity.__table__
    stmt = update(t).where(t.c.id == activity.id, t.c.version == data.version)
    if editing_submitted(activity):
        pending = dict(activity.pending_edit or {})
        pending.update({k: _to_json(k, v) for k, v in values.items()})
        stmt = stmt.where(t.c.status.in_(sorted(SUBMITTED_STATES))).values(
            pending_edit=pending, version=t.c.version + 1, updated_at=now)
    else:
        if "name" in values:
            values["food_safety"] = food_safety(values["name"], settings)
        stmt = stmt.where(t.c.status == DRAFT).values(
            **values, version=t.c.version + 1, updated_at=now)
    result = db.session.execute(stmt.execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(activity)
        ensure_editable(activity, user)
        raise ConflictError()
    db.session.refresh(activity)
    store_errors.update(_save_files(activity, user, data))
    return SaveResult(activity, store_errors, version=data.version + 1, saved_at=now)


def create_draft(user, campaign) -> Activity:
    if campaign is None:
        raise OperationError("当前没有进行中的全国科普日活动", code="no_campaign")
    if not is_officer(user):
        raise OperationError("请先认证科普中国信息员身份", code="not_officer")
    require_window(campaign, "filing")
    activity = Activity(campaign_id=campaign.id, owner_id=user.id, status=DRAFT, version=1,
                        contact_name=(user.real_name or user.name or "")[:50],
                        contact_phone=user.phone or "")
    unit = unit_name_of(user)
    if unit:
        activity.hosts = [{"name": unit}]
    db.session.add(activity)
    db.session.flush()
    if unit:
        activity.hosts, _ = _clean_org_items(activity.hosts, set(), user)
    audit(ENTITY, activity.id, "create", user)
    db.session.commit()
    return activity


def save_draft(activity: Activity, user, data: ActivityInput,
               remove_file: int | None = None) -> SaveResult:
    result = _save(activity, user, data)
    if remove_file:
        stored = db.session.get(StoredFile, remove_file)
        if (stored is not None and stored.owner_id == user.id and stored.entity_type == ENTITY
                and stored.entity_id == activity.id):
            delete_file(stored, commit=False)
    db.session.commit()
    return result


def submit(activity: Activity, user, data: ActivityInput) -> dict[str, str]:
    """保存: store the post, check every rule, then submit (a draft) or re-submit (an
    edit) to the start of the route. Returns the warnings (short notice). Raises
    ``InvalidActivity`` (the post is stored all the same: nothing typed is lost)."""
    result = _save(activity, user, data)
    settings = settings_of(activity)
    now = utcnow()
    values = current_values(activity)
    errors = {**validate(values, settings, activity_files(activity), now),
              **result.store_errors}
    if errors:
        db.session.commit()
        raise InvalidActivity(errors)
    edit = editing_submitted(activity)
    counted = counts_as_edit(activity)
    if counted:
        left = edits_left(activity, settings)
        if left == 0:
            db.session.commit()
            raise OperationError("此活动的修改次数已用完，不能再修改", code="edit_cap")
    for name in ALL_FIELDS:
        setattr(activity, name, getattr(values, name))
    org = db.session.get(Org, activity.supervisor_org_id)
    route = route_province(activity.supervisor_category, org, activity.region_code)
    action = "submit_province" if route is not None else "submit_national"
    try:
        ACTIVITY_FLOW.apply(activity, action, user, data={
            "edit": edit, "counted": counted, "from": activity.status,
            "version": activity.version + 1})
    except TransitionError as e:
        db.session.rollback()
        raise OperationError(e.message, code=e.code) from None
    activity.route_province = route
    activity.food_safety = food_safety(activity.name, settings)
    activity.short_notice = short_notice(activity.start_at, settings, now)
    activity.filer_unit = unit_name_of(user)[:200]
    activity.submitted_at = now
    if activity.first_submitted_at is None:
        activity.first_submitted_at = now
    activity.pending_edit = None
    activity.reject_reason = ""
    activity.decided_at = None
    if counted:
        activity.edits_used = (activity.edits_used or 0) + 1
    activity.version = activity.version + 1
    activity.updated_at = now
    db.session.commit()
    return warnings(activity, settings, now)


def discard_edit(activity: Activity, user) -> None:
    """放弃修改: drop the pending edit of a submitted activity."""
    if not activity.is_owner(user):
        raise OperationError("无权修改此活动", code="forbidden")
    if activity.pending_edit is None:
        return
    activity.pending_edit = None
    activity.version = activity.version + 1
    activity.updated_at = utcnow()
    db.session.commit()


def delete_draft(activity: Activity, user) -> None:
    if not activity.is_owner(user):
        raise OperationError("无权删除此活动", code="forbidden")
    if activity.status != DRAFT:
        raise OperationError("只有草稿可以删除", code="not_draft")
    for f in files_for(ENTITY, activity.id):
        delete_file(f, commit=False)
    audit(ENTITY, activity.id, "delete", user, data={"name": activity.name})
    db.session.delete(activity)
    db.session.commit()


# --------------------------------------------------------------------------- lists

@dataclass
class MyActivity:
    activity: Activity
    status_label: str
    time_status: str
    listing: str
    reason: str
    edits_left: int | None
    editable: bool
    refusal: str | None
    has_pending_edit: bool


def listing_label(activity: Activity) -> str:
    if activity.status != APPROVED and activity.approved_at is None:
        return "未上架"
    return "已上架" if activity.listed else "已下架"


def my_rows(activities, user) -> list[MyActivity]:
    rows = []
    for a in activities:
        settings = settings_of(a)
        refusal = edit_refusal(a, user)
        rows.append(MyActivity(
            activity=a, status_label=STATE_LABELS.get(a.status, a.status),
            time_status=a.time_status(), listing=listing_label(a),
            reason=a.reject_reason if a.status in REJECTED else "",
            edits_left=edits_left(a, settings) if a.status != DRAFT else None,
            editable=refusal is None, refusal=refusal,
            has_pending_edit=a.pending_edit is not None))
    return rows


def drafts_of(user, campaign) -> list[Activity]:
    return list(db.session.scalars(
        select(Activity).where(Activity.owner_id == user.id,
                               Activity.campaign_id == campaign.id, Activity.status == DRAFT)
        .order_by(Activity.updated_at.desc(), Activity.id.desc())))


ACTION_LABELS = {"create": "创建草稿", "delete": "删除草稿"}


def history_for_owner(activity: Activity, user) -> list[dict]:
    rows = []
    for entry in ACTIVITY_FLOW.history(activity):
        if entry.action in ACTION_LABELS:
            label = ACTION_LABELS[entry.action]
        elif entry.action in ACTIVITY_FLOW.transitions:
            label = ACTIVITY_FLOW.transitions[entry.action].label
            if entry.action.startswith("submit") and (entry.data or {}).get("edit"):
                label = "修改后重新提交"
        else:
            label = entry.action
        actor = "本人" if entry.actor_id == user.id else (
            "省级科协" if entry.action.startswith("province") else "中国科协")
        rows.append({"at": entry.at, "label": label, "actor": actor,
                     "to": STATE_LABELS.get(entry.to_state or "", ""),
                     "comment": entry.comment})
    return rows


__all__ = ["ActivityInput", "ConflictError", "InvalidActivity", "SaveResult", "create_draft",
           "save_draft", "submit", "validate", "warnings", "edit_refusal", "my_rows",
           "PROVINCE_PENDING", "NATIONAL_PENDING"]
