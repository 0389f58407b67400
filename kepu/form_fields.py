"""Form fields shared by the campaigns' admin forms (edition settings of the works call,
the case collection and 全国科普日): whole numbers in a range, one-item-per-line
taxonomies, and Beijing-time dates that refuse an out-of-range year and show (never
crash on) a stored value that cannot be read. No campaign imports another's forms."""
from __future__ import annotations

import re
from datetime import date, datetime

from wtforms import DateTimeLocalField, IntegerField, TextAreaField
from wtforms.validators import Optional, StopValidation

from .editions import DATE_RANGE_MESSAGE, in_year_range, unreadable_message

#: a taxonomy entry (作品类型, 案例子类, 活动类型 …): at most this many characters
TAXONOMY_ITEM_MAX = 20
#: "（一）" / "1." / "一、" numbering an admin may paste in front of a clause
CLAUSE_NUMBER_RE = re.compile(r"^\s*(?:[（(][一二三四五六七八九十\d]+[)）]|\d+[.、．])\s*")


def parse_lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]



class IntField(IntegerField):
    """A whole number between ``minimum`` and ``maximum`` (Chinese messages; the typed
    text is kept when it is not a number)."""

    def __init__(self, label=None, validators=None, minimum: int = 1,
                 maximum: int | None = None, unit: str = "", **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "numeric"})
        super().__init__(label, validators, **kwargs)
        self.minimum = minimum
        self.maximum = maximum
        self.unit = unit
        self.flags.required = True

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        raw = (valuelist[0] or "").strip()
        self.data = None
        if raw == "":
            return
        if not re.fullmatch(r"[+-]?\d+", raw):
            raise ValueError("请输入整数")
        self.data = int(raw)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()
        if self.data is None:
            raise StopValidation("请填写")
        maximum = self.maximum() if callable(self.maximum) else self.maximum
        if self.data < self.minimum or (maximum is not None and self.data > maximum):
            if maximum is None:
                raise StopValidation(f"应为不小于 {self.minimum} 的整数")
            raise StopValidation(f"应为 {self.minimum}–{maximum} 之间的整数")


class LinesField(TextAreaField):
    """One item per line: non-empty, no duplicates, each at most ``max_len`` chars."""

    def __init__(self, label=None, validators=None, max_len: int = TAXONOMY_ITEM_MAX,
                 item_name: str = "项", strip_numbering: bool = False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.max_len = max_len
        self.item_name = item_name
        self.strip_numbering = strip_numbering
        self.flags.required = True

    def process_data(self, value):
        self.data = "\n".join(value) if isinstance(value, (list, tuple)) else value

    @property
    def items(self) -> list[str]:
        lines = parse_lines(self.data)
        if self.strip_numbering:
            lines = [CLAUSE_NUMBER_RE.sub("", line).strip() for line in lines]
            lines = [line for line in lines if line]
        return lines

    def pre_validate(self, form):
        items = self.items
        if not items:
            raise StopValidation(f"请至少填写一{self.item_name}")
        seen: set[str] = set()
        for item in items:
            if len(item) > self.max_len:
                short = item if len(item) <= 12 else item[:12] + "…"
                raise StopValidation(f"“{short}”超过 {self.max_len} 字")
            if item in seen:
                raise StopValidation(f"“{item}”重复，请删除重复的一行")
            seen.add(item)


class StoredDateMixin:
    """Date inputs of edition settings: a typed year outside YEAR_MIN..YEAR_MAX is
    refused next to the field; a stored value that cannot be read (an old typo, a
    hand-edited row) is shown with a message instead of taking the page down."""

    patterns: tuple = ()
    date_only = False

    def process_data(self, value):
        self.data = None
        if value is None or value == "" or isinstance(value, (datetime, date)):
            self.data = value or None
            return
        parsed = None
        if isinstance(value, str):
            text = value.strip().replace("T", " ")
            for pattern in self.patterns:
                try:
                    parsed = datetime.strptime(text, pattern)
                    break
                except ValueError:
                    continue
        if parsed is None or not in_year_range(parsed):
            self.raw_data = [str(value)]
            self.errors = [unreadable_message(value)]
            return
        self.data = parsed.date() if self.date_only else parsed

    def post_validate(self, form, validation_stopped):
        if not validation_stopped and self.data is not None and not self.errors \
                and not in_year_range(self.data):
            self.errors.append(DATE_RANGE_MESSAGE)


class LocalDateTimeField(StoredDateMixin, DateTimeLocalField):
    """A Beijing-time datetime-local input; empty means "no limit"."""

    patterns = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("format", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
                                     "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])
        kwargs.setdefault("invalid_value_message", "请输入有效的日期和时间，如 2026-06-30 23:59")
        super().__init__(label, [Optional()] + list(validators or []), **kwargs)

    @property
    def setting(self) -> str:
        return self.data.strftime("%Y-%m-%d %H:%M") if self.data else ""
