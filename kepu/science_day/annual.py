"""年度工作总结 (seed 001 二.2(1)): provincial 科协 admins (``provincial_admin`` with the
province's code, 兵团 659 included) and 全国学会 admins (``society_admin`` with the org)
file their annual work summary for an edition — a text and doc/docx/pdf attachments —
inside the edition's ``annual_report`` window. One report per scope and edition
(``scope_key`` "province:<code>" / "org:<id>").

Saving is a draft (autosaved, version-checked: an older version's save is refused);
提交 sets ``filed_at``. After filing, the filer may still change the report while the
window is open: every save of a filed report is checked like a filing (text required)
and is what the national admin reads at once; 提交 again records the new time.
National and platform admins see every expected filer (all provinces and the 兵团,
and every org that has a 全国学会 admin or has a report) as 已提交 / 未提交.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..accounts import roles as R
from ..admin.models import Campaign
from ..extensions import db
from ..files.models import StoredFile, register_entity
from ..files.operations import UploadError, attach, claim_uploads, files_for
from ..files.specs import MB, FieldSpec, register_field_resolver
from ..orgs import regions
from ..orgs.models import Org
from ..timeutil import utcnow
from .after_models import ANNUAL_REPORT_ENTITY, AnnualReport
from .models import BINGTUAN_ROUTE, is_national, provinces_of
from .operations.common import OperationError
from .routing import route_label
from .files import edition_settings
from .settings import ScienceDaySettings

FIELD_PREFIX = "sd_annual"
FILE_EXTS = ("doc", "docx", "pdf")
WINDOW = "annual_report"
CONFLICT = ("年度工作总结已在其他窗口或设备上修改。为避免覆盖，本页的修改未保存："
            "请复制需要保留的内容后刷新页面。")


def config(settings: ScienceDaySettings, key: str) -> int:
    return settings.section_number("annual_report", key)


def field_name(campaign_id: int) -> str:
    return f"{FIELD_PREFIX}:{campaign_id}:attachment"


def spec_for(settings: ScienceDaySettings) -> FieldSpec:
    return FieldSpec("annual_attachment", "年度工作总结附件", FILE_EXTS,
                     config(settings, "file_mb") * MB, multiple=True,
                     max_files=config(settings, "files"))


def _resolve(rest: str) -> FieldSpec | None:
    cid, _, name = rest.partition(":")
    settings = edition_settings(cid) if name == "attachment" else None
    return spec_for(settings) if settings else None


# --------------------------------------------------------------------------- scopes

@dataclass(frozen=True)
class Scope:
    key: str              # "province:11" / "org:5"
    name: str             # 北京市科协 / 中国科普作家协会
    region_code: str | None = None
    org_id: int | None = None


def province_scope(code: str) -> Scope:
    label = route_label(code)
    return Scope(f"province:{code}", label if code == BINGTUAN_ROUTE else f"{label}科协",
                 region_code=code)


def org_scope(org: Org) -> Scope:
    return Scope(f"org:{org.id}", org.name, org_id=org.id)


def scopes_of(user) -> list[Scope]:
    """The scopes ``user`` files for: provinces first, then 全国学会 orgs."""
    if not getattr(user, "is_authenticated", False):
        return []
    out = [province_scope(code) for code in sorted(provinces_of(user))]
    orgs = {g.org.id: g.org for g in user.grants
            if g.role == R.SOCIETY_ADMIN and g.org is not None}
    out += [org_scope(o) for o in sorted(orgs.values(), key=lambda o: o.name)]
    return out


def can_file(user, scope_key: str) -> bool:
    return any(s.key == scope_key for s in scopes_of(user))


def can_read_all(user) -> bool:
    return is_national(user)


class _Entity:
    """The files area's view of a report: filers of its scope and national admins read
    it; the filers may remove attachments while the window is open."""

    def __init__(self, report: AnnualReport):
        self.report = report

    def can_view(self, user) -> bool:
        return can_read_all(user) or can_file(user, self.report.scope_key)

    def can_edit(self, user) -> bool:
        if not can_file(user, self.report.scope_key):
            return False
        campaign = db.session.get(Campaign, self.report.campaign_id)
        return ScienceDaySettings(campaign).phase(WINDOW).open


def _load(report_id: int):
    row = db.session.get(AnnualReport, report_id)
    return _Entity(row) if row is not None else None


def init() -> None:
    register_field_resolver(FIELD_PREFIX, _resolve)
    register_entity(ANNUAL_REPORT_ENTITY, _load)


# --------------------------------------------------------------------------- reading

def report_for(campaign_id: int, scope_key: str) -> AnnualReport | None:
    return db.session.scalar(select(AnnualReport).where(
        AnnualReport.campaign_id == campaign_id, AnnualReport.scope_key == scope_key))


def attachments(report: AnnualReport | None) -> list[StoredFile]:
    if report is None or report.id is None:
        return []
    return files_for(ANNUAL_REPORT_ENTITY, report.id)


#: 台湾, 香港, 澳门 have no 省级科协 in the 科协 system: not expected (a report filed by
#: an admin granted one of them is still listed).
NOT_EXPECTED = frozenset({"71", "81", "82"})


def attachments_by_report(report_ids) -> dict[int, list[StoredFile]]:
    """The attachments of many reports in one query (ix_stored_file_entity)."""
    ids = [i for i in report_ids if i]
    out: dict[int, list[StoredFile]] = {}
    if not ids:
        return out
    for f in db.session.scalars(select(StoredFile).where(
            StoredFile.entity_type == ANNUAL_REPORT_ENTITY, StoredFile.entity_id.in_(ids))
            .order_by(StoredFile.created_at, StoredFile.id)):
        out.setdefault(f.entity_id, []).append(f)
    return out


def expected_scopes() -> list[Scope]:
    """Every expected filer: the 31 provinces and the 兵团, then the orgs that have a
    全国学会 admin."""
    from ..accounts.models import Grant

    out = [province_scope(r.code) for r in regions.provinces()
           if r.code not in NOT_EXPECTED]
    if not any(s.region_code == BINGTUAN_ROUTE for s in out):
        out.append(province_scope(BINGTUAN_ROUTE))
    orgs = db.session.scalars(
        select(Org).where(Org.id.in_(select(Grant.org_id).where(
            Grant.role == R.SOCIETY_ADMIN, Grant.org_id.is_not(None))))
        .order_by(Org.name)).all()
    out += [org_scope(o) for o in orgs]
    return out


@dataclass
class Row:
    scope: Scope
    kind: str          # 省级科协 / 全国学会
    report: AnnualReport | None

    @property
    def filed(self) -> bool:
        return self.report is not None and self.report.filed_at is not None


def overview(campaign_id: int) -> list[Row]:
    """Expected filers with their report (a report of a scope no longer expected — an
    admin grant removed — is listed too)."""
    reports = {r.scope_key: r for r in db.session.scalars(
        select(AnnualReport).where(AnnualReport.campaign_id == campaign_id))}
    rows = []
    for s in expected_scopes():
        rows.append(Row(s, "省级科协" if s.region_code else "全国学会", reports.pop(s.key, None)))
    for r in sorted(reports.values(), key=lambda r: r.scope_key):
        s = Scope(r.scope_key, r.scope_name, r.region_code, r.org_id)
        rows.append(Row(s, "省级科协" if r.region_code else "全国学会", r))
    return rows


# --------------------------------------------------------------------------- writing

class ConflictError(OperationError):
    pass


class InvalidReport(OperationError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("；".join(errors.values()))
        self.errors = errors


def _report(campaign: Campaign, scope: Scope) -> AnnualReport:
    row = report_for(campaign.id, scope.key)
    if row is None:
        row = AnnualReport(campaign_id=campaign.id, scope_key=scope.key,
                           region_code=scope.region_code, org_id=scope.org_id,
                           scope_name=scope.name, version=0, text="")
    return row


def save(campaign: Campaign, scope: Scope, user, *, text: str, version: int | None,
         file_ids: list, new_files: list[StoredFile] | None = None,
         file: bool = False, remove_file: int | None = None) -> AnnualReport:
    """Save the report (``file``: and 提交). Raises ``OperationError`` outside the window,
    ``ConflictError`` when ``version`` is not the stored one, ``InvalidReport``."""
    settings = ScienceDaySettings(campaign)
    state = settings.phase(WINDOW)
    if not state.open:
        raise OperationError(state.message, code="window_closed")
    if not can_file(user, scope.key):
        raise OperationError("无权填报该单位的年度工作总结", code="forbidden")
    row = _report(campaign, scope)
    stored_version = row.version or 0
    if version is None or version != stored_version:
        raise ConflictError(CONFLICT, code="conflict")
    errors: dict[str, str] = {}
    text = (text or "").replace("\r\n", "\n").strip()
    limit = config(settings, "text_max")
    if len(text) > limit:
        errors["text"] = f"总结正文不能超过{limit}字（现为{len(text)}字）"
    elif (file or row.filed_at is not None) and not text:
        errors["text"] = "请填写总结正文" if file else "已提交的总结正文不能为空"
    ids = [i for i in file_ids if str(i) != str(remove_file)]
    try:
        files = claim_uploads(ids, user, field_name(campaign.id), ANNUAL_REPORT_ENTITY,
                              row.id)
    except UploadError as e:
        errors["attachments"] = e.message
        files = []
    kept = [f for f in attachments(row) if str(f.id) in [str(i) for i in ids]]
    files = kept + [f for f in files if f not in kept]
    files += [f for f in (new_files or []) if f not in files]
    if len(files) > config(settings, "files") and "attachments" not in errors:
        errors["attachments"] = f"附件最多{config(settings, 'files')}个"
    if errors:
        raise InvalidReport(errors)
    now = utcnow()
    if row.id is None:
        db.session.add(row)
    else:
        # compare-and-set: of two saves of the same version only one gets through
        claimed = db.session.execute(
            update(AnnualReport).where(AnnualReport.id == row.id,
                                       AnnualReport.version == stored_version)
            .values(version=stored_version + 1)
            .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            db.session.rollback()
            raise ConflictError(CONFLICT, code="conflict")
    row.text = text
    row.scope_name = scope.name
    row.version = stored_version + 1
    row.updated_at = now
    if file:
        row.filed_at = now
        row.filed_by_id = user.id
    db.session.flush()
    keep = {f.id for f in files}
    for f in attachments(row):
        if f.id not in keep:
            f.entity_type = f.entity_id = None  # removed: purged later as an orphan
    for f in files:
        attach(f, ANNUAL_REPORT_ENTITY, row.id, commit=False)
    try:
        db.session.commit()
    except IntegrityError:  # another tab created the report first
        db.session.rollback()
        raise ConflictError(CONFLICT, code="conflict")
    return row
