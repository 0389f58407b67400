#!/usr/bin/env python
"""Draft autosave throughput: many applicants saving at once against gunicorn.

Builds a fresh database with the project's migrations (SQLite by default, or
``--postgresql URL``: its public schema is replaced), one edition with an open window,
N applicants (default 50) each with their own draft (with an image attached, as a draft
mid-way has), and starts kepu under gunicorn (default ``-w 2 -k gthread --threads 8``).
Every applicant is a thread with its own keep-alive HTTP connection and its own session
(the cookie ``login_user`` sets, signed with the server's key); it opens its draft's
form once (the CSRF token, the version and the hidden inputs, e.g. the attached file's
id), then posts the form's autosave request again and again as htmx does for that form
(``multipart/form-data``: the step's fields, the hidden inputs, ``version``, the CSRF
token, ``HX-Request``), each time with the version the previous answer sent back, as
``static/js/autosave.js`` does. ``--form cases`` does the same with the case form.

Measured: saves/s over ``--seconds`` (default 20), the latency of a save (median, p95),
the server's and the client's CPU time per save, how long the server's threads waited
for a CPU, the load average before and after. Checked afterwards, straight in the
database: every draft's stored text and version equal the last save its applicant saw
succeed, and its version counts every successful save (none lost, none doubled); no
request failed (any 409, 5xx or connection error is a failure); the server log has no
"database is locked" and no traceback.

    .venv/bin/python bench/autosave.py                     # 50 applicants, 20 s, SQLite
    .venv/bin/python bench/autosave.py --form cases        # the case form's autosave
    .venv/bin/python bench/autosave.py --workers 2 --worker-class sync --threads 1
    .venv/bin/python bench/autosave.py --postgresql postgresql://postgres@127.0.0.1/kepu_bench

Exit status 1 when saves/s < ``--target`` (default 300) or a check failed.
"""
from __future__ import annotations

import argparse
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (ROOT, Client, app_config, cores, cpu_seconds,  # noqa: E402
                      free_port, gunicorn_cmd, loadavg, login_session, migrate, p95,
                      sched_seconds, server_session, start_server)

SECRET = "kepu-bench-autosave"
VERSION_RE = re.compile(r'id="draft-version" name="version" value="(\d+)"')
HIDDEN_RE = re.compile(r'<input type="hidden" (?:id="[^"]*" )?name="([^"]+)" value="([^"]*)"')
PHRASES = ["量子比特如何叠加", "黑洞的事件视界", "疫苗与群体免疫", "湿地里的候鸟", "芯片是怎样制造的",
           "心肺复苏的要点", "碳中和与新能源", "火箭为什么能上天", "深海里的生命", "极光的成因"]


#: The production setting the README recommends (gunicorn -k gthread --threads 8), with
#: 2 workers for the 2 cores of the machines the figures in bench/README.md come from.
DEFAULT_WORKERS, DEFAULT_WORKER_CLASS, DEFAULT_THREADS = 2, "gthread", 8


# --------------------------------------------------------------------------- setup

def reset_postgresql(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def setup(database_url: str, tmp: Path, n: int, form: str) -> list[dict]:
    """Migrate, create the edition, the applicants and their drafts; returns
    [{"user": id, "session_id": "id:1", "token": session token, "entry": id}]."""
    from kepu import create_app
    from kepu.accounts.models import User
    from kepu.admin.models import Campaign
    from kepu.extensions import db
    from kepu.orgs.models import Org

    app = create_app(app_config(database_url, tmp))
    migrate(app)
    out = []
    with app.app_context():
        window = {"window_open": "2000-01-01 00:00", "window_close": "2099-12-31 23:59"}
        kind = "works" if form == "works" else "cases"
        campaign = Campaign(kind=kind, year=2026, title="压测", settings=window)
        org = Org(name="压测推荐单位", kind="省级科协")
        db.session.add_all([campaign, org])
        db.session.flush()
        template = User(phone="13700000000", name="模板")
        template.set_password("Bench@2026")
        users = [User(phone=f"137{i:08d}", name=f"申报者{i}", password_hash=template.password_hash)
                 for i in range(1, n + 1)]
        db.session.add_all(users)
        db.session.flush()
        entries = []
        for u in users:  # noqa: B007
            if form == "works":
                from kepu.works.models import DRAFT, Work
                entries.append(Work(campaign_id=campaign.id, owner_id=u.id, status=DRAFT,
                                    step=1, version=1, media_reports=[]))
            else:
                from kepu.cases.models import DRAFT, Case
                entries.append(Case(campaign_id=campaign.id, org_id=org.id, owner_id=u.id,
                                    status=DRAFT, version=1, media_reports=[]))
        db.session.add_all(entries)
        db.session.flush()
        # A draft as applicants have them mid-way: an image already attached (the page
        # then posts its id with every autosave, as the upload widget's hidden input).
        from kepu.files.models import StoredFile
        field = (f"works:{campaign.id}:cover" if form == "works" else "case_photo_landscape")
        entity = "work" if form == "works" else "case"
        db.session.add_all([StoredFile(
            owner_id=u.id, field=field, original_name="cover.png",
            stored_name=f"bench-{e.id:06d}.png", ext="png", content_type="image/png",
            size=1024, sha256="0" * 64, width=400, height=300, entity_type=entity,
            entity_id=e.id) for u, e in zip(users, entries)])
        tokens = [server_session(u) for u in users]
        db.session.commit()
        out = [{"user": u.id, "session_id": u.get_id(), "token": t, "entry": e.id}
               for u, e, t in zip(users, entries, tokens)]
        db.engine.dispose()
    return out


def stored(database_url: str, tmp: Path, form: str) -> dict[int, tuple]:
    """{entry id: (version, title/name, intro/summary)} read straight from the database."""
    from sqlalchemy import create_engine, text

    url = database_url
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    sql = ('SELECT id, version, title, intro FROM work' if form == "works"
           else 'SELECT id, version, name, summary FROM "case"')
    with engine.connect() as conn:
        rows = {r[0]: tuple(r[1:]) for r in conn.execute(text(sql))}
    engine.dispose()
    return rows


# --------------------------------------------------------------------------- clients

@dataclass
class Applicant:
    index: int
    entry: int
    session: str
    form: str
    port: int
    client: Client = None
    csrf: str = ""
    hidden: list = field(default_factory=list)
    cookie_sets: int = 0
    version: int = 0
    saves: int = 0
    last: tuple | None = None          # (version, title, text) of the last successful save
    latencies: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    @property
    def edit_path(self) -> str:
        return (f"/works/{self.entry}/step/1" if self.form == "works"
                else f"/cases/{self.entry}/edit")

    @property
    def save_path(self) -> str:
        return (f"/works/{self.entry}/autosave" if self.form == "works"
                else f"/cases/{self.entry}/autosave")

    def open_page(self) -> None:
        self.client = Client(self.port)
        self.client.cookies["session"] = self.session
        status, page, _ = self.client.get(self.edit_path)
        if status != 200:
            raise SystemExit(f"applicant {self.index}: {self.edit_path} answered {status}")
        self.csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        self.version = int(VERSION_RE.search(page).group(1))
        # the hidden inputs the form posts besides the typed fields (upload widgets'
        # file ids, step); csrf_token and version are added per request
        form = page[page.index('id="' + ("work-form" if self.form == "works" else "case-form")):]
        form = form[:form.index("</form>")]
        self.hidden = [(n, v) for n, v in HIDDEN_RE.findall(form)
                       if n not in ("csrf_token", "version")]

    def fields(self, n: int, rng: random.Random) -> tuple[list, str, str]:
        title = f"{rng.choice(PHRASES)}{self.index}-{n}"[:20]
        text = "".join(rng.choice(PHRASES) + "，" for _ in range(rng.randint(20, 40)))[:480]
        text = f"{n}：{text}"
        if self.form == "works":
            data = [("csrf_token", self.csrf), ("version", self.version), *self.hidden,
                    ("title", title), ("work_type", "科普视频"), ("category", "前沿科技"),
                    ("intro", text)]
        else:
            data = [("csrf_token", self.csrf), ("version", self.version), *self.hidden,
                    ("name", title),
                    ("impl_unit", "压测实施单位"), ("unit_address", "北京市海淀区"),
                    ("contact_name", "联系人"), ("job_title", "工程师"),
                    ("contact_phone", "13912345678"), ("email", "a@example.com"),
                    ("category", ""), ("subtype", ""), ("subtype_other", ""),
                    ("summary", text), ("awards", ""), ("details", text * 2),
                    ("media_title", ""), ("media_url", "")]
        return data, title, text

    def run(self, stop: threading.Event) -> None:
        rng = random.Random(self.index)
        n = 0
        headers = {"HX-Request": "true", "X-CSRFToken": self.csrf,
                   "HX-Current-URL": f"http://127.0.0.1:{self.port}{self.edit_path}"}
        while not stop.is_set():
            n += 1
            data, title, text = self.fields(n, rng)
            t0 = time.perf_counter()
            try:
                # both forms have enctype="multipart/form-data": htmx posts FormData
                status, body, resp = self.client.post_multipart(self.save_path, data, headers)
            except OSError as e:
                self.failures.append(f"connection error: {e!r}")
                self.client.close()
                continue
            self.latencies.append((time.perf_counter() - t0) * 1000)
            if resp.getheader("Set-Cookie"):
                self.cookie_sets += 1
            if status != 200:
                self.failures.append(f"HTTP {status}: {body[:200]}")
                if status == 409:
                    break  # a refused save: the page would stop too (reload needed)
                continue
            m = VERSION_RE.search(body)
            if not m:
                self.failures.append(f"no new version in the answer: {body[:200]}")
                break
            self.version = int(m.group(1))
            self.saves += 1
            self.last = (self.version, title, text)


# --------------------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--applicants", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--form", choices=("works", "cases"), default="works")
    ap.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    ap.add_argument("--worker-class", default=DEFAULT_WORKER_CLASS)
    ap.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    ap.add_argument("--target", type=float, default=300.0, help="saves/s required")
    ap.add_argument("--postgresql", metavar="URL", help="run on this PostgreSQL database "
                    "(its public schema is dropped and rebuilt)")
    ap.add_argument("--port", type=int, default=0, help="default: first free in 5310-5339")
    ap.add_argument("--app-root", metavar="DIR", help="serve kepu from this checkout (e.g. "
                    "`git worktree add /tmp/old <commit>` to compare with older code)")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="kepu-autosave-"))
    if args.postgresql:
        reset_postgresql(args.postgresql)
        database_url = args.postgresql
    else:
        database_url = f"sqlite:///{tmp / 'kepu.sqlite3'}"
    server = None
    try:
        people = setup(database_url, tmp, args.applicants, args.form)
        port = args.port or free_port(5310, 5339)
        env = {"KEPU_DATABASE_URL": database_url, "KEPU_SECRET_KEY": SECRET,
               "KEPU_SMS_BACKEND": "test", "KEPU_UPLOAD_DIR": str(tmp / "uploads")}
        cmd = gunicorn_cmd("app:app", port, args.workers, args.worker_class, args.threads)
        server = start_server("kepu", cmd, env, tmp / "server.log", "/healthz", port,
                              cwd=Path(args.app_root) if args.app_root else ROOT,
                              expect_workers=args.workers)
        # each applicant's session cookie as the login form would set it (signed with
        # the server's key; 50 scrypt logins would only measure the login)
        applicants = [Applicant(i, p["entry"], login_session(SECRET, p["session_id"], p["token"]),
                                args.form, port) for i, p in enumerate(people)]
        for a in applicants:
            a.open_page()
        print("each save posts   : csrf_token, version, "
              + ", ".join(f"{n}={v}" for n, v in applicants[0].hidden)
              + " and the typed fields", flush=True)

        print(f"kepu {args.form} autosave: {args.applicants} applicants, {args.seconds:.0f} s, "
              f"gunicorn -w {args.workers} -k {args.worker_class}"
              f"{f' --threads {args.threads}' if args.threads > 1 else ''}, "
              f"{'PostgreSQL' if args.postgresql else 'SQLite'}", flush=True)
        load_start = loadavg()
        stop = threading.Event()
        threads = [threading.Thread(target=a.run, args=(stop,), daemon=True) for a in applicants]
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        pids = [server.proc.pid, *server.workers()]
        server_cpu0 = cpu_seconds(pids)
        sched0 = sched_seconds(pids)
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join(60)
        elapsed = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        server_cpu = cpu_seconds(pids) - server_cpu0
        sched1 = sched_seconds(pids)
        ran, waited = sched1[0] - sched0[0], sched1[1] - sched0[1]
        load_end = loadavg()
        server.stop()
        log = server.log_text()

        rows = stored(database_url, tmp, args.form)
        saves = sum(a.saves for a in applicants)
        latencies = [x for a in applicants for x in a.latencies]
        failures = [f"applicant {a.index}: {f}" for a in applicants for f in a.failures]
        mismatched = []
        for a in applicants:
            version, title, text = rows[a.entry]
            expected = a.last or (1, None, None)
            if a.last is None:
                ok = version == 1
            else:
                ok = (version, title, text) == expected
            # every successful save bumped the version exactly once
            ok = ok and version == 1 + a.saves
            if not ok:
                mismatched.append(f"entry {a.entry}: stored version {version}, "
                                  f"client saw {expected[0]} after {a.saves} saves")
        locked = log.count("database is locked")
        rate = saves / elapsed
        client_cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)

        print(f"load average      : {load_start} (start) → {load_end} (end)")
        print(f"saves             : {saves} in {elapsed:.1f} s = {rate:.0f} saves/s "
              f"(target ≥ {args.target:.0f})")
        if latencies:
            print(f"latency per save  : median {statistics.median(latencies):.1f} ms, "
                  f"p95 {p95(latencies):.1f} ms, max {max(latencies):.0f} ms")
        if saves:
            print(f"server CPU        : {server_cpu:.1f} s = {server_cpu / saves * 1000:.2f} ms "
                  f"per save (all workers; {server_cpu / elapsed * 100:.0f}% of one core)")
        print(f"client CPU        : {client_cpu:.1f} s ({client_cpu / elapsed * 100:.0f}% of one "
              "core; the load generator shares the machine)")
        print(f"server scheduling : threads ran {ran:.1f} s and were runnable but waiting for "
              f"a CPU {waited:.1f} s (summed over threads)")
        if saves:
            per_save = (server_cpu + client_cpu) / saves
            print(f"CPU-bound estimate: {cores() / per_save:.0f} saves/s with the {cores()} cores "
                  f"to itself ({per_save * 1000:.2f} ms of server + client CPU per save; "
                  "an estimate, not a measurement)")
        print(f"answers setting a cookie: {sum(a.cookie_sets for a in applicants)}")
        print(f"lost / mismatched : {len(mismatched)}")
        for line in mismatched[:10]:
            print("   ", line)
        print(f"failed requests   : {len(failures)}")
        for line in failures[:10]:
            print("   ", line)
        print(f"'database is locked' in server log: {locked}")
        errors_in_log = [line for line in log.splitlines() if "Traceback" in line
                         or "ERROR" in line]
        if errors_in_log:
            print(f"errors in server log: {len(errors_in_log)}")
            for line in [line for line in log.splitlines() if "Error" in line][:5]:
                print("   ", line[:200])
        ok = (rate >= args.target and not mismatched and not failures and not locked
              and not errors_in_log)
        print("RESULT            :", "OK" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
