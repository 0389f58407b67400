"""Applicant writes of the works call: drafts, step saves, submit / 确认更新, delete.

Saving (autosave, 暂存草稿, 上一步, 下一步) stores every posted field of the current step,
valid or not, so nothing typed is lost; the rules (required fields, lengths, formats,
files) are checked when moving on (下一步) and when submitting. The only values not
stored are those the database cannot hold (longer than the column); the caller gets
them back in ``SaveResult.store_errors`` to show next to the field.

Two tabs: every save carries the ``version`` the page was rendered with and is a
conditional ``UPDATE … WHERE version = :posted AND status IN (editable)``, so a stale
page can never overwrite a newer save (``ConflictError``).

While a work is 待推荐 or 退回修改 the applicant may still edit it (seed 000 三.3);
those saves change the submitted work directly (the unit sees the current text), and
确认更新 records the update in the audit trail and puts the work back to 待推荐.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit

from sqlalchemy import String, bindparam, delete, select, update
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.datastructures import FileStorage

from ...extensions import db
from ...files.models import StoredFile
from ...files.operations import (UploadError, attach, claim_uploads, delete_file, files_for,
                                 save_uploads)
from ...files.specs import get_field
from ...orgs.channels import validate_channel
from ...orgs.models import Org
from ...timeutil import utcnow
from ...workflow import AuditLog, TransitionError, audit
from ..files import field_name
from ..flow import STATE_HINTS, STATE_LABELS, WORK_FLOW, status_label
from ..models import (DRAFT, EDITABLE_STATES, ENTITY, F_AWARD_FILES, F_COVER, F_COVER_SUB,
                      F_WORK_FILES, RETURNED, Work)
from ..settings import WorksSettings
from .common import OperationError, require_open_window, settings_of

STEPS = {1: "基本信息", 2: "补充信息", 3: "预览"}
LAST_STEP = 3

FILE_KEYS = (F_COVER, F_COVER_SUB, F_WORK_FILES, F_AWARD_FILES)
#: Form field carrying the upload widget's file ids, per upload field.
FILE_TARGETS = {F_COVER: "cover", F_COVER_SUB: "cover_sub", F_WORK_FILES: "work_files",
                F_AWARD_FILES: "award_files"}
STEP_FILES = {1: (F_COVER, F_COVER_SUB, F_WORK_FILES), 2: (F_AWARD_FILES,), 3: ()}

STEP_TEXT = {
    1: ("title", "work_type", "category", "intro"),
    2: ("author_name", "applicant_unit", "unit_address", "contact_name", "contact_phone",
        "email", "job_title", "unit_type", "highlights", "awards"),
    3: (),
}
STEP_OTHER = {1: (), 2: ("channel_id", "media_reports"), 3: ()}

LABELS = {
    "title": "作品名称", "work_type": "作品类型", "category": "作品分类", "intro": "作品简介",
    F_COVER: "作品封面", F_COVER_SUB: "封面副图", F_WORK_FILES: "作品文件",
    "author_name": "作者姓名", "applicant_unit": "申报单位", "unit_address": "单位地址",
    "contact_name": "联系人", "contact_phone": "联系电话", "email": "电子邮箱",
    "job_title": "职务/职称", "unit_type": "申报单位类型", "channel_id": "推荐渠道",
    "highlights": "亮点总结", "media_reports": "相关媒体报道名称和链接", "awards": "获奖情况",
    F_AWARD_FILES: "获奖情况附件", "declaration": "申报声明",
}
#: Which step each field is entered on (for "go back and fix" links).
FIELD_STEP = {name: step for step in (1, 2)
              for name in STEP_TEXT[step] + STEP_OTHER[step] + STEP_FILES[step]}

#: Largest text stored in a Text column (far above every edition limit; refuses abuse).
TEXT_STORE_CAP = 50_000
#: Limits of fields that have no edition setting (their column length otherwise).
REQUIRED = {
    1: ("title", "work_type", "category", "intro"),
    2: ("author_name", "applicant_unit", "unit_address", "contact_phone", "highlights"),
}
SETTING_LIMITS = {"title": "title", "intro": "intro", "highlights": "highlights",
                  "awards": "awards"}

PHONE_RE = re.compile(r"^(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?|400-?\d{3}-?\d{4})$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --------------------------------------------------------------------------- errors

class ConflictError(OperationError):
    """The page was rendered from an older version (another tab or device saved)."""

    def __init__(self, message: str = "此作品已在其他窗口修改，为避免覆盖，本次修改未保存。"
                 "请复制需要保留的内容后刷新页面，在最新内容上继续编辑。"):
        super().__init__(message, code="conflict")


class InvalidWork(OperationError):
    """Rules not met: ``errors`` maps fields to messages, ``step`` is where to fix them."""

    def __init__(self, step: int, errors: dict[str, str], message: str | None = None,
                 result: "SaveResult | None" = None):
        super().__init__(message or "请修改标红的内容后再继续", errors=errors, code="invalid")
        self.step = step
        self.result = result


# --------------------------------------------------------------------------- input / output

@dataclass
class StepInput:
    """What one step's form posted (built by ``kepu.works.forms.read_step``).

    ``values`` holds only the fields present in the post (column name → value);
    ``file_ids`` the widget's ids per upload field; ``uploads`` files posted without
    JavaScript per upload field.
    """

    step: int
    values: dict = field(default_factory=dict)
    file_ids: dict[str, list] = field(default_factory=dict)
    uploads: dict[str, list[FileStorage]] = field(default_factory=dict)
    version: int | None = None


@dataclass
class SaveResult:
    work: Work
    # field → message for values that could not be stored (too long for the column,
    # unknown channel) and for refused uploads.
    store_errors: dict[str, str] = field(default_factory=dict)
    # The version and time the save stored (read them here: after the commit the
    # work's attributes are expired and reading them costs a query).
    version: int | None = None
    saved_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.store_errors


# --------------------------------------------------------------------------- reading

def work_files(work: Work) -> dict[str, list[StoredFile]]:
    """The work's attached files by upload field: {"cover": [...], "cover_sub": [...],
    "work_file": [...], "award_file": [...]}."""
    out: dict[str, list[StoredFile]] = {key: [] for key in FILE_KEYS}
    if work.id is None:
        return out
    by_field = {field_name(work.campaign_id, key): key for key in FILE_KEYS}
    for f in files_for(ENTITY, work.id):
        key = by_field.get(f.field)
        if key is not None:
            out[key].append(f)
    return out


def edit_refusal(work: Work, user) -> str | None:
    """Why ``user`` may not edit ``work`` now (Chinese), or None — the explanation of
    ``Work.can_edit``. Not the owner → the route answers 404 before asking."""
    if not work.is_owner(user):
        return "无权修改此作品"
    if work.status not in EDITABLE_STATES:
        label = STATE_LABELS.get(work.status, work.status)
        return f"作品当前状态为“{label}”，不能再修改。{STATE_HINTS.get(work.status, '')}"
    state = settings_of(work).window()
    if not state.open:
        return state.message
    return None


def ensure_editable(work: Work, user) -> None:
    message = edit_refusal(work, user)
    if message:
        code = "not_editable" if work.status not in EDITABLE_STATES else "window_closed"
        raise OperationError(message, code=code)


def resume_step(work: Work) -> int:
    return work.step if work.step in STEPS else 1


# --------------------------------------------------------------------------- validation

def _len(value) -> int:
    return len(value or "")


def _column_cap(name: str) -> int:
    column = Work.__table__.c[name]
    if isinstance(column.type, String) and column.type.length:
        return column.type.length
    return TEXT_STORE_CAP


def field_limit(settings: WorksSettings, name: str) -> int:
    """The length rule checked at 下一步 / submit."""
    if name in SETTING_LIMITS:
        return min(settings.limit(SETTING_LIMITS[name]), _column_cap(name))
    return _column_cap(name)


def media_length(items) -> int:
    return sum(_len(m.get("title")) + _len(m.get("url")) for m in items or [])


def valid_url(url: str) -> bool:
    url = (url or "").strip()
    if not url or any(ch.isspace() for ch in url):
        return False
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname) \
        and "." in (parts.hostname or "")


def _check_media(items, settings: WorksSettings) -> str | None:
    items = items or []
    max_items = settings.limit("media_items")
    if len(items) > max_items:
        return f"相关媒体报道最多填写{max_items}篇（当前{len(items)}篇）"
    for i, m in enumerate(items, 1):
        title, url = (m.get("title") or "").strip(), (m.get("url") or "").strip()
        if not title:
            return f"请填写第{i}篇报道的名称"
        if not url:
            return f"请填写第{i}篇报道的链接"
        if not valid_url(url):
            return f"第{i}篇报道的链接格式不正确，请填写以 http:// 或 https:// 开头的完整网址"
    total, limit = media_length(items), settings.limit("media")
    if total > limit:
        return f"相关媒体报道名称和链接合计不能超过{limit}字（当前{total}字）"
    return None


def validate_step(work: Work, step: int, settings: WorksSettings | None = None,
                  files: dict | None = None) -> dict[str, str]:
    """Field → message for the rules of one step, checked on the stored work."""
    settings = settings or settings_of(work)
    files = files if files is not None else work_files(work)
    errors: dict[str, str] = {}
    for name in REQUIRED.get(step, ()):
        if not (getattr(work, name) or "").strip():
            verb = "选择" if name in ("work_type", "category") else "填写"
            errors[name] = f"请{verb}{LABELS[name]}"
    for name in STEP_TEXT.get(step, ()):
        if name in errors:
            continue
        n, limit = _len(getattr(work, name)), field_limit(settings, name)
        if n > limit:
            errors[name] = f"{LABELS[name]}不能超过{limit}字（当前{n}字）"
    if step == 1:
        for name, options in (("work_type", settings["work_types"]),
                              ("category", settings["categories"])):
            if name not in errors and getattr(work, name) not in options:
                errors[name] = f"请从列表中选择{LABELS[name]}"
        if not files.get(F_COVER):
            errors[F_COVER] = "请上传作品封面（主图）"
        if not files.get(F_WORK_FILES):
            errors[F_WORK_FILES] = "请上传作品文件"
    elif step == 2:
        phone = (work.contact_phone or "").strip()
        if "contact_phone" not in errors and not PHONE_RE.match(phone.replace(" ", "")):
            errors["contact_phone"] = "联系电话格式不正确，请填写手机号或带区号的固定电话（如 010-68524993）"
        email = (work.email or "").strip()
        if email and "email" not in errors and not EMAIL_RE.match(email):
            errors["email"] = "电子邮箱格式不正确"
        channel_error = validate_channel(work.unit_type, work.channel_id)
        if channel_error:
            key = "unit_type" if channel_error == "请选择申报单位类型" else "channel_id"
            errors[key] = channel_error
        media_error = _check_media(work.media_reports, settings)
        if media_error:
            errors["media_reports"] = media_error
        if (work.awards or "").strip() and not files.get(F_AWARD_FILES) \
                and "awards" not in errors:
            errors[F_AWARD_FILES] = "填写了获奖情况时，请上传获奖证明材料"
    return errors


def validate_all(work: Work, settings: WorksSettings | None = None,
                 files: dict | None = None) -> dict[int, dict[str, str]]:
    """{step: errors} for the steps that have errors (empty dict: ready to submit)."""
    settings = settings or settings_of(work)
    files = files if files is not None else work_files(work)
    out = {}
    for step in (1, 2):
        errors = validate_step(work, step, settings, files)
        if errors:
            out[step] = errors
    return out


# --------------------------------------------------------------------------- writes

def create_draft(user, campaign) -> Work:
    """A new draft for ``campaign``, pre-filled from the applicant's profile."""
    if campaign is None:
        raise OperationError("当前没有开放的作品征集", code="no_campaign")
    require_open_window(campaign)
    work = Work(
        campaign_id=campaign.id, owner_id=user.id, status=DRAFT, step=1, version=1,
        author_name=(user.real_name or "") if user.real_name_verified_at else "",
        applicant_unit=user.unit_name or "", contact_name=user.name or "",
        contact_phone=user.phone or "", email=user.email or "", job_title=user.job_title or "",
        media_reports=[],
    )
    db.session.add(work)
    db.session.flush()
    audit(ENTITY, work.id, "create", user)
    db.session.commit()
    return work


def _storable(data: StepInput, stored_channel_id: int | None = None
              ) -> tuple[dict, dict[str, str]]:
    """Split the posted values into what can be stored and what cannot (with messages).
    ``stored_channel_id``: the work's channel as loaded (it exists: the foreign key)."""
    allowed = set(STEP_TEXT.get(data.step, ())) | set(STEP_OTHER.get(data.step, ()))
    values, errors = {}, {}
    for name, value in data.values.items():
        if name not in allowed:
            continue
        if name == "channel_id":
            if value is not None and value != stored_channel_id \
                    and db.session.get(Org, value) is None:
                errors[name] = "所选推荐渠道不存在，请重新选择"
                value = None
            values[name] = value
        elif name == "media_reports":
            items = [{"title": (m.get("title") or ""), "url": (m.get("url") or "")}
                     for m in value]
            if media_length(items) > TEXT_STORE_CAP or len(items) > 50:
                errors[name] = "相关媒体报道内容过多，无法保存，请删减"
            else:
                values[name] = items
        else:
            value = value or ""
            cap = _column_cap(name)
            if len(value) > cap:
                errors[name] = (f"{LABELS[name]}过长（{len(value)}字，最多可保存{cap}字），"
                                "本项未能保存，请删减后再保存")
            else:
                values[name] = value
    return values, errors


def _posted_ids(raw_ids) -> list[int]:
    out: list[int] = []
    for raw in raw_ids:
        try:
            value = int(raw)
        except (TypeError, ValueError):
            continue
        if value not in out:
            out.append(value)
    return out


#: The ids and fields of a work's attached files (built once, like _save_statement).
_ATTACHED_IDS = select(StoredFile.id, StoredFile.field).where(
    StoredFile.entity_type == ENTITY, StoredFile.entity_id == bindparam("work_id"))


def _save_files(work: Work, user, data: StepInput) -> dict[str, str]:
    """Attach the widget's uploads and the files posted without JavaScript.

    Nothing posted for a field changes nothing. An autosave posts back the ids of the
    files already attached (the widget's hidden inputs): that changes nothing either,
    and is recognised with one query for the whole step, without claiming anything."""
    errors: dict[str, str] = {}
    todo = []
    for key in STEP_FILES.get(data.step, ()):
        posted = [f for f in data.uploads.get(key, []) if f is not None and f.filename]
        ids = _posted_ids(data.file_ids.get(key, []))
        if posted or ids:
            todo.append((key, posted, ids))
    if not todo:
        return errors
    attached_ids: dict[str, set[int]] = {}
    for file_id, fname in db.session.execute(_ATTACHED_IDS, {"work_id": work.id}):
        attached_ids.setdefault(fname, set()).add(file_id)
    for key, posted, ids in todo:
        fname = field_name(work.campaign_id, key)
        have_ids = attached_ids.get(fname, set())
        if not posted and set(ids) <= have_ids \
                and (len(have_ids) == 1 or get_field(fname).max_files != 1):
            continue  # the files already attached, posted back: nothing to do
        spec = get_field(fname)
        attached = files_for(ENTITY, work.id, fname)
        new: list[StoredFile] = []
        messages: list[str] = []
        if posted:
            new, messages = save_uploads(spec, posted, user)
        try:
            claimed = claim_uploads(ids, user, fname, ENTITY, work.id)
        except UploadError:  # more than max_files: take them one by one below
            claimed = [f for i in ids for f in claim_uploads([i], user, fname, ENTITY, work.id)]
        if spec.max_files == 1:
            chosen = new[-1:] or claimed[-1:]
            if chosen:
                keep = chosen[0]
                attach(keep, ENTITY, work.id, commit=False)
                replaced = {f.id: f for f in attached + claimed + new if f.id != keep.id}
                for f in replaced.values():  # a single-file field: the newest file wins
                    delete_file(f, commit=False)
        else:
            limit = spec.max_files or 10_000
            have = {f.id for f in attached}
            refused = []
            for f in claimed + new:
                if f.id in have:
                    continue
                if len(have) >= limit:
                    refused.append(f.original_name)
                    continue
                attach(f, ENTITY, work.id, commit=False)
                have.add(f.id)
            if refused:
                messages.append(f"最多上传{limit}个文件，以下文件未保存：" + "、".join(refused))
        if messages:
            errors[key] = "；".join(messages)
    return errors


@lru_cache(maxsize=64)
def _save_statement(columns: tuple[str, ...]):
    """The conditional UPDATE of a save storing ``columns``: ``WHERE version = :seen``
    and the work still editable. Built once per set of columns (a step posts the same
    fields every time), with bind parameters, as a Core statement: an autosave builds
    no statement and takes no ORM bulk-update path."""
    t = Work.__table__
    return (update(t)
            .where(t.c.id == bindparam("_id"), t.c.version == bindparam("_seen"),
                   t.c.status.in_(sorted(EDITABLE_STATES)))
            .values({**{t.c[name]: bindparam(f"_v_{name}", type_=t.c[name].type)
                        for name in columns},
                     t.c.version: t.c.version + 1,
                     t.c.step: bindparam("_step", type_=t.c.step.type),
                     t.c.updated_at: bindparam("_now", type_=t.c.updated_at.type)}))


def _save(work: Work, user, data: StepInput) -> SaveResult:
    """Store the step (conditional on the version), without committing."""
    ensure_editable(work, user)
    if data.version is None:
        raise ConflictError("页面已过期，请刷新页面后重试。")
    values, store_errors = _storable(data, work.channel_id)
    step = data.step if data.step in STEPS else 1
    now = utcnow()
    loaded_version = work.version
    result = db.session.execute(
        _save_statement(tuple(sorted(values))),
        {"_id": work.id, "_seen": data.version, "_step": step, "_now": now,
         **{f"_v_{name}": value for name, value in values.items()}})
    if result.rowcount != 1:
        db.session.rollback()
        db.session.refresh(work)
        ensure_editable(work, user)  # the unit recommended it meanwhile, …
        raise ConflictError()
    version = data.version + 1
    if loaded_version == data.version:
        # The row holds what the work was loaded with plus exactly what was written:
        # record that on the object instead of reading the row back.
        for name, value in {**values, "version": version, "step": step,
                            "updated_at": now}.items():
            set_committed_value(work, name, value)
    else:  # saved by someone else between loading and writing: read it back
        db.session.refresh(work)
    store_errors.update(_save_files(work, user, data))
    return SaveResult(work, store_errors, version=version, saved_at=now)


def save_draft(work: Work, user, data: StepInput, goto: int | None = None,
               remove_file: int | None = None) -> SaveResult:
    """Autosave / 暂存草稿 / 上一步: store everything posted; move to ``goto`` only when
    everything could be stored. ``remove_file``: also delete that attached file (a
    file's 删除 posted with the form, without JavaScript)."""
    result = _save(work, user, data)
    if remove_file:
        stored = db.session.get(StoredFile, remove_file)
        if (stored is not None and stored.owner_id == user.id
                and stored.entity_type == ENTITY and stored.entity_id == work.id):
            delete_file(stored, commit=False)
    if goto in STEPS and result.ok:
        work.step = goto
    db.session.commit()
    return result


def save_and_next(work: Work, user, data: StepInput) -> SaveResult:
    """下一步: store, then check the step's rules; the draft is kept either way."""
    result = _save(work, user, data)
    errors = dict(result.store_errors)
    for name, message in validate_step(work, data.step).items():
        errors.setdefault(name, message)
    if errors:
        db.session.commit()
        raise InvalidWork(data.step, errors, result=result)
    work.step = min(data.step + 1, LAST_STEP)
    db.session.commit()
    return result


def submit(work: Work, user, data: StepInput, declared: bool) -> AuditLog:
    """确认提交 (draft → 待推荐) or 确认更新 (待推荐 / 退回修改 → 待推荐)."""
    result = _save(work, user, data)
    problems = validate_all(work)
    if not declared:
        db.session.commit()
        raise InvalidWork(LAST_STEP, {"declaration": "请阅读并勾选同意申报声明"},
                          message="请阅读并勾选同意申报声明后再提交", result=result)
    if problems:
        first = min(problems)
        work.step = first
        db.session.commit()
        raise InvalidWork(first, problems[first],
                          message="作品信息尚未填写完整，请修改标红的内容后再提交", result=result)
    action = "submit" if work.status == DRAFT else "update"
    try:
        entry = WORK_FLOW.apply(work, action, user)
    except TransitionError as e:
        db.session.rollback()
        raise OperationError(e.message, code=e.code) from e
    now = utcnow()
    if action == "submit":
        work.submitted_at = now
    else:
        # The return comment stays in the history; the work is no longer 退回修改.
        work.return_comment = ""
    work.updated_at = now
    db.session.commit()
    return entry


def delete_draft(work: Work, user) -> None:
    """Delete a draft and its files (only the owner, only while it is a draft)."""
    if not work.is_owner(user):
        raise OperationError("无权删除此作品", code="forbidden")
    if work.status != DRAFT:
        raise OperationError(
            f"作品当前状态为“{STATE_LABELS.get(work.status, work.status)}”，只有草稿可以删除",
            code="not_draft")
    work_id, title = work.id, work.title
    files = files_for(ENTITY, work_id)
    result = db.session.execute(
        delete(Work).where(Work.id == work_id, Work.status == DRAFT)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        raise OperationError("作品已提交或已删除，不能删除", code="conflict")
    for f in files:
        delete_file(f, commit=False)
    audit(ENTITY, work_id, "delete", user, data={"title": title})
    db.session.expunge(work)
    db.session.commit()


# --------------------------------------------------------------------------- lists

@dataclass
class MyWork:
    work: Work
    status_label: str
    editable: bool
    deletable: bool
    return_comment: str
    channel_name: str


def drafts_of(user, campaign) -> list[Work]:
    return list(db.session.scalars(
        select(Work).where(Work.owner_id == user.id, Work.campaign_id == campaign.id,
                           Work.status == DRAFT)
        .order_by(Work.updated_at.desc(), Work.id.desc())))


def return_comment_of(work: Work) -> str:
    if work.return_comment:
        return work.return_comment
    entry = db.session.scalar(
        select(AuditLog).where(AuditLog.entity_type == ENTITY, AuditLog.entity_id == work.id,
                               AuditLog.action == "return")
        .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(1))
    return entry.comment if entry else ""


def returned_count(user) -> int:
    """How many of the user's works wait for them after a 退回 (the banner)."""
    from sqlalchemy import func

    return db.session.scalar(select(func.count(Work.id)).where(
        Work.owner_id == user.id, Work.status == RETURNED)) or 0


def my_works(user) -> list[MyWork]:
    works = db.session.scalars(
        select(Work).where(Work.owner_id == user.id)
        .order_by(Work.updated_at.desc(), Work.id.desc())).all()
    return my_work_rows(works, user)


def my_work_rows(works, user) -> list[MyWork]:
    """What 我的作品 shows for each of ``works`` (one page of them)."""
    rows = []
    for w in works:
        settings = settings_of(w)
        rows.append(MyWork(
            work=w,
            status_label=status_label(w, settings.results_published),
            editable=edit_refusal(w, user) is None,
            deletable=w.status == DRAFT,
            return_comment=return_comment_of(w) if w.status == RETURNED else "",
            channel_name=w.channel.name if w.channel else "",
        ))
    return rows


#: Who did an action, as the applicant may see it (experts and admins stay anonymous).
ACTOR_ROLES = {"return": "推荐单位", "recommend": "推荐单位", "assign": "平台管理员",
               "complete_review": "评审专家", "reopen_review": "平台管理员"}
ACTION_LABELS = {"create": "创建草稿", "delete": "删除草稿"}


def history_for_owner(work: Work, user) -> list[dict]:
    rows = []
    for entry in WORK_FLOW.history(work):
        if entry.action in ACTION_LABELS:
            label = ACTION_LABELS[entry.action]
        elif entry.action in WORK_FLOW.transitions:
            label = WORK_FLOW.transitions[entry.action].label
        else:
            label = entry.action
        if entry.actor_id == user.id:
            actor = "本人"
        else:
            actor = ACTOR_ROLES.get(entry.action, "系统")
        rows.append({
            "at": entry.at, "label": label, "actor": actor,
            "from": STATE_LABELS.get(entry.from_state or "", ""),
            "to": STATE_LABELS.get(entry.to_state or "", ""),
            "comment": entry.comment,
        })
    return rows


__all__ = [
    "ConflictError", "InvalidWork", "StepInput", "SaveResult", "work_files", "edit_refusal",
    "validate_step", "validate_all", "create_draft", "save_draft", "save_and_next", "submit",
    "delete_draft", "my_works", "history_for_owner",
]
