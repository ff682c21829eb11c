"""Keeping shops connected: access tokens renewed before they expire, and each shop's sync health at a glance.

A periodic job calls ``refresh_expiring_tokens`` so no sync, webhook follow-up or merchant decision ever waits on
(or fails for) an expired access token. An authorization that cannot be renewed turns the account EXPIRED with a
reason the merchant sees next to the shop, instead of failing every job quietly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from returnbridge.db.engine import transaction
from returnbridge.db.models import AccountStatus, SyncState, TikTokAccount
from returnbridge.db.repositories.accounts import AccountRepository
from returnbridge.sync.tokens import AccountUnavailable, DatabaseTokenSource
from returnbridge.tiktok import TikTokError

if TYPE_CHECKING:
    from returnbridge.sync.runtime import Runtime

log = logging.getLogger(__name__)

STREAMS = ("returns", "cancellations")


def _moment(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _expiring_account_ids(runtime: Runtime, deadline: datetime, now: datetime) -> list[int]:
    with transaction(runtime.sessions) as session:
        stmt = (
            select(TikTokAccount.id)
            .where(
                TikTokAccount.status == AccountStatus.ACTIVE.value,
                or_(TikTokAccount.access_token_expires_at <= deadline, TikTokAccount.refresh_token_expires_at <= now),
            )
            .order_by(TikTokAccount.access_token_expires_at, TikTokAccount.id)
        )
        return list(session.scalars(stmt))


def _expire_if_lapsed(runtime: Runtime, account_id: int, now: datetime) -> bool:
    """Mark the account EXPIRED when its refresh token has lapsed; True when it did (or is no longer active).

    Checked under the row lock: another process may have renewed the tokens since the account was listed.
    """
    with transaction(runtime.sessions) as session:
        repo = AccountRepository(session, runtime.box)
        account = repo.get(account_id, for_update=True)
        if account is None or account.status != AccountStatus.ACTIVE.value:
            return True
        if account.refresh_token_expires_at > now:
            return False
        # TikTok would refuse the lapsed refresh token anyway; asking would only spend a call and a rate-limit slot.
        reason = f"the authorization expired on {_moment(account.refresh_token_expires_at)}: reconnect the shop"
        repo.set_status(account, AccountStatus.EXPIRED, reason)
        log.warning("TikTok shop %s: %s", account.shop_id, reason)
        return True


def refresh_expiring_tokens(
    runtime: Runtime, *, within: timedelta = timedelta(days=1), now: datetime | None = None
) -> list[int]:
    """Renew the access token of every active account whose token expires within ``within``; gives their ids.

    Safe to run from several processes at once: the refresh happens under the account's row lock and is skipped
    when another process renewed first (``DatabaseTokenSource.refresh``), so TikTok's single-use refresh token is
    never spent twice. A refused refresh turns the account EXPIRED with the reason; a failure on one account is
    logged and does not stop the others.
    """
    now = now or datetime.now(UTC)
    deadline = now + within
    refreshed: list[int] = []
    for account_id in _expiring_account_ids(runtime, deadline, now):
        try:
            if _expire_if_lapsed(runtime, account_id, now):
                continue
            source = DatabaseTokenSource(runtime, account_id)
            current = source.current()
            if current.access_token_expires_at > deadline:
                continue  # renewed by another process since the list was read
            source.refresh(current)
        except AccountUnavailable as unavailable:  # refused: the account is now EXPIRED with the reason
            log.warning("account %s: %s", account_id, unavailable)
            continue
        except TikTokError as error:  # TikTok unreachable or failing: the next run tries again
            log.warning("account %s: the access token could not be renewed yet: %s", account_id, error)
            continue
        except Exception:
            # A bug or a database error on one shop must not leave the other shops to expire.
            log.exception("could not renew the TikTok access token of account %s", account_id)
            continue
        refreshed.append(account_id)
    return refreshed


# --- health -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamHealth:
    """One sync stream of a shop (returns or cancellations) as the merchant sees it."""

    stream: str
    cursor: datetime | None  # newest TikTok update_time committed
    lag: timedelta | None  # how far behind TikTok the stream may be: now - cursor; None before the first sync
    backfill_done: bool
    last_poll_ok_at: datetime | None
    last_webhook_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    consecutive_failures: int


@dataclass(frozen=True, slots=True)
class AccountHealth:
    account_id: int
    shop_id: str
    shop_name: str
    region: str
    status: str  # active, expired, disabled
    status_reason: str  # why it is expired or disabled, in words the merchant can act on
    access_token_expires_at: datetime
    refresh_token_expires_at: datetime
    authorization_expires_at: datetime | None  # announced by TikTok (webhook type 7), when it did
    streams: tuple[StreamHealth, ...]

    def stream(self, name: str) -> StreamHealth:
        return next(s for s in self.streams if s.stream == name)


def _stream_health(name: str, state: SyncState | None, now: datetime) -> StreamHealth:
    if state is None:  # never synced yet
        return StreamHealth(name, None, None, False, None, None, "", None, 0)
    return StreamHealth(
        stream=name,
        cursor=state.cursor,
        lag=max(now - state.cursor, timedelta(0)) if state.cursor is not None else None,
        backfill_done=state.backfill_done,
        last_poll_ok_at=state.last_poll_ok_at,
        last_webhook_at=state.last_webhook_at,
        last_error=state.last_error,
        last_error_at=state.last_error_at,
        consecutive_failures=state.consecutive_failures,
    )


def account_health(session: Session, *, now: datetime | None = None) -> list[AccountHealth]:
    """Every account (active or not) with its status, token expiries and per-stream sync health, by id."""
    now = now or datetime.now(UTC)
    accounts = list(session.scalars(select(TikTokAccount).order_by(TikTokAccount.id)))
    states: dict[tuple[int, str], SyncState] = {
        (state.account_id, state.stream): state for state in session.scalars(select(SyncState))
    }
    return [
        AccountHealth(
            account_id=account.id,
            shop_id=account.shop_id,
            shop_name=account.shop_name,
            region=account.region,
            status=account.status,
            status_reason=account.status_reason,
            access_token_expires_at=account.access_token_expires_at,
            refresh_token_expires_at=account.refresh_token_expires_at,
            authorization_expires_at=account.authorization_expires_at,
            streams=tuple(_stream_health(name, states.get((account.id, name)), now) for name in STREAMS),
        )
        for account in accounts
    ]
