#!/usr/bin/env python
"""Peak memory of one app worker while a 100 MB file is uploaded.

Starts the real app (gunicorn, one sync worker; or the Werkzeug server) on a temp
SQLite database and upload dir, creates a temp user, logs in through the login form,
and streams a valid 100 MB PDF (``%PDF-`` header + random bytes) as multipart with
``http.client`` in 1 MB chunks, so the client never holds the file in memory either.
The worker's peak RSS (``VmHWM`` in ``/proc/<pid>/status``; for gunicorn the *worker*
pid, not the master's) is reset just before the upload (``echo 5 > clear_refs``, so the
login's scrypt peak does not hide anything) and read after it; the growth reported is
that peak minus the RSS just before the upload.

    .venv/bin/python bench/upload_memory.py                 # gunicorn -w 1, 100 MB
    .venv/bin/python bench/upload_memory.py --server werkzeug --size-mb 200

Exit status 1 when the peak grows by more than --threshold-mb (default 20), or when
the upload is not stored intact (size and SHA-256 checked in the database).
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHONE = "13900000000"
PASSWORD = "Bench@2026"
CHUNK = 1024 * 1024

SETUP = f"""
from kepu import create_app
from kepu.extensions import db
from kepu.accounts.models import User
app = create_app()
with app.app_context():
    db.create_all()
    u = User(phone={PHONE!r}, name="压测用户")
    u.set_password({PASSWORD!r})
    db.session.add(u)
    db.session.commit()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM of a process, in kB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0: write 5 to clear_refs)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


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


class Client:
    """Minimal cookie-keeping HTTP client on http.client."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def _conn(self, timeout: float = 600) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def _cookie_header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} \
            if self.cookies else {}

    def _keep_cookies(self, resp: http.client.HTTPResponse) -> None:
        for header in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, str]:
        conn = self._conn()
        conn.request(method, path, body=body, headers={**self._cookie_header(), **(headers or {})})
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        self._keep_cookies(resp)
        conn.close()
        return resp.status, data

    def upload(self, path: str, fields: dict[str, str], file_field: str, filename: str,
               file_path: Path, headers: dict) -> tuple[int, str]:
        """Stream a multipart body: preamble, the file in CHUNK pieces, epilogue."""
        boundary = "----kepubench" + secrets.token_hex(8)
        pre = b""
        for name, value in fields.items():
            pre += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\""
                    f"\r\n\r\n{value}\r\n").encode()
        pre += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; "
                f"filename=\"{filename}\"\r\nContent-Type: application/pdf\r\n\r\n").encode()
        post = f"\r\n--{boundary}--\r\n".encode()
        length = len(pre) + file_path.stat().st_size + len(post)
        conn = self._conn()
        conn.putrequest("POST", path)
        for k, v in {**self._cookie_header(), **headers,
                     "Content-Type": f"multipart/form-data; boundary={boundary}",
                     "Content-Length": str(length)}.items():
            conn.putheader(k, v)
        conn.endheaders()
        conn.send(pre)
        with open(file_path, "rb") as f:
            while chunk := f.read(CHUNK):
                conn.send(chunk)
        conn.send(post)
        resp = conn.getresponse()
        data = resp.read().decode("utf-8", "replace")
        conn.close()
        return resp.status, data


def make_file(path: Path, size: int) -> str:
    sha = hashlib.sha256()
    header = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    with open(path, "wb") as f:
        f.write(header)
        sha.update(header)
        left = size - len(header)
        while left > 0:
            chunk = os.urandom(min(CHUNK, left))
            f.write(chunk)
            sha.update(chunk)
            left -= len(chunk)
    return sha.hexdigest()


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
        re.search(r'"X-CSRFToken": "([^"]+)"', html)
    if not m:
        raise SystemExit("no CSRF token found in the page")
    return m.group(1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=int, default=100)
    ap.add_argument("--threshold-mb", type=float, default=20.0)
    ap.add_argument("--server", choices=("gunicorn", "werkzeug"), default="gunicorn")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="kepu-bench-"))
    env = {**os.environ,
           "KEPU_DATABASE_URL": f"sqlite:///{work / 'kepu.sqlite3'}",
           "KEPU_UPLOAD_DIR": str(work / "uploads"),
           "KEPU_SECRET_KEY": secrets.token_hex(16),
           "KEPU_SMS_BACKEND": "test",
           "KEPU_MAX_CONTENT_LENGTH": str((args.size_mb + 10) * 1024 * 1024),
           "PYTHONUNBUFFERED": "1"}
    server = None
    try:
        subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=env, check=True)
        port = free_port()
        bindir = Path(sys.executable).parent
        if args.server == "gunicorn":
            cmd = [str(bindir / "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}",
                   "--timeout", "600", "app:app"]
        else:
            cmd = [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port),
                   "--no-reload", "--no-debugger"]
        log = open(work / "server.log", "wb")
        server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        client = Client(port)
        for _ in range(200):
            try:
                if client.request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None:
                raise SystemExit("server exited:\n" + (work / "server.log").read_text())
            time.sleep(0.1)
        else:
            raise SystemExit("server did not start")
        if args.server == "gunicorn":
            kids = children(server.pid)
            if len(kids) != 1:
                raise SystemExit(f"expected one gunicorn worker, found {kids}")
            worker = kids[0]
        else:
            worker = server.pid

        # log in through the real login form
        status, page = client.request("GET", "/account/login")
        body = urllib.parse.urlencode({"csrf_token": csrf_from(page), "method": "password",
                                       "phone": PHONE, "password": PASSWORD}).encode()
        status, _ = client.request("POST", "/account/login", body,
                                   {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 303:
            raise SystemExit(f"login failed: HTTP {status}")
        status, page = client.request("GET", "/files/")
        if status != 200:
            raise SystemExit(f"/files/ answered HTTP {status}")
        headers = {"X-CSRFToken": csrf_from(page), "HX-Request": "true"}
        fields = {"field": "attachment", "target": "attachment"}

        # warm-up: one small upload so lazy imports and caches are not counted
        small = work / "warmup.pdf"
        make_file(small, 1024 * 1024)
        status, _ = client.upload("/files/upload", fields, "file", "warmup.pdf", small, headers)
        if status != 200:
            raise SystemExit(f"warm-up upload failed: HTTP {status}")

        big = work / "big.pdf"
        print(f"generating {args.size_mb} MB test file …", flush=True)
        digest = make_file(big, args.size_mb * 1024 * 1024)
        # The login's scrypt hash (~32 MB) already set a high peak: reset it so the
        # peak measured below belongs to the upload alone.
        was_reset = reset_peak(worker)
        before = proc_status(worker)

        samples: list[int] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                try:
                    samples.append(proc_status(worker)["VmRSS"])
                except OSError:
                    return
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.monotonic()
        status, body = client.upload("/files/upload", fields, "file", "科普作品-压测.pdf", big,
                                     headers)
        elapsed = time.monotonic() - t0
        stop.set()
        sampler.join()
        after = proc_status(worker)
        if status != 200:
            print(body[:2000])
            raise SystemExit(f"upload failed: HTTP {status}")

        with sqlite3.connect(work / "kepu.sqlite3") as db:
            size, sha, stored = db.execute(
                "SELECT size, sha256, stored_name FROM stored_file ORDER BY id DESC LIMIT 1"
            ).fetchone()
        on_disk = (work / "uploads" / stored[:2] / stored).stat().st_size
        intact = size == on_disk == args.size_mb * 1024 * 1024 and sha == digest
        tmp_left = list((work / "uploads" / "tmp").iterdir())

        # With the peak reset, growth = peak during the upload - RSS just before it.
        base = before["VmRSS"] if was_reset else before["VmHWM"]
        growth = (after["VmHWM"] - base) / 1024
        print(f"server            : {args.server} (worker pid {worker})")
        print(f"uploaded          : {args.size_mb} MB in {elapsed:.1f} s "
              f"({args.size_mb / elapsed:.0f} MB/s), HTTP {status}")
        print(f"stored intact     : {intact} (size {size}, sha256 {sha[:16]}…), "
              f"temp files left: {len(tmp_left)}")
        print(f"before upload     : VmRSS {before['VmRSS'] / 1024:.1f} MB, VmHWM "
              f"{before['VmHWM'] / 1024:.1f} MB (peak reset: {was_reset})")
        print(f"after upload      : VmRSS {after['VmRSS'] / 1024:.1f} MB, VmHWM "
              f"{after['VmHWM'] / 1024:.1f} MB")
        if samples:
            print(f"VmRSS sampled max : {max(samples) / 1024:.1f} MB over {len(samples)} samples")
        print(f"peak growth       : {growth:.1f} MB (threshold {args.threshold_mb} MB)")
        ok = intact and not tmp_left and growth <= args.threshold_mb
        print("RESULT            :", "OK" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        if args.keep:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
