"""The public pages' cache (kepu/pagecache.py): anonymous pages are served from the
process's cache until the edition's public version changes (triggers on activity_public
and campaign), never for logged-in visitors or with messages waiting, each visitor with
their own CSRF token."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kepu.extensions import db
from kepu.pagecache import TOKEN_MARK, cache
from kepu.science_day.models import ActivityPublicVersion
from kepu.science_day.operations.listing import delist

from test_public import listing, pub  # noqa: F401

TOKEN = re.compile(r'"X-CSRFToken": "([^"]*)"')


def version(pub) -> int:
    return db.session.scalar(select(ActivityPublicVersion.n).where(
        ActivityPublicVersion.campaign_id == pub.campaign.id)) or 0


def hits() -> int:
    return cache().hits


def test_a_second_anonymous_visit_is_a_hit_with_the_same_page(pub, client):
    pub.make(name="量子科普进社区")
    first = client.get("/science-day/events/?province=11")
    before = hits()
    second = client.get("/science-day/events/?province=11")
    assert hits() == before + 1
    assert second.status_code == 200
    assert TOKEN.sub("", first.get_data(as_text=True)) == TOKEN.sub("", second.get_data(
        as_text=True))
    assert "量子科普进社区" in second.get_data(as_text=True)
    assert second.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("change", ["publish", "delist", "theme"])
def test_every_change_of_what_is_shown_is_seen_at_once(pub, client, change):
    a = pub.make(name="天文观测夜")
    assert listing(client) == ["天文观测夜"]
    assert "提升全民科学素质" in client.get("/science-day/").get_data(as_text=True)
    v = version(pub)
    if change == "publish":
        pub.make(name="机器人编程营", days=20)
        expected = ["机器人编程营", "天文观测夜"]
    elif change == "delist":
        delist(a, pub.national, "信息有误")
        db.session.commit()
        expected = []
    else:
        pub.campaign.settings = {**pub.campaign.settings, "theme": "新的主题"}
        db.session.commit()
        expected = ["天文观测夜"]
    assert version(pub) > v
    assert listing(client) == expected
    home = client.get("/science-day/").get_data(as_text=True)
    assert ("新的主题" in home) == (change == "theme")


def test_detail_page_follows_its_activity(pub, client):
    a = pub.make(name="湿地观鸟")
    url = f"/science-day/events/{a.id}"
    assert client.get(url).status_code == 200
    before = hits()
    assert client.get(url).status_code == 200
    assert hits() == before + 1
    delist(a, pub.national, "信息有误")
    db.session.commit()
    assert client.get(url).status_code == 404
    assert client.get("/science-day/events/999999").status_code == 404


def test_logged_in_visitors_are_never_served_the_cache(pub, client, auth):
    pub.make(name="量子科普进社区")
    client.get("/science-day/events/")
    auth.login_as(pub.officer)
    before = (cache().hits, cache().misses)
    page = client.get("/science-day/events/").get_data(as_text=True)
    assert (cache().hits, cache().misses) == before
    assert "信息员" in page


def test_fragment_and_full_page_are_kept_apart(pub, client):
    pub.make(name="量子科普进社区")
    full = client.get("/science-day/events/?q=量子").get_data(as_text=True)
    part = client.get("/science-day/events/?q=量子",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    again = client.get("/science-day/events/?q=量子").get_data(as_text=True)
    assert "<html" in full and "<html" not in part and "<html" in again


def test_each_visitor_gets_their_own_csrf_token(app, pub):
    from flask import g

    app.config["WTF_CSRF_ENABLED"] = True
    pub.make(name="量子科普进社区")
    one, two = app.test_client(), app.test_client()
    t1 = TOKEN.search(one.get("/science-day/events/").get_data(as_text=True)).group(1)
    # the tests share one app context, where Flask-WTF keeps the request's token
    g.pop("csrf_token", None)
    before = hits()
    page = two.get("/science-day/events/").get_data(as_text=True)
    assert hits() == before + 1
    t2 = TOKEN.search(page).group(1)
    assert t1 and t2 and t1 != t2 and TOKEN_MARK not in page
    # the token in the cached page is valid for its visitor's session
    assert two.post("/account/logout", headers={"X-CSRFToken": t1}).status_code == 400
    assert two.post("/account/logout", headers={"X-CSRFToken": t2}).status_code != 400


def test_entries_expire(pub, client, app, monkeypatch):
    pub.make(name="量子科普进社区")
    client.get("/science-day/events/")
    import kepu.pagecache as pc

    real = pc.time.monotonic
    monkeypatch.setattr(pc.time, "monotonic", lambda: real() + 61)
    before = hits()
    client.get("/science-day/events/")
    assert hits() == before


def test_turned_off_by_config(pub, client, app):
    app.config["PAGE_CACHE_SECONDS"] = 0
    pub.make(name="量子科普进社区")
    client.get("/science-day/events/")
    client.get("/science-day/events/")
    assert cache().hits == 0 and cache().misses == 0


def test_bounded_by_entries_and_bytes():
    from kepu.pagecache import Entry, PageCache

    c = PageCache(max_entries=3, max_bytes=1000)
    for i in range(5):
        c.put((i,), Entry("x" * 10, [], 100.0))
    assert c.get((0,), 0) is None and c.get((4,), 0) is not None
    c.put(("big",), Entry("y" * 400, [], 100.0))      # > max_bytes / 8: not kept
    assert c.get(("big",), 0) is None
    c.put(("a",), Entry("z" * 120, [], 100.0))
    c.put(("b",), Entry("z" * 120, [], 100.0))
    assert sum(len(e.body) for e in c._items.values()) <= 1000
