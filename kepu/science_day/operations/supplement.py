"""补充活动信息 (seed 001 三.6, 002 三(四).1): the owner of an approved activity adds,
after it has ended and inside the edition's 补充活动填报 window, media reports,
photos and short videos of the effect, participant figures with evidence photos and
the scientists list.

- ``ActivitySupplement`` is created on the first save; every save of the form carries
  the ``version`` the page was rendered with and is a conditional ``UPDATE … WHERE
  version = :seen`` (two tabs: the stale one gets ``ConflictError``).
- Media reports are stored as typed (capped), bad links reported; completeness counts
  only good ones. Participant figures that are not whole numbers ≥ 0 are not stored.
- Scientists (``ActivityScientist``) are stored only when the row is valid (a name and a
  mainland mobile phone, unique in the list): the thank-you SMS reads these phones.
  Rows that cannot be stored are reported by row and stay on the page.
- The xlsx import APPENDS to the list, and imports nothing when any row is bad.
- Videos: the duration is read from the stored file with mutagen (MP4/MOV); longer than
  3 minutes or unreadable → the file is deleted and the upload refused.
"""
from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ...accounts.validators import is_valid_phone, normalize_phone
from ...extensions import db
from ...files.models import StoredFile
from ...files.operations import attach, delete_file, files_for, save_uploads
from ...files.specs import get_field
from ...files.storage import path_for
from ...timeutil import fmt, utcnow
from ..after_models import (F_EFFECT_PHOTO, F_EFFECT_VIDEO, F_PARTICIPANT_PHOTO,
                            ActivityScientist, ActivitySupplement)
from ..completeness import (OFFLINE_MIN, ONLINE_MIN, VIDEO_SECONDS_MAX, needs_offline,
                            needs_online, valid_link)
from ..files import field_name
from ..models import APPROVED, ENTITY, Activity
from .common import OperationError, settings_of

FILE_FIELDS = (F_EFFECT_PHOTO, F_EFFECT_VIDEO, F_PARTICIPANT_PHOTO)
MEDIA_MAX = 20
MEDIA_TITLE_MAX, MEDIA_URL_MAX = 200, 500
SCIENTISTS_MAX = 100
NAME_MAX, UNIT_MAX, TITLE_MAX = 50, 200, 100
PARTICIPANTS_MAX = 100_000_000
IMPORT_MAX_BYTES = 2 * 1024 * 1024
IMPORT_HEADERS = ("姓名", "手机号", "单位", "职务/职称")
MSG_PHONE = "手机号格式不正确，请填写11位手机号"


class ConflictError(OperationError):
    def __init__(self, message: str = ("补充活动信息已在其他窗口或设备上修改。为避免覆盖，本次修改未保存；"
                                       "请复制需要保留的内容后刷新页面，在最新内容上继续填写。")):
        super().__init__(message, code="conflict")


class Refused(OperationError):
    """Not allowed now; ``status`` is the HTTP status a POST gets (403 window, 409 state)."""

    def __init__(self, message: str, status: int):
        super().__init__(message, code="refused")
        self.status = status


# --------------------------------------------------------------------------- rules

def refusal(activity: Activity, user, now: datetime | None = None) -> Refused | None:
    """Why ``user`` may not fill in the supplement now (None: allowed). Someone else's
    activity is the route's 404, not a refusal."""
    now = now or utcnow()
    if not activity.is_owner(user):
        return Refused("无权填写此活动的补充信息", 403)
    if activity.status != APPROVED:
        return Refused("只有审核通过的活动才能填写补充活动信息", 409)
    if activity.end_at is None or activity.end_at >= now:
        when = f"（活动结束时间：{fmt(activity.end_at)}）" if activity.end_at else ""
        return Refused(f"活动结束后才能填写补充活动信息{when}", 409)
    state = settings_of(activity).phase("supplement", now)
    if not state.open:
        return Refused(state.message, 403)
    return None


def ensure_allowed(activity: Activity, user) -> None:
    r = refusal(activity, user)
    if r is not None:
        raise r


def participant_fields(activity: Activity) -> list[tuple[str, str, int]]:
    """(column, label, 推优 minimum) of the figures the activity's mode asks for."""
    out = []
    if needs_offline(activity):
        out.append(("participants_offline", "线下参与人数", OFFLINE_MIN))
    if needs_online(activity):
        out.append(("participants_online", "线上参与人数", ONLINE_MIN))
    if not out:
        out = [("participants_offline", "线下参与人数", OFFLINE_MIN),
               ("participants_online", "线上参与人数", ONLINE_MIN)]
    return out


def check_scientist(name: str, phone: str, unit: str, title: str) -> str | None:
    """The problem of one scientist row (None: fine). ``phone`` is normalised."""
    if not name:
        return "请填写姓名"
    if len(name) > NAME_MAX:
        return f"姓名不能超过{NAME_MAX}字"
    if not phone:
        return "请填写手机号"
    if not is_valid_phone(phone):
        return MSG_PHONE
    if len(unit) > UNIT_MAX:
        return f"单位不能超过{UNIT_MAX}字"
    if len(title) > TITLE_MAX:
        return f"职务/职称不能超过{TITLE_MAX}字"
    return None


# --------------------------------------------------------------------------- reading

def supplement_of(activity: Activity) -> ActivitySupplement | None:
    return db.session.get(ActivitySupplement, activity.id)


def scientists_of(activity: Activity) -> list[ActivityScientist]:
    return list(db.session.scalars(
        select(ActivityScientist).where(ActivityScientist.activity_id == activity.id)
        .order_by(ActivityScientist.position, ActivityScientist.id)))


def files_of(activity: Activity) -> dict[str, list[StoredFile]]:
    by_name = {field_name(activity.campaign_id, k): k for k in FILE_FIELDS}
    out: dict[str, list[StoredFile]] = {k: [] for k in FILE_FIELDS}
    for f in files_for(ENTITY, activity.id):
        key = by_name.get(f.field)
        if key:
            out[key].append(f)
    return out


def durations_of(sup: ActivitySupplement | None) -> dict[str, float]:
    raw = sup.video_durations if sup is not None else None
    return raw if isinstance(raw, dict) else {}


def media_of(sup: ActivitySupplement | None) -> list[dict]:
    raw = sup.media_reports if sup is not None else None
    if not isinstance(raw, list):
        return []
    return [{"title": str(r.get("title") or ""), "url": str(r.get("url") or "")}
            for r in raw if isinstance(r, dict)]


def duration_text(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}分{s % 60:02d}秒"


# --------------------------------------------------------------------------- the form

@dataclass
class SupplementInput:
    """What the form posted. ``media`` and ``scientists`` are lists of dicts (rows as
    typed); ``participants`` maps column → raw text; None: not posted."""

    version: int | None = None
    media: list[dict] | None = None
    participants: dict[str, str] = field(default_factory=dict)
    scientists: list[dict] | None = None


@dataclass
class SaveResult:
    errors: dict[str, str] = field(default_factory=dict)
    version: int | None = None
    saved_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def _rows(form, prefix: str, keys: tuple[str, ...]) -> list[dict]:
    cols = {k: form.getlist(f"{prefix}_{k}") for k in keys}
    n = max((len(v) for v in cols.values()), default=0)
    return [{k: (cols[k][i] if i < len(cols[k]) else "").strip() for k in keys}
            for i in range(n)]


def read_form(form) -> SupplementInput:
    try:
        version = int(form.get("version", ""))
    except (TypeError, ValueError):
        version = None
    data = SupplementInput(version=version)
    if form.get("media__present"):
        data.media = _rows(form, "media", ("title", "url"))
    for col in ("participants_offline", "participants_online"):
        if col in form:
            data.participants[col] = (form.get(col) or "").strip()
    if form.get("sci__present"):
        data.scientists = _rows(form, "sci", ("name", "phone", "unit", "title"))
    return data


def _media(rows: list[dict]) -> tuple[list[dict], dict[str, str]]:
    """The rows to store (as typed, empty rows dropped) and the problems keyed
    ``media_<posted row>``."""
    kept, errors = [], {}
    for i, row in enumerate(rows, 1):
        title, url = row.get("title", ""), row.get("url", "")
        if not title and not url:
            continue
        if len(kept) >= MEDIA_MAX:
            errors["media"] = f"媒体报道最多填写{MEDIA_MAX}篇，多出的未保存"
            break
        kept.append({"title": title[:MEDIA_TITLE_MAX * 2], "url": url[:MEDIA_URL_MAX * 2]})
        if not title:
            errors[f"media_{i}"] = "请填写报道标题"
        elif len(title) > MEDIA_TITLE_MAX:
            errors[f"media_{i}"] = f"报道标题不能超过{MEDIA_TITLE_MAX}字（当前{len(title)}字）"
        elif not url:
            errors[f"media_{i}"] = "请填写报道链接"
        elif len(url) > MEDIA_URL_MAX or not valid_link(url):
            errors[f"media_{i}"] = "报道链接格式不正确，请填写以 http:// 或 https:// 开头的完整网址"
    return kept, errors


def _participants(activity: Activity, raw: dict[str, str]) -> tuple[dict, dict[str, str]]:
    values, errors = {}, {}
    for col, label, _minimum in participant_fields(activity):
        if col not in raw:
            continue
        text = raw[col].replace(",", "").replace("，", "")
        if text == "":
            values[col] = None
        elif not text.isdigit():
            errors[col] = f"{label}请填写不小于0的整数"
        elif int(text) > PARTICIPANTS_MAX:
            errors[col] = f"{label}不能超过{PARTICIPANTS_MAX}"
        else:
            values[col] = int(text)
    return values, errors


def _scientists(rows: list[dict]) -> tuple[list[dict], dict[str, str]]:
    """The storable rows and the problem of every other one (key ``sci_<posted row>``)."""
    good, errors, seen = [], {}, {}
    count = 0
    for i, row in enumerate(rows, 1):
        if not any(row.get(k) for k in row):
            continue
        count += 1
        if count > SCIENTISTS_MAX:
            errors[f"sci_{i}"] = f"第{i}行：名单最多{SCIENTISTS_MAX}人，此行未保存"
            errors["scientists"] = f"科技工作者名单最多{SCIENTISTS_MAX}人，多出的未保存"
            continue
        phone = normalize_phone(row.get("phone"))
        problem = check_scientist(row.get("name", ""), phone, row.get("unit", ""),
                                  row.get("title", ""))
        if problem is None and phone in seen:
            problem = f"手机号与第{seen[phone]}行重复"
        if problem:
            errors[f"sci_{i}"] = f"第{i}行：{problem}"
            continue
        seen[phone] = i
        good.append({"name": row["name"], "phone": phone, "unit": row.get("unit", ""),
                     "title": row.get("title", "")})
    return good, errors


def _ensure_row(activity: Activity) -> ActivitySupplement:
    sup = supplement_of(activity)
    if sup is not None:
        return sup
    sup = ActivitySupplement(activity_id=activity.id, version=1, media_reports=[],
                             video_durations={}, summary={})
    db.session.add(sup)
    try:
        db.session.flush()
    except IntegrityError:       # created at the same moment by another request
        db.session.rollback()
        sup = supplement_of(activity)
    return sup


def page_version(activity: Activity) -> int:
    sup = supplement_of(activity)
    return sup.version if sup is not None else 1


def save(activity: Activity, user, data: SupplementInput) -> SaveResult:
    """Store what was posted (conditional on the version) and commit. Returns the rows
    that could not be stored as ``errors``; raises ``Refused`` / ``ConflictError``."""
    ensure_allowed(activity, user)
    if data.version is None:
        raise ConflictError("页面已过期，请刷新页面后重试。")
    errors: dict[str, str] = {}
    values: dict = {}
    if data.media is not None:
        values["media_reports"], e = _media(data.media)
        errors.update(e)
    part, e = _participants(activity, data.participants)
    values.update(part)
    errors.update(e)
    scientists = None
    if data.scientists is not None:
        scientists, e = _scientists(data.scientists)
        errors.update(e)
    _ensure_row(activity)
    now = utcnow()
    t = ActivitySupplement.__table__
    result = db.session.execute(
        update(t).where(t.c.activity_id == activity.id, t.c.version == data.version)
        .values(**values, version=t.c.version + 1, updated_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        raise ConflictError()
    if scientists is not None:
        _replace_scientists(activity, scientists)
    db.session.commit()
    db.session.expire_all()
    return SaveResult(errors, version=data.version + 1, saved_at=now)


def _replace_scientists(activity: Activity, rows: list[dict]) -> None:
    """Make the stored list equal ``rows`` (phones unique): a phone already listed keeps
    its row (and its ``created_at``), others are added, the rest removed."""
    stored = {s.phone: s for s in scientists_of(activity)}
    wanted = {row["phone"] for row in rows}
    gone = [s.id for phone, s in stored.items() if phone not in wanted]
    if gone:
        db.session.execute(delete(ActivityScientist).where(ActivityScientist.id.in_(gone)))
    for pos, row in enumerate(rows):
        s = stored.get(row["phone"])
        if s is None:
            db.session.add(ActivityScientist(activity_id=activity.id, position=pos, **row))
        else:
            s.position, s.name, s.unit, s.title = pos, row["name"], row["unit"], row["title"]
    db.session.flush()


def _bump(activity: Activity) -> None:
    """A change outside the form (import): pages rendered before it are stale."""
    sup = _ensure_row(activity)
    sup.version = (sup.version or 1) + 1
    sup.updated_at = utcnow()


# --------------------------------------------------------------------------- files

def _video_seconds(stored: StoredFile) -> float:
    """The duration read from the stored file; raises ValueError when unreadable."""
    from mutagen import MutagenError
    from mutagen.mp4 import MP4

    try:
        info = MP4(str(path_for(stored.stored_name))).info
        seconds = float(info.length or 0)
    except (MutagenError, OSError, ValueError, struct.error) as e:
        raise ValueError(str(e)) from None
    if not seconds or seconds <= 0 or seconds != seconds:
        raise ValueError("no duration")
    return seconds


def upload(activity: Activity, user, key: str, files) -> tuple[list[StoredFile], list[str]]:
    """Store the posted files of one field (count, type, size, image and video rules),
    attach the good ones. Returns (attached, messages about the refused ones)."""
    ensure_allowed(activity, user)
    if key not in FILE_FIELDS:
        raise OperationError("未知的上传项", code="unknown_field")
    spec = get_field(field_name(activity.campaign_id, key))
    posted = [f for f in files if f is not None and f.filename]
    if not posted:
        return [], ["请选择要上传的文件"]
    have = len(files_for(ENTITY, activity.id, spec.name))
    room = (spec.max_files or 0) - have
    unit = "段" if key == F_EFFECT_VIDEO else "张"
    if room <= 0:
        for f in posted:
            f.close()
        return [], [f"{spec.label}最多{spec.max_files}{unit}，已经上传了{have}{unit}，"
                    "请先删除不需要的再上传"]
    messages: list[str] = []
    if len(posted) > room:
        for f in posted[room:]:
            f.close()
        messages.append(f"{spec.label}最多{spec.max_files}{unit}，还可上传{room}{unit}，"
                        f"以下文件未保存：" + "、".join(f.filename for f in posted[room:]))
        posted = posted[:room]
    stored, errors = save_uploads(spec, posted, user)
    messages.extend(errors)
    attached: list[StoredFile] = []
    durations: dict[str, float] = {}
    for f in stored:
        if key == F_EFFECT_VIDEO:
            try:
                seconds = _video_seconds(f)
            except ValueError:
                messages.append(f"{f.original_name}：无法读取视频时长，文件可能已损坏或不是有效的"
                                "MP4/MOV 视频，请重新导出后上传")
                delete_file(f, commit=False)
                continue
            if seconds > VIDEO_SECONDS_MAX:
                messages.append(f"{f.original_name}：视频时长 {duration_text(seconds)}，"
                                f"超过 {VIDEO_SECONDS_MAX // 60} 分钟的上限，请剪辑后再上传")
                delete_file(f, commit=False)
                continue
            durations[str(f.id)] = round(seconds, 2)
        attach(f, ENTITY, activity.id, commit=False)
        attached.append(f)
    if durations:
        sup = _ensure_row(activity)
        sup.video_durations = {**durations_of(sup), **durations}
    db.session.commit()
    return attached, messages


def remove_file(activity: Activity, user, file_id: int) -> StoredFile:
    ensure_allowed(activity, user)
    names = {field_name(activity.campaign_id, k) for k in FILE_FIELDS}
    stored = db.session.get(StoredFile, file_id)
    if (stored is None or stored.entity_type != ENTITY or stored.entity_id != activity.id
            or stored.field not in names):
        raise OperationError("文件不存在或已删除", code="not_found")
    sup = supplement_of(activity)
    if sup is not None and str(stored.id) in durations_of(sup):
        sup.video_durations = {k: v for k, v in durations_of(sup).items() if k != str(stored.id)}
    delete_file(stored, commit=False)
    db.session.commit()
    return stored


# --------------------------------------------------------------------------- xlsx

def template_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "科技工作者名单"
    ws.append(list(IMPORT_HEADERS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for col, width in zip("ABCD", (14, 16, 36, 20)):
        ws.column_dimensions[col].width = width
    # phones as text (a column style, so that no empty rows are written)
    ws.column_dimensions["B"].number_format = "@"
    notes = wb.create_sheet("填写说明")
    for line in ("从第2行开始，每行填写一位参与活动的科技工作者，最多100人。",
                 "姓名、手机号必填；手机号为11位中国大陆手机号，同一活动内不能重复。",
                 "单位、职务/职称选填。请不要修改第1行的表头。",
                 "导入会追加到页面上已有的名单之后；文件中任何一行有误时，整份文件都不会导入，"
                 "请按提示的行号修改后重新上传。"):
        notes.append([line])
    notes.column_dimensions["A"].width = 100
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_xlsx(raw: bytes) -> list[tuple[int, dict]]:
    """(row number, row) of every non-empty data row; raises ValueError with the
    message when the file cannot be read."""
    from openpyxl import load_workbook

    if not raw:
        raise ValueError("文件为空，请选择填写好的名单文件")
    if len(raw) > IMPORT_MAX_BYTES:
        raise ValueError("文件大小不能超过2MB")
    if not zipfile.is_zipfile(io.BytesIO(raw)):
        raise ValueError("无法读取此文件，请使用下载的模板（.xlsx 格式）填写后上传")
    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        ws = wb.worksheets[0]
        rows = []
        for n, values in enumerate(ws.iter_rows(values_only=True), 1):
            cells = [_cell(v) for v in (values or ())][:4]
            cells += [""] * (4 - len(cells))
            if n == 1:
                if cells[0] != IMPORT_HEADERS[0] or cells[1] != IMPORT_HEADERS[1]:
                    raise ValueError("表头不符合模板（第1行应为：姓名、手机号、单位、职务/职称），"
                                     "请下载模板后填写")
                continue
            if not any(cells):
                continue
            rows.append((n, dict(zip(("name", "phone", "unit", "title"), cells))))
            if len(rows) > 1000:
                break
        wb.close()
    except ValueError:
        raise
    except Exception:  # noqa: BLE001 - any broken workbook: a message, not a 500
        raise ValueError("无法读取此文件，请使用下载的模板（.xlsx 格式）填写后上传") from None
    return rows


def import_scientists(activity: Activity, user, raw: bytes) -> tuple[int, list[str]]:
    """Append the file's rows to the list; nothing when any row is bad. Returns
    (imported count, problems by row number)."""
    ensure_allowed(activity, user)
    try:
        rows = read_xlsx(raw)
    except ValueError as e:
        return 0, [str(e)]
    if not rows:
        return 0, ["文件中没有名单（从第2行开始填写）"]
    existing = scientists_of(activity)
    known = {s.phone for s in existing}
    problems: list[str] = []
    if len(existing) + len(rows) > SCIENTISTS_MAX:
        problems.append(f"名单最多{SCIENTISTS_MAX}人：现有{len(existing)}人，文件中{len(rows)}人，"
                        f"导入后将超过{SCIENTISTS_MAX}人")
    seen: dict[str, int] = {}
    good = []
    for n, row in rows[:SCIENTISTS_MAX + 1]:
        phone = normalize_phone(row["phone"])
        problem = check_scientist(row["name"], phone, row["unit"], row["title"])
        if problem is None and phone in seen:
            problem = f"手机号 {phone} 与第{seen[phone]}行重复"
        elif problem is None and phone in known:
            problem = f"手机号 {phone} 已在名单中"
        if problem:
            problems.append(f"第{n}行：{problem}")
        else:
            seen[phone] = n
            good.append({**row, "phone": phone})
    if problems:
        return 0, problems
    start = max((s.position for s in existing), default=-1) + 1
    for i, row in enumerate(good):
        db.session.add(ActivityScientist(activity_id=activity.id, position=start + i, **row))
    _bump(activity)
    db.session.commit()
    return len(good), []
