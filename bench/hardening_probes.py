#!/usr/bin/env python
"""Re-run issue 11's probes against a real server and print the figures.

Starts gunicorn (``--workers``, sync) on a fresh instance (temp SQLite, or an empty
PostgreSQL database given with ``--database-url``), seeds a platform admin, an applicant
and a 2026 works edition through the app, then measures over HTTP:

- password-login time for a registered and an unregistered phone (wrong password),
  median and spread of ``--logins`` tries each;
- SMS attempts recorded after 150 parallel wrong codes on ``/account/reset``;
- SMS sent after 20 parallel 获取验证码 for one phone;
- an anonymous 150 MB multipart POST to ``/account/login``: status, how long until the
  answer, how much of the body the server took, and the upload temp folder;
- a session cookie replayed after 退出登录;
- ``next`` variants on ``/works/<id>/review/row`` and ``/account/login``;
- ids beyond 64 bits;
- the date typo ``0202-06-30T23:59`` on the works settings page, then the pages.

    .venv/bin/python bench/hardening_probes.py --port 5201
    .venv/bin/python bench/hardening_probes.py --port 5202 \\
        --database-url postgresql://postgres@127.0.0.1:5432/kepu_hardening_bench

Speed is machine- and load-dependent: the script prints the load average with the
figures. It never fails on timings; it exits 1 when a probe shows the old behaviour
(an open redirect, a replayed session, more than SMS_MAX_ATTEMPTS attempts, ...).
"""
from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADMIN, USER, PASSWORD = "13900000001", "13900000002", "Bench@2026"

SETUP = f"""
from kepu import create_app
from kepu.extensions import db
from kepu.accounts.models import Grant, User
from kepu.admin.models import Campaign
from kepu.orgs.models import Org
from kepu.works.models import Work
from kepu.timeutil import utcnow
from flask_migrate import upgrade
app = create_app()
with app.app_context():
    upgrade()
    org = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
    c = Campaign(kind="works", year=2026, title="2026作品征集",
                 settings={{"window_open": "2020-01-01 00:00", "window_close": "2099-12-31 23:59"}})
    db.session.add_all([org, c]); db.session.commit()
    for phone in ({ADMIN!r}, {USER!r}):
        u = User(phone=phone); u.set_password({PASSWORD!r}); db.session.add(u)
    db.session.commit()
    admin = User.by_phone({ADMIN!r})
    db.session.add(Grant(user_id=admin.id, role="platform_admin"))
    db.session.add(Grant(user_id=admin.id, role="unit_admin", org_id=org.id))
    w = Work(campaign_id=c.id, owner_id=User.by_phone({USER!r}).id, status="pending",
             channel_id=org.id, title="量子科技", submitted_at=utcnow())
    db.session.add(w); db.session.commit()
    print(w.id, c.id, app.instance_path)
"""


class Client:
    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())

    token = None

    def csrf(self) -> str:
        """The CSRF token of this client's session (from the login page)."""
        if self.token is None:
            status, _h, page = self.req("/account/login")
            if status != 200:  # logged in: the login page redirects
                page = self.req("/account/")[2]
            self.token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        return self.token

    def req(self, path, data=None, method=None, headers=None):
        headers = dict(headers or {})
        if data is not None:
            data = {**data, "csrf_token": self.csrf()}
            headers.setdefault("X-CSRFToken", self.token)
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        r = urllib.request.Request(self.base + path, data=body, method=method,
                                   headers=headers)
        try:
            with self.opener.open(r, timeout=120) as resp:
                return resp.status, dict(resp.headers), resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode("utf-8", "replace")

    def login(self, phone, password=PASSWORD):
        status = self.req("/account/login", {"method": "password", "phone": phone,
                                             "password": password})[0]
        self.token = None  # a login starts a new session (and CSRF secret)
        return status

    def cookie(self, name="session"):
        return next((c.value for c in self.jar if c.name == name), None)


class _FormParser(HTMLParser):
    """The fields a browser would post from the form holding ``marker``."""

    def __init__(self):
        super().__init__()
        self.forms, self._fields, self._textarea, self._select = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._fields = []
        elif self._fields is None:
            return
        elif tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self._fields.append((a["name"], a.get("value") or ""))
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self._fields.append((self._select, a.get("value") or ""))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            self._fields.append(tuple(self._textarea))
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "form" and self._fields is not None:
            self.forms.append(self._fields)
            self._fields = None


def form_fields(page: str, marker: str) -> dict:
    parser = _FormParser()
    parser.feed(page)
    fields = next(f for f in parser.forms if any(k == marker for k, _ in f))
    out: dict = {}
    for k, v in fields:
        out.setdefault(k, []).append(v)
    return out


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


def _status(base, path, cookie=None):
    c = Client(base)
    headers = {"Cookie": f"session={cookie}"} if cookie else {}
    return c.req(path, headers=headers)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=5201)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1, help="gunicorn --threads (gthread)")
    ap.add_argument("--database-url")
    ap.add_argument("--logins", type=int, default=15)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="kepu-probes-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEPU_")}
    env.update(KEPU_INSTANCE_PATH=str(tmp / "instance"), KEPU_SECRET_KEY="p" * 40,
               KEPU_RATELIMIT_ENABLED="false", KEPU_SMS_BACKEND="console",
               KEPU_RATELIMIT_STORAGE_URI="memory://")
    if args.database_url:
        env["KEPU_DATABASE_URL"] = args.database_url
    py = str(ROOT / ".venv/bin/python")
    work_id, campaign_id, instance = subprocess.run(
        [py, "-c", SETUP], cwd=ROOT, env=env, check=True, capture_output=True,
        text=True).stdout.split()[-3:]
    instance = Path(instance)
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", str(args.workers),
         "--threads", str(args.threads), "-b",
         f"127.0.0.1:{args.port}", "--timeout", "120", "app:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{args.port}"
    for _ in range(200):
        try:
            if _status(base, "/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.1)
    bad = []
    try:
        print(f"server: gunicorn -w {args.workers} --threads {args.threads}, "
              f"{'PostgreSQL' if args.database_url else 'SQLite'}; "
              f"load average {os.getloadavg()[0]:.2f} at start")

        # --- 7. login timing ---------------------------------------------------------
        c = Client(base)
        for _ in range(args.workers):  # warm up both paths in every worker (lazy dummy hash)
            assert c.login(USER, "wrong-password") == 422
            assert c.login("13700000000", "wrong-password") == 422
        times = {"registered": [], "unregistered": []}
        for i in range(args.logins):
            for label, phone in (("registered", USER), ("unregistered", "13700000000")):
                t = time.perf_counter()
                status = c.login(phone, "wrong-password")
                times[label].append((time.perf_counter() - t) * 1000)
                assert status == 422, status
        for label, ts in times.items():
            print(f"login, {label} phone, wrong password: median {statistics.median(ts):.0f} ms "
                  f"(min {min(ts):.0f}, max {max(ts):.0f}, n={len(ts)})")

        # --- 6. racing wrong codes ----------------------------------------------------
        c = Client(base)
        c.req("/account/reset", {"phone": USER, "action": "send_code", "password": "",
                                 "confirm": ""})
        outbox = instance / "sms_outbox.jsonl"
        code = json.loads(outbox.read_text().splitlines()[-1])["code"]
        wrong = [f"{(int(code) + i) % 10**6:06d}" for i in range(1, 151)]

        def attempt(guess):
            return Client(base).req("/account/reset", {
                "phone": USER, "code": guess, "password": "N3w@2026x", "confirm": "N3w@2026x"})[0]

        with ThreadPoolExecutor(max_workers=50) as pool:
            statuses = list(pool.map(attempt, wrong))
        attempts = _attempts(py, env, USER)
        print(f"150 parallel wrong codes on /account/reset: answers {sorted(set(statuses))}, "
              f"attempts recorded: {attempts} (limit 5); right code afterwards: "
              f"{attempt(code)}")
        if attempts != 5:
            bad.append("attempts")

        lines_before = len(outbox.read_text().splitlines())
        with ThreadPoolExecutor(max_workers=20) as pool:
            list(pool.map(lambda _: Client(base).req("/sms/send", {
                "phone": "13600000000", "purpose": "register"}), range(20)))
        sent = len(outbox.read_text().splitlines()) - lines_before
        print(f"20 parallel 获取验证码 for one phone: {sent} SMS sent")
        if sent != 1:
            bad.append("parallel sends")

        # --- 8. anonymous 150 MB POST ---------------------------------------------------
        size = 150 * 1024 * 1024
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
        head = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
                b"Content-Type: application/pdf\r\n\r\n")
        conn.putrequest("POST", "/account/login")
        conn.putheader("Content-Type", "multipart/form-data; boundary=b")
        conn.putheader("Content-Length", str(len(head) + size + 8))
        conn.endheaders()
        t = time.perf_counter()
        sent_bytes = 0
        answer = None

        def read_answer():
            nonlocal answer
            try:
                answer = conn.getresponse().status
            except Exception as e:  # noqa: BLE001
                answer = repr(e)

        reader = threading.Thread(target=read_answer)
        try:
            conn.send(head)
            reader.start()
            chunk = b"\0" * (1024 * 1024)
            while sent_bytes < size and answer is None:
                conn.send(chunk)
                sent_bytes += len(chunk)
        except OSError:
            pass
        reader.join(timeout=30)
        elapsed = (time.perf_counter() - t) * 1000
        tmp_parts = list((instance / "uploads" / "tmp").glob("*"))
        print(f"anonymous 150 MB POST /account/login: answer {answer} after {elapsed:.0f} ms; "
              f"client got {sent_bytes // (1024 * 1024)} MB onto the socket before the server "
              f"closed it; temp parts on disk: {len(tmp_parts)}")
        if answer != 413 or tmp_parts:
            bad.append("big POST")

        # --- 2. logout replay ------------------------------------------------------------
        c = Client(base)
        c.login(USER)
        copied = c.cookie()
        before = _status(base, "/account/", copied)[0]
        c.req("/account/logout", {})
        after = _status(base, "/account/", copied)[0]
        print(f"session cookie replayed: before logout {before}, after logout {after}")
        if after == 200:
            bad.append("logout")

        # --- 1. redirects ----------------------------------------------------------------
        a = Client(base)
        a.login(ADMIN)
        escaped = []
        for v in ["/\t/evil.example/phish", "//evil.example", "/\\evil.example",
                  "https:evil.example", "/%2F/evil.example", "/x\r\n/evil.example"]:
            q = urllib.parse.urlencode({"next": v})
            for path in (f"/works/{work_id}/review/row?{q}", f"/account/login?{q}"):
                st, headers, body = a.req(path)
                loc = headers.get("Location", "")
                if "evil" in loc or "evil.example" in body or st >= 500:
                    escaped.append((path[:30], st, loc))
        print(f"next variants x routes: {12 - len(escaped)}/12 stayed on the site {escaped or ''}")
        if escaped:
            bad.append("redirect")

        # --- 9. huge ids -----------------------------------------------------------------
        codes = {p: a.req(p)[0] for p in ("/works/9223372036854775808",
                                         "/files/99999999999999999999999",
                                         "/orgs/pick?id=99999999999999999999999")}
        print(f"huge ids: {codes}")
        if any(v != 404 for v in codes.values()):
            bad.append("ids")

        # --- 3. date typo ----------------------------------------------------------------
        page = a.req(f"/works/admin/editions/{campaign_id}/settings")[2]
        form = form_fields(page, "settings_digest")
        control = a.req(f"/works/admin/editions/{campaign_id}/settings", form)[0]
        assert control == 303, f"the scraped settings form is refused ({control})"
        form.update(window_open=["0202-06-30T23:59"])
        st = a.req(f"/works/admin/editions/{campaign_id}/settings", form)[0]
        pages = {p: a.req(p)[0] for p in ("/works/", "/works/mine", "/works/admin/editions",
                                         f"/works/admin/editions/{campaign_id}/settings")}
        print(f"window_open=0202-06-30T23:59: answer {st}; then {pages}")
        if st != 422 or any(v != 200 for v in pages.values()):
            bad.append("date")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    if bad:
        print("OLD BEHAVIOUR:", ", ".join(bad))
        return 1
    return 0


def _attempts(py, env, phone) -> int:
    out = subprocess.run([py, "-c", f"""
from kepu import create_app
from kepu.extensions import db
from kepu.sms.models import SmsCode
app = create_app()
with app.app_context():
    print(db.session.scalar(db.select(SmsCode.attempts).where(SmsCode.phone == {phone!r})
          .order_by(SmsCode.id.desc()).limit(1)))
"""], cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout.split()[-1]
    return int(out)


if __name__ == "__main__":
    sys.exit(main())
