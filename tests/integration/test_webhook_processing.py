"""process_webhook: what each stored webhook does, run once or many times, on SQLite and PostgreSQL.

Webhooks enter through the real intake (``WebhookIntake``, the code behind POST /webhooks/tiktok); the request
refresh is a recorder, the TikTok side (token checks on a deauthorization) is the emulator over HTTP."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, SyncState, TikTokAccount, WebhookInbox
from returnbridge.domain.statuses import CaseKind
from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.tokens import AccountUnavailable
from returnbridge.sync.webhooks import MAX_ATTEMPTS, WebhookIntake, pending_webhooks, process_webhook

from .conftest import Control, make_settings

_ids = itertools.count(7_200_000_000_000_000_000)


def store(runtime: Runtime, type_: int, shop_id: str, data: dict[str, Any], *, timestamp: int | None = None,
          received_at: datetime | None = None) -> int:
    body = orjson.dumps({
        "type": type_, "tts_notification_id": str(next(_ids)), "shop_id": shop_id,
        "timestamp": timestamp if timestamp is not None else int(time.time()), "data": data,
    })
    received = WebhookIntake(runtime.engine).receive(body, now=received_at)
    assert received.inbox_id is not None
    return received.inbox_id


def row(runtime: Runtime, inbox_id: int) -> WebhookInbox:
    with transaction(runtime.sessions) as session:
        found = session.get(WebhookInbox, inbox_id)
        assert found is not None
        return found


def account(runtime: Runtime, account_id: int) -> TikTokAccount:
    with transaction(runtime.sessions) as session:
        found = session.get(TikTokAccount, account_id)
        assert found is not None
        return found


@dataclass
class Refreshes:
    """Stands in for sync.ingest.refresh_request: remembers what it was asked to re-read, or fails."""

    calls: list[tuple[int, CaseKind, str]]
    failure: Exception | None = None

    def __call__(self, _runtime: Runtime, account_id: int, kind: CaseKind, tiktok_id: str) -> None:
        self.calls.append((account_id, kind, tiktok_id))
        if self.failure is not None:
            raise self.failure


@pytest.fixture
def refreshes() -> Refreshes:
    return Refreshes([])


def return_change(return_id: str = "4035000000000101", update_time: int | None = None) -> dict[str, Any]:
    return {"order_id": "576000000000000101", "return_role": "BUYER", "return_type": "REFUND",
            "return_status": "RETURN_OR_REFUND_REQUEST_PENDING", "return_id": return_id,
            "create_time": 1_750_000_000, "update_time": update_time or int(time.time())}


# --- status changes ------------------------------------------------------------------------------------------------


def test_return_status_change_refreshes_that_return(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any], refreshes: Refreshes
) -> None:
    inbox_id = store(runtime, 12, us_shop["id"], return_change("4035000000000102"))
    assert process_webhook(runtime, inbox_id, refresh_request=refreshes) == "done"
    assert refreshes.calls == [(account_id, CaseKind.RETURN, "4035000000000102")]
    done = row(runtime, inbox_id)
    assert (done.state, done.last_error) == ("done", "")
    assert done.processed_at is not None


def test_cancellation_status_change_refreshes_that_cancellation(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any], refreshes: Refreshes
) -> None:
    data = {"order_id": "576000000000000201", "cancellations_role": "BUYER",
            "cancel_status": "CANCELLATION_REQUEST_PENDING", "cancel_id": "4036000000000201",
            "create_time": 1_750_000_000}
    inbox_id = store(runtime, 11, us_shop["id"], data)
    assert process_webhook(runtime, inbox_id, refresh_request=refreshes) == "done"
    assert refreshes.calls == [(account_id, CaseKind.CANCELLATION, "4036000000000201")]


def test_processing_the_same_webhook_twice_is_a_no_op(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any], refreshes: Refreshes
) -> None:
    inbox_id = store(runtime, 12, us_shop["id"], return_change())
    first = process_webhook(runtime, inbox_id, refresh_request=refreshes)
    processed_at = row(runtime, inbox_id).processed_at
    second = process_webhook(runtime, inbox_id, refresh_request=refreshes)
    assert (first, second) == ("done", "done")
    assert len(refreshes.calls) == 1
    assert row(runtime, inbox_id).processed_at == processed_at


def test_webhook_records_when_the_shop_last_sent_one_per_stream(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any], refreshes: Refreshes
) -> None:
    arrived = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    inbox_id = store(runtime, 12, us_shop["id"], return_change(), received_at=arrived)
    process_webhook(runtime, inbox_id, refresh_request=refreshes)
    with transaction(runtime.sessions) as session:
        states = {s.stream: s.last_webhook_at for s in session.scalars(
            select(SyncState).where(SyncState.account_id == account_id))}
    assert states == {"returns": arrived}


def test_last_webhook_time_never_moves_back_when_an_older_webhook_is_processed_later(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any], refreshes: Refreshes
) -> None:
    later = datetime(2026, 3, 1, 12, 5, tzinfo=UTC)
    earlier = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    newer_id = store(runtime, 12, us_shop["id"], return_change(), received_at=later)
    older_id = store(runtime, 12, us_shop["id"], return_change(), received_at=earlier)
    process_webhook(runtime, newer_id, refresh_request=refreshes)
    process_webhook(runtime, older_id, refresh_request=refreshes)
    with transaction(runtime.sessions) as session:
        state = session.get(SyncState, (account_id, "returns"))
        assert state is not None
        assert state.last_webhook_at == later


def test_return_webhook_older_than_the_stored_case_is_ignored_without_asking_tiktok(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any], refreshes: Refreshes
) -> None:
    with transaction(runtime.sessions) as session:
        session.add(Case(account_id=account_id, kind="return", tiktok_id="4035000000000301",
                         tiktok_update_time=datetime.fromtimestamp(1_750_000_500, UTC)))
    inbox_id = store(runtime, 12, us_shop["id"], return_change("4035000000000301", update_time=1_750_000_100))
    assert process_webhook(runtime, inbox_id, refresh_request=refreshes) == "ignored"
    assert refreshes.calls == []
    assert "stale" in row(runtime, inbox_id).last_error


def test_return_webhook_newer_than_the_stored_case_refreshes_it(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any], refreshes: Refreshes
) -> None:
    with transaction(runtime.sessions) as session:
        session.add(Case(account_id=account_id, kind="return", tiktok_id="4035000000000302",
                         tiktok_update_time=datetime.fromtimestamp(1_750_000_100, UTC)))
    inbox_id = store(runtime, 12, us_shop["id"], return_change("4035000000000302", update_time=1_750_000_500))
    assert process_webhook(runtime, inbox_id, refresh_request=refreshes) == "done"
    assert refreshes.calls == [(account_id, CaseKind.RETURN, "4035000000000302")]


def test_return_webhook_without_a_return_id_fails_at_once_because_a_retry_reads_the_same_bytes(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any], refreshes: Refreshes
) -> None:
    inbox_id = store(runtime, 12, us_shop["id"], {"return_status": "RETURN_OR_REFUND_REQUEST_PENDING"})
    assert process_webhook(runtime, inbox_id, refresh_request=refreshes) == "failed"
    assert "return_id" in row(runtime, inbox_id).last_error
    assert refreshes.calls == []


# --- what is ignored -----------------------------------------------------------------------------------------------


def test_unknown_webhook_type_is_stored_and_ignored_with_the_reason(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any], refreshes: Refreshes
) -> None:
    inbox_id = store(runtime, 99, us_shop["id"], {"whatever": True})
    assert process_webhook(runtime, inbox_id, refresh_request=refreshes) == "ignored"
    assert "type 99" in row(runtime, inbox_id).last_error
    assert refreshes.calls == []


def test_order_status_change_is_ignored_by_name(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any], refreshes: Refreshes
) -> None:
    inbox_id = store(runtime, 1, us_shop["id"], {"order_id": "576000000000000401", "order_status": "CANCEL"})
    assert process_webhook(runtime, inbox_id, refresh_request=refreshes) == "ignored"
    assert "ORDER_STATUS_CHANGE" in row(runtime, inbox_id).last_error


def test_webhook_for_a_shop_that_is_not_connected_is_ignored(
    runtime: Runtime, account_id: int, refreshes: Refreshes
) -> None:
    inbox_id = store(runtime, 12, "7499999999999999999", return_change())
    assert process_webhook(runtime, inbox_id, refresh_request=refreshes) == "ignored"
    assert "7499999999999999999" in row(runtime, inbox_id).last_error
    assert refreshes.calls == []


def test_status_change_for_a_disabled_shop_is_ignored_until_it_is_reconnected(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any], refreshes: Refreshes
) -> None:
    with transaction(runtime.sessions) as session:
        found = session.get(TikTokAccount, account_id)
        assert found is not None
        found.status, found.status_reason = "disabled", "Disconnected by an administrator"
    inbox_id = store(runtime, 12, us_shop["id"], return_change())
    assert process_webhook(runtime, inbox_id, refresh_request=refreshes) == "ignored"
    assert "disabled" in row(runtime, inbox_id).last_error
    assert refreshes.calls == []


def test_shop_that_became_unusable_during_the_refresh_ends_the_webhook_ignored(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any]
) -> None:
    refused = Refreshes([], AccountUnavailable("TikTok shop US Shop is expired: reconnect the shop"))
    inbox_id = store(runtime, 12, us_shop["id"], return_change())
    assert process_webhook(runtime, inbox_id, refresh_request=refused) == "ignored"
    assert "expired" in row(runtime, inbox_id).last_error


# --- failures and the sweep ----------------------------------------------------------------------------------------


def test_failed_refresh_counts_an_attempt_and_stays_pending_for_the_sweep(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any]
) -> None:
    failing = Refreshes([], ConnectionError("TikTok did not answer"))
    inbox_id = store(runtime, 12, us_shop["id"], return_change())
    assert process_webhook(runtime, inbox_id, refresh_request=failing) == "pending"
    pending = row(runtime, inbox_id)
    assert (pending.state, pending.attempts, pending.last_error) == ("pending", 1, "TikTok did not answer")


def test_webhook_that_keeps_failing_is_marked_failed_after_the_last_attempt(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any]
) -> None:
    failing = Refreshes([], ConnectionError("TikTok did not answer"))
    inbox_id = store(runtime, 12, us_shop["id"], return_change())
    states = [process_webhook(runtime, inbox_id, refresh_request=failing) for _ in range(MAX_ATTEMPTS + 1)]
    assert states == ["pending"] * (MAX_ATTEMPTS - 1) + ["failed", "failed"]
    assert len(failing.calls) == MAX_ATTEMPTS
    assert row(runtime, inbox_id).attempts == MAX_ATTEMPTS


def test_a_retry_after_a_failure_completes_the_webhook(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any]
) -> None:
    flaky = Refreshes([], ConnectionError("TikTok did not answer"))
    inbox_id = store(runtime, 12, us_shop["id"], return_change())
    process_webhook(runtime, inbox_id, refresh_request=flaky)
    flaky.failure = None
    assert process_webhook(runtime, inbox_id, refresh_request=flaky) == "done"
    assert row(runtime, inbox_id).attempts == 1


def test_pending_webhooks_lists_pending_rows_received_before_the_cutoff_oldest_first(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any], refreshes: Refreshes
) -> None:
    base = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    second = store(runtime, 12, us_shop["id"], return_change(), received_at=base + timedelta(minutes=2))
    first = store(runtime, 12, us_shop["id"], return_change(), received_at=base + timedelta(minutes=1))
    finished = store(runtime, 12, us_shop["id"], return_change(), received_at=base)
    store(runtime, 12, us_shop["id"], return_change(), received_at=base + timedelta(minutes=10))  # too recent
    process_webhook(runtime, finished, refresh_request=refreshes)
    with transaction(runtime.sessions) as session:
        assert pending_webhooks(session, base + timedelta(minutes=5)) == [first, second]
        assert pending_webhooks(session, base + timedelta(minutes=5), limit=1) == [first]


def test_missing_inbox_row_is_an_error_not_a_silent_success(runtime: Runtime, refreshes: Refreshes) -> None:
    with pytest.raises(LookupError):
        process_webhook(runtime, 424242, refresh_request=refreshes)


# --- authorization events ------------------------------------------------------------------------------------------


def test_seller_deauthorization_disables_the_shop_with_tiktoks_message(
    runtime: Runtime, control: Control, account_id: int, us_shop: dict[str, Any], refreshes: Refreshes
) -> None:
    control("POST", "/auth/revoke", {"seller_id": us_shop["seller_id"], "message": "Seller revoked access"})
    inbox_id = store(runtime, 6, us_shop["id"], {"message": "Seller revoked access"})
    assert process_webhook(runtime, inbox_id, refresh_request=refreshes) == "done"
    disabled = account(runtime, account_id)
    assert disabled.status == "disabled"
    assert "Seller revoked access" in disabled.status_reason


def test_deauthorization_the_seller_already_undid_by_authorizing_again_is_ignored(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any], refreshes: Refreshes
) -> None:
    # No revocation on TikTok's side: the shop's current token still works, so this notice is out of date.
    inbox_id = store(runtime, 6, us_shop["id"], {"message": "Seller revoked access"},
                     timestamp=int(time.time()) - 3600)
    assert process_webhook(runtime, inbox_id, refresh_request=refreshes) == "ignored"
    assert "stale" in row(runtime, inbox_id).last_error
    assert account(runtime, account_id).status == "active"


def test_upcoming_authorization_expiration_records_the_date_and_a_warning_and_keeps_the_shop_active(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any], refreshes: Refreshes
) -> None:
    expires = int(time.time()) + 10 * 86400
    inbox_id = store(runtime, 7, us_shop["id"], {"message": "Authorization expires soon", "expiration_time": expires})
    assert process_webhook(runtime, inbox_id, refresh_request=refreshes) == "done"
    flagged = account(runtime, account_id)
    assert flagged.status == "active"
    assert flagged.authorization_expires_at == datetime.fromtimestamp(expires, UTC)
    assert "reconnect" in flagged.status_reason
    assert f"{datetime.fromtimestamp(expires, UTC):%Y-%m-%d}" in flagged.status_reason


def test_expiry_notice_sent_before_the_shop_was_authorized_again_is_ignored(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any], refreshes: Refreshes
) -> None:
    inbox_id = store(runtime, 7, us_shop["id"], {"message": "Authorization expires soon",
                                                  "expiration_time": int(time.time()) + 86400},
                     timestamp=int(time.time()) - 3600)
    assert process_webhook(runtime, inbox_id, refresh_request=refreshes) == "ignored"
    unchanged = account(runtime, account_id)
    assert (unchanged.status_reason, unchanged.authorization_expires_at) == ("", None)


def test_expiry_notice_for_a_disabled_shop_records_the_date_but_keeps_the_reason_it_is_disabled(
    runtime: Runtime, account_id: int, us_shop: dict[str, Any], refreshes: Refreshes
) -> None:
    with transaction(runtime.sessions) as session:
        found = session.get(TikTokAccount, account_id)
        assert found is not None
        found.status, found.status_reason = "disabled", "Disconnected by an administrator"
    expires = int(time.time()) + 86400
    inbox_id = store(runtime, 7, us_shop["id"], {"expiration_time": expires})
    assert process_webhook(runtime, inbox_id, refresh_request=refreshes) == "done"
    kept = account(runtime, account_id)
    assert kept.status_reason == "Disconnected by an administrator"
    assert kept.authorization_expires_at == datetime.fromtimestamp(expires, UTC)


def test_deauthorization_that_cannot_be_confirmed_with_tiktok_waits_for_the_sweep(
    db_url: str, emulator: EmulatorServer, tmp_path: Path, account_id: int, us_shop: dict[str, Any],
    refreshes: Refreshes,
) -> None:
    unconfigured = Runtime.from_settings(make_settings(db_url, emulator, tmp_path / "other", tiktok_app_secret=""))
    try:
        inbox_id = store(unconfigured, 6, us_shop["id"], {"message": "Seller revoked access"})
        assert process_webhook(unconfigured, inbox_id, refresh_request=refreshes) == "pending"
        waiting = row(unconfigured, inbox_id)
        assert waiting.attempts == 1
        assert "not configured" in waiting.last_error
        assert account(unconfigured, account_id).status == "active"
    finally:
        unconfigured.close()
