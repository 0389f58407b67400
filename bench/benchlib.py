"""Shared pieces of the benchmarks in bench/: load average, schema by migrations,
gunicorn servers, a cookie-keeping HTTP client, signed sessions, wrk.

Nothing here is imported by the app; the scripts put the repository root on sys.path.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
CACHE_DIR = Path(os.environ.get("KEPU_BENCH_CACHE", "/tmp/kepu-bench-cache"))


# --------------------------------------------------------------------------- machine

def loadavg() -> str:
    """The 1/5/15-minute load averages from /proc/loadavg, e.g. "1.52 1.20 0.98"."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def cores() -> int:
    return os.cpu_count() or 1


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (from /proc/<pid>/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / tick


def sched_seconds(pids: list[int]) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for a CPU) of these processes,
    all their threads, so far (/proc/<pid>/task/<tid>/schedstat). The waiting time
    shows how much a shared machine held a server back."""
    run = wait = 0
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    fields = f.read().split()
                run += int(fields[0])
                wait += int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    return run / 1e9, wait / 1e9


def wait_idle(pids: list[int], timeout: float = 180.0, step: float = 0.5) -> float:
    """Wait until these processes stop using CPU (a server still working through the
    requests a load generator left queued would otherwise slow the next measurement);
    returns the seconds waited."""
    t0 = time.monotonic()
    last = cpu_seconds(pids)
    while time.monotonic() - t0 < timeout:
        time.sleep(step)
        now = cpu_seconds(pids)
        if now - last < step * 0.05:
            break
        last = now
    return time.monotonic() - t0


def free_port(start: int, end: int) -> int:
    """A free TCP port on 127.0.0.1 in [start, end] (the helper's own range)."""
    for port in range(start, end + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port in {start}-{end}")


# --------------------------------------------------------------------------- schema

def migrations_fingerprint() -> str:
    """Hash of every migration file: a new or edited migration (e.g. an index) changes it,
    so a cached database built from older migrations is not reused."""
    h = hashlib.sha256()
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def app_config(database_url: str, tmp: Path, **extra) -> dict:
    cfg = {
        "TESTING": False, "SECRET_KEY": "kepu-bench", "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp / "instance"), "UPLOAD_DIR": str(tmp / "uploads"),
        "SMS_BACKEND": "test", "RATELIMIT_ENABLED": False,
    }
    cfg.update(extra)
    return cfg


def migrate(app) -> None:
    """``flask db upgrade`` on the app's database (the schema and indexes that ship)."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))


# --------------------------------------------------------------------------- servers

@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        return children(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


def children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                kids.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return kids


def gunicorn_cmd(app_spec: str, port: int, workers: int = 2, worker_class: str = "sync",
                 threads: int = 1, extra: list[str] | None = None) -> list[str]:
    cmd = [str(BIN / "gunicorn"), "-w", str(workers), "-k", worker_class,
           "-b", f"127.0.0.1:{port}", "--timeout", "120", "--log-level", "warning"]
    if threads > 1:
        cmd += ["--threads", str(threads)]
    return cmd + list(extra or []) + [app_spec]


def start_server(name: str, cmd: list[str], env: dict, log: Path, health: str,
                 port: int, cwd: Path = ROOT, expect_workers: int | None = None) -> Server:
    out = open(log, "wb")
    proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(name, port, proc, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited:\n{server.log_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", health)
            status = conn.getresponse().status
            conn.close()
            if status == 200 and (expect_workers is None
                                  or len(server.workers()) >= expect_workers):
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise SystemExit(f"{name} did not start:\n{server.log_text()[-3000:]}")


# --------------------------------------------------------------------------- HTTP client

class Client:
    """Cookie-keeping HTTP/1.1 client on http.client, one keep-alive connection
    (reopened when the server closes it, as gunicorn's sync workers do)."""

    def __init__(self, port: int, timeout: float = 60):
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def _keep_cookies(self, resp: http.client.HTTPResponse) -> None:
        for header in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "expires=Thu, 01 Jan 1970" in header or "Max-Age=0" in header:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, str, http.client.HTTPResponse]:
        hdrs = {"User-Agent": USER_AGENT, **(headers or {})}
        if self.cookies:
            hdrs["Cookie"] = self.cookie_header()
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                       timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError, http.client.CannotSendRequest):
                # a keep-alive connection the server closed meanwhile: retry once on a
                # new connection (the request was not received)
                self.close()
                if attempt == 2:
                    raise
                continue
            if resp.will_close:
                self.close()
            self._keep_cookies(resp)
            return resp.status, data.decode("utf-8", "replace"), resp
        raise AssertionError("unreachable")

    def get(self, path: str, headers: dict | None = None):
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, fields: dict | list, headers: dict | None = None):
        body = urllib.parse.urlencode(fields, doseq=True).encode()
        return self.request("POST", path, body, {
            "Content-Type": "application/x-www-form-urlencoded", **(headers or {})})

    def post_multipart(self, path: str, fields: list[tuple[str, object]],
                       headers: dict | None = None):
        """multipart/form-data, as htmx posts a form with that enctype (FormData)."""
        boundary = "----kepubench" + os.urandom(8).hex()
        parts = []
        for name, value in fields:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                         f"\r\n\r\n{value}\r\n")
        parts.append(f"--{boundary}--\r\n")
        return self.request("POST", path, "".join(parts).encode(), {
            "Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})})

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'"X-CSRFToken": ?"([^"]+)"', html)
    if not m:
        raise SystemExit("no CSRF token found in the page")
    return m.group(1)


def login_form(client: Client, phone: str, password: str) -> None:
    """Log in through the real login form (password method)."""
    status, page, _ = client.get("/account/login")
    if status != 200:
        raise SystemExit(f"login page answered HTTP {status}")
    status, body, _ = client.post_form("/account/login", {
        "csrf_token": csrf_from(page), "method": "password", "phone": phone,
        "password": password})
    if status != 303:
        raise SystemExit(f"login of {phone} failed: HTTP {status}\n{body[:500]}")


USER_AGENT = "kepu-bench/1"


def signed_session(secret_key: str, data: dict) -> str:
    """A Flask session cookie value signed with ``secret_key``."""
    from flask import Flask

    app = Flask("kepu-bench-signer")
    app.secret_key = secret_key
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.dumps(data)


def server_session(user) -> str:
    """Store a login of ``user`` on the server (``kepu.accounts.sessions``) and return
    its token, for ``login_session``. Needs an app context; the caller commits."""
    import secrets

    from kepu.accounts.models import UserSession
    from kepu.accounts.sessions import _hash
    from kepu.extensions import db

    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, token_hash=_hash(token)))
    return token


def client_login(client, user) -> None:
    """Log ``user`` in on a Flask test ``client`` as the login form would (a server-side
    session row and its token in the session). Needs an app context."""
    from kepu.accounts.sessions import SESSION_KEY
    from kepu.extensions import db

    token = server_session(user)
    db.session.commit()
    with client.session_transaction() as sess:
        sess.clear()
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
        sess[SESSION_KEY] = token


def login_session(secret_key: str, user_id: str, token: str) -> str:
    """The session cookie a login sets for ``user_id`` (``User.get_id()``) with the
    server-side session ``token`` (``server_session``), for a client on 127.0.0.1
    sending ``USER_AGENT`` — including the session-protection identifier, so the
    server keeps the session unchanged."""
    from kepu.accounts.sessions import SESSION_KEY
    from flask import Flask
    from flask_login.utils import _create_identifier

    app = Flask("kepu-bench-signer")
    with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.1"},
                                  headers={"User-Agent": USER_AGENT}):
        ident = _create_identifier()
    return signed_session(secret_key, {"_user_id": user_id, "_fresh": True, "_id": ident,
                                       SESSION_KEY: token})


# --------------------------------------------------------------------------- wrk

@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: str
    non_2xx: int


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() == 0:
        print("installing Debian's wrk …", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False,
                       stdout=subprocess.DEVNULL)
        path = shutil.which("wrk")
        if not path:
            subprocess.run(["apt-get", "update", "-qq"], check=False)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True,
                           stdout=subprocess.DEVNULL)
            path = shutil.which("wrk")
    if not path:
        raise SystemExit("wrk is missing: apt-get install wrk")
    return path


def run_wrk(url: str, cookie: str | None, connections: int = 16, seconds: int = 10,
            threads: int = 2) -> WrkResult:
    cmd = [ensure_wrk(), f"-c{connections}", f"-t{threads}", f"-d{seconds}s", "--latency",
           "--timeout", "30s"]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return WrkResult(rps, _ms(p50.group(1)) if p50 else float("nan"),
                     _ms(p99.group(1)) if p99 else float("nan"), requests,
                     errors.group(1).strip() if errors else "",
                     int(non2xx.group(1)) if non2xx else 0)
