"""The emulator's ASGI application: open-API routing, gatekeeping, auth host, consent page and control API.

Raw ASGI rather than a framework on the hot path: Search Returns must serve hundreds of pages a second on two
cores, and every layer between the socket and ``World.search_returns`` costs. The ``World`` returns its records as
``orjson.Fragment`` objects, so encoding the envelope splices pre-encoded JSON instead of re-serialising it.

One request, in order (contract §8.1–8.2): route (36009009/36009010) → injected fault/latency → gate steps 1–9
(``gate.py``) → body validation (step 10) → idempotent replay → the ``World`` operation under ``world.lock``
(step 11, business errors as ``ApiError`` with HTTP 200).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson

from . import consent
from .auth import (
    SCOPE_AUTHORIZATION,
    SCOPE_ORDER,
    SCOPE_PRODUCT,
    SCOPE_RETURN_REFUND,
    AppCredentials,
    AuthService,
)
from .clock import Clock
from .decision_log import DecisionLog, is_decision_route
from .errors import ApiError
from .faults import Fault, FaultInjector
from .gate import Admission, Gate, GateError, RouteAccess, ShopLike
from .idempotency import IdempotencyStore
from .media import MediaLibrary, content_type_of, image_size, multipart_boundary, parse_multipart
from .ratelimit import RateLimiter
from .signing import first_values
from .webhooks import EVENT_TYPES_BY_NAME, WebhookDispatcher

if TYPE_CHECKING:
    from .world import ChangeEvent, World

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

INVALID_PATH = 36009009
METHOD_NOT_ALLOWED = 36009010
INVALID_PARAMETER = 36009004
BODY_NOT_JSON = 36009022
NOT_MULTIPART = 36009023
FILE_TOO_BIG = 36009021

MAX_IMAGE_BYTES = 5 * 1024 * 1024
# Bodies are read whole (the signature covers them); anything this large is refused without keeping it.
MAX_BODY_BYTES = 16 * 1024 * 1024
TICK_SECONDS = 0.5

JSON = b"application/json"
_JSON_HEADERS = [(b"content-type", JSON)]

# Body kinds of a route.
NO_BODY = "none"
JSON_BODY = "json"
OPTIONAL_JSON_BODY = "optional_json"  # approve-cancellation: ECOM sends no body at all, others send {}
MULTIPART_BODY = "multipart"


@dataclass(slots=True)
class Call:
    """What a route handler gets once the gate has let the request through."""

    shop: ShopLike | None
    admission: Admission
    query: dict[str, str]
    body: dict
    params: dict[str, str]
    version: str
    raw_body: bytes
    content_type: str


Handler = Callable[[Call], dict]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    version: str
    access: RouteAccess
    handler: Handler
    body: str = JSON_BODY
    idempotent: bool = False
    segments: tuple[str, ...] = field(default=(), compare=False)


class RequestStats:
    """Calls per (method, route template) with envelope codes and HTTP statuses, for ``/_emulator/stats``."""

    def __init__(self) -> None:
        self._by_route: dict[str, dict] = {}
        self._lock = threading.Lock()

    def record(self, key: str, code: int, status: int, elapsed: float) -> None:
        with self._lock:
            entry = self._by_route.get(key)
            if entry is None:
                entry = self._by_route[key] = {"count": 0, "codes": {}, "http_status": {}, "total_ms": 0.0}
            entry["count"] += 1
            entry["codes"][str(code)] = entry["codes"].get(str(code), 0) + 1
            entry["http_status"][str(status)] = entry["http_status"].get(str(status), 0) + 1
            entry["total_ms"] += elapsed * 1000

    def snapshot(self) -> dict:
        with self._lock:
            routes = {
                key: {**value, "codes": dict(value["codes"]), "http_status": dict(value["http_status"]),
                      "mean_ms": round(value["total_ms"] / value["count"], 3) if value["count"] else 0.0,
                      "total_ms": round(value["total_ms"], 3)}
                for key, value in sorted(self._by_route.items())
            }
        return {"total": sum(r["count"] for r in routes.values()), "routes": routes}

    def reset(self) -> None:
        with self._lock:
            self._by_route.clear()


class RequestIds:
    """``YYYYMMDDhhmmss`` (UTC, business clock) + 20 uppercase hex characters (§1.5)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._second = -1
        self._prefix = ""

    def new(self) -> str:
        now = self._clock.now()
        if now != self._second:
            self._prefix = time.strftime("%Y%m%d%H%M%S", time.gmtime(now))
            self._second = now
        return self._prefix + os.urandom(10).hex().upper()


class _LockedShops:
    """The gate's view of the World's shops, read under the World's lock."""

    def __init__(self, world: World) -> None:
        self._world = world

    def shop_by_cipher(self, cipher: str) -> ShopLike | None:
        with self._world.lock:
            return self._world.shop_by_cipher(cipher)


async def read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole request body, and whether it exceeded ``MAX_BODY_BYTES`` (then it is discarded)."""
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body", False):
        return body, False
    chunks = [body]
    size = len(body)
    too_big = False
    while message.get("more_body", False):
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            too_big = True
            chunks = []
        elif not too_big:
            chunks.append(chunk)
    return b"".join(chunks), too_big


async def send_bytes(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*(headers or _JSON_HEADERS), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def drop_connection(send: Send) -> None:
    """Close the TCP connection without any answer (a chaos fault).

    ASGI has no "drop" message, so under uvicorn we reach its transport through the bound ``send``; elsewhere we
    promise a body and never send it, which the client also sees as a broken connection."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None:
        transport.abort()
        # Let uvicorn notice the lost connection before we return, or it would try to answer 500.
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]})
    raise ConnectionAbortedError("injected connection drop")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _supports_version(method: Callable) -> bool:
    return "version" in inspect.signature(method).parameters


class EmulatorApp:
    """The ASGI callable. Build it with :func:`create_app`."""

    def __init__(
        self,
        world: World,
        *,
        app_key: str,
        app_secret: str,
        service_id: str = "emulator-service",
        redirect_url: str | None = None,
        webhook_url: str | None = None,
        rps: float = 50.0,
        latency_ms: int = 0,
        fault_rate: float = 0.0,
        base_url: str | None = None,
        auth_error_status: int = 401,
        error_data_null: bool = True,
        seed: int = 42,
    ) -> None:
        self.world = world
        self.clock: Clock = world.clock
        self.credentials = AppCredentials(app_key, app_secret, service_id, redirect_url)
        self.auth = AuthService(self.credentials, self.clock, self._sellers)
        self.limiter = RateLimiter(rps)
        self.gate = Gate(
            app=self.credentials,
            auth=self.auth,
            shops=_LockedShops(world),
            clock=self.clock,
            limiter=self.limiter,
            auth_error_status=auth_error_status,
        )
        self.faults = FaultInjector(fault_rate=fault_rate, latency_ms=latency_ms, seed=seed)
        self.idempotency = IdempotencyStore(self.clock)
        self.webhooks = WebhookDispatcher(
            app_key=app_key, app_secret=app_secret, clock=self.clock, default_url=webhook_url, seed=seed
        )
        self.media = MediaLibrary()
        self.stats = RequestStats()
        self.decisions = DecisionLog()
        self.request_ids = RequestIds(self.clock)
        self.error_data_null = error_data_null
        self.base_url = ""
        if base_url is not None:
            self.set_base_url(base_url)
        self._ticker: asyncio.Task | None = None
        self._static: dict[str, dict[str, Route]] = {}
        self._dynamic: dict[int, list[tuple[tuple[str, ...], dict[str, Route]]]] = {}
        for route in self._routes():
            self._add_route(route)
        world.on_change = self._on_change
        from .control import ControlApi  # the control API reaches back into this app

        self.control = ControlApi(self)

    # --- setup -------------------------------------------------------------------------------------------------

    def set_base_url(self, base_url: str) -> None:
        """Where this server answers; media URLs in API payloads are built on it."""
        self.base_url = base_url.rstrip("/")
        with self.world.lock:
            self.world.media_base_url = self.base_url

    def _sellers(self) -> list:
        with self.world.lock:
            return list(self.world.sellers())

    def _on_change(self, event: ChangeEvent) -> None:
        # Called by the World under its lock, possibly from another thread: publishing only queues the delivery.
        self.webhooks.publish(event.shop_id, event.type, event.data)

    def tick(self) -> None:
        """Apply everything due on the business clock. Events reach webhooks through ``on_change``; a World that
        only returns them from ``tick`` (without calling ``on_change``) is covered too."""
        published: list = []
        world = self.world

        def collect(event: ChangeEvent) -> None:
            published.append(event)
            self._on_change(event)

        with world.lock:
            world.on_change = collect
            try:
                events = world.tick()
            finally:
                world.on_change = self._on_change
        for event in events or ():
            if not any(event is seen or event == seen for seen in published):
                self._on_change(event)

    def _add_route(self, route: Route) -> None:
        segments = tuple(route.template.strip("/").split("/"))
        route = Route(**{**route.__dict__, "segments": segments})
        if "{" not in route.template:
            self._static.setdefault(route.template, {})[route.method] = route
            return
        bucket = self._dynamic.setdefault(len(segments), [])
        for known, methods in bucket:
            if known == segments:
                methods[route.method] = route
                return
        bucket.append((segments, {route.method: route}))

    def _match(self, path: str) -> tuple[dict[str, Route] | None, dict[str, str]]:
        methods = self._static.get(path)
        if methods is not None:
            return methods, {}
        parts = path.strip("/").split("/")
        for segments, candidates in self._dynamic.get(len(parts), ()):
            params: dict[str, str] = {}
            for pattern, part in zip(segments, parts, strict=True):
                if pattern.startswith("{"):
                    if not part:
                        break
                    params[pattern[1:-1]] = part
                elif pattern != part:
                    break
            else:
                return candidates, params
        return None, {}

    def _routes(self) -> list[Route]:
        world = self.world
        returns = RouteAccess(shop_scoped=True, scope=SCOPE_RETURN_REFUND, seller_token_only=True)
        orders = RouteAccess(shop_scoped=True, scope=SCOPE_ORDER)
        shops = RouteAccess(shop_scoped=False, scope=SCOPE_AUTHORIZATION)
        images = RouteAccess(shop_scoped=False, scope=SCOPE_PRODUCT)
        events = RouteAccess(shop_scoped=True, scope=SCOPE_AUTHORIZATION)

        def versioned(method: Callable) -> Callable[[Call, tuple], dict]:
            takes_version = _supports_version(method)

            def call(c: Call, args: tuple) -> dict:
                if takes_version:
                    return method(*args, version=c.version)
                return method(*args)

            return call

        search_returns = versioned(world.search_returns)
        search_cancellations = versioned(world.search_cancellations)
        reject_return = versioned(world.reject_return)
        eligibility = versioned(world.aftersale_eligibility)
        create_return = versioned(world.create_return)
        calculate_refund = versioned(world.calculate_refund)
        cancel_order = versioned(world.cancel_order)

        rr = "/return_refund/{v}"
        routes: list[Route] = []

        def add(method: str, template: str, versions: tuple[str, ...], access: RouteAccess, handler: Handler,
                body: str = JSON_BODY, idempotent: bool | tuple[str, ...] = False) -> None:
            for version in versions:
                is_idempotent = idempotent if isinstance(idempotent, bool) else version in idempotent
                routes.append(Route(method, template.replace("{v}", version), version, access, handler, body,
                                    is_idempotent))

        add("POST", f"{rr}/returns/search", ("202309", "202602"), returns,
            lambda c: search_returns(c, (c.shop, c.query, c.body)))
        add("GET", f"{rr}/returns/{{return_id}}/records", ("202309",), returns,
            lambda c: world.return_records(c.shop, c.params["return_id"], c.query), body=NO_BODY)
        add("POST", f"{rr}/returns/{{return_id}}/approve", ("202309",), returns,
            lambda c: world.approve_return(c.shop, c.params["return_id"], c.body), idempotent=True)
        add("POST", f"{rr}/returns/{{return_id}}/reject", ("202309", "202606"), returns,
            lambda c: reject_return(c, (c.shop, c.params["return_id"], c.body)), idempotent=True)
        add("GET", f"{rr}/reject_reasons", ("202309",), returns,
            lambda c: world.reject_reasons(c.shop, c.query), body=NO_BODY)
        add("GET", f"{rr}/orders/{{order_id}}/aftersale_eligibility", ("202309", "202602"), returns,
            lambda c: eligibility(c, (c.shop, c.params["order_id"], c.query)), body=NO_BODY)
        add("POST", f"{rr}/returns", ("202309", "202602"), returns,
            lambda c: create_return(c, (c.shop, c.body)), idempotent=True)
        add("POST", f"{rr}/refunds/calculate", ("202309", "202602"), returns,
            lambda c: calculate_refund(c, (c.shop, c.body)))
        # The 202309 Cancel Order spec defines no idempotency_key; 202602 does.
        add("POST", f"{rr}/cancellations", ("202309", "202602"), returns,
            lambda c: cancel_order(c, (c.shop, c.body)), idempotent=("202602",))
        add("POST", f"{rr}/cancellations/search", ("202309", "202602"), returns,
            lambda c: search_cancellations(c, (c.shop, c.query, c.body)))
        add("POST", f"{rr}/cancellations/{{cancel_id}}/approve", ("202309",), returns,
            lambda c: world.approve_cancellation(c.shop, c.params["cancel_id"], c.body),
            body=OPTIONAL_JSON_BODY, idempotent=True)
        add("POST", f"{rr}/cancellations/{{cancel_id}}/reject", ("202309",), returns,
            lambda c: world.reject_cancellation(c.shop, c.params["cancel_id"], c.body), idempotent=True)

        add("GET", "/authorization/{v}/shops", ("202309",), shops, self._authorized_shops, body=NO_BODY)
        add("GET", "/order/{v}/orders", ("202309", "202507"), orders,
            lambda c: world.get_orders(c.shop, c.query), body=NO_BODY)
        add("POST", "/order/{v}/orders/search", ("202309",), orders,
            lambda c: world.search_orders(c.shop, c.query, c.body))
        add("POST", "/product/{v}/images/upload", ("202309",), images, self._upload_image, body=MULTIPART_BODY)
        add("GET", "/event/{v}/webhooks", ("202309",), events, self._list_webhooks, body=NO_BODY)
        add("PUT", "/event/{v}/webhooks", ("202309",), events, self._put_webhook)
        add("DELETE", "/event/{v}/webhooks", ("202309",), events, self._delete_webhook)
        return routes

    # --- ASGI entry --------------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            if path.startswith("/_emulator/") or path == "/_emulator":
                await self.control.handle(scope, receive, send)
            elif path.startswith("/api/v2/token/"):
                await self._token_endpoint(scope, receive, send)
            elif path in ("/open/authorize", "/oauth/authorize"):
                await self._consent(scope, receive, send)
            else:
                await self._open_api(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.start_background()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop_background()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def start_background(self) -> None:
        """Webhook thread and the ~2 Hz ticker (started by the ASGI lifespan)."""
        self.webhooks.start()
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick_forever())

    async def stop_background(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await asyncio.to_thread(self.webhooks.stop)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                self.tick()
            except Exception:  # a bug in one tick must not stop deadlines for the rest of the run
                logger.exception("World.tick failed")

    # --- envelopes ---------------------------------------------------------------------------------------------

    def envelope(self, data: Any) -> bytes:
        return orjson.dumps({"code": 0, "message": "Success", "request_id": self.request_ids.new(), "data": data})

    def error_envelope(self, code: int, message: str) -> bytes:
        body: dict[str, Any] = {"code": code, "message": message, "request_id": self.request_ids.new()}
        if self.error_data_null:
            body["data"] = None
        return orjson.dumps(body)

    # --- open API ----------------------------------------------------------------------------------------------

    async def _open_api(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        path: str = scope["path"]
        methods, params = self._match(path)
        route = methods.get(scope["method"]) if methods is not None else None
        stats_key = f"{scope['method']} {route.template}" if route is not None else "(unmatched)"
        status, code = 200, 0
        body, too_big = await read_body(receive)
        try:
            if methods is None:
                raise ApiError(INVALID_PATH, f"Invalid path. No API is served at {path}.", 404)
            if route is None:
                raise ApiError(
                    METHOD_NOT_ALLOWED, f"Method not allowed. {scope['method']} is not supported for {path}.", 405
                )
            fault = self.faults.next_fault(path)
            delay_ms = self.faults.latency_ms + (fault.delay_ms if fault is not None else 0)
            if delay_ms > 0:
                await asyncio.sleep(delay_ms / 1000)
            if fault is not None:
                if fault.drop:
                    self.stats.record(stats_key, -1, 0, time.perf_counter() - started)
                    await drop_connection(send)
                    return
                if fault.code is not None:
                    raise _injected(fault)
            status, code = await self._serve(scope, route, params, body, too_big, send)
        except ApiError as error:
            status, code = error.http_status, error.code
            headers = [*_JSON_HEADERS, *getattr(error, "headers", ())]
            await send_bytes(send, status, self.error_envelope(error.code, error.message), headers)
        self.stats.record(stats_key, code, status, time.perf_counter() - started)

    async def _serve(
        self, scope: Scope, route: Route, params: dict[str, str], raw: bytes, too_big: bool, send: Send
    ) -> tuple[int, int]:
        path: str = scope["path"]
        query = first_values(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        content_type = _header(scope, b"content-type") or ""
        is_multipart = content_type.lower().startswith("multipart/form-data")
        admission = self.gate.admit(
            path=path,
            api=route.template,
            query=query,
            signed_body=b"" if is_multipart else raw,
            access_token=_header(scope, b"x-tts-access-token"),
            access=route.access,
        )
        body = self._validate_body(route, raw, too_big, content_type, is_multipart)
        call = Call(admission.shop, admission, query, body, params, route.version, raw, content_type)

        replay_key = None
        idempotency_key = query.get("idempotency_key") if route.idempotent else None
        if idempotency_key:
            shop_id = admission.shop.id if admission.shop is not None else ""
            replay_key = (self.credentials.app_key, shop_id, path, idempotency_key)
            stored = self.idempotency.lookup(replay_key, body)
            if stored is not None:
                await send_bytes(send, stored.status, stored.body)
                return stored.status, -2  # -2 marks a replay in the statistics

        code = 0
        try:
            if route.body == MULTIPART_BODY:
                data = route.handler(call)  # decodes the image outside the World lock
            else:
                with self.world.lock:
                    data = route.handler(call)
            response = self.envelope(data)
        except ApiError as error:
            if error.http_status != 200:
                raise
            code = error.code
            response = self.error_envelope(error.code, error.message)
        if replay_key is not None:
            self.idempotency.store(replay_key, body, 200, response)
        if is_decision_route(route.template):
            self.decisions.record(route.template, params, body, idempotency_key or "", code,
                                  admission.shop.id if admission.shop is not None else "")
        await send_bytes(send, 200, response)
        return 200, code

    def _validate_body(self, route: Route, raw: bytes, too_big: bool, content_type: str, is_multipart: bool) -> dict:
        """Step 10: the body must be what the endpoint takes. Bodies of GET endpoints are ignored."""
        if route.body == NO_BODY:
            return {}
        if route.body == MULTIPART_BODY:
            if not is_multipart:
                raise ApiError(NOT_MULTIPART, "Invalid content type. The content-type must be multipart/form-data.",
                               400)
            if too_big or len(raw) > MAX_IMAGE_BYTES + 64 * 1024:
                raise ApiError(FILE_TOO_BIG, "File too big. The uploaded file must not exceed 5 MB.", 400)
            return {}
        if too_big:
            raise ApiError(BODY_NOT_JSON, "Invalid body. The request body is too large.", 400)
        if not raw.strip():
            if route.body == OPTIONAL_JSON_BODY:
                return {}
            raise ApiError(BODY_NOT_JSON, "Invalid body. The request body must be JSON.", 400)
        if "json" not in content_type.lower():
            raise ApiError(BODY_NOT_JSON, "Invalid body. The body format must be JSON (content-type application/json).",
                           400)
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ApiError(BODY_NOT_JSON, "Invalid body. The request body is not valid JSON.", 400) from None
        if not isinstance(body, dict):
            raise ApiError(BODY_NOT_JSON, "Invalid body. The request body must be a JSON object.", 400)
        return body

    # --- handlers owned by the server ------------------------------------------------------------------------

    def _authorized_shops(self, call: Call) -> dict:
        seller_id = call.admission.token.seller_id
        shops = [s for s in self.world.shops() if s.seller_id == seller_id]
        return {
            "shops": [
                {"id": s.id, "name": s.name, "region": s.region, "seller_type": s.seller_type,
                 "cipher": s.cipher, "code": s.code}
                for s in shops
            ]
        }

    def _upload_image(self, call: Call) -> dict:
        boundary = multipart_boundary(call.content_type)
        fields = parse_multipart(call.raw_body, boundary) if boundary else {}
        image = fields.get("data")
        if image is None or not image[0]:
            raise ApiError(INVALID_PARAMETER, "Invalid parameter. The form field data (the image file) is required.")
        content = image[0]
        if len(content) > MAX_IMAGE_BYTES:
            raise ApiError(FILE_TOO_BIG, "File too big. The uploaded file must not exceed 5 MB.", 400)
        size = image_size(content)
        if size is None:
            raise ApiError(INVALID_PARAMETER, "Invalid parameter. The image must be a JPEG, PNG, GIF or WebP file.")
        use_case_field = fields.get("use_case")
        use_case = use_case_field[0].decode("utf-8", "replace") if use_case_field else "MAIN_IMAGE"
        width, height = size
        uri = "tos-maliva-i-emulator-us/" + hashlib.sha256(content).hexdigest()[:32]
        self.media.add_upload(uri, content, content_type_of(content))
        with self.world.lock:
            self.world.register_image(uri, width, height)
        return {
            "uri": uri,
            "url": f"{self.base_url}/_emulator/media/{uri}",
            "width": width,
            "height": height,
            "use_case": use_case,
        }

    def _shop_id(self, call: Call) -> str:
        assert call.shop is not None  # event routes are shop-scoped, so the gate has resolved the shop
        return call.shop.id

    def _list_webhooks(self, call: Call) -> dict:
        subscriptions = self.webhooks.subscriptions(self._shop_id(call))
        return {
            "webhooks": [
                {"event_type": s.event_type, "address": s.address, "create_time": s.create_time,
                 "update_time": s.update_time}
                for s in subscriptions
            ],
            "total_count": len(subscriptions),
        }

    def _event_type(self, body: dict) -> str:
        event_type = body.get("event_type")
        if not isinstance(event_type, str) or event_type not in EVENT_TYPES_BY_NAME:
            raise ApiError(INVALID_PARAMETER, f"Invalid parameter. Unknown event_type: {event_type!r}.")
        return event_type

    def _put_webhook(self, call: Call) -> dict:
        event_type = self._event_type(call.body)
        address = call.body.get("address")
        if not isinstance(address, str) or not address or len(address) > 255:
            raise ApiError(INVALID_PARAMETER, "Invalid parameter. address must be a URL of at most 255 characters.")
        self.webhooks.subscribe(self._shop_id(call), event_type, address)
        return {}

    def _delete_webhook(self, call: Call) -> dict:
        event_type = self._event_type(call.body)
        self.webhooks.unsubscribe(self._shop_id(call), event_type)
        return {}

    # --- auth host -------------------------------------------------------------------------------------------

    async def _token_endpoint(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        await read_body(receive)
        path: str = scope["path"]
        query = first_values(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        status, code = 200, 0
        try:
            if path not in ("/api/v2/token/get", "/api/v2/token/refresh"):
                raise ApiError(INVALID_PATH, f"Invalid path. No API is served at {path}.", 404)
            if scope["method"] != "GET":
                raise ApiError(METHOD_NOT_ALLOWED, f"Method not allowed. {scope['method']} is not supported.", 405)
            if path.endswith("/get"):
                token = self.auth.exchange_code(
                    app_key=query.get("app_key", ""), app_secret=query.get("app_secret", ""),
                    auth_code=query.get("auth_code", ""), grant_type=query.get("grant_type", ""),
                )
            else:
                token = self.auth.refresh(
                    app_key=query.get("app_key", ""), app_secret=query.get("app_secret", ""),
                    refresh_token=query.get("refresh_token", ""), grant_type=query.get("grant_type", ""),
                )
            response = orjson.dumps({"code": 0, "message": "success", "request_id": self.request_ids.new(),
                                     "data": token.response_data()})
        except ApiError as error:
            status, code = error.http_status, error.code
            response = self.error_envelope(error.code, error.message)
        await send_bytes(send, status, response)
        self.stats.record(f"{scope['method']} {path}", code, status, time.perf_counter() - started)

    # --- consent page ----------------------------------------------------------------------------------------

    async def _consent(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw, _ = await read_body(receive)
        path: str = scope["path"]
        legacy = path == "/oauth/authorize"
        if scope["method"] == "POST":
            fields = first_values(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        elif scope["method"] == "GET":
            fields = first_values(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        else:
            await self._html(send, 405, consent.message_page("Method not allowed", "Use GET or POST."))
            return
        app_field = "app_key" if legacy else "service_id"
        expected = self.credentials.app_key if legacy else self.credentials.service_id
        if fields.get(app_field) != expected:
            await self._html(send, 400, consent.message_page(
                "Unknown app", f"The {app_field} in this link does not belong to any app."))
            return
        state = fields.get("state", "")
        if scope["method"] == "GET":
            await self._html(send, 200, consent.consent_page(
                app_label=f"App {self.credentials.app_key}",
                sellers=self._consent_sellers(),
                form_action=path,
                hidden={app_field: expected, "state": state},
            ))
            return
        if fields.get("decision") == "authorize":
            try:
                code = self.auth.mint_code(fields.get("seller_id", ""))
            except KeyError:
                await self._html(send, 400, consent.message_page("Unknown seller", "Choose a seller from the list."))
                return
            params = {"code": code.code, "state": state}
        else:
            params = {"code": "null", "error": "auth_denied", "state": state}
        redirect_url = self.credentials.redirect_url
        if redirect_url is None:
            await self._html(send, 200, consent.message_page(
                "Authorization finished", "No redirect URL is configured; these are the values it would get.",
                params))
            return
        location = consent.with_query(redirect_url, params)
        await send_bytes(send, 302, b"", [(b"location", location.encode()), (b"content-type", b"text/plain")])

    def _consent_sellers(self) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
        with self.world.lock:
            sellers = list(self.world.sellers())
            rows = []
            for seller in sellers:
                shops = [self.world.shop_by_id(shop_id) for shop_id in seller.shop_ids]
                rows.append((seller.id, seller.name, seller.base_region,
                             [(s.name, s.region) for s in shops if s is not None]))
        return rows

    async def _html(self, send: Send, status: int, page: str) -> None:
        await send_bytes(send, status, page.encode(), [(b"content-type", b"text/html; charset=utf-8")])


def _injected(fault: Fault) -> GateError:
    headers: tuple[tuple[bytes, bytes], ...] = ()
    if fault.retry_after is not None:
        headers = ((b"retry-after", str(fault.retry_after).encode()),)
    return GateError(fault.code or 0, fault.text, fault.http_status, headers)


def create_app(world: World, **options: Any) -> EmulatorApp:
    """The emulator as an ASGI app around ``world``; ``options`` are :class:`EmulatorApp`'s keyword arguments."""
    return EmulatorApp(world, **options)
