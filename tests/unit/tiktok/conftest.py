"""A scripted TikTok behind ``httpx.MockTransport``: real request/response objects, no network."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from returnbridge.tiktok import MemoryTokenSource, ShopClient, TikTokClient, TokenSet
from returnbridge.tiktok.signing import sign_request

APP_KEY = "app-key-1"
APP_SECRET = "app-secret-1"
SHOP_CIPHER = "ROW_shop-cipher-1"
START = 1_760_000_000.0
DAY = 86_400


class FakeClock:
    """Wall clock that only moves when someone sleeps on it; records every sleep."""

    def __init__(self, now: float = START) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def envelope(data: Any = None, *, code: int = 0, message: str = "Success", request_id: str = "RID-1") -> bytes:
    body: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if data is not None:
        body["data"] = data
    return json.dumps(body).encode()


def reply(
    data: Any = None,
    *,
    code: int = 0,
    status: int = 200,
    request_id: str = "RID-1",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return httpx.Response(status, content=envelope(data, code=code, request_id=request_id), headers=headers)


def query_of(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))


def body_json(request: httpx.Request) -> Any:
    return json.loads(request.content)


def expected_sign(request: httpx.Request) -> str:
    """What TikTok would compute from the request as received."""
    multipart = request.headers.get("content-type", "").startswith("multipart/form-data")
    query = {k: v for k, v in query_of(request).items() if k != "sign"}
    return sign_request(APP_SECRET, request.url.path, query, request.content, multipart=multipart)


@dataclass
class FakeTikTok:
    """Answers each request with the next scripted response (or a route function) and keeps what it got."""

    responses: list[httpx.Response | Callable[[httpx.Request], httpx.Response]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if not self.responses:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        nxt = self.responses.pop(0)
        return nxt(request) if callable(nxt) else nxt

    def then(self, *responses: httpx.Response | Callable[[httpx.Request], httpx.Response]) -> FakeTikTok:
        self.responses.extend(responses)
        return self


def tokens(now: float = START, *, access_days: float = 7, suffix: str = "1") -> TokenSet:
    return TokenSet.model_validate(
        {
            "access_token": f"TTP_access_{suffix}",
            "access_token_expire_in": int(now + access_days * DAY),
            "refresh_token": f"TTP_refresh_{suffix}",
            "refresh_token_expire_in": int(now + 365 * DAY),
        }
    )


def token_data(now: float, suffix: str) -> dict[str, Any]:
    return {
        "access_token": f"TTP_access_{suffix}",
        "access_token_expire_in": int(now + 7 * DAY),
        "refresh_token": f"TTP_refresh_{suffix}",
        "refresh_token_expire_in": int(now + 365 * DAY),
        "open_id": "open-1",
        "seller_name": "Shop One",
        "seller_base_region": "US",
        "user_type": 0,
        "granted_scopes": ["seller.return_refund.basic"],
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake() -> FakeTikTok:
    return FakeTikTok()


@pytest.fixture
def client(fake: FakeTikTok, clock: FakeClock) -> Iterator[TikTokClient]:
    http = httpx.Client(transport=httpx.MockTransport(fake))
    with TikTokClient(
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        service_id="svc-1",
        http=http,
        clock=clock.time,
        sleep=clock.sleep,
    ) as tiktok:
        yield tiktok
    http.close()


@pytest.fixture
def refreshed() -> list[TokenSet]:
    return []


@pytest.fixture
def token_source(client: TikTokClient, clock: FakeClock, refreshed: list[TokenSet]) -> MemoryTokenSource:
    return MemoryTokenSource(client, tokens(clock.now), on_refreshed=refreshed.append)


@pytest.fixture
def shop(client: TikTokClient, token_source: MemoryTokenSource) -> ShopClient:
    return client.shop(SHOP_CIPHER, token_source)
