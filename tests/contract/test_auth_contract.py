from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from returnbridge.tiktok import InvalidAuthCode, MemoryTokenSource, TikTokClient

from .conftest import Control, authorize


def test_auth_code_exchange_gives_tokens_with_absolute_expiry(control: Control, client: TikTokClient, us_shop) -> None:
    tokens = authorize(control, client, us_shop["id"])
    assert tokens.access_token.startswith("TTP_")
    assert tokens.refresh_token.startswith("TTP_")
    now = datetime.now(UTC)
    # Absolute timestamps: about 7 days and about a year ahead, not durations read as 1970 dates.
    assert timedelta(days=6) < tokens.access_token_expires_at - now < timedelta(days=8)
    assert tokens.refresh_token_expires_at - now > timedelta(days=300)
    assert "seller.return_refund.basic" in tokens.granted_scopes
    assert tokens.user_type == 0


def test_auth_code_is_single_use(control: Control, client: TikTokClient, us_shop) -> None:
    code = control("POST", "/auth/code", {"shop_id": us_shop["id"]})["code"]
    client.get_access_token(code)
    with pytest.raises(InvalidAuthCode) as raised:
        client.get_access_token(code)
    assert raised.value.code == 36004004


def test_auth_code_expires_after_thirty_minutes(control: Control, client: TikTokClient, us_shop) -> None:
    code = control("POST", "/auth/code", {"shop_id": us_shop["id"]})["code"]
    control("POST", "/clock/advance", {"seconds": 31 * 60})
    with pytest.raises(InvalidAuthCode):
        client.get_access_token(code)


def test_unknown_auth_code_is_refused(client: TikTokClient) -> None:
    with pytest.raises(InvalidAuthCode):
        client.get_access_token("not-a-code")


def test_refresh_gives_new_tokens_and_the_old_refresh_token_stops_working(
    control: Control, client: TikTokClient, us_shop
) -> None:
    tokens = authorize(control, client, us_shop["id"])
    renewed = client.refresh_access_token(tokens.refresh_token)
    assert renewed.access_token != tokens.access_token
    assert renewed.refresh_token != tokens.refresh_token
    with pytest.raises(Exception) as raised:
        client.refresh_access_token(tokens.refresh_token)
    assert getattr(raised.value, "code", None) is not None


def test_authorized_shops_lists_the_sellers_shops_with_ciphers(control: Control, client: TikTokClient) -> None:
    seller = next(s for s in control("GET", "/sellers")["sellers"] if len(s["shop_ids"]) > 1)
    tokens = client.get_access_token(control("POST", "/auth/code", {"seller_id": seller["id"]})["code"])
    shops = client.get_authorized_shops(tokens.access_token)
    assert sorted(s.id for s in shops) == sorted(seller["shop_ids"])
    for shop in shops:
        assert shop.cipher
        assert shop.region
        assert shop.name


def test_consent_page_redirects_to_the_app_with_code_and_state(
    emulator, control: Control, client: TikTokClient
) -> None:
    control("POST", "/config", {"redirect_url": "http://127.0.0.1:9/oauth/callback"})
    url = client.authorization_url("csrf-state-123")
    assert url.startswith(f"{emulator.base_url}/open/authorize?")
    with httpx.Client(follow_redirects=False) as browser:
        page = browser.get(url)
        assert page.status_code == 200
        assert "Authorize" in page.text
        # Submit the first seller's form exactly as a browser would: its action and its hidden fields.
        form = page.text.split("<form", 1)[1].split("</form>", 1)[0]
        action = html.unescape(re.search(r'action="([^"]*)"', form).group(1))
        fields = {html.unescape(n): html.unescape(v) for n, v in re.findall(r'name="([^"]*)" value="([^"]*)"', form)}
        assert fields["state"] == "csrf-state-123"
        answer = browser.post(httpx.URL(url).join(action), data=fields)
    assert answer.status_code == 302
    location = urlparse(answer.headers["location"])
    assert location.path == "/oauth/callback"
    query = parse_qs(location.query)
    assert query["state"] == ["csrf-state-123"]
    tokens = client.get_access_token(query["code"][0])
    assert tokens.access_token.startswith("TTP_")


def test_expired_access_token_is_refreshed_and_the_call_retried(
    control: Control, client: TikTokClient, us_shop
) -> None:
    tokens = authorize(control, client, us_shop["id"])
    refreshed = []
    source = MemoryTokenSource(client, tokens, on_refreshed=refreshed.append)
    shop = client.shop(us_shop["cipher"], source)
    control("POST", "/auth/expire", {"shop_id": us_shop["id"]})
    page = shop.search_returns(page_size=10)
    assert page.total_count >= 0
    assert len(refreshed) == 1
    assert source.current().access_token != tokens.access_token
