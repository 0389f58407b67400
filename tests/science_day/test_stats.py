"""统计 by scope: exact tables on a small hand-built data set, and every scope sees only
its own numbers (county vs county, province vs province, society vs its 归口)."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timedelta

import pytest

from kepu.admin.models import Campaign
from kepu.extensions import db
from kepu.orgs.models import Org
from kepu.science_day import stats as S
from kepu.science_day.models import Activity
from kepu.workflow import AuditLog


@pytest.fixture
def world(app, make_user):
    campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日", settings={})
    gd = Org(name="广东省科学技术协会", kind="省级科协", region_code="44")
    gz_county = Org(name="广州市白云区科学技术协会", kind="区县科协", region_code="440111",
                    certifications=["全国科普示范县（市、区）"])
    bj = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    society = Org(name="中国科普作家协会", kind="全国学会")
    other_society = Org(name="中国化学会", kind="全国学会")
    base = Org(name="广东科学中心", kind="其他", certifications=["全国科普教育基地"])
    museum = Org(name="北京科学中心", kind="其他",
                 certifications=["免费开放科技馆", "全国科普教育基地"])
    db.session.add_all([campaign, gd, gz_county, bj, society, other_society, base, museum])
    db.session.commit()
    owner = make_user("13900001001", roles=["info_officer"])
    users = {
        "national": make_user("13900001002", roles=["national_admin"]),
        "gd": make_user("13900001003", roles=[("provincial_admin", {"region_code": "44"})]),
        "bj": make_user("13900001004", roles=[("provincial_admin", {"region_code": "11"})]),
        "baiyun": make_user("13900001005", roles=[("county_admin", {"region_code": "440111"})]),
        "tianhe": make_user("13900001006", roles=[("county_admin", {"region_code": "440106"})]),
        "society": make_user("13900001007", roles=[("society_admin", {"org_id": society.id})]),
        "officer": owner,
        "both": make_user("13900001008", roles=[("provincial_admin", {"region_code": "44"}),
                                                ("society_admin", {"org_id": society.id})]),
    }
    t0 = datetime(2026, 9, 15, 1, 0)   # 09:00 Beijing, 9/15

    def add(status="approved", region="440111", cat="区县科协", org=gz_county, route="44",
            mode="线下", typ="科普讲座", start=t0, hosts=None, **kw):
        a = Activity(campaign_id=campaign.id, owner_id=owner.id, status=status, name="活动",
                     mode=mode, activity_type=typ, start_at=start, region_code=region,
                     supervisor_category=cat, supervisor_org_id=org.id if org else None,
                     route_province=route, hosts=hosts or [{"name": "某馆"}],
                     submitted_at=t0 - timedelta(days=10), **kw)
        db.session.add(a)
        return a

    # 广东: 3 approved in 白云 (one a food-safety one, one starting 9/15 23:30 Beijing =
    # 15:30 UTC, one on 9/16 Beijing = 9/15 16:30 UTC), 1 approved in 天河, 1 pending in 白云
    add(food_safety=True, joint_action=True, joint_action_items=["科普进社区", "科技志愿"],
        decided_at=t0 - timedelta(days=8),
        hosts=[{"id": base.id, "name": "广东科学中心（改名前）"}, {"name": "北京科学中心"}])
    add(start=datetime(2026, 9, 15, 15, 30), mode="线上", typ="科普展览",
        joint_action=True, joint_action_items=["科普进社区"], decided_at=t0 - timedelta(days=6))
    add(start=datetime(2026, 9, 15, 16, 30), youth_festival=True,
        decided_at=t0 - timedelta(days=4), hosts=[{"name": " 广东科学中心 "}])
    add(region="440106", cat="省科协", org=gd, special_action=True,
        special_action_items=["食品安全", "防灾减灾"])
    add(status="province_pending", hosts=[{"id": base.id, "name": "广东科学中心"}])
    # 北京: 1 approved, 1 nationally refused (after the province approved)
    b1 = add(region="110105", cat="省科协", org=bj, route="11",
             hosts=[{"id": museum.id, "name": "北京科学中心"}, {"name": "不认识的单位"}])
    b2 = add(status="national_rejected", region="110105", cat="省科协", org=bj, route="11")
    # society (national only route): 2 approved in 广东 region, 1 national pending
    add(region="440106", cat="全国学会", org=society, route=None, food_safety=True)
    add(region="110105", cat="全国学会", org=society, route=None, mode="线上")
    add(status="national_pending", region="110105", cat="全国学会", org=society, route=None)
    # another society, approved, no region
    add(region=None, cat="全国学会", org=other_society, route=None)
    db.session.commit()
    for a, action in ((b1, "national_approve"), (b2, "national_reject"),
                      (b2, "national_unreject"), (b2, "national_reject")):
        db.session.add(AuditLog(entity_type="activity", entity_id=a.id, action=action))
    db.session.commit()
    return campaign, users, dict(gd=gd, gz_county=gz_county, society=society)


def _tables(campaign, scope, drill=None):
    drill = S.valid_drill(scope, drill)
    return {t.key: t.rows for t in S.build(campaign.id, scope, drill, lambda c: f"L{c}")}


def _scope(user, key=None):
    scopes = S.scopes_of(user)
    return next(s for s in scopes if key is None or s.key == key)


def test_national_tables_exact(world):
    campaign, users, _ = world
    t = _tables(campaign, _scope(users["national"]))
    region = {label: (n, link) for label, n, link in t["region"]}
    # 广东: the province's 4 + the society's one in 天河; 北京: 1 + the society's one
    assert region["广东省"] == (5, "L44")
    assert region["北京市"] == (2, "L11")
    assert region["上海市"] == (0, None)
    assert region[S.UNKNOWN_REGION] == (1, None)
    assert sum(n for _, n, _ in t["region"]) == 8
    # 23:30 Beijing stays on 9/15, 00:30 Beijing is 9/16
    assert t["day"] == [("2026-09-15", 7, None), ("2026-09-16", 1, None)]
    assert t["category"] == [("全国学会", 3, None), ("区县科协", 3, None), ("省科协", 2, None)]
    assert t["mode"] == [("线下", 6, None), ("线上", 2, None)]
    assert t["type"] == [("科普讲座", 7, None), ("科普展览", 1, None)]
    assert t["joint"] == [("科普进社区", 2, None), ("科技志愿", 1, None)]
    assert t["special"] == [("防灾减灾", 1, None), ("食品安全", 1, None)]
    assert t["youth"] == [("纳入", 1, None)]
    assert t["food_safety"] == [("广东省", 1, None), ("全国直审（部委、全国学会归口）", 1, None)]
    assert t["certified_supervisor"] == [
        ("广州市白云区科学技术协会（示范县）", 3, None)]
    # by id (whatever the name typed), else by the name; a pending one never counts
    assert t["certified_host"] == [
        ("北京科学中心（全国科普教育基地、免费开放科技馆）", 2, None),
        ("广东科学中心（全国科普教育基地）", 2, None)]
    orgs = dict((label, n) for label, n, _ in t["supervisor_org"])
    assert orgs == {"广州市白云区科学技术协会": 3, "中国科普作家协会": 2, "广东省科学技术协会": 1,
                    "北京市科学技术协会": 1, "中国化学会": 1}


def test_drill_down_province_city_county(world):
    campaign, users, _ = world
    scope = _scope(users["national"])
    cities = {label: (n, link) for label, n, link in _tables(campaign, scope, "44")["region"]}
    assert cities["广州市"] == (5, "L4401") and cities["深圳市"] == (0, None)
    counties = {label: (n, link) for label, n, link in
                _tables(campaign, scope, "4401")["region"]}
    # counties are the last level: no link further down
    assert counties["白云区"] == (3, None) and counties["天河区"] == (2, None)
    assert sum(n for n, _ in counties.values()) == 5


def test_provincial_admin_sees_only_their_province(world):
    campaign, users, _ = world
    scope = _scope(users["gd"])
    assert [s.key for s in S.scopes_of(users["gd"])] == ["p:44"]
    t = _tables(campaign, scope)
    # the province's own route only: 4 approved (the society's 广东 activity is national-only)
    assert [r for r in t["region"] if r[1]] == [("广州市", 4, "L4401")]
    assert t["food_safety"] == [("广东省", 1, None)]
    assert t["certified_host"] == [("广东科学中心（全国科普教育基地）", 2, None),
                                   ("北京科学中心（全国科普教育基地、免费开放科技馆）", 1, None)]
    # a 北京 region cannot be drilled into: falls back to the province
    assert S.valid_drill(scope, "11") == "44" and S.valid_drill(scope, "110105") == "44"
    bj = _tables(campaign, _scope(users["bj"]))
    # 北京 (a 直辖市: districts directly): its own approved one; the refused one never counts
    assert [r for r in bj["region"] if r[1]] == [("朝阳区", 1, None)]
    assert bj["mode"] == [("线下", 1, None)]


def test_county_admin_never_sees_another_county(world):
    campaign, users, _ = world
    baiyun = _tables(campaign, _scope(users["baiyun"]))
    tianhe = _tables(campaign, _scope(users["tianhe"]))
    # 白云 approved: three 区县科协 ones; 天河: 广东省科协's one and the society's one
    assert baiyun["region"] == [("白云区", 3, None)]   # the last level: itself
    assert baiyun["category"] == [("区县科协", 3, None)]
    assert baiyun["day"] == [("2026-09-15", 2, None), ("2026-09-16", 1, None)]
    assert baiyun["mode"] == [("线下", 2, None), ("线上", 1, None)]
    assert tianhe["mode"] == [("线下", 2, None)]
    assert tianhe["category"] == [("全国学会", 1, None), ("省科协", 1, None)]
    assert S.valid_drill(_scope(users["baiyun"]), "440106") == "440111"


def test_society_admin_sees_only_its_guikou(world):
    campaign, users, orgs = world
    scope = _scope(users["society"])
    assert scope.key == f"o:{orgs['society'].id}"
    t = _tables(campaign, scope)
    assert dict((l, n) for l, n, _ in t["supervisor_org"]) == {"中国科普作家协会": 2}
    assert t["mode"] == [("线上", 1, None), ("线下", 1, None)]
    assert t["food_safety"] == [("全国直审（部委、全国学会归口）", 1, None)]
    review = S.review_stats(campaign.id, scope)
    assert (review.pending_province, review.pending_national) == (0, 1)


def test_review_stats(world):
    campaign, users, _ = world
    review = S.review_stats(campaign.id, _scope(users["national"]))
    assert (review.pending_province, review.pending_national) == (1, 1)
    assert review.decided == 3 and review.median_hours == 4 * 24
    # 北京: approved 1, rejected 2 - unreject 1 = 1 → 1 of 2
    assert review.overturn == [("北京市", 1, 2)]
    gd = S.review_stats(campaign.id, _scope(users["gd"]))
    assert (gd.pending_province, gd.pending_national, gd.overturn) == (1, 0, [])


def test_page_and_export(client, auth, world):
    campaign, users, _ = world
    auth.login_as(users["national"])
    resp = client.get("/science-day/stats/")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "<svg" in html and "stats-chart-bar" in html
    assert 'href="/science-day/stats/?region=44#stats-region"' in html
    assert "<script" not in html.split("<main", 1)[-1].split("</main>", 1)[0]
    resp = client.get("/science-day/stats/?region=4401")
    html = resp.get_data(as_text=True)
    assert "广东省广州市" in html and "白云区" in html
    resp = client.get("/science-day/stats/export.xlsx?table=mode")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    sheet = zipfile.ZipFile(io.BytesIO(resp.data)).read("xl/worksheets/sheet1.xml").decode()
    for text in ("活动方式", "线下", "<v>6<", "线上", "<v>2<", "合计", "<v>8<"):
        assert text in sheet, text
    resp = client.get("/science-day/stats/export.xlsx?table=review")
    sheet = zipfile.ZipFile(io.BytesIO(resp.data)).read("xl/worksheets/sheet1.xml").decode()
    assert "北京市" in sheet and "50.0%" in sheet
    assert client.get("/science-day/stats/export.xlsx?table=nope").status_code == 404
    # the hosts table is counted like the others (activity_stat), on the page at once
    html = client.get("/science-day/stats/").get_data(as_text=True)
    assert "广东科学中心（全国科普教育基地）" in html and "统计此表" not in html
    resp = client.get("/science-day/stats/export.xlsx?table=certified_host")
    sheet = zipfile.ZipFile(io.BytesIO(resp.data)).read("xl/worksheets/sheet1.xml").decode()
    assert "北京科学中心（全国科普教育基地、免费开放科技馆）" in sheet and "<v>4</v>" in sheet


def test_scope_picker_and_foreign_scope(client, auth, world):
    campaign, users, orgs = world
    auth.login_as(users["both"])
    html = client.get("/science-day/stats/").get_data(as_text=True)
    assert 'name="scope"' in html and "中国科普作家协会" in html
    assert client.get(f"/science-day/stats/?scope=o:{orgs['society'].id}").status_code == 200
    assert client.get("/science-day/stats/?scope=p:11").status_code == 404
    assert client.get("/science-day/stats/?scope=national").status_code == 404
    assert client.get("/science-day/stats/export.xlsx?table=mode&scope=p:11").status_code == 404
    auth.login_as(users["gd"])
    # a region outside the province is ignored (the province's own table is shown)
    html = client.get("/science-day/stats/?region=11").get_data(as_text=True)
    assert "按地区：广东省" in html and "北京" not in html.split('id="stats-region"')[1].split("</section>")[0]


def test_unreadable_values_do_not_break_the_page(client, auth, world):
    campaign, users, _ = world
    a = db.session.query(Activity).filter_by(status="approved").first()
    a.joint_action, a.joint_action_items = True, {"bad": 1}
    a.region_code = "99xx"
    db.session.commit()
    auth.login_as(users["national"])
    assert client.get("/science-day/stats/").status_code == 200
    assert client.get("/science-day/stats/?region=zz%25").status_code == 200


def test_no_scope_is_404(client, auth, world):
    _, users, _ = world
    auth.login_as(users["officer"])
    assert client.get("/science-day/stats/").status_code == 404
    assert client.get("/science-day/stats/export.xlsx?table=mode").status_code == 404


def test_admin_cards_link_to_the_statistics(app, world):
    from kepu.science_day.workbench import cards

    _, users, _ = world
    with app.test_request_context("/workbench"):
        for role in ("national", "gd", "baiyun", "society"):
            role_cards = [c for c in cards(users[role]) if c.role]
            assert role_cards, role
            assert all(any(link.url == "/science-day/stats/" for link in c.links)
                       for c in role_cards), role
        # the officer's own card has no statistics link (the page is 404 for them)
        own = cards(users["officer"])
        assert not any(link.url == "/science-day/stats/" for c in own for link in c.links)


def _plan(statement, parameters) -> str:
    conn = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        return " | ".join(str(r[-1]) for r in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, parameters).all())
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return " | ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement,
                                                         parameters).all())


@pytest.mark.parametrize("kind,value,index", [
    ("national", "", "ix_activity_stat_"),
    ("province", "44", "ix_activity_stat_route"),
    ("region", "4401", "ix_activity_stat_region"),
    ("org", None, "ix_activity_stat_org"),
])
def test_statistics_read_activity_stat_on_its_covering_indexes(app, world, kind, value,
                                                               index):
    """Every table and review figure of a scope is a grouped sum over activity_stat on
    a covering index (the scope's own when grouped by value) (SQLite: EXPLAIN QUERY
    PLAN says COVERING INDEX and no scan; PostgreSQL: no sequential scan with seqscan
    off); the only reads of
    ``activity`` are a region's or an org's pending counts, on their queue indexes."""
    from sqlalchemy import event

    campaign, _, orgs = world
    value = str(orgs["society"].id) if value is None else value
    seen: list[tuple[str, tuple]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and (
                "activity_stat" in statement or re.search(r"FROM activity\b(?!_)", statement)):
            seen.append((statement, parameters))

    scope = S.Scope("x", kind, value, "")
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        S.build(campaign.id, scope, scope.region_root, lambda c: None)
        S.review_stats(campaign.id, scope)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    stat = [x for x in seen if "FROM activity_stat" in x[0]]
    # region, day, category, org, mode, type, 2 × (flag, items), youth, food safety,
    # 示范县, hosts, decision time, overturn
    assert len(stat) == 16, [x[0][:80] for x in stat]
    activity = [x for x in seen if "FROM activity_stat" not in x[0]]
    assert len(activity) == (1 if kind in ("region", "org") else 0)
    sqlite = db.engine.dialect.name == "sqlite"
    for statement, params in stat:
        plan = _plan(statement, params)
        if sqlite:
            # grouped by value: the scope's own index; grouped by another key column
            # (a province's regions, a region's orgs …) SQLite may walk that column's
            # index instead (a dimension's few thousand key rows) — never the table
            wanted = index if "GROUP BY activity_stat.value" in statement \
                else "ix_activity_stat_"
            assert f"USING COVERING INDEX {wanted}" in plan, (statement, plan)
        else:
            assert "Seq Scan" not in plan and "activity_stat" in plan, (statement, plan)
    for statement, params in activity:
        plan = _plan(statement, params)
        queue = "ix_activity_queue_region" if kind == "region" else \
            "ix_activity_queue_supervisor"
        if sqlite:
            assert f"COVERING INDEX {queue}" in plan, plan
        else:       # PostgreSQL picks among the queue indexes by its statistics
            assert "Seq Scan" not in plan and "ix_activity_queue_" in plan, plan


def _stat_rows():
    from kepu.science_day.stats_tally import ActivityStat

    return {(r.campaign_id, r.dim, r.route_key, r.region_code, r.org_id, r.value): r.n
            for r in db.session.query(ActivityStat) if r.n}


def test_trigger_kept_counts_equal_a_recount(world):
    """activity_stat after inserts, approvals, edits of counted columns, withdrawals,
    decisions and deletes equals a recount from scratch (stats_tally.refill)."""
    from kepu.science_day.stats_tally import refill

    campaign, users, orgs = world
    acts = db.session.query(Activity).order_by(Activity.id).all()
    kept = _stat_rows()
    assert kept, "the fixture's approved activities are counted"
    # approve a pending one, edit an approved one's counted columns, withdraw another
    pending = next(a for a in acts if a.status == "province_pending")
    pending.status, pending.decided_at = "approved", pending.submitted_at + timedelta(hours=5)
    edited = acts[0]
    edited.mode, edited.region_code, edited.start_at = "线上", "440106", datetime(2026, 9, 20)
    edited.joint_action_items = ["科技志愿", "科技志愿", " 新项目 ", 7, None, {"x": 1}]
    edited.hosts = [{"id": orgs["society"].id, "name": "x"}, {"name": "  某馆 "}, "bad"]
    withdrawn = next(a for a in acts if a.status == "approved" and a.youth_festival)
    withdrawn.status, withdrawn.decided_at = "province_pending", None
    db.session.commit()
    # (a deleted activity leaves the approved and decision-time counts; the national
    # decisions logged on it stay counted, as the audit log keeps them)
    db.session.delete(acts[1])
    db.session.add(AuditLog(entity_type="activity", entity_id=acts[0].id,
                            action="national_unapprove"))
    db.session.commit()
    kept = _stat_rows()
    refill(db.session.connection())
    assert kept == _stat_rows()
    by_dim = {}
    for (_, dim, *_rest, value), n in kept.items():
        if "/" in dim and not dim.endswith("/n"):
            continue          # the route / region / org copies of the national rows
        dim = dim.removesuffix("/n")
        by_dim.setdefault(dim, {}).setdefault(value, 0)
        by_dim[dim][value] += n
    # each by-value row is there once per key: the country, the route, region and org
    for key in ("/r", "/g", "/o"):
        assert sum(n for k, n in kept.items() if k[1] == "mode" + key) == \
            sum(n for k, n in kept.items() if k[1] == "mode/n") == by_dim["all"][""]
    assert "youth" not in by_dim          # the only 青少年科学节 one was withdrawn
    assert by_dim["overturn"] == {"national_approve": 1, "national_reject": 2,
                                  "national_unreject": 1, "national_unapprove": 1}
    assert by_dim["joint_item"]["新项目"] == 1 and by_dim["joint_item"]["7"] == 1
    assert by_dim["joint_item"]["科技志愿"] == 1     # twice in one activity: once
    assert by_dim["host"]["name:某馆"] >= 2          # the fixture's 某馆 hosts + the edit


def test_review_stats_follow_decisions(world):
    campaign, users, _ = world
    a = db.session.query(Activity).filter_by(status="province_pending").one()
    a.status, a.decided_at = "province_rejected", a.submitted_at + timedelta(days=1)
    db.session.commit()
    review = S.review_stats(campaign.id, _scope(users["national"]))
    # spans 1, 2, 4, 6 days → the median is 3 days
    assert review.decided == 4 and review.median_hours == 3 * 24
    assert review.pending_province == 0
    baiyun = S.review_stats(campaign.id, _scope(users["baiyun"]))
    assert baiyun.decided == 4 and baiyun.median_hours == 3 * 24
    tianhe = S.review_stats(campaign.id, _scope(users["tianhe"]))
    assert tianhe.decided == 0 and tianhe.median_hours is None


def test_map_buckets_are_quintiles_of_the_provinces_with_activities():
    from kepu.science_day import stats_map as M

    values = [0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100]     # 10 provinces with any
    bounds = M.breaks(values)
    assert bounds == [2, 4, 6, 8]
    assert [M.bucket_of(v, bounds) for v in values] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert M.legend(values, bounds) == [(1, "1–2"), (2, "3–4"), (3, "5–6"), (4, "7–8"),
                                        (5, "9–100")]
    # one province alone: bucket 5, the legend has only it
    assert M.breaks([0, 7]) == [7, 7, 7, 7] and M.bucket_of(7, [7, 7, 7, 7]) == 1
    assert M.legend([0, 7], [7, 7, 7, 7]) == [(1, "7")]
    assert M.breaks([0, 0]) == [] and M.legend([0, 0], []) == []
    # every province of the region list has a tile, plus 台湾; 34 in all, no overlaps
    from kepu.orgs import regions

    assert {p.code for p in regions.provinces()} | {"71"} == set(M.TILES)
    assert len({(c, r) for c, r, _ in M.TILES.values()}) == len(M.TILES) == 34


def test_national_page_map_against_the_fixture(client, auth, world):
    campaign, users, _ = world
    auth.login_as(users["national"])
    html = client.get("/science-day/stats/").get_data(as_text=True)
    assert 'class="stats-map"' in html and "style=" not in html.split("<main", 1)[1]
    tile = html.split('id="map-tile-44"', 1)[1].split("</a>", 1)[0]
    # 广东 5 and 北京 2 are the only provinces with any: quintile bounds [2, 2, 5, 5]
    assert "<title>广东省：已通过活动 5 项</title>" in tile and ">5</text>" in tile
    assert 'class="stats-map-tile map-b3" href="/science-day/stats/?region=44#stats-region"' \
        in html
    assert 'class="stats-map-tile map-b1" href="/science-day/stats/?region=11#stats-region"' \
        in html
    assert 'class="stats-map-tile map-b0" href="/science-day/stats/?region=31#stats-region"' \
        in html
    for code in ("71", "81", "82"):      # 港澳台: no data, no link
        assert f'<g class="stats-map-tile map-nodata" id="map-tile-{code}">' in html
    assert "<title>台湾省：暂无数据</title>" in html
    assert html.count('class="stats-map-tile') == 34
    # the drill link leads to the province's cities
    html = client.get("/science-day/stats/?region=44").get_data(as_text=True)
    assert "按地区：广东省" in html and 'class="stats-map"' not in html
    # a provincial admin sees their cities' table, no map
    auth.login_as(users["gd"])
    assert 'class="stats-map"' not in client.get("/science-day/stats/").get_data(as_text=True)
