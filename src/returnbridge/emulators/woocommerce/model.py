"""The shop's state and WooCommerce's rules: orders with line items, taxes and meta data; refunds with the amount
rules of ``wc_create_refund``; restock only where the order reduced stock; order notes; products' stock.

Amounts are ``Decimal`` and rendered as WooCommerce does (``wc_format_decimal`` with 2 decimals: "27.53").
Item ids (line items, shipping lines) share one sequence, as in WooCommerce's ``order_items`` table, so a refund's
``line_items[].id`` can name a shipping line too.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    return format(value.quantize(CENT, ROUND_HALF_UP), "f")


def wp_date(at: datetime) -> str:
    """WordPress's ``Y-m-d\\TH:i:s`` without offset (the ``_gmt`` twin is the same here: the site runs on UTC)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


class WooError(Exception):
    """A WP REST error: ``{"code", "message", "data": {"status"}}``."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"status": self.status}}


@dataclass
class Product:
    id: int
    sku: str
    name: str
    price: Decimal
    manage_stock: bool = True
    stock_quantity: int | None = 100

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "sku": self.sku, "type": "simple", "price": money(self.price),
                "regular_price": money(self.price), "manage_stock": self.manage_stock,
                "stock_quantity": self.stock_quantity if self.manage_stock else None,
                "stock_status": "instock" if not self.manage_stock or (self.stock_quantity or 0) > 0
                else "outofstock"}


@dataclass
class Item:
    """A line item (``line_item``) or a shipping line (``shipping``)."""

    id: int
    type: str
    name: str
    quantity: int
    total: Decimal
    taxes: dict[int, Decimal]  # tax rate id → tax
    product_id: int = 0
    sku: str = ""
    meta: dict[str, Any] = field(default_factory=dict)  # hidden item meta: _reduced_stock, _restock_refunded_items

    @property
    def total_tax(self) -> Decimal:
        return sum(self.taxes.values(), Decimal(0))

    def json(self) -> dict[str, Any]:
        taxes = [{"id": rate, "total": money(t), "subtotal": money(t)} for rate, t in self.taxes.items()]
        if self.type == "shipping":
            return {"id": self.id, "method_title": self.name, "method_id": "flat_rate", "total": money(self.total),
                    "total_tax": money(self.total_tax), "taxes": taxes, "meta_data": []}
        price = self.total / self.quantity if self.quantity else Decimal(0)
        return {"id": self.id, "name": self.name, "product_id": self.product_id, "variation_id": 0,
                "quantity": self.quantity, "tax_class": "", "subtotal": money(self.total),
                "subtotal_tax": money(self.total_tax), "total": money(self.total), "total_tax": money(self.total_tax),
                "taxes": taxes, "meta_data": [], "sku": self.sku, "price": float(price)}


@dataclass
class Refund:
    id: int
    order_id: int
    amount: Decimal
    reason: str | None
    refunded_payment: bool
    lines: list[tuple[Item, int, Decimal, dict[int, Decimal]]]  # order item, qty, refund total, refund tax per rate
    meta: list[dict[str, Any]]
    created: datetime

    def json(self) -> dict[str, Any]:
        line_items, shipping_lines = [], []
        for item, qty, total, taxes in self.lines:
            entry = {"id": item.id + 100_000 + self.id, "name": item.name, "quantity": -qty,
                     "subtotal": money(-total), "total": money(-total), "total_tax": money(-sum(taxes.values(),
                                                                                               Decimal(0))),
                     "taxes": [{"id": r, "total": money(-t), "subtotal": money(-t)} for r, t in taxes.items()],
                     "meta_data": [{"key": "_refunded_item_id", "value": str(item.id)}]}
            if item.type == "shipping":
                shipping_lines.append({**entry, "method_title": item.name})
            else:
                line_items.append({**entry, "product_id": item.product_id, "variation_id": 0, "sku": item.sku})
        return {"id": self.id, "date_created": wp_date(self.created), "date_created_gmt": wp_date(self.created),
                "amount": money(self.amount), "reason": self.reason or "", "refunded_by": 1,
                "refunded_payment": self.refunded_payment,
                "meta_data": [{"id": i + 1, **m} for i, m in enumerate(self.meta)],
                "line_items": line_items, "shipping_lines": shipping_lines, "tax_lines": [], "fee_lines": []}


@dataclass
class Note:
    id: int
    note: str
    customer_note: bool
    author: str
    created: datetime

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "author": self.author, "date_created": wp_date(self.created),
                "date_created_gmt": wp_date(self.created), "note": self.note, "customer_note": self.customer_note}


@dataclass
class Order:
    id: int
    currency: str
    status: str
    created: datetime
    payment_method: str
    items: list[Item]
    meta: list[dict[str, Any]]
    customer: str = "TikTok Buyer"
    refunds: list[Refund] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((i.total + i.total_tax for i in self.items), Decimal(0))

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds), Decimal(0))

    def item(self, item_id: int) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)

    def json(self) -> dict[str, Any]:
        lines = [i for i in self.items if i.type == "line_item"]
        shipping = [i for i in self.items if i.type == "shipping"]
        rates = sorted({rate for i in self.items for rate in i.taxes})
        tax_lines = [{"id": 900_000 + r, "rate_code": f"TAX-{r}", "rate_id": r, "label": "Tax", "compound": False,
                      "tax_total": money(sum((i.taxes.get(r, Decimal(0)) for i in lines), Decimal(0))),
                      "shipping_tax_total": money(sum((i.taxes.get(r, Decimal(0)) for i in shipping), Decimal(0)))}
                     for r in rates]
        return {
            "id": self.id, "parent_id": 0, "number": str(self.id), "order_key": f"wc_order_{self.id:08d}",
            "created_via": "rest-api", "status": self.status, "currency": self.currency,
            "date_created": wp_date(self.created), "date_created_gmt": wp_date(self.created),
            "discount_total": "0.00", "shipping_total": money(sum((i.total for i in shipping), Decimal(0))),
            "shipping_tax": money(sum((i.total_tax for i in shipping), Decimal(0))),
            "total": money(self.total), "total_tax": money(sum((i.total_tax for i in self.items), Decimal(0))),
            "prices_include_tax": False, "payment_method": self.payment_method,
            "billing": {"first_name": self.customer, "last_name": "", "email": ""},
            "meta_data": [{"id": i + 1, **m} for i, m in enumerate(self.meta)],
            "line_items": [i.json() for i in lines], "shipping_lines": [i.json() for i in shipping],
            "tax_lines": tax_lines, "fee_lines": [], "coupon_lines": [],
            "refunds": [{"id": r.id, "reason": r.reason or "", "total": money(-r.amount)} for r in self.refunds],
        }


def decimal_or_none(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


class Shop:
    """One WooCommerce site. Every public method runs under ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        self.orders: dict[int, Order] = {}
        self.products: dict[int, Product] = {}
        self.tax_rates: dict[str, int] = {}  # rate ("0.07") → tax rate id
        self.stock_changes: list[dict[str, Any]] = []
        self._ids = {"order": 100, "item": 1, "refund": 5000, "note": 1, "product": 10}

    def _next(self, name: str) -> int:
        self._ids[name] += 1
        return self._ids[name]

    # --- control -------------------------------------------------------------------------------------------------

    def product(self, sku: str, *, price: Decimal = Decimal("22.00"), manage_stock: bool = True,
                stock: int | None = 100) -> Product:
        found = next((p for p in self.products.values() if p.sku == sku), None)
        if found is None:
            found = Product(self._next("product"), sku, f"Product {sku}", price, manage_stock,
                            stock if manage_stock else None)
            self.products[found.id] = found
        return found

    def create_order(self, spec: dict[str, Any]) -> Order:
        """An order as a TikTok→WooCommerce connector would import it (control API)."""
        created = datetime.fromisoformat(spec["date_created"]) if spec.get("date_created") else datetime.now(UTC)
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        reduce_stock = bool(spec.get("reduced_stock", True))
        items = []
        for line in spec.get("lines") or [{"sku": "RB-001", "quantity": 1}]:
            quantity = int(line.get("quantity", 1))
            price = Decimal(str(line.get("price", "22.00")))
            product = self.product(str(line["sku"]), price=price, manage_stock=bool(line.get("manage_stock", True)))
            total = (price * quantity).quantize(CENT, ROUND_HALF_UP)
            item = Item(self._next("item"), "line_item", product.name, quantity, total,
                        self._taxes(total, line.get("tax_rate", spec.get("tax_rate"))), product.id, product.sku)
            if reduce_stock and product.manage_stock and product.stock_quantity is not None:
                product.stock_quantity -= quantity
                item.meta["_reduced_stock"] = quantity
            items.append(item)
        if spec.get("shipping") not in (None, "", "0", "0.00"):
            shipping = Decimal(str(spec["shipping"]))
            items.append(Item(self._next("item"), "shipping", "Flat rate", 1, shipping,
                              self._taxes(shipping, spec.get("shipping_tax_rate")), 0, ""))
        meta = [{"key": k, "value": v} for k, v in (spec.get("meta") or {}).items()]
        if spec.get("tiktok_order_id"):
            meta.append({"key": spec.get("meta_key") or "_tiktok_order_id", "value": str(spec["tiktok_order_id"])})
        order = Order(self._next("order"), str(spec.get("currency", "USD")), str(spec.get("status", "processing")),
                      created, str(spec.get("payment_method", "")), items, meta,
                      customer=str(spec.get("customer", "TikTok Buyer")))
        self.orders[order.id] = order
        return order

    def _taxes(self, base: Decimal, rate: Any) -> dict[int, Decimal]:
        if rate in (None, "", "0"):
            return {}
        key = format(Decimal(str(rate)), "f")
        rate_id = self.tax_rates.setdefault(key, len(self.tax_rates) + 1)
        return {rate_id: (base * Decimal(key)).quantize(CENT, ROUND_HALF_UP)}

    # --- API -----------------------------------------------------------------------------------------------------

    def order(self, order_id: Any) -> Order:
        try:
            order = self.orders.get(int(order_id))
        except (TypeError, ValueError):
            order = None
        if order is None:
            raise WooError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404)
        return order

    def list_orders(self, *, search: str = "", after: datetime | None = None, before: datetime | None = None,
                    order_desc: bool = True) -> list[Order]:
        """``search`` looks at the order number and the buyer's name, never at meta data (store-apis.md C.3)."""
        found = []
        for order in self.orders.values():
            if after is not None and order.created <= after:
                continue
            if before is not None and order.created >= before:
                continue
            if search and search.lower() not in f"{order.id} {order.customer}".lower():
                continue
            found.append(order)
        found.sort(key=lambda o: (o.created, o.id), reverse=order_desc)
        return found

    def create_refund(self, order_id: Any, body: dict[str, Any]) -> Refund:
        try:
            order = self.orders.get(int(order_id))
        except (TypeError, ValueError):
            order = None
        if order is None:
            raise WooError("woocommerce_rest_invalid_order_id", "Invalid order ID.", 404)
        lines = self._refund_lines(order, body.get("line_items") or [])
        amount = decimal_or_none(body.get("amount"))
        if amount is None:
            # Only when every line names its numbers is the amount their sum (RestApiUtil::adjust_create_refund…).
            raw = body.get("line_items") or []
            complete = raw and all(decimal_or_none(li.get("refund_total")) is not None and all(
                decimal_or_none(t.get("refund_total")) is not None for t in li.get("refund_tax") or [])
                for li in raw)
            amount = sum((t + sum(taxes.values(), Decimal(0)) for _, _, t, taxes in lines), Decimal(0)) \
                if complete else Decimal(0)
        if amount < 0:
            raise WooError("woocommerce_rest_invalid_order_refund", "Refund amount must be greater than zero.", 400)
        remaining = order.total - order.refunded
        if amount.quantize(CENT, ROUND_HALF_UP) > remaining:
            raise WooError("woocommerce_rest_cannot_create_order_refund", "Invalid refund amount.", 500)
        api_refund = _flag(body.get("api_refund"), True)
        api_restock = _flag(body.get("api_restock"), True)
        if api_refund and amount > 0:
            # The refund is created, the gateway is asked, and on failure the refund is deleted again: nothing stays.
            problem = _gateway_problem(order.payment_method)
            if problem:
                raise WooError("woocommerce_rest_cannot_create_order_refund", problem, 500)
        reason = str(body.get("reason") or "") or None
        meta = [{"key": str(m.get("key", "")), "value": m.get("value")} for m in body.get("meta_data") or []
                if isinstance(m, dict)]
        refund = Refund(self._next("refund"), order.id, amount.quantize(CENT, ROUND_HALF_UP), reason,
                        bool(api_refund and amount > 0), lines, meta, datetime.now(UTC))
        order.refunds.append(refund)
        if api_restock:
            self._restock(order, refund)
        if order.total - order.refunded <= 0:
            self._note(order, f"Order status changed from {order.status.capitalize()} to Refunded.", system=True)
            order.status = "refunded"
        return refund

    def _refund_lines(self, order: Order, raw: list[Any]) -> list[tuple[Item, int, Decimal, dict[int, Decimal]]]:
        lines = []
        for entry in raw:
            if not isinstance(entry, dict):
                continue
            item = order.item(int(entry.get("id") or 0)) if str(entry.get("id") or "").isdigit() else None
            if item is None:
                continue  # wc_create_refund walks the order's items: an unknown id is ignored
            qty = int(entry.get("quantity") or 0)
            total = decimal_or_none(entry.get("refund_total")) or Decimal(0)
            taxes = {}
            for tax in entry.get("refund_tax") or []:
                rate = int(tax.get("id") or 0)
                if rate in item.taxes:
                    taxes[rate] = decimal_or_none(tax.get("refund_total")) or Decimal(0)
            lines.append((item, max(qty, 0), total, taxes))
        return lines

    def _restock(self, order: Order, refund: Refund) -> None:
        """``wc_restock_refunded_items``: only lines whose stock the order reduced, of products managing stock."""
        for item, qty, _, _ in refund.lines:
            product = self.products.get(item.product_id)
            reduced = int(item.meta.get("_reduced_stock") or 0)
            if item.type != "line_item" or not qty or not reduced or product is None or not product.manage_stock:
                continue
            before = product.stock_quantity or 0
            product.stock_quantity = before + qty
            item.meta["_reduced_stock"] = reduced - qty
            item.meta["_restock_refunded_items"] = int(item.meta.get("_restock_refunded_items") or 0) + qty
            self.stock_changes.append({"product_id": product.id, "sku": product.sku, "from": before,
                                       "to": product.stock_quantity, "order_id": order.id, "refund_id": refund.id,
                                       "source": "api_restock"})
            self._note(order, f"Item #{product.id} stock increased from {before} to {product.stock_quantity}.",
                       system=True)

    def _note(self, order: Order, text: str, *, customer_note: bool = False, system: bool = False) -> Note:
        note = Note(self._next("note"), text, customer_note, "system" if system else "ReturnBridge API",
                    datetime.now(UTC))
        order.notes.append(note)
        return note

    def add_note(self, order_id: Any, body: dict[str, Any]) -> Note:
        order = self.order(order_id)
        text = str(body.get("note") or "")
        if not text:
            raise WooError("rest_missing_callback_param", "Missing parameter(s): note", 400)
        return self._note(order, text, customer_note=_flag(body.get("customer_note"), False))

    def update_product(self, product_id: Any, body: dict[str, Any]) -> Product:
        try:
            product = self.products.get(int(product_id))
        except (TypeError, ValueError):
            product = None
        if product is None:
            raise WooError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        if "manage_stock" in body:
            product.manage_stock = _flag(body["manage_stock"], product.manage_stock)
        if "stock_quantity" in body and product.manage_stock:
            before = product.stock_quantity
            product.stock_quantity = int(body["stock_quantity"])
            self.stock_changes.append({"product_id": product.id, "sku": product.sku, "from": before,
                                       "to": product.stock_quantity, "source": "products.update"})
        return product


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes")


def _gateway_problem(payment_method: str) -> str:
    if payment_method in ("", "tiktok"):
        return "The payment gateway for this order does not exist."
    if payment_method in ("bacs", "cheque", "cod"):
        return "The payment gateway for this order does not support automatic refunds."
    return ""
