"""Org library search: substring of names and aliases, pinyin initials, full pinyin.

``Org.pinyin`` / ``Org.initials`` (and the same on ``OrgAlias``) are kept up to date
by ``operations.reindex``. Both are lower-case ASCII without separators:
北京市科学技术协会 → pinyin "beijingshikexuejishuxiehui", initials "bjskxjsxh".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, lazy_pinyin
from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import selectinload

from ..extensions import db
from .models import ORG_ACTIVE, ORG_PENDING, Org, OrgAlias, OrgKindTag

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_ASCII_QUERY = re.compile(r"^[a-z0-9 ]+$")


def _clean(parts: list[str]) -> str:
    return _NON_ALNUM.sub("", "".join(parts).lower())


_NON_HAN = "\x00"


@lru_cache(maxsize=32768)
def search_keys(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of ``text`` from one pypinyin pass (the generator indexes
    thousands of names): a Chinese character contributes its syllable / first letter,
    any other run of characters contributes itself to both."""
    parts = lazy_pinyin(text or "", style=Style.NORMAL, errors=lambda run: [_NON_HAN + run])
    full = [p.lstrip(_NON_HAN) for p in parts]
    firsts = [p[1:] if p.startswith(_NON_HAN) else p[:1] for p in parts]
    return _clean(full)[:400], _clean(firsts)[:100]


def pinyin_of(text: str) -> str:
    return search_keys(text or "")[0]


def initials_of(text: str) -> str:
    return search_keys(text or "")[1]


def kind_clause(kinds):
    """Orgs of any of ``kinds``, by their kind or a further kind (兼属类别)."""
    tagged = exists().where(OrgKindTag.org_id == Org.id, OrgKindTag.kind.in_(kinds))
    return or_(Org.kind.in_(kinds), tagged)


def normalize_query(q: str | None) -> str:
    return " ".join((q or "").split())[:100]


def visible_clause(user=None):
    """Orgs a user may pick: active ones, plus pending ones the user created."""
    clause = Org.status == ORG_ACTIVE
    uid = getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None
    if uid is not None:
        clause = or_(clause, and_(Org.status == ORG_PENDING, Org.created_by_id == uid))
    return clause


#: Rows ranked in Python per search (pre-ordered in SQL: exact, prefix, shortest first).
CANDIDATES = 120


@dataclass
class Hit:
    org: Org
    rank: int  # 0 exact, 1 prefix, 2 substring
    matched_alias: str | None = None


def search_orgs(q: str | None, user=None, kinds: list[str] | None = None,
                limit: int = 10) -> list[Hit]:
    q = normalize_query(q)
    if not q:
        return []
    ql = q.lower()
    like = f"%{_escape(ql)}%"
    alias_match = [func.lower(OrgAlias.name).like(like, escape="\\")]
    name_conds = [func.lower(Org.name).like(like, escape="\\")]
    key = ql.replace(" ", "")
    if _ASCII_QUERY.match(ql) and key:
        kl = _escape(key)
        name_conds += [Org.initials.like(f"%{kl}%", escape="\\"),
                       Org.pinyin.like(f"{kl}%", escape="\\")]
        alias_match += [OrgAlias.initials.like(f"%{kl}%", escape="\\"),
                        OrgAlias.pinyin.like(f"{kl}%", escape="\\")]
    alias_exists = exists().where(OrgAlias.org_id == Org.id, or_(*alias_match))
    stmt = select(Org).where(visible_clause(user), or_(*name_conds, alias_exists))
    if kinds:
        stmt = stmt.where(kind_clause(kinds))
    # With thousands of generated 科协 a short query ("科协") matches most of the
    # library: take the likely best candidates (exact, prefix, shortest names) first.
    lower = func.lower(Org.name)
    rough = case((lower == ql, 0), (lower.like(_escape(ql) + "%", escape="\\"), 1), else_=2)
    stmt = stmt.options(selectinload(Org.aliases)).order_by(rough, func.length(Org.name), Org.id)
    candidates = list(db.session.scalars(stmt.limit(CANDIDATES)))
    hits = [_score(o, ql, key) for o in candidates]
    hits = [h for h in hits if h is not None]
    hits.sort(key=lambda h: (h.rank, not h.org.certified, len(h.org.name), h.org.pinyin,
                             h.org.id))
    return hits[:limit]


def _score(org: Org, ql: str, key: str) -> Hit | None:
    best: Hit | None = None

    def consider(rank: int, alias: str | None):
        nonlocal best
        if best is None or rank < best.rank:
            best = Hit(org, rank, alias)

    names = [(org.name, org.pinyin, org.initials, None)] + [
        (a.name, a.pinyin, a.initials, a.name) for a in org.aliases]
    ascii_q = bool(_ASCII_QUERY.match(ql)) and bool(key)
    for text, py, ini, alias in names:
        tl = text.lower()
        if tl == ql:
            consider(0, alias)
        elif tl.startswith(ql):
            consider(1, alias)
        elif ql in tl:
            consider(2, alias)
        if ascii_q:
            if ini == key or py == key:
                consider(0, alias)
            elif ini.startswith(key) or py.startswith(key):
                consider(1, alias)
            elif key in ini:
                consider(2, alias)
    return best


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
