"""The emulator's ASGI application.

One REST request, in order: route (``[/stores/{site}]/rest[/{store_code}]/V1/...``; unknown → 404 "Request does
not match any route.") → Bearer token (401 "The consumer isn't authorized to access %resources.") → injected fault
→ the route's handler under ``World.lock`` → JSON answer, or Magento's error body. Every request is logged for the
control API. ``/_emulator/...`` is the control API (control.py).
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import control, jsonio
from .errors import NO_ROUTE, MagentoError, not_authorized
from .faults import Fault
from .rest import find_route
from .world import World

_PATH = re.compile(r"^(?:/stores/(?P<site>[^/]+))?/rest(?:/(?P<code>[^/]+))?/V1/(?P<path>.+?)/?$")
STORE_CODES = ("default", "all")


def json_response(status: int, body: Any) -> Response:
    return Response(jsonio.dumps(body), status_code=status, media_type="application/json; charset=utf-8")


class EmulatorApp:
    def __init__(self, *, seed: int = 42, seed_orders: int = 0, latency_ms: int = 0) -> None:
        self.world = World(seed=seed, seed_orders=seed_orders)
        self.latency_ms = latency_ms
        self.base_url = ""
        self._app = Starlette(routes=[
            Route("/_emulator/{path:path}", control.handle(self), methods=["GET", "POST", "DELETE"]),
            Route("/{path:path}", self.rest, methods=["GET", "POST", "PUT", "DELETE"]),
        ])

    def set_base_url(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app(scope, receive, send)

    async def rest(self, request: Request) -> Response:
        started = time.monotonic()
        m = _PATH.match(request.url.path)
        site_name = (m.group("site") if m else None) or "default"
        status, route_name = 404, ""
        try:
            response, route_name = await self._rest(request, m, site_name)
            status = response.status_code
            return response
        except MagentoError as error:
            status = error.status
            return json_response(error.status, error.body())
        finally:
            self.world.requests.append({"site": site_name, "method": request.method, "path": request.url.path,
                                        "route": route_name, "status": status,
                                        "ms": round((time.monotonic() - started) * 1000, 2)})

    async def _rest(self, request: Request, m: re.Match[str] | None, site_name: str) -> tuple[Response, str]:
        if m is None:
            raise MagentoError(404, NO_ROUTE)
        if m.group("code") is not None and m.group("code") not in STORE_CODES:
            raise MagentoError(400, "The store that was requested wasn't found. Verify the store and try again.")
        site = self.world.sites.get(site_name)
        found = find_route(request.method, m.group("path"))
        if site is None or found is None:
            raise MagentoError(404, NO_ROUTE)
        route, path_match = found
        if route.resource is not None:
            header = request.headers.get("authorization", "")
            token = header[7:].strip() if header[:7].lower() == "bearer " else ""
            with self.world.lock:
                valid = bool(token) and site.token_valid(token)
            if not valid:
                raise not_authorized(route.resource)
        raw = await request.body()
        try:
            body = jsonio.loads(raw)
        except ValueError:
            raise MagentoError(400, "Decoding error: %1", ["Syntax error"]) from None
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        fault = self.world.faults.next_fault(site_name, route.name)
        if fault is not None and fault.kind != "latency" and not (fault.kind in ("commit_then_error",) or fault.commit):
            if fault.kind == "timeout":
                await asyncio.sleep(fault.delay)
            return json_response(fault.status, {"message": "Internal Error. Details are available in Magento log "
                                                "file. Report ID: %1", "parameters": ["emulator"]}), route.name
        if fault is not None and fault.kind == "latency":
            await asyncio.sleep(fault.delay)
        query = parse_qsl(request.url.query, keep_blank_values=True)
        with self.world.lock:
            result = route.handler(site, path_match, query, body)
        if fault is not None and fault.kind in ("commit_then_error", "timeout"):
            return await self._after_commit(fault), route.name
        return json_response(200, result), route.name

    @staticmethod
    async def _after_commit(fault: Fault) -> Response:
        # The write above stays; the client never learns its outcome.
        if fault.kind == "timeout":
            await asyncio.sleep(fault.delay)
        return json_response(fault.status, {"message": "Internal Error. Details are available in Magento log file. "
                                            "Report ID: %1", "parameters": ["emulator"]})
