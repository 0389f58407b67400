"""Implementing units (案例实施单位): start a case with a 推荐码, drafts and autosave,
submit to the recommender unit, delete a draft.

The 附件 form of seed 004 with its limits (per-edition settings ``limits``):
案例名称 ≤20, 横/竖版照片 (≤1MB each, orientation checked by the upload spec), 实施单位,
单位地址, 联系人, 职务/职称, 联系电话, 电子邮箱, 所属类别 (category + subtype, 其他 needs
its text), 简要概述 ≤500, 媒体报道标题和链接 ≤3, 获奖情况 (needs 证明材料), 详细材料 ≤3000.

Drafts keep everything typed (even invalid values); ``submit`` validates everything.
Saving is race-free: ``UPDATE … WHERE version = <posted>``; a stale version is a
conflict (another tab or device saved first) and nothing is written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit

from sqlalchemy import bindparam, delete, update

from ...accounts import validators as V
from ...extensions import db
from ...inputs import parse_int
from ...files.models import StoredFile
from ...files.operations import UploadError, attach, claim_uploads, delete_file, files_for
from ...files.specs import get_field
from ...timeutil import utcnow
from ...workflow import OperationError, TransitionError, audit
from ..common import current_campaign, require_open_window, settings_of
from ..flow import CASE_FLOW, STATE_LABELS
from ..models import (DRAFT, EDITABLE_STATES, ENTITY, F_AWARD_PROOF, F_PHOTO_LANDSCAPE,
                      F_PHOTO_PORTRAIT, Case)
from . import codes as code_ops
from . import past as past_ops

#: upload widget target name → file field spec (kepu/cases/files.py)
TARGETS = {
    "photo_landscape": F_PHOTO_LANDSCAPE,
    "photo_portrait": F_PHOTO_PORTRAIT,
    "award_proof": F_AWARD_PROOF,
}

TEXT_FIELDS = ("name", "impl_unit", "unit_address", "contact_name", "job_title",
               "contact_phone", "email", "subtype_other", "summary", "awards", "details")
SHORT_FIELDS = ("name", "impl_unit", "unit_address", "contact_name", "job_title",
                "contact_phone", "email", "subtype_other")

#: What the columns hold; drafts keep what was typed up to this.
COLUMN_MAX = {"name": 100, "impl_unit": 200, "unit_address": 200, "contact_name": 50,
              "job_title": 100, "contact_phone": 30, "email": 120, "subtype_other": 100,
              "category": 20, "subtype": 30}

#: Limits of fields the seed does not cap (the columns' sizes, as written rules).
FIELD_MAX = {"impl_unit": 100, "unit_address": 100, "contact_name": 30, "job_title": 50,
             "contact_phone": 30, "email": 100}

MEDIA_TITLE_MAX = 100
MEDIA_URL_MAX = 500

LABELS = {
    "name": "案例名称", "impl_unit": "实施单位", "unit_address": "单位地址",
    "contact_name": "联系人", "job_title": "职务/职称", "contact_phone": "联系电话",
    "email": "电子邮箱", "category": "所属类别", "subtype": "类别", "subtype_other": "其他类别",
    "summary": "简要概述", "media": "媒体报道标题和链接", "awards": "获奖情况",
    "details": "详细材料", "photo_landscape": "横版照片", "photo_portrait": "竖版照片",
    "award_proof": "获奖证明材料",
}

#: Form order of error keys (the error summary lists them top to bottom).
ERROR_ORDER = ("name", "photo_landscape", "photo_portrait", "impl_unit", "unit_address",
               "contact_name", "job_title", "contact_phone", "email", "category", "subtype",
               "subtype_other", "summary", "media", "awards", "award_proof", "details")


def ordered_errors(errors: dict[str, str]) -> dict[str, str]:
    def rank(key: str):
        base, _, n = key.partition("_") if key.startswith("media_") else (key, "", "")
        pos = ERROR_ORDER.index(base) if base in ERROR_ORDER else len(ERROR_ORDER)
        return (pos, int(n) if n.isdigit() else 0)

    return {k: errors[k] for k in sorted(errors, key=rank)}


REQUIRED = ("name", "impl_unit", "unit_address", "contact_name", "job_title",
            "contact_phone", "email", "summary", "details")

CONFLICT_MESSAGE = ("此草稿已在其他窗口或设备上修改。为避免覆盖，本次修改未保存："
                    "请复制需要保留的内容后刷新页面。")
INVALID_MESSAGE = "请修改标红的内容后再提交"

_LANDLINE_RE = re.compile(r"^(?:0\d{2,3}-?)?[2-9]\d{6,7}(?:(?:-|转|#|ext\.?)\d{1,6})?$")
_SERVICE_RE = re.compile(r"^[48]00-?\d{3}-?\d{4}$")


# --- files ------------------------------------------------------------------------------

def case_files(case: Case) -> dict[str, list[StoredFile]]:
    """The case's attached files by slot: ``photo_landscape``, ``photo_portrait``,
    ``award_proof`` (each a list, oldest first)."""
    out: dict[str, list[StoredFile]] = {t: [] for t in TARGETS}
    by_field = {f: t for t, f in TARGETS.items()}
    if case is None or case.id is None:
        return out
    for f in files_for(ENTITY, case.id):
        target = by_field.get(f.field)
        if target:
            out[target].append(f)
    return out


# --- values -----------------------------------------------------------------------------

def _text(value) -> str:
    """Browsers post newlines as CRLF; counters (and limits) count one per newline."""
    return (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def values_of(case: Case) -> dict:
    values = {name: getattr(case, name) or "" for name in TEXT_FIELDS}
    values["category"] = case.category or ""
    values["subtype"] = case.subtype or ""
    values["media_reports"] = [dict(title=m.get("title", ""), url=m.get("url", ""))
                               for m in (case.media_reports or []) if isinstance(m, dict)]
    return values


def parse_subtype(raw: str, category: str, settings) -> tuple[str, str]:
    """The subtype radio posts ``<category>:<subtype>`` (one radio group across both
    categories); a bare subtype is accepted too. Returns (category, subtype)."""
    raw = (raw or "").strip()
    cats = settings["categories"]
    if ":" in raw:
        cat, _, sub = raw.partition(":")
        if cat in cats:
            if not category:
                category = cat
            elif cat != category:
                return category, raw  # kept as typed; validation explains
            return category, sub
    return category, raw


def read_values(form, settings) -> dict:
    """Everything the user typed in the 附件 form (nothing dropped)."""
    values = {name: _text(form.get(name)) for name in TEXT_FIELDS}
    category = (form.get("category") or "").strip()
    values["category"], values["subtype"] = parse_subtype(form.get("subtype", ""), category,
                                                          settings)
    titles = form.getlist("media_title")
    urls = form.getlist("media_url")
    media = []
    for i in range(max(len(titles), len(urls))):
        title = _text(titles[i] if i < len(titles) else "")
        url = _text(urls[i] if i < len(urls) else "")
        if title or url:
            media.append({"title": title, "url": url})
    values["media_reports"] = media
    return values


def _columns(values: dict) -> dict:
    cols = {}
    for name in TEXT_FIELDS + ("category", "subtype"):
        value = values.get(name, "") or ""
        cap = COLUMN_MAX.get(name)
        cols[name] = value[:cap] if cap else value
    cols["media_reports"] = [
        {"title": m["title"][:MEDIA_TITLE_MAX * 2], "url": m["url"][:MEDIA_URL_MAX * 2]}
        for m in values.get("media_reports", [])][:10]
    return cols


# --- validation -------------------------------------------------------------------------

def valid_phone(value: str) -> bool:
    """Mainland mobile, or landline with optional area code / extension, or 400/800."""
    raw = (value or "").strip()
    if not raw:
        return False
    if V.is_valid_phone(raw):
        return True
    compact = re.sub(r"[\s()（）]", "", raw).replace("—", "-").replace("－", "-")
    for prefix in ("+86", "0086"):
        if compact.startswith(prefix):
            compact = compact[len(prefix):].lstrip("-")
            if not compact.startswith("0") and not compact.startswith("1"):
                compact = "0" + compact
    return bool(_LANDLINE_RE.match(compact) or _SERVICE_RE.match(compact))


def valid_url(value: str) -> bool:
    if not value or any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    host = parts.hostname or ""
    return parts.scheme in ("http", "https") and "." in host and not host.startswith(".")


def _too_long(label: str, limit: int, n: int) -> str:
    return f"{label}不能超过{limit}个字（当前{n}个字）"


def validate(values: dict, files: dict, settings) -> dict[str, str]:
    """All rules of the 附件 form; returns {field: Chinese message} (empty when valid)."""
    errors: dict[str, str] = {}
    limits = {k: settings.limit(k) for k in settings["limits"]}

    for name in REQUIRED:
        if not values.get(name):
            errors[name] = f"请填写{LABELS[name]}"
    lengths = {"name": limits["name"], "summary": limits["summary"],
               "details": limits["details"], "awards": limits["awards"], **FIELD_MAX}
    for name, limit in lengths.items():
        n = len(values.get(name) or "")
        if n > limit and name not in errors:
            errors[name] = _too_long(LABELS[name], limit, n)

    if values.get("contact_phone") and "contact_phone" not in errors \
            and not valid_phone(values["contact_phone"]):
        errors["contact_phone"] = "请输入正确的联系电话（手机号或带区号的固定电话）"
    if values.get("email") and "email" not in errors:
        try:
            V.validate_email_address(values["email"])
        except ValueError:
            errors["email"] = V.MSG_EMAIL

    cats = settings["categories"]
    category, subtype = values.get("category", ""), values.get("subtype", "")
    if category not in cats:
        errors["category"] = "请选择所属类别"
    elif not subtype:
        errors["subtype"] = f"请选择“{cats[category]['label']}”下的具体类型"
    elif subtype not in cats[category]["subtypes"]:
        errors["subtype"] = f"所选类型不属于“{cats[category]['label']}”，请重新选择"
    elif subtype == "其他":
        other = values.get("subtype_other", "")
        if not other:
            errors["subtype_other"] = "选择“其他”时请填写具体类型"
        elif len(other) > limits["other_text"]:
            errors["subtype_other"] = _too_long("其他类型", limits["other_text"], len(other))

    media = values.get("media_reports") or []
    if len(media) > limits["media_items"]:
        errors["media"] = f"媒体报道最多填写{limits['media_items']}篇（当前{len(media)}篇）"
    for i, item in enumerate(media, start=1):
        title, url = item.get("title", ""), item.get("url", "")
        if not title:
            errors[f"media_{i}"] = f"第{i}篇：请填写报道标题"
        elif len(title) > MEDIA_TITLE_MAX:
            errors[f"media_{i}"] = f"第{i}篇：报道标题不能超过{MEDIA_TITLE_MAX}个字"
        elif not url:
            errors[f"media_{i}"] = f"第{i}篇：请填写报道链接"
        elif len(url) > MEDIA_URL_MAX or not valid_url(url):
            errors[f"media_{i}"] = f"第{i}篇：链接须为以 http:// 或 https:// 开头的完整网址"

    if values.get("awards") and not files.get("award_proof") and "awards" not in errors:
        errors["award_proof"] = "填写获奖情况时，请上传获奖证明材料"

    if not files.get("photo_landscape"):
        errors["photo_landscape"] = "请上传横版照片（宽度大于高度，不超过1MB）"
    if not files.get("photo_portrait"):
        errors["photo_portrait"] = "请上传竖版照片（高度大于宽度，不超过1MB）"
    return errors


def duplicate_check(case: Case, values: dict | None = None):
    """(exact PastCase | None, near matches) for the case's name and units."""
    values = values or values_of(case)
    units = [values.get("impl_unit", "")]
    if case.org is not None:
        units.append(case.org.name)
    return past_ops.find_matches(case.campaign_id, values.get("name", ""), units)


def duplicate_warning(case: Case, values: dict | None = None) -> str:
    """Warning shown while editing (autosave) when the name matches a past case
    (``values``: what was typed, else the stored case). Only the exact match counts
    here, found with one indexed query; ``submit`` also notes the near matches."""
    values = values or values_of(case)
    units = [values.get("impl_unit", "")]
    if case.org is not None:
        units.append(case.org.name)
    exact = past_ops.find_exact(case.campaign_id, values.get("name", ""), units)
    return past_ops.refusal_message(exact) if exact else ""


# --- writes -----------------------------------------------------------------------------

def start_case(user, raw_code: str | None) -> Case:
    """Create a draft case under the unit whose 推荐码 the user entered."""
    campaign = current_campaign()
    require_open_window(campaign)
    code = code_ops.lookup(raw_code, campaign)
    case = Case(campaign_id=campaign.id, org_id=code.org_id, owner_id=user.id, status=DRAFT,
                contact_name=(user.real_name or user.name or "")[:50],
                contact_phone=user.phone or "", email=user.email or "",
                impl_unit=user.unit_name or "", job_title=user.job_title or "",
                media_reports=[])
    db.session.add(case)
    db.session.flush()
    audit(ENTITY, case.id, "create", user, data={"org_id": code.org_id, "code_id": code.id})
    db.session.commit()
    return case


def state_message(case: Case) -> str:
    return (f"该案例当前状态为“{STATE_LABELS.get(case.status, case.status)}”，不能修改。"
            "已提交的案例如需修改，请联系推荐单位退回。")


def require_editable(case: Case, user) -> None:
    if not case.is_owner(user):
        raise OperationError("无权修改该案例", code="forbidden")
    if case.status not in EDITABLE_STATES:
        raise OperationError(state_message(case), code="locked")
    require_open_window(case.campaign)


@dataclass
class FilePlan:
    """Files to keep per slot after a save (computed before writing)."""

    keep: dict[str, list[StoredFile]] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)
    # Set by ``save_draft``: the version and time it stored (after its commit the
    # case's attributes are expired and reading them costs a query).
    version: int | None = None
    saved_at: datetime | None = None


def _same_ids(raw_ids: list, files: list[StoredFile]) -> bool:
    """The posted ids are exactly these files (the widget posting back what is attached)."""
    ids = set()
    for raw in raw_ids:
        try:
            ids.add(int(raw))
        except (TypeError, ValueError):
            return False
    return ids == {f.id for f in files}


def plan_files(case: Case, user, posted_ids: dict[str, list], new_files: dict[str, list],
               current: dict[str, list[StoredFile]] | None = None) -> FilePlan:
    """Which files each slot keeps: the posted ids (the widget's hidden inputs, only the
    user's own uploads for that field) plus files uploaded without JavaScript. A single
    slot keeps the newest file; a multiple slot keeps up to the spec's max_files.
    ``current``: the case's attached files (``case_files``), when already loaded; a slot
    whose posted ids are exactly its attached files keeps them without a query."""
    plan = FilePlan()
    for target, field_name in TARGETS.items():
        spec = get_field(field_name)
        ids = list(posted_ids.get(target) or [])
        new = list(new_files.get(target) or [])
        attached = (current or {}).get(target)
        if current is not None and not new and _same_ids(ids, attached) \
                and len(attached) <= (spec.max_files or len(attached)):
            plan.keep[target] = list(attached)
            continue
        if new and spec.max_files == 1:
            ids, new = [], new[-1:]
        try:
            claimed = claim_uploads(ids, user, field_name, ENTITY, case.id)
        except UploadError:
            claimed = claim_uploads(ids[: spec.max_files or None], user, field_name,
                                    ENTITY, case.id)
            plan.warnings[target] = f"最多上传{spec.max_files}个文件，多余的未保存"
        keep = claimed + [f for f in new if f.id not in {c.id for c in claimed}]
        if spec.max_files and len(keep) > spec.max_files:
            if spec.max_files == 1:
                keep = keep[-1:]
            else:
                keep = keep[: spec.max_files]
                plan.warnings[target] = f"最多上传{spec.max_files}个文件，多余的未保存"
        plan.keep[target] = keep
    return plan


def _apply_files(case: Case, plan: FilePlan,
                 current: dict[str, list[StoredFile]] | None = None) -> None:
    current = current if current is not None else case_files(case)
    for target, keep in plan.keep.items():
        keep_ids = {f.id for f in keep}
        for f in keep:
            attach(f, ENTITY, case.id, commit=False)
        for f in current.get(target, []):
            if f.id not in keep_ids:
                delete_file(f, commit=False)


def _version(raw) -> int | None:
    return parse_int(raw)


@lru_cache(maxsize=8)
def _save_statement(columns: tuple[str, ...]):
    """The conditional UPDATE of a save (``WHERE version = :seen``, the owner's, still
    editable), built once with bind parameters as a Core statement."""
    t = Case.__table__
    return (update(t)
            .where(t.c.id == bindparam("_id"), t.c.version == bindparam("_seen"),
                   t.c.owner_id == bindparam("_owner"),
                   t.c.status.in_(sorted(EDITABLE_STATES)))
            .values({**{t.c[name]: bindparam(f"_v_{name}", type_=t.c[name].type)
                        for name in columns},
                     t.c.version: t.c.version + 1,
                     t.c.updated_at: bindparam("_now", type_=t.c.updated_at.type)}))


def save_draft(case: Case, values: dict, version, user,
               posted_ids: dict[str, list] | None = None,
               new_files: dict[str, list] | None = None) -> FilePlan:
    """Store everything typed, if ``version`` is still current (else a conflict).

    Returns the file plan (its ``warnings`` are shown next to the upload widgets).
    """
    require_editable(case, user)
    expected = _version(version)
    current = case_files(case)
    plan = plan_files(case, user, posted_ids or {}, new_files or {}, current)
    cols = _columns(values)
    now = utcnow()
    result = db.session.execute(
        _save_statement(tuple(sorted(cols))),
        {"_id": case.id, "_seen": expected, "_owner": user.id, "_now": now,
         **{f"_v_{name}": value for name, value in cols.items()}})
    if expected is None or result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(case)
        if case.status not in EDITABLE_STATES:
            raise OperationError(state_message(case), code="locked")
        raise OperationError(CONFLICT_MESSAGE, code="conflict")
    _apply_files(case, plan, current)
    db.session.commit()
    plan.version, plan.saved_at = expected + 1, now
    return plan


def submit_problems(case: Case) -> tuple[dict[str, str], list]:
    """What stops the stored case from being submitted ({field: message}; a 2025
    duplicate refuses the name) and its near matches. Used before asking "确定提交？"
    (the confirmation comes after validation) and again by ``submit``."""
    settings = settings_of(case)
    values = values_of(case)
    errors = validate(values, case_files(case), settings)
    exact, near = duplicate_check(case, values)
    if exact is not None and "name" not in errors:
        errors["name"] = past_ops.refusal_message(exact)
    return errors, near


def submit(case: Case, user) -> None:
    """Validate everything, refuse a 2025 duplicate, then draft/returned → submitted."""
    require_editable(case, user)
    errors, near = submit_problems(case)
    if errors:
        raise OperationError(INVALID_MESSAGE, errors=errors, code="invalid")
    try:
        CASE_FLOW.apply(case, "submit", user,
                        data={"duplicate_note": past_ops.near_note(near)} if near else None)
    except TransitionError as e:
        raise OperationError(e.message, code=e.code) from e
    now = utcnow()
    case.duplicate_note = past_ops.near_note(near)
    case.submitted_at = now
    case.updated_at = now
    case.version = case.version + 1
    db.session.commit()


def delete_draft(case: Case, user) -> None:
    """The owner deletes a draft (never a submitted case) with its files."""
    if not case.is_owner(user):
        raise OperationError("无权删除该案例", code="forbidden")
    if case.status != DRAFT:
        raise OperationError("只能删除草稿；已提交的案例不能删除", code="locked")
    files = files_for(ENTITY, case.id)
    result = db.session.execute(delete(Case).where(Case.id == case.id, Case.status == DRAFT)
                                .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        raise OperationError("该案例状态已变化，请刷新后重试", code="conflict")
    for f in files:
        delete_file(f, commit=False)
    audit(ENTITY, case.id, "delete", user, data={"name": case.name, "org_id": case.org_id})
    db.session.commit()
    db.session.expunge(case)
