#!/usr/bin/env python
"""Where a review-list request spends its CPU, independently of the neighbours.

Runs one page of ``review_lists.PAGES`` in-process (Flask test client, logged in as
the page's user) against the cached benchmark database (``review_lists.py
--build-only`` builds it), after a warm-up:

    # cProfile of 300 requests, the 40 most expensive functions (cumulative / own time)
    .venv/bin/python bench/profile_lists.py "unit p1" --profile 300

    # instructions per request under valgrind (load-independent): callgrind runs the
    # script twice, with N and 2N measured requests after the same warm-up, and the
    # difference of the two totals divided by N is one request's instruction count
    .venv/bin/python bench/profile_lists.py "unit p1" --callgrind 50

    # just N requests (what the callgrind runs execute)
    .venv/bin/python bench/profile_lists.py "unit p1" --requests 50
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import CACHE_DIR, app_config, client_login  # noqa: E402

import review_lists as rl  # noqa: E402

WARMUP = 30


def cached_db() -> Path:
    path = CACHE_DIR / f"review-lists-{rl.cache_key(100_000, 25_000)}.sqlite3"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run bench/review_lists.py --build-only first")
    return path


def setup(page_label: str, run_dir: Path):
    from sqlalchemy import select

    from kepu import create_app
    from kepu.accounts.models import User
    from kepu.extensions import db

    page = next((p for p in rl.PAGES if p.label == page_label), None)
    if page is None:
        raise SystemExit(f"unknown page {page_label!r}; one of {[p.label for p in rl.PAGES]}")
    copy = run_dir / "bench.sqlite3"
    shutil.copyfile(cached_db(), copy)
    app = create_app(app_config(f"sqlite:///{copy}", run_dir))
    client = app.test_client()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.phone == rl.USERS[page.who][0]))
        client_login(client, user)
        db.session.remove()
    url = page.url

    def hit() -> None:
        resp = client.get(url)
        if resp.status_code != 200:
            raise SystemExit(f"{url} answered {resp.status_code}")
        resp.close()

    for _ in range(WARMUP):
        hit()
    return hit


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("page", help="a label of review_lists.PAGES, e.g. 'unit p1'")
    ap.add_argument("--requests", type=int, default=0, help="run N requests after warm-up")
    ap.add_argument("--profile", type=int, default=0, help="cProfile N requests")
    ap.add_argument("--callgrind", type=int, default=0,
                    help="instructions per request over N requests (valgrind)")
    ap.add_argument("--sort", default="cumulative")
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--callers", help="print the callers of these functions (a regex)")
    args = ap.parse_args()

    if args.callgrind:
        return callgrind(args.page, args.callgrind)
    run_dir = Path(tempfile.mkdtemp(prefix="kepu-profile-lists-"))
    try:
        hit = setup(args.page, run_dir)
        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            t0 = time.process_time()
            prof.enable()
            for _ in range(args.profile):
                hit()
            prof.disable()
            cpu = (time.process_time() - t0) / args.profile * 1000
            print(f"{args.page}: {cpu:.2f} ms CPU per request under cProfile")
            stats = pstats.Stats(prof)
            stats.sort_stats(args.sort)
            if args.callers:
                stats.print_callers(args.callers)
            else:
                stats.print_stats(args.limit)
        elif args.requests:
            t0 = time.process_time()
            for _ in range(args.requests):
                hit()
            cpu = (time.process_time() - t0) / args.requests * 1000
            print(f"{args.page}: {cpu:.2f} ms CPU per request ({args.requests} requests)")
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return 0


def callgrind(page: str, n: int) -> int:
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    totals = []
    out_dir = Path(tempfile.mkdtemp(prefix="kepu-callgrind-"))
    try:
        for k in (n, 2 * n):
            out = out_dir / f"cg.{k}"
            cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                   "--cache-sim=no", "--branch-sim=no", sys.executable, __file__, page,
                   "--requests", str(k)]
            env = {**os.environ, "PYTHONMALLOC": "malloc"}
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                print(proc.stdout, proc.stderr, file=sys.stderr)
                raise SystemExit(f"valgrind run failed ({proc.returncode})")
            m = re.search(r"Collected : (\d+)", proc.stderr)
            totals.append(int(m.group(1)))
        per = (totals[1] - totals[0]) / n
        print(f"{page}: {per / 1e6:.1f} M instructions per request "
              f"(callgrind, {n} vs {2 * n} requests after {WARMUP} warm-up)")
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
