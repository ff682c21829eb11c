"""POST /webhooks/tiktok: signature check, store-once intake, quarantine, and a real delivery from the emulator.

Runs on SQLite and PostgreSQL (``runtime`` is parametrized over both)."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, QuarantinedRecord, WebhookInbox
from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.webhooks import WebhookIntake, process_webhook
from returnbridge.tiktok import webhook_signature
from returnbridge.web.app import create_app
from returnbridge.web.webhooks import MAX_BODY_BYTES

from .conftest import APP_KEY, APP_SECRET, Control, make_settings

SHOP_ID = "7495540735365777507"
_ids = itertools.count(7_100_000_000_000_000_000)


def notification(type_: int = 12, *, shop_id: str = SHOP_ID, notification_id: str | None = None,
                 data: dict[str, Any] | None = None, timestamp: int | None = None) -> bytes:
    body = {
        "type": type_,
        "tts_notification_id": notification_id or str(next(_ids)),
        "shop_id": shop_id,
        "timestamp": timestamp if timestamp is not None else int(time.time()),
        "data": data if data is not None else {
            "return_id": "4035000000000001", "return_status": "RETURN_OR_REFUND_REQUEST_PENDING",
            "order_id": "576000000000000001", "update_time": int(time.time()),
        },
    }
    return orjson.dumps(body)


def signed(body: bytes) -> dict[str, str]:
    return {"Authorization": webhook_signature(APP_KEY, APP_SECRET, body), "Content-Type": "application/json"}


class Recorder:
    """Stands in for the job layer: remembers every inbox id it was asked to process."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, inbox_id: int) -> None:
        with self._lock:
            self.ids.append(inbox_id)


@pytest.fixture
def enqueued() -> Recorder:
    return Recorder()


@pytest.fixture
def app(runtime: Runtime, enqueued: Recorder) -> FastAPI:
    return create_app(runtime, on_webhook=enqueued)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def woken(app: FastAPI, enqueued: Recorder) -> list[int]:
    """The inbox ids ``on_webhook`` was called with, once every wake-up handed over so far has been delivered."""
    app.state.webhook_waker.join()
    return enqueued.ids


class LiveServer:
    """The app under uvicorn on a free port in a thread: real sockets, for deliveries from the emulator."""

    def __init__(self, app: FastAPI
) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the app did not start under uvicorn"
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live(app: FastAPI) -> Iterator[LiveServer]:
    server = LiveServer(app)
    yield server
    server.stop()


def inbox(runtime: Runtime) -> list[WebhookInbox]:
    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(WebhookInbox).order_by(WebhookInbox.id)))


def quarantined(runtime: Runtime) -> list[QuarantinedRecord]:
    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(QuarantinedRecord).order_by(QuarantinedRecord.id)))


# --- signature ---------------------------------------------------------------------------------------------------


def test_signed_webhook_is_stored_verbatim_and_acknowledged_with_an_empty_200(
    client: TestClient, runtime: Runtime, enqueued: Recorder, app: FastAPI
) -> None:
    body = notification(12, notification_id="7000000000000000001")
    response = client.post("/webhooks/tiktok", content=body, headers=signed(body))
    assert response.status_code == 200
    assert response.content == b""
    [row] = inbox(runtime)
    assert (row.notification_id, row.shop_id, row.type, row.state) == ("7000000000000000001", SHOP_ID, 12, "pending")
    assert row.body.encode() == body
    assert woken(app, enqueued) == [row.id]


def test_forged_signature_is_refused_with_401_an_empty_body_and_nothing_stored(
    client: TestClient, runtime: Runtime, enqueued: Recorder, app: FastAPI
) -> None:
    body = notification(12)
    forged = webhook_signature(APP_KEY, "not-the-app-secret", body)
    response = client.post("/webhooks/tiktok", content=body, headers={"Authorization": forged})
    assert response.status_code == 401
    assert response.content == b""
    assert inbox(runtime) == []
    assert quarantined(runtime) == []
    assert woken(app, enqueued) == []


def test_missing_authorization_header_is_refused_with_401(client: TestClient, runtime: Runtime) -> None:
    response = client.post("/webhooks/tiktok", content=notification(12))
    assert response.status_code == 401
    assert response.content == b""
    assert inbox(runtime) == []


def test_body_changed_after_signing_is_refused(client: TestClient, runtime: Runtime) -> None:
    body = notification(12, shop_id=SHOP_ID)
    tampered = body.replace(SHOP_ID.encode(), b"7495540735365777508")
    response = client.post("/webhooks/tiktok", content=tampered, headers=signed(body))
    assert response.status_code == 401
    assert inbox(runtime) == []


def test_unsigned_garbage_is_refused_and_not_quarantined(client: TestClient, runtime: Runtime) -> None:
    response = client.post("/webhooks/tiktok", content=b"{not json", headers={"Authorization": "abc"})
    assert response.status_code == 401
    assert quarantined(runtime) == []


# --- store once --------------------------------------------------------------------------------------------------


def test_duplicate_notification_is_acknowledged_stored_once_and_enqueued_once(
    client: TestClient, runtime: Runtime, enqueued: Recorder, app: FastAPI
) -> None:
    body = notification(12, notification_id="7000000000000000002")
    first = client.post("/webhooks/tiktok", content=body, headers=signed(body))
    again = client.post("/webhooks/tiktok", content=body, headers=signed(body))
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == b""
    rows = inbox(runtime)
    assert len(rows) == 1
    assert woken(app, enqueued) == [rows[0].id]


def test_same_notification_id_with_another_body_keeps_the_first(client: TestClient, runtime: Runtime) -> None:
    first = notification(12, notification_id="7000000000000000003", timestamp=1_750_000_000)
    replay = notification(12, notification_id="7000000000000000003", timestamp=1_750_000_999)
    client.post("/webhooks/tiktok", content=first, headers=signed(first))
    response = client.post("/webhooks/tiktok", content=replay, headers=signed(replay))
    assert response.status_code == 200
    [row] = inbox(runtime)
    assert row.body.encode() == first


def test_simultaneous_deliveries_of_one_notification_store_one_row(
    live: LiveServer, runtime: Runtime, enqueued: Recorder, app: FastAPI
) -> None:
    body = notification(12, notification_id="7000000000000000004")

    def deliver(_: int) -> int:
        return httpx.post(f"{live.url}/webhooks/tiktok", content=body, headers=signed(body), timeout=10).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(deliver, range(16)))
    assert statuses == [200] * 16
    rows = inbox(runtime)
    assert len(rows) == 1
    assert woken(app, enqueued) == [rows[0].id]


def test_an_older_status_arriving_after_a_newer_one_is_stored_too(client: TestClient, runtime: Runtime) -> None:
    newer = notification(12, data={"return_id": "4035000000000009", "return_status": "RETURN_OR_REFUND_REQUEST_SUCCESS",
                                   "update_time": 1_750_000_500})
    older = notification(12, data={"return_id": "4035000000000009", "return_status": "RETURN_OR_REFUND_REQUEST_PENDING",
                                   "update_time": 1_750_000_100})
    for body in (newer, older):
        assert client.post("/webhooks/tiktok", content=body, headers=signed(body)).status_code == 200
    assert [row.body.encode() for row in inbox(runtime)] == [newer, older]


def test_enqueue_failure_still_acknowledges_the_stored_webhook(runtime: Runtime) -> None:
    def broken_queue(_inbox_id: int) -> None:
        raise ConnectionError("queue unreachable")

    body = notification(12)
    with TestClient(create_app(runtime, on_webhook=broken_queue)) as test_client:
        response = test_client.post("/webhooks/tiktok", content=body, headers=signed(body))
    assert response.status_code == 200
    [row] = inbox(runtime)
    assert row.state == "pending"  # the sweep of pending rows will process it


def test_acknowledgement_does_not_wait_for_the_job_queue(runtime: Runtime) -> None:
    released = threading.Event()
    called = threading.Event()

    def stuck_queue(_inbox_id: int) -> None:
        called.set()
        released.wait(10)  # a queue that hangs (say Redis reconnecting) for far longer than TikTok's 3 s

    body = notification(12)
    with TestClient(create_app(runtime, on_webhook=stuck_queue)) as test_client:
        started = time.monotonic()
        response = test_client.post("/webhooks/tiktok", content=body, headers=signed(body))
        elapsed = time.monotonic() - started
        assert called.wait(5)
        released.set()
    assert response.status_code == 200
    assert elapsed < 3


def test_a_batch_stores_each_notification_once_and_answers_for_every_body(runtime: Runtime) -> None:
    first, second = notification(12), notification(11, data={"cancel_id": "4036000000000001"})
    answers = WebhookIntake(runtime.engine).receive_many([first, b"not json", second, first])
    assert [a.quarantined for a in answers] == [False, True, False, False]
    assert answers[3].duplicate and answers[3].inbox_id is None
    assert [row.id for row in inbox(runtime)] == [answers[0].inbox_id, answers[2].inbox_id]
    assert len(quarantined(runtime)) == 1


# --- malformed but signed: quarantined and acknowledged ---------------------------------------------------------


def test_signed_body_that_is_not_json_is_quarantined_and_acknowledged(
    client: TestClient, runtime: Runtime, enqueued: Recorder, app: FastAPI
) -> None:
    body = b'{"type": 12, "tts_notification_id": '
    response = client.post("/webhooks/tiktok", content=body, headers=signed(body))
    assert response.status_code == 200
    assert response.content == b""
    [record] = quarantined(runtime)
    assert (record.source, record.payload) == ("webhook", body.decode())
    assert "malformed TikTok webhook" in record.error
    assert inbox(runtime) == []
    assert woken(app, enqueued) == []


def test_signed_body_missing_an_envelope_field_is_quarantined_with_the_field_named(
    client: TestClient, runtime: Runtime
) -> None:
    body = orjson.dumps({"type": 12, "tts_notification_id": "7000000000000000005", "shop_id": SHOP_ID, "data": {}})
    assert client.post("/webhooks/tiktok", content=body, headers=signed(body)).status_code == 200
    [record] = quarantined(runtime)
    assert "timestamp" in record.error
    assert record.tiktok_id == "7000000000000000005"
    assert inbox(runtime) == []


def test_the_same_malformed_body_twice_is_quarantined_once(client: TestClient, runtime: Runtime) -> None:
    body = b"[1, 2, 3]"
    for _ in range(2):
        assert client.post("/webhooks/tiktok", content=body, headers=signed(body)).status_code == 200
    assert len(quarantined(runtime)) == 1


def test_notification_id_too_long_for_the_inbox_is_quarantined_not_a_server_error(
    client: TestClient, runtime: Runtime
) -> None:
    body = notification(12, notification_id="7" * 65)
    response = client.post("/webhooks/tiktok", content=body, headers=signed(body))
    assert response.status_code == 200
    [record] = quarantined(runtime)
    assert "longer than 64" in record.error
    assert inbox(runtime) == []


def test_signed_body_that_is_not_utf8_is_quarantined_with_its_bytes_escaped(
    client: TestClient, runtime: Runtime
) -> None:
    body = b'{"type": 12, "shop_id": "\xff\x00"}'
    response = client.post("/webhooks/tiktok", content=body, headers=signed(body))
    assert response.status_code == 200
    [record] = quarantined(runtime)
    assert "\\xff" in record.payload
    assert "\x00" not in record.payload


def test_body_over_the_size_limit_is_refused_with_413(client: TestClient, runtime: Runtime) -> None:
    body = b"{" + b" " * MAX_BODY_BYTES + b"}"
    response = client.post("/webhooks/tiktok", content=body, headers=signed(body))
    assert response.status_code == 413
    assert inbox(runtime) == [] and quarantined(runtime) == []


# --- configuration and availability ------------------------------------------------------------------------------


def test_receiver_without_an_app_secret_refuses_with_503_instead_of_accepting_unsigned_bodies(
    db_url: str, emulator: EmulatorServer, tmp_path: Path
) -> None:
    runtime = Runtime.from_settings(make_settings(db_url, emulator, tmp_path / "var", tiktok_app_secret=""))
    try:
        body = notification(12)
        unsigned_but_matching_empty_key = webhook_signature(APP_KEY, "", body)
        with TestClient(create_app(runtime, on_webhook=Recorder())) as test_client:
            response = test_client.post("/webhooks/tiktok", content=body,
                                        headers={"Authorization": unsigned_but_matching_empty_key})
        assert response.status_code == 503
        assert "not configured" in response.text
        assert inbox(runtime) == []
    finally:
        runtime.close()


def test_unreachable_database_answers_503_so_tiktok_retries(emulator: EmulatorServer, tmp_path: Path) -> None:
    settings = make_settings("postgresql://nobody@127.0.0.1:1/none", emulator, tmp_path / "var")
    runtime = Runtime.from_settings(settings)
    try:
        body = notification(12)
        with TestClient(create_app(runtime, on_webhook=Recorder())) as test_client:
            response = test_client.post("/webhooks/tiktok", content=body, headers=signed(body))
        assert response.status_code == 503
    finally:
        runtime.close()


def test_healthz_reports_the_database_reachable(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_with_the_reason_when_the_database_is_unreachable(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    runtime = Runtime.from_settings(make_settings("postgresql://nobody@127.0.0.1:1/none", emulator, tmp_path / "v"))
    try:
        with TestClient(create_app(runtime, on_webhook=Recorder())) as test_client:
            response = test_client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert response.json()["database"]
    finally:
        runtime.close()


# --- a real delivery -----------------------------------------------------------------------------------------------


def test_webhook_the_emulator_signs_and_delivers_is_accepted_and_enqueued(
    live: LiveServer, runtime: Runtime, control: Control, us_shop: dict[str, Any], enqueued: Recorder,
    app: FastAPI,
) -> None:
    control("PUT", "/webhooks", {"url": f"{live.url}/webhooks/tiktok"})
    try:
        created = control.new_return(us_shop["id"])
        delivery = _wait_delivered(control, us_shop["id"], created["return_id"])
    finally:
        control("PUT", "/webhooks", {"url": None})
    assert delivery["attempts"][-1]["status"] == 200
    rows = [row for row in inbox(runtime) if row.notification_id == delivery["notification_id"]]
    assert len(rows) == 1
    assert orjson.loads(rows[0].body) == delivery["payload"]
    assert rows[0].id in woken(app, enqueued)


def _wait_delivered(control: Control, shop_id: str, return_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        deliveries = control("GET", f"/webhooks/deliveries?shop_id={shop_id}&type=12&limit=100")["deliveries"]
        for delivery in deliveries:
            if delivery["payload"]["data"].get("return_id") == return_id and delivery["state"] == "delivered":
                return delivery
        time.sleep(0.05)
    raise AssertionError(f"the emulator did not deliver a webhook for return {return_id}")


def test_forged_delivery_over_a_real_socket_gets_401_with_an_empty_body(live: LiveServer, runtime: Runtime) -> None:
    response = httpx.post(f"{live.url}/webhooks/tiktok", content=notification(12), headers={"Authorization": "00" * 32})
    assert response.status_code == 401
    assert response.content == b""
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(WebhookInbox)) == 0


def test_return_webhook_from_the_emulator_processed_with_the_real_refresh_becomes_a_case(
    live: LiveServer, runtime: Runtime, control: Control, us_shop: dict[str, Any], account_id: int
) -> None:
    control("PUT", "/webhooks", {"url": f"{live.url}/webhooks/tiktok"})
    try:
        created = control.new_return(us_shop["id"])
        delivery = _wait_delivered(control, us_shop["id"], created["return_id"])
    finally:
        control("PUT", "/webhooks", {"url": None})
    [stored] = [row for row in inbox(runtime) if row.notification_id == delivery["notification_id"]]
    assert process_webhook(runtime, stored.id) == "done"
    with transaction(runtime.sessions) as session:
        case = session.scalars(select(Case).where(
            Case.account_id == account_id, Case.kind == "return", Case.tiktok_id == created["return_id"])).one()
        assert case.tiktok_status == created["return_status"]
