"""Cases selected in earlier editions (seed 004 三(一): “2025年已入选的案例不再重复提交”).

Platform admins import the earlier list (xlsx / csv with 案例名称 and 单位名称, optional
年份). A new case whose normalised name AND unit equal an imported one is refused on
submit; a near match is allowed but noted in ``case.duplicate_note`` for the unit admin.

- ``import_past(campaign, stream, filename, by)`` → ``PastImportResult``
- ``delete_past(past, by)``
- ``find_matches(campaign_id, name, units)`` → (exact PastCase | None, near [(PastCase, score)])
- ``refusal_message(past)`` / ``near_note(near)``
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from sqlalchemy import select

from ...extensions import db
from ...inputs import clean_text
from ...workflow import OperationError, audit
from ..common import normalise
from ..models import PastCase

MAX_IMPORT_BYTES = 10 * 1024 * 1024
NEAR_NAME = 85      # rapidfuzz ratio on normalised case names
NEAR_UNIT = 85      # ... and on normalised unit names ("similar unit")

HEADER_MAP = {
    "案例名称": "name", "名称": "name", "案例": "name",
    "单位名称": "unit", "实施单位": "unit", "推荐单位": "unit", "单位": "unit",
    "案例实施单位": "unit",
    "年份": "year", "入选年份": "year", "年度": "year",
}


@dataclass
class PastImportResult:
    imported: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_text(str(value)).strip()


def read_rows(data: bytes, filename: str) -> list[list[str]]:
    """Rows of the first sheet (xlsx) or of a csv in UTF-8 (with or without BOM) / GBK."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as e:  # noqa: BLE001 - any parse failure is the user's file
            raise OperationError("无法读取 xlsx 文件，请确认文件未损坏", field="file") from e
        try:
            return [[_cell(v) for v in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
        finally:
            wb.close()
    if name.endswith(".csv"):
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise OperationError("无法识别 CSV 文件编码，请使用 UTF-8 或 GBK", field="file")
        text = clean_text(text)  # NUL and bidi controls, as for every form value
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    raise OperationError("仅支持 .xlsx 或 .csv 文件", field="file")


def _header(rows: list[list[str]]) -> tuple[int, dict[str, int]]:
    """Index of the header row (among the first 10, to allow a title row) and columns."""
    for i, row in enumerate(rows[:10]):
        cols: dict[str, int] = {}
        for j, cell in enumerate(row):
            key = HEADER_MAP.get(normalise(cell)) or HEADER_MAP.get(cell.strip())
            if key and key not in cols:
                cols[key] = j
        if "name" in cols and "unit" in cols:
            return i, cols
    raise OperationError("未找到表头：需要“案例名称”和“单位名称”（或“实施单位”“推荐单位”）两列",
                         field="file")


def import_past(campaign, stream, filename: str, by=None) -> PastImportResult:
    """Import earlier selected cases into ``campaign``; idempotent per normalised pair."""
    if not filename:
        raise OperationError("请选择要导入的文件", field="file")
    data = stream.read(MAX_IMPORT_BYTES + 1)
    if not data:
        raise OperationError("文件为空，请重新选择", field="file")
    if len(data) > MAX_IMPORT_BYTES:
        raise OperationError("文件不能超过10MB", field="file")
    rows = read_rows(data, filename)
    start, cols = _header(rows)
    default_year = campaign.year - 1
    existing = {(p.norm_name, p.norm_unit) for p in db.session.scalars(
        select(PastCase).where(PastCase.campaign_id == campaign.id))}
    result = PastImportResult()
    for lineno, row in enumerate(rows[start + 1:], start=start + 2):
        def get(key: str) -> str:
            j = cols.get(key)
            return row[j].strip() if j is not None and j < len(row) and row[j] else ""

        name, unit, year_raw = get("name"), get("unit"), get("year")
        if not name and not unit:
            continue  # blank line
        if not name or not unit:
            result.errors.append(f"第{lineno}行：缺少{'案例名称' if not name else '单位名称'}，已跳过")
            result.skipped += 1
            continue
        year = default_year
        if year_raw:
            digits = "".join(ch for ch in year_raw if ch.isdigit())[:4]
            if len(digits) == 4 and 2000 <= int(digits) <= 2100:
                year = int(digits)
            else:
                result.errors.append(f"第{lineno}行：年份“{year_raw}”无法识别，按{default_year}年导入")
        key = (normalise(name)[:200], normalise(unit)[:200])
        if not key[0] or not key[1]:
            result.errors.append(f"第{lineno}行：名称或单位无有效文字，已跳过")
            result.skipped += 1
            continue
        if key in existing:
            result.skipped += 1
            continue
        existing.add(key)
        db.session.add(PastCase(campaign_id=campaign.id, year=year, name=name[:200],
                                unit_name=unit[:200], norm_name=key[0], norm_unit=key[1]))
        result.imported += 1
    audit("campaign", campaign.id, "past_cases_import", by,
          data={"file": filename[:100], "imported": result.imported, "skipped": result.skipped})
    db.session.commit()
    return result


def delete_past(past: PastCase, by=None) -> None:
    audit("campaign", past.campaign_id, "past_case_delete", by,
          data={"name": past.name, "unit": past.unit_name, "year": past.year})
    db.session.delete(past)
    db.session.commit()


def _unit_similar(a: str, b: str) -> bool:
    if not a or not b:
        return False
    return a == b or a in b or b in a or fuzz.ratio(a, b) >= NEAR_UNIT


def find_exact(campaign_id: int, name: str, units: list[str]) -> PastCase | None:
    """The past case with the same normalised name and unit (one indexed query), i.e.
    the exact match of ``find_matches`` without comparing every past case."""
    norm_name = normalise(name)
    norm_units = [u for u in {normalise(x) for x in units} if u]
    if not norm_name or not norm_units:
        return None
    return db.session.scalar(
        select(PastCase).where(PastCase.campaign_id == campaign_id,
                               PastCase.norm_name == norm_name,
                               PastCase.norm_unit.in_(norm_units))
        .order_by(PastCase.id).limit(1))


def find_matches(campaign_id: int, name: str, units: list[str]
                 ) -> tuple[PastCase | None, list[tuple[PastCase, float]]]:
    """Compare a case (name + candidate unit names) with the campaign's past cases.

    Exact: same normalised name and the same normalised unit (any candidate).
    Near: name ratio ≥ 85 with the same or a similar unit, or the identical name
    with a different unit.
    """
    norm_name = normalise(name)
    norm_units = [u for u in {normalise(x) for x in units} if u]
    if not norm_name:
        return None, []
    near: list[tuple[PastCase, float]] = []
    for past in db.session.scalars(select(PastCase).where(PastCase.campaign_id == campaign_id)
                                   .order_by(PastCase.id)):
        if past.norm_name == norm_name and past.norm_unit in norm_units:
            return past, []
        score = fuzz.ratio(norm_name, past.norm_name)
        same_name = past.norm_name == norm_name
        unit_close = any(_unit_similar(u, past.norm_unit) for u in norm_units)
        if same_name or (score >= NEAR_NAME and unit_close):
            near.append((past, score))
    near.sort(key=lambda item: -item[1])
    return None, near


def refusal_message(past: PastCase) -> str:
    return f"该案例已于{past.year}年入选“典赞·科普中国”，按通知要求不再重复提交"


def near_note(near: list[tuple[PastCase, float]], limit: int = 300) -> str:
    """Text for ``case.duplicate_note`` (≤300 characters), '' when nothing is near."""
    if not near:
        return ""
    parts = [f"与{p.year}年入选案例“{p.name}”（{p.unit_name}）相似" for p, _ in near[:3]]
    text = "；".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"
