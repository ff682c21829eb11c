"""The emulator's ASGI application: ``POST /admin/api/{version}/graphql.json`` and the ``/_emulator/`` control API.

One GraphQL request, in order: route and version → access token (401 with Shopify's string body) → body → parse →
injected fault → validation → variables → cost (single-query cap, then the store's bucket: ``THROTTLED``) →
execution under ``World.lock`` → the cost difference goes back to the bucket. Every GraphQL answer past the token
check carries ``extensions.cost`` with the bucket's ``throttleStatus``.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from .executor import (
    Execution,
    RequestError,
    choose_operation,
    coerce_variables,
    query_cost,
    validate,
)
from .faults import Fault, FaultInjector
from .parser import Field, GraphQLSyntaxError, parse
from .schema import SCHEMA, Context
from .seed import DEFAULT_DOMAIN, DEFAULT_TOKEN, seed_store
from .throttle import CostLimiter
from .usererrors import UserError
from .world import Store, World

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

API_VERSION = "2026-04"
# Versions the emulator answers under their own name (always with 2026-04 behaviour); any other well-formed
# version falls forward to the oldest of these, as Shopify does with unsupported versions (A.1).
SUPPORTED_VERSIONS = ("2025-07", "2025-10", "2026-01", "2026-04", "2026-07")
BAD_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
MAX_QUERY_COST = 1000
THROTTLE_DOCS = "https://shopify.dev/api/usage/limits#rate-limits"
_ROUTE = re.compile(r"^/admin/api/(?:(?P<version>[^/]+)/)?graphql\.json$")
_VERSION = re.compile(r"^\d{4}-\d{2}$|^unstable$")
JSON = [(b"content-type", b"application/json; charset=utf-8")]


async def send_bytes(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*(headers or JSON), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def drop_connection(send: Send) -> None:
    """Close the TCP connection without an answer. Under uvicorn the transport is reachable through ``send``."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None:
        transport.abort()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]})
    raise ConnectionAbortedError("injected connection drop")


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _json_default(value: Any) -> Any:
    if isinstance(value, UserError):
        return {"field": value.field, "message": value.message, "code": value.code}
    raise TypeError(f"cannot encode {type(value).__name__}")


class EmulatorApp:
    """The ASGI callable. ``world`` is rebuilt by :meth:`reset`; read it under ``world.lock``."""

    def __init__(self, *, seed: int = 42, token: str = DEFAULT_TOKEN, domain: str = DEFAULT_DOMAIN,
                 seed_orders: int = 12, maximum_available: float = 2000.0, restore_rate: float = 100.0,
                 max_query_cost: int = MAX_QUERY_COST, latency_ms: int = 0, fault_rate: float = 0.0) -> None:
        self.seed = seed
        self.default_token = token
        self.default_domain = domain
        self.seed_orders = seed_orders
        self.max_query_cost = max_query_cost
        self.limiter = CostLimiter(maximum_available, restore_rate)
        self.faults = FaultInjector(fault_rate=fault_rate, latency_ms=latency_ms, seed=seed)
        self.requests: deque[dict[str, Any]] = deque(maxlen=2000)
        self.requests_total = 0  # every request logged since the start or the last reset; the log keeps 2000
        self._requests_lock = threading.Lock()
        self.base_url = ""
        self.world = self._new_world(seed)
        from .control import ControlApi  # the control API reaches back into this app

        self.control = ControlApi(self)

    def _new_world(self, seed: int) -> World:
        world = World(seed)
        with world.lock:
            seed_store(world, domain=self.default_domain, token=self.default_token, seed=seed,
                       orders=self.seed_orders)
        return world

    def reset(self, seed: int | None = None) -> None:
        """Back to the seeded state: stores made through the control API, keys, buckets and faults are gone."""
        if seed is not None:
            self.seed = seed
        fresh = self._new_world(self.seed)
        with self.world.lock:
            # Keep the World object and its lock: tests and the server thread may hold references to them.
            lock = self.world.lock
            self.world.__dict__.update(fresh.__dict__)
            self.world.lock = lock
            for store in self.world.stores_by_domain.values():
                store.world = self.world
        self.limiter.reset()
        self.faults.clear()
        with self._requests_lock:
            self.requests.clear()
            self.requests_total = 0

    def set_base_url(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    # --- ASGI ------------------------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path == "/_emulator" or path.startswith("/_emulator/"):
            await self.control.handle(scope, receive, send)
            return
        match = _ROUTE.match(path)
        if match is None or (match.group("version") and not _VERSION.match(match.group("version"))):
            await send_bytes(send, 404, b'{"errors":"Not Found"}')
            return
        requested = match.group("version")
        version = requested if requested in SUPPORTED_VERSIONS else SUPPORTED_VERSIONS[0]
        headers = [*JSON, (b"x-shopify-api-version", version.encode())]
        if scope["method"] != "POST":
            await send_bytes(send, 405, b'{"errors":"Method Not Allowed"}', headers)
            return
        token = _header(scope, b"x-shopify-access-token")
        with self.world.lock:
            store = self.world.stores_by_token.get(token or "")
        if store is None:
            await send_bytes(send, 401, orjson.dumps({"errors": BAD_TOKEN}), headers)
            self._log({"store": None, "status": 401, "root_fields": [], "fault": None})
            return
        raw = await read_body(receive)
        await self._graphql(store, scope, raw, headers, send)

    async def _graphql(self, store: Store, scope: Scope, raw: bytes, headers: list, send: Send) -> None:
        query, variables, operation_name = _request_parts(_header(scope, b"content-type") or "", raw)
        if query is None:
            body = {"errors": {"query": "Required parameter missing or invalid"}}
            await send_bytes(send, 400, orjson.dumps(body), headers)
            return
        entry: dict[str, Any] = {"store": store.domain, "operation": operation_name, "root_fields": [],
                                 "fault": None, "status": 200, "mutated": [], "replayed": [], "error_codes": []}
        try:
            document = parse(query)
        except GraphQLSyntaxError as failure:
            result = {"errors": [{"message": failure.message,
                                  "locations": [{"line": failure.line, "column": failure.column}]}]}
            await self._answer(send, store, result, headers, entry, requested=0, actual=0)
            return
        try:
            operation = choose_operation(document, operation_name)
        except RequestError as failure:
            await self._answer(send, store, {"errors": failure.errors}, headers, entry, requested=0, actual=0)
            return
        entry["operation"] = operation.name
        entry["root_fields"] = [s.name for s in operation.selections if isinstance(s, Field)]

        fault = self.faults.next_fault(store.domain, entry["root_fields"])
        delay = (fault.delay_ms if fault and fault.kind in ("latency", "timeout") else 0) or self.faults.latency_ms
        if fault and fault.kind == "timeout" and not fault.delay_ms:
            delay = 30_000
        entry["fault"] = fault.kind if fault else None
        if fault and fault.kind in ("http_error", "http_429"):
            extra = [(b"retry-after", str(fault.retry_after or 1).encode())] if (
                fault.retry_after is not None or fault.kind == "http_429") else []
            status = fault.status
            entry["status"] = status
            self._log(entry)
            message = "Too Many Requests" if status == 429 else "Service Unavailable" if status == 503 \
                else "Internal Server Error"
            await send_bytes(send, status, orjson.dumps({"errors": message}), [*headers, *extra])
            return
        if fault and fault.kind == "throttled":
            status_now = self.limiter.status(store.domain)
            result = _throttled(0, status_now)
            entry["error_codes"] = ["THROTTLED"]
            self._log(entry)
            await send_bytes(send, 200, orjson.dumps(result), headers)
            return
        if delay and not (fault and fault.kind == "timeout" and fault.commit):
            await asyncio.sleep(delay / 1000)

        result, requested, actual = self._run(store, document, operation, variables, entry)

        if fault and fault.kind == "timeout" and fault.commit:
            await asyncio.sleep(delay / 1000)
        if fault and (fault.kind == "timeout" or (fault.kind == "drop")):
            entry["status"] = None
            self._log(entry)
            await drop_connection(send)
            return
        if fault and fault.kind == "commit_then_error":
            entry["status"] = fault.status
            self._log(entry)
            await send_bytes(send, fault.status, orjson.dumps({"errors": "Bad Gateway"}), headers)
            return
        await self._answer(send, store, result, headers, entry, requested=requested, actual=actual)

    def _run(self, store: Store, document: Any, operation: Any, raw_variables: dict[str, Any],
             entry: dict[str, Any]) -> tuple[dict[str, Any], int, int | None]:
        errors = validate(SCHEMA, document, operation)
        if errors:
            return {"errors": errors}, 0, 0
        try:
            variables = coerce_variables(SCHEMA, operation, raw_variables)
        except RequestError as failure:
            return {"errors": failure.errors}, 0, 0
        requested = query_cost(SCHEMA, document, operation, variables)
        if requested > self.max_query_cost:
            return {"errors": [{
                "message": f"Query cost is {requested}, which exceeds the single query max cost limit "
                           f"({self.max_query_cost}).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": self.max_query_cost},
            }]}, requested, 0
        if not self.limiter.try_charge(store.domain, requested):
            return {"_throttled": True}, requested, None
        context = Context(store)
        execution = Execution(SCHEMA, document, operation, variables, context)
        context.execution = execution
        with self.world.lock:
            data = execution.run(None)
            actual = query_cost(SCHEMA, document, operation, variables, data)
        self.limiter.refund(store.domain, max(0, requested - actual))
        entry["mutated"] = context.mutated
        entry["replayed"] = context.replayed
        result: dict[str, Any] = {"data": data}
        if execution.errors:
            result["errors"] = execution.errors
        if context.search:
            result["_search"] = context.search
        return result, requested, actual

    async def _answer(self, send: Send, store: Store, result: dict[str, Any], headers: list,
                      entry: dict[str, Any], *, requested: int, actual: int | None) -> None:
        status = self.limiter.status(store.domain)
        if result.pop("_throttled", False):
            result = _throttled(requested, status)
        else:
            extensions: dict[str, Any] = {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                                                   "throttleStatus": status}}
            search = result.pop("_search", None)
            if search:
                extensions["search"] = search
            result["extensions"] = extensions
        entry["error_codes"] = [e.get("extensions", {}).get("code") for e in result.get("errors", [])
                                if isinstance(e, dict)]
        self._log(entry)
        await send_bytes(send, 200, orjson.dumps(result, default=_json_default), headers)

    def _log(self, entry: dict[str, Any]) -> None:
        with self._requests_lock:
            self.requests_total += 1
            self.requests.append({"seq": self.requests_total, **entry})

    # for the control API
    def inject(self, fault: Fault, count: int) -> dict[str, Any]:
        return self.faults.inject(fault, count).describe()


def _throttled(requested: int, status: dict[str, Any]) -> dict[str, Any]:
    return {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": THROTTLE_DOCS}}],
        "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None, "throttleStatus": status}},
    }


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _request_parts(content_type: str, raw: bytes) -> tuple[str | None, dict[str, Any], str | None]:
    if content_type.startswith("application/graphql"):
        return raw.decode("utf-8", "replace"), {}, None
    try:
        body = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        return None, {}, None
    if not isinstance(body, dict) or not isinstance(body.get("query"), str) or not body["query"].strip():
        return None, {}, None
    variables = body.get("variables") or {}
    if isinstance(variables, str):
        try:
            variables = orjson.loads(variables) if variables.strip() else {}
        except orjson.JSONDecodeError:
            variables = {}
    operation = body.get("operationName") if isinstance(body.get("operationName"), str) else None
    return body["query"], variables if isinstance(variables, dict) else {}, operation


def create_app(**options: Any) -> EmulatorApp:
    return EmulatorApp(**options)
