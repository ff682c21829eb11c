"""POST /webhooks/tiktok under bad input: generated bodies and signatures, oversized bodies that must not be read
into memory, and senders that trickle their body while a normal webhook must still be acknowledged at once.

The basic cases (one forged signature, one duplicate, one non-JSON body, one oversized body with its
Content-Length) are in ``test_webhook_receiver.py``; this file adds what only generated input or a raw socket
shows. SQLite and PostgreSQL, like the receiver's tests.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import QuarantinedRecord, WebhookInbox
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.webhooks import InboxState, process_webhook
from returnbridge.tiktok import webhook_signature
from returnbridge.web.app import create_app
from returnbridge.web.webhooks import MAX_BODY_BYTES

from .conftest import APP_KEY, APP_SECRET
from .test_webhook_receiver import LiveServer, inbox, notification, quarantined, signed

FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

_scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2**63, max_value=2**200)
            | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
json_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
# Bodies shaped like TikTok's envelope, each field present or not, of the right type or not.
envelopes = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from([6, 7, 11, 12, 99, -1, 2**40]) | json_values,
    "tts_notification_id": st.text(min_size=1, max_size=80) | st.integers() | json_values,
    "shop_id": st.text(max_size=80) | json_values,
    "timestamp": st.integers(min_value=-(2**70), max_value=2**70) | json_values,
    "data": st.dictionaries(st.sampled_from(["return_id", "cancel_id", "order_id", "update_time",
                                             "return_status", "expiration_time", "message"]),
                            json_values, max_size=5) | json_values,
})


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime, on_webhook=lambda _id: None)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def live(app: FastAPI) -> Iterator[LiveServer]:
    server = LiveServer(app)
    yield server
    server.stop()


def _stored_or_quarantined(runtime: Runtime, body: bytes) -> WebhookInbox | QuarantinedRecord | None:
    """Where this body ended: its inbox row (by notification id), or a quarantined record of its bytes."""
    text = body.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
    with transaction(runtime.sessions) as session:
        record = session.scalars(select(QuarantinedRecord).where(QuarantinedRecord.payload == text)).first()
        if record is not None:
            return record
        data = json.loads(body)
        wanted = data.get("tts_notification_id") if isinstance(data, dict) else None
        if not isinstance(wanted, str):
            return None
        return session.scalars(select(WebhookInbox).where(WebhookInbox.notification_id == wanted)).first()


# --- generated bodies and signatures -----------------------------------------------------------------------------


@FUZZ
@given(document=envelopes | json_values)
def test_any_signed_json_is_acknowledged_and_either_stored_or_quarantined_with_a_reason(
    client: TestClient, runtime: Runtime, document: Any
) -> None:
    body = json.dumps(document).encode()
    response = client.post("/webhooks/tiktok", content=body, headers=signed(body))
    assert (response.status_code, response.content) == (200, b"")
    where = _stored_or_quarantined(runtime, body)
    assert where is not None, body
    if isinstance(where, QuarantinedRecord):
        assert where.error.startswith("malformed TikTok webhook")


@FUZZ
@given(document=envelopes)
def test_processing_any_stored_webhook_ends_in_a_state_and_never_raises(
    client: TestClient, runtime: Runtime, document: dict[str, Any]
) -> None:
    # The worker's side: whatever the intake accepted, processing it (shop not connected, odd data, a timestamp
    # past year 9999) must finish the row, never crash the job.
    body = json.dumps(document).encode()
    client.post("/webhooks/tiktok", content=body, headers=signed(body))
    where = _stored_or_quarantined(runtime, body)
    if isinstance(where, WebhookInbox) and where.state == InboxState.PENDING.value:
        state = process_webhook(runtime, where.id)
        assert state in {s.value for s in InboxState}


@FUZZ
@given(authorization=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=80)
       | st.sampled_from(["0" * 64, "sha256=", " ", "\t"]))
def test_any_wrong_signature_is_refused_with_401_an_empty_body_and_nothing_stored(
    client: TestClient, runtime: Runtime, authorization: str
) -> None:
    body = notification(12)
    # As bytes: a header may carry any Latin-1 byte, and httpx would refuse a non-ASCII str before sending it.
    headers = {"Content-Type": "application/json", "Authorization": authorization.encode("latin-1")}
    response = client.post("/webhooks/tiktok", content=body, headers=headers)
    assert (response.status_code, response.content) == (401, b"")
    assert inbox(runtime) == [] and quarantined(runtime) == []


def test_the_signature_of_another_body_is_refused(client: TestClient, runtime: Runtime) -> None:
    first, second = notification(12), notification(12)
    answer = client.post("/webhooks/tiktok", content=second, headers=signed(first))
    assert (answer.status_code, answer.content) == (401, b"")
    assert inbox(runtime) == []


def test_a_replayed_body_is_acknowledged_every_time_and_stored_once(client: TestClient, runtime: Runtime) -> None:
    body = notification(12)
    answers = [client.post("/webhooks/tiktok", content=body, headers=signed(body)).status_code for _ in range(5)]
    assert answers == [200] * 5
    assert len(inbox(runtime)) == 1


# --- over 1 MB: refused without reading it -----------------------------------------------------------------------


def _connect(live: LiveServer) -> socket.socket:
    host, port = live.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _status_of(sock: socket.socket) -> int:
    head = b""
    while b"\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return int(head.split(b" ", 2)[1])


def test_a_declared_length_over_1_mb_is_refused_with_413_before_the_body_is_sent(
    live: LiveServer, runtime: Runtime
) -> None:
    with _connect(live) as sock:
        sock.sendall(b"POST /webhooks/tiktok HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Authorization: " + b"0" * 64 + b"\r\n"
                     b"Content-Length: " + str(MAX_BODY_BYTES + 1).encode() + b"\r\n\r\n")
        # Not one byte of the body is sent: the answer can only come from the declared length.
        assert _status_of(sock) == 413
    assert inbox(runtime) == [] and quarantined(runtime) == []


def test_a_chunked_body_over_1_mb_is_refused_with_413_while_the_sender_is_still_sending(
    live: LiveServer, runtime: Runtime
) -> None:
    # No Content-Length: the receiver must count while reading and stop at the limit. The sender never ends its
    # body, so a receiver that read to the end before checking would never answer.
    chunk = b"x" * 65536
    with _connect(live) as sock:
        sock.sendall(b"POST /webhooks/tiktok HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Authorization: " + b"0" * 64 + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(MAX_BODY_BYTES // len(chunk) + 2):
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        assert _status_of(sock) == 413
    assert inbox(runtime) == [] and quarantined(runtime) == []


# --- slow senders --------------------------------------------------------------------------------------------------


class Trickler:
    """A client sending a signed webhook one byte at a time, ``pause`` seconds apart, on a thread of its own."""

    def __init__(self, live: LiveServer, body: bytes, pause: float) -> None:
        self.live, self.body, self.pause = live, body, pause
        self.status: int | None = None
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        request = (b"POST /webhooks/tiktok HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Authorization: " + webhook_signature(APP_KEY, APP_SECRET, self.body).encode() + b"\r\n"
                   b"Content-Length: " + str(len(self.body)).encode() + b"\r\nConnection: close\r\n\r\n")
        with _connect(self.live) as sock:
            sock.settimeout(60)
            sock.sendall(request)
            self.started.set()
            for byte in self.body:
                sock.sendall(bytes([byte]))
                time.sleep(self.pause)
            self.status = _status_of(sock)

    def join(self) -> int | None:
        self.thread.join(60)
        return self.status


def test_senders_trickling_their_body_do_not_delay_a_normal_webhook(live: LiveServer, runtime: Runtime) -> None:
    slow_bodies = [notification(12) for _ in range(3)]
    tricklers = [Trickler(live, body, pause=0.02) for body in slow_bodies]
    for trickler in tricklers:
        assert trickler.started.wait(10)
    time.sleep(0.2)  # the slow requests are in the server, mid-body
    body = notification(12)
    started = time.monotonic()
    answer = httpx.post(f"{live.url}/webhooks/tiktok", content=body, headers=signed(body), timeout=10)
    elapsed = time.monotonic() - started
    assert answer.status_code == 200
    # A trickled body takes seconds to arrive; TikTok's budget is 3 s, and a server that waited for the slow
    # senders would answer only after them.
    assert elapsed < 2.0, f"the normal webhook waited {elapsed:.2f} s behind the slow senders"
    assert all(t.thread.is_alive() for t in tricklers), "the slow senders finished too soon to prove anything"
    assert [t.join() for t in tricklers] == [200, 200, 200]
    assert {row.body.encode() for row in inbox(runtime)} == {*slow_bodies, body}


@pytest.mark.parametrize("update_time", [10**17, 2**63 - 1])
def test_a_return_webhook_with_an_impossible_update_time_fails_once_instead_of_crashing_its_job(
    client: TestClient, runtime: Runtime, account_id: int, us_shop: dict[str, Any], update_time: int
) -> None:
    # datetime.fromtimestamp raised OSError for these, which processing did not catch: the job crashed on every run
    # of the sweep. The data cannot change on a retry, so the webhook ends failed with the reason.
    body = notification(12, shop_id=us_shop["id"], data={"return_id": "4035000000000777", "update_time": update_time,
                                                         "return_status": "RETURN_OR_REFUND_REQUEST_PENDING"})
    assert client.post("/webhooks/tiktok", content=body, headers=signed(body)).status_code == 200
    [row] = inbox(runtime)
    assert process_webhook(runtime, row.id) == InboxState.FAILED.value
    [row] = inbox(runtime)
    assert "not a Unix time" in row.last_error


def test_a_sender_that_never_finishes_its_body_gets_408_and_nothing_is_stored(
    live: LiveServer, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limit is a setting of the receiver; a short one keeps the test short.
    monkeypatch.setattr("returnbridge.web.webhooks.BODY_SECONDS", 1.0)
    body = notification(12)
    with _connect(live) as sock:
        sock.sendall(b"POST /webhooks/tiktok HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Authorization: " + webhook_signature(APP_KEY, APP_SECRET, body).encode() + b"\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:10])
        started = time.monotonic()
        assert _status_of(sock) == 408
        assert time.monotonic() - started < 5
    assert inbox(runtime) == [] and quarantined(runtime) == []
