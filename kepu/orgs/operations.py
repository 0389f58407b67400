"""Every write of the org library: search keys, pending orgs, edits, review, merge,
imports, recommender-unit applications. Each operation validates, writes the audit
trail and commits once.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable

from sqlalchemy import and_, delete, func, select, update

from ..accounts.models import Grant
from ..accounts.roles import UNIT_ADMIN
from ..extensions import db
from ..inputs import clean_text, parse_id
from ..timeutil import utcnow
from ..workflow import StateMachine, Transition, TransitionError, audit
from . import regions
from .models import (APP_APPROVED, APP_PENDING, APP_REJECTED, APP_STATUSES, CAST_KINDS,
                     CERTIFICATIONS, ORG_ACTIVE, ORG_KINDS, ORG_MERGED, ORG_PENDING, ORG_REJECTED,
                     ORG_STATUSES, Org, OrgAlias, OrgCertification, OrgKindTag,
                     UnitApplication)
from .search import search_keys

DATA_DIR = Path(__file__).parent / "data"
#: Load order of the shipped data files (parents before children).
BUILTIN_FILES = ["gangyaoban.csv", "provincial.csv", "ministries.csv", "societies.csv",
                 "certified.csv"]

NAME_MAX = 100


class OrgError(Exception):
    """A refused org operation; ``field`` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# --------------------------------------------------------------------------- search keys

def reindex(org: Org) -> None:
    """Recompute pinyin / initials of ``org`` and its aliases (call after name changes)."""
    org.pinyin, org.initials = search_keys(org.name)
    for a in org.aliases:
        reindex_alias(a)


def reindex_alias(alias: OrgAlias) -> None:
    alias.pinyin, alias.initials = search_keys(alias.name)


def reindex_all() -> int:
    n = 0
    for org in db.session.scalars(select(Org)):
        reindex(org)
        n += 1
    db.session.commit()
    return n


def clean_name(name: str | None) -> str:
    return " ".join((name or "").split())


def split_aliases(text: str | None) -> list[str]:
    """Aliases from "a|b", "a、b" or one per line; blanks and duplicates dropped."""
    out: list[str] = []
    for part in re.split(r"[|｜、\r\n]+", text or ""):
        part = clean_name(part)
        if part and part not in out:
            out.append(part)
    return out


def set_aliases(org: Org, names: Iterable[str], replace: bool = True) -> bool:
    """Make ``org``'s aliases ``names`` (or add them when not ``replace``). Returns changed."""
    wanted = [n for n in dict.fromkeys(clean_name(n) for n in names) if n and n != org.name]
    have = {a.name: a for a in org.aliases}
    changed = False
    if replace:
        for name, a in list(have.items()):
            if name not in wanted:
                org.aliases.remove(a)
                changed = True
    for name in wanted:
        if name not in have:
            a = OrgAlias(name=name[:NAME_MAX])
            reindex_alias(a)
            org.aliases.append(a)
            changed = True
    return changed


def set_also_kinds(org: Org, kinds: Iterable[str], replace: bool = True) -> bool:
    """Make ``org``'s further kinds (兼属类别) ``kinds`` (or add them). Returns changed."""
    wanted = {k for k in kinds if k in ORG_KINDS and k != org.kind}
    have = {t.kind: t for t in org.kind_tags}
    changed = False
    if replace:
        for kind, tag in list(have.items()):
            if kind not in wanted:
                org.kind_tags.remove(tag)
                changed = True
    for kind in ORG_KINDS:
        if kind in wanted and kind not in have:
            org.kind_tags.append(OrgKindTag(kind=kind))
            changed = True
    return changed


def kind_region_error(kind: str, region_code: str | None) -> str | None:
    """The 直辖市 rule (seeds 001 三.5, 002): the 科协 of a 直辖市's district or county
    is classified 市级科协, so that its activities' 归口 category is 市科协."""
    if kind == "县级科协" and region_code:
        r = regions.get(region_code)
        if r is not None and r.level >= 2 and regions.is_direct(regions.province_code(r.code)):
            return "直辖市的区、县科协类别应为“市级科协”（归口单位类别为“市科协”）"
    return None


def cast_duplicate_error(org: Org | None, kind: str, region_code: str | None) -> str | None:
    """Refuse a second 科协 of the same kind for a region whose 科协 was generated
    (seed 003's duplicates); merge instead. Generated orgs are unique by construction."""
    if kind not in CAST_KINDS or not region_code or (org is not None and org.generated_key):
        return None
    other = db.session.scalar(select(Org).where(
        Org.generated_key == f"region:{region_code}", Org.kind == kind,
        Org.status == ORG_ACTIVE, *([Org.id != org.id] if org is not None and org.id else [])))
    if other is None:
        return None
    return (f"{regions.full_name(region_code)}已有{kind}「{other.name}」，请勿重复添加"
            "（重复条目请使用“合并”）")


def find_by_name(name: str, include_pending: bool = True) -> Org | None:
    """The non-merged org called exactly ``name`` (active preferred)."""
    statuses = [ORG_ACTIVE, ORG_PENDING] if include_pending else [ORG_ACTIVE]
    rows = list(db.session.scalars(
        select(Org).where(Org.name == name, Org.status.in_(statuses)).order_by(Org.id)))
    rows.sort(key=lambda o: o.status != ORG_ACTIVE)
    return rows[0] if rows else None


def find_by_name_or_alias(name: str) -> Org | None:
    org = find_by_name(name)
    if org:
        return org
    return db.session.scalar(
        select(Org).join(OrgAlias, OrgAlias.org_id == Org.id)
        .where(OrgAlias.name == name, Org.status.in_([ORG_ACTIVE, ORG_PENDING]))
        .order_by(Org.id).limit(1))


def resolve(org: Org | None) -> Org | None:
    """Follow merged_into links to the surviving org."""
    seen = set()
    while org is not None and org.status == ORG_MERGED and org.merged_into_id \
            and org.id not in seen:
        seen.add(org.id)
        org = db.session.get(Org, org.merged_into_id)
    return org


def descendant_ids(org_id: int) -> set[int]:
    """Ids of every org below ``org_id`` in the hierarchy."""
    found: set[int] = set()
    frontier = {org_id}
    while frontier:
        rows = set(db.session.scalars(select(Org.id).where(Org.parent_id.in_(frontier))))
        rows -= found | {org_id}
        found |= rows
        frontier = rows
    return found


def check_parent(org: Org | None, parent: Org | None) -> str | None:
    if parent is None or org is None or org.id is None:
        return None
    if parent.id == org.id or parent.id in descendant_ids(org.id):
        return "上级单位不能是本单位或其下级单位"
    return None


# --------------------------------------------------------------------------- pending orgs

def add_pending_org(name: str, user, kind: str | None = None) -> tuple[Org, bool]:
    """Create a pending org named ``name`` for review ("添加"). Returns (org, created).

    An org with exactly that name which the user may pick is returned instead.
    """
    name = clean_name(name)
    if len(name) < 2:
        raise OrgError("请输入完整的单位名称（至少 2 个字）", "name")
    if len(name) > NAME_MAX:
        raise OrgError(f"单位名称不能超过 {NAME_MAX} 个字", "name")
    existing = find_by_name(name)
    if existing is not None and existing.selectable_by(user):
        return existing, False
    if existing is not None:
        raise OrgError("该单位已提交，正在等待平台审核", "name")
    org = Org(name=name, kind=kind if kind in ORG_KINDS else "其他", status=ORG_PENDING,
              created_by_id=user.id, certifications=[])
    reindex(org)
    db.session.add(org)
    db.session.flush()
    audit("org", org.id, "create_pending", user, data={"name": name, "kind": org.kind})
    db.session.commit()
    return org, True


ORG_FLOW = StateMachine(
    "org",
    states=ORG_STATUSES,
    transitions=[
        Transition("approve", {ORG_PENDING, ORG_REJECTED}, ORG_ACTIVE, "通过",
                   allowed=lambda o, u: u.is_platform_admin),
        Transition("reject", {ORG_PENDING}, ORG_REJECTED, "驳回",
                   allowed=lambda o, u: u.is_platform_admin),
    ],
)


def review_org(org: Org, action: str, user, comment: str = "") -> None:
    """通过 / 驳回 a pending org (platform admin)."""
    if action == "approve":
        clash = find_by_name(org.name, include_pending=False)
        if clash is not None and clash.id != org.id:
            raise OrgError("已存在同名的正式单位，请使用“合并”将其并入")
    ORG_FLOW.apply(org, action, user, comment=comment)
    db.session.commit()


# --------------------------------------------------------------------------- edit

def update_org(org: Org, user, *, name: str, kind: str, parent: Org | None,
               region_code: str | None, certifications: list[str],
               aliases: list[str], also_kinds: list[str] | None = None) -> dict:
    """Edit an org (platform admin). Raises OrgError(field=...) on refusal.

    ``also_kinds`` None leaves the further kinds alone. A certification tag removed
    here also drops the imported list entries (batches) behind it.
    """
    name = clean_name(name)
    if not name:
        raise OrgError("请填写单位名称", "name")
    if kind not in ORG_KINDS:
        raise OrgError("请选择单位类别", "kind")
    clash = find_by_name(name)
    if clash is not None and clash.id != org.id:
        raise OrgError("已存在同名单位，请使用“合并”功能处理重复条目", "name")
    msg = check_parent(org, parent)
    if msg:
        raise OrgError(msg, "parent_id")
    if region_code and regions.normalize(region_code) is None:
        raise OrgError("地区代码无效", "region")
    bad = [c for c in certifications if c not in CERTIFICATIONS]
    if bad:
        raise OrgError("未知的认证类型：" + "、".join(bad), "certifications")
    if also_kinds is not None and any(k not in ORG_KINDS for k in also_kinds):
        raise OrgError("请选择有效的兼属类别", "also_kinds")
    msg = kind_region_error(kind, regions.normalize(region_code))
    if msg:
        raise OrgError(msg, "kind")
    msg = cast_duplicate_error(org, kind, regions.normalize(region_code))
    if msg:
        raise OrgError(msg, "region")
    before = snapshot(org)
    org.name = name
    org.kind = kind
    org.parent_id = parent.id if parent else None
    org.region_code = regions.normalize(region_code)
    org.certifications = [c for c in CERTIFICATIONS if c in certifications]
    for rec in list(org.certification_records):
        if rec.tag not in org.certifications:
            org.certification_records.remove(rec)
    set_aliases(org, aliases, replace=True)
    if also_kinds is not None:
        set_also_kinds(org, also_kinds, replace=True)
    if org.name != before["name"]:  # keep the keys of an unchanged name (see generate)
        org.pinyin, org.initials = search_keys(org.name)
    after = snapshot(org)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        org.updated_at = utcnow()
        audit("org", org.id, "edit", user, data={"changes": changes})
    db.session.commit()
    return changes


def snapshot(org: Org) -> dict:
    return {
        "name": org.name, "kind": org.kind, "parent_id": org.parent_id,
        "region_code": org.region_code, "certifications": sorted(org.certifications or []),
        "aliases": sorted(a.name for a in org.aliases), "status": org.status,
        "also_kinds": org.also_kinds,
    }


# --------------------------------------------------------------------------- merge

_NORMALISE = [("科学技术协会", "科协"), ("科学技术", "科技"), ("委员会", "委"),
              ("有限责任公司", "公司"), ("有限公司", "公司")]
_PUNCT = re.compile(r"[\s\-_·.,，。:：;；'\"“”‘’()（）\[\]【】《》<>/\\|]+")


def normalise_name(name: str) -> str:
    n = _PUNCT.sub("", (name or "").lower())
    for a, b in _NORMALISE:
        n = n.replace(a, b)
    return n


def similarity(a: str, b: str) -> float:
    from rapidfuzz import fuzz

    na, nb = normalise_name(a), normalise_name(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 100.0
    score = max(fuzz.ratio(na, nb), fuzz.token_sort_ratio(na, nb))
    if min(len(na), len(nb)) >= 4:
        score = max(score, fuzz.partial_ratio(na, nb) * 0.9)
    return float(score)


def merge_suggestions(org: Org, limit: int = 10, threshold: float = 70.0) -> list[tuple[Org, float]]:
    """Near-duplicates of ``org`` (names and aliases compared), best first."""
    from rapidfuzz import process

    mine = [org.name] + [a.name for a in org.aliases]
    choices: dict[int, list[str]] = {}
    rows = db.session.execute(
        select(Org.id, Org.name).where(Org.id != org.id, Org.status != ORG_MERGED))
    for oid, name in rows:
        choices.setdefault(oid, []).append(name)
    alias_rows = db.session.execute(
        select(OrgAlias.org_id, OrgAlias.name).join(Org, Org.id == OrgAlias.org_id)
        .where(Org.id != org.id, Org.status != ORG_MERGED))
    for oid, name in alias_rows:
        choices.setdefault(oid, []).append(name)
    flat = [(oid, n) for oid, names in choices.items() for n in names]
    best: dict[int, float] = {}
    for mine_name in mine:
        for _choice, score, i in process.extract(
                mine_name, [n for _, n in flat], scorer=lambda a, b, **kw: similarity(a, b),
                limit=limit * 3, score_cutoff=threshold):
            oid = flat[i][0]
            best[oid] = max(best.get(oid, 0.0), score)
    ranked = sorted(best.items(), key=lambda kv: -kv[1])[:limit]
    return [(db.session.get(Org, oid), score) for oid, score in ranked]


def org_references() -> list:
    """Every column in the metadata with a foreign key to ``org.id``."""
    cols = []
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == Org.__tablename__ and fk.column.name == "id":
                cols.append(fk.parent)
    return cols


def _unique_sets(table, column) -> list[list]:
    """Column groups of unique constraints / indexes of ``table`` that include ``column``."""
    from sqlalchemy import UniqueConstraint

    sets = []
    for c in table.constraints:
        if isinstance(c, UniqueConstraint) and column.name in c.columns.keys():
            sets.append(list(c.columns))
    for ix in table.indexes:
        if ix.unique and column.name in [c.name for c in ix.columns]:
            sets.append(list(ix.columns))
    if column.unique:
        sets.append([column])
    return sets


def merge_orgs(duplicate: Org, survivor: Org, user, comment: str = "") -> dict:
    """Merge ``duplicate`` into ``survivor``: every reference moves to the survivor.

    References are found by introspecting the metadata, so tables added later are
    covered. A moved row that would violate a unique constraint (e.g. the same grant or
    alias already on the survivor) is dropped instead.
    """
    if duplicate.id == survivor.id:
        raise OrgError("不能与本单位合并", "target")
    if duplicate.status == ORG_MERGED or survivor.status == ORG_MERGED:
        raise OrgError("已合并的单位不能再次合并", "target")
    dup_id, surv_id = duplicate.id, survivor.id
    dup_name = duplicate.name
    dup_parent = duplicate.parent_id
    dup_certs = list(duplicate.certifications or [])
    dup_region = duplicate.region_code
    db.session.flush()
    moved: dict[str, int] = {}
    dropped: dict[str, int] = {}
    conn = db.session
    for col in org_references():
        table = col.table
        pk = list(table.primary_key.columns)
        uniques = _unique_sets(table, col)
        label = f"{table.name}.{col.name}"
        if not uniques:
            res = conn.execute(update(table).where(col == dup_id).values({col.name: surv_id})
                               .execution_options(synchronize_session=False))
            if res.rowcount:
                moved[label] = res.rowcount
            continue
        rows = conn.execute(select(table).where(col == dup_id)).mappings().all()
        for row in rows:
            clash = False
            for uset in uniques:
                # NULL is compared as a value here: two grants (user, role, org, NULL,
                # NULL) are logically the same even though the database allows both.
                conds = [col == surv_id]
                for other in uset:
                    if other.name == col.name:
                        continue
                    value = row[other.name]
                    conds.append(other.is_(None) if value is None else other == value)
                if conn.execute(select(func.count()).select_from(table)
                                .where(and_(*conds))).scalar():
                    clash = True
                    break
            where = and_(*[c == row[c.name] for c in pk])
            if clash:
                conn.execute(delete(table).where(where)
                             .execution_options(synchronize_session=False))
                dropped[label] = dropped.get(label, 0) + 1
            else:
                conn.execute(update(table).where(where).values({col.name: surv_id})
                             .execution_options(synchronize_session=False))
                moved[label] = moved.get(label, 0) + 1
    db.session.expire_all()
    survivor = db.session.get(Org, surv_id)
    duplicate = db.session.get(Org, dup_id)
    if survivor.parent_id == surv_id:  # survivor was a child of the duplicate
        survivor.parent_id = dup_parent if dup_parent not in (dup_id, surv_id) else None
        if survivor.parent_id and check_parent(survivor, db.session.get(Org, survivor.parent_id)):
            survivor.parent_id = None
    if duplicate.parent_id == surv_id or duplicate.parent_id == dup_id:
        duplicate.parent_id = None
    # The duplicate's name becomes an alias of the survivor.
    if dup_name != survivor.name and dup_name not in {a.name for a in survivor.aliases}:
        a = OrgAlias(name=dup_name)
        reindex_alias(a)
        survivor.aliases.append(a)
    # Aliases equal to the survivor's own name are pointless.
    for a in list(survivor.aliases):
        if a.name == survivor.name:
            survivor.aliases.remove(a)
    survivor.certifications = [c for c in CERTIFICATIONS
                               if c in set(survivor.certifications or []) | set(dup_certs)]
    if not survivor.region_code and dup_region:
        survivor.region_code = dup_region
    if survivor.status != ORG_ACTIVE and duplicate.status == ORG_ACTIVE:
        survivor.status = ORG_ACTIVE
    for tag in list(survivor.kind_tags):  # a moved further kind equal to its own kind
        if tag.kind == survivor.kind:
            survivor.kind_tags.remove(tag)
    # The survivor becomes the region's generated 科协, so the generator neither
    # recreates the duplicate nor makes a second one.
    if duplicate.generated_key and not survivor.generated_key:
        key, gen_name = duplicate.generated_key, duplicate.generated_name
        duplicate.generated_key = None
        db.session.flush()
        survivor.generated_key, survivor.generated_name = key, gen_name
        if not survivor.region_code and key.startswith("region:"):
            survivor.region_code = regions.normalize(key.split(":", 1)[1])
    duplicate.status = ORG_MERGED
    duplicate.merged_into_id = surv_id
    survivor.updated_at = utcnow()
    data = {"merged_id": dup_id, "merged_name": dup_name, "survivor_id": surv_id,
            "survivor_name": survivor.name, "moved": moved, "dropped": dropped}
    audit("org", surv_id, "merge", user, comment=comment, data=data)
    audit("org", dup_id, "merged_into", user, comment=comment, data=data)
    db.session.commit()
    return data


# --------------------------------------------------------------------------- import

@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)

    def __iadd__(self, other: "ImportResult") -> "ImportResult":
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.errors += other.errors
        return self

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


COLUMN_ALIASES = {
    "id": "id", "编号": "id",
    "名称": "name", "name": "name", "单位名称": "name", "组织名称": "name",
    "类别": "kind", "kind": "kind", "单位类别": "kind", "类型": "kind",
    "上级单位": "parent", "parent": "parent", "上级": "parent",
    "地区代码": "region_code", "region_code": "region_code", "行政区划代码": "region_code",
    "别名": "aliases", "aliases": "aliases",
    "认证": "certifications", "certifications": "certifications", "认证类型": "certifications",
    "兼属类别": "also_kinds", "also_kinds": "also_kinds", "其他类别": "also_kinds",
}
TEMPLATE_HEADERS = ["名称", "类别", "上级单位", "地区代码", "别名", "认证", "兼属类别"]


def _read_rows(source, filename: str) -> list[list[str]]:
    name = (filename or "").lower()
    if isinstance(source, (str, Path)):
        with open(source, "rb") as fh:
            data = fh.read()
    else:
        data = source.read()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as e:  # noqa: BLE001 - any parse failure is a user error
            raise OrgError("无法读取 xlsx 文件，请确认文件未损坏") from e
        ws = wb.worksheets[0]
        rows = [["" if v is None else clean_text(str(v)).strip() for v in row]
                for row in ws.iter_rows(values_only=True)]
        wb.close()
        return rows
    if name.endswith(".csv"):
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise OrgError("无法识别 CSV 文件编码，请使用 UTF-8 或 GBK")
        text = clean_text(text)  # NUL and bidi controls, as for every form value
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    raise OrgError("仅支持 .xlsx 或 .csv 文件")


def import_orgs(path_or_fileobj: str | Path | IO[bytes], filename: str | None = None,
                by=None) -> ImportResult:
    """Load or update orgs from a csv (UTF-8, UTF-8 with BOM, GBK) or xlsx file.

    Idempotent: a row with an ``id`` updates that org; otherwise a row whose name equals
    an existing (non-merged) org updates it; other rows create active orgs. Empty cells
    leave existing values alone; aliases and certifications are added, never removed.
    Parents (by name or alias) are resolved after all rows are loaded, so a parent may
    come later in the file.
    """
    if filename is None:
        filename = str(path_or_fileobj) if isinstance(path_or_fileobj, (str, Path)) \
            else getattr(path_or_fileobj, "name", "") or ""
    result = ImportResult()
    try:
        rows = _read_rows(path_or_fileobj, filename)
    except OrgError as e:
        result.errors.append(e.message)
        return result
    rows = [r for r in rows]
    if not rows:
        result.errors.append("文件为空")
        return result
    header = [COLUMN_ALIASES.get(h.strip().lstrip("\ufeff").lower(),
                                 COLUMN_ALIASES.get(h.strip(), "")) for h in rows[0]]
    if "name" not in header and "id" not in header:
        result.errors.append("缺少“名称”列（表头应为：" + "、".join(TEMPLATE_HEADERS) + "）")
        return result

    pending_parents: list[tuple[int, Org, str]] = []
    status: dict[int, str] = {}  # id(org) -> "created" | "updated" | "unchanged"
    seen_line: dict[int, int] = {}
    index = _NameIndex()
    for lineno, raw in enumerate(rows[1:], start=2):
        rec = {}
        for key, value in zip(header, raw):
            if key and key not in rec:
                rec[key] = value
        if not any(v for v in raw):
            continue
        try:
            with db.session.no_autoflush:
                org, outcome, parent_name = _import_row(rec, lineno, index)
        except OrgError as e:
            result.errors.append(e.message)
            continue
        if org is None:
            result.unchanged += 1
            continue
        key = id(org)  # new orgs have no primary key until the flush below
        if key in seen_line:
            result.errors.append(f"第{lineno}行：与第{seen_line[key]}行是同一单位，已合并处理")
        seen_line.setdefault(key, lineno)
        prev = status.get(key)
        if prev != "created":
            status[key] = outcome if prev in (None, "unchanged") else prev
        if parent_name:
            pending_parents.append((lineno, org, parent_name))

    db.session.flush()
    for lineno, org, parent_name in pending_parents:
        parent = index.by_name_or_alias(parent_name)
        if parent is None:
            result.errors.append(f"第{lineno}行：找不到上级单位「{parent_name}」")
            continue
        if org.parent_id == parent.id:
            continue
        msg = check_parent(org, parent)
        if msg:
            result.errors.append(f"第{lineno}行：{msg}")
            continue
        org.parent_id = parent.id
        if status.get(id(org)) == "unchanged":
            status[id(org)] = "updated"

    for outcome in status.values():
        setattr(result, outcome, getattr(result, outcome) + 1)
    if by is not None:
        audit("org", 0, "import", by, data={
            "file": filename, "created": result.created, "updated": result.updated,
            "unchanged": result.unchanged, "errors": len(result.errors)})
    db.session.commit()
    return result


class _NameIndex:
    """Exact-name lookups for one import run, without a query (and flush) per row."""

    def __init__(self):
        # Ids only: the library holds thousands of generated 科协, and a file touches
        # a few of them; rows are loaded (once, by the identity map) when matched.
        self.by_name: dict[str, Org | int] = {}
        self.merged: set[str] = set()
        active: dict[str, bool] = {}
        for oid, name, status in db.session.execute(
                select(Org.id, Org.name, Org.status).order_by(Org.id)):
            if status == ORG_MERGED:
                self.merged.add(name)
            elif name not in self.by_name or (not active[name] and status == ORG_ACTIVE):
                self.by_name[name] = oid
                active[name] = status == ORG_ACTIVE
        self.alias: dict[str, int] = {}
        rows = db.session.execute(
            select(OrgAlias.name, OrgAlias.org_id).join(Org, Org.id == OrgAlias.org_id)
            .where(Org.status.in_([ORG_ACTIVE, ORG_PENDING])).order_by(OrgAlias.id))
        for name, oid in rows:
            self.alias.setdefault(name, oid)

    def find(self, name: str) -> Org | None:
        org = self.by_name.get(name)
        if isinstance(org, int):
            org = self.by_name[name] = db.session.get(Org, org)
        return org if org is not None and org.status != ORG_MERGED else None

    def add(self, org: Org) -> None:
        self.by_name[org.name] = org
        for a in org.aliases:
            self.alias.setdefault(a.name, -1)

    def by_name_or_alias(self, name: str) -> Org | None:
        org = self.find(name)
        if org is not None:
            return org
        if name in self.alias:
            return find_by_name_or_alias(name)
        return None


def _import_row(rec: dict, lineno: int, index: _NameIndex) -> tuple[Org | None, str, str]:
    name = clean_name(rec.get("name"))
    kind = clean_name(rec.get("kind"))
    region_raw = (rec.get("region_code") or "").strip()
    if region_raw.endswith(".0"):  # numbers read from xlsx
        region_raw = region_raw[:-2]
    aliases = split_aliases(rec.get("aliases"))
    certs = [c for c in (clean_name(x) for x in re.split(r"[|｜]", rec.get("certifications") or ""))
             if c]
    parent_name = clean_name(rec.get("parent"))
    also = [k for k in (clean_name(x) for x in re.split(r"[|｜、]", rec.get("also_kinds") or ""))
            if k]
    if kind and kind not in ORG_KINDS:
        raise OrgError(f"第{lineno}行：类别「{kind}」无效（可选：{'、'.join(ORG_KINDS)}）")
    bad_also = [k for k in also if k not in ORG_KINDS]
    if bad_also:
        raise OrgError(f"第{lineno}行：兼属类别「{'、'.join(bad_also)}」无效")
    region = None
    if region_raw:
        region = regions.normalize(region_raw)
        if region is None:
            raise OrgError(f"第{lineno}行：地区代码「{region_raw}」无效")
    if kind and (msg := kind_region_error(kind, region)):
        raise OrgError(f"第{lineno}行：{msg}")
    bad = [c for c in certs if c not in CERTIFICATIONS]
    if bad:
        raise OrgError(f"第{lineno}行：未知的认证类型「{'、'.join(bad)}」")
    if len(name) > NAME_MAX:
        raise OrgError(f"第{lineno}行：名称超过 {NAME_MAX} 个字")

    org = None
    oid = (rec.get("id") or "").strip()
    if oid.endswith(".0"):
        oid = oid[:-2]
    if oid:
        if parse_id(oid) is None or (org := db.session.get(Org, parse_id(oid))) is None:
            raise OrgError(f"第{lineno}行：找不到编号为 {oid} 的单位")
        if org.status == ORG_MERGED:
            raise OrgError(f"第{lineno}行：编号为 {oid} 的单位已合并，请使用保留单位的编号")
    elif not name:
        raise OrgError(f"第{lineno}行：名称不能为空")
    else:
        org = index.find(name)
        if org is None and name in index.merged:
            return None, "unchanged", ""  # merged away: its survivor carries the name
    if org is None:
        if name == parent_name:
            raise OrgError(f"第{lineno}行：上级单位不能是本单位或其下级单位")
        if (msg := cast_duplicate_error(None, kind, region)):
            raise OrgError(f"第{lineno}行：{msg}")
        org = Org(name=name, kind=kind or "其他", region_code=region, status=ORG_ACTIVE,
                  certifications=[c for c in CERTIFICATIONS if c in certs])
        set_aliases(org, aliases, replace=False)
        set_also_kinds(org, also, replace=False)
        reindex(org)
        db.session.add(org)
        index.add(org)
        return org, "created", parent_name

    if (msg := kind_region_error(kind or org.kind, region or org.region_code)):
        raise OrgError(f"第{lineno}行：{msg}")
    if (msg := cast_duplicate_error(org, kind or org.kind, region or org.region_code)):
        raise OrgError(f"第{lineno}行：{msg}")
    before = snapshot(org)
    if name and oid and name != org.name:
        clash = index.find(name)
        if clash is not None and clash is not org:
            raise OrgError(f"第{lineno}行：已存在名为「{name}」的单位")
        org.name = name
        index.add(org)
    if kind:
        org.kind = kind
    if region:
        org.region_code = region
    if certs:
        have = set(org.certifications or [])
        org.certifications = [c for c in CERTIFICATIONS if c in have | set(certs)]
    set_aliases(org, aliases, replace=False)
    set_also_kinds(org, also, replace=False)
    if org.status in (ORG_PENDING, ORG_REJECTED):
        org.status = ORG_ACTIVE
    if org.name != before["name"] or not org.pinyin:  # keep the keys of an unchanged name
        org.pinyin, org.initials = search_keys(org.name)
    changed = snapshot(org) != before
    if changed:
        org.updated_at = utcnow()
    return org, ("updated" if changed else "unchanged"), parent_name


def load_builtin_orgs() -> ImportResult:
    """Load the shipped data files (kepu/orgs/data/*.csv); safe to run repeatedly."""
    total = ImportResult()
    for fname in BUILTIN_FILES:
        path = DATA_DIR / fname
        if path.exists():
            total += import_orgs(path, fname)
    return total


def import_template_xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "组织库"
    ws.append(TEMPLATE_HEADERS)
    ws.append(["北京市科学技术协会", "省级科协", "中国科学技术协会", "11", "北京市科协|北京科协", ""])
    ws.append(["中国科学技术馆", "其他", "中国科学技术协会", "11", "中国科技馆", "全国科普教育基地"])
    ref = wb.create_sheet("说明")
    ref.append(["列", "说明"])
    ref.append(["名称", "必填；与已有单位名称完全相同时更新该单位，否则新建"])
    ref.append(["类别", "可选值：" + "、".join(ORG_KINDS)])
    ref.append(["上级单位", "上级单位的名称或别名"])
    ref.append(["地区代码", "行政区划代码，如 11（北京市）、4401（广州市）、440111（白云区）"])
    ref.append(["别名", "多个别名用 | 或 、 分隔"])
    ref.append(["认证", "多个用 | 分隔；可选值：" + "、".join(CERTIFICATIONS)])
    ref.append(["兼属类别", "除“类别”外同时属于的类别，多个用 | 分隔，如教育部：类别“纲要办成员单位”，兼属“部委”"])
    ref.append(["id", "可选；填写时按编号更新该单位"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- unit applications

UNIT_APP_FLOW = StateMachine(
    "unit_application",
    states=APP_STATUSES,
    transitions=[
        Transition("approve", {APP_PENDING}, APP_APPROVED, "通过",
                   allowed=lambda a, u: a.can_review(u)),
        Transition("reject", {APP_PENDING}, APP_REJECTED, "驳回",
                   allowed=lambda a, u: a.can_review(u), requires_comment=True),
    ],
)


def has_pending_application(user_id: int, org_id: int) -> bool:
    return bool(db.session.scalar(select(func.count(UnitApplication.id)).where(
        UnitApplication.user_id == user_id, UnitApplication.org_id == org_id,
        UnitApplication.status == APP_PENDING)))


def apply_unit(user, org: Org, contact_name: str, job_title: str,
               note: str = "") -> UnitApplication:
    if org is None or org.status != ORG_ACTIVE:
        raise OrgError("请从组织库中选择单位", "org_id")
    if user.has_role(UNIT_ADMIN, org_id=org.id):
        raise OrgError("您已是该单位的推荐单位管理员", "org_id")
    if has_pending_application(user.id, org.id):
        raise OrgError("您已提交过该单位的申请，请等待审核", "org_id")
    app_ = UnitApplication(user_id=user.id, org_id=org.id, status=APP_PENDING,
                           contact_name=clean_name(contact_name), job_title=clean_name(job_title),
                           note=(note or "").strip())
    db.session.add(app_)
    db.session.flush()
    audit("unit_application", app_.id, "submit", user, data={"org_id": org.id})
    db.session.commit()
    return app_


def decide_application(application: UnitApplication, action: str, user,
                       comment: str = "") -> None:
    """通过 (creates the unit_admin grant) or 驳回 (comment required)."""
    comment = (comment or "").strip()
    if action == "reject" and not comment:
        raise OrgError("请填写驳回理由", "comment")
    if action not in ("approve", "reject"):
        raise OrgError("不支持的操作")
    org = db.session.get(Org, application.org_id)
    if action == "approve" and (org is None or org.status != ORG_ACTIVE):
        raise OrgError("该单位已不在组织库中（可能已被合并），请驳回后让申请人重新申请")
    try:
        UNIT_APP_FLOW.apply(application, action, user, comment=comment,
                            data={"org_id": application.org_id})
    except TransitionError as e:
        raise OrgError(e.message) from e
    application.decision_comment = comment
    application.decided_by_id = user.id
    application.decided_at = utcnow()
    if action == "approve":
        exists_ = db.session.scalar(select(func.count(Grant.id)).where(
            Grant.user_id == application.user_id, Grant.role == UNIT_ADMIN,
            Grant.org_id == application.org_id))
        if not exists_:
            db.session.add(Grant(user_id=application.user_id, role=UNIT_ADMIN,
                                 org_id=application.org_id, created_by_id=user.id))
    db.session.commit()
