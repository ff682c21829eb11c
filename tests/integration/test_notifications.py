"""The digest against a real local SMTP server (Python 3.11's own ``smtpd``) and a real local HTTP receiver, on
SQLite and PostgreSQL: what it lists, that it is sent on schedule once, and that failures are logged, never raised."""

from __future__ import annotations

import json
import socket
import threading
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, NotificationSettings, Store, StoreEffect, SyncState
from returnbridge.sync import notifications
from returnbridge.sync.runtime import Runtime

from .case_grid_data import a_return, account, store

with warnings.catch_warnings():  # smtpd and asyncore are deprecated (gone in 3.12) but are the stdlib's server
    warnings.simplefilter("ignore", DeprecationWarning)
    import asyncore
    import smtpd


class _Sink(smtpd.SMTPServer):
    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, None, decode_data=False)
        self.messages: list[tuple[str, list[str], bytes]] = []

    def process_message(self, peer: Any, mailfrom: str, rcpttos: list[str], data: bytes, **kwargs: Any) -> None:
        self.messages.append((mailfrom, rcpttos, data))


@pytest.fixture
def smtp_server() -> Iterator[_Sink]:
    sink = _Sink(("127.0.0.1", 0))
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            asyncore.loop(timeout=0.05, count=1)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield sink
    stop.set()
    thread.join(timeout=5)
    sink.close()


class _Receiver(ThreadingHTTPServer):
    status = 200
    bodies: list[Any]


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        server: _Receiver = self.server  # type: ignore[assignment]
        length = int(self.headers.get("content-length", "0"))
        server.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(server.status)
        self.end_headers()
        self.wfile.write(b"ok" if server.status < 300 else b"no such channel")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver(("127.0.0.1", 0), _Handler)
    server.bodies = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


NOW = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


def _world(runtime: Runtime) -> None:
    """Two cases due within 24 h (one overdue), one due in 3 days, one decided; a failing sync; a held effect."""
    with transaction(runtime.sessions) as session:
        shop = account(session, "digest-shop", "Digest <shop>")
    at = int(NOW.timestamp())
    store(runtime.sessions, shop, [
        a_return("soon", deadline=at + 5 * 3600, created=at - 3600),
        a_return("late", deadline=at - 3600, created=at - 3600),
        a_return("later", deadline=at + 72 * 3600, created=at - 3600),
        a_return("done", status="RETURN_OR_REFUND_REQUEST_COMPLETE", created=at - 3600),
    ])
    with transaction(runtime.sessions) as session:
        session.add(SyncState(account_id=shop, stream="returns", consecutive_failures=3,
                              last_error="ConnectionFailed: TikTok did not answer", last_error_at=NOW))
        shop_store = Store(platform="shopify", base_url="https://digest.myshopify.com", credentials_encrypted="x",
                           settings={})
        session.add(shop_store)
        session.flush()
        case_id = session.scalars(select(Case.id).where(Case.tiktok_id == "done")).one()
        session.add(StoreEffect(case_id=case_id, store_id=shop_store.id, kind="refund", idempotency_key="dg",
                                state="held", held_reason="the store's currency is EUR, the order's USD"))


def test_the_digest_lists_cases_due_soon_and_failures(runtime: Runtime) -> None:
    _world(runtime)
    digest = notifications.build_digest(runtime, within_hours=24, now=NOW)
    assert (digest.due, digest.failures) == (2, 2)
    lines = digest.text.splitlines()
    assert lines[0] == "Cases that need action within 24 hours: 2"
    assert "late" in lines[1] and "overdue since 2027-01-15 07:00 UTC" in lines[1]  # soonest first
    assert "soon" in lines[2] and "(in 5 h)" in lines[2]
    assert "later" not in digest.text
    assert "TikTok returns sync (3 failures in a row) · Digest <shop> · ConnectionFailed" in digest.text
    assert "Store refund held" in digest.text and "EUR" in digest.text


def _configure(runtime: Runtime, **values: Any) -> None:
    notifications.save_settings(runtime, {"enabled": "1", "every_hours": "24", "due_within_hours": "24", **values})


def test_mail_and_webhook_are_delivered_and_logged(runtime: Runtime, smtp_server: _Sink,
                                                   receiver: _Receiver) -> None:
    _world(runtime)
    host, port = smtp_server.socket.getsockname()[:2]
    _configure(runtime, smtp_host=host, smtp_port=str(port), mail_from="rb@example.com",
               mail_to="ops@example.com, finance@example.com",
               webhook_url=f"http://127.0.0.1:{receiver.server_address[1]}/hook")
    results = notifications.send_digest_if_due(runtime, now=NOW)
    assert results is not None and [(r.channel, r.ok) for r in results] == [("email", True), ("webhook", True)]
    [(sender, recipients, data)] = smtp_server.messages
    assert sender == "rb@example.com" and recipients == ["ops@example.com", "finance@example.com"]
    mail = message_from_bytes(data)
    assert mail["Subject"] == "ReturnBridge: 2 case(s) need action within 24 h, 2 sync problem(s)"
    assert "Cases that need action within 24 hours: 2" in mail.get_payload(decode=True).decode()
    [body] = receiver.bodies
    assert set(body) == {"text"} and "Cases that need action within 24 hours: 2" in body["text"]
    assert [(e["channel"], e["ok"]) for e in notifications.recent_log(runtime)] == [("webhook", True),
                                                                                  ("email", True)]
    # Not due again until every_hours have passed; then sent once more.
    assert notifications.send_digest_if_due(runtime, now=NOW + timedelta(hours=23)) is None
    assert notifications.send_digest_if_due(runtime, now=NOW + timedelta(hours=24)) is not None
    assert len(smtp_server.messages) == 2 and len(receiver.bodies) == 2


def test_failures_to_notify_are_logged_never_raised(runtime: Runtime, receiver: _Receiver) -> None:
    receiver.status = 404
    _configure(runtime, smtp_host="127.0.0.1", smtp_port=str(_free_port()), mail_from="rb@example.com",
               mail_to="ops@example.com", webhook_url=f"http://127.0.0.1:{receiver.server_address[1]}/gone")
    results = notifications.send_test(runtime)
    assert [(r.channel, r.ok) for r in results] == [("email", False), ("webhook", False)]
    assert "ConnectionRefusedError" in results[0].detail
    assert "HTTP 404" in results[1].detail
    log = notifications.recent_log(runtime)
    assert [(e["kind"], e["ok"]) for e in log] == [("test", False), ("test", False)]


def test_a_switched_off_digest_is_not_sent(runtime: Runtime, receiver: _Receiver) -> None:
    notifications.save_settings(runtime, {"webhook_url": f"http://127.0.0.1:{receiver.server_address[1]}/"})
    assert notifications.send_digest_if_due(runtime, now=NOW) is None
    assert receiver.bodies == []


def test_the_smtp_password_is_encrypted_at_rest_and_kept_when_left_empty(runtime: Runtime) -> None:
    _configure(runtime, smtp_host="mail.example.com", smtp_user="rb", smtp_password="s3cret-pass",
               mail_from="rb@example.com", mail_to="ops@example.com")
    with transaction(runtime.sessions) as session:
        stored = session.scalars(select(NotificationSettings.smtp_password_encrypted)).one()
    assert stored and "s3cret-pass" not in stored and runtime.box.decrypt(stored) == "s3cret-pass"
    view = notifications.save_settings(runtime, {"smtp_host": "mail.example.com", "mail_from": "rb@example.com",
                                                 "mail_to": "ops@example.com", "smtp_password": ""})
    assert view.has_password


@pytest.mark.parametrize("values, message", [
    ({"smtp_host": "mail.example.com"}, "needs a sender"),
    ({"webhook_url": "ftp://x"}, "must start with https://"),
    ({"every_hours": "0"}, "every hours must be a whole number from 1 to 168"),
])
def test_invalid_settings_are_refused_clearly(runtime: Runtime, values: dict[str, str], message: str) -> None:
    with pytest.raises(notifications.InvalidNotificationSettings, match=message):
        notifications.save_settings(runtime, values)
