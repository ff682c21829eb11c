"""``refundCreate``: a refund record with its line items, restocks and REFUND transactions (store-apis.md A.4).

The money is a record only: REFUND transactions succeed at once and take their parent's gateway (live). Caps: a
line's refundable quantity, and the order's net payment (live: even with ``allowOverRefunding: true``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .gids import gid
from .model import Order, Refund, RefundLineItem, Transaction
from .money import ZERO, cents, display
from .usererrors import UserError, path, require_gid
from .world import Store

QUANTITY_CAP = "Quantity cannot refund more items than were purchased"
PARENT_REQUIRED = "Transactions require a parent_id associated with the order"


def _failed(errors: list[UserError]) -> dict[str, Any]:
    return {"refund": None, "order": None, "userErrors": errors}


def _restock_location(store: Store, order: Order, line_id: int, restock_type: str) -> int:
    """Where an unspecified restock goes: the fulfillment's location for RETURN, else the fulfillment order's."""
    if restock_type == "RETURN":
        for fulfillment in order.fulfillments:
            if any(f.line_item_id == line_id for f in fulfillment.line_items):
                return fulfillment.location_id
    for fulfillment_order in order.fulfillment_orders:
        if any(f.line_item_id == line_id for f in fulfillment_order.line_items):
            return fulfillment_order.location_id
    return store.primary_location.id


def refund_create(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    data = args["input"]
    order = store.orders.get(require_gid(data["orderId"], "Order"))
    if order is None or not store.visible(order):
        return _failed([UserError(["orderId"], "Order does not exist")])
    errors: list[UserError] = []
    if data.get("currency") and data["currency"] != order.currency:
        errors.append(UserError(["currency"], f"Currency must be {order.currency}, the order's currency"))

    planned_lines: list[tuple[Any, int, str, int | None, bool]] = []
    wanted: dict[int, int] = {}
    for index, item in enumerate(data.get("refundLineItems") or []):
        at = ("refundLineItems", index)
        line = order.line_item(require_gid(item["lineItemId"], "LineItem"))
        if line is None:
            errors.append(UserError(path(*at, "lineItemId"), "Line item does not exist"))
            continue
        quantity = item["quantity"]
        if quantity < 0:
            errors.append(UserError(path(*at, "quantity"), "Quantity must be greater than or equal to 0"))
            continue
        wanted[line.id] = wanted.get(line.id, 0) + quantity
        if wanted[line.id] > store.refundable_quantity(order, line):
            errors.append(UserError(path(*at, "quantity"), QUANTITY_CAP))
            continue
        restock_type = item.get("restockType") or "NO_RESTOCK"
        if restock_type == "LEGACY_RESTOCK":
            errors.append(UserError(path(*at, "restockType"), "Restock type legacy_restock is not supported"))
            continue
        location_id = None
        restocked = False
        if restock_type in ("RETURN", "CANCEL"):
            if item.get("locationId") is not None:
                location_id = require_gid(item["locationId"], "Location")
                if location_id not in store.locations:
                    errors.append(UserError(path(*at, "locationId"), "Location does not exist"))
                    continue
            else:
                location_id = _restock_location(store, order, line.id, restock_type)
            variant = store.variants.get(line.variant_id) if line.variant_id else None
            if variant is not None and store.items[variant.inventory_item_id].tracked:
                if (variant.inventory_item_id, location_id) not in store.levels:
                    errors.append(UserError(path(*at, "locationId"),
                                            "The line item's inventory is not stocked at the location"))
                    continue
                restocked = True
        planned_lines.append((line, quantity, restock_type, location_id, restocked))

    shipping = ZERO
    if data.get("shipping"):
        remaining = order.shipping_price - store.shipping_refunded(order)
        if data["shipping"].get("fullRefund"):
            shipping = remaining
        elif data["shipping"].get("amount") is not None:
            shipping = cents(data["shipping"]["amount"])
            if shipping > remaining:
                errors.append(UserError(["shipping", "amount"],
                                        f"Shipping refund amount {display(shipping, order.currency)} is greater "
                                        f"than the refundable shipping {display(remaining, order.currency)}"))

    planned_transactions: list[tuple[Transaction, Decimal]] = []
    for index, item in enumerate(data.get("transactions") or []):
        if item["kind"] != "REFUND":
            errors.append(UserError(None, f"Kind {item['kind'].lower()} is not a valid transaction"))
            continue
        parent = None
        if require_gid(item["orderId"], "Order") == order.id:
            if item.get("parentId") is not None:
                parent_id = require_gid(item["parentId"], "OrderTransaction")
                parent = next((t for t in order.transactions if t.id == parent_id
                               and t.kind in ("SALE", "CAPTURE") and t.status == "SUCCESS"), None)
            else:
                parent = next((t for t in order.transactions
                               if t.kind in ("SALE", "CAPTURE") and t.status == "SUCCESS"), None)
        if parent is None:
            errors.append(UserError(["transactions"], PARENT_REQUIRED))
            continue
        amount = cents(item["amount"])
        if amount <= ZERO:
            errors.append(UserError(path("transactions", index, "amount"), "Amount must be greater than 0"))
            continue
        planned_transactions.append((parent, amount))

    total = sum((amount for _, amount in planned_transactions), ZERO)
    net = store.net_payment(order)
    if total > net:
        # Live: reported even with allowOverRefunding: true, with a null field.
        errors.append(UserError(None, f"Refund amount {display(total, order.currency)} is greater than net "
                                f"payment received {display(net, order.currency)}"))
    if errors:
        return _failed(errors)

    world = store.world
    now = world.now()
    refund = Refund(world.next_id(), order.id, data.get("note"), now, data.get("processedAt") or now, [], [], ZERO,
                    shipping_refunded=shipping)
    for line, quantity, restock_type, location_id, restocked in planned_lines:
        refund.line_items.append(RefundLineItem(
            world.next_id(), line.id, quantity, restock_type, restocked, location_id, line.unit_price,
            cents(line.unit_price * quantity), store.line_tax(line, quantity)))
        if restocked and quantity and location_id is not None and line.variant_id is not None:
            store.restock(store.variants[line.variant_id].inventory_item_id, location_id, quantity,
                          gid("Refund", refund.id), "refundCreate")
    for parent, amount in planned_transactions:
        transaction = Transaction(world.next_id(), "REFUND", parent.gateway, amount, now, refund.processed_at,
                                  parent_id=parent.id, refund_id=refund.id)
        order.transactions.append(transaction)
        refund.transaction_ids.append(transaction.id)
        refund.total_refunded += amount
    store.refunds[refund.id] = refund
    order.refund_ids.append(refund.id)
    order.updated_at = now
    return {"refund": refund, "order": order, "userErrors": []}
