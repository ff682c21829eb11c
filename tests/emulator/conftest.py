"""Shared helpers for the TikTok emulator tests: a request signer written from the contract (§1.4) without the
product client or the emulator's own signer, a signed HTTP client, a running emulator, and a webhook receiver."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import pytest

APP_KEY = "test-app-key"
APP_SECRET = "test-app-secret"


def sign(secret: str, path: str, query: dict[str, str], body: bytes = b"") -> str:
    """secret + path + sorted(key+value, minus sign/access_token) + body + secret, HMAC-SHA256, lowercase hex."""
    pieces = "".join(f"{k}{query[k]}" for k in sorted(query) if k not in ("sign", "access_token"))
    message = secret.encode() + path.encode() + pieces.encode() + body + secret.encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass
class SignedClient:
    """Builds and sends signed open-API calls the way a correct client would, with knobs to break each rule."""

    base_url: str
    app_key: str = APP_KEY
    app_secret: str = APP_SECRET
    token: str | None = None
    shop_cipher: str | None = None
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        files: dict | None = None,
        data: dict | None = None,
        token: str | bool | None = True,
        shop_cipher: str | bool | None = True,
        timestamp: int | None = None,
        sign_with: str | None = None,
        omit: tuple[str, ...] = (),
    ) -> httpx.Response:
        """``token=True``/``shop_cipher=True`` use the client's defaults, ``None``/``False`` leave them out."""
        params: dict[str, str] = {"app_key": self.app_key, "timestamp": str(int(time.time()) if timestamp is None
                                                                              else timestamp)}
        cipher = self.shop_cipher if shop_cipher is True else (shop_cipher or None)
        if cipher:
            params["shop_cipher"] = cipher
        params.update(query or {})
        for name in omit:
            params.pop(name, None)
        request_headers = {"content-type": "application/json"}
        if json is not None:
            content = orjson.dumps(json)
        if files is not None:
            request_headers = {}
            built = self.http.build_request(method, self.base_url + path, files=files, data=data)
            content = built.read()
            request_headers["content-type"] = built.headers["content-type"]
            signed_body = b""
        else:
            signed_body = content or b""
        if "sign" not in omit:
            params["sign"] = sign(sign_with or self.app_secret, path, params, signed_body)
        access_token = self.token if token is True else (token or None)
        if access_token:
            request_headers["x-tts-access-token"] = access_token
        request_headers.update(headers or {})
        return self.http.request(
            method, f"{self.base_url}{path}?{urlencode(params)}", content=content, headers=request_headers
        )

    def call(self, method: str, path: str, **kwargs: Any) -> dict:
        response = self.request(method, path, **kwargs)
        return response.json()

    def close(self) -> None:
        self.http.close()


@dataclass
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> dict:
        return orjson.loads(self.body)


class WebhookReceiver:
    """A local HTTP endpoint recording every POST; ``statuses`` scripts the answers (then 200)."""

    def __init__(self) -> None:
        self.received: list[ReceivedWebhook] = []
        self.statuses: list[int] = []
        self.delay_seconds = 0.0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if receiver.delay_seconds:
                    time.sleep(receiver.delay_seconds)
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        ReceivedWebhook(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                        time.monotonic())
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default backlog of 5 refuses bursts of concurrent deliveries
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedWebhook]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        with self._lock:
            raise AssertionError(f"expected {count} webhooks, got {len(self.received)}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def emulator_factory() -> Iterator[Any]:
    """Start emulators (thread mode, 127.0.0.1, free port) with given options; all are stopped at the end."""
    from returnbridge.emulators.tiktok.server import EmulatorServer

    started: list[EmulatorServer] = []

    def start(**options: Any) -> EmulatorServer:
        options.setdefault("app_key", APP_KEY)
        options.setdefault("app_secret", APP_SECRET)
        server = EmulatorServer(**options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def shared_emulator() -> Iterator[Any]:
    """One emulator per test module, for tests that do not change global settings."""
    from returnbridge.emulators.tiktok.server import EmulatorServer

    server = EmulatorServer(app_key=APP_KEY, app_secret=APP_SECRET, rps=0).start()
    yield server
    server.stop()


def control(server: Any, method: str, path: str, json: Any = None, **params: Any) -> Any:
    """Call the control API and return the decoded JSON; fails the test on a non-2xx answer."""
    response = httpx.request(method, f"{server.base_url}/_emulator{path}", json=json, params=params or None,
                             timeout=10.0)
    assert response.status_code < 300, response.text
    return response.json()


def seller_client(server: Any, shop_index: int = 0, **token_options: Any) -> SignedClient:
    """A client holding a fresh token for the seller of the ``shop_index``-th shop, aimed at that shop."""
    shops = control(server, "GET", "/shops")["shops"]
    shop = shops[shop_index]
    token = control(server, "POST", "/auth/token", {"shop_id": shop["id"], **token_options})
    return SignedClient(server.base_url, server.app_key, server.app_secret, token=token["access_token"],
                        shop_cipher=shop["cipher"])


@pytest.fixture
def signer() -> Any:
    """The contract's signing recipe, independent of the emulator's ``signing.py``."""
    return sign


@pytest.fixture
def control_api() -> Any:
    return control


@pytest.fixture
def make_client() -> Iterator[Any]:
    """``make_client(server, shop_index=0, **token_options)`` → a SignedClient with a fresh seller token."""
    clients: list[SignedClient] = []

    def make(server: Any, shop_index: int = 0, **token_options: Any) -> SignedClient:
        client = seller_client(server, shop_index, **token_options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
