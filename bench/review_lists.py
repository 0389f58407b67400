"""Review lists and exports at provincial scale.

A unit admin clicks through a list of thousands of works before a deadline; the
platform admin exports everything. This loads N works (default 20,000, spread over
40 recommender units, with the bulk at one unit) into a temp SQLite database with
sqlite-utils, then times, in-process with the Flask test client (server time only,
no network):

- the unit admin's list page 1, a search, a status filter and page 50;
- the platform admin's all-works list;
- the unit's xlsx export, and the admin's xlsx export of every work, with the peak
  memory growth of the process during that export (peak RSS, VmHWM reset just before).

Targets (exit 1 when missed): list pages p95 ≤ 300 ms; full export ≤ 60 s and peak
growth ≤ 200 MB.

    .venv/bin/python bench/review_lists.py            # 20,000 works
    .venv/bin/python bench/review_lists.py --works 5000 --runs 20
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TITLES = ["量子", "黑洞", "疫苗", "湿地", "候鸟", "芯片", "急救", "碳中和", "火箭", "海洋"]


def build(tmp: Path, n_works: int):
    import sqlite_utils

    from kepu import create_app
    from kepu.accounts.models import Grant, User
    from kepu.admin.models import Campaign
    from kepu.extensions import db
    from kepu.orgs.models import Org

    db_path = tmp / "bench.sqlite3"
    app = create_app({
        "TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{db_path}",
        "INSTANCE_PATH": str(tmp / "instance"), "UPLOAD_DIR": str(tmp / "uploads"),
        "SMS_BACKEND": "test", "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
    })
    from flask import g

    # One app context is kept open for the whole run: drop Flask-Login's per-context
    # user cache so each request loads its own user (as tests/conftest.py does).
    def forget_user() -> None:
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget_user)
    with app.app_context():
        db.create_all()
        campaign = Campaign(kind="works", year=2026, title="bench", settings={})
        orgs = [Org(name=f"基准推荐单位{i:02d}", kind="省级科协") for i in range(40)]
        db.session.add(campaign)
        db.session.add_all(orgs)
        db.session.flush()
        users = []
        for i, phone in enumerate(["13000000001", "13000000002", "13000000003"]):
            u = User(phone=phone, name=f"u{i}")
            u.set_password("Passw0rd!")
            users.append(u)
        db.session.add_all(users)
        db.session.flush()
        db.session.add(Grant(user_id=users[0].id, role="unit_admin", org_id=orgs[0].id))
        db.session.add(Grant(user_id=users[1].id, role="platform_admin"))
        db.session.commit()
        cid, owner, org_ids = campaign.id, users[2].id, [o.id for o in orgs]
        unit_admin_id, admin_id = users[0].id, users[1].id

    rng = random.Random(7)
    now = datetime(2026, 6, 1)
    states = ["pending"] * 6 + ["returned", "recommended", "in_review", "reviewed"]
    rows = []
    for i in range(n_works):
        # a quarter of all works went to the first unit (a busy provincial 科协)
        org = org_ids[0] if i % 4 == 0 else rng.choice(org_ids)
        t = now + timedelta(minutes=i)
        rows.append({
            "campaign_id": cid, "owner_id": owner, "status": rng.choice(states), "step": 3,
            "version": 1, "title": f"{rng.choice(TITLES)}科普作品{i}", "work_type": "科普视频",
            "category": rng.choice(["前沿科技", "健康生活", "生态环境"]),
            "intro": "简介" * 50, "author_name": "作者", "applicant_unit": f"申报单位{i % 500}",
            "unit_address": "地址", "contact_name": "联系人", "contact_phone": "13912345678",
            "email": "a@example.com", "job_title": "", "unit_type": "省级科协",
            "channel_id": org, "highlights": "亮点" * 500, "media_reports": "[]", "awards": "",
            "return_comment": "", "submitted_at": t.isoformat(" "), "recommended_at": None,
            "selected": 0, "created_at": t.isoformat(" "), "updated_at": t.isoformat(" "),
        })
    sqlite_utils.Database(db_path)["work"].insert_all(rows, batch_size=2000)
    return app, unit_admin_id, admin_id


def proc_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def reset_peak() -> float:
    """Reset the peak RSS (VmHWM) to the current RSS; returns the current RSS in MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return proc_kb("VmRSS") / 1024


def logged_in(app, user_id: int):
    from kepu.accounts.models import User
    from kepu.extensions import db

    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = db.session.get(User, user_id).get_id()
        sess["_fresh"] = True
    return client


def timed(client, url: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        resp = client.get(url)
        out.append((time.perf_counter() - t0) * 1000)
        assert resp.status_code == 200, (url, resp.status_code)
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--works", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--page-ms", type=float, default=300.0)
    ap.add_argument("--export-s", type=float, default=60.0)
    ap.add_argument("--export-mb", type=float, default=200.0)
    args = ap.parse_args()

    failed = False
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        app, unit_admin_id, admin_id = build(Path(d), args.works)
        print(f"loaded {args.works} works in {time.perf_counter() - t0:.1f} s")
        with app.app_context():
            pages = {
                "unit list p1": (unit_admin_id, "/works/unit/"),
                "unit search": (unit_admin_id, "/works/unit/?q=量子"),
                "unit filter": (unit_admin_id, "/works/unit/?status=pending&sort=title&order=asc"),
                "unit page 50": (unit_admin_id, "/works/unit/?page=50"),
                "admin list p1": (admin_id, "/works/admin/"),
            }
            print(f"{'page':16} {'median ms':>10} {'p95 ms':>8}")
            for label, (uid, url) in pages.items():
                client = logged_in(app, uid)
                client.get(url)  # warm-up
                values = timed(client, url, args.runs)
                bad = p95(values) > args.page_ms
                failed |= bad
                print(f"{label:16} {statistics.median(values):10.1f} {p95(values):8.1f}"
                      f"{'  FAIL' if bad else ''}")
            for label, uid, url in (("unit export", unit_admin_id, "/works/unit/export.xlsx"),
                                    ("admin export", admin_id, "/works/admin/export.xlsx")):
                client = logged_in(app, uid)
                before = reset_peak()
                t0 = time.perf_counter()
                resp = client.get(url)
                secs = time.perf_counter() - t0
                peak = proc_kb("VmHWM") / 1024
                assert resp.status_code == 200
                size = len(resp.get_data()) / 1024 / 1024
                bad = label == "admin export" and (secs > args.export_s
                                                   or peak - before > args.export_mb)
                failed |= bad
                print(f"{label:16} {secs:6.1f} s  {size:5.1f} MB xlsx  peak growth "
                      f"{peak - before:6.1f} MB{'  FAIL' if bad else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
