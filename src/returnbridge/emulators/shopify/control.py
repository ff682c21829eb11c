"""The ``/_emulator/`` control API: JSON in, JSON out, no auth (a local test double).

It plays the parts no Admin API client can: creating stores and tokens, placing orders that carry a TikTok order
id in a chosen place, stocking items, reading the whole state back (returns, refunds with amounts, inventory and
every adjustment with its referenceDocumentUri), draining the cost bucket, injecting faults and resetting.
Errors: 400 malformed request, 404 unknown store/order, 409 refused (e.g. a duplicate domain).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson

from . import snapshot
from .faults import KINDS, Fault
from .gids import parse_gid
from .seed import LOOKUP_STYLES, add_tiktok_order, seed_store
from .world import Store

if TYPE_CHECKING:
    from .app import EmulatorApp, Receive, Scope, Send

PREFIX = "/_emulator"


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


Handler = Callable[[dict[str, str], dict[str, str], dict[str, Any]], Any]


def _number(value: Any, type_name: str) -> int:
    """A numeric id from a GID of ``type_name`` or a bare number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    parsed = parse_gid(value)
    if parsed is None or parsed[0] != type_name:
        raise ControlError(400, f"expected a {type_name} id, got {value!r}")
    return parsed[1]


def _decimal(value: Any, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ControlError(400, f"{name} must be a decimal string") from None


class ControlApi:
    def __init__(self, app: EmulatorApp) -> None:
        self.app = app
        self._routes: list[tuple[str, tuple[str, ...], Handler, str]] = []
        r = self._route
        r("GET", "/", self.index, "this list")
        r("GET", "/health", self.health, "liveness")
        r("GET", "/config", self.get_config, "bucket size and restore rate, max query cost, latency, fault rate")
        r("POST", "/config", self.set_config, "change maximum_available, restore_rate, max_query_cost, latency_ms, "
                                              "fault_rate")
        r("POST", "/reset", self.reset, "back to the seeded state (optionally with another seed)")
        r("GET", "/stores", self.list_stores, "every store with its token, locations and variants")
        r("POST", "/stores", self.create_store, "create a seeded store with its own access token")
        r("GET", "/stores/{domain}", self.get_store, "one store's summary")
        r("GET", "/stores/{domain}/state", self.get_state, "full read-back of one store")
        r("GET", "/stores/{domain}/orders", self.list_orders, "every order of the store")
        r("POST", "/stores/{domain}/orders", self.create_order, "an order for a TikTok order id (lookup style)")
        r("GET", "/stores/{domain}/orders/{id}", self.get_order, "one order")
        r("GET", "/stores/{domain}/returns", self.list_returns, "every return with lines, RFOs, dispositions")
        r("GET", "/stores/{domain}/refunds", self.list_refunds, "every refund with amounts and transactions")
        r("GET", "/stores/{domain}/inventory", self.list_inventory, "every inventory level and its quantities")
        r("POST", "/stores/{domain}/inventory", self.set_inventory, "stock (or unstock) an item at a location")
        r("GET", "/stores/{domain}/adjustments", self.list_adjustments, "inventory history with reference URIs")
        r("POST", "/stores/{domain}/metafield_definitions", self.define_metafield,
          "declare an order metafield filterable (adminFilterable) or not")
        r("POST", "/stores/{domain}/throttle", self.set_throttle, "set the bucket's currently available points")
        r("GET", "/faults", self.list_faults, "pending scripted faults, fault rate, latency")
        r("POST", "/faults", self.inject_fault, "a fault for the next N matching GraphQL requests")
        r("DELETE", "/faults", self.clear_faults, "clear scripted faults")
        r("GET", "/requests", self.list_requests, "GraphQL request log (root fields, faults, mutations, replays)")
        r("DELETE", "/requests", self.clear_requests, "clear the request log")

    def _route(self, method: str, template: str, handler: Handler, summary: str) -> None:
        segments = tuple(template.strip("/").split("/")) if template != "/" else ()
        self._routes.append((method, segments, handler, summary))

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        from .app import read_body, send_bytes

        raw = await read_body(receive)
        path = scope["path"][len(PREFIX):] or "/"
        status = 200
        try:
            handler, params = self._match(scope["method"], path)
            query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
            try:
                body = orjson.loads(raw) if raw.strip() else {}
            except orjson.JSONDecodeError:
                raise ControlError(400, "the body must be JSON") from None
            if not isinstance(body, dict):
                raise ControlError(400, "the body must be a JSON object")
            with self.app.world.lock:
                result = handler(params, query, body)
            payload = orjson.dumps(result)
        except ControlError as failure:
            status, payload = failure.status, orjson.dumps({"error": failure.message})
        except KeyError as failure:
            status, payload = 404, orjson.dumps({"error": f"not found: {failure.args[0]}"})
        except (ValueError, TypeError) as failure:
            status, payload = 400, orjson.dumps({"error": str(failure)})
        await send_bytes(send, status, payload)

    def _match(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        parts = tuple(p for p in path.strip("/").split("/") if p)
        known = False
        for route_method, segments, handler, _ in self._routes:
            if len(segments) != len(parts):
                continue
            params: dict[str, str] = {}
            for pattern, part in zip(segments, parts, strict=True):
                if pattern.startswith("{"):
                    params[pattern[1:-1]] = part
                elif pattern != part:
                    break
            else:
                known = True
                if route_method == method:
                    return handler, params
        if known:
            raise ControlError(405, f"{method} is not supported on {PREFIX}{path}")
        raise ControlError(404, f"no control endpoint at {PREFIX}{path}")

    def _store(self, params: dict[str, str]) -> Store:
        return self.app.world.store_by_domain(params["domain"])

    # --- general ---------------------------------------------------------------------------------------------------

    def index(self, params: dict, query: dict, body: dict) -> dict:
        return {"endpoints": [{"method": m, "path": PREFIX + "/" + "/".join(s), "summary": text}
                              for m, s, _, text in self._routes]}

    def health(self, params: dict, query: dict, body: dict) -> dict:
        return {"ok": True, "base_url": self.app.base_url, "token": self.app.default_token,
                "domain": self.app.default_domain}

    def get_config(self, params: dict, query: dict, body: dict) -> dict:
        app = self.app
        return {"base_url": app.base_url, "seed": app.seed, "api_version": "2026-04",
                "graphql_url": f"{app.base_url}/admin/api/2026-04/graphql.json",
                "maximum_available": app.limiter.maximum_available, "restore_rate": app.limiter.restore_rate,
                "max_query_cost": app.max_query_cost, "latency_ms": app.faults.latency_ms,
                "fault_rate": app.faults.fault_rate}

    def set_config(self, params: dict, query: dict, body: dict) -> dict:
        app = self.app
        if "maximum_available" in body or "restore_rate" in body:
            app.limiter.configure(maximum_available=body.get("maximum_available"),
                                  restore_rate=body.get("restore_rate"))
        if "max_query_cost" in body:
            app.max_query_cost = int(body["max_query_cost"])
        if "latency_ms" in body:
            app.faults.latency_ms = max(0, int(body["latency_ms"]))
        if "fault_rate" in body:
            rate = float(body["fault_rate"])
            if not 0.0 <= rate <= 1.0:
                raise ControlError(400, "fault_rate must be between 0 and 1")
            app.faults.fault_rate = rate
        return self.get_config(params, query, {})

    def reset(self, params: dict, query: dict, body: dict) -> dict:
        self.app.reset(int(body["seed"]) if body.get("seed") is not None else None)
        return {"ok": True, "seed": self.app.seed}

    # --- stores ------------------------------------------------------------------------------------------------------

    def list_stores(self, params: dict, query: dict, body: dict) -> dict:
        return {"stores": [snapshot.store_summary(s) for s in self.app.world.stores_by_domain.values()]}

    def create_store(self, params: dict, query: dict, body: dict) -> dict:
        domain = str(body.get("domain") or "")
        if not domain:
            raise ControlError(400, "domain is required (e.g. other-shop.myshopify.com)")
        if not domain.endswith(".myshopify.com"):
            domain += ".myshopify.com"
        world = self.app.world
        token = str(body.get("token") or f"shpat_{domain.split('.')[0].replace('-', '_')}")
        if domain in world.stores_by_domain or token in world.stores_by_token:
            raise ControlError(409, "a store with that domain or token exists")
        store = seed_store(world, domain=domain, token=token, name=body.get("name"),
                           currency=str(body.get("currency") or "USD"),
                           seed=int(body.get("seed", self.app.seed)), products=int(body.get("products", 8)),
                           orders=int(body.get("orders", 0)))
        if body.get("order_window_days") is not None:
            store.order_window_days = int(body["order_window_days"])
        self._add_catalog(store, body.get("catalog"))
        return snapshot.store_summary(store)

    def _add_catalog(self, store: Store, catalog: object) -> None:
        """Products with the merchant's own SKUs (those the TikTok emulator's catalog uses, for example), tracked and
        stocked at the first two locations, so orders and returns can name them."""
        if catalog is None:
            return
        if not isinstance(catalog, list) or not all(isinstance(x, dict) and x.get("sku") for x in catalog):
            raise ControlError(400, "catalog must be a list of {sku, price?, title?, available?}")
        locations = list(store.locations.values())[:2]
        for entry in catalog:
            sku = str(entry["sku"])
            if store.variant_by_sku(sku) is not None:
                raise ControlError(409, f"sku {sku} exists")
            product = store.add_product(str(entry.get("title") or sku), [
                ("Default Title", sku, _decimal(entry.get("price", "10.00"), "price"), True)])
            for variant_id in product.variant_ids:
                for location in locations:
                    store.stock(store.variants[variant_id].inventory_item_id, location.id,
                                int(entry.get("available", 50)))

    def get_store(self, params: dict, query: dict, body: dict) -> dict:
        return snapshot.store_summary(self._store(params))

    def get_state(self, params: dict, query: dict, body: dict) -> dict:
        return snapshot.state(self._store(params))

    def list_orders(self, params: dict, query: dict, body: dict) -> dict:
        store = self._store(params)
        return {"orders": [snapshot.order(store, o) for o in store.orders.values()]}

    def get_order(self, params: dict, query: dict, body: dict) -> dict:
        store = self._store(params)
        number = _number(params["id"].replace("%2F", "/").replace("%3A", ":"), "Order")
        return snapshot.order(store, store.orders[number])

    def create_order(self, params: dict, query: dict, body: dict) -> dict:
        store = self._store(params)
        tiktok_id = str(body.get("tiktok_order_id") or "")
        if not tiktok_id:
            raise ControlError(400, "tiktok_order_id is required")
        style = str(body.get("style", "name"))
        if style not in LOOKUP_STYLES:
            raise ControlError(400, f"style must be one of {', '.join(LOOKUP_STYLES)}")
        lines = body.get("lines")
        if lines is not None:
            if not isinstance(lines, list) or not all(isinstance(x, dict) for x in lines):
                raise ControlError(400, "lines must be a list of objects")
            lines = [{**x, "variant_id": _number(x["variant_id"], "ProductVariant")} if x.get("variant_id")
                     is not None else x for x in lines]
        metafield = body.get("metafield") or {}
        created_at = None
        if body.get("created_at"):
            created_at = datetime.fromisoformat(str(body["created_at"]).replace("Z", "+00:00"))
            if created_at.tzinfo is None:
                raise ControlError(400, "created_at needs a timezone")
        order = add_tiktok_order(
            store, tiktok_id, style=style, lines=lines, created_at=created_at,
            prefix=str(body.get("prefix", "")), suffix=str(body.get("suffix", "")),
            tag_prefix=str(body.get("tag_prefix", "")),
            attribute_key=str(body.get("attribute_key", "TikTok Order Number")),
            metafield=(str(metafield.get("namespace", "tiktok")), str(metafield.get("key", "order_id"))),
            metafield_filterable=bool(metafield.get("filterable", True)),
            source_name=str(body.get("source_name", "tiktok")), extra_tags=list(body.get("tags", [])),
            shipping=_decimal(body.get("shipping", "0"), "shipping"),
            tax_rate=_decimal(body.get("tax_rate", "0"), "tax_rate"), gateway=str(body.get("gateway", "manual")),
            fulfilled=bool(body.get("fulfilled", True)),
            location_id=_number(body["location_id"], "Location") if body.get("location_id") else None,
        )
        return snapshot.order(store, order)

    def list_returns(self, params: dict, query: dict, body: dict) -> dict:
        return {"returns": [snapshot.return_(r) for r in self._store(params).returns.values()]}

    def list_refunds(self, params: dict, query: dict, body: dict) -> dict:
        store = self._store(params)
        return {"refunds": [snapshot.refund(store, r) for r in store.refunds.values()]}

    def list_inventory(self, params: dict, query: dict, body: dict) -> dict:
        return {"levels": snapshot.inventory(self._store(params))}

    def set_inventory(self, params: dict, query: dict, body: dict) -> dict:
        store = self._store(params)
        item_id = _number(body.get("inventory_item_id"), "InventoryItem")
        location_id = _number(body.get("location_id"), "Location")
        if item_id not in store.items or location_id not in store.locations:
            raise KeyError("inventory item or location")
        if body.get("remove"):
            store.levels.pop((item_id, location_id), None)
        else:
            store.stock(item_id, location_id, int(body.get("available", 0)))
        return {"levels": snapshot.inventory(store)}

    def list_adjustments(self, params: dict, query: dict, body: dict) -> dict:
        return {"adjustments": [snapshot.adjustment(g) for g in self._store(params).adjustments]}

    def define_metafield(self, params: dict, query: dict, body: dict) -> dict:
        store = self._store(params)
        pair = (str(body.get("namespace", "")), str(body.get("key", "")))
        if not all(pair):
            raise ControlError(400, "namespace and key are required")
        if body.get("filterable", True):
            store.filterable_metafields.add(pair)
        else:
            store.filterable_metafields.discard(pair)
        return snapshot.store_summary(store)

    def set_throttle(self, params: dict, query: dict, body: dict) -> dict:
        store = self._store(params)
        if "currently_available" not in body:
            raise ControlError(400, "currently_available is required")
        self.app.limiter.set_available(store.domain, float(body["currently_available"]))
        return self.app.limiter.status(store.domain)

    # --- faults and log ------------------------------------------------------------------------------------------

    def list_faults(self, params: dict, query: dict, body: dict) -> dict:
        faults = self.app.faults
        return {"scripted": faults.scripted(), "fault_rate": faults.fault_rate, "latency_ms": faults.latency_ms,
                "injected": faults.injected, "kinds": list(KINDS)}

    def inject_fault(self, params: dict, query: dict, body: dict) -> dict:
        fault = Fault(
            kind=str(body.get("kind", "")), http_status=int(body["http_status"]) if body.get("http_status") else None,
            delay_ms=int(body.get("delay_ms", 0)),
            retry_after=float(body["retry_after"]) if body.get("retry_after") is not None else None,
            commit=bool(body.get("commit", False)), match=body.get("match"), store=body.get("store"),
        )
        return self.app.inject(fault, int(body.get("count", 1)))

    def clear_faults(self, params: dict, query: dict, body: dict) -> dict:
        return {"cleared": self.app.faults.clear()}

    def list_requests(self, params: dict, query: dict, body: dict) -> dict:
        return {"requests": list(self.app.requests), "total": self.app.requests_total}

    def clear_requests(self, params: dict, query: dict, body: dict) -> dict:
        self.app.requests.clear()
        return {"ok": True}
