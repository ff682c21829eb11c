"""The demo's Shopify store: an emulated store that holds the same orders as the emulated TikTok US shop, the way a
TikTok→Shopify order connector would have imported them, so the cases the demo shows mirror into it live.

Only the demo knows both emulators, so only the demo may copy orders from one into the other. Orders are named
``TT-<TikTok order id>`` (the order-name-with-prefix style several connectors use) and the store's order lookup is
configured for exactly that. The store is in USD and mirrors the US shop only: the GB shop sells in GBP, and a store
never converts a currency (such cases would all be held).

Lives with the commands because it imports the emulator, which only the command line and the tests may do.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

import httpx
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, CaseLine, StoreEffect
from returnbridge.db.repositories.store_effects import HELD
from returnbridge.emulators.shopify.server import EmulatorServer as ShopifyEmulator
from returnbridge.errors import UserFacingError
from returnbridge.sync import stores as store_service
from returnbridge.sync.runtime import Runtime

log = logging.getLogger(__name__)

STORE_DOMAIN = "northwind-goods.myshopify.com"
STORE_NAME = "Northwind Goods (Shopify)"
ORDER_PREFIX = "TT-"
# What the demo turns on (everything is off for a merchant until they turn it on): returns and settled refunds
# recorded, returned units back in stock where they shipped from once the received package is approved.
STORE_SETTINGS: dict[str, Any] = {
    "mirroring": "record",
    "auto_restock": True,
    "restock_location": "fulfilled_from",
    "restock_trigger": "package_approved",
    "order_lookup": [{"kind": "name", "prefix": ORDER_PREFIX}],
}
STOCK_PER_SKU = 60
# Held because the order was not in the store yet (the webhook beat the demo's copy of the order); the mirror's
# message for that case starts so.
ORDER_NOT_FOUND = "no store order found"


@dataclass(frozen=True)
class Unit:
    """One TikTok unit (a TikTok line item is one unit) with what the buyer paid for it."""

    sku: str
    product: str
    variant: str
    subtotal: Decimal | None
    shipping: Decimal | None
    tax: Decimal | None


def _money(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    return Decimal(str(value))


def units_of_request(request: Mapping[str, Any]) -> list[Unit]:
    """The units of a TikTok return or cancellation as the emulator's control API gives it."""
    lines = request.get("return_line_items") or request.get("cancel_line_items") or []
    units = []
    for line in lines:
        amount = line.get("refund_amount") or {}
        units.append(Unit(str(line.get("seller_sku") or ""), str(line.get("product_name") or ""),
                          str(line.get("sku_name") or ""), _money(amount.get("refund_subtotal")),
                          _money(amount.get("refund_shipping_fee")), _money(amount.get("refund_tax"))))
    return [u for u in units if u.sku]


class DemoShopify:
    """The emulated store and the copy of TikTok orders into it (thread-safe: buyers act from their own thread)."""

    def __init__(self, server: ShopifyEmulator, *, account_id: int) -> None:
        self.server = server
        self.account_id = account_id  # the TikTok US shop this store mirrors
        self.domain = STORE_DOMAIN
        self.token = f"shpat_{secrets.token_hex(16)}"
        self.control = httpx.Client(base_url=f"{server.base_url}/_emulator", timeout=60)
        self.store_id = 0
        self._lock = threading.Lock()
        self._orders: set[str] = set()
        self._prices: dict[str, Decimal] = {}  # SKU → shelf price in the store

    def close(self) -> None:
        self.control.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.control.request(method, path, json=body)
        if response.status_code >= 400:
            raise UserFacingError(f"the Shopify emulator refused {method} {path}: {response.text[:300]}")
        return response.json()

    # --- set-up ------------------------------------------------------------------------------------------------

    def create_store(self) -> None:
        self._call("POST", "/stores", {"domain": self.domain, "token": self.token, "name": "Northwind Goods",
                                       "currency": "USD", "products": 0, "orders": 0})

    def copy_orders(self, runtime: Runtime) -> int:
        """A store order for every TikTok order the US shop's cases reference; gives how many were created."""
        by_order: dict[str, list[Unit]] = defaultdict(list)
        kinds: dict[str, set[str]] = defaultdict(set)
        with transaction(runtime.sessions) as session:
            rows = session.execute(
                select(Case.order_id, Case.kind, CaseLine.seller_sku, CaseLine.product_name, CaseLine.sku_name,
                       CaseLine.refund_subtotal, CaseLine.refund_shipping_fee, CaseLine.refund_tax)
                .join(CaseLine, CaseLine.case_id == Case.id)
                .where(Case.account_id == self.account_id, Case.order_id != "")
                .order_by(Case.order_id, CaseLine.id)
            )
            for order_id, kind, sku, product, variant, subtotal, shipping, tax in rows:
                if sku:
                    by_order[order_id].append(Unit(sku, product, variant, subtotal, shipping, tax))
                    kinds[order_id].add(kind)
        self._add_products(u for units in by_order.values() for u in units)
        created = 0
        for order_id, units in by_order.items():
            # An order whose only request is a cancellation has not shipped yet.
            if self.ensure_order(order_id, units, fulfilled=kinds[order_id] != {"cancellation"}):
                created += 1
        return created

    def add_to_returnbridge(self, runtime: Runtime) -> store_service.StoreView:
        store = store_service.add_shopify_store(
            runtime, domain=self.server.base_url, access_token=self.token, name=STORE_NAME,
            settings={**STORE_SETTINGS, "account_ids": [self.account_id]},
        )
        self.store_id = store.id
        return store

    # --- orders ------------------------------------------------------------------------------------------------

    def _add_products(self, units: Iterable[Unit]) -> None:
        """Products with the TikTok catalog's seller SKUs (one product per TikTok product, a variant per SKU),
        stocked at the main warehouse. The control API seeds only its own catalog, so this goes through the
        in-process emulator under its lock."""
        new: dict[str, dict[str, tuple[str, Decimal]]] = defaultdict(dict)
        for unit in units:
            product = unit.product or unit.sku
            if unit.sku in self._prices or unit.sku in new[product]:
                continue
            price = unit.subtotal if unit.subtotal and unit.subtotal > 0 else Decimal("10.00")
            new[product][unit.sku] = (unit.variant or "Default Title", price)
        if not any(new.values()):
            return
        app = self.server.app
        if app is None:  # a subprocess emulator has no world to reach
            raise UserFacingError("the demo needs the Shopify emulator in this process")
        with app.world.lock:
            store = app.world.store_by_domain(self.domain)
            warehouse = store.primary_location
            for name, skus in sorted(new.items()):
                if not skus:
                    continue
                product = store.add_product(name, [(title, sku, price, True) for sku, (title, price) in skus.items()])
                for variant_id in product.variant_ids:
                    store.stock(store.variants[variant_id].inventory_item_id, warehouse.id, STOCK_PER_SKU)
                for sku, (_, price) in skus.items():
                    self._prices[sku] = price

    def ensure_order(self, tiktok_order_id: str, units: Sequence[Unit], *, fulfilled: bool = True) -> bool:
        """Create the store order for a TikTok order unless the demo already did; True when it was created."""
        with self._lock:
            if tiktok_order_id in self._orders or not units:
                return False
            self._add_products(units)
            self._call("POST", f"/stores/{self.domain}/orders", self._order_body(tiktok_order_id, units, fulfilled))
            self._orders.add(tiktok_order_id)
            return True

    def _order_body(self, tiktok_order_id: str, units: Sequence[Unit], fulfilled: bool) -> dict[str, Any]:
        # The order charges at least what TikTok refunds for it (a refund above the captured amount would be
        # refused by the store): each unit at the subtotal TikTok refunds for it, the shipping TikTok refunds,
        # and a tax rate rounded up from TikTok's tax.
        grouped: dict[tuple[str, Decimal], int] = defaultdict(int)
        subtotal = shipping = tax = Decimal(0)
        for unit in units:
            price = unit.subtotal if unit.subtotal is not None and unit.subtotal > 0 else self._prices[unit.sku]
            grouped[(unit.sku, price)] += 1
            subtotal += price
            shipping += unit.shipping or 0
            tax += unit.tax or 0
        rate = (tax / subtotal).quantize(Decimal("0.0001"), rounding=ROUND_CEILING) if subtotal > 0 else Decimal(0)
        return {
            "tiktok_order_id": tiktok_order_id, "style": "name", "prefix": ORDER_PREFIX,
            "lines": [{"sku": sku, "quantity": n, "price": str(price)} for (sku, price), n in grouped.items()],
            "shipping": str(shipping), "tax_rate": str(rate), "fulfilled": fulfilled, "source_name": "tiktok",
        }

    def after_request(self, runtime: Runtime, request: Mapping[str, Any]) -> None:
        """A buyer opened a request on a new order: put the order in the store, and if the mirror already held an
        effect because the order was missing (the webhook won the race), put it back in the queue."""
        order_id = str(request.get("order_id") or "")
        if not order_id:
            return
        created = self.ensure_order(order_id, units_of_request(request),
                                    fulfilled="cancel_id" not in request)
        if created and self.store_id:
            self._release_missing_order(runtime, order_id)

    def _release_missing_order(self, runtime: Runtime, order_id: str) -> None:
        with transaction(runtime.sessions) as session:
            held = list(session.scalars(
                select(StoreEffect.id).join(Case, Case.id == StoreEffect.case_id)
                .where(Case.order_id == order_id, StoreEffect.store_id == self.store_id, StoreEffect.state == HELD,
                       StoreEffect.held_reason.startswith(ORDER_NOT_FOUND))
            ))
        for effect_id in held:
            try:
                store_service.retry_effect(runtime, effect_id, actor_name="demo")
            except store_service.StoreServiceError as refused:  # moved on meanwhile
                log.info("demo retry of effect %s skipped: %s", effect_id, refused)

    # --- read-back for the banner ------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        return dict(self._call("GET", f"/stores/{self.domain}"))
