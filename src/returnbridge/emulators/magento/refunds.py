"""``POST /V1/order/{orderId}/refund`` (``RefundOrderInterface``, store-apis.md B.2): an offline credit memo.

The validators run first and all their messages are joined into one ``DocumentValidationException`` (HTTP 400,
"Creditmemo Document Validation Error(s):\\n…"); nothing is written unless every check passes. Totals follow the
credit memo collectors: items (price × qty, their share of the item's tax and discount) + shipping + adjustment
refund − adjustment fee. Without ``shipping_amount`` the whole unrefunded shipping is refunded, and without items
every refundable unit is (Magento's ``CreditmemoFactory`` with empty quantities); so a money-only credit memo lists
the order's items with qty 0.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import MagentoError, not_found
from .model import ZERO, Comment, CreditMemo, CreditMemoItem, Order, Site, StockMovement, cents, share

BLOCKED_STATES = ("payment_review", "holded", "canceled", "closed")
VALIDATION_PREFIX = "Creditmemo Document Validation Error(s):\n"


def _amount(value: Any, name: str) -> Decimal:
    if value is None or value == "":
        return ZERO
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise MagentoError(400, 'The "%1" value\'s type is invalid. The "%2" type was expected. Verify and try '
                                "again.", [str(value), "float"]) from None
    if not amount.is_finite():
        raise MagentoError(400, 'The "%1" value\'s type is invalid. The "%2" type was expected. Verify and try '
                                "again.", [str(value), "float"])
    return amount


def _money_text(amount: Decimal, currency: str) -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency)
    return f"{symbol}{cents(amount):,}" if symbol else f"{currency} {cents(amount):,}"


def refund_order(site: Site, order_id: int, body: dict[str, Any]) -> int:
    order = site.orders.get(order_id)
    if order is None:
        raise not_found()
    if not isinstance(body, dict):
        raise MagentoError(400, "The request body is not valid JSON.")
    arguments = body.get("arguments") or {}
    extension = (arguments.get("extension_attributes") or {}) if isinstance(arguments, dict) else {}
    quantities: dict[int, Decimal] = {}
    for raw in body.get("items") or []:
        if not isinstance(raw, dict) or "order_item_id" not in raw:
            raise MagentoError(400, '"%1" is required. Enter and try again.', ["order_item_id"])
        try:
            quantities[int(raw["order_item_id"])] = _amount(raw.get("qty"), "qty")
        except (TypeError, ValueError):
            raise MagentoError(400, 'The "%1" value\'s type is invalid. The "%2" type was expected. Verify and '
                                    "try again.", [str(raw["order_item_id"]), "int"]) from None
    shipping_given = isinstance(arguments, dict) and arguments.get("shipping_amount") is not None
    shipping = _amount(arguments.get("shipping_amount"), "shipping_amount") if shipping_given else None
    adjustment_positive = _amount(arguments.get("adjustment_positive"), "adjustment_positive")
    adjustment_negative = _amount(arguments.get("adjustment_negative"), "adjustment_negative")
    return_to_stock = [int(i) for i in (extension.get("return_to_stock_items") or [])]

    messages = _order_checks(order)
    lines: list[tuple[int, str, Decimal]] = []  # (order item id, sku, qty)
    if not messages:
        if not quantities:  # no items given: every refundable unit
            lines = [(i.item_id, i.sku, i.qty_to_refund) for i in order.items if i.qty_to_refund > 0]
        for item_id, qty in quantities.items():
            item = order.item(item_id)
            if item is None:
                messages.append(('The creditmemo contains product SKU "%1" that is not part of the original order.',
                                 [""]))
                continue
            if qty < 0 or qty > item.qty_to_refund:
                messages.append(('The quantity to creditmemo must not be greater than the unrefunded quantity for '
                                 'product SKU "%1".', [item.sku]))
                continue
            lines.append((item_id, item.sku, qty))
    shipping_left = order.shipping_amount - order.shipping_refunded
    if shipping is None:
        shipping = shipping_left
    elif shipping > shipping_left or shipping < 0:
        messages.append(("Maximum shipping amount allowed to refund is: %1", [_money_text(shipping_left,
                                                                                         order.currency)]))
    for item_id in return_to_stock:
        if item_id not in {i for i, _, q in lines if q > 0}:
            messages.append(("The return to stock argument contains product item that is not part of the original "
                             "credit memo.", []))
            break
    memo_items = []
    for item_id, sku, qty in lines:
        item = order.item(item_id)
        assert item is not None
        memo_items.append(CreditMemoItem(0, item_id, sku, qty, item.price, share(item.tax_amount, qty,
                                                                                 item.qty_ordered),
                                         share(item.discount_amount, qty, item.qty_ordered)))
    subtotal = sum((cents(i.price * i.qty) for i in memo_items), ZERO)
    tax = sum((i.tax_amount for i in memo_items), ZERO)
    discount = sum((i.discount_amount for i in memo_items), ZERO)
    grand_total = subtotal + tax - discount + shipping + adjustment_positive - adjustment_negative
    if not messages:
        available = order.total_paid - order.total_refunded
        total_qty = sum((i.qty for i in memo_items), ZERO)
        if grand_total <= 0:
            messages.append(("The credit memo's total must be positive.", []))
        elif total_qty <= 0 and shipping_left <= 0:
            messages.append(("You can't create a creditmemo without products.", []))
        elif grand_total > available:
            messages.append(("The most money available to refund is %1.", [_money_text(available, order.currency)]))
    if messages:
        rendered = [_render(text, params) for text, params in messages]
        raise MagentoError(400, VALIDATION_PREFIX + "\n".join(rendered))

    memo = CreditMemo(site.next_id("creditmemo"), order.entity_id, f"{site.seq.get('creditmemo', 0):09d}",
                      order.currency, [], subtotal, tax, discount, shipping, adjustment_positive,
                      adjustment_negative, grand_total, site.timestamp())
    for item in memo_items:
        item.entity_id = site.next_id("creditmemo_item")
        item.back_to_stock = item.qty > 0 and (site.auto_return or item.order_item_id in return_to_stock)
        memo.items.append(item)
    comment = body.get("comment") if isinstance(body.get("comment"), dict) else None
    if comment and str(comment.get("comment") or "").strip():
        memo.comments.append(Comment(site.next_id("creditmemo_comment"), memo.entity_id, str(comment["comment"]),
                                     site.timestamp(), int(bool(body.get("notify"))),
                                     int(bool(comment.get("is_visible_on_front")))))
    _apply(site, order, memo)
    return memo.entity_id


def _order_checks(order: Order) -> list[tuple[str, list[Any]]]:
    if order.state in BLOCKED_STATES:
        return [("A creditmemo can not be created when an order has a status of %1", [order.state])]
    if order.total_paid <= 0 or order.total_paid - order.total_refunded <= 0:
        return [("We can't create creditmemo for the order.", [])]
    if not any(i.qty_to_refund > 0 for i in order.items) and order.shipping_amount - order.shipping_refunded <= 0:
        return [("The order does not allow a creditmemo to be created.", [])]
    return []


def _render(text: str, params: list[Any]) -> str:
    for n, value in enumerate(params, start=1):
        text = text.replace(f"%{n}", str(value))
    return text


def _apply(site: Site, order: Order, memo: CreditMemo) -> None:
    site.creditmemos[memo.entity_id] = memo
    site.memos_by_order.setdefault(order.entity_id, []).append(memo.entity_id)
    order.total_refunded += memo.grand_total
    order.shipping_refunded += memo.shipping_amount
    for memo_item in memo.items:
        item = order.item(memo_item.order_item_id)
        assert item is not None
        item.qty_refunded += memo_item.qty
        if memo_item.back_to_stock:
            _return_to_stock(site, order, item.sku, item, memo_item.qty, memo.entity_id)
    if all(i.qty_to_refund <= 0 for i in order.items) and order.total_refunded >= order.total_paid:
        order.state = order.status = "closed"


def _return_to_stock(site: Site, order: Order, sku: str, item: Any, qty: Decimal, memo_id: int) -> None:
    # MSI puts shipped units back on the source their shipment was deducted from; units never shipped only held a
    # reservation, which the credit memo releases (salable quantity up, no source quantity changes).
    shipped_back = min(qty, item.qty_shipped)
    if shipped_back > 0:
        key = (sku, item.source_code or site.sources[0])
        site.stock[key] = site.stock.get(key, ZERO) + shipped_back
        site.movements.append(StockMovement(site.next_id("movement"), sku, key[1], "source_return", shipped_back,
                                            memo_id, order.entity_id))
    unshipped = qty - shipped_back
    if unshipped > 0:
        site.reservations[sku] = site.reservations.get(sku, ZERO) - unshipped
        site.movements.append(StockMovement(site.next_id("movement"), sku, "", "reservation_release", unshipped,
                                            memo_id, order.entity_id))
