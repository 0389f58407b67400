#!/usr/bin/env python
"""全国科普日 at national scale: the public activity list and the review lists over a
million activities, side by side with a bare baseline.

Data (default 1,000,000 activities of one edition): all 31 provinces and the 兵团, a
third of them in one province (广东, route 44); 归口 to the provincial / city / county
科协 of their province (a tenth to 全国学会 / 有关部委, national review only); 3,000+
host organisations (city × kind: 科技馆, 中学, 图书馆 …; one in five certified);
names of 12–40 characters built from topic words (``量子科技`` is in about one name in
forty), 活动详情 of 150–400 characters; 82 % 已通过 (with their ``activity_public``
rows: the public list holds ~820,000), the rest in review or returned. The schema is
built with the project's migrations (the indexes, triggers and FTS table that ship);
rows are bulk-loaded with ``executemany`` with the indexes and triggers dropped, then
the indexes are created again, the FTS index rebuilt and the tallies computed in one
``INSERT … SELECT`` each, and the triggers put back. The database is cached under
``/tmp/kepu-bench-cache`` keyed by the parameters and the migrations, and copied for a
run (``--rebuild`` builds it again).

Measured, for every page of ``PAGES``:
1. in-process (Flask test client, server time): median and p95 over ``--runs``
   requests, pages interleaved, and the SQL statements per request;
2. under load: kepu and ``bench/baseline_app.py`` (sqlite3 + one Jinja template, the
   same 20 rows, one count(*) and one page query) under the same gunicorn settings
   (``-w 2 -k gthread --threads 8``), ``wrk -c16 -d10s`` each, interleaved, for
   ``--rounds`` rounds: requests/s, latency, the workers' CPU time per request.
3. ``--strategies``: the keyword search strategies compared on the loaded rows
   (bigram FTS5 as shipped, SQLite's trigram tokenizer, a LIKE scan), in-process.

4. the statistics page (issue 13: "every page answers in under a second at 1,000,000
   activities") for the national admin, 广东's admin, 广州's city admin, the 中国科普作家协会
   society admin and the national drill-down to 广州's counties, in-process (no baseline
   serves it; ``--pages stats`` runs only these).

Targets (exit 1 when missed): p95 ≤ 50 ms for every list page, kepu ≥ half the
baseline's requests/s; p95 ≤ 1,000 ms for every statistics page.

    .venv/bin/python bench/science_day.py                        # 1,000,000 activities
    .venv/bin/python bench/science_day.py --activities 100000 --rounds 1
    .venv/bin/python bench/science_day.py --no-wrk --strategies
    .venv/bin/python bench/science_day.py --pages stats --no-wrk     # the statistics pages
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (CACHE_DIR, ROOT, Client, app_config, client_login, cpu_seconds,  # noqa: E402
                      free_port, gunicorn_cmd, loadavg, login_form, migrate,
                      migrations_fingerprint, p95, run_wrk, start_server, wait_idle)


@dataclass(frozen=True)
class ListPage:
    label: str
    who: str | None          # a key of USERS, None: anonymous (the public site)
    path: str
    query: dict = field(default_factory=dict)
    row_re: str = r'id="public-activity-(\d+)"'
    target_ms: float = 50.0        # p95 server time
    baseline: bool = True          # bench/baseline_app.py answers the same URL


    @property
    def url(self) -> str:
        return self.path + ("?" + urlencode(self.query) if self.query else "")


REVIEW_ROW = r'id="activity-row-(\d+)"'
STATS_ROW = r'<td class="num">([\d]+)</td></tr>\s*</tfoot>'   # each table's 合计
PAGES = [
    ListPage("public p1", None, "/science-day/events/"),
    ListPage("public keyword", None, "/science-day/events/", {"q": "量子"}),
    ListPage("public prov+type", None, "/science-day/events/",
             {"province": "44", "type": "科普讲座"}),
    ListPage("public page 2000", None, "/science-day/events/", {"page": 2000}),
    ListPage("province review", "province_admin", "/science-day/review/province/",
             row_re=REVIEW_ROW),
    ListPage("national review", "national_admin", "/science-day/review/national/",
             row_re=REVIEW_ROW),
    # 统计 (issue 13): every statistics page under a second at a million activities
    ListPage("stats national", "national_admin", "/science-day/stats/", row_re=STATS_ROW,
             target_ms=1000.0, baseline=False),
    ListPage("stats 广东", "province_admin", "/science-day/stats/", row_re=STATS_ROW,
             target_ms=1000.0, baseline=False),
    ListPage("stats city 广州", "city_admin", "/science-day/stats/", row_re=STATS_ROW,
             target_ms=1000.0, baseline=False),
    ListPage("stats society", "society_admin", "/science-day/stats/", row_re=STATS_ROW,
             target_ms=1000.0, baseline=False),
    ListPage("stats drill 广州", "national_admin", "/science-day/stats/",
             {"region": "4401"}, row_re=STATS_ROW, target_ms=1000.0, baseline=False),
]
STATS_PAGES = [p for p in PAGES if p.path == "/science-day/stats/"]
TOTAL_RE = re.compile(r"共 <strong>([\d,+]+)</strong>")

PASSWORD = "Bench@2026"
USERS = {
    "province_admin": ("13100000001", "广东省科协审核", ("provincial_admin", "44")),
    "national_admin": ("13100000002", "中国科协审核", ("national_admin", None)),
    "officer": ("13100000003", "信息员", ("info_officer", None)),
    "city_admin": ("13100000004", "广州市科协", ("city_admin", "4401")),
    "society_admin": ("13100000005", "中国科普作家协会", ("society_admin", "society")),
}
BIG_ROUTE = "44"
TARGET_P95_MS = 50.0
TARGET_RATIO = 0.5
DATA_VERSION = 2

TOPICS = ["量子科技", "航天探索", "人工智能", "防灾减灾", "健康生活", "食品安全", "生态环保",
          "节约用水", "垃圾分类", "气象万千", "天文观测", "海洋科普", "湿地保护", "候鸟迁徙",
          "急救知识", "心理健康", "中医药文化", "数字素养", "网络安全", "低碳生活", "新能源汽车",
          "芯片科普", "机器人", "无人机", "科学实验", "地震科普", "消防安全", "交通安全",
          "营养膳食", "科学家精神", "古生物化石", "昆虫世界", "植物王国", "水稻育种", "智慧农业",
          "碳中和", "北斗导航", "深海探测", "核能科普", "青少年编程"]
FORMATS = ["科普讲座", "主题展览", "开放日", "互动体验", "知识竞赛", "研学活动", "进社区",
           "进校园", "云直播", "科普大篷车"]
ORG_KINDS = ["科技馆", "第一中学", "实验小学", "图书馆", "气象局", "疾病预防控制中心",
             "科普教育基地", "青少年活动中心", "人民医院", "科学技术协会"]
PHRASES = ["邀请专家现场讲解", "设置互动体验区", "面向社区居民开放", "组织青少年动手实验",
           "展示最新科技成果", "结合生活实际讲解科学原理", "发放科普宣传资料", "开展有奖知识问答",
           "线上同步直播", "弘扬科学家精神", "普及防灾减灾知识", "引导公众崇尚科学"]
STATES = (["approved"] * 82 + ["national_pending"] * 6 + ["province_pending"] * 6
          + ["province_rejected"] * 3 + ["national_rejected"] * 3)


# --------------------------------------------------------------------------- data

def _text(rng, n: int) -> str:
    out, size = [], 0
    while size < n:
        s = rng.choice(PHRASES) + rng.choice("，。；")
        out.append(s)
        size += len(s)
    return "".join(out)[:n]


def regions_plan():
    """(route key, province code, [county-level codes]) for the 31 provinces and the 兵团."""
    from kepu.orgs import regions

    plan = []
    for p in regions.provinces():
        if p.code in ("71", "81", "82"):     # 台湾, 香港, 澳门: no 科协 route here
            continue
        codes = []
        for c in regions.children(p.code):
            kids = regions.children(c.code)
            codes += [k.code for k in kids] or [c.code]
        bingtuan = [c for c in codes if c.startswith("659")]
        plan.append((p.code, p.code, [c for c in codes if not c.startswith("659")] or codes))
        if bingtuan:
            plan.append(("659", p.code, bingtuan))
    return plan


def cache_key(n: int) -> str:
    raw = json.dumps({"n": n, "data": DATA_VERSION, "migrations": migrations_fingerprint()},
                     sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _dt(v: datetime) -> str:
    return v.isoformat(" ", "microseconds")


def create_people(app, plan) -> dict:
    """The edition, the 科协 per route, 3,000+ host organisations, the accounts."""
    from kepu.accounts.models import Grant, User
    from kepu.admin.models import Campaign
    from kepu.extensions import db
    from kepu.orgs import regions
    from kepu.orgs.models import Org

    rng = random.Random(11)
    with app.app_context():
        campaign = Campaign(kind="science_day", year=2026, title="2026年全国科普日",
                            settings={"theme": "提升全民科学素质，助力科技自立自强"})
        db.session.add(campaign)
        route_orgs = {}
        for key, _p, _codes in plan:
            name = "新疆生产建设兵团科学技术协会" if key == "659" else \
                regions.name(key) + "科学技术协会"
            route_orgs[key] = Org(name=name, kind="省级科协", region_code=key,
                                  certifications=[])
        society = Org(name="中国科普作家协会", kind="全国学会")
        # 归口 to a city or county 科协: one org per city and county (one county in ten
        # a 全国科普示范县, one in twenty a 创建单位) — what the 归口 tables group by
        local_orgs = {}
        for key, _p, codes in plan:
            for code in sorted({c[:4] for c in codes}) + sorted(codes):
                if code in local_orgs:
                    continue
                certs = []
                if len(code) > 4:
                    x = rng.random()
                    certs = (["全国科普示范县（市、区）"] if x < 0.1 else
                             ["示范县创建单位"] if x < 0.15 else [])
                local_orgs[code] = Org(name=(regions.full_name(code) or code) + "科学技术协会",
                                       kind="区县科协" if len(code) > 4 else "市级科协",
                                       region_code=code, certifications=certs)
        hosts = []
        for key, _p, codes in plan:
            cities = sorted({c[:4] for c in codes})
            for city in cities:
                cname = regions.name(city) or regions.name(key)
                for kind in ORG_KINDS:
                    certified = ["全国科普教育基地"] if rng.random() < 0.2 else []
                    if kind == "科技馆" and rng.random() < 0.5:
                        certified.append("免费开放科技馆")
                    hosts.append(Org(name=f"{cname}{kind}", kind="其他", region_code=city,
                                     certifications=certified))
        db.session.add_all([*route_orgs.values(), society, *local_orgs.values(), *hosts])
        db.session.flush()
        users = {}
        for key, (phone, name, (role, region)) in USERS.items():
            u = User(phone=phone, name=name)
            u.set_password(PASSWORD)
            db.session.add(u)
            db.session.flush()
            if region == "society":
                db.session.add(Grant(user_id=u.id, role=role, org_id=society.id))
            else:
                db.session.add(Grant(user_id=u.id, role=role, region_code=region))
            users[key] = u.id
        db.session.commit()
        out = {"campaign": campaign.id, "owner": users["officer"],
               "route_orgs": {k: o.id for k, o in route_orgs.items()}, "society": society.id,
               "local_orgs": {k: o.id for k, o in local_orgs.items()},
               "hosts": [(o.id, o.name, o.region_code, o.certifications) for o in hosts]}
        db.engine.dispose()
    return out


def generate(n: int, people: dict, plan):
    """(activity row tuple, public row tuple or None) for n activities."""
    from kepu.orgs import regions
    from kepu.science_day.operations.search import bigrams

    rng = random.Random(7)
    others = [p for p in plan if p[0] != BIG_ROUTE]
    big = next(p for p in plan if p[0] == BIG_ROUTE)
    hosts_by_city: dict[str, list] = {}
    for h in people["hosts"]:
        hosts_by_city.setdefault(h[2], []).append(h)
    all_hosts = people["hosts"]
    start = datetime(2026, 8, 15, 1, 0)
    submitted0 = datetime(2026, 8, 1)
    place_cache: dict[str, str] = {}
    for i in range(n):
        route, _prov, codes = big if i % 3 == 0 else others[i % len(others)]
        region = rng.choice(codes)
        national = rng.random() < 0.1
        category = rng.choice(["有关部委", "全国学会"]) if national else \
            rng.choice(["省科协", "市科协", "区县科协"])
        sup = people["society"] if national else (
            people["local_orgs"].get(region) if category == "区县科协" else
            people["local_orgs"].get(region[:4]) if category == "市科协" else None) \
            or people["route_orgs"][route]
        status = rng.choice(STATES)
        if national and status.startswith("province"):
            status = "national_pending"
        topic = rng.choice(TOPICS)
        place = place_cache.get(region)
        if place is None:
            place = place_cache[region] = regions.full_name(region)
        city_name = regions.name(region[:4]) or regions.name(region)
        name = f"{city_name}{topic}{rng.choice(FORMATS)}"
        if rng.random() < 0.5:
            name = f"2026年全国科普日·{name}"
        local = hosts_by_city.get(region[:4]) or all_hosts
        picked = rng.sample(local, k=min(len(local), rng.randint(1, 3)))
        hosts = [{"id": h[0], "name": h[1]} for h in picked]
        s_at = start + timedelta(minutes=rng.randint(0, 46 * 24 * 60))
        e_at = s_at + timedelta(hours=rng.choice([2, 3, 4, 8, 24, 72]))
        sub = submitted0 + timedelta(seconds=4 * i)
        details = _text(rng, rng.randint(150, 400))
        mode = rng.choice(["线上", "线下", "线下", "线上线下"])
        kind = rng.choice(["科普讲座", "科普展览", "科学实验与体验", "科技馆/基地开放", "科普竞赛",
                           "科普表演", "科普影视", "科普研学", "网络科普", "其他"])
        approved = status == "approved"
        # decided (the last decision): all but the ones waiting for the province
        decided = None if status == "province_pending" else \
            sub + timedelta(minutes=rng.randint(30, 14 * 24 * 60))
        activity = {
            "id": i + 1, "campaign_id": people["campaign"], "owner_id": people["owner"],
            "status": status, "version": rng.randint(2, 12), "name": name, "mode": mode,
            "activity_type": kind, "start_at": _dt(s_at), "end_at": _dt(e_at),
            "region_code": region, "supervisor_category": category,
            "supervisor_org_id": sup, "route_province": None if national else route,
            "details": details, "audience": "社区居民、中小学生",
            "hosts": json.dumps(hosts, ensure_ascii=False),
            "scientists": json.dumps([{"name": "王研究员", "unit": "某研究所",
                                       "title": "研究员"}], ensure_ascii=False),
            "contact_name": "联系人", "contact_phone": f"0{rng.randint(10, 999)}-{i % 10**8:08d}",
            "filer_unit": picked[0][1], "submitted_at": _dt(sub),
            "first_submitted_at": _dt(sub), "approved_at": _dt(decided) if approved else None,
            "decided_at": _dt(decided) if decided else None,
            "reject_reason": "请补充活动联系人。" if status.endswith("rejected") else "",
            "created_at": _dt(sub - timedelta(days=1)), "updated_at": _dt(sub),
        }
        public = None
        if approved:
            p, c, d = regions.split(region)
            host_names = "、".join(h["name"] for h in hosts)
            data = {"details": details, "audience": "社区居民、中小学生", "place": place,
                    "region_code": region,
                    "hosts": [{"id": h[0], "name": h[1], "certified": h[3]} for h in picked],
                    "organisers": [], "scientists": [{"name": "王研究员", "unit": "某研究所",
                                                      "title": "研究员"}],
                    "contact_name": "联系人", "contact_phone": activity["contact_phone"],
                    "booking_url": "", "image_ids": []}
            public = {
                "activity_id": i + 1, "campaign_id": people["campaign"], "listed": 1,
                "name": name, "mode": mode, "activity_type": kind,
                "start_at": activity["start_at"], "end_at": activity["end_at"],
                "province_code": p, "city_code": c, "county_code": d,
                "host_names": host_names, "poster_file_id": None,
                "data": json.dumps(data, ensure_ascii=False),
                "approved_at": activity["approved_at"], "updated_at": activity["updated_at"],
                "search_text": bigrams(name, host_names, "", place),
            }
        # the national decision on a provincially approved one (the overturn rate)
        audit = None
        if not national and status in ("approved", "national_rejected"):
            audit = {"id": i + 1, "entity_type": "activity", "entity_id": i + 1,
                     "action": "national_approve" if approved else "national_reject",
                     "from_state": "national_pending", "to_state": status,
                     "actor_id": None, "comment": "", "data": "{}", "at": _dt(decided)}
        yield activity, public, audit


def _defaults(table) -> dict:
    """Values for the columns a generated row leaves out (the models' defaults)."""
    out = {}
    for c in table.columns:
        if c.primary_key:
            continue
        d = None
        if c.default is not None:
            d = c.default.arg(None) if c.default.is_callable else c.default.arg
        if isinstance(d, (list, dict)):
            d = json.dumps(d)
        elif isinstance(d, bool):
            d = int(d)
        elif isinstance(d, datetime):
            d = _dt(d)
        out[c.name] = d if d is not None or c.nullable else ""
    return out


def build_sqlite(path: Path, n: int) -> None:
    from kepu import create_app
    from kepu.science_day.models import Activity, ActivityPublic
    from kepu.science_day.stats_tally import fill_all
    from kepu.workflow import AuditLog

    tmp = Path(tempfile.mkdtemp(prefix="kepu-bench-sd-"))
    building = path.with_suffix(".building")
    building.unlink(missing_ok=True)
    try:
        app = create_app(app_config(f"sqlite:///{building}", tmp))
        migrate(app)
        plan = regions_plan()
        people = create_people(app, plan)
        conn = sqlite3.connect(building)
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-400000")
        saved = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
            "AND tbl_name IN ('activity', 'activity_public', 'audit_log') AND sql IS NOT NULL"
        ).fetchall()
        for kind, name, _sql in saved:
            conn.execute(f"DROP {kind.upper()} {name}")
        tables = {"activity": Activity.__table__, "activity_public": ActivityPublic.__table__,
                  "audit_log": AuditLog.__table__}
        cols = {}
        defaults = {}
        for tname, table in tables.items():
            defaults[tname] = _defaults(table)
            cols[tname] = [c.name for c in table.columns]
        sql = {t: f"INSERT INTO {t} ({', '.join(cols[t])}) VALUES "
                  f"({', '.join('?' * len(cols[t]))})" for t in tables}
        batch = {"activity": [], "activity_public": [], "audit_log": []}
        t0 = time.perf_counter()

        def flush():
            for t, rows in batch.items():
                if rows:
                    conn.executemany(sql[t], rows)
                    rows.clear()

        for i, (a, p, log) in enumerate(generate(n, people, plan), 1):
            row = {**defaults["activity"], **a}
            batch["activity"].append([row[c] for c in cols["activity"]])
            if p:
                row = {**defaults["activity_public"], **p}
                batch["activity_public"].append([row[c] for c in cols["activity_public"]])
            if log:
                row = {**defaults["audit_log"], **log}
                batch["audit_log"].append([row[c] for c in cols["audit_log"]])
            if i % 20000 == 0:
                flush()
                if i % 200000 == 0:
                    print(f"  {i:,} rows in {time.perf_counter() - t0:.0f} s", flush=True)
        flush()
        conn.commit()
        print(f"  rows loaded in {time.perf_counter() - t0:.0f} s; indexes, FTS, tallies …",
              flush=True)
        for kind, _name, stmt in saved:
            if kind == "index":
                conn.execute(stmt)
        conn.execute("INSERT INTO activity_public_fts (activity_public_fts) VALUES ('rebuild')")
        conn.execute("DELETE FROM activity_tally")
        conn.execute(
            "INSERT INTO activity_tally (campaign_id, route_key, status, n) "
            "SELECT campaign_id, coalesce(route_province, ''), status, count(*) FROM activity "
            "GROUP BY campaign_id, coalesce(route_province, ''), status")
        conn.execute("DELETE FROM activity_public_tally")
        conn.execute(
            "INSERT INTO activity_public_tally (campaign_id, province_code, activity_type, "
            "mode, n) SELECT campaign_id, coalesce(province_code, ''), "
            "coalesce(activity_type, ''), coalesce(mode, ''), count(*) FROM activity_public "
            "WHERE listed GROUP BY 1, 2, 3, 4")
        t1 = time.perf_counter()
        conn.execute("DELETE FROM activity_stat")
        for stmt in fill_all("sqlite"):
            conn.execute(stmt)
        print(f"  activity_stat filled in {time.perf_counter() - t1:.0f} s "
              f"({conn.execute('SELECT count(*) FROM activity_stat').fetchone()[0]:,} rows)",
              flush=True)
        for kind, _name, stmt in saved:
            if kind == "trigger":
                conn.execute(stmt)
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        for suffix in ("-wal", "-shm"):
            Path(str(building) + suffix).unlink(missing_ok=True)
        print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
        os.replace(building, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prepare_sqlite(n: int, rebuild: bool, run_dir: Path) -> Path:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    cached = CACHE_DIR / f"science-day-{cache_key(n)}.sqlite3"
    if rebuild or not cached.exists():
        t0 = time.perf_counter()
        print(f"building {cached} ({n:,} activities) …", flush=True)
        build_sqlite(cached, n)
        print(f"built in {time.perf_counter() - t0:.0f} s "
              f"({cached.stat().st_size / 1e6:.0f} MB)", flush=True)
    else:
        print(f"using cached {cached} ({cached.stat().st_size / 1e6:.0f} MB)", flush=True)
    copy = run_dir / "bench.sqlite3"
    shutil.copyfile(cached, copy)
    return copy


# --------------------------------------------------------------------------- in-process

@dataclass
class PageResult:
    page: ListPage
    times_ms: list = field(default_factory=list)
    statements: list = field(default_factory=list)
    total: str = ""
    row_ids: list = field(default_factory=list)
    base_ids: list = field(default_factory=list)
    base_total: str = ""
    wrk_kepu: list = field(default_factory=list)
    wrk_base: list = field(default_factory=list)
    cpu_kepu: list = field(default_factory=list)
    cpu_base: list = field(default_factory=list)


def in_process(database_url: str, run_dir: Path, results: list[PageResult], runs: int,
               page_cache: int | None = None) -> None:
    from flask import g
    from sqlalchemy import event, select

    from kepu import create_app
    from kepu.accounts.models import User
    from kepu.extensions import db

    extra = {} if page_cache is None else {"PAGE_CACHE_SECONDS": page_cache}
    app = create_app(app_config(database_url, run_dir, **extra))
    count = {"n": 0}
    app.before_request_funcs.setdefault(None, []).insert(0, lambda: g.pop("_login_user", None))
    clients = {None: app.test_client()}
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute",
                     lambda *a: count.__setitem__("n", count["n"] + 1))
        for key, (phone, *_rest) in USERS.items():
            user = db.session.scalar(select(User).where(User.phone == phone))
            client = app.test_client()
            client_login(client, user)
            clients[key] = client
        db.session.remove()
    for r in results:
        for _ in range(2):
            resp = clients[r.page.who].get(r.page.url)
        if resp.status_code != 200:
            raise SystemExit(f"{r.page.url} answered {resp.status_code} in-process")
        html = resp.get_data(as_text=True)
        r.row_ids = re.findall(r.page.row_re, html)
        m = TOTAL_RE.search(html)
        # the statistics: the region table's 合计 (approved activities in the scope)
        r.total = m.group(1) if m else (r.row_ids[0] if r.row_ids else "?")
    for _ in range(runs):
        for r in results:
            count["n"] = 0
            t0 = time.perf_counter()
            resp = clients[r.page.who].get(r.page.url)
            r.times_ms.append((time.perf_counter() - t0) * 1000)
            r.statements.append(count["n"])
            assert resp.status_code == 200, (r.page.url, resp.status_code)
    with app.app_context():
        db.engine.dispose()


# --------------------------------------------------------------------------- under load

def under_load(args, database_url: str, db_path: str, run_dir: Path,
               results: list[PageResult]) -> None:
    port_k = free_port(5310, 5319)
    port_b = free_port(port_k + 1, 5319)
    env_k = {"KEPU_DATABASE_URL": database_url, "KEPU_SECRET_KEY": "kepu-bench-science-day-lists",
             "KEPU_SMS_BACKEND": "test", "KEPU_UPLOAD_DIR": str(run_dir / "uploads"),
             "KEPU_INSTANCE_PATH": str(run_dir / "instance")}
    if args.page_cache is not None:
        env_k["KEPU_PAGE_CACHE_SECONDS"] = str(args.page_cache)
    env_b = {"BASELINE_DATABASE": db_path, "BASELINE_SD_ROUTE": BIG_ROUTE}
    kepu = gunicorn_cmd("app:app", port_k, args.workers, args.worker_class, args.threads)
    base = gunicorn_cmd("baseline_app:app", port_b, args.workers, args.worker_class,
                        args.threads, extra=["--pythonpath", str(ROOT / "bench")])
    servers = []
    try:
        servers.append(start_server("kepu", kepu, env_k, run_dir / "kepu.log", "/healthz",
                                    port_k, expect_workers=args.workers))
        servers.append(start_server("baseline", base, env_b, run_dir / "baseline.log",
                                    "/healthz", port_b, expect_workers=args.workers))
        sk, sb = servers
        cookies: dict = {None: None}
        for who in {r.page.who for r in results} - {None}:
            client = Client(port_k)
            login_form(client, USERS[who][0], PASSWORD)
            cookies[who] = client.cookie_header()
        results = [r for r in results if r.page.baseline]
        for r in results:
            c = Client(port_k)
            if cookies[r.page.who]:
                c.cookies = dict(kv.split("=", 1) for kv in cookies[r.page.who].split("; "))
            status, _html, _ = c.get(r.page.url)
            if status != 200:
                raise SystemExit(f"kepu answered {status} for {r.page.url}")
            status, html, _ = Client(port_b).get(r.page.url)
            if status != 200:
                raise SystemExit(f"baseline answered {status} for {r.page.url}")
            r.base_ids = re.findall(r.page.row_re, html)
            m = TOTAL_RE.search(html)
            r.base_total = m.group(1) if m else "?"
        pids_k = [sk.proc.pid, *sk.workers()]
        pids_b = [sb.proc.pid, *sb.workers()]
        for rnd in range(1, args.rounds + 1):
            for r in results:
                for which, server, pids in (("kepu", sk, pids_k), ("baseline", sb, pids_b)):
                    la0 = loadavg()
                    cpu0 = cpu_seconds(pids)
                    res = run_wrk(server.base + r.page.url,
                                  cookies[r.page.who] if which == "kepu" else None,
                                  connections=args.connections, seconds=args.seconds)
                    cpu = ((cpu_seconds(pids) - cpu0) / res.requests * 1000 if res.requests
                           else float("nan"))
                    la1 = loadavg()
                    drained = wait_idle(pids)
                    (r.wrk_kepu if which == "kepu" else r.wrk_base).append(res)
                    (r.cpu_kepu if which == "kepu" else r.cpu_base).append(cpu)
                    problems = []
                    if res.non_2xx:
                        problems.append(f"{res.non_2xx} non-2xx")
                    if res.errors:
                        problems.append(f"socket errors {res.errors}")
                    if drained > 1:
                        problems.append(f"server busy {drained:.0f} s after wrk")
                    print(f"  round {rnd} {r.page.label:17} {which:8} {res.rps:7.1f} req/s  "
                          f"p50 {res.p50_ms:7.1f} ms  p99 {res.p99_ms:7.1f} ms  "
                          f"CPU {cpu:6.1f} ms/req  load {la0} → {la1}"
                          f"{'  ' + ', '.join(problems) if problems else ''}", flush=True)
    finally:
        for s in servers:
            s.stop()


# --------------------------------------------------------------------------- strategies

def strategies(db_path: Path, runs: int) -> None:
    """Keyword search strategies on the loaded public rows, in-process with sqlite3:
    A. bigram FTS5 (shipped): phrase of character pairs, rowid order, PK lookups;
    B. SQLite's trigram tokenizer over the raw text (built here; 2-character queries
       cannot use it and fall back to LIKE, a scan of the FTS table);
    C. no index: LIKE over name and hosts, walking the start_at index."""
    sys.path.insert(0, str(ROOT))
    from kepu.science_day.operations.search import fts5_query, query_terms

    conn = sqlite3.connect(db_path)
    cid = conn.execute("SELECT id FROM campaign WHERE kind='science_day'").fetchone()[0]
    t0 = time.perf_counter()
    conn.execute("CREATE VIRTUAL TABLE tri USING fts5(t, tokenize='trigram')")
    conn.execute("INSERT INTO tri (rowid, t) SELECT activity_id, name || ' ' || host_names "
                 "|| ' ' || coalesce(json_extract(data, '$.place'), '') FROM activity_public")
    conn.commit()
    built = time.perf_counter() - t0

    def size(prefix):
        try:
            return conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE ?",
                                (prefix + "%",)).fetchone()[0] or 0
        except sqlite3.OperationalError:
            return 0

    join = ("CROSS JOIN activity_public p ON p.activity_id = {t}.rowid "
            "WHERE {t} MATCH ? AND p.campaign_id = ? AND p.listed = 1")
    page_bi = ("SELECT p.activity_id FROM activity_public_fts " + join.format(
        t="activity_public_fts") + " ORDER BY activity_public_fts.rowid DESC LIMIT 20")
    count_bi = ("SELECT count(*) FROM (SELECT 1 FROM activity_public_fts " + join.format(
        t="activity_public_fts") + " LIMIT 10001)")
    page_tri = ("SELECT p.activity_id FROM tri " + join.format(t="tri")
                + " ORDER BY tri.rowid DESC LIMIT 20")
    count_tri = "SELECT count(*) FROM (SELECT 1 FROM tri " + join.format(t="tri") + " LIMIT 10001)"
    like_tri = ("SELECT p.activity_id FROM tri CROSS JOIN activity_public p ON "
                "p.activity_id = tri.rowid WHERE tri.t LIKE ? AND p.campaign_id = ? "
                "AND p.listed = 1 ORDER BY tri.rowid DESC LIMIT 20")
    like_count_tri = ("SELECT count(*) FROM (SELECT 1 FROM tri CROSS JOIN activity_public p ON "
                      "p.activity_id = tri.rowid WHERE tri.t LIKE ? AND p.campaign_id = ? "
                      "AND p.listed = 1 LIMIT 10001)")
    page_like = ("SELECT activity_id FROM activity_public WHERE campaign_id = ? AND listed = 1 "
                 "AND (name LIKE ? OR host_names LIKE ?) ORDER BY start_at DESC LIMIT 20")
    count_like = ("SELECT count(*) FROM (SELECT 1 FROM activity_public WHERE campaign_id = ? "
                  "AND listed = 1 AND (name LIKE ? OR host_names LIKE ?) LIMIT 10001)")

    def timed(sql, params, n=None):
        times = []
        for _ in range(n or runs):
            t = time.perf_counter()
            rows = conn.execute(sql, params).fetchall()
            times.append((time.perf_counter() - t) * 1000)
        return statistics.median(times), p95(times), rows

    print(f"\nKeyword search strategies ({runs} runs each; page = 20 ids, count = capped at "
          f"10,001); trigram index built in {built:.0f} s")
    print(f"index size: bigram FTS5 {size('activity_public_fts') / 1e6:.0f} MB, "
          f"trigram FTS5 {size('tri') / 1e6:.0f} MB")
    print(f"{'query':10} {'strategy':22} {'page med':>9} {'page p95':>9} {'count med':>10} "
          f"{'count p95':>10} {'found':>7}")
    for q in ("量子", "科技馆", "天文观测", "黑洞"):
        terms = query_terms(q)
        rows = [("A bigram FTS5", page_bi, count_bi, (fts5_query(terms), cid))]
        if len(q) >= 3:
            rows.append(("B trigram FTS5 MATCH", page_tri, count_tri, (f'"{q}"', cid)))
        else:
            rows.append(("B trigram (LIKE scan)", like_tri, like_count_tri, (f"%{q}%", cid)))
        rows.append(("C LIKE, no index", page_like, count_like, (cid, f"%{q}%", f"%{q}%")))
        for label, page_sql, count_sql, params in rows:
            n = 3 if label.startswith("C") else None     # a scan: seconds each
            pm, pp, _ = timed(page_sql, params, n)
            cm, cp, rows = timed(count_sql, params, n)
            found = rows[0][0]
            print(f"{q:10} {label:22} {pm:8.1f}ms {pp:8.1f}ms {cm:9.1f}ms {cp:9.1f}ms "
                  f"{found:>7}")
    conn.execute("DROP TABLE tri")
    conn.close()


# --------------------------------------------------------------------------- main

def _median(values):
    values = [v for v in values if v == v]
    return statistics.median(values) if values else float("nan")


def report(results, args, load_start, load_end, started) -> bool:
    failed = False
    print()
    print(f"全国科普日 lists, {args.activities:,} activities, SQLite, {os.cpu_count()} cores; "
          f"started {started}; load average {load_start} (start) → {load_end} (end)")
    head = (f"{'page':17} {'median':>7} {'p95':>7} {'SQL':>4} {'shown':>8}"
            + ("" if args.no_wrk else
               f" {'kepu r/s':>9} {'base r/s':>9} {'ratio':>6} {'kepu CPU':>9} {'base CPU':>9}")
            + "  verdict")
    print(head)
    print("-" * len(head))
    for r in results:
        med, top, sql = _median(r.times_ms), p95(r.times_ms), max(r.statements)
        misses = []
        if top > r.page.target_ms:
            misses.append(f"p95>{r.page.target_ms:.0f}ms")
        line = f"{r.page.label:17} {med:7.1f} {top:7.1f} {sql:4d} {r.total:>8}"
        if not args.no_wrk and r.page.baseline:
            k, b = _median([w.rps for w in r.wrk_kepu]), _median([w.rps for w in r.wrk_base])
            ratio = k / b if b else float("nan")
            if ratio < TARGET_RATIO:
                misses.append(f"r/s<{TARGET_RATIO:.0%} of baseline")
            if any(w.non_2xx for w in r.wrk_kepu):
                misses.append("non-2xx answers")
            line += (f" {k:9.1f} {b:9.1f} {ratio:6.2f} {_median(r.cpu_kepu):7.1f}ms"
                     f" {_median(r.cpu_base):7.1f}ms")
        failed |= bool(misses)
        print(line + "  " + ("OK" if not misses else "MISS " + ", ".join(misses)))
    print()
    for r in results:
        if r.base_ids and r.row_ids and r.base_ids != r.row_ids:
            print(f"note: {r.page.label}: kepu and the baseline list different rows "
                  f"(kepu {r.total}, {r.row_ids[:3]}…; baseline {r.base_total}, "
                  f"{r.base_ids[:3]}…)")
        elif r.base_ids:
            print(f"same rows: {r.page.label} (kepu 共 {r.total}, baseline 共 {r.base_total})")
    print("RESULT:", "FAIL (targets missed)" if failed else "OK")
    return failed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--activities", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--worker-class", default="gthread")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--no-wrk", action="store_true")
    ap.add_argument("--strategies", action="store_true",
                    help="also compare keyword search strategies")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--page-cache", type=int, metavar="SECONDS",
                    help="kepu's PAGE_CACHE_SECONDS (0: the anonymous public pages uncached)")
    ap.add_argument("--pages", choices=("all", "lists", "stats"), default="all",
                    help="the list pages (issue 10), the statistics pages (issue 13), or both")
    args = ap.parse_args()

    run_dir = Path(tempfile.mkdtemp(prefix="kepu-bench-sd-run-"))
    started = datetime.now().isoformat(timespec="seconds")
    load_start = loadavg()
    try:
        path = prepare_sqlite(args.activities, args.rebuild, run_dir)
        if args.build_only:
            return 0
        database_url = f"sqlite:///{path}"
        pages = {"all": PAGES, "stats": STATS_PAGES,
                 "lists": [p for p in PAGES if p not in STATS_PAGES]}[args.pages]
        results = [PageResult(p) for p in pages]
        print(f"in-process: {args.runs} runs per page, interleaved; load {loadavg()}",
              flush=True)
        in_process(database_url, run_dir, results, args.runs, args.page_cache)
        for r in results:
            print(f"  {r.page.label:17} median {_median(r.times_ms):6.1f} ms  p95 "
                  f"{p95(r.times_ms):6.1f} ms  SQL {max(r.statements)}  共 {r.total}",
                  flush=True)
        if not args.no_wrk:
            print(f"under load: wrk -c{args.connections} -d{args.seconds}s, kepu and baseline "
                  f"under gunicorn -w {args.workers} -k {args.worker_class} --threads "
                  f"{args.threads}, {args.rounds} interleaved rounds", flush=True)
            under_load(args, database_url, str(path), run_dir, results)
        failed = report(results, args, load_start, loadavg(), started)
        if args.strategies:
            strategies(path, args.runs)
        if args.json:
            Path(args.json).write_text(json.dumps({
                "started": started, "load_start": load_start, "activities": args.activities,
                "pages": [{"label": r.page.label, "url": r.page.url,
                           "median_ms": _median(r.times_ms), "p95_ms": p95(r.times_ms),
                           "sql": max(r.statements), "total": r.total,
                           "kepu_rps": [w.rps for w in r.wrk_kepu],
                           "base_rps": [w.rps for w in r.wrk_base],
                           "kepu_cpu_ms": r.cpu_kepu, "base_cpu_ms": r.cpu_base}
                          for r in results]}, ensure_ascii=False, indent=2))
        return 1 if failed else 0
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
