#!/usr/bin/env python
"""Review lists at national scale, side by side with a bare baseline.

Data: N works (default 100,000) of one works edition over 40 recommender units, a
quarter of them (default 25,000) at one unit, with realistic texts (作品简介 ~100–200
characters, 亮点总结 ~1,000, titles with searchable words such as 量子). The schema is
built with the project's migrations (the indexes that ship), the works bulk-loaded
with sqlite-utils; the database is built once and cached under
``/tmp/kepu-bench-cache`` (``KEPU_BENCH_CACHE``), keyed by the parameters and a hash of
the migration files, and copied for each run (``--rebuild`` builds it again).
``--postgresql URL`` loads the same data into that PostgreSQL database (COPY, then
VACUUM ANALYZE; reused while the key matches) and runs everything there.

Measured, for every page of ``PAGES`` (a table: add pages there):

1. in-process (Flask test client, server time without network): median and p95 over
   ``--runs`` requests, and the SQL statements per request (SQLAlchemy
   ``before_cursor_execute``), pages interleaved run by run;
2. under load: kepu under gunicorn (default ``-w 2 -k gthread --threads 8``, the
   README's production setting on 2 cores) and ``bench/baseline_app.py`` (sqlite3 + one Jinja template listing the same 20 rows with
   a count, same database and indexes) under the same gunicorn settings, each hit with
   ``wrk -c16 -d10s``, INTERLEAVED (kepu page, baseline page, kepu page, …) for
   ``--rounds`` rounds: requests/s, latency, and the workers' CPU time per request
   (from /proc; steadier than requests/s on a shared machine).

kepu's clients log in through the real login form (a unit admin of the big unit and a
platform admin). The load average is recorded at the start and end of every run.

Targets (exit status 1 when one is missed; the table says which): every list page's
p95 ≤ 50 ms server time, kepu ≥ half the baseline's requests/s, ≤ 6 SQL statements
per list request.

    .venv/bin/python bench/review_lists.py                       # 100,000 works, SQLite
    .venv/bin/python bench/review_lists.py --works 20000 --unit-works 5000 --rounds 1
    .venv/bin/python bench/review_lists.py --no-wrk --runs 30     # in-process only
    .venv/bin/python bench/review_lists.py --postgresql postgresql://postgres@127.0.0.1:5432/kepu_bench
    .venv/bin/python bench/review_lists.py --exports              # also time both xlsx exports
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
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
                      free_port, gunicorn_cmd, loadavg, login_form, migrate, migrations_fingerprint, p95,
                      run_wrk, start_server, wait_idle)


# --------------------------------------------------------------------------- what is measured

@dataclass(frozen=True)
class ListPage:
    """One measured page: who looks at it, its URL, and whether the bare baseline
    (bench/baseline_app.py) serves the same list (it must then answer the same path
    and query with the same rows)."""

    label: str
    who: str            # a key of USERS
    path: str
    query: dict = field(default_factory=dict)
    baseline: bool = True

    @property
    def url(self) -> str:
        return self.path + ("?" + urlencode(self.query) if self.query else "")


#: The review-list pages and their query arguments as the list pages use them today
#: (q, status, sort, order, page). Cases and Science Day lists go here when they land
#: (with baseline=False until bench/baseline_app.py lists them too).
PAGES = [
    ListPage("unit p1", "unit_admin", "/works/unit/"),
    ListPage("unit search", "unit_admin", "/works/unit/", {"q": "量子"}),
    ListPage("unit filter+sort", "unit_admin", "/works/unit/",
             {"status": "pending", "sort": "title", "order": "asc"}),
    ListPage("unit page 500", "unit_admin", "/works/unit/", {"page": 500}),
    ListPage("admin p1", "platform_admin", "/works/admin/"),
]

#: The benchmark's accounts (password PASSWORD): phone, name, grant.
PASSWORD = "Bench@2026"
USERS = {
    "unit_admin": ("13000000001", "单位管理员", "unit_admin"),
    "platform_admin": ("13000000002", "平台管理员", "platform_admin"),
    "applicant": ("13000000003", "申报者", None),
}

TARGET_P95_MS = 50.0
TARGET_RATIO = 0.5
TARGET_SQL = 6

#: Bumped when the generated data changes (part of the cache key).
DATA_VERSION = 2

TITLE_WORDS = ["量子", "黑洞", "疫苗", "湿地", "候鸟", "芯片", "急救", "碳中和", "火箭", "海洋"]
TITLE_TAILS = ["的奥秘", "科普动画", "十问", "入门", "漫谈", "与生活", "简史", "探秘"]
PHRASES = ["科学原理通俗易懂", "结合生活实例讲解", "动画形式生动形象", "面向青少年读者", "内容经过专家审核",
           "传播数据表现良好", "多平台同步发布", "互动问答形式新颖", "配有实验演示视频", "弘扬科学家精神"]
PROVINCES = ["北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省",
             "上海市", "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省",
             "湖南省", "广东省", "广西壮族自治区", "海南省", "重庆市", "四川省", "贵州省", "云南省",
             "西藏自治区", "陕西省", "甘肃省", "青海省", "宁夏回族自治区", "新疆维吾尔自治区"]
SOCIETIES = ["中国科普作家协会", "中国天文学会", "中国动物学会", "中国化学会", "中国物理学会",
             "中国地质学会", "中国气象学会", "中国营养学会", "中国药学会"]
UNIT_NAMES = [p + "科学技术协会" for p in PROVINCES] + SOCIETIES   # 40 recommender units


# --------------------------------------------------------------------------- data

def text(rng: random.Random, n: int) -> str:
    out = []
    while sum(len(s) for s in out) < n:
        out.append(rng.choice(PHRASES) + rng.choice("，。；"))
    return "".join(out)[:n]


def work_rows(n_works: int, unit_works: int, campaign_id: int, owner_id: int,
              org_ids: list[int], seed: int = 7):
    """The generated works, as dicts of work columns (deterministic for a seed)."""
    rng = random.Random(seed)
    at_unit = set(rng.sample(range(n_works), min(unit_works, n_works)))
    now = datetime(2026, 6, 1)
    states = ["pending"] * 6 + ["returned", "recommended", "in_review", "reviewed"]
    work_types = ["科普图书", "科普文章", "科普视频", "科普动漫", "科普演讲稿", "科普游戏"]
    categories = ["前沿科技", "健康生活", "生态环境", "应急安全", "科学文化", "数字素养"]
    for i in range(n_works):
        org = org_ids[0] if i in at_unit else rng.choice(org_ids[1:])
        t = now + timedelta(seconds=37 * i)
        status = rng.choice(states)
        yield {
            "campaign_id": campaign_id, "owner_id": owner_id, "status": status, "step": 3,
            "version": rng.randint(2, 40),
            "title": f"{rng.choice(TITLE_WORDS)}{rng.choice(TITLE_TAILS)}（{i}）",
            "work_type": rng.choice(work_types), "category": rng.choice(categories),
            "intro": text(rng, rng.randint(100, 200)),
            "author_name": rng.choice("张王李赵刘陈杨黄吴周") + rng.choice(["伟", "芳", "敏", "静", "磊"]),
            "applicant_unit": f"{rng.choice(PROVINCES)}科普创作中心{i % 500}",
            "unit_address": "北京市海淀区复兴路3号", "contact_name": "联系人",
            "contact_phone": f"139{i:08d}", "email": f"a{i}@example.com", "job_title": "编辑",
            "unit_type": "省级科协", "channel_id": org,
            "highlights": text(rng, rng.randint(900, 1100)), "media_reports": "[]",
            "awards": "", "return_comment": "请补充传播数据。" if status == "returned" else "",
            "submitted_at": t, "recommended_at": None, "selected": False,
            "created_at": t - timedelta(days=3), "updated_at": t,
        }


def cache_key(n_works: int, unit_works: int) -> str:
    raw = json.dumps({"works": n_works, "unit": unit_works, "data": DATA_VERSION,
                      "migrations": migrations_fingerprint()}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def create_people(app) -> tuple[int, int, list[int]]:
    """Campaign, the 40 units, the accounts and their grants; returns (campaign id,
    applicant id, org ids)."""
    from kepu.accounts.models import Grant, User
    from kepu.admin.models import Campaign
    from kepu.extensions import db
    from kepu.orgs.models import Org

    with app.app_context():
        campaign = Campaign(kind="works", year=2026, title="2026年优质科普作品征集", settings={})
        orgs = [Org(name=name, kind="全国学会" if "学会" in name else "省级科协")
                for name in UNIT_NAMES]
        db.session.add(campaign)
        db.session.add_all(orgs)
        db.session.flush()
        users = {}
        for key, (phone, name, _role) in USERS.items():
            u = User(phone=phone, name=name)
            u.set_password(PASSWORD)
            users[key] = u
        db.session.add_all(users.values())
        db.session.flush()
        for key, (_phone, _name, role) in USERS.items():
            if role == "unit_admin":
                db.session.add(Grant(user_id=users[key].id, role=role, org_id=orgs[0].id))
            elif role:
                db.session.add(Grant(user_id=users[key].id, role=role))
        db.session.commit()
        out = campaign.id, users["applicant"].id, [o.id for o in orgs]
        db.engine.dispose()
    return out


def build_sqlite(path: Path, n_works: int, unit_works: int) -> None:
    import sqlite_utils

    from kepu import create_app

    tmp = Path(tempfile.mkdtemp(prefix="kepu-bench-build-"))
    building = path.with_suffix(".building")
    building.unlink(missing_ok=True)
    try:
        app = create_app(app_config(f"sqlite:///{building}", tmp))
        migrate(app)
        campaign_id, owner_id, org_ids = create_people(app)
        db = sqlite_utils.Database(building)
        db.execute("PRAGMA synchronous=OFF")
        def as_sqlite(row: dict) -> dict:  # the text form SQLAlchemy writes and reads
            return {k: v.isoformat(" ", "microseconds") if isinstance(v, datetime) else v
                    for k, v in row.items()}

        db["work"].insert_all((as_sqlite(r) for r in work_rows(
            n_works, unit_works, campaign_id, owner_id, org_ids)), batch_size=2000)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.conn.close()
        for suffix in ("-wal", "-shm"):
            Path(str(building) + suffix).unlink(missing_ok=True)
        os.replace(building, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prepare_sqlite(n_works: int, unit_works: int, rebuild: bool, run_dir: Path) -> Path:
    """A private copy of the cached database for this run (built when missing)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    cached = CACHE_DIR / f"review-lists-{cache_key(n_works, unit_works)}.sqlite3"
    if rebuild or not cached.exists():
        t0 = time.perf_counter()
        print(f"building {cached} ({n_works:,} works, {unit_works:,} at one unit) …", flush=True)
        build_sqlite(cached, n_works, unit_works)
        print(f"built in {time.perf_counter() - t0:.0f} s "
              f"({cached.stat().st_size / 1e6:.0f} MB)", flush=True)
    else:
        print(f"using cached {cached} ({cached.stat().st_size / 1e6:.0f} MB)", flush=True)
    copy = run_dir / "bench.sqlite3"
    shutil.copyfile(cached, copy)
    return copy


def prepare_postgresql(url: str, n_works: int, unit_works: int, rebuild: bool,
                       run_dir: Path) -> None:
    """Load the same data into PostgreSQL (unless it already holds it)."""
    import psycopg

    key = cache_key(n_works, unit_works)
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass('public.kepu_bench_meta')").fetchone()
        if row[0] and not rebuild:
            have = conn.execute("SELECT key FROM kepu_bench_meta").fetchone()
            if have and have[0] == key:
                print(f"using the data already loaded in {plain}", flush=True)
                return
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    from kepu import create_app

    t0 = time.perf_counter()
    print(f"loading {n_works:,} works into {plain} …", flush=True)
    app = create_app(app_config(plain, run_dir))
    migrate(app)
    campaign_id, owner_id, org_ids = create_people(app)
    rows = work_rows(n_works, unit_works, campaign_id, owner_id, org_ids)
    first = next(rows)
    cols = list(first)
    with psycopg.connect(plain) as conn:
        with conn.cursor() as cur:
            with cur.copy(f"COPY work ({', '.join(cols)}) FROM STDIN") as copy:
                copy.write_row([first[c] for c in cols])
                for r in rows:
                    copy.write_row([r[c] for c in cols])
            cur.execute("CREATE TABLE kepu_bench_meta (key text)")
            cur.execute("INSERT INTO kepu_bench_meta VALUES (%s)", (key,))
        conn.commit()
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"loaded in {time.perf_counter() - t0:.0f} s", flush=True)


# --------------------------------------------------------------------------- in-process

@dataclass
class PageResult:
    page: ListPage
    times_ms: list = field(default_factory=list)
    statements: list = field(default_factory=list)
    total: str = ""
    row_ids: list = field(default_factory=list)
    wrk_kepu: list = field(default_factory=list)      # WrkResult per round
    wrk_base: list = field(default_factory=list)
    cpu_kepu: list = field(default_factory=list)      # ms CPU per request per round
    cpu_base: list = field(default_factory=list)
    base_ids: list = field(default_factory=list)
    base_total: str = ""


ROW_RE = re.compile(r'id="work-row-(\d+)"')
# kepu's queue: "共 <strong>25,000</strong> 件"; the baseline: "共 25000 件作品"
TOTAL_RE = re.compile(r"共 (?:<strong>)?([\d,]+)(?:</strong>)? 件")


def in_process(database_url: str, run_dir: Path, results: list[PageResult], runs: int) -> None:
    from flask import g
    from sqlalchemy import event, select

    from kepu import create_app
    from kepu.accounts.models import User
    from kepu.extensions import db

    app = create_app(app_config(database_url, run_dir))
    count = {"n": 0}

    def forget_user() -> None:
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget_user)
    clients = {}
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute",
                     lambda *a: count.__setitem__("n", count["n"] + 1))
        for key, (phone, _name, _role) in USERS.items():
            user = db.session.scalar(select(User).where(User.phone == phone))
            client = app.test_client()
            client_login(client, user)
            clients[key] = client
        db.session.remove()

    for r in results:  # warm-up (templates, statement caches), and what the page shows
        client = clients[r.page.who]
        for _ in range(2):
            resp = client.get(r.page.url)
        if resp.status_code != 200:
            raise SystemExit(f"{r.page.url} answered {resp.status_code} in-process")
        html = resp.get_data(as_text=True)
        r.row_ids = ROW_RE.findall(html)
        m = TOTAL_RE.search(html)
        r.total = m.group(1).replace(",", "") if m else "?"
    for _ in range(runs):  # interleaved: every page once per run
        for r in results:
            client = clients[r.page.who]
            count["n"] = 0
            t0 = time.perf_counter()
            resp = client.get(r.page.url)
            r.times_ms.append((time.perf_counter() - t0) * 1000)
            r.statements.append(count["n"])
            assert resp.status_code == 200, (r.page.url, resp.status_code)
    with app.app_context():
        db.engine.dispose()


def exports(database_url: str, run_dir: Path, max_s: float, max_mb: float) -> bool:
    """Both xlsx exports in-process, through the job path as the worker runs it (the
    queue in immediate mode: the POST runs the job, then the file is downloaded from the
    job page): time from the click to the file, and the process's peak RSS growth."""
    import re

    from sqlalchemy import select

    from kepu import create_app
    from kepu.accounts.models import User
    from kepu.extensions import db

    def kb(key: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise KeyError(key)

    app = create_app(app_config(database_url, run_dir, JOBS_IMMEDIATE=True,
                                EXPORT_DIR=str(run_dir / "exports"), WTF_CSRF_ENABLED=False))
    ok = True
    for label, who, url in (("unit export", "unit_admin", "/works/unit/export.xlsx"),
                            ("admin export", "platform_admin", "/works/admin/export.xlsx")):
        client = app.test_client()
        with app.app_context():
            user = db.session.scalar(select(User).where(User.phone == USERS[who][0]))
            client_login(client, user)
            db.session.remove()
        Path("/proc/self/clear_refs").write_text("5")
        before = kb("VmRSS") / 1024
        t0 = time.perf_counter()
        resp = client.post(url)
        # the job ran inside the POST (immediate mode): its memory, before the download
        # below reads the whole file into this process
        growth = kb("VmHWM") / 1024 - before
        status, size = resp.status_code, 0.0
        if status == 303:
            page = client.get(resp.headers["Location"]).get_data(as_text=True)
            m = re.search(r'href="(/jobs/\d+/download)"', page)
            got = client.get(m.group(1)) if m else None
            status = got.status_code if got is not None else 500
            size = len(got.get_data()) / 1e6 if got is not None else 0.0
        secs = time.perf_counter() - t0
        bad = status != 200 or (label == "admin export" and (secs > max_s or growth > max_mb))
        ok &= not bad
        print(f"{label:14} HTTP {status}  {secs:6.1f} s  {size:5.1f} MB xlsx  "
              f"peak growth {growth:6.1f} MB{'  FAIL' if bad else ''}", flush=True)
    return ok


# --------------------------------------------------------------------------- under load

def under_load(args, database_url: str, baseline_db: str, unit_org: int, run_dir: Path,
               results: list[PageResult]) -> None:
    port_k = free_port(5300, 5309)
    port_b = free_port(port_k + 1, 5309)
    env_k = {"KEPU_DATABASE_URL": database_url, "KEPU_SECRET_KEY": "kepu-bench-lists",
             "KEPU_SMS_BACKEND": "test", "KEPU_UPLOAD_DIR": str(run_dir / "uploads")}
    env_b = {"BASELINE_DATABASE": baseline_db, "BASELINE_UNIT_ORG": str(unit_org)}
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
        cookies = {}
        for who in {r.page.who for r in results}:
            client = Client(port_k)
            login_form(client, USERS[who][0], PASSWORD)
            cookies[who] = client.cookie_header()
        # both answer every page with 200 (not a redirect to the login page)
        for r in results:
            c = Client(port_k)
            c.cookies = dict(kv.split("=", 1) for kv in cookies[r.page.who].split("; "))
            status, html, _ = c.get(r.page.url)
            if status != 200:
                raise SystemExit(f"kepu answered {status} for {r.page.url}")
            if r.page.baseline:
                status, html, _ = Client(port_b).get(r.page.url)
                if status != 200:
                    raise SystemExit(f"baseline answered {status} for {r.page.url}")
                r.base_ids = ROW_RE.findall(html)
                m = TOTAL_RE.search(html)
                r.base_total = m.group(1).replace(",", "") if m else "?"
        pids_k = [sk.proc.pid, *sk.workers()]
        pids_b = [sb.proc.pid, *sb.workers()]
        for rnd in range(1, args.rounds + 1):
            for r in results:
                for which, server, pids in (("kepu", sk, pids_k), ("baseline", sb, pids_b)):
                    if which == "baseline" and not r.page.baseline:
                        continue
                    la0 = loadavg()
                    cpu0 = cpu_seconds(pids)
                    res = run_wrk(server.base + r.page.url,
                                  cookies[r.page.who] if which == "kepu" else None,
                                  connections=args.connections, seconds=args.seconds)
                    cpu = ((cpu_seconds(pids) - cpu0) / res.requests * 1000 if res.requests
                           else float("nan"))
                    la1 = loadavg()
                    drained = wait_idle(pids)  # requests left queued by wrk, if any
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


# --------------------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--works", type=int, default=100_000)
    ap.add_argument("--unit-works", type=int, default=25_000, help="works at the big unit")
    ap.add_argument("--runs", type=int, default=20, help="in-process requests per page")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved wrk rounds")
    ap.add_argument("--seconds", type=int, default=10, help="wrk duration per page")
    ap.add_argument("--connections", type=int, default=16, help="wrk connections")
    # the production setting the README recommends, 2 workers for 2 cores; the baseline
    # runs under exactly the same gunicorn settings
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--worker-class", default="gthread")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--no-wrk", action="store_true", help="in-process measurements only")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached data")
    ap.add_argument("--build-only", action="store_true", help="build (or check) the data, "
                    "measure nothing")
    ap.add_argument("--postgresql", metavar="URL", help="load the data into this PostgreSQL "
                    "database (its public schema is replaced) and measure there")
    ap.add_argument("--exports", action="store_true", help="also time both xlsx exports")
    ap.add_argument("--export-s", type=float, default=30.0)
    ap.add_argument("--export-mb", type=float, default=50.0)
    ap.add_argument("--json", metavar="FILE", help="write the figures to this file")
    args = ap.parse_args()

    run_dir = Path(tempfile.mkdtemp(prefix="kepu-bench-lists-"))
    started = datetime.now().isoformat(timespec="seconds")
    load_start = loadavg()
    try:
        if args.postgresql:
            prepare_postgresql(args.postgresql, args.works, args.unit_works, args.rebuild,
                               run_dir)
            database_url = baseline_db = args.postgresql
        else:
            path = prepare_sqlite(args.works, args.unit_works, args.rebuild, run_dir)
            database_url, baseline_db = f"sqlite:///{path}", str(path)
        if args.build_only:
            return 0
        unit_org = unit_org_id(database_url)
        results = [PageResult(p) for p in PAGES]
        print(f"in-process: {args.runs} runs per page, interleaved; load {loadavg()}",
              flush=True)
        in_process(database_url, run_dir, results, args.runs)
        if not args.no_wrk:
            print(f"under load: wrk -c{args.connections} -d{args.seconds}s, kepu and baseline "
                  f"under gunicorn -w {args.workers} -k {args.worker_class}"
                  f"{f' --threads {args.threads}' if args.threads > 1 else ''}, "
                  f"{args.rounds} interleaved rounds", flush=True)
            under_load(args, database_url, baseline_db, unit_org, run_dir, results)
        export_ok = exports(database_url, run_dir, args.export_s, args.export_mb) \
            if args.exports else True
        load_end = loadavg()
        failed = report(results, args, load_start, load_end, started)
        if args.json:
            dump_json(args.json, results, args, load_start, load_end, started)
        return 1 if failed or not export_ok else 0
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def unit_org_id(database_url: str) -> int:
    from sqlalchemy import create_engine, text

    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    with engine.connect() as conn:
        org = conn.execute(text('SELECT g.org_id FROM "grant" g JOIN "user" u ON u.id = g.user_id '
                                "WHERE u.phone = :p AND g.role = 'unit_admin'"),
                           {"p": USERS["unit_admin"][0]}).scalar_one()
    engine.dispose()
    return org


def _median(values: list[float]) -> float:
    values = [v for v in values if v == v]  # without NaN (no request completed)
    return statistics.median(values) if values else float("nan")


def report(results: list[PageResult], args, load_start: str, load_end: str,
           started: str) -> bool:
    failed = False
    backend = "PostgreSQL" if args.postgresql else "SQLite"
    print()
    print(f"Review lists, {args.works:,} works ({args.unit_works:,} at the unit), {backend}, "
          f"{os.cpu_count()} cores; started {started}; load average {load_start} (start) → "
          f"{load_end} (end)")
    head = (f"{'page':17} {'median':>7} {'p95':>7} {'SQL':>4} {'shown':>6}"
            + ("" if args.no_wrk else
               f" {'kepu r/s':>9} {'base r/s':>9} {'ratio':>6} {'kepu CPU':>9} {'base CPU':>9}")
            + "  verdict")
    print(head)
    print("-" * len(head))
    for r in results:
        med, top, sql = _median(r.times_ms), p95(r.times_ms), max(r.statements)
        misses = []
        if top > TARGET_P95_MS:
            misses.append(f"p95>{TARGET_P95_MS:.0f}ms")
        if sql > TARGET_SQL:
            misses.append(f"SQL>{TARGET_SQL}")
        line = f"{r.page.label:17} {med:7.1f} {top:7.1f} {sql:4d} {r.total:>6}"
        if not args.no_wrk:
            k_rps = _median([w.rps for w in r.wrk_kepu])
            b_rps = _median([w.rps for w in r.wrk_base])
            ratio = k_rps / b_rps if r.wrk_base else float("nan")
            if r.wrk_base and ratio < TARGET_RATIO:
                misses.append(f"r/s<{TARGET_RATIO:.0%} of baseline")
            if any(w.non_2xx for w in r.wrk_kepu):
                misses.append("non-2xx answers")
            line += (f" {k_rps:9.1f} {b_rps:9.1f} {ratio:6.2f} {_median(r.cpu_kepu):7.1f}ms"
                     f" {_median(r.cpu_base):7.1f}ms")
        failed |= bool(misses)
        print(line + "  " + ("OK" if not misses else "MISS " + ", ".join(misses)))
    print()
    print(f"Targets: p95 ≤ {TARGET_P95_MS:.0f} ms server time (in-process, {args.runs} runs), "
          f"≤ {TARGET_SQL} SQL statements per request"
          + ("" if args.no_wrk else
             f", kepu ≥ {TARGET_RATIO:.0%} of the baseline's requests/s (median of "
             f"{args.rounds} interleaved wrk -c{args.connections} -d{args.seconds}s rounds, "
             f"both under gunicorn -w {args.workers} -k {args.worker_class}"
             f"{f' --threads {args.threads}' if args.threads > 1 else ''}); CPU = the "
             "server workers' CPU time per request"
             + (" (PostgreSQL's own processes not included)" if args.postgresql else "")))
    for r in results:
        if r.base_ids and r.row_ids and r.base_ids != r.row_ids:
            print(f"note: {r.page.label}: kepu and the baseline list different rows "
                  f"(kepu {r.total} works, ids {r.row_ids[:3]}…; baseline {r.base_total}, "
                  f"{r.base_ids[:3]}…)")
    print("RESULT:", "FAIL (targets missed)" if failed else "OK")
    return failed


def dump_json(path: str, results, args, load_start, load_end, started) -> None:
    out = {"started": started, "load_start": load_start, "load_end": load_end,
           "works": args.works, "unit_works": args.unit_works,
           "backend": "postgresql" if args.postgresql else "sqlite", "pages": []}
    for r in results:
        out["pages"].append({
            "label": r.page.label, "url": r.page.url, "median_ms": _median(r.times_ms),
            "p95_ms": p95(r.times_ms), "sql": max(r.statements), "total": r.total,
            "kepu_rps": [w.rps for w in r.wrk_kepu], "base_rps": [w.rps for w in r.wrk_base],
            "kepu_cpu_ms": r.cpu_kepu, "base_cpu_ms": r.cpu_base})
    Path(path).write_text(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    sys.exit(main())
