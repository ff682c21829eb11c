"""The emulator's state: stores (one per access token), their catalog, inventory, orders, returns and refunds.

Every read and write happens under ``World.lock``: the HTTP app runs GraphQL operations on the event loop while
tests and the control API read the same objects from other threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from .model import (
    AdjustmentGroup,
    Fulfillment,
    FulfillmentLineItem,
    FulfillmentOrder,
    FulfillmentOrderLineItem,
    InventoryChange,
    InventoryItem,
    InventoryLevel,
    LineItem,
    Location,
    Metafield,
    Order,
    Product,
    Refund,
    Return,
    Transaction,
    Variant,
)
from .money import ZERO, cents

# The first entries of the live store's return reason library (store-apis.md A.3.1), id → handle.
RETURN_REASON_DEFINITIONS: dict[int, tuple[str, str]] = {
    1: ("unknown", "Unknown"), 2: ("changed-my-mind", "Changed my mind"),
    3: ("item-not-as-described", "Item not as described"), 4: ("received-the-wrong-item", "Received the wrong item"),
    5: ("other-reason", "Other reason"), 6: ("damaged-or-defective", "Damaged or defective"),
    7: ("too-small", "Too small"), 8: ("too-big", "Too big"), 9: ("style", "Style"), 10: ("color", "Color"),
}


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Store:
    domain: str
    name: str
    token: str
    currency: str
    shop_id: int
    world: World
    locations: dict[int, Location] = field(default_factory=dict)
    products: dict[int, Product] = field(default_factory=dict)
    variants: dict[int, Variant] = field(default_factory=dict)
    items: dict[int, InventoryItem] = field(default_factory=dict)
    levels: dict[tuple[int, int], InventoryLevel] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    returns: dict[int, Return] = field(default_factory=dict)
    refunds: dict[int, Refund] = field(default_factory=dict)
    adjustments: list[AdjustmentGroup] = field(default_factory=list)
    # (namespace, key) of order metafield definitions with the adminFilterable capability (A.2).
    filterable_metafields: set[tuple[str, str]] = field(default_factory=set)
    next_order_number: int = 1001
    # @idempotent keys: key → (fingerprint of the mutation and its arguments, the payload it produced).
    idempotency: dict[str, tuple[str, dict]] = field(default_factory=dict)
    # None: every order is visible (as with read_all_orders); a number: only orders newer than that many days.
    order_window_days: int | None = None

    # --- catalog and inventory ---------------------------------------------------------------------------------

    def add_location(self, name: str) -> Location:
        location = Location(self.world.next_id(), name)
        self.locations[location.id] = location
        return location

    @property
    def primary_location(self) -> Location:
        return next(iter(self.locations.values()))

    def add_product(self, title: str, variants: Iterable[tuple[str, str, Decimal, bool]]) -> Product:
        """``variants``: (title, sku, price, tracked)."""
        product = Product(self.world.next_id(), title)
        self.products[product.id] = product
        for variant_title, sku, price, tracked in variants:
            item = InventoryItem(self.world.next_id(), sku, tracked)
            variant = Variant(self.world.next_id(), product.id, variant_title, sku, price, item.id)
            item.variant_id = variant.id
            self.items[item.id] = item
            self.variants[variant.id] = variant
            product.variant_ids.append(variant.id)
        return product

    def stock(self, item_id: int, location_id: int, available: int, at: datetime | None = None) -> InventoryLevel:
        """Activate an item at a location (or overwrite its counters) with ``available`` units on hand."""
        quantities = dict.fromkeys(("available", "on_hand", "committed", "incoming", "reserved", "damaged",
                                    "quality_control", "safety_stock"), 0)
        quantities["available"] = available
        quantities["on_hand"] = available
        level = InventoryLevel(item_id, location_id, quantities, at or self.world.now())
        self.levels[(item_id, location_id)] = level
        return level

    def variant_by_sku(self, sku: str) -> Variant | None:
        return next((v for v in self.variants.values() if v.sku == sku), None)

    def record_adjustment(
        self, reason: str, reference: str | None, changes: list[InventoryChange], source: str
    ) -> AdjustmentGroup:
        """Apply ``changes`` to the levels and keep them as one group (the inventory history read back by tests)."""
        now = self.world.now()
        for change in changes:
            level = self.levels[(change.item_id, change.location_id)]
            level.quantities[change.name] = level.quantities.get(change.name, 0) + change.delta
            level.updated_at = now
        group = AdjustmentGroup(self.world.next_id(), now, reason, reference, changes, source)
        self.adjustments.append(group)
        return group

    def restock(self, item_id: int, location_id: int, quantity: int, reference: str, source: str) -> None:
        """Put returned units back: ``available`` and its paired ``on_hand`` row."""
        self.record_adjustment("restock", reference, [
            InventoryChange("available", quantity, item_id, location_id),
            InventoryChange("on_hand", quantity, item_id, location_id),
        ], source)

    # --- orders ------------------------------------------------------------------------------------------------

    def add_order(
        self,
        *,
        lines: list[tuple[Variant | None, int, Decimal, str]],
        created_at: datetime,
        name: str | None = None,
        tags: list[str] | None = None,
        note: str | None = None,
        custom_attributes: list[tuple[str, str | None]] | None = None,
        source_name: str | None = "web",
        source_identifier: str | None = None,
        metafields: list[Metafield] | None = None,
        email: str | None = None,
        shipping: Decimal = ZERO,
        tax_rate: Decimal = ZERO,
        gateway: str = "manual",
        fulfilled: bool = True,
        location_id: int | None = None,
    ) -> Order:
        """An order paid in full by one SALE transaction, optionally fulfilled in full from one location.

        ``lines``: (variant or None for a custom item, quantity, unit price, title). Fulfilled units leave stock
        (``available`` and ``on_hand`` drop) so that restocks can be checked against a known starting point.
        """
        number = self.next_order_number
        self.next_order_number += 1
        world = self.world
        line_items = [
            LineItem(world.next_id(), title, quantity, price, tax_rate,
                     sku=variant.sku if variant else None, variant_id=variant.id if variant else None)
            for variant, quantity, price, title in lines
        ]
        order = Order(
            id=world.next_id(), number=number, name=name or f"#{number}", created_at=created_at,
            currency=self.currency, line_items=line_items, shipping_price=shipping, email=email, note=note,
            tags=list(tags or []), custom_attributes=list(custom_attributes or []), source_name=source_name,
            source_identifier=source_identifier, metafields=list(metafields or []), updated_at=created_at,
        )
        location = self.locations[location_id] if location_id is not None else self.primary_location
        total = self.order_total(order)
        order.transactions.append(
            Transaction(world.next_id(), "SALE", gateway, total, created_at, created_at)
        )
        fo_lines = [FulfillmentOrderLineItem(world.next_id(), line.id, line.quantity,
                                             0 if fulfilled else line.quantity) for line in line_items]
        order.fulfillment_orders.append(
            FulfillmentOrder(world.next_id(), location.id, "CLOSED" if fulfilled else "OPEN", fo_lines)
        )
        if fulfilled:
            fulfillment = Fulfillment(
                world.next_id(), location.id, created_at,
                [FulfillmentLineItem(world.next_id(), line.id, line.quantity) for line in line_items],
            )
            order.fulfillments.append(fulfillment)
            for line in line_items:
                variant = self.variants.get(line.variant_id) if line.variant_id else None
                if variant is None:
                    continue
                level = self.levels.get((variant.inventory_item_id, location.id))
                if level is not None and self.items[variant.inventory_item_id].tracked:
                    level.quantities["available"] -= line.quantity
                    level.quantities["on_hand"] -= line.quantity
        self.orders[order.id] = order
        return order

    def visible(self, order: Order) -> bool:
        """The 60-day window (A.1) when the store has one configured."""
        if self.order_window_days is None:
            return True
        return (self.world.now() - order.created_at).days < self.order_window_days

    # --- derived amounts and quantities --------------------------------------------------------------------------

    def line_tax(self, line: LineItem, quantity: int | None = None) -> Decimal:
        return cents(line.unit_tax() * (line.quantity if quantity is None else quantity))

    def order_subtotal(self, order: Order) -> Decimal:
        return sum((line.unit_price * line.quantity for line in order.line_items), ZERO)

    def order_tax(self, order: Order) -> Decimal:
        return sum((self.line_tax(line) for line in order.line_items), ZERO)

    def order_total(self, order: Order) -> Decimal:
        return cents(self.order_subtotal(order) + self.order_tax(order) + order.shipping_price)

    def received(self, order: Order) -> Decimal:
        return sum((t.amount for t in order.transactions
                    if t.kind in ("SALE", "CAPTURE") and t.status == "SUCCESS"), ZERO)

    def refunded(self, order: Order) -> Decimal:
        return sum((t.amount for t in order.transactions if t.kind == "REFUND" and t.status == "SUCCESS"), ZERO)

    def net_payment(self, order: Order) -> Decimal:
        return self.received(order) - self.refunded(order)

    def refunded_quantity(self, order: Order, line_item_id: int) -> int:
        return sum(rli.quantity for refund_id in order.refund_ids for rli in self.refunds[refund_id].line_items
                   if rli.line_item_id == line_item_id)

    def refundable_quantity(self, order: Order, line: LineItem) -> int:
        return line.quantity - self.refunded_quantity(order, line.id)

    def shipping_refunded(self, order: Order) -> Decimal:
        return sum((self.refunds[r].shipping_refunded for r in order.refund_ids), ZERO)

    def returned_quantity(self, order: Order, fli_id: int) -> int:
        """Units of a fulfillment line already on a return that still counts (not declined or cancelled)."""
        return sum(line.quantity for return_id in order.return_ids for line in self.returns[return_id].line_items
                   if line.fulfillment_line_item_id == fli_id
                   and self.returns[return_id].status in ("REQUESTED", "OPEN", "CLOSED"))

    def returnable_quantity(self, order: Order, fli: FulfillmentLineItem) -> int:
        return max(0, fli.quantity - self.returned_quantity(order, fli.id))

    def financial_status(self, order: Order) -> str:
        refunded = self.refunded(order)
        if refunded <= ZERO:
            return "PAID"
        return "REFUNDED" if refunded >= self.received(order) else "PARTIALLY_REFUNDED"

    def fulfillment_status(self, order: Order) -> str:
        fulfilled = sum(line.quantity for f in order.fulfillments for line in f.line_items)
        ordered = sum(line.quantity for line in order.line_items)
        if fulfilled == 0:
            return "UNFULFILLED"
        return "FULFILLED" if fulfilled >= ordered else "PARTIALLY_FULFILLED"

    def return_status(self, order: Order) -> str:
        """The live aggregation rule of A.3.1."""
        statuses = {self.returns[r].status for r in order.return_ids}
        if "REQUESTED" in statuses:
            return "RETURN_REQUESTED"
        if "OPEN" in statuses:
            return "IN_PROGRESS"
        if "CLOSED" in statuses:
            return "RETURNED"
        return "NO_RETURN"

    def order_of_fulfillment_line(self, fli_id: int) -> tuple[Order, Fulfillment, FulfillmentLineItem] | None:
        for order in self.orders.values():
            found = order.fulfillment_line_item(fli_id)
            if found is not None:
                return order, found[0], found[1]
        return None

    def find_transaction(self, transaction_id: int) -> tuple[Order, Transaction] | None:
        for order in self.orders.values():
            for transaction in order.transactions:
                if transaction.id == transaction_id:
                    return order, transaction
        return None


class World:
    """All stores of one emulator, keyed by access token and by domain, plus the id sequence and the clock."""

    def __init__(self, seed: int = 42) -> None:
        self.seed = seed
        self.lock = threading.RLock()
        self.stores_by_token: dict[str, Store] = {}
        self.stores_by_domain: dict[str, Store] = {}
        # Ids are one sequence across every record type, like Shopify's, starting at a seed-derived base.
        self._next_id = 1_000_000 + (seed % 1000) * 10_000

    def next_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def now(self) -> datetime:
        return utc_now()

    def add_store(self, *, domain: str, name: str, token: str, currency: str) -> Store:
        if domain in self.stores_by_domain:
            raise ValueError(f"store {domain} already exists")
        if token in self.stores_by_token:
            raise ValueError("that access token already belongs to another store")
        store = Store(domain=domain, name=name, token=token, currency=currency, shop_id=self.next_id(), world=self)
        self.stores_by_token[token] = store
        self.stores_by_domain[domain] = store
        return store

    def store_by_domain(self, domain: str) -> Store:
        if domain not in self.stores_by_domain:
            short = f"{domain}.myshopify.com"
            if short in self.stores_by_domain:
                return self.stores_by_domain[short]
            raise KeyError(f"store {domain}")
        return self.stores_by_domain[domain]
