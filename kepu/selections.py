"""What one campaign offers another without either importing the other: the pool of
entries it *selected* (入选) in a year.

The case collection's 科普作品传播 showcase lists the works marked 入选 in the works call
of the same year. The works call registers its pool here (``register_pool``); the cases
call asks for it (``pool("works")``) and works with the declared columns only::

    works = pool("works")                         # None when that campaign is not installed
    stmt = works.query(2026)                      # select(<model>) of the year's 入选 entries
    stmt = stmt.where(works.search(q))            # the pool's own search columns
    works.model, works.unit_column, works.category_column, works.title_of(entry)

The showcase's own table (``ShowcaseWork``) refers to the entries' table by foreign key:
a schema link, not a code import.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import or_


@dataclass(frozen=True)
class Pool:
    kind: str                                  # the offering campaign (Campaign.kind)
    label: str                                 # 科普作品
    model: Any                                 # the entry model (SQLAlchemy class)
    selected: Callable[[int], list]            # year -> where-clauses of its 入选 entries
    search_columns: tuple                      # substring search
    unit_column: Any                           # the recommending unit (an org id)
    category_column: Any
    title_of: Callable[[Any], str] = lambda entry: str(entry.id)

    def query(self, year: int):
        from sqlalchemy import select

        return select(self.model).where(*self.selected(year))

    def search(self, q: str):
        from .review_queue import contains

        return or_(*[contains(col, q) for col in self.search_columns])

    def contains(self, entry, year: int) -> bool:
        """Is ``entry`` in the year's pool (checked in the database)?"""
        from sqlalchemy import select

        from .extensions import db

        return db.session.scalar(select(self.model.id).where(
            self.model.id == entry.id, *self.selected(year))) is not None


_pools: dict[str, Pool] = {}


def register_pool(p: Pool) -> Pool:
    _pools[p.kind] = p
    return p


def pool(kind: str) -> Pool | None:
    return _pools.get(kind)
