"""TikTok webhooks: the intake (store every signed notification once, fast) and the processing behind it.

Intake runs inside TikTok's 3-second budget, so it does one thing: one short transaction that inserts the verbatim
body into ``webhook_inbox`` keyed by ``tts_notification_id`` (INSERT … ON CONFLICT DO NOTHING, so a duplicate or a
replay is acknowledged and ignored). Everything that needs TikTok or the cases happens afterwards in
``process_webhook``, which a job runs and the sweep re-runs for rows left ``pending`` (``pending_webhooks``).

A correctly signed body that does not parse is still something TikTok sent: it goes to ``quarantined_records``
(source ``webhook``) and is acknowledged with 200. TikTok's retries carry the very same bytes, so a non-200 answer
could only bring four more copies of a body that will never parse; the quarantine keeps it for a fix to replay.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from returnbridge.db.engine import transaction
from returnbridge.db.models import AccountStatus, TikTokAccount
from returnbridge.db.repositories.accounts import AccountRepository
from returnbridge.db.repositories.webhooks import (
    WebhookInboxStore,
    insert_new_notifications,
    quarantine_webhook,
)
from returnbridge.domain.statuses import CaseKind
from returnbridge.errors import UserFacingError
from returnbridge.tiktok import MalformedWebhook, WebhookEvent, parse_webhook

if TYPE_CHECKING:
    from returnbridge.sync.runtime import Runtime

log = logging.getLogger(__name__)

# After this many failed runs a webhook is marked ``failed`` and the sweep stops retrying it; the poll still
# catches the request it announced, so nothing is lost, only the early refresh.
MAX_ATTEMPTS = 5

# The columns the intake writes are this wide; longer values would be refused by PostgreSQL with a 500.
_ID_WIDTH = 64
_INT32 = range(-(2**31), 2**31)

RETURN_STATUS_CHANGE = 12
CANCELLATION_STATUS_CHANGE = 11
SELLER_DEAUTHORIZATION = 6
UPCOMING_AUTHORIZATION_EXPIRATION = 7

# Names from the contract (§5.3), only for the reason shown on an ignored webhook.
TYPE_NAMES: dict[int, str] = {
    1: "ORDER_STATUS_CHANGE",
    2: "REVERSE_STATUS_UPDATE",
    3: "RECIPIENT_ADDRESS_UPDATE",
    4: "PACKAGE_UPDATE",
    5: "PRODUCT_STATUS_CHANGE",
    6: "SELLER_DEAUTHORIZATION",
    7: "UPCOMING_AUTHORIZATION_EXPIRATION",
    11: "CANCELLATION_STATUS_CHANGE",
    12: "RETURN_STATUS_CHANGE",
}

_STREAM_BY_TYPE = {RETURN_STATUS_CHANGE: "returns", CANCELLATION_STATUS_CHANGE: "cancellations"}


class InboxState(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    IGNORED = "ignored"
    FAILED = "failed"


RefreshRequest = Callable[["Runtime", int, CaseKind, str], object]


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- intake --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """What the intake did with one signed body: ``inbox_id`` is set only for a new notification."""

    inbox_id: int | None = None
    duplicate: bool = False
    quarantined: bool = False


class WebhookIntake:
    """Stores signed webhook bodies; one per process.

    ``receive_many`` stores a batch in one transaction with one multi-row INSERT … ON CONFLICT DO NOTHING
    RETURNING: the web process hands it whatever arrived while the previous batch was being committed (group
    commit), so the cost of a commit is shared when webhooks come in bursts and nothing waits when they do not.

    On SQLite the writes of this process are serialised on a Python lock: SQLite has one writer at a time, and a
    thread that finds the database locked backs off in SQLite's busy handler for up to 100 ms per try, which is
    what would set the p99. Waiting on a lock instead wakes the next writer the moment the previous one commits.
    """

    # 8 columns a row: far below SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
    MAX_BATCH = 200

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock: AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        )

    def receive(self, body: bytes, *, now: datetime | None = None) -> Received:
        """Store one body whose signature was already verified. Never raises for bad content: it quarantines."""
        return self.receive_many([body], now=now)[0]

    def receive_many(self, bodies: Sequence[bytes], *, now: datetime | None = None) -> list[Received]:
        """Store verified bodies, answering for each in order; a notification id seen twice is stored once."""
        received_at = now or utcnow()
        results: list[Received] = [Received(duplicate=True)] * len(bodies)
        rows: dict[str, tuple[int, dict[str, Any]]] = {}
        for index, body in enumerate(bodies):
            try:
                text = body.decode("utf-8")
                event = parse_webhook(body)
                _check_fits(event)
            except (UnicodeDecodeError, MalformedWebhook) as malformed:
                self._quarantine(body, str(malformed), received_at)
                results[index] = Received(quarantined=True)
                continue
            if event.tts_notification_id in rows:
                continue  # the same notification twice in one batch: the first one is stored
            rows[event.tts_notification_id] = (index, {
                "notification_id": event.tts_notification_id,
                "shop_id": event.shop_id,
                "type": event.type,
                "received_at": received_at,
                "body": text,
                "state": InboxState.PENDING.value,
                "attempts": 0,
                "last_error": "",
            })
        for start in range(0, len(rows), self.MAX_BATCH):
            chunk = list(rows.values())[start:start + self.MAX_BATCH]
            inserted = self._insert([values for _, values in chunk])
            for index, values in chunk:
                inbox_id = inserted.get(values["notification_id"])
                if inbox_id is not None:
                    results[index] = Received(inbox_id=inbox_id)
        return results

    def _insert(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        """Insert new notifications; the ids of those that were not already stored, by notification id."""
        with self._lock, self.engine.begin() as connection:
            return insert_new_notifications(connection, rows)

    def _quarantine(self, body: bytes, error: str, received_at: datetime) -> None:
        payload = _storable_text(body)
        shop_id, notification_id = _loose_ids(body)
        with self._lock, self.engine.begin() as connection:
            new = quarantine_webhook(connection, payload=payload, shop_id=shop_id, notification_id=notification_id,
                                     error=error, received_at=received_at)
        if new:
            log.warning("quarantined a signed TikTok webhook that does not parse: %s", error)


def _check_fits(event: WebhookEvent) -> None:
    """Refuse envelope values the inbox columns cannot hold, as malformed rather than as a database error."""
    if not event.tts_notification_id.strip():
        raise MalformedWebhook("malformed TikTok webhook: tts_notification_id is empty")
    for name, value in (("tts_notification_id", event.tts_notification_id), ("shop_id", event.shop_id)):
        if len(value) > _ID_WIDTH:
            raise MalformedWebhook(f"malformed TikTok webhook: {name} is longer than {_ID_WIDTH} characters")
        if not value.isprintable():
            raise MalformedWebhook(f"malformed TikTok webhook: {name} contains control characters")
    if event.type not in _INT32:
        raise MalformedWebhook(f"malformed TikTok webhook: type {event.type} is out of range")


def _storable_text(body: bytes) -> str:
    # PostgreSQL text cannot hold NUL, and the body may not even be UTF-8: keep every byte visible as an escape.
    return body.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def _loose_ids(body: bytes) -> tuple[str, str]:
    """The shop id and notification id of a body that failed validation, when they can still be read."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "", ""
    if not isinstance(data, dict):
        return "", ""

    def text(key: str) -> str:
        value = data.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return _storable_text(str(value).encode())[:_ID_WIDTH]
        return ""

    return text("shop_id"), text("tts_notification_id")


# --- processing ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    state: InboxState
    reason: str = ""


def process_webhook(
    runtime: Runtime,
    inbox_id: int,
    *,
    refresh_request: RefreshRequest | None = None,
    now: datetime | None = None,
) -> str:
    """Act on one stored webhook and return its state afterwards (``done``, ``ignored``, ``pending`` or ``failed``).

    Guarantees: a webhook that is no longer ``pending`` is left alone, so a second run (a duplicate job, the sweep)
    does nothing; a crash before the final update leaves it ``pending`` and the sweep runs it again, which is safe
    because refreshing a request re-reads TikTok and the ingest refuses older data. Return (12) and cancellation
    (11) status changes re-read that request from TikTok through ``refresh_request`` (default
    ``returnbridge.sync.ingest.refresh_request``); a deauthorization (6) disables the shop; an upcoming expiry (7)
    records the date and a warning. Anything else, and webhooks for shops that are not connected, end ``ignored``
    with the reason in ``last_error``. A failure counts an attempt and stays ``pending`` for the sweep until
    ``MAX_ATTEMPTS``, then ``failed``.
    """
    now = now or utcnow()
    with transaction(runtime.sessions) as session:
        row = WebhookInboxStore(session).get(inbox_id)
        if row is None:
            raise LookupError(f"webhook inbox row {inbox_id} does not exist")
        if row.state != InboxState.PENDING.value:
            return row.state
        body, shop_id, received_at = row.body, row.shop_id, row.received_at

    try:
        event = parse_webhook(body.encode("utf-8"))
    except MalformedWebhook as malformed:
        return _finish(runtime, inbox_id, _Outcome(InboxState.FAILED, str(malformed)), now=now)

    with transaction(runtime.sessions) as session:
        account = AccountRepository(session, runtime.box).by_shop_id(shop_id)
        account_id = account.id if account is not None else None
        account_status = account.status if account is not None else ""
    stream = _STREAM_BY_TYPE.get(event.type)
    seen = (account_id, stream, received_at) if account_id is not None and stream is not None else None

    if account_id is None:
        outcome = _Outcome(InboxState.IGNORED, f"no connected TikTok shop has the id {shop_id}")
    elif event.type == SELLER_DEAUTHORIZATION:
        return _deauthorize(runtime, inbox_id, event, now=now)
    elif event.type == UPCOMING_AUTHORIZATION_EXPIRATION:
        return _upcoming_expiration(runtime, inbox_id, event, now=now)
    elif stream is None:
        name = TYPE_NAMES.get(event.type, "unknown")
        outcome = _Outcome(InboxState.IGNORED, f"webhook type {event.type} ({name}) is not one ReturnBridge acts on")
    elif account_status != AccountStatus.ACTIVE.value:
        outcome = _Outcome(
            InboxState.IGNORED,
            f"the shop is {account_status}: the first sync after it is reconnected picks this change up",
        )
    else:
        outcome = _refresh(runtime, account_id, event, refresh_request)
        if outcome.state is InboxState.PENDING:
            return _count_failure(runtime, inbox_id, outcome.reason, seen=seen, now=now)
    return _finish(runtime, inbox_id, outcome, seen=seen, now=now)


def _refresh(
    runtime: Runtime, account_id: int, event: WebhookEvent, refresh_request: RefreshRequest | None
) -> _Outcome:
    """Re-read the announced request from TikTok; a ``PENDING`` outcome means "failed, try again later"."""
    from returnbridge.sync.tokens import AccountUnavailable

    try:
        if event.type == RETURN_STATUS_CHANGE:
            change = event.return_status_change()
            kind, tiktok_id, update_time = CaseKind.RETURN, change.return_id, change.updated_at
        else:
            cancellation = event.cancellation_status_change()
            kind, tiktok_id, update_time = CaseKind.CANCELLATION, cancellation.cancel_id, None
    except (ValidationError, ValueError, OverflowError) as invalid:
        # The envelope parsed but its data does not: a retry reads the same bytes, so it is final.
        return _Outcome(InboxState.FAILED, f"webhook data does not parse: {_one_line(invalid)}")

    if update_time is not None:
        with transaction(runtime.sessions) as session:
            stored = WebhookInboxStore(session).case_update_time(account_id, kind.value, tiktok_id)
        if stored is not None and stored > update_time:
            # Webhooks arrive out of order; this one announces a state older than the one already stored.
            return _Outcome(
                InboxState.IGNORED,
                f"stale: the stored {kind.value} {tiktok_id} was updated at {stored.isoformat()}, "
                f"after this change ({update_time.isoformat()})",
            )

    if refresh_request is None:
        from returnbridge.sync.ingest import refresh_request as default_refresh

        refresh_request = default_refresh
    try:
        refresh_request(runtime, account_id, kind, tiktok_id)
    except AccountUnavailable as unavailable:
        return _Outcome(InboxState.IGNORED, str(unavailable))
    except Exception as failure:  # any failure is retried by the sweep; the reason is kept on the row
        log.warning("webhook refresh of %s %s failed: %s", kind.value, tiktok_id, failure)
        return _Outcome(InboxState.PENDING, _one_line(failure))
    return _Outcome(InboxState.DONE)


def _deauthorize(runtime: Runtime, inbox_id: int, event: WebhookEvent, *, now: datetime) -> str:
    """Disable the shop with TikTok's message, unless TikTok still accepts its current authorization.

    The notice can arrive hours late (TikTok retries for up to 15 hours) or out of order: if the seller authorized
    again in between, the shop's current token still lists the shop, and disabling it would be wrong. A token that
    TikTok refuses confirms the notice.
    """
    from returnbridge.db.secretbox import SecretDecryptionError
    from returnbridge.tiktok import InvalidCredentials, TikTokError

    try:
        message = event.seller_deauthorization().message or ""
    except ValidationError as invalid:
        return _finish(runtime, inbox_id, _Outcome(InboxState.FAILED, _one_line(invalid)), now=now)
    access_token = None
    with transaction(runtime.sessions) as session:
        repo = AccountRepository(session, runtime.box)
        account = repo.by_shop_id(event.shop_id)
        if account is not None and account.status == AccountStatus.ACTIVE.value:
            try:
                access_token = repo.tokens(account).access_token
            except SecretDecryptionError:
                access_token = None  # unusable anyway: nothing to confirm
    if access_token is not None:
        try:
            shops = runtime.tiktok.get_authorized_shops(access_token)
        except InvalidCredentials:
            shops = []
        except (TikTokError, UserFacingError) as failure:  # TikTok unreachable, or its app not configured
            return _count_failure(runtime, inbox_id, f"confirming the deauthorization: {_one_line(failure)}",
                                  seen=None, now=now)
        if any(shop.id == event.shop_id for shop in shops):
            stale = _Outcome(InboxState.IGNORED, "stale: TikTok still accepts the shop's current authorization "
                                                 "(the seller authorized again after this notice)")
            return _finish(runtime, inbox_id, stale, now=now)

    reason = message.strip() or "The seller revoked ReturnBridge's access on TikTok Shop"
    with transaction(runtime.sessions) as session:
        repo = AccountRepository(session, runtime.box)
        account = repo.by_shop_id(event.shop_id, for_update=True)
        if account is None:
            outcome = _Outcome(InboxState.IGNORED, f"no connected TikTok shop has the id {event.shop_id}")
        else:
            repo.set_status(account, AccountStatus.DISABLED, f"Deauthorized on TikTok: {reason}")
            outcome = _Outcome(InboxState.DONE)
        _mark(session, inbox_id, outcome, now=now)
    return outcome.state.value


def _upcoming_expiration(runtime: Runtime, inbox_id: int, event: WebhookEvent, *, now: datetime) -> str:
    try:
        notice = event.upcoming_authorization_expiration()
        expires_at = notice.expires_at
    except (ValidationError, ValueError, OverflowError) as invalid:
        return _finish(runtime, inbox_id, _Outcome(InboxState.FAILED, _one_line(invalid)), now=now)
    with transaction(runtime.sessions) as session:
        repo = AccountRepository(session, runtime.box)
        account = repo.by_shop_id(event.shop_id, for_update=True)
        if account is None:
            outcome = _Outcome(InboxState.IGNORED, f"no connected TikTok shop has the id {event.shop_id}")
        elif _renewed_since(account, event):
            outcome = _Outcome(
                InboxState.IGNORED,
                f"stale: sent at {event.sent_at.isoformat()}, before the shop was authorized again "
                f"({account.updated_at.isoformat()})",
            )
        else:
            if expires_at is not None:
                account.authorization_expires_at = expires_at
            # An expired or disabled shop keeps the reason it is unusable; the date is still recorded.
            if account.status == AccountStatus.ACTIVE.value:
                when = f" on {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at is not None else " soon"
                text = (notice.message or "").strip()
                account.status_reason = f"TikTok authorization expires{when}: reconnect the shop before then" + (
                    f" ({text})" if text else ""
                )
            session.flush()
            outcome = _Outcome(InboxState.DONE)
        _mark(session, inbox_id, outcome, now=now)
    return outcome.state.value


# TikTok's timestamp has whole seconds and its clock is not ours; a notice counts as stale only when the shop
# changed clearly after it was sent.
_RENEWAL_MARGIN = timedelta(seconds=60)


def _renewed_since(account: TikTokAccount, event: WebhookEvent) -> bool:
    """True when an active shop changed well after TikTok sent this expiry notice.

    Reconnecting (and every token renewal) moves ``updated_at``; a notice sent before that, delivered late, must not
    put back a warning the new authorization made obsolete. The notice repeats daily until the seller re-authorizes,
    so skipping one by mistake only delays the warning by a day.
    """
    if account.status != AccountStatus.ACTIVE.value:
        return False
    try:
        sent_at = event.sent_at
    except (ValueError, OverflowError, OSError):
        return False
    return account.updated_at > sent_at + _RENEWAL_MARGIN


def _finish(
    runtime: Runtime,
    inbox_id: int,
    outcome: _Outcome,
    *,
    seen: tuple[int, str, datetime] | None = None,
    now: datetime,
) -> str:
    with transaction(runtime.sessions) as session:
        _mark(session, inbox_id, outcome, now=now)
        if seen is not None:
            WebhookInboxStore(session).record_seen(*seen)
    return outcome.state.value


def _mark(session: Session, inbox_id: int, outcome: _Outcome, *, now: datetime) -> None:
    WebhookInboxStore(session).mark(inbox_id, outcome.state.value, outcome.reason, now=now)


def _count_failure(
    runtime: Runtime, inbox_id: int, reason: str, *, seen: tuple[int, str, datetime] | None, now: datetime
) -> str:
    with transaction(runtime.sessions) as session:
        inbox = WebhookInboxStore(session)
        state = inbox.count_failure(inbox_id, reason, max_attempts=MAX_ATTEMPTS, now=now)
        if seen is not None:
            inbox.record_seen(*seen)
    return state


def pending_webhooks(session: Session, older_than: datetime, *, limit: int = 500) -> list[int]:
    """Ids of webhooks still ``pending`` that arrived before ``older_than``, oldest first (for the sweep).

    ``older_than`` keeps the sweep off rows whose own job was enqueued a moment ago.
    """
    return WebhookInboxStore(session).pending(older_than, limit=limit)


def _one_line(error: BaseException) -> str:
    if isinstance(error, ValidationError):
        # "return_id: Field required" rather than pydantic's multi-line report.
        return "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'data'}: {problem['msg']}"
            for problem in error.errors(include_url=False)
        )[:500]
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:500]
