"""Browser tests: the real app served by uvicorn on a free port (SQLite), driven by Playwright with Debian's
Chromium. No browser is ever downloaded: ``RETURNBRIDGE_CHROMIUM`` or ``/usr/bin/chromium`` is used, and a
missing one skips (or fails under RETURNBRIDGE_REQUIRE_SERVICES=1, as in CI, which installs it)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from returnbridge.config import Settings
from returnbridge.db.migrate import upgrade
from returnbridge.sync.runtime import Runtime
from returnbridge.web.app import create_app

from ..conftest import missing_service
from ..web.signing_in import PASSWORD, add_user

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

MAX_FAILURES = 3


def chromium_path() -> str:
    return os.environ.get("RETURNBRIDGE_CHROMIUM") or "/usr/bin/chromium"


@dataclass
class LiveServer:
    base_url: str
    runtime: Runtime

    def add_user(self, email: str, role: str, password: str = PASSWORD) -> str:
        add_user(self.runtime, email, role, password)
        return email


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    var_dir = tmp_path_factory.mktemp("browser-var")
    url = f"sqlite:///{var_dir / 'returnbridge.sqlite3'}"
    upgrade(url)
    port = _free_port()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, var_dir=Path(var_dir), database_url=url, secret_key="browser-test-secret-key",
        public_url=f"http://127.0.0.1:{port}", login_max_failures=MAX_FAILURES, login_ip_max_failures=1000,
    )
    runtime = Runtime.from_settings(settings)
    app = create_app(runtime, on_webhook=lambda _id: None)
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, name="browser-test-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", runtime)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        runtime.close()


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    executable = chromium_path()
    if not Path(executable).exists():
        missing_service(f"Chromium not found at {executable}: apt-get install chromium, or set RETURNBRIDGE_CHROMIUM")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def page(browser, server: LiveServer):  # type: ignore[no-untyped-def]
    """A fresh browser profile (no cookies) at desktop width; fails the test on any CSP violation or JS error."""
    context = browser.new_context(base_url=server.base_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page
    context.close()
    # A 4xx page (wrong password, 403) logs "Failed to load resource"; anything else is a real problem.
    assert [p for p in problems if "Failed to load resource" not in p] == []


def sign_in(page, email: str, password: str = PASSWORD, path: str = "/account") -> None:  # type: ignore[no-untyped-def]
    page.goto(path)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
