"""`flask kepu init` (built-in org library + the generated 科协 hierarchy) and the 归口
autocomplete over the full library, on SQLite or PostgreSQL.

On a fresh database migrated to head (``flask db upgrade``), this times:

- ``flask kepu init`` in-process (the command's own work: 264 built-in orgs, then 3,178
  generated 科协 with their aliases and pinyin keys), then the same command again (every
  row already there: the idempotent re-run);
- ``flask --app app kepu init`` as a subprocess on a second fresh database (what an
  operator waits for, interpreter and app start-up included);
- the 归口 autocomplete (``/orgs/autocomplete`` with a category) for a few queries, with the
  Flask test client (server time only): median and p95.

Targets (exit 1 when missed): first init ≤ 15 s, re-run ≤ 10 s, autocomplete p95 ≤ 150 ms.

    .venv/bin/python bench/orglib_init.py                       # SQLite (temp file)
    .venv/bin/python bench/orglib_init.py postgresql://postgres@127.0.0.1:5432/kepu_orglib_bench

A PostgreSQL URL names a scratch database: it is dropped and created (twice) by the run.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUERIES = [("区县科协", "西湖"), ("区县科协", "xhq"), ("市科协", "朝阳"), ("省科协", "广东"),
           ("有关部委", "科技部"), ("全国学会", "物理"), ("区县科协", "科协"), ("市科协", "州")]


def fresh_url(base: str | None, tmp: Path, suffix: str) -> str:
    if not base:
        return f"sqlite:///{tmp / f'bench{suffix}.sqlite3'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"{url.database}{suffix}"
    admin = create_engine(url.set(drivername="postgresql+psycopg", database="postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop(base: str | None, url: str) -> None:
    if not base:
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    u = make_url(url)
    admin = create_engine(u.set(drivername="postgresql+psycopg", database="postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
    admin.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("database_url", nargs="?", help="PostgreSQL scratch database (default SQLite)")
    ap.add_argument("--runs", type=int, default=20, help="autocomplete runs per query")
    args = ap.parse_args()

    from flask_migrate import upgrade

    from kepu import create_app
    from kepu.extensions import db

    failures = []
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        url = fresh_url(args.database_url, tmp, "_a")
        app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": url,
                          "INSTANCE_PATH": str(tmp / "instance"), "RATELIMIT_ENABLED": False})
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
        runner = app.test_cli_runner()
        timings = {}
        for label in ("first", "again"):
            t = time.perf_counter()
            out = runner.invoke(args=["kepu", "init"])
            timings[label] = time.perf_counter() - t
            if out.exit_code != 0:
                print(out.output)
                return 1
            print(f"flask kepu init ({label}, in-process): {timings[label]:.2f} s")
            for line in out.output.splitlines():
                print("    " + line)

        with app.app_context():
            from sqlalchemy import func, select

            from kepu.orgs.models import Org, OrgAlias

            n_orgs = db.session.scalar(select(func.count(Org.id)))
            n_alias = db.session.scalar(select(func.count(OrgAlias.id)))
        print(f"org library: {n_orgs} orgs, {n_alias} aliases")

        client = app.test_client()
        samples = []
        for category, q in QUERIES:
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                r = client.get("/orgs/autocomplete", query_string={
                    "field": "sup", "category_field": "cat", "cat": category, "q": q,
                    "allow_add": "0", "active_only": "1"}, headers={"HX-Request": "true"})
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200
            samples += times
            print(f"  autocomplete {category} {q!r}: median {statistics.median(times):.1f} ms, "
                  f"p95 {sorted(times)[int(len(times) * .95) - 1]:.1f} ms")
        p95 = sorted(samples)[int(len(samples) * .95) - 1]
        print(f"autocomplete overall: median {statistics.median(samples):.1f} ms, p95 {p95:.1f} ms")
        with app.app_context():
            db.engine.dispose()
        drop(args.database_url, url)

        url2 = fresh_url(args.database_url, tmp, "_b")
        env = dict(os.environ, KEPU_DATABASE_URL=url2, KEPU_SECRET_KEY="bench",
                   KEPU_INSTANCE_PATH=str(tmp / "instance2"))
        flask = [sys.executable, "-m", "flask", "--app", "app"]
        subprocess.run(flask + ["db", "upgrade"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        t = time.perf_counter()
        subprocess.run(flask + ["kepu", "init"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        wall = time.perf_counter() - t
        print(f"flask --app app kepu init (subprocess, start-up included): {wall:.2f} s")
        drop(args.database_url, url2)

    load = os.getloadavg()
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    if timings["first"] > 15:
        failures.append("first init > 15 s")
    if timings["again"] > 10:
        failures.append("re-run > 10 s")
    if p95 > 150:
        failures.append("autocomplete p95 > 150 ms")
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
