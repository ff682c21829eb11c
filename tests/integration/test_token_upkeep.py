"""Token upkeep and account health: access tokens renewed before they expire against the emulator's auth host over
real HTTP, accounts turned EXPIRED with a visible reason, and the health the merchant sees, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from returnbridge.db.engine import transaction
from returnbridge.db.models import AccountStatus, SyncState, TikTokAccount
from returnbridge.db.repositories.accounts import AccountRepository, StoredTokens
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.tokens import stored_tokens
from returnbridge.sync.upkeep import account_health, refresh_expiring_tokens
from returnbridge.tiktok import InvalidCredentials, TokenSet

from .conftest import Control, connect_shop

REFRESH_ROUTE = "GET /api/v2/token/refresh"


def refresh_calls(control: Control) -> int:
    """How many refreshes the emulator's auth host has answered so far (any outcome)."""
    return int(control("GET", "/stats")["routes"].get(REFRESH_ROUTE, {}).get("count", 0))


def tokens_of(runtime: Runtime, account_id: int) -> StoredTokens:
    with transaction(runtime.sessions) as session:
        repo = AccountRepository(session, runtime.box)
        account = repo.get(account_id)
        assert account is not None
        return repo.tokens(account)


def account_row(runtime: Runtime, account_id: int) -> TikTokAccount:
    with transaction(runtime.sessions) as session:
        account = session.get(TikTokAccount, account_id)
        assert account is not None
        return account


def issue_short_lived_tokens(
    runtime: Runtime, control: Control, account_id: int, shop: dict[str, Any], seconds: int = 3600
) -> TokenSet:
    """Have the emulator mint tokens whose access token expires in ``seconds``, and store them for the account."""
    data = control("POST", "/auth/token", {"shop_id": shop["id"], "access_ttl_seconds": seconds})
    tokens = TokenSet.model_validate(data)
    with transaction(runtime.sessions) as session:
        repo = AccountRepository(session, runtime.box)
        account = repo.get(account_id)
        assert account is not None
        repo.save_tokens(account, stored_tokens(tokens))
    return tokens


def refuse_refresh(control: Control, shop: dict[str, Any]) -> None:
    """TikTok stops accepting the seller's refresh tokens (as after a long inactivity or a revoked app)."""
    control("POST", "/auth/expire", {"shop_id": shop["id"], "include_refresh": True})


def test_an_access_token_near_expiry_is_refreshed_and_the_new_tokens_stored(
    runtime: Runtime, control: Control, us_shop: dict[str, Any], account_id: int
) -> None:
    old = issue_short_lived_tokens(runtime, control, account_id, us_shop)

    refreshed = refresh_expiring_tokens(runtime)

    assert refreshed == [account_id]
    new = tokens_of(runtime, account_id)
    assert new.access_token != old.access_token
    assert new.refresh_token != old.refresh_token
    assert new.access_token_expires_at > datetime.now(UTC) + timedelta(days=6)


def test_the_renewed_tokens_are_the_ones_tiktok_accepts(
    runtime: Runtime, control: Control, us_shop: dict[str, Any], account_id: int
) -> None:
    old = issue_short_lived_tokens(runtime, control, account_id, us_shop)
    refresh_expiring_tokens(runtime)
    new = tokens_of(runtime, account_id)

    runtime.shop_client(account_id).search_returns(page_size=10)  # the stored access token works
    with pytest.raises(InvalidCredentials):
        runtime.tiktok.refresh_access_token(old.refresh_token)  # the old refresh token was spent
    assert runtime.tiktok.refresh_access_token(new.refresh_token).access_token  # the stored one was not


def test_a_token_with_days_left_is_left_alone(
    runtime: Runtime, control: Control, account_id: int
) -> None:
    before, calls = tokens_of(runtime, account_id), refresh_calls(control)

    refreshed = refresh_expiring_tokens(runtime)

    assert refreshed == []
    assert tokens_of(runtime, account_id).access_token == before.access_token
    assert refresh_calls(control) == calls


def test_concurrent_refreshes_of_one_account_call_tiktok_once(
    runtime: Runtime, control: Control, us_shop: dict[str, Any], account_id: int
) -> None:
    issue_short_lived_tokens(runtime, control, account_id, us_shop)
    calls = refresh_calls(control)
    # Four processes' worth of wiring (own engine, own TikTok client), starting the sweep at the same moment.
    processes = [Runtime.from_settings(runtime.settings) for _ in range(4)]
    start = threading.Barrier(len(processes))
    errors: list[BaseException] = []

    def sweep(process: Runtime) -> None:
        try:
            start.wait(timeout=10)
            refresh_expiring_tokens(process)
        except BaseException as error:  # surfaced below: an assertion in a thread would be lost
            errors.append(error)

    threads = [threading.Thread(target=sweep, args=(p,)) for p in processes]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for process in processes:
            process.close()

    assert errors == []
    assert refresh_calls(control) == calls + 1
    assert account_row(runtime, account_id).status == AccountStatus.ACTIVE.value
    stored = tokens_of(runtime, account_id)
    assert runtime.tiktok.refresh_access_token(stored.refresh_token).access_token  # the one TikTok issued last


def test_a_refused_refresh_marks_the_account_expired_with_the_reason(
    runtime: Runtime, control: Control, us_shop: dict[str, Any], account_id: int
) -> None:
    issue_short_lived_tokens(runtime, control, account_id, us_shop)
    refuse_refresh(control, us_shop)

    refreshed = refresh_expiring_tokens(runtime)

    assert refreshed == []
    account = account_row(runtime, account_id)
    assert account.status == AccountStatus.EXPIRED.value
    assert account.status_reason == "TikTok refused to renew the authorization (36009004): reconnect the shop"


def test_a_lapsed_refresh_token_marks_the_account_expired_without_asking_tiktok(
    runtime: Runtime, control: Control, account_id: int
) -> None:
    lapsed = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    with transaction(runtime.sessions) as session:
        account = session.get(TikTokAccount, account_id)
        assert account is not None
        account.access_token_expires_at = lapsed
        account.refresh_token_expires_at = lapsed
    calls = refresh_calls(control)

    refreshed = refresh_expiring_tokens(runtime)

    assert refreshed == []
    assert refresh_calls(control) == calls
    account = account_row(runtime, account_id)
    assert account.status == AccountStatus.EXPIRED.value
    assert account.status_reason == "the authorization expired on 2026-01-02 03:04 UTC: reconnect the shop"


def test_one_account_failing_does_not_stop_the_others(
    runtime: Runtime, control: Control, us_shop: dict[str, Any], account_id: int
) -> None:
    # The failing shop expires first, so it is tried first.
    issue_short_lived_tokens(runtime, control, account_id, us_shop, seconds=600)
    refuse_refresh(control, us_shop)
    gb_shop = control.shop("GB")
    gb_account = connect_shop(runtime, control, gb_shop)
    issue_short_lived_tokens(runtime, control, gb_account, gb_shop, seconds=7200)

    refreshed = refresh_expiring_tokens(runtime)

    assert refreshed == [gb_account]
    assert account_row(runtime, account_id).status == AccountStatus.EXPIRED.value
    assert account_row(runtime, gb_account).status == AccountStatus.ACTIVE.value


def test_an_expired_account_is_not_refreshed_again(
    runtime: Runtime, control: Control, us_shop: dict[str, Any], account_id: int
) -> None:
    issue_short_lived_tokens(runtime, control, account_id, us_shop)
    with transaction(runtime.sessions) as session:
        account = session.get(TikTokAccount, account_id)
        assert account is not None
        account.status, account.status_reason = AccountStatus.DISABLED.value, "Seller revoked access"
    calls = refresh_calls(control)

    assert refresh_expiring_tokens(runtime) == []
    assert refresh_calls(control) == calls


def test_health_shows_lag_and_the_last_error(runtime: Runtime, account_id: int) -> None:
    now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    with transaction(runtime.sessions) as session:
        session.add(
            SyncState(
                account_id=account_id,
                stream="returns",
                cursor=now - timedelta(hours=2),
                backfill_done=True,
                last_poll_ok_at=now - timedelta(hours=1),
                last_webhook_at=now - timedelta(minutes=5),
                last_error="TikTok error 36009003: Internal error. Please retry later.",
                last_error_at=now - timedelta(minutes=10),
                consecutive_failures=3,
            )
        )

    with transaction(runtime.sessions) as session:
        (health,) = account_health(session, now=now)

    returns = health.stream("returns")
    assert returns.lag == timedelta(hours=2)
    assert returns.last_error == "TikTok error 36009003: Internal error. Please retry later."
    assert returns.consecutive_failures == 3
    assert returns.last_poll_ok_at == now - timedelta(hours=1)
    assert returns.last_webhook_at == now - timedelta(minutes=5)
    never = health.stream("cancellations")
    assert (never.lag, never.last_poll_ok_at, never.consecutive_failures) == (None, None, 0)


def test_health_shows_why_an_account_is_expired(
    runtime: Runtime, control: Control, us_shop: dict[str, Any], account_id: int
) -> None:
    issue_short_lived_tokens(runtime, control, account_id, us_shop)
    refuse_refresh(control, us_shop)
    refresh_expiring_tokens(runtime)

    with transaction(runtime.sessions) as session:
        (health,) = account_health(session)

    assert (health.shop_id, health.shop_name) == (us_shop["id"], us_shop["name"])
    assert health.status == "expired"
    assert health.status_reason.endswith("reconnect the shop")
    assert health.refresh_token_expires_at > datetime.now(UTC)
