"""The platform admin's export of every work, run as a job: time and memory at 100,000.

Loads N works (default 100,000; 简介 and 亮点总结 ~1,000 different Chinese characters
each, as in ``xlsx_writers.py``) into a temp SQLite database, registers an export kind
that reads them the way the works export does today (``scope_stmt`` + ``filter_works``,
ORM objects with ``yield_per``, owner and channel loaded, file names looked up), and a
second kind that reads the same columns as plain rows (SQLAlchemy Core, no ORM objects).
Each kind runs through the real job path (``start_export`` → ``run_file_job`` with its
throttled progress writes → the xlsx file in EXPORT_DIR), in-process in immediate mode,
like one task in the worker. Reported: wall and CPU time, the peak RSS growth during the
job (VmHWM reset just before), the progress writes, the file size; the 1-minute load
average is printed with each run. Runs alternate between the kinds (``--runs``).

    .venv/bin/python bench/export_job.py                   # 100,000 works, 2 runs each
    .venv/bin/python bench/export_job.py --works 20000 --runs 3

Exit status 1 when a job takes more than ``--max-s`` (30) or grows memory by more than
``--max-mb`` (50).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from review_lists import build, proc_kb, reset_peak  # noqa: E402
from xlsx_writers import _pool  # noqa: E402


def load_works(db_path: Path, n: int, campaign_id: int, owner_id: int, org_ids: list[int]):
    import sqlite_utils

    pool = _pool()
    span = len(pool) - 1000
    now = datetime(2026, 6, 1)
    states = ["pending"] * 6 + ["returned", "recommended", "in_review", "reviewed"]

    def rows():
        for i in range(n):
            a, b = (i * 7919) % span, (i * 104729) % span
            t = (now + timedelta(minutes=i)).isoformat(" ")
            yield {
                "campaign_id": campaign_id, "owner_id": owner_id, "status": states[i % 10],
                "step": 3, "version": 1, "title": f"{pool[a:a + 12]}科普作品{i}",
                "work_type": "科普视频", "category": ["前沿科技", "健康生活", "生态环境"][i % 3],
                "intro": f"{i}号作品简介：{pool[a:a + 994]}", "author_name": pool[b:b + 3],
                "applicant_unit": f"申报单位{i % 500}", "unit_address": f"北京市海淀区复兴路{i % 300}号",
                "contact_name": pool[b + 3:b + 6], "contact_phone": f"139{i:08d}",
                "email": f"user{i}@example.com", "job_title": "编辑", "unit_type": "省级科协",
                "channel_id": org_ids[i % len(org_ids)], "highlights": f"{i}号亮点：{pool[b:b + 995]}",
                "media_reports": '[{"title": "媒体报道", "url": "https://news.example.com/1"}]',
                "awards": "全国科普微视频大赛二等奖", "return_comment": "" if i % 10 else "=请补充材料",
                "submitted_at": t, "recommended_at": None, "selected": 0, "created_at": t,
                "updated_at": t,
            }

    sqlite_utils.Database(db_path)["work"].insert_all(rows(), batch_size=2000)


def register_kinds():
    from sqlalchemy import func, select
    from sqlalchemy.orm import aliased, selectinload

    from kepu.accounts.models import User
    from kepu.admin.models import Campaign
    from kepu.exports import ExportSpec, Sheet, export_kind
    from kepu.extensions import db
    from kepu.jobs import JobRefused
    from kepu.orgs.models import Org
    from kepu.timeutil import fmt
    from kepu.works.flow import STATE_LABELS
    from kepu.works.models import Work
    from kepu.works.queries import filter_works, scope_stmt
    from kepu.works.review_routes import EXPORT_HEADER, FILE_FIELDS, _file_names, _media_text

    def scoped(user, params):
        campaign = db.session.get(Campaign, params["campaign_id"])
        if campaign is None or not user.is_platform_admin:
            raise JobRefused("无权导出作品列表")
        stmt, _ = filter_works(scope_stmt(user, campaign), params.get("filters", {}))
        total = db.session.scalar(select(func.count()).select_from(
            stmt.order_by(None).with_only_columns(Work.id).subquery()))
        return stmt, total

    @export_kind("bench.works_orm")
    def works_orm(user, params) -> ExportSpec:
        stmt, total = scoped(user, params)
        ids = list(db.session.scalars(stmt.with_only_columns(Work.id).order_by(None)))
        files = _file_names(ids)

        def rows():
            query = stmt.options(selectinload(Work.owner), selectinload(Work.channel))
            for w in db.session.scalars(query.execution_options(yield_per=500)):
                f = files.get(w.id, {})
                yield [
                    w.id, w.title, w.work_type, w.category, w.intro, w.author_name,
                    w.applicant_unit, w.unit_address, w.contact_name, w.contact_phone,
                    w.email, w.job_title, w.unit_type, w.channel.name if w.channel else "",
                    w.highlights, _media_text(w.media_reports), w.awards,
                    STATE_LABELS.get(w.status, w.status), w.return_comment,
                    fmt(w.submitted_at), fmt(w.recommended_at), fmt(w.updated_at),
                    w.owner.phone if w.owner else "",
                    *["\n".join(f.get(k, [])) for k in FILE_FIELDS],
                ]

        return ExportSpec("作品列表.xlsx", [Sheet("作品列表", EXPORT_HEADER, rows())],
                          total=total, widths={1: 30, 4: 60, 14: 60})

    @export_kind("bench.works_core")
    def works_core(user, params) -> ExportSpec:
        stmt, total = scoped(user, params)
        files = _file_names(list(db.session.scalars(
            stmt.with_only_columns(Work.id).order_by(None))))
        owner, channel = aliased(User), aliased(Org)
        cols = (Work.id, Work.title, Work.work_type, Work.category, Work.intro,
                Work.author_name, Work.applicant_unit, Work.unit_address, Work.contact_name,
                Work.contact_phone, Work.email, Work.job_title, Work.unit_type, channel.name,
                Work.highlights, Work.media_reports, Work.awards, Work.status,
                Work.return_comment, Work.submitted_at, Work.recommended_at,
                Work.updated_at, owner.phone)
        query = (stmt.with_only_columns(*cols)
                 .outerjoin(owner, owner.id == Work.owner_id)
                 .outerjoin(channel, channel.id == Work.channel_id))

        def rows():
            result = db.session.execute(query.execution_options(yield_per=1000))
            for r in result:
                f = files.get(r[0], {})
                yield [
                    *r[:15], _media_text(r[15]), r[16], STATE_LABELS.get(r[17], r[17]),
                    r[18], fmt(r[19]), fmt(r[20]), fmt(r[21]), r[22] or "",
                    *["\n".join(f.get(k, [])) for k in FILE_FIELDS],
                ]

        return ExportSpec("作品列表.xlsx", [Sheet("作品列表", EXPORT_HEADER, rows())],
                          total=total, widths={1: 30, 4: 60, 14: 60})


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--works", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--kinds", default="bench.works_core,bench.works_orm")
    ap.add_argument("--max-s", type=float, default=30.0)
    ap.add_argument("--max-mb", type=float, default=50.0)
    args = ap.parse_args()

    from kepu import create_app
    from kepu.accounts.models import User
    from kepu.admin.models import Campaign
    from kepu.extensions import db
    from kepu.jobs import Job
    from kepu.orgs.models import Org

    failed = False
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        t0 = time.perf_counter()
        _, _, admin_id = build(tmp, 0)
        db_path = tmp / "bench.sqlite3"
        app = create_app({
            "TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{db_path}",
            "INSTANCE_PATH": str(tmp / "instance"), "UPLOAD_DIR": str(tmp / "uploads"),
            "EXPORT_DIR": str(tmp / "exports"), "JOBS_IMMEDIATE": True, "SMS_BACKEND": "test",
        })
        with app.app_context():
            campaign_id = db.session.scalar(db.select(Campaign.id))
            org_ids = list(db.session.scalars(db.select(Org.id)))
            owner_id = db.session.scalar(db.select(User.id).where(User.phone == "13000000003"))
        load_works(db_path, args.works, campaign_id, owner_id, org_ids)
        print(f"loaded {args.works:,} works in {time.perf_counter() - t0:.1f} s "
              f"({db_path.stat().st_size / 1e6:.0f} MB database)")
        register_kinds()
        from kepu.exports import start_export

        results: dict[str, list[tuple]] = {}
        kinds = args.kinds.split(",")
        with app.app_context():  # warm-up: imports, compiled SQL, a 0-row file
            admin = db.session.get(User, admin_id)
            for kind in kinds:
                start_export(kind, admin, {"campaign_id": campaign_id,
                                           "filters": {"q": "不存在的作品"}}, "预热")
        for run in range(args.runs):
            for kind in (kinds if run % 2 == 0 else kinds[::-1]):
                with app.app_context():
                    admin = db.session.get(User, admin_id)
                    load = os.getloadavg()[0]
                    before = reset_peak()
                    t0, c0 = time.perf_counter(), time.process_time()
                    job = start_export(kind, admin, {"campaign_id": campaign_id,
                                                     "filters": {}}, "作品列表")
                    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
                    growth = proc_kb("VmHWM") / 1024 - before
                    job = db.session.get(Job, job.id)
                    assert job.status == "done", job.error
                    assert job.progress_done == args.works, job.progress_done
                    size = job.file_size / 1e6
                    os.unlink(job.path())
                bad = secs > args.max_s or growth > args.max_mb
                failed |= bad
                results.setdefault(kind, []).append((secs, cpu, growth, size, load))
                print(f"run {run + 1} {kind:18} {secs:6.1f} s (cpu {cpu:5.1f} s)  "
                      f"+{growth:6.1f} MB  {size:6.1f} MB xlsx  load {load:.2f}"
                      f"{'  FAIL' if bad else ''}", flush=True)
        print()
        print("| kind | wall (median) | CPU (median) | peak RSS growth (max) | file | load |")
        print("|---|---|---|---|---|---|")
        for kind, rs in results.items():
            print(f"| {kind} | {statistics.median(r[0] for r in rs):.1f} s | "
                  f"{statistics.median(r[1] for r in rs):.1f} s | "
                  f"{max(r[2] for r in rs):.1f} MB | {rs[0][3]:.0f} MB | "
                  f"{min(r[4] for r in rs):.2f}–{max(r[4] for r in rs):.2f} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
