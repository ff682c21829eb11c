"""The emulator's HTTP surface: ``/wp-json/wc/v3/`` (orders, refunds, notes, products) and ``/_emulator/`` (control).

One API request, in order: route → consumer key/secret (HTTP Basic, or ``consumer_key``/``consumer_secret`` in the
query string) → injected fault → the shop's rules under its lock → WP REST answer (errors as
``{"code","message","data":{"status"}}``). Basic is accepted over plain http here so tests need no TLS; a real site
only accepts it over HTTPS (store-apis.md C.1), which the product's client enforces on its side.
"""

from __future__ import annotations

import asyncio
import base64
import math
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .faults import Fault, FaultInjector
from .model import Shop, WooError

DEFAULT_KEY = "ck_emulator_key"
DEFAULT_SECRET = "cs_emulator_secret"
API = "/wp-json/wc/v3"


def _error(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "data": {"status": status}}, status_code=status)


def _date(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise WooError("rest_invalid_param", f"Invalid parameter(s): {name}", 400) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise WooError("rest_invalid_param", f"Invalid parameter(s): {name}", 400) from None
    if not low <= value <= high:
        raise WooError("rest_invalid_param", f"Invalid parameter(s): {name} ({name} must be between {low} "
                                             f"({low}) and {high} ({high}))", 400)
    return value


class WooEmulator:
    def __init__(self, *, consumer_key: str = DEFAULT_KEY, consumer_secret: str = DEFAULT_SECRET,
                 latency_ms: int = 0) -> None:
        self.shop = Shop()
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.latency_ms = latency_ms
        self.faults = FaultInjector()
        self.requests: deque[dict[str, Any]] = deque(maxlen=5000)
        self._log_lock = threading.Lock()
        self.app = FastAPI(title="WooCommerce REST v3 emulator", openapi_url=None, docs_url=None, redoc_url=None)
        self._routes()

    # --- plumbing ------------------------------------------------------------------------------------------------

    def _auth(self, request: Request) -> str | None:
        """Gives the auth style used, or raises the WP error WooCommerce answers."""
        header = request.headers.get("authorization", "")
        key = secret = None
        style = None
        if header.lower().startswith("basic "):
            try:
                key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                key = secret = None
            style = "basic"
        elif "consumer_key" in request.query_params:
            key = request.query_params.get("consumer_key")
            secret = request.query_params.get("consumer_secret")
            style = "query"
        if style is None:
            verb = "list resources" if request.method == "GET" else "create resources"
            raise WooError("woocommerce_rest_cannot_view" if request.method == "GET"
                           else "woocommerce_rest_cannot_create", f"Sorry, you cannot {verb}.", 401)
        if key != self.consumer_key:
            raise WooError("woocommerce_rest_authentication_error", "Consumer key is invalid.", 401)
        if secret != self.consumer_secret:
            raise WooError("woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401)
        return style

    async def _api(self, request: Request, route: str, run: Any) -> JSONResponse:
        entry: dict[str, Any] = {"method": request.method, "route": route, "path": request.url.path,
                                 "status": None, "auth": None, "fault": None}
        try:
            entry["auth"] = self._auth(request)
            body = await request.json() if request.method in ("POST", "PUT") else {}
            if not isinstance(body, dict):
                raise WooError("rest_invalid_json", "Invalid JSON body passed.", 400)
        except WooError as error:
            entry["status"] = error.status
            self._log(entry)
            return JSONResponse(error.body(), status_code=error.status)
        except ValueError:
            entry["status"] = 400
            self._log(entry)
            return _error("rest_invalid_json", "Invalid JSON body passed.", 400)
        fault = self.faults.next_fault(route)
        entry["fault"] = fault.kind if fault else None
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        if fault is not None and fault.kind == "http_error":
            entry["status"] = fault.status
            self._log(entry)
            return _error("internal_server_error", "There has been a critical error on this website.", fault.status)
        if fault is not None and fault.kind == "timeout" and not fault.commit:
            await asyncio.sleep((fault.delay_ms or 30_000) / 1000)
            entry["status"] = fault.status
            self._log(entry)
            return _error("gateway_timeout", "Gateway Timeout", fault.status)
        try:
            with self.shop.lock:
                status, payload, headers = run(request, body)
        except WooError as error:
            status, payload, headers = error.status, error.body(), {}
        if fault is not None:  # the write happened; the answer is lost
            if fault.kind == "timeout":
                await asyncio.sleep((fault.delay_ms or 30_000) / 1000)
            entry["status"] = fault.status
            self._log(entry)
            return _error("internal_server_error", "There has been a critical error on this website.", fault.status)
        entry["status"] = status
        self._log(entry)
        return JSONResponse(payload, status_code=status, headers=headers)

    def _log(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            self.requests.append(entry)

    # --- routes --------------------------------------------------------------------------------------------------

    def _routes(self) -> None:
        app, shop = self.app, self.shop

        @app.get(f"{API}/orders")
        async def list_orders(request: Request) -> JSONResponse:
            def run(req: Request, _: dict) -> tuple[int, Any, dict[str, str]]:
                per_page = _int_param(req, "per_page", 10, 1, 100)
                page = _int_param(req, "page", 1, 1, 1_000_000)
                order_desc = req.query_params.get("order", "desc") != "asc"
                found = shop.list_orders(search=req.query_params.get("search", ""),
                                         after=_date(req.query_params.get("after"), "after"),
                                         before=_date(req.query_params.get("before"), "before"),
                                         order_desc=order_desc)
                pages = math.ceil(len(found) / per_page)
                if page > max(pages, 1):
                    raise WooError("woocommerce_rest_invalid_page_number",
                                   "The page number requested is larger than the number of pages available.", 400)
                chunk = found[(page - 1) * per_page: page * per_page]
                return 200, [o.json() for o in chunk], {"X-WP-Total": str(len(found)),
                                                        "X-WP-TotalPages": str(pages)}
            return await self._api(request, "orders.list", run)

        @app.get(f"{API}/orders/{{order_id}}")
        async def get_order(request: Request, order_id: str) -> JSONResponse:
            return await self._api(request, "orders.get", lambda r, b: (200, shop.order(order_id).json(), {}))

        @app.get(f"{API}/orders/{{order_id}}/refunds")
        async def list_refunds(request: Request, order_id: str) -> JSONResponse:
            def run(req: Request, _: dict) -> tuple[int, Any, dict[str, str]]:
                try:
                    order = shop.orders.get(int(order_id))
                except ValueError:
                    order = None
                if order is None:
                    raise WooError("woocommerce_rest_invalid_order_id", "Invalid order ID.", 404)
                per_page = _int_param(req, "per_page", 10, 1, 100)
                page = _int_param(req, "page", 1, 1, 1_000_000)
                refunds = sorted(order.refunds, key=lambda r: r.id, reverse=True)
                chunk = refunds[(page - 1) * per_page: page * per_page]
                return 200, [r.json() for r in chunk], {
                    "X-WP-Total": str(len(refunds)), "X-WP-TotalPages": str(math.ceil(len(refunds) / per_page))}
            return await self._api(request, "refunds.list", run)

        @app.post(f"{API}/orders/{{order_id}}/refunds")
        async def create_refund(request: Request, order_id: str) -> JSONResponse:
            return await self._api(request, "refunds.create",
                                   lambda r, body: (201, shop.create_refund(order_id, body).json(), {}))

        @app.get(f"{API}/orders/{{order_id}}/notes")
        async def list_notes(request: Request, order_id: str) -> JSONResponse:
            def run(req: Request, _: dict) -> tuple[int, Any, dict[str, str]]:
                order = shop.order(order_id)
                kind = req.query_params.get("type", "any")
                notes = [n for n in reversed(order.notes)
                         if kind == "any" or (kind == "customer") == n.customer_note]
                return 200, [n.json() for n in notes], {}
            return await self._api(request, "notes.list", run)

        @app.post(f"{API}/orders/{{order_id}}/notes")
        async def create_note(request: Request, order_id: str) -> JSONResponse:
            return await self._api(request, "notes.create",
                                   lambda r, body: (201, shop.add_note(order_id, body).json(), {}))

        @app.get(f"{API}/products/{{product_id}}")
        async def get_product(request: Request, product_id: str) -> JSONResponse:
            def run(_: Request, __: dict) -> tuple[int, Any, dict[str, str]]:
                product = shop.products.get(int(product_id)) if product_id.isdigit() else None
                if product is None:
                    raise WooError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
                return 200, product.json(), {}
            return await self._api(request, "products.get", run)

        @app.put(f"{API}/products/{{product_id}}")
        async def update_product(request: Request, product_id: str) -> JSONResponse:
            return await self._api(request, "products.update",
                                   lambda r, body: (200, shop.update_product(product_id, body).json(), {}))

        @app.api_route(f"{API}/{{rest:path}}", methods=["GET", "POST", "PUT", "DELETE"])
        async def no_route(rest: str) -> JSONResponse:
            return _error("rest_no_route", "No route was found matching the URL and request method.", 404)

        self._control()

    def _control(self) -> None:
        app, shop = self.app, self.shop

        @app.get("/_emulator/health")
        def health() -> dict[str, Any]:
            return {"ok": True}

        @app.post("/_emulator/reset")
        def reset() -> dict[str, Any]:
            with shop.lock:
                shop.reset()
            self.faults.clear()
            with self._log_lock:
                self.requests.clear()
            return {"ok": True}

        @app.post("/_emulator/orders")
        async def create_order(request: Request) -> JSONResponse:
            spec = await request.json()
            with shop.lock:
                order = shop.create_order(spec)
                return JSONResponse(order.json())

        @app.get("/_emulator/orders/{order_id}")
        def read_order(order_id: int) -> JSONResponse:
            with shop.lock:
                order = shop.orders.get(order_id)
                if order is None:
                    return _error("not_found", "no such order", 404)
                return JSONResponse({**order.json(), "notes": [n.json() for n in order.notes],
                                     "refunds_full": [r.json() for r in order.refunds],
                                     "items_meta": {str(i.id): dict(i.meta) for i in order.items}})

        @app.get("/_emulator/refunds")
        def refunds() -> dict[str, Any]:
            with shop.lock:
                return {"refunds": [{**r.json(), "order_id": r.order_id}
                                    for o in shop.orders.values() for r in o.refunds]}

        @app.get("/_emulator/notes")
        def notes() -> dict[str, Any]:
            with shop.lock:
                return {"notes": [{**n.json(), "order_id": o.id} for o in shop.orders.values() for n in o.notes]}

        @app.get("/_emulator/products")
        def products() -> dict[str, Any]:
            with shop.lock:
                return {"products": [p.json() for p in shop.products.values()],
                        "stock_changes": list(shop.stock_changes)}

        @app.post("/_emulator/faults")
        async def add_fault(request: Request) -> JSONResponse:
            spec = await request.json()
            count = int(spec.pop("count", 1))
            try:
                self.faults.inject(Fault(**spec), count)
            except (TypeError, ValueError) as bad:
                return _error("bad_fault", str(bad), 400)
            return JSONResponse({"faults": self.faults.scripted()})

        @app.delete("/_emulator/faults")
        def clear_faults() -> dict[str, Any]:
            return {"cleared": self.faults.clear()}

        @app.get("/_emulator/requests")
        def requests_log() -> dict[str, Any]:
            with self._log_lock:
                return {"requests": list(self.requests)}
