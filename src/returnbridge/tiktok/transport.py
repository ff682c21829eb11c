"""One signed HTTP exchange with the business API, and the decoding of its envelope.

The JSON body is serialised once by the caller; those exact bytes are signed and sent (contract §1.4: a
re-serialised body is the classic cause of 106001). Every attempt gets a fresh ``timestamp`` and signature,
but the body and any ``idempotency_key`` stay the same across attempts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import orjson
from pydantic import ValidationError

from .envelope import Envelope, PageCursor, looks_successful, validate_json
from .errors import (
    ConnectionFailed,
    TikTokError,
    error_for,
    error_without_envelope,
)
from .ratelimit import RateLimiter
from .retry import RetryPolicy, parse_retry_after
from .signing import sign_request

DataT = TypeVar("DataT")


class UnexpectedResponse(TikTokError):
    """A success envelope whose ``data`` does not have the documented shape."""


def json_body(payload: Mapping[str, Any]) -> bytes:
    """Compact JSON, produced once per call: these bytes are both signed and sent."""
    return orjson.dumps(payload)


def decode_envelope(response: httpx.Response, model: type[Envelope[DataT]], now: float) -> Envelope[DataT]:
    """The parsed envelope of a success answer; raises the typed error for anything else.

    The whole envelope is validated from the raw bytes in one call (fast path). Only when that fails is the
    body looked at loosely, to tell an error envelope, a body of the wrong shape and a non-JSON body apart.
    """
    status = response.status_code
    raw = response.content
    retry_after = parse_retry_after(response.headers.get("retry-after"), now)
    try:
        envelope = validate_json(model, raw)
    except ValidationError as invalid:
        raise _undecodable(status, raw, retry_after, invalid) from invalid
    if envelope.code != 0:
        raise error_for(envelope.code, envelope.message or "", envelope.request_id, status, retry_after)
    if status >= 400:
        raise error_without_envelope(status, f"HTTP {status} with a success envelope", retry_after)
    return envelope


def success_body(response: httpx.Response, now: float) -> bytes:
    """The raw body of a success answer, for a caller that parses it itself; raises like ``decode_envelope``.

    A 2xx/3xx body that starts with ``{"code": 0`` is taken as is, without a parse: the caller's own full
    parse validates it. Anything else is decoded (cheaply, ``data`` skipped) to raise the right error.
    """
    raw = response.content
    if response.status_code < 400 and looks_successful(raw):
        return raw
    decode_envelope(response, Envelope[PageCursor], now)
    return raw


def _undecodable(status: int, raw: bytes, retry_after: float | None, invalid: ValidationError) -> TikTokError:
    try:
        loose = orjson.loads(raw)
    except orjson.JSONDecodeError:
        snippet = raw[:200].decode("utf-8", "replace")
        return error_without_envelope(status, f"HTTP {status} with a non-JSON body: {snippet!r}", retry_after)
    code = loose.get("code") if isinstance(loose, dict) else None
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        message = loose.get("message")
        request_id = loose.get("request_id")
        return error_for(
            code,
            message if isinstance(message, str) else "",
            request_id if isinstance(request_id, str) else None,
            status,
            retry_after,
        )
    if status >= 500 or status == 429:
        return error_without_envelope(status, f"HTTP {status} without a TikTok envelope", retry_after)
    request_id = loose.get("request_id") if isinstance(loose, dict) else None
    return UnexpectedResponse(
        code if isinstance(code, int) else -1,
        f"response does not match the documented shape: {invalid.errors(include_url=False)[:3]}",
        request_id if isinstance(request_id, str) else None,
        status,
    )


@dataclass(frozen=True)
class ApiCall:
    """One business API request, independent of the attempt (timestamp/sign are added per attempt)."""

    method: str
    path: str
    # Path template ("/return_refund/202309/returns/{return_id}/approve"): the rate-limit bucket is per API,
    # not per concrete id.
    api: str
    query: Mapping[str, str | None] = field(default_factory=dict)
    body: bytes | None = None
    shop_cipher: str | None = None
    # Multipart upload parts; their body is never signed.
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    form: Mapping[str, str] | None = None
    # Writes are repeated only when they carry an idempotency key (same key on every attempt).
    write: bool = False

    @property
    def may_retry(self) -> bool:
        return not self.write or bool(self.query.get("idempotency_key"))


class Transport:
    """Signs, rate-limits, sends and retries business API calls over one shared keep-alive client."""

    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        api_base: str,
        http: httpx.Client,
        limiter: RateLimiter,
        retry: RetryPolicy,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_key = app_key
        self._app_secret = app_secret
        self.api_base = api_base.rstrip("/")
        self.http = http
        self.limiter = limiter
        self.retry = retry
        self.clock = clock

    def send(self, call: ApiCall, model: type[Envelope[DataT]], access_token: str | None) -> Envelope[DataT]:
        return self.exchange(call, model, access_token)[0]

    def exchange(
        self,
        call: ApiCall,
        model: type[Envelope[DataT]],
        access_token: str | None,
        on_sent: Callable[[], None] | None = None,
    ) -> tuple[Envelope[DataT], bytes]:
        """The parsed envelope and the raw body it came from.

        ``on_sent`` is called once the request body is on the wire (where the HTTP stack reports it).
        """
        return self.retry.run(
            lambda: self._attempt(call, model, access_token, on_sent),
            allowed=call.may_retry,
            what=f"{call.method} {call.api}",
        )

    def fetch(self, call: ApiCall, access_token: str | None, on_sent: Callable[[], None] | None = None) -> bytes:
        """The raw body of a success answer, not parsed (the caller parses it once, fully); errors and retries
        as in ``exchange``. ``on_sent`` as in ``exchange``."""
        return self.retry.run(
            lambda: success_body(self._request(call, access_token, on_sent), self.clock()),
            allowed=call.may_retry,
            what=f"{call.method} {call.api}",
        )

    def signed_query(self, call: ApiCall) -> dict[str, str]:
        """Common parameters + endpoint parameters (no empty ones: SKIT skips them when signing) + sign."""
        query: dict[str, str] = {"app_key": self.app_key, "timestamp": str(int(self.clock()))}
        if call.shop_cipher:
            query["shop_cipher"] = call.shop_cipher
        for key, value in call.query.items():
            if value is not None and value != "":
                query[key] = value
        query["sign"] = sign_request(self._app_secret, call.path, query, call.body, multipart=call.files is not None)
        return query

    def _attempt(
        self,
        call: ApiCall,
        model: type[Envelope[DataT]],
        access_token: str | None,
        on_sent: Callable[[], None] | None = None,
    ) -> tuple[Envelope[DataT], bytes]:
        response = self._request(call, access_token, on_sent)
        return decode_envelope(response, model, self.clock()), response.content

    def _request(
        self, call: ApiCall, access_token: str | None, on_sent: Callable[[], None] | None = None
    ) -> httpx.Response:
        query = self.signed_query(call)
        headers: dict[str, str] = {}
        if access_token:
            headers["x-tts-access-token"] = access_token
        if call.files is None:
            headers["content-type"] = "application/json"
        self.limiter.acquire((call.shop_cipher or "", call.api))
        try:
            response = self.http.request(
                call.method,
                self.api_base + call.path,
                params=query,
                content=call.body,
                files=call.files,
                data=call.form,
                headers=headers,
                extensions={"trace": _sent_tracer(on_sent)} if on_sent is not None else None,
            )
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"{call.method} {call.api}: {type(exc).__name__}: {exc}") from exc
        return response


def _sent_tracer(on_sent: Callable[[], None]) -> Callable[[str, Mapping[str, Any]], None]:
    # httpcore reports "http11.send_request_body.complete" (or http2.…) once the request is fully written.
    def trace(event: str, info: Mapping[str, Any]) -> None:
        if event.endswith("send_request_body.complete"):
            on_sent()

    return trace
