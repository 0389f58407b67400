"""全国科普日: 生成活动海报 (seed 001 三.7, 003 二). (issue 12)

URL map (blueprint ``science_day``, prefix /science-day):

  GET   /activities/<id>/poster                       poster_page        the panel as a page
                                                                         (no-JS fallback)
  POST  /activities/<id>/poster                       poster_generate    render one on the
                                                                         chosen background
  GET   /activities/<id>/poster/backgrounds/<key>     poster_background  a background's thumbnail
  GET   /activities/<id>/poster/<file_id>             poster_preview     a generated poster,
                                                                         scaled for the page
  GET   /activities/<id>/poster/<file_id>/download    poster_download    the print file (JPEG,
                                                                         Chinese file name)
  POST  /activities/<id>/poster/<file_id>/use         poster_use         设为活动宣传图

The panel is on the owner's activity page (templates/science_day/poster/_owner_panel.html,
included by apply/view.html); HTMX swaps it in place, a plain form post redirects back.

Decisions:
- Only the owner (anyone else: 404, like the rest of /activities/…). Reviewers see the
  activity's 宣传图 among its fields already; generated posters are the owner's drafts.
- Drafts are refused (409 with a message): a poster advertises a submitted activity and
  its QR code points at the public page. The poster shows the activity's submitted
  fields (a pending edit is not on it until it is submitted).
- Generated posters are ``StoredFile`` rows of the field ``generated_poster`` attached
  to the activity; the newest ``KEEP`` are kept, older ones are deleted. Rendering
  takes about a second, inline; generating is rate-limited per user (``RATE_LIMIT``,
  config ``SD_POSTER_RATE_LIMIT``).
- No window: a poster may be generated and downloaded whenever the activity is not a
  draft (organisers print posters before the event and use them after it).
- 设为活动宣传图 copies the poster into the activity's ``poster`` field and removes the
  previous 宣传图, like an upload in the form (not a counted edit, no re-submission).
  For an 已通过 activity the public snapshot (``ActivityPublic.poster_file_id``) is
  pointed at the new file at once: the poster is drawn only from the approved fields
  and an edition background the admins chose, so there is nothing new to review. For
  an activity under review that has an earlier public version, that version's poster
  file is kept (the public page still shows it) until the next approval publishes the
  new one.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import (abort, current_app, make_response, redirect, request, send_file,
                   url_for)
from flask_login import current_user, login_required
from sqlalchemy import select

from ..extensions import db, limiter
from ..files.models import StoredFile
from ..files.operations import clean_filename, delete_file, files_for
from ..files.routes import content_disposition
from ..files.storage import new_stored_name, path_for
from ..htmx import is_fragment, render
from ..orgs import regions
from ..timeutil import utcnow
from . import bp
from . import poster as P
from .after_models import F_GENERATED_POSTER, Resource
from .files import field_name
from .models import APPROVED, DRAFT, ENTITY, F_POSTER, Activity, ActivityPublic
from .operations import apply as apply_ops
from .operations.common import settings_of
from .operations.officers import is_officer

PAGE = "science_day/poster/page.html"
NOTICE_NEW = "海报已生成，请查看预览；可下载打印，或一键设为活动宣传图。"
NOTICE_SET = "已设为活动宣传图。"
NOTICE_PUBLIC = "全国科普日网站上的活动页面已同步更新。"
USE_ACTION = "use_generated_poster"
# the owner's 处理记录 names it (operations/apply.history_for_owner)
apply_ops.ACTION_LABELS.setdefault(USE_ACTION, "设为活动宣传图（生成的海报）")
KEEP = 5
#: rendering takes about a second of CPU: per user (config SD_POSTER_RATE_LIMIT)
RATE_LIMIT = "10 per minute; 100 per day"
PREVIEW_WIDTH = 900
THUMB = (240, 340)


class PosterRefused(Exception):
    def __init__(self, message: str, field: str | None = None, status: int = 409):
        super().__init__(message)
        self.message, self.field, self.status = message, field, status


# --------------------------------------------------------------------------- reading

def _own(activity_id: int) -> Activity:
    activity = db.get_or_404(Activity, activity_id)
    if not activity.is_owner(current_user):
        abort(404)
    return activity


def refusal(activity: Activity) -> str | None:
    """Why no poster can be generated for ``activity`` now (Chinese), or None."""
    if activity.status == DRAFT:
        return "草稿不能生成海报：请先填写完整并提交活动，提交后即可生成活动海报"
    if not (activity.name or "").strip():
        return "活动名称为空，不能生成海报"
    return None


def backgrounds(activity: Activity) -> list[dict]:
    """The choices: the edition's 海报背景 resources with an image file, then the
    built-in ones. ``key``: "res:<id>" or "builtin:<name>"."""
    rows = db.session.scalars(
        select(Resource).where(Resource.campaign_id == activity.campaign_id,
                               Resource.kind == "background", Resource.file_id.is_not(None))
        .order_by(Resource.position, Resource.id)).all()
    out = [{"key": f"res:{r.id}", "label": r.title or "海报背景", "resource": r}
           for r in rows if r.file is not None and r.file.is_image]
    out += [{"key": f"builtin:{k}", "label": f"内置背景·{v}", "resource": None}
            for k, v in P.BUILTIN.items()]
    return out


def _background_of(activity: Activity, key: str) -> dict:
    for b in backgrounds(activity):
        if b["key"] == key:
            return b
    raise PosterRefused("请从列表中选择海报背景", field="background", status=422)


def generated(activity: Activity) -> list[StoredFile]:
    """The generated posters, newest first."""
    return files_for(ENTITY, activity.id,
                     field_name(activity.campaign_id, F_GENERATED_POSTER))[::-1]


def current_poster(activity: Activity) -> StoredFile | None:
    posters = files_for(ENTITY, activity.id, field_name(activity.campaign_id, F_POSTER))
    return posters[-1] if posters else None


def _generated_file(activity: Activity, file_id: int) -> StoredFile:
    stored = db.session.get(StoredFile, file_id)
    if (stored is None or stored.entity_type != ENTITY or stored.entity_id != activity.id
            or stored.field != field_name(activity.campaign_id, F_GENERATED_POSTER)):
        abort(404)
    return stored


def poster_data(activity: Activity) -> P.PosterData:
    settings = settings_of(activity)
    place = regions.full_name(activity.region_code) if activity.region_code else ""
    if activity.mode == "线上":
        place = f"线上活动（{place}）" if place else "线上活动"
    elif activity.mode == "线上线下" and place:
        place = f"{place}（线上线下同步）"
    try:
        theme = str(settings.get("theme") or "")
    except Exception:  # noqa: BLE001 - an unreadable stored theme never stops a poster
        theme = ""
    hosts = [str((h or {}).get("name") or "").strip() for h in activity.hosts or []
             if isinstance(h, dict)]
    return P.PosterData(
        year=activity.campaign.year, theme=theme, name=(activity.name or "").strip(),
        time_text=P.time_text(activity.start_at, activity.end_at), place=place or "—",
        hosts=[h for h in hosts if h],
        url=url_for("science_day.public_detail", activity_id=activity.id, _external=True))


# --------------------------------------------------------------------------- writing

def _write(data: bytes, activity: Activity, field: str, name: str) -> StoredFile:
    stored_name = new_stored_name()
    final = path_for(stored_name)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(final.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, final)
    row = StoredFile(owner_id=activity.owner_id, field=field[:40], original_name=name,
                     stored_name=stored_name, ext="jpg", content_type="image/jpeg",
                     size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                     width=P.SIZE[0], height=P.SIZE[1], entity_type=ENTITY,
                     entity_id=activity.id)
    db.session.add(row)
    return row


def file_name(activity: Activity) -> str:
    return clean_filename(f"{(activity.name or '活动').strip()[:60]}-活动海报.jpg")


def generate(activity: Activity, key: str) -> StoredFile:
    """Render and store a poster on background ``key``; keeps the newest ``KEEP``."""
    message = refusal(activity)
    if message:
        raise PosterRefused(message)
    choice = _background_of(activity, key)
    try:
        if choice["resource"] is not None:
            bg = P.file_background(path_for(choice["resource"].file.stored_name))
        else:
            bg = P.builtin_background(key.partition(":")[2])
        rendered = P.render_poster(poster_data(activity), bg)
    except P.PosterError as e:
        raise PosterRefused(e.message, field="background", status=422) from None
    data = rendered.jpeg()
    row = _write(data, activity, field_name(activity.campaign_id, F_GENERATED_POSTER),
                 file_name(activity))
    db.session.flush()
    for old in generated(activity)[KEEP:]:
        delete_file(old, commit=False)
    db.session.commit()
    return row


def use_as_poster(activity: Activity, stored: StoredFile) -> StoredFile:
    """设为活动宣传图 (see the module docstring for the public snapshot)."""
    if activity.status == DRAFT:
        raise PosterRefused("草稿不能设置生成的海报")
    if not is_officer(current_user):
        raise PosterRefused("您的科普中国信息员资格未认证或已被撤销，暂不能修改活动")
    settings = settings_of(activity)
    limit = settings.limit("poster_mb") * 1024 * 1024
    if stored.size > limit:
        raise PosterRefused(f"海报文件大于活动宣传图的大小上限（{settings.limit('poster_mb')}MB），"
                            "请下载后压缩再上传")
    source = path_for(stored.stored_name)
    try:
        data = source.read_bytes()
    except OSError:
        raise PosterRefused("该海报文件已无法读取，请重新生成") from None
    pfield = field_name(activity.campaign_id, F_POSTER)
    before = files_for(ENTITY, activity.id, pfield)
    row = _write(data, activity, pfield, stored.original_name)
    db.session.flush()
    public = db.session.get(ActivityPublic, activity.id)
    keep = None
    if public is not None:
        if activity.status == APPROVED:
            public.poster_file_id = row.id
            public.updated_at = utcnow()
        else:
            keep = public.poster_file_id
    for old in before:
        if old.id != keep:
            delete_file(old, commit=False)
    activity.updated_at = utcnow()
    from ..workflow import audit

    audit(ENTITY, activity.id, USE_ACTION, current_user,
          data={"file_id": row.id, "from": stored.id})
    db.session.commit()
    return row


# --------------------------------------------------------------------------- the panel

@bp.app_template_global("sd_poster_panel")
def sd_poster_panel(activity) -> dict | None:
    """What the owner's poster panel shows (None: not the owner)."""
    if activity is None or not current_user.is_authenticated \
            or not activity.is_owner(current_user):
        return None
    made = generated(activity)
    done = request.args.get("poster") if request.method == "GET" else None
    notice = None
    if done == "new" and made:
        notice = NOTICE_NEW
    elif done == "set":
        notice = NOTICE_SET + (NOTICE_PUBLIC if activity.status == APPROVED else "")
    return {"refusal": refusal(activity), "backgrounds": backgrounds(activity),
            "generated": made, "current": current_poster(activity),
            "keep": KEEP, "size": P.SIZE, "dpi": P.DPI, "notice": notice,
            "fresh": made[0].id if notice == NOTICE_NEW else None}


def _panel(activity: Activity, status: int = 200, **extra):
    return render(PAGE, block="panel", status=status, activity=activity, **extra)


@bp.get("/activities/<int:activity_id>/poster", endpoint="poster_page")
@login_required
def poster_page(activity_id: int):
    return _panel(_own(activity_id))


def _generate_limit() -> str:
    return current_app.config.get("SD_POSTER_RATE_LIMIT") or RATE_LIMIT


def _per_user() -> str:
    return f"sd-poster:{current_user.get_id()}"


@bp.post("/activities/<int:activity_id>/poster/generate", endpoint="poster_generate")
@login_required
@limiter.limit(_generate_limit, key_func=_per_user)
def poster_generate(activity_id: int):
    activity = _own(activity_id)
    key = (request.form.get("background") or "").strip()[:40]
    try:
        row = generate(activity, key)
    except PosterRefused as e:
        db.session.rollback()
        return _panel(activity, e.status, errors={e.field or "": e.message}, chosen=key)
    if is_fragment():
        return _panel(activity, notice=NOTICE_NEW, chosen=key, fresh=row.id)
    return redirect(_back(activity, "new"), code=303)


def _back(activity: Activity, done: str) -> str:
    """The activity page, scrolled to the panel, which says what was done."""
    return url_for("science_day.view_activity", activity_id=activity.id,
                   poster=done) + "#poster-panel"


@bp.post("/activities/<int:activity_id>/poster/<int:file_id>/use", endpoint="poster_use")
@login_required
def poster_use(activity_id: int, file_id: int):
    activity = _own(activity_id)
    stored = _generated_file(activity, file_id)
    try:
        use_as_poster(activity, stored)
    except PosterRefused as e:
        db.session.rollback()
        return _panel(activity, e.status, errors={"": e.message})
    if is_fragment():
        # the whole page again: the activity's fields below the panel show the 宣传图 too
        resp = make_response("", 204)
        resp.headers["HX-Redirect"] = _back(activity, "set")
        return resp
    return redirect(_back(activity, "set"), code=303)


def _send_image(path: Path, *, download_name: str | None = None):
    resp = send_file(path, mimetype="image/jpeg", conditional=True, max_age=0)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, max-age=0"
    resp.headers["Content-Disposition"] = (content_disposition(download_name, "jpg")
                                           if download_name else "inline")
    return resp


def _scaled(stored_key: str, source: Path, size: tuple[int, int]) -> Path:
    """A smaller JPEG of an image, made once and kept beside the instance."""
    from PIL import Image

    folder = Path(current_app.instance_path) / "thumbs"
    target = folder / f"{stored_key}-{size[0]}x{size[1]}.jpg"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with Image.open(source) as im:
            im.thumbnail(size)
            tmp = target.with_suffix(".part")
            im.convert("RGB").save(tmp, "JPEG", quality=85)
            os.replace(tmp, target)
    return target


@bp.get("/activities/<int:activity_id>/poster/<int:file_id>", endpoint="poster_preview")
@login_required
def poster_preview(activity_id: int, file_id: int):
    activity = _own(activity_id)
    stored = _generated_file(activity, file_id)
    source = path_for(stored.stored_name)
    if not source.is_file():
        abort(404)
    try:
        path = _scaled(stored.sha256 or stored.stored_name, source,
                       (PREVIEW_WIDTH, PREVIEW_WIDTH * 2))
    except Exception:  # noqa: BLE001 - an unreadable image: the original instead
        current_app.logger.warning("poster preview of file %s failed", file_id)
        path = source
    return _send_image(path)


@bp.get("/activities/<int:activity_id>/poster/<int:file_id>/download",
        endpoint="poster_download")
@login_required
def poster_download(activity_id: int, file_id: int):
    activity = _own(activity_id)
    stored = _generated_file(activity, file_id)
    source = path_for(stored.stored_name)
    if not source.is_file():
        abort(404)
    return _send_image(source, download_name=stored.original_name)


@bp.get("/activities/<int:activity_id>/poster/backgrounds/<key>",
        endpoint="poster_background")
@login_required
def poster_background(activity_id: int, key: str):
    activity = _own(activity_id)
    try:
        choice = _background_of(activity, key)
    except PosterRefused:
        abort(404)
    if choice["resource"] is not None:
        stored = choice["resource"].file
        source = path_for(stored.stored_name)
        if not source.is_file():
            abort(404)
        try:
            return _send_image(_scaled(f"bg-{stored.sha256 or stored.stored_name}", source,
                                       THUMB))
        except Exception:  # noqa: BLE001 - an unreadable background: no thumbnail
            abort(404)
    name = key.partition(":")[2]
    folder = Path(current_app.instance_path) / "thumbs"
    target = folder / f"builtin-{name}-v{P.BUILTIN_VERSION}-{THUMB[0]}x{THUMB[1]}.jpg"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        P.builtin_background(name, THUMB).save(tmp, "JPEG", quality=85)
        os.replace(tmp, target)
    return _send_image(target)
