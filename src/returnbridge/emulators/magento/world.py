"""Every emulated installation, the lock that serialises them, and the control operations on their data: creating
orders (with the TikTok order id as increment id, ``ext_order_id`` or an extra column), invoicing, shipping from a
source, and the deterministic seed."""

from __future__ import annotations

import random
import threading
from collections import deque
from decimal import Decimal
from typing import Any

from .faults import FaultInjector
from .model import ZERO, Invoice, Order, OrderItem, Site, cents

DEFAULT_SITE = "default"
DEFAULT_USER = ("admin", "admin123")
DEFAULT_INTEGRATION_TOKEN = "magento_integration_token"
SEED_SKUS = ("RB-001", "RB-002", "RB-003", "RB-004", "RB-005")
SEED_STOCK = Decimal(100)


class ControlError(ValueError):
    """A control API request that cannot be done (HTTP 400 with this message)."""


class World:
    def __init__(self, *, seed: int = 42, seed_orders: int = 0) -> None:
        self.lock = threading.Lock()
        self.faults = FaultInjector()
        self.requests: deque[dict[str, Any]] = deque(maxlen=5000)
        self.seed = seed
        self.sites: dict[str, Site] = {}
        self._seed_orders = seed_orders
        self.reset()

    def reset(self) -> None:
        self.sites.clear()
        self.faults.clear()
        self.requests.clear()
        site = self.add_site({"name": DEFAULT_SITE})
        rng = random.Random(self.seed)
        for n in range(self._seed_orders):
            skus = rng.sample(SEED_SKUS, rng.randint(1, 2))
            self.create_order(site, {
                "tiktok_order_id": f"5764{rng.randrange(10**13, 10**14)}", "shipping": "3.99", "tax_rate": "0.07",
                "lines": [{"sku": s, "qty": rng.randint(1, 3), "price": f"{rng.randint(500, 9000) / 100:.2f}"}
                          for s in skus],
                "id_field": ("increment_id", "ext_order_id")[n % 2],
            })

    def site(self, name: str) -> Site:
        site = self.sites.get(name)
        if site is None:
            raise KeyError(name)
        return site

    def add_site(self, spec: dict[str, Any]) -> Site:
        name = str(spec.get("name") or f"site{len(self.sites) + 1}")
        if name in self.sites:
            raise ControlError(f"site {name} exists")
        username, password = str(spec.get("username") or DEFAULT_USER[0]), str(spec.get("password") or
                                                                                 DEFAULT_USER[1])
        sources = [str(s) for s in spec.get("sources") or ["default"]]
        site = Site(name=name, currency=str(spec.get("currency") or "USD"), admins={username: password},
                    integration_tokens={str(spec.get("integration_token") or DEFAULT_INTEGRATION_TOKEN)},
                    bearer_integration=bool(spec.get("bearer_integration", True)),
                    token_lifetime=int(spec.get("token_lifetime") or 4 * 3600),
                    auto_return=bool(spec.get("auto_return", False)), sources=sources)
        for sku in SEED_SKUS:
            for source in sources:
                site.stock[(sku, source)] = SEED_STOCK
        for sku, per_source in (spec.get("stock") or {}).items():
            for source, qty in (per_source.items() if isinstance(per_source, dict) else [(sources[0], per_source)]):
                site.stock[(str(sku), str(source))] = Decimal(str(qty))
        self.sites[name] = site
        return site

    def create_order(self, site: Site, spec: dict[str, Any]) -> Order:
        tiktok_id = str(spec.get("tiktok_order_id") or "")
        id_field = str(spec.get("id_field") or "increment_id")
        entity_id = site.next_id("order")
        increment = str(spec.get("increment_id") or (tiktok_id if id_field == "increment_id" else
                                                      f"{100000000 + entity_id:09d}"))
        if increment in site.by_increment:
            raise ControlError(f"increment id {increment} exists")
        tax_rate = Decimal(str(spec.get("tax_rate") or "0"))
        items = []
        for line in spec.get("lines") or []:
            qty, price = Decimal(str(line.get("qty", 1))), Decimal(str(line["price"]))
            tax = Decimal(str(line["tax"])) if "tax" in line else cents(price * qty * tax_rate)
            items.append(OrderItem(site.next_id("order_item"), entity_id, str(line["sku"]),
                                   str(line.get("name") or line["sku"]), qty, price, tax,
                                   Decimal(str(line.get("discount") or "0"))))
        if not items:
            raise ControlError("an order needs lines")
        order = Order(entity_id, increment, str(spec.get("currency") or site.currency), items,
                      Decimal(str(spec.get("shipping") or "0")), site.timestamp())
        if id_field == "ext_order_id":
            order.ext_order_id = tiktok_id
        elif id_field != "increment_id":
            order.extra[id_field] = tiktok_id
            site.extra_columns.add(id_field)
        site.orders[entity_id] = order
        site.by_increment[increment] = entity_id
        if order.ext_order_id:
            site.by_ext.setdefault(order.ext_order_id, []).append(entity_id)
        for item in items:
            site.reservations[item.sku] = site.reservations.get(item.sku, ZERO) + item.qty_ordered
        if spec.get("invoice", True):
            self.invoice(site, order)
        if spec.get("ship", True):
            self.ship(site, order, str(spec.get("source_code") or site.sources[0]))
        if spec.get("state"):
            order.state = order.status = str(spec["state"])
        return order

    def invoice(self, site: Site, order: Order) -> Invoice:
        lines = [(i.item_id, i.sku, i.qty_ordered - i.qty_invoiced) for i in order.items
                 if i.qty_ordered > i.qty_invoiced]
        if not lines:
            raise ControlError("The order does not allow an invoice to be created.")
        for item in order.items:
            item.qty_invoiced = item.qty_ordered
        amount = order.grand_total - order.total_invoiced
        invoice = Invoice(site.next_id("invoice"), order.entity_id, f"{site.seq['invoice']:09d}", amount, lines,
                          site.timestamp())
        site.invoices[invoice.entity_id] = invoice
        order.total_invoiced += amount
        order.total_paid += amount
        order.state = order.status = "processing"
        return invoice

    def ship(self, site: Site, order: Order, source: str) -> None:
        if source not in site.sources:
            raise ControlError(f"unknown source {source}")
        for item in order.items:
            qty = item.qty_ordered - item.qty_shipped
            if qty <= 0:
                continue
            item.qty_shipped += qty
            item.source_code = source
            site.stock[(item.sku, source)] = site.stock.get((item.sku, source), ZERO) - qty
            site.reservations[item.sku] = site.reservations.get(item.sku, ZERO) - qty
        if order.state == "processing" and order.total_invoiced >= order.grand_total:
            order.state = order.status = "complete"
