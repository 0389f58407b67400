"""工作台 (workbench) and the other places where every campaign shows up: the header, the
front door, the admin home and the admin side menu.

No campaign imports another (kepu/works, kepu/cases, later kepu/science_day). Each one
registers here what it contributes, and the shared pages render whatever is registered:

- ``register(provider)``: a workbench provider, ``provider(user) -> list[Card]``; one card
  per thing the person does (提交作品 / 我的作品, 作品推荐, 专家评审 …) with its to-do counts
  (each linking to the filtered list), the edition's deadline and one main button.
- ``register_campaign(CampaignEntry(...))``: the campaign's header link, its front-door
  entry (the current call with its dates and 立即申报), its figures on the admin home and
  its section of the admin side menu.
- ``register_admin_section(...)``: a platform section of the admin side menu (users,
  org library …) that belongs to no campaign.

Counts are grouped counts over indexed columns (one query per card); see the providers
in ``kepu/works/workbench.py``, ``kepu/cases/workbench.py`` and ``kepu/admin/workbench.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable

from flask import current_app, url_for
from werkzeug.routing import BuildError

from .timeutil import to_local, utcnow

# --------------------------------------------------------------------------- cards

#: Count tones: "todo" needs this person's action, "warn" needs it urgently (退回修改),
#: "info" is for orientation only (waiting for someone else, done).
TONES = ("warn", "todo", "info")


@dataclass
class Link:
    label: str
    url: str


@dataclass
class Count:
    label: str
    value: int
    url: str | None = None
    tone: str = "info"

    @property
    def actionable(self) -> bool:
        return self.tone in ("todo", "warn") and self.value > 0


@dataclass
class Deadline:
    """An edition's closing time (naive UTC) as the workbench shows it."""

    label: str
    at: datetime

    def days_left(self, now: datetime | None = None) -> int:
        """Whole Beijing calendar days until the closing day (0: closes today; negative:
        closed that many days ago)."""
        today = to_local(now or utcnow()).date()
        return (to_local(self.at).date() - today).days

    def closed(self, now: datetime | None = None) -> bool:
        return (now or utcnow()) > self.at

    def text(self, now: datetime | None = None) -> str:
        if self.closed(now):
            return "已截止"
        days = self.days_left(now)
        if days <= 0:
            return "今天截止"
        return f"还剩 {days} 天"

    @property
    def urgent(self) -> bool:
        return not self.closed() and self.days_left() <= 7


@dataclass
class Card:
    """One thing a person does on the platform.

    ``role``: the card comes from a grant (unit admin, expert, platform admin …) rather
    than from the person's own entries; role cards come first. ``optional``: an own-entry
    card with nothing in it (e.g. 我的作品 with no works), left out for people who have
    role cards, so a unit admin sees the unit's work first.
    """

    key: str
    title: str
    counts: list[Count] = field(default_factory=list)
    action: Link | None = None
    subtitle: str = ""
    deadline: Deadline | None = None
    links: list[Link] = field(default_factory=list)
    alerts: list[Link] = field(default_factory=list)
    note: str = ""
    role: bool = True
    optional: bool = False
    order: int = 100
    #: A template included inside the card (e.g. the unit's 推荐码 with a copy button),
    #: rendered with ``card`` and ``extra`` in its context.
    extra_template: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def todo(self) -> int:
        return sum(c.value for c in self.counts if c.actionable)


Provider = Callable[[object], Iterable[Card]]

_providers: dict[str, Provider] = {}


def register(provider: Provider, key: str | None = None) -> Provider:
    """Register a workbench provider (idempotent per ``key``, default its qualified name)."""
    _providers[key or f"{provider.__module__}.{provider.__qualname__}"] = provider
    return provider


def cards_for(user) -> list[Card]:
    """The user's workbench: role cards (by ``order``) before own-entry cards (those with
    something to do first); optional own-entry cards only when there is no role card."""
    if not getattr(user, "is_authenticated", False):
        return []
    cards: list[Card] = []
    for provider in list(_providers.values()):
        cards.extend(provider(user) or [])
    role_cards = sorted((c for c in cards if c.role), key=lambda c: (c.order, c.key))
    # own entries: the ones with something to do first, then the rest in campaign order
    own = sorted((c for c in cards if not c.role),
                 key=lambda c: (not c.todo, c.optional, c.order, c.key))
    if role_cards:
        own = [c for c in own if not c.optional]
    return role_cards + own


# --------------------------------------------------------------------------- campaigns

@dataclass
class Call:
    """A campaign's current call on the front door."""

    kind: str
    title: str               # the edition's title
    summary: str
    opens: datetime | None
    closes: datetime | None
    phase: dict  # kepu.editions.window_phase: key open|upcoming|closed, label, message
    apply: Link | None = None
    links: list[Link] = field(default_factory=list)
    #: Contact lines from the edition's settings (业务咨询 / 系统咨询), for the footer.
    contacts: list[str] = field(default_factory=list)
    #: The campaign's name without the year (优质科普作品征集), for the footer.
    label: str = ""

    @property
    def deadline(self) -> "Deadline | None":
        return Deadline("征集截止", self.closes) if self.closes else None


@dataclass
class Figure:
    label: str
    value: int
    url: str | None = None


@dataclass
class FigureGroup:
    """A campaign's figures on the admin home."""

    title: str
    figures: list[Figure]
    url: str | None = None
    note: str = ""


@dataclass
class CampaignEntry:
    kind: str                    # Campaign.kind
    label: str                   # the header link: 作品征集 / 科普日 / 典赞案例
    endpoint: str                # its landing page
    order: int = 100
    summary: str = ""            # one line for the front door when no call is open
    call: Callable[[], Call | None] | None = None
    admin_figures: Callable[[], FigureGroup | None] | None = None
    admin_menu: list[tuple[str, str]] = field(default_factory=list)  # (endpoint, label)
    admin_title: str = ""


_campaigns: dict[str, CampaignEntry] = {}


def register_campaign(entry: CampaignEntry) -> CampaignEntry:
    _campaigns[entry.kind] = entry
    return entry


def campaigns() -> list[CampaignEntry]:
    """Registered campaigns whose landing page exists, in header order."""
    views = current_app.view_functions
    return sorted((c for c in _campaigns.values() if c.endpoint in views),
                  key=lambda c: (c.order, c.kind))


def campaign(kind: str) -> CampaignEntry | None:
    entry = _campaigns.get(kind)
    if entry is None or entry.endpoint not in current_app.view_functions:
        return None
    return entry


def calls() -> dict[str, Call]:
    """kind → the campaign's current call (campaigns without an edition are left out)."""
    out = {}
    for entry in campaigns():
        if entry.call is not None:
            item = entry.call()
            if item is not None:
                item.label = item.label or entry.admin_title or entry.label
                out[entry.kind] = item
    return out


def footer_calls() -> dict[str, Call]:
    """``calls()`` for the footer of every page: an error page must render even when
    the database does not answer, so any failure gives no calls."""
    try:
        return calls()
    except Exception:  # noqa: BLE001 - the footer never takes a page down
        current_app.logger.exception("footer: could not read the current calls")
        return {}


_footer_cache: dict = {}


def footer_contacts() -> list[tuple[str, list[str]]]:
    """(label, contact lines) of each current call, for the footer of every page.

    Contacts come from the editions' settings only, so the answer is kept per process
    under the current editions' ids and settings (read once per request anyway): a page
    does not build every campaign's call — windows, phases, links — for two lines of
    text. An error page must render even when the database does not answer, so any
    failure gives no contacts."""
    import json

    from .editions import editions_of

    try:
        key = tuple((e.kind, e.id, json.dumps(e.settings, sort_keys=True, default=str))
                    for e in (found[0] for found in
                              (editions_of(c.kind) for c in campaigns()) if found))
        cached = _footer_cache.get(key)
        if cached is None:
            cached = [(c.label, list(c.contacts)) for c in calls().values() if c.contacts]
            if len(_footer_cache) > 64:
                _footer_cache.clear()
            _footer_cache[key] = cached
        return cached
    except Exception:  # noqa: BLE001 - the footer never takes a page down
        current_app.logger.exception("footer: could not read the current calls")
        return []


def admin_figures() -> list[FigureGroup]:
    groups = []
    for entry in campaigns():
        if entry.admin_figures is not None:
            group = entry.admin_figures()
            if group is not None:
                groups.append(group)
    return groups


# --------------------------------------------------------------------------- admin menu

@dataclass
class MenuSection:
    title: str
    items: list[tuple[str, str]]   # (endpoint, label)
    order: int = 100
    #: Roles that see the section besides platform admins (e.g. national_admin).
    roles: tuple[str, ...] = ()


_admin_sections: dict[str, MenuSection] = {}


def register_admin_section(key: str, section: MenuSection) -> MenuSection:
    _admin_sections[key] = section
    return section


def admin_menu(user) -> list[tuple[str, list[tuple[str, str]]]]:
    """(section title, [(endpoint, label)]) the user may open, platform sections first,
    then one section per campaign. Only endpoints that exist are listed."""
    if not getattr(user, "is_authenticated", False):
        return []
    views = current_app.view_functions
    sections: list[tuple[int, str, list[tuple[str, str]]]] = []
    for s in _admin_sections.values():
        if user.is_platform_admin or any(user.has_role(r) for r in s.roles):
            items = [(e, label) for e, label in s.items if e in views]
            if items:
                sections.append((s.order, s.title, items))
    if user.is_platform_admin:
        for entry in campaigns():
            items = [(e, label) for e, label in entry.admin_menu if e in views]
            if items:
                sections.append((1000 + entry.order, entry.admin_title or entry.label, items))
    return [(title, items) for _, title, items in sorted(sections, key=lambda s: s[0])]


# --------------------------------------------------------------------------- helpers

def url_or_none(endpoint: str, **values) -> str | None:
    """URL of an endpoint, or None while it does not exist (another campaign's page)."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def deadline_of(settings, label: str = "征集截止") -> Deadline | None:
    """The edition's closing time (``EditionSettings.window_close_at``) as a Deadline."""
    closes = getattr(settings, "window_close_at", None)
    return Deadline(label, closes) if closes else None

