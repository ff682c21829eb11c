"""In Chromium: Sync Returns on the Connections page shows live progress and then its summary without leaving the
page; an admin changes the settings (and sees a wrong value refused on the form)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import expect
from sqlalchemy import func, select

from returnbridge.db.engine import transaction
from returnbridge.db.migrate import upgrade
from returnbridge.db.models import Case
from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.sync.runtime import Runtime
from returnbridge.web.app import create_app

from ..integration.conftest import APP_KEY, APP_SECRET, Control, connect_shop, fresh_shop, make_settings
from .conftest import LiveServer, _free_port, sign_in

SEARCH_RETURNS = "/return_refund/202602/returns/search"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(app_key=APP_KEY, app_secret=APP_SECRET, service_id="browser-it", seed=9, rps=0) as server:
        yield server


@pytest.fixture(scope="module")
def control(emulator: EmulatorServer) -> Iterator[Control]:
    ctl = Control(emulator.base_url)
    yield ctl
    ctl.http.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, emulator: EmulatorServer) -> Iterator[LiveServer]:
    """The app wired to the emulator (overrides the plain server of the browser conftest for this module)."""
    var_dir = Path(tmp_path_factory.mktemp("browser-sync-var"))
    url = f"sqlite:///{var_dir / 'returnbridge.sqlite3'}"
    upgrade(url)
    port = _free_port()
    runtime = Runtime.from_settings(make_settings(url, emulator, var_dir, public_url=f"http://127.0.0.1:{port}"))
    uv = uvicorn.Server(uvicorn.Config(create_app(runtime, on_webhook=lambda _id: None), host="127.0.0.1",
                                       port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, name="browser-sync-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the web server did not start"
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", runtime)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        runtime.close()


def test_sync_returns_shows_live_progress_and_a_summary(page, server: LiveServer, control: Control) -> None:  # type: ignore[no-untyped-def]
    connect_shop(server.runtime, control, fresh_shop(control, returns=150, cancellations=20))
    # Slow pages: the progress must be visible while the pull is still going.
    control("POST", "/faults", {"path_prefix": SEARCH_RETURNS, "count": 4, "code": None, "delay_ms": 500})
    sign_in(page, server.add_user("syncing-agent@example.com", "agent"), path="/connections")
    expect(page.get_by_role("heading", name="Connections")).to_be_visible()

    page.get_by_role("button", name="Sync Returns").click()

    panel = page.locator(".sync-returns [data-sync-progress]")
    expect(panel).to_be_visible()
    expect(panel.locator("[data-sync-status]")).to_contain_text("Syncing…")
    expect(panel.locator("progress")).to_be_visible()
    summary = panel.locator("[data-sync-summary]")
    expect(summary).to_contain_text("170 records received, 170 new cases", timeout=30_000)
    expect(panel.locator("[data-sync-status]")).to_have_text("Sync finished.")
    assert panel.locator("progress").evaluate("bar => bar.value") == 100
    assert page.url.endswith("/connections")  # never left the page
    with transaction(server.runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(Case)) >= 170
    summary.get_by_role("link", name="Details").click()
    expect(page.get_by_role("heading", name="Sync Returns #")).to_be_visible()
    expect(page.locator("[data-run-state]")).to_have_text("Done")


def test_admin_changes_the_settings(page, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, server.add_user("settings-admin@example.com", "admin"), path="/settings")
    page.get_by_label("Poll every shop every … minutes").fill("0")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".field-error")).to_contain_text("whole number of minutes")

    page.get_by_label("Aftersale Applying", exact=False).check()
    page.get_by_label("Poll every shop every … minutes").fill("12")
    page.get_by_role("button", name="Save settings").click()

    expect(page.get_by_role("status")).to_contain_text("Settings saved.")
    expect(page.get_by_label("Poll every shop every … minutes")).to_have_value("12")
    expect(page.get_by_label("Aftersale Applying", exact=False)).to_be_checked()
