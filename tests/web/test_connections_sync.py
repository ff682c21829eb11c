"""Connections page, Settings page and Sync Returns over HTTP, on SQLite and PostgreSQL, with the TikTok emulator
over real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from huey import MemoryHuey
from sqlalchemy import func, select

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, SyncRun, SyncState, TikTokAccount
from returnbridge.db.repositories import app_settings as settings_repo
from returnbridge.domain.roles import Role
from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.sync import ingest
from returnbridge.sync.jobs import Jobs
from returnbridge.sync.runtime import Runtime
from returnbridge.web.app import create_app

from ..integration.conftest import APP_KEY, APP_SECRET, Control, connect_shop, fresh_shop, make_settings
from .signing_in import csrf_token_in, sign_in_as

SEARCH_RETURNS = "/return_refund/202602/returns/search"  # the version ingest reads


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(app_key=APP_KEY, app_secret=APP_SECRET, service_id="web-it", seed_returns=0, seed=5,
                        rps=0) as server:
        yield server


@pytest.fixture(scope="module")
def control(emulator: EmulatorServer) -> Iterator[Control]:
    ctl = Control(emulator.base_url)
    yield ctl
    ctl.http.close()


@pytest.fixture
def runtime(db_url: str, emulator: EmulatorServer, tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime.from_settings(make_settings(db_url, emulator, tmp_path / "var"))
    yield rt
    rt.close()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime, on_webhook=lambda _id: None)) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def no_leftover_faults(control: Control) -> Iterator[None]:
    yield
    control("DELETE", "/faults")


def csrf(client: TestClient, path: str = "/connections") -> str:
    return csrf_token_in(client.get(path).text)


def case_count(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


def read_events(client: TestClient, run_id: int, timeout: float = 60) -> list[tuple[str, dict[str, Any]]]:
    """Every event of the run's stream, until the server closes it."""
    events: list[tuple[str, dict[str, Any]]] = []
    started = time.monotonic()
    with client.stream("GET", f"/sync/{run_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in response.iter_lines():
            assert time.monotonic() - started < timeout, "the stream did not end"
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
    return events


# --- Connections --------------------------------------------------------------------------------------------------


def test_connections_page_shows_each_shops_health(client: TestClient, runtime: Runtime, control: Control) -> None:
    healthy = fresh_shop(control, returns=12, cancellations=3)
    failing = fresh_shop(control, returns=2)
    healthy_id = connect_shop(runtime, control, healthy)
    failing_id = connect_shop(runtime, control, failing)
    ingest.pull_account(runtime, healthy_id)
    with transaction(runtime.sessions) as session:
        session.add(SyncState(account_id=failing_id, stream="returns", last_error="TransientError: TikTok said 503",
                              last_error_at=datetime.now(UTC) - timedelta(minutes=4), consecutive_failures=3))
        expired = session.get(TikTokAccount, failing_id)
        assert expired is not None
        expired.status = "expired"
        expired.status_reason = "the authorization expired on 2026-01-01 00:00 UTC: reconnect the shop"
    sign_in_as(client, runtime, Role.ADMIN)

    page = client.get("/connections")

    assert page.status_code == 200
    html = page.text
    healthy_row = html.split(f'data-shop-id="{healthy["id"]}"')[1].split("</tr>")[0]
    failing_row = html.split(f'data-shop-id="{failing["id"]}"')[1].split("</tr>")[0]
    assert "Active" in healthy_row and "US" in healthy_row
    assert "Last poll" in healthy_row and "s ago" in healthy_row  # polled seconds ago
    assert "none" in healthy_row  # no error
    assert "token renews in" in healthy_row and "authorization ends 20" in healthy_row
    assert "Expired" in failing_row
    assert "the authorization expired on 2026-01-01 00:00 UTC: reconnect the shop" in failing_row
    assert "TransientError: TikTok said 503" in failing_row
    assert "4 min ago, 3 failures in a row" in failing_row
    assert "never" in failing_row  # never polled
    # A sync of the expired shop is not offered; reconnecting it is.
    assert f'name="account_id" value="{failing_id}"' not in failing_row
    assert "Reconnect" in failing_row and 'href="/connect/tiktok"' in failing_row
    assert 'href="/connect/tiktok"' in html.split("<table")[0]  # "Connect a TikTok shop" above the table


def test_lag_is_the_age_of_the_newest_change_we_hold(client: TestClient, runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=3)
    account_id = connect_shop(runtime, control, shop)
    ingest.pull_account(runtime, account_id)
    with transaction(runtime.sessions) as session:
        for case in session.scalars(select(Case).where(Case.account_id == account_id)):
            case.tiktok_update_time = datetime.now(UTC) - timedelta(hours=2, minutes=30)
    sign_in_as(client, runtime, Role.VIEWER)
    row = client.get("/connections").text.split(f'data-shop-id="{shop["id"]}"')[1].split("</tr>")[0]
    assert "2 h 30 min" in row


def test_admin_disconnects_a_shop(client: TestClient, runtime: Runtime, control: Control) -> None:
    account_id = connect_shop(runtime, control, fresh_shop(control, returns=1))
    sign_in_as(client, runtime, Role.ADMIN)
    token = csrf(client)

    answer = client.post(f"/connections/{account_id}/disconnect", data={"csrf_token": token},
                         follow_redirects=False)

    assert answer.status_code == 303 and answer.headers["location"] == "/connections"
    with transaction(runtime.sessions) as session:
        account = session.get(TikTokAccount, account_id)
        assert account is not None
        assert account.status == "disabled" and account.status_reason == "Disconnected by admin@example.com"
    page = client.get("/connections").text
    assert "is disconnected" in page and "Disabled" in page and "Disconnected by admin@example.com" in page


def test_disconnect_needs_an_admin_and_a_csrf_token(client: TestClient, runtime: Runtime, control: Control) -> None:
    account_id = connect_shop(runtime, control, fresh_shop(control, returns=1))
    sign_in_as(client, runtime, Role.AGENT)
    token = csrf(client)
    assert client.post(f"/connections/{account_id}/disconnect", data={"csrf_token": token}).status_code == 403
    client.cookies.clear()
    sign_in_as(client, runtime, Role.ADMIN)
    assert client.post(f"/connections/{account_id}/disconnect").status_code == 403
    with transaction(runtime.sessions) as session:
        assert session.get(TikTokAccount, account_id).status == "active"  # type: ignore[union-attr]


def test_viewer_sees_connections_without_actions(client: TestClient, runtime: Runtime, control: Control) -> None:
    account_id = connect_shop(runtime, control, fresh_shop(control, returns=1))
    sign_in_as(client, runtime, Role.VIEWER)
    page = client.get("/connections")
    assert page.status_code == 200
    assert "Test shop" in page.text
    assert "/disconnect" not in page.text and 'action="/sync"' not in page.text
    assert f'value="{account_id}"' not in page.text


# --- Settings -----------------------------------------------------------------------------------------------------


def test_settings_start_from_the_environment_defaults(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, Role.ADMIN)
    page = client.get("/settings").text
    assert 'name="sync_interval_minutes" type="number"' in page
    assert f'value="{runtime.settings.sync_interval_minutes}"' in page
    assert 'value="current" checked' in page
    assert "Aftersale Applying" in page and "Request Pending" in page


@pytest.mark.parametrize("interval", ["0", "-3", "abc", "", "1.5", "99999999"])
def test_an_invalid_interval_is_refused_on_the_form(client: TestClient, runtime: Runtime, interval: str) -> None:
    sign_in_as(client, runtime, Role.ADMIN)
    token = csrf(client, "/settings")
    answer = client.post("/settings", data={"csrf_token": token, "tab_labels": "legacy",
                                            "sync_interval_minutes": interval})
    assert answer.status_code == 400
    assert "The sync interval must be a whole number of minutes" in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert 'value="legacy" checked' in answer.text  # what was typed stays on the form
    with transaction(runtime.sessions) as session:
        assert settings_repo.all_values(session) == {}


def test_an_unknown_label_set_is_refused(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, Role.ADMIN)
    answer = client.post("/settings", data={"csrf_token": csrf(client, "/settings"), "tab_labels": "klingon",
                                            "sync_interval_minutes": "5"})
    assert answer.status_code == 400 and "Choose one of the tab label sets." in answer.text


def test_saved_settings_persist_and_show(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, Role.ADMIN)
    answer = client.post("/settings", data={"csrf_token": csrf(client, "/settings"), "tab_labels": "legacy",
                                            "sync_interval_minutes": "17"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/settings"
    page = client.get("/settings").text
    assert "Settings saved." in page
    assert 'value="17"' in page and 'value="legacy" checked' in page
    assert 'name="fetch_records" value="1" checked' not in page  # unticked box = off
    with transaction(runtime.sessions) as session:
        assert settings_repo.all_values(session) == {"tab_labels": "legacy", "sync_interval_minutes": 17,
                                                     "fetch_records": False}


def test_viewer_reads_settings_but_cannot_change_them(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, Role.VIEWER)
    page = client.get("/settings")
    assert page.status_code == 200 and "Only an administrator can change these settings." in page.text
    assert "Save settings" not in page.text
    answer = client.post("/settings", data={"csrf_token": csrf_token_in(page.text), "tab_labels": "legacy",
                                            "sync_interval_minutes": "9"})
    assert answer.status_code == 403


def test_settings_post_without_csrf_token_is_refused(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, Role.ADMIN)
    answer = client.post("/settings", data={"tab_labels": "legacy", "sync_interval_minutes": "9"})
    assert answer.status_code == 403
    with transaction(runtime.sessions) as session:
        assert settings_repo.all_values(session) == {}


def test_the_scheduler_uses_the_interval_saved_in_settings(
    client: TestClient, runtime: Runtime, control: Control
) -> None:
    account_id = connect_shop(runtime, control, fresh_shop(control, returns=2))
    jobs = Jobs(runtime, MemoryHuey("settings-test", immediate=True))
    jobs.sweep()
    with transaction(runtime.sessions) as session:
        started = session.get(SyncState, (account_id, "returns")).last_poll_started_at  # type: ignore[union-attr]
    assert started is not None
    eight_minutes_later = started + timedelta(minutes=8)
    # The environment's 5 minutes would make the shop due after 8 minutes ...
    assert jobs.sweep(now=eight_minutes_later)["pulls"] == 1
    with transaction(runtime.sessions) as session:
        started = session.get(SyncState, (account_id, "returns")).last_poll_started_at  # type: ignore[union-attr]
    sign_in_as(client, runtime, Role.ADMIN)
    client.post("/settings", data={"csrf_token": csrf(client, "/settings"), "tab_labels": "current",
                                   "sync_interval_minutes": "30"})
    # ... the 30 saved on the Settings page do not, until 30 minutes have passed.
    assert jobs.sweep(now=started + timedelta(minutes=8))["pulls"] == 0
    assert jobs.sweep(now=started + timedelta(minutes=31))["pulls"] == 1


# --- Sync Returns -------------------------------------------------------------------------------------------------


def test_sync_returns_streams_progress_and_a_summary(client: TestClient, runtime: Runtime, control: Control) -> None:
    shop = fresh_shop(control, returns=120, cancellations=30)
    connect_shop(runtime, control, shop)
    # Slow pages, so the stream has progress to show before the end.
    control("POST", "/faults", {"path_prefix": SEARCH_RETURNS, "count": 4, "code": None, "delay_ms": 300})
    sign_in_as(client, runtime, Role.AGENT)

    answer = client.post("/sync", headers={"x-csrf-token": csrf(client), "accept": "application/json"})

    assert answer.status_code == 202
    body = answer.json()
    assert body["reused"] is False
    assert body["events_url"] == f"/sync/{body['run_id']}/events"
    events = read_events(client, body["run_id"])
    names = [name for name, _ in events]
    assert names[-1] == "summary" and names.count("summary") == 1
    progress = [data for name, data in events if name == "progress"]
    assert len(progress) >= 2
    assert any(0 < data["received"] < 150 for data in progress)  # seen part-way
    summary = events[-1][1]
    assert summary["state"] == "done" and summary["received"] == 150 and summary["created"] == 150
    assert summary["percent"] == 100
    assert summary["shops"][0]["state"] == "done" and summary["shops"][0]["region"] == "US"
    assert case_count(runtime) == 150
    page = client.get(f"/sync/{body['run_id']}")
    assert page.status_code == 200 and "Done" in page.text and "agent@example.com" in page.text


def test_sync_of_one_shop_pulls_only_that_shop(client: TestClient, runtime: Runtime, control: Control) -> None:
    first = connect_shop(runtime, control, fresh_shop(control, returns=5))
    connect_shop(runtime, control, fresh_shop(control, returns=7))
    sign_in_as(client, runtime, Role.ADMIN)
    answer = client.post("/sync", data={"csrf_token": csrf(client), "account_id": str(first)},
                         follow_redirects=False)
    assert answer.status_code == 303
    run_id = int(answer.headers["location"].rsplit("/", 1)[1])
    assert read_events(client, run_id)[-1][1]["received"] == 5
    with transaction(runtime.sessions) as session:
        held = dict(session.execute(select(Case.account_id, func.count()).group_by(Case.account_id)).all())
    assert held == {first: 5}


def test_a_second_press_while_running_reuses_the_run(client: TestClient, runtime: Runtime, control: Control) -> None:
    connect_shop(runtime, control, fresh_shop(control, returns=60))
    control("POST", "/faults", {"path_prefix": SEARCH_RETURNS, "count": 3, "code": None, "delay_ms": 500})
    sign_in_as(client, runtime, Role.AGENT)
    headers = {"x-csrf-token": csrf(client), "accept": "application/json"}

    first = client.post("/sync", headers=headers).json()
    second = client.post("/sync", headers=headers).json()

    assert second == {**first, "reused": True}
    assert read_events(client, first["run_id"])[-1][1]["state"] == "done"
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(SyncRun)) == 1
    assert client.post("/sync", headers=headers).json()["run_id"] != first["run_id"]  # once done, a new run


def test_sync_with_no_active_shop_says_so(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, Role.AGENT)
    answer = client.post("/sync", headers={"x-csrf-token": csrf(client), "accept": "application/json"})
    assert answer.status_code == 409
    assert answer.json()["detail"].startswith("No active TikTok shop is connected")


def test_viewer_cannot_start_a_sync(client: TestClient, runtime: Runtime, control: Control) -> None:
    connect_shop(runtime, control, fresh_shop(control, returns=1))
    sign_in_as(client, runtime, Role.VIEWER)
    answer = client.post("/sync", headers={"x-csrf-token": csrf(client), "accept": "application/json"})
    assert answer.status_code == 403
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(SyncRun)) == 0


def test_sync_without_csrf_token_is_refused(client: TestClient, runtime: Runtime, control: Control) -> None:
    connect_shop(runtime, control, fresh_shop(control, returns=1))
    sign_in_as(client, runtime, Role.ADMIN)
    assert client.post("/sync", headers={"accept": "application/json"}).status_code == 403
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(SyncRun)) == 0


def test_a_failing_shop_is_reported_and_the_run_fails(client: TestClient, runtime: Runtime, control: Control) -> None:
    connect_shop(runtime, control, fresh_shop(control, returns=3))
    control("POST", "/faults", {"path_prefix": SEARCH_RETURNS, "count": 50, "code": 36009003, "http_status": 200})
    sign_in_as(client, runtime, Role.AGENT)
    run_id = client.post("/sync", headers={"x-csrf-token": csrf(client), "accept": "application/json"}).json()["run_id"]
    summary = read_events(client, run_id, timeout=120)[-1][1]
    assert summary["state"] == "failed"
    assert summary["shops"][0]["state"] == "failed" and summary["shops"][0]["error"]
    assert summary["error"].startswith("Test shop: ")


def test_a_run_handed_to_the_job_queue_pulls_and_fetches_records(runtime: Runtime, control: Control) -> None:
    from returnbridge.sync.sync_runs import run_view, start_run

    connect_shop(runtime, control, fresh_shop(control, returns=4))
    jobs = Jobs(runtime, MemoryHuey("sync-run-test", immediate=True))
    started = start_run(runtime, started_by="cli@example.com")
    jobs.sync_run(started.run_id)
    view = run_view(runtime, started.run_id)
    assert view is not None and view.state == "done" and view.received == 4
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(Case).where(Case.records_due.is_(True))) == 0


def test_a_run_whose_process_died_does_not_block_a_new_one(
    client: TestClient, runtime: Runtime, control: Control
) -> None:
    account_id = connect_shop(runtime, control, fresh_shop(control, returns=2))
    with transaction(runtime.sessions) as session:
        dead = SyncRun(started_by="gone@example.com", account_ids=[account_id], shops=[], state="running", received=0,
                       created=0, started_at=datetime.now(UTC) - timedelta(minutes=10),
                       heartbeat_at=datetime.now(UTC) - timedelta(minutes=5), error="")
        session.add(dead)
        session.flush()
        dead_id = dead.id
    sign_in_as(client, runtime, Role.AGENT)
    answer = client.post("/sync", headers={"x-csrf-token": csrf(client), "accept": "application/json"}).json()
    assert answer["run_id"] != dead_id and answer["reused"] is False
    assert read_events(client, answer["run_id"])[-1][1]["state"] == "done"
    with transaction(runtime.sessions) as session:
        abandoned = session.get(SyncRun, dead_id)
        assert abandoned is not None and abandoned.state == "failed"
        assert abandoned.error == "The process running this sync stopped before it finished."
