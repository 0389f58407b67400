"""Browser tests: a live kepu server in a thread, driven by Debian's Chromium.

`playwright install` cannot download browsers here, so we launch /usr/bin/chromium.
The server uses the console SMS backend, so tests read codes from
<instance>/sms_outbox.jsonl exactly as a person running the demo would.
"""
from __future__ import annotations

import json
import re
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("KEPU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium fonts-noto-cjk")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


class LiveServer:
    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=5)

    # -- helpers ------------------------------------------------------------
    @property
    def outbox_path(self) -> Path:
        return Path(self.app.instance_path) / "sms_outbox.jsonl"

    def sms_code(self, phone: str, purpose: str | None = None, timeout: float = 5.0) -> str:
        """The newest code sent to ``phone``, read from the console outbox file."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.outbox_path.exists():
                lines = self.outbox_path.read_text(encoding="utf-8").splitlines()
                for line in reversed(lines):
                    msg = json.loads(line)
                    if msg["phone"] == phone and (purpose is None or msg["purpose"] == purpose):
                        return msg["code"]
            time.sleep(0.1)
        raise AssertionError(f"no SMS code for {phone} in {self.outbox_path}")

    def run(self, fn, *args, **kwargs):
        """Run ``fn`` inside an app context (to seed data directly)."""
        with self.app.app_context():
            return fn(*args, **kwargs)


@pytest.fixture
def live_server(app_factory):
    app = app_factory(SMS_BACKEND="console", DEMO_MODE=True, WTF_CSRF_ENABLED=True,
                      SERVER_NAME=None, SMS_RESEND_SECONDS=1)
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture
def shots(request):
    """Save screenshots under screenshots/<test name>-<label>.png (for looking at)."""
    folder = Path(__file__).resolve().parents[2] / "screenshots"
    folder.mkdir(exist_ok=True)

    def take(page, label: str, full_page: bool = True):
        path = folder / f"{request.node.name}-{label}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


# Status codes the app answers on purpose to an action (a refused decision, a form with
# errors); Chromium still logs "Failed to load resource" for them.
EXPECTED_STATUS = re.compile(r"Failed to load resource: the server responded with a status of (409|422)\b")
# The test server (Werkzeug's, threaded) sometimes resets a connection for a static file
# when the machine is loaded: the test infrastructure, not the page. Only for /static/.
SERVER_RESET = re.compile(r"Failed to load resource: net::ERR_CONNECTION_RESET")


@pytest.fixture(autouse=True)
def console_errors(monkeypatch):
    """Every browser context of a test reports console errors and uncaught page errors
    here (an htmx:syntax:error in a trigger is a console error); the test fails on any."""
    from playwright.sync_api import Browser

    errors: list[str] = []

    def watch(ctx):
        def on_console(msg):
            if msg.type != "error" or EXPECTED_STATUS.search(msg.text):
                return
            if SERVER_RESET.search(msg.text) and "/static/" in msg.location.get("url", ""):
                return
            errors.append(f"console.error: {msg.text} ({msg.location.get('url', '')})")

        ctx.on("console", on_console)
        ctx.on("weberror", lambda err: errors.append(f"page error: {err.error}"))
        return ctx

    original = Browser.new_context

    def new_context(self, *args, **kwargs):
        return watch(original(self, *args, **kwargs))

    monkeypatch.setattr(Browser, "new_context", new_context)
    yield errors
    assert not errors, "browser console errors:\n" + "\n".join(errors)
