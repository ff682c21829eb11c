"""What one emulated Magento installation holds: orders and their items, invoices, credit memos, order comments
(status history), MSI source items with reservations, admin users, tokens and a clock the control API can move.

Amounts are ``Decimal`` rounded to cents; ids are Magento's integer entity ids, sequential per table.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ADMIN_TOKEN_LIFETIME = 4 * 3600  # seconds; Magento's default "Admin Token Lifetime" (B.1)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def share(amount: Decimal, qty: Decimal, of: Decimal) -> Decimal:
    """``amount`` × qty / of, to the cent: an item's tax or discount for part of its quantity."""
    return cents(amount * qty / of) if of else ZERO


@dataclass
class OrderItem:
    item_id: int
    order_id: int
    sku: str
    name: str
    qty_ordered: Decimal
    price: Decimal
    tax_amount: Decimal = ZERO
    discount_amount: Decimal = ZERO
    qty_invoiced: Decimal = ZERO
    qty_shipped: Decimal = ZERO
    qty_refunded: Decimal = ZERO
    qty_canceled: Decimal = ZERO
    source_code: str = ""  # MSI source the shipment deducted, "" while not shipped

    @property
    def qty_to_refund(self) -> Decimal:
        return max(self.qty_invoiced - self.qty_refunded, ZERO)

    def as_json(self) -> dict[str, Any]:
        row_total = cents(self.price * self.qty_ordered)
        return {
            "item_id": self.item_id, "order_id": self.order_id, "sku": self.sku, "name": self.name,
            "product_type": "simple", "qty_ordered": self.qty_ordered, "qty_invoiced": self.qty_invoiced,
            "qty_shipped": self.qty_shipped, "qty_refunded": self.qty_refunded, "qty_canceled": self.qty_canceled,
            "price": self.price, "base_price": self.price, "row_total": row_total, "tax_amount": self.tax_amount,
            "discount_amount": self.discount_amount,
            "price_incl_tax": cents(self.price + share(self.tax_amount, Decimal(1), self.qty_ordered)),
            "row_total_incl_tax": row_total + self.tax_amount,
        }


@dataclass
class Comment:
    entity_id: int
    parent_id: int
    comment: str
    created_at: str
    is_customer_notified: int = 0
    is_visible_on_front: int = 0
    status: str | None = None

    def as_json(self, entity_name: str) -> dict[str, Any]:
        out = {"entity_id": self.entity_id, "parent_id": self.parent_id, "comment": self.comment,
               "created_at": self.created_at, "is_customer_notified": self.is_customer_notified,
               "is_visible_on_front": self.is_visible_on_front}
        if entity_name == "order":
            out.update(entity_name="order", status=self.status)
        return out


@dataclass
class Order:
    entity_id: int
    increment_id: str
    currency: str
    items: list[OrderItem]
    shipping_amount: Decimal
    created_at: str
    ext_order_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # extra sales_order columns a connector module adds
    state: str = "new"
    status: str = "pending"
    total_paid: Decimal = ZERO
    total_invoiced: Decimal = ZERO
    total_refunded: Decimal = ZERO
    shipping_refunded: Decimal = ZERO
    comments: list[Comment] = field(default_factory=list)

    @property
    def subtotal(self) -> Decimal:
        return sum((cents(i.price * i.qty_ordered) for i in self.items), ZERO)

    @property
    def tax_amount(self) -> Decimal:
        return sum((i.tax_amount for i in self.items), ZERO)

    @property
    def discount_amount(self) -> Decimal:
        return sum((i.discount_amount for i in self.items), ZERO)

    @property
    def grand_total(self) -> Decimal:
        return self.subtotal + self.tax_amount - self.discount_amount + self.shipping_amount

    def item(self, item_id: int) -> OrderItem | None:
        return next((i for i in self.items if i.item_id == item_id), None)

    def row(self) -> dict[str, Any]:
        """The flat sales_order columns searchCriteria filters on."""
        return {"entity_id": self.entity_id, "increment_id": self.increment_id, "ext_order_id": self.ext_order_id,
                "state": self.state, "status": self.status, "order_currency_code": self.currency,
                "grand_total": self.grand_total, "created_at": self.created_at, **self.extra}

    def as_json(self) -> dict[str, Any]:
        return {
            **self.row(), "base_currency_code": self.currency, "store_currency_code": self.currency,
            "subtotal": self.subtotal, "tax_amount": self.tax_amount, "discount_amount": -self.discount_amount,
            "shipping_amount": self.shipping_amount, "shipping_refunded": self.shipping_refunded,
            "total_paid": self.total_paid, "total_invoiced": self.total_invoiced,
            "total_refunded": self.total_refunded, "total_qty_ordered": sum(i.qty_ordered for i in self.items),
            "items": [i.as_json() for i in self.items],
            "status_histories": [c.as_json("order") for c in reversed(self.comments)],  # newest first, as Magento
            "extension_attributes": {},
        }


@dataclass
class Invoice:
    entity_id: int
    order_id: int
    increment_id: str
    grand_total: Decimal
    items: list[tuple[int, str, Decimal]]  # (order item id, sku, qty)
    created_at: str

    def as_json(self) -> dict[str, Any]:
        return {"entity_id": self.entity_id, "order_id": self.order_id, "increment_id": self.increment_id,
                "state": 2, "grand_total": self.grand_total, "created_at": self.created_at,
                "items": [{"order_item_id": i, "sku": s, "qty": q} for i, s, q in self.items]}


@dataclass
class CreditMemoItem:
    entity_id: int
    order_item_id: int
    sku: str
    qty: Decimal
    price: Decimal
    tax_amount: Decimal
    discount_amount: Decimal
    back_to_stock: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"entity_id": self.entity_id, "order_item_id": self.order_item_id, "sku": self.sku, "qty": self.qty,
                "price": self.price, "row_total": cents(self.price * self.qty), "tax_amount": self.tax_amount,
                "discount_amount": self.discount_amount,
                "extension_attributes": {"back_to_stock": self.back_to_stock}}


@dataclass
class CreditMemo:
    entity_id: int
    order_id: int
    increment_id: str
    currency: str
    items: list[CreditMemoItem]
    subtotal: Decimal
    tax_amount: Decimal
    discount_amount: Decimal
    shipping_amount: Decimal
    adjustment_positive: Decimal
    adjustment_negative: Decimal
    grand_total: Decimal
    created_at: str
    comments: list[Comment] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {"entity_id": self.entity_id, "order_id": self.order_id, "increment_id": self.increment_id,
                "state": 2, "grand_total": self.grand_total, "created_at": self.created_at,
                "order_currency_code": self.currency}

    def as_json(self, *, with_comments: bool = False) -> dict[str, Any]:
        out = {**self.row(), "base_currency_code": self.currency, "subtotal": self.subtotal,
               "tax_amount": self.tax_amount, "discount_amount": -self.discount_amount,
               "shipping_amount": self.shipping_amount, "adjustment_positive": self.adjustment_positive,
               "adjustment_negative": self.adjustment_negative,
               "adjustment": self.adjustment_positive - self.adjustment_negative,
               "items": [i.as_json() for i in self.items]}
        if with_comments:
            out["comments"] = [c.as_json("creditmemo") for c in self.comments]
        return out


@dataclass
class StockMovement:
    """One change to stock, for the control API: a source return or a released reservation."""

    id: int
    sku: str
    source_code: str
    kind: str  # "source_return" (shipped units back on the source shelf) | "reservation_release" (never shipped)
    qty: Decimal
    creditmemo_id: int
    order_id: int

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "sku": self.sku, "source_code": self.source_code, "kind": self.kind,
                "qty": self.qty, "creditmemo_id": self.creditmemo_id, "order_id": self.order_id}


@dataclass
class Site:
    """One Magento installation (one base URL)."""

    name: str
    currency: str = "USD"
    admins: dict[str, str] = field(default_factory=dict)  # username → password
    integration_tokens: set[str] = field(default_factory=set)
    # B.1: an integration access token used as a bare Bearer token works only when the store allows it.
    bearer_integration: bool = True
    token_lifetime: int = ADMIN_TOKEN_LIFETIME
    auto_return: bool = False  # "automatically return credit memo items to stock" (B.2)
    sources: list[str] = field(default_factory=lambda: ["default"])
    clock_offset: float = 0.0
    admin_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token → (username, expires at)
    orders: dict[int, Order] = field(default_factory=dict)
    by_increment: dict[str, int] = field(default_factory=dict)
    by_ext: dict[str, list[int]] = field(default_factory=dict)
    extra_columns: set[str] = field(default_factory=set)  # sales_order columns connector modules added
    invoices: dict[int, Invoice] = field(default_factory=dict)
    creditmemos: dict[int, CreditMemo] = field(default_factory=dict)
    memos_by_order: dict[int, list[int]] = field(default_factory=dict)
    stock: dict[tuple[str, str], Decimal] = field(default_factory=dict)  # (sku, source) → quantity
    reservations: dict[str, Decimal] = field(default_factory=dict)  # sku → units ordered, not shipped yet
    movements: list[StockMovement] = field(default_factory=list)
    seq: dict[str, int] = field(default_factory=dict)
    tokens_issued: int = 0

    def next_id(self, table: str) -> int:
        self.seq[table] = self.seq.get(table, 0) + 1
        return self.seq[table]

    def now(self) -> float:
        return time.time() + self.clock_offset

    def timestamp(self) -> str:
        return datetime.fromtimestamp(self.now(), UTC).strftime("%Y-%m-%d %H:%M:%S")

    def issue_admin_token(self, username: str) -> str:
        token = secrets.token_hex(16)
        self.admin_tokens[token] = (username, self.now() + self.token_lifetime)
        self.tokens_issued += 1
        return token

    def token_valid(self, token: str) -> bool:
        if token in self.integration_tokens:
            return self.bearer_integration
        entry = self.admin_tokens.get(token)
        return entry is not None and entry[1] > self.now()

    def order_view(self, order: Order) -> dict[str, Any]:
        return order.as_json()
