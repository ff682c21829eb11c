"""The case page in a real browser, against the TikTok emulator: reject with reason, comment and photo, approve a
received package, add a note, a viewer sees no actions; screenshots at desktop and phone width are saved under
``tests/browser/artifacts/`` (git-ignored)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Page, expect

from returnbridge.db.migrate import upgrade
from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.sync.ingest import refresh_case
from returnbridge.sync.records import merge_return_records
from returnbridge.sync.runtime import Runtime
from returnbridge.web.app import create_app

from ..contract.conftest import Control
from ..integration.conftest import APP_KEY, APP_SECRET, SERVICE_ID, connect_shop, make_settings
from ..integration.test_decisions import new_case, png, seller_records, shipped_case
from .conftest import LiveServer, _free_port, sign_in

ARTIFACTS = Path(__file__).parent / "artifacts"
_numbers = count(1)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(app_key=APP_KEY, app_secret=APP_SECRET, service_id=SERVICE_ID, seed_returns=5, seed=5,
                        rps=0) as server:
        yield server


@pytest.fixture(scope="module")
def control(emulator: EmulatorServer) -> Iterator[Control]:
    ctl = Control(emulator.base_url)
    yield ctl
    ctl.http.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, emulator: EmulatorServer) -> Iterator[LiveServer]:
    """The back-office on a free port (SQLite), its TikTok being the emulator."""
    var_dir = tmp_path_factory.mktemp("case-browser-var")
    url = f"sqlite:///{var_dir / 'returnbridge.sqlite3'}"
    upgrade(url)
    port = _free_port()
    settings = make_settings(url, emulator, var_dir, secret_key="browser-case-secret",
                             public_url=f"http://127.0.0.1:{port}")
    runtime = Runtime.from_settings(settings)
    app = create_app(runtime, on_webhook=lambda _id: None)
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, name="browser-case-web", daemon=True)
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


@pytest.fixture(scope="module")
def shop(server: LiveServer, control: Control) -> dict[str, Any]:
    us = control.shop("US")
    return {**us, "account_id": connect_shop(server.runtime, control, us)}


def a_case(server: LiveServer, control: Control, shop: dict[str, Any], kind: str = "REFUND") -> tuple[int, str]:
    case_id, tiktok_id = new_case(server.runtime, control, shop["account_id"], shop["id"], kind)
    refresh_case(server.runtime, case_id)
    merge_return_records(server.runtime, case_id)
    return case_id, tiktok_id


def user(server: LiveServer, role: str) -> str:
    return server.add_user(f"{role}-case{next(_numbers)}@example.com", role)


def overflow(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def test_an_agent_rejects_a_request_with_reason_comment_and_photo(
    page: Page, server: LiveServer, control: Control, shop: dict[str, Any], tmp_path: Path
) -> None:
    case_id, rid = a_case(server, control, shop)
    photo = tmp_path / "seal.png"
    photo.write_bytes(png())
    sign_in(page, user(server, "agent"), path=f"/cases/{case_id}")
    expect(page.get_by_role("heading", name=f"Return {rid}")).to_be_visible()
    page.get_by_text("Reject the request…").click()
    page.get_by_label("Reason").select_option(index=1)
    page.get_by_label("Comment").fill("The seal is intact — ختم سليم ✅")
    page.get_by_label("Evidence photos").set_input_files(str(photo))
    page.get_by_role("button", name="Reject the request").click()
    expect(page.get_by_role("status").first).to_contain_text("TikTok accepted: reject the request")
    assert control.request(rid)["return_status"] == "REFUND_OR_RETURN_REQUEST_REJECT"
    (record,) = seller_records(server.runtime, shop["account_id"], rid)
    assert record.note == "The seal is intact — ختم سليم ✅" and len(record.images) == 1
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("Decision: reject the request — done")
    expect(timeline).to_contain_text("The seal is intact — ختم سليم ✅")
    expect(page.get_by_role("heading", name="Actions").locator("..")).to_contain_text("expects no decision")


def test_an_agent_approves_a_received_package(
    page: Page, server: LiveServer, control: Control, shop: dict[str, Any]
) -> None:
    case_id, rid = shipped_case(server.runtime, control, shop["account_id"], shop["id"])
    refresh_case(server.runtime, case_id)
    sign_in(page, user(server, "agent"), path=f"/cases/{case_id}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Approve the received package").click()
    expect(page.get_by_role("status").first).to_contain_text("TikTok accepted: approve the received package")
    assert control.request(rid)["return_status"] == "RETURN_OR_REFUND_REQUEST_SUCCESS"
    expect(page.locator("dl.facts").first).to_contain_text("RETURN_OR_REFUND_REQUEST_SUCCESS")


def test_an_agent_adds_an_internal_note(
    page: Page, server: LiveServer, control: Control, shop: dict[str, Any]
) -> None:
    case_id, _ = a_case(server, control, shop)
    email = user(server, "agent")
    sign_in(page, email, path=f"/cases/{case_id}")
    page.get_by_label("Internal note").fill('Buyer called: <script>alert("x")</script> 📞')
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("status").first).to_have_text("Note added.")
    note = page.locator("li.event-note").first
    expect(note).to_contain_text('Buyer called: <script>alert("x")</script> 📞')
    expect(note).to_contain_text(email)


def test_a_viewer_sees_the_case_but_no_actions(
    page: Page, server: LiveServer, control: Control, shop: dict[str, Any]
) -> None:
    case_id, rid = a_case(server, control, shop)
    sign_in(page, user(server, "viewer"), path=f"/cases/{case_id}")
    expect(page.get_by_role("heading", name=f"Return {rid}")).to_be_visible()
    expect(page.get_by_role("heading", name="Actions")).to_have_count(0)
    expect(page.locator("form[action$='/decide']")).to_have_count(0)
    expect(page.get_by_label("Internal note")).to_have_count(0)
    expect(page.get_by_role("button", name="Re-sync from TikTok")).to_have_count(0)
    status = page.evaluate(f"fetch('/cases/{case_id}/notes', {{method: 'POST'}}).then(r => r.status)")
    assert status == 403


@pytest.mark.parametrize("width", [1280, 375])
def test_case_page_screenshots_fit_the_screen(
    browser, server: LiveServer, control: Control, shop: dict[str, Any], width: int,  # type: ignore[no-untyped-def]
) -> None:
    case_id, _ = a_case(server, control, shop, "RETURN_AND_REFUND")
    context = browser.new_context(base_url=server.base_url, viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, user(server, "agent"), path=f"/cases/{case_id}")
        expect(page.locator(".countdown")).to_have_text(re.compile(r"(\d+ d \d+ h|\d+ h \d+ min|\d+ min) left"))
        page.get_by_text("Reject the request…").click()
        wide = page.evaluate("""Array.from(document.querySelectorAll('body *'))
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 8)""")
        assert overflow(page) == 0, wide
        ARTIFACTS.mkdir(exist_ok=True)
        target = ARTIFACTS / f"case-page-{width}.png"
        page.screenshot(path=str(target), full_page=True)
        print(f"screenshot: {target}")
        assert target.stat().st_size > 10_000
    finally:
        context.close()
