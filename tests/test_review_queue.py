"""The shared review queue, run for every campaign list that stands on it.

Each ``Adapter`` says how to make an entry of that campaign in a reviewer's scope, and
which URLs and labels its list uses; every test below then runs once per campaign, so
the queue behaves the same way everywhere: search and filters that keep the URL, one
grouped count for the tabs, numbered pages and page size, decisions that swap only
their row, 撤销 right after a decision (audited), bulk actions across pages confirmed
with how many, 上一件 / 下一件 and decide-and-next within the filter, the deadline
banner, and a closed window.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

import pytest
from sqlalchemy import select

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.timeutil import utcnow
from kepu.workflow import AuditLog

HX = {"HX-Request": "true"}


@dataclass
class Adapter:
    name: str
    entity: str                    # audit entity type
    model: type
    list_url: str
    pending: str                   # the state a reviewer decides on
    approved: str                  # after 推荐
    returned: str
    approve_url: Callable[[int], str]
    return_url: Callable[[int], str]
    detail_url: Callable[[int], str]
    bulk_url: str
    row_id: Callable[[int], str]
    make: Callable[..., object] = None   # (title, status, minutes_ago, **kw) -> item
    reviewer: object = None
    owner: object = None
    campaign: Campaign = None
    title_attr: str = "title"
    kind: str = ""

    def reload(self, item_id):
        db.session.expire_all()
        return db.session.get(self.model, item_id)


def _works(make_user) -> Adapter:
    from kepu.works.models import Work

    campaign = Campaign(kind="works", year=2026, title="2026作品征集",
                        settings={"window_open": "2020-01-01 00:00",
                                  "window_close": "2099-12-31 23:59"})
    unit = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    db.session.add_all([campaign, unit])
    db.session.commit()
    reviewer = make_user("13900000201", name="推荐管理员", roles=[("unit_admin", {"org_id": unit.id})])
    owner = make_user("13900000202", name="申报者")

    def make(title, status="pending", minutes_ago=0, **kw):
        at = utcnow() - timedelta(minutes=minutes_ago)
        values = dict(work_type="科普视频", category="前沿科技", intro="简介",
                      author_name="张三", applicant_unit="某单位", unit_address="某地",
                      contact_phone="13912345678", unit_type="省级科协", highlights="亮点")
        values.update(kw)
        w = Work(campaign_id=campaign.id, owner_id=owner.id, status=status, step=3,
                 channel_id=unit.id, title=title, submitted_at=at, updated_at=at, **values)
        db.session.add(w)
        db.session.commit()
        return w

    return Adapter(
        "works", "work", Work, "/works/unit/", "pending", "recommended", "returned",
        approve_url=lambda i: f"/works/{i}/recommend", return_url=lambda i: f"/works/{i}/return",
        detail_url=lambda i: f"/works/{i}/review", bulk_url="/works/unit/bulk",
        row_id=lambda i: f"work-row-{i}", make=make, reviewer=reviewer, owner=owner,
        campaign=campaign, title_attr="title", kind="works")


def _cases(make_user) -> Adapter:
    from kepu.cases.models import Case

    campaign = Campaign(kind="cases", year=2026, title="2026典赞",
                        settings={"window_open": "2020-01-01 00:00",
                                  "window_close": "2099-12-31 23:59",
                                  "quota_per_category": 100, "quota_total": 200})
    unit = Org(name="中国科普作家协会", kind="全国学会")
    db.session.add_all([campaign, unit])
    db.session.commit()
    reviewer = make_user("13900000301", name="案例管理员", roles=[("case_unit", {"org_id": unit.id})])
    owner = make_user("13900000302", name="实施单位")

    def make(title, status="submitted", minutes_ago=0, **kw):
        at = utcnow() - timedelta(minutes=minutes_ago)
        values = dict(impl_unit="某馆", unit_address="某地", contact_name="李四",
                      job_title="馆长", contact_phone="13912340000", email="a@example.com",
                      category="activity", subtype="科普讲座", summary="概述", details="详细")
        values.update(kw)
        c = Case(campaign_id=campaign.id, org_id=unit.id, owner_id=owner.id, status=status,
                 name=title, submitted_at=at, updated_at=at,
                 recommended_at=at if status in ("recommended", "finalised") else None,
                 **values)
        db.session.add(c)
        db.session.commit()
        return c

    return Adapter(
        "cases", "case", Case, "/cases/unit/", "submitted", "recommended", "returned",
        approve_url=lambda i: f"/cases/unit/cases/{i}/recommend",
        return_url=lambda i: f"/cases/unit/cases/{i}/return",
        detail_url=lambda i: f"/cases/unit/cases/{i}", bulk_url="/cases/unit/bulk",
        row_id=lambda i: f"case-row-{i}", make=make, reviewer=reviewer, owner=owner,
        campaign=campaign, title_attr="name", kind="cases")


@pytest.fixture(params=["works", "cases"])
def q(request, app, make_user, client, auth) -> Adapter:
    adapter = {"works": _works, "cases": _cases}[request.param](make_user)
    auth.login_as(adapter.reviewer)
    return adapter


def titles(html: str) -> list[str]:
    return re.findall(r'class="[^"]*review-title"[^>]*>\s*<a href="[^"]*">([^<]+)</a>', html)


def count_of(html: str, label: str) -> int:
    m = re.search(label + r' <span class="queue-count">(\d+)</span>', html)
    assert m, f"no tab {label}"
    return int(m.group(1))


# --- reading -----------------------------------------------------------------------------

def test_search_filters_tabs_and_url(q, client):
    q.make("量子科普", minutes_ago=3)
    q.make("量子计算", minutes_ago=2, status=q.returned)
    q.make("海洋生态", minutes_ago=1)
    html = client.get(q.list_url + "?q=量子").get_data(as_text=True)
    assert titles(html) == ["量子计算", "量子科普"]
    # one grouped count serves the tabs; they follow the search, not the status tab
    assert count_of(html, "全部") == 2 and count_of(html, "退回修改") == 1
    html = client.get(q.list_url + f"?q=量子&status={q.returned}").get_data(as_text=True)
    assert titles(html) == ["量子计算"] and count_of(html, "全部") == 2
    # every link keeps the search
    assert f'href="{q.list_url}?q=%E9%87%8F%E5%AD%90"' in html  # the 全部 tab
    # HTMX: only the results block
    r = client.get(q.list_url + "?q=海洋", headers=HX)
    frag = r.get_data(as_text=True)
    assert frag.lstrip().startswith('<div id="queue-results"') and "<html" not in frag
    assert titles(frag) == ["海洋生态"]
    # controls fire on their own input only
    page = client.get(q.list_url).get_data(as_text=True)
    assert "from:" not in page
    assert 'hx-trigger="input changed delay:300ms, search"' in page


def test_numbered_pages_and_page_size(q, client):
    for i in range(45):
        q.make(f"条目{i:02d}", minutes_ago=100 - i)
    html = client.get(q.list_url).get_data(as_text=True)
    assert len(titles(html)) == 20 and "共 3 页" in html
    assert 'aria-current="page">1</span>' in html
    assert 'aria-label="第 3 页">3</a>' in html
    html = client.get(q.list_url + "?page=3").get_data(as_text=True)
    assert len(titles(html)) == 5 and "第 41–45" in html
    html = client.get(q.list_url + "?per_page=50").get_data(as_text=True)
    assert len(titles(html)) == 45 and "共 3 页" not in html
    html = client.get(q.list_url + "?per_page=7&page=zz").get_data(as_text=True)
    assert len(titles(html)) == 20  # not a page size: ignored


def _statements(client, url: str) -> list[str]:
    from sqlalchemy import event

    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return seen


def test_a_page_costs_the_same_statements_whatever_its_rows(q, client):
    """A list page's statements do not grow with its rows (no per-row lazy loads of a
    relation or of a column the list query left out), on the statements built once
    (the status tabs, sorts) as on the searched ones."""
    urls = (q.list_url, q.list_url + f"?status={q.pending}&sort=title&order=asc",
            q.list_url + "?q=条目", q.list_url + "?per_page=50")
    q.make("条目一号", minutes_ago=90)
    one = {url: _statements(client, url) for url in urls}
    for i in range(24):
        status = (q.pending, q.returned, q.approved)[i % 3]
        extra = {"return_comment": "请补充传播数据"} if q.kind == "works" and \
            status == q.returned else {}
        q.make(f"条目{i:02d}", minutes_ago=i, status=status, **extra)
    for url in urls:
        many = _statements(client, url)
        assert len(many) <= 6, "\n".join(s[:120] for s in many)
        assert len(many) == len(one[url]), "\n".join(s[:120] for s in many)


# --- decisions, undo ----------------------------------------------------------------------

def test_decision_swaps_only_its_row_and_offers_undo(q, client):
    item = q.make("待处理")
    r = client.post(q.approve_url(item.id), data={"view": "row", "qs": "q=待"}, headers=HX)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith(f'<tr id="{q.row_id(item.id)}"')
    assert html.count("<tr ") == 1 and 'id="queue-summary"' in html and "hx-swap-oob" in html
    assert q.reload(item.id).status == q.approved
    assert ">撤销推荐</button>" in html and ">撤销</button>" not in html  # offered once
    undo = re.search(r'hx-post="([^"]+/unrecommend)"', html).group(1)
    assert 'name="qs" value="q=%E5%BE%85"' in html
    r = client.post(undo, data={"view": "row", "qs": "q=待"}, headers=HX)
    assert r.status_code == 200 and q.reload(item.id).status == q.pending
    actions = [a.action for a in db.session.scalars(
        select(AuditLog).where(AuditLog.entity_type == q.entity, AuditLog.entity_id == item.id)
        .order_by(AuditLog.id))]
    assert actions == ["recommend", "unrecommend"]


def test_return_can_be_undone_until_the_owner_changes_it(q, client):
    item = q.make("退回再撤销")
    r = client.post(q.return_url(item.id), data={"view": "row", "comment": "请补充"},
                    headers=HX)
    assert r.status_code == 200 and q.reload(item.id).status == q.returned
    undo = re.search(r'hx-post="([^"]+/unreturn)"', r.get_data(as_text=True)).group(1)
    assert client.post(undo, headers=HX).status_code == 200
    assert q.reload(item.id).status == q.pending
    # returned again, then the owner edits (version bumps): no more undo
    client.post(q.return_url(item.id), data={"comment": "再补充"}, headers=HX)
    fresh = q.reload(item.id)
    fresh.version += 1
    db.session.commit()
    r = client.post(undo, headers=HX)
    assert r.status_code == 409 and "不能再撤销退回" in r.get_data(as_text=True)
    assert q.reload(item.id).status == q.returned


def test_search_then_decide_keeps_the_list_state(q, client):
    """The reviewer's search survives a decision (the row answer carries it)."""
    a = q.make("量子甲")
    r = client.get(q.list_url + "?q=量子&order=asc", headers=HX)
    assert 'name="qs" value="q=%E9%87%8F%E5%AD%90&amp;order=asc"' in r.get_data(as_text=True)
    r = client.post(q.approve_url(a.id), data={"qs": "q=量子&order=asc"})
    assert r.status_code == 303
    assert r.headers["Location"].endswith(q.list_url + "?q=%E9%87%8F%E5%AD%90&order=asc")


# --- bulk across pages ---------------------------------------------------------------------

def test_bulk_across_pages_confirms_with_the_count(q, client):
    items = [q.make(f"批量{i:02d}", minutes_ago=60 - i) for i in range(30)]
    ids = [str(i.id) for i in items]
    r = client.post(q.bulk_url, data={"action": "recommend", "ids": ids})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "确认批量推荐 30 " in html
    assert all(q.reload(i.id).status == q.pending for i in items)
    r = client.post(q.bulk_url, data={"action": "recommend", "ids": ids, "confirmed": "1"},
                    follow_redirects=True)
    assert "已推荐 30 " in r.get_data(as_text=True)
    assert all(q.reload(i.id).status == q.approved for i in items)
    # every item of the current filter (scope=all) is confirmed the same way
    more = [q.make(f"全选{i}") for i in range(3)]
    q.make("其他")
    r = client.post(q.bulk_url, data={"action": "recommend", "scope": "all", "qs": "q=全选"})
    assert "确认批量推荐 3 " in r.get_data(as_text=True)
    assert all(q.reload(i.id).status == q.pending for i in more)


# --- detail: neighbours, decide-and-next -------------------------------------------------

def test_detail_prev_next_and_decide_and_next(q, client):
    a = q.make("甲", minutes_ago=3)
    b = q.make("乙", minutes_ago=2)
    c = q.make("丙", minutes_ago=1)
    q.make("不相关", minutes_ago=0, status=q.returned)
    qs = f"status={q.pending}"
    html = client.get(q.detail_url(b.id) + "?" + qs).get_data(as_text=True)
    # newest first: 丙, 乙, 甲
    assert f'href="{q.detail_url(c.id)}?{qs}" data-shortcut="k"' in html
    assert f'href="{q.detail_url(a.id)}?{qs}" data-shortcut="j"' in html
    assert "第 2 / 3 " in html and "推荐并下一件" in html and "<kbd>A</kbd>" in html
    # 推荐并下一件 moves on from where the item was, though it left the filter
    r = client.post(q.approve_url(c.id), data={"view": "detail", "qs": qs, "then": "next"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"{q.detail_url(b.id)}?{qs}")
    r = client.post(q.approve_url(b.id), data={"view": "detail", "qs": qs, "then": "next"},
                    headers=HX)
    assert r.status_code == 204 and r.headers["HX-Redirect"].endswith(f"{q.detail_url(a.id)}?{qs}")
    r = client.post(q.approve_url(a.id), data={"view": "detail", "qs": qs, "then": "next"})
    assert r.headers["Location"].endswith(f"{q.list_url}?{qs}")
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "当前筛选条件下已没有下一件" in html


# --- windows -------------------------------------------------------------------------------

def _close(q, **extra):
    key = "review_close" if q.kind == "works" else "window_close"
    q.campaign.settings = {**q.campaign.settings, key: "2021-01-01 00:00", **extra}
    db.session.commit()


def test_deadline_banner_and_closed_window(q, client):
    item = q.make("截止前")
    soon = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    key = "review_close" if q.kind == "works" else "window_close"
    q.campaign.settings = {**q.campaign.settings, key: soon}
    db.session.commit()
    html = client.get(q.list_url).get_data(as_text=True)
    assert "queue-deadline is-soon" in html and re.search(r"还剩 <strong>[123]</strong> 天", html)
    _close(q)
    html = client.get(q.list_url).get_data(as_text=True)
    assert "queue-deadline is-closed" in html and "（已截止）" in html
    assert q.approve_url(item.id) not in html  # no decisions offered
    r = client.post(q.approve_url(item.id), headers=HX)
    assert r.status_code == 409 and "截止" in r.get_data(as_text=True)
    assert q.reload(item.id).status == q.pending
