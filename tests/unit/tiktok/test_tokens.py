"""OAuth token exchange, absolute expiry, proactive refresh and refresh-and-retry on 105002."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conftest import (
    APP_KEY,
    APP_SECRET,
    DAY,
    SHOP_CIPHER,
    FakeClock,
    FakeTikTok,
    query_of,
    reply,
    token_data,
    tokens,
)
from returnbridge.tiktok import (
    InvalidAuthCode,
    MemoryTokenSource,
    ShopClient,
    TikTokClient,
    TokenExpired,
    TokenSet,
    TransientError,
)


def test_token_expiry_fields_are_absolute_timestamps() -> None:
    parsed = TokenSet.model_validate(
        {
            "access_token": "TTP_a",
            "access_token_expire_in": 1_700_000_000,
            "refresh_token": "TTP_r",
            "refresh_token_expire_in": 1_730_000_000,
        }
    )
    assert parsed.access_token_expires_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert parsed.refresh_token_expires_at == datetime.fromtimestamp(1_730_000_000, UTC)
    assert parsed.access_token_expires_at.utcoffset() is not None


def test_token_set_round_trips_through_its_own_dump() -> None:
    original = tokens()
    assert TokenSet.model_validate(original.model_dump()) == original
    assert TokenSet.model_validate_json(original.model_dump_json()) == original


def test_naive_datetimes_are_refused_for_token_expiry() -> None:
    with pytest.raises(ValueError):
        TokenSet(
            access_token="a",
            access_token_expires_at=datetime(2030, 1, 1),
            refresh_token="r",
            refresh_token_expires_at=datetime(2031, 1, 1),
        )


def test_get_access_token_is_an_unsigned_get_on_the_auth_host(
    client: TikTokClient, fake: FakeTikTok, clock: FakeClock
) -> None:
    fake.then(reply(token_data(clock.now, "new")))
    result = client.get_access_token("auth-code-1")
    request = fake.requests[0]
    assert request.method == "GET"
    assert request.url.host == "auth.tiktok-shops.com"
    assert request.url.path == "/api/v2/token/get"
    assert query_of(request) == {
        "app_key": APP_KEY,
        "app_secret": APP_SECRET,
        "auth_code": "auth-code-1",
        "grant_type": "authorized_code",
    }
    assert result.access_token == "TTP_access_new"
    assert result.granted_scopes == ["seller.return_refund.basic"]
    assert result.seller_base_region == "US"
    assert result.user_type == 0


def test_refresh_access_token_sends_the_refresh_grant(client: TikTokClient, fake: FakeTikTok, clock: FakeClock) -> None:
    fake.then(reply(token_data(clock.now, "2")))
    result = client.refresh_access_token("TTP_refresh_1")
    query = query_of(fake.requests[0])
    assert fake.requests[0].url.path == "/api/v2/token/refresh"
    assert query["grant_type"] == "refresh_token"
    assert query["refresh_token"] == "TTP_refresh_1"
    assert result.refresh_token == "TTP_refresh_2"


def test_invalid_auth_code_is_not_retried(client: TikTokClient, fake: FakeTikTok) -> None:
    fake.then(reply(code=36004004))
    with pytest.raises(InvalidAuthCode):
        client.get_access_token("used-code")
    assert len(fake.requests) == 1


def test_auth_code_exchange_is_not_retried_on_transient_errors(client: TikTokClient, fake: FakeTikTok) -> None:
    fake.then(reply(code=36009003))
    with pytest.raises(TransientError):
        client.get_access_token("code")
    assert len(fake.requests) == 1


def test_authorization_url_carries_service_id_and_state(client: TikTokClient) -> None:
    assert client.authorization_url("csrf 1") == (
        "https://services.tiktokshop.com/open/authorize?service_id=svc-1&state=csrf+1"
    )


def test_authorization_url_needs_a_service_id() -> None:
    with TikTokClient(app_key="k", app_secret="s") as bare, pytest.raises(ValueError):
        bare.authorization_url("x")


def test_expired_token_is_refreshed_once_and_retried(
    shop: ShopClient, fake: FakeTikTok, clock: FakeClock, refreshed: list[TokenSet]
) -> None:
    fake.then(
        reply(code=105002, status=401),
        reply(token_data(clock.now, "2")),
        reply({"reasons": [{"name": "reverse_reject_request_reason_4", "text": "Other"}]}),
    )
    reasons = shop.get_reject_reasons("r1")
    assert [reason.name for reason in reasons] == ["reverse_reject_request_reason_4"]
    assert fake.requests[0].headers["x-tts-access-token"] == "TTP_access_1"
    assert fake.requests[1].url.path == "/api/v2/token/refresh"
    assert fake.requests[2].headers["x-tts-access-token"] == "TTP_access_2"
    assert [t.access_token for t in refreshed] == ["TTP_access_2"]


def test_expired_token_is_not_refreshed_twice(shop: ShopClient, fake: FakeTikTok, clock: FakeClock) -> None:
    fake.then(reply(code=105002), reply(token_data(clock.now, "2")), reply(code=105002))
    with pytest.raises(TokenExpired):
        shop.get_reject_reasons("r1")
    assert len(fake.requests) == 3


def test_write_without_key_is_repeated_once_after_token_refresh(
    shop: ShopClient, fake: FakeTikTok, clock: FakeClock
) -> None:
    fake.then(reply(code=105002), reply(token_data(clock.now, "2")), reply({}))
    shop.approve_return("r1", decision="APPROVE_REFUND")
    assert [r.url.path for r in fake.requests] == [
        "/return_refund/202309/returns/r1/approve",
        "/api/v2/token/refresh",
        "/return_refund/202309/returns/r1/approve",
    ]


def test_token_with_less_than_a_day_left_is_refreshed_before_the_call(
    client: TikTokClient, fake: FakeTikTok, clock: FakeClock, refreshed: list[TokenSet]
) -> None:
    source = MemoryTokenSource(client, tokens(clock.now, access_days=0.5), on_refreshed=refreshed.append)
    fake.then(reply(token_data(clock.now, "2")), reply({"records": []}))
    client.shop(SHOP_CIPHER, source).get_return_records("r1")
    assert fake.requests[0].url.path == "/api/v2/token/refresh"
    assert fake.requests[1].headers["x-tts-access-token"] == "TTP_access_2"
    assert source.current().access_token == "TTP_access_2"
    assert len(refreshed) == 1


def test_token_with_more_than_a_day_left_is_used_as_is(
    client: TikTokClient, fake: FakeTikTok, clock: FakeClock
) -> None:
    source = MemoryTokenSource(client, tokens(clock.now, access_days=1.5))
    fake.then(reply({"records": []}))
    client.shop(SHOP_CIPHER, source).get_return_records("r1")
    assert len(fake.requests) == 1


def test_proactive_refresh_follows_the_injected_clock(client: TikTokClient, fake: FakeTikTok, clock: FakeClock) -> None:
    source = MemoryTokenSource(client, tokens(clock.now, access_days=3))
    clock.now += 2.5 * DAY
    fake.then(reply(token_data(clock.now, "2")), reply({"records": []}))
    client.shop(SHOP_CIPHER, source).get_return_records("r1")
    assert fake.requests[0].url.path == "/api/v2/token/refresh"


def test_failed_proactive_refresh_falls_back_to_the_still_valid_token(
    client: TikTokClient, fake: FakeTikTok, clock: FakeClock
) -> None:
    source = MemoryTokenSource(client, tokens(clock.now, access_days=0.5))
    fake.then(reply(code=36009004, status=400), reply({"records": []}))
    client.shop(SHOP_CIPHER, source).get_return_records("r1")
    assert fake.requests[1].headers["x-tts-access-token"] == "TTP_access_1"


def test_memory_source_does_not_refresh_tokens_someone_else_already_refreshed(
    client: TikTokClient, fake: FakeTikTok, clock: FakeClock
) -> None:
    stale = tokens(clock.now, suffix="1")
    source = MemoryTokenSource(client, stale)
    fake.then(reply(token_data(clock.now, "2")))
    first = source.refresh(stale)
    second = source.refresh(stale)
    assert first.access_token == second.access_token == "TTP_access_2"
    assert len(fake.requests) == 1
