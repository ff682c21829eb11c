"""``StoreAdapter`` for Magento 2 / Adobe Commerce (REST, store-apis.md part B).

- Orders are found with ``searchCriteria`` (``eq``) on the increment id (the ``name`` and ``increment_id``
  strategies), ``ext_order_id``, or a configured ``sales_order`` column (``order_field``, for connector modules
  that add one); the other strategies are Shopify's and are refused here.
- The return: Magento Open Source has no RMA API (B.4: ``Magento_Rma`` is Adobe Commerce only, and its reason /
  condition / resolution values are store-specific EAV options), so the store-side record of a return is an order
  comment (``POST /V1/orders/{id}/comments``, not visible to the customer, no e-mail) carrying our key and the
  returned units. A return comment is found again in the order's status history.
- A refund is an offline credit memo (``POST /V1/order/{id}/refund``): no payment gateway is called. It lists the
  refunded units (a money-only refund lists every item with qty 0, because Magento refunds everything when the
  list is empty), ``shipping_amount`` is TikTok's refunded shipping fee as sent, and the rest of TikTok's total
  that Magento's own item lines do not account for (TikTok's fees, price differences) is the adjustment refund
  (or fee when negative), so the credit memo's grand total is TikTok's total to the cent. ``notify`` is false and
  the comment carries our key; the total Magento recorded is read back and stored.
- Restock happens only through the credit memo (``return_to_stock_items``), the one way Magento's API returns a
  sold unit to stock: the mirror plans no separate restock effect on Magento (``restock_through_refund``), and MSI
  puts shipped units back on the source their shipment came from (never-shipped units release their reservation).
- Ending a return (TikTok rejected it or the buyer cancelled it): with no RMA there is no return state to change, so
  the end is one more order comment, again not visible to the customer, saying so and carrying the return_cancel
  key. Comments take no idempotency key, so the order's comments are searched for that key before writing: a
  comment written before a crash or a lost answer is adopted, never written twice.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from returnbridge.stores.adapter import (
    EffectResult,
    Money,
    PermanentStoreError,
    RefundRequest,
    RestockRequest,
    ReturnCancelRequest,
    ReturnRequest,
    StoreOrder,
    StoreOrderLine,
    TransientStoreError,
    Units,
)
from returnbridge.stores.magento.client import MagentoClient, MagentoNotFound, search_params
from returnbridge.stores.recent import Recent
from returnbridge.stores.settings import LookupStrategy

CENT = Decimal("0.01")
# Lookup kind → sales_order column; "name" is the order number merchants see, which is the increment id.
_FIELDS = {"name": "increment_id", "increment_id": "increment_id", "ext_order_id": "ext_order_id"}
LOOKUP_KINDS = frozenset({*_FIELDS, "order_field"})


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _share(amount: Decimal, qty: Decimal, of: Decimal) -> Decimal:
    return _cents(amount * qty / of) if of else Decimal("0.00")


class MagentoAdapter:
    platform = "magento"

    def __init__(self, client: MagentoClient, admin_url: str = "") -> None:
        self.client = client
        self.admin_url = admin_url.rstrip("/")
        # The orders last read, by entity id (prices for the credit memo).
        self._raw: Recent[str, dict[str, Any]] = Recent()

    # --- orders ------------------------------------------------------------------------------------------------

    def find_order(self, tiktok_order_id: str, strategy: LookupStrategy) -> StoreOrder | None:
        column = strategy.key if strategy.kind == "order_field" else _FIELDS.get(strategy.kind)
        if not column:
            raise PermanentStoreError(f"order lookup {strategy.label()} is not available on Magento; use name, "
                                      "increment_id, ext_order_id or order_field:key=<sales_order column>")
        value = strategy.value(tiktok_order_id)
        # Two are enough to tell "exactly one" from "ambiguous".
        data = self.client.get("/V1/orders", search_params([[(column, value, "eq")]], page_size=2))
        items = [o for o in (data or {}).get("items") or [] if str(o.get(column)) == value]
        if len(items) > 1:
            names = ", ".join(str(o.get("increment_id")) for o in items)
            raise PermanentStoreError(f"{len(items)} Magento orders match TikTok order {tiktok_order_id} by "
                                      f"{strategy.label()}: {names}")
        return self._order(items[0]) if items else None

    def get_order(self, store_order_id: str) -> StoreOrder | None:
        try:
            raw = self.client.get(f"/V1/orders/{int(store_order_id)}")
        except (MagentoNotFound, ValueError):
            return None
        return self._order(raw)

    def _order(self, raw: dict[str, Any]) -> StoreOrder:
        order_id = str(raw["entity_id"])
        self._raw[order_id] = raw
        lines = []
        for item in raw.get("items") or []:
            if item.get("parent_item_id"):
                continue  # the child of a configurable/bundle line: the parent carries qty and price
            shipped = int(_dec(item.get("qty_shipped")))
            refundable = int(_dec(item.get("qty_invoiced")) - _dec(item.get("qty_refunded")))
            lines.append(StoreOrderLine(
                line_item_id=str(item["item_id"]), sku=str(item.get("sku") or ""),
                quantity=int(_dec(item.get("qty_ordered"))), refundable_quantity=max(refundable, 0),
                fulfillments=((str(item["item_id"]), shipped, ""),) if shipped else (),
            ))
        return StoreOrder(id=order_id, name=str(raw.get("increment_id") or order_id),
                          currency=str(raw.get("order_currency_code") or ""), url=self._url(order_id),
                          lines=tuple(lines))

    def _url(self, order_id: str) -> str:
        return f"{self.admin_url}/sales/order/view/order_id/{order_id}/" if self.admin_url else ""

    def _raw_order(self, order: StoreOrder) -> dict[str, Any]:
        raw = self._raw.get(order.id)
        if raw is None:
            raw = self.client.get(f"/V1/orders/{int(order.id)}")
            self._raw[order.id] = raw
        return raw

    # --- effects -----------------------------------------------------------------------------------------------

    def create_return(self, request: ReturnRequest) -> EffectResult:
        order = request.order
        for units in request.units:
            shipped = sum(q for line in order.lines_for_sku(units.sku) for _, q, _ in line.fulfillments)
            if shipped < units.quantity:
                raise PermanentStoreError(f"Magento order {order.name} has {shipped} shipped unit(s) of SKU "
                                          f"{units.sku!r}, the TikTok return has {units.quantity}")
        listed = ", ".join(f"{u.quantity} × {u.sku}" for u in request.units)
        text = f"{request.note} · returned: {listed}" if listed else request.note
        self.client.post(f"/V1/orders/{int(order.id)}/comments", {"statusHistory": {
            "comment": text, "is_customer_notified": 0, "is_visible_on_front": 0, "parent_id": int(order.id)}})
        self._raw.pop(order.id, None)
        found = self.find_effects(order, "return", request.key)
        if not found:  # Magento said yes but the comment is not there: let the retry search again
            raise TransientStoreError(f"Magento accepted the return comment on order {order.name} but does not "
                                      "show it")
        return found[0]

    def record_refund(self, request: RefundRequest) -> EffectResult:
        order, amounts = request.order, request.amounts
        raw_items = {str(i["item_id"]): i for i in self._raw_order(order).get("items") or []}
        refunded: list[tuple[dict[str, Any], int]] = []
        for units in request.units:
            refunded += [(raw_items[line.line_item_id], qty) for line, qty in _allocate(order, units)]
        if request.units:
            items = [{"order_item_id": int(item["item_id"]), "qty": qty} for item, qty in refunded]
        else:
            # Money only: every item with qty 0, since an empty list makes Magento refund every unit.
            items = [{"order_item_id": int(i["item_id"]), "qty": 0} for i in raw_items.values()
                     if not i.get("parent_item_id")]
        lines_total = sum((_line_amount(item, Decimal(qty)) for item, qty in refunded), Decimal("0.00"))
        shipping = amounts.shipping or Decimal("0")
        adjustment = amounts.total - lines_total - shipping
        arguments: dict[str, Any] = {
            "shipping_amount": shipping,
            "adjustment_positive": adjustment if adjustment > 0 else Decimal("0"),
            "adjustment_negative": -adjustment if adjustment < 0 else Decimal("0"),
        }
        if request.restock:
            arguments["extension_attributes"] = {
                "return_to_stock_items": [int(item["item_id"]) for item, qty in refunded if qty > 0]}
        body = {"items": items, "notify": False, "appendComment": False,
                "comment": {"comment": request.note, "is_visible_on_front": 0}, "arguments": arguments}
        memo_id = self.client.post(f"/V1/order/{int(order.id)}/refund", body)
        self._raw.pop(order.id, None)  # refunded quantities changed
        if not isinstance(memo_id, int | str) or not str(memo_id).isdigit():
            raise TransientStoreError(f"Magento answered the credit memo for order {order.name} without its id")
        memo = self.client.get(f"/V1/creditmemo/{int(memo_id)}")
        return self._memo_result(order, memo)

    def restock(self, request: RestockRequest) -> EffectResult:
        raise PermanentStoreError("Magento returns units to stock only through the credit memo "
                                  "(return_to_stock_items); a separate restock is not possible through its API")

    def cancel_return(self, request: ReturnCancelRequest) -> EffectResult:
        order = request.order
        comments = self._comments(order)
        returned = [c for c in comments if request.return_key in str(c.get("comment") or "")]
        if not returned:
            raise PermanentStoreError(f"no comment on Magento order {order.name} carries {request.return_key}; "
                                      "there is no return to end")
        ended = [c for c in comments if request.key in str(c.get("comment") or "")]
        if ended:  # written before a crash or a lost answer: the outcome already exists
            return self._ended(order, returned[-1], ended[-1], changed=False)
        why = "rejected by TikTok" if request.rejected else "cancelled by TikTok"
        # The return comment is named by its id, not by its key, so that searching for the return key finds the
        # return comment alone.
        text = f"{request.note} · return ended: {why} (return comment {returned[-1].get('entity_id')})"
        self.client.post(f"/V1/orders/{int(order.id)}/comments", {"statusHistory": {
            "comment": text, "is_customer_notified": 0, "is_visible_on_front": 0, "parent_id": int(order.id)}})
        ended = [c for c in self._comments(order) if request.key in str(c.get("comment") or "")]
        if not ended:  # Magento said yes but the comment is not there: let the retry search again
            raise TransientStoreError(f"Magento accepted the return-ended comment on order {order.name} but does "
                                      "not show it")
        return self._ended(order, returned[-1], ended[-1], changed=True)

    def _ended(self, order: StoreOrder, returned: dict[str, Any], ended: dict[str, Any], *,
               changed: bool) -> EffectResult:
        # The record is the return that was ended (as on Shopify); the comment that ends it is in the detail.
        return EffectResult(f"order-comment-{returned.get('entity_id')}", order.url,
                            detail={"ended_by": f"order-comment-{ended.get('entity_id')}",
                                    "comment": ended.get("comment", ""), "changed": changed})

    def _comments(self, order: StoreOrder) -> list[dict[str, Any]]:
        """The order's status history, oldest first (Magento lists it newest first)."""
        raw = self.client.get(f"/V1/orders/{int(order.id)}")
        self._raw[order.id] = raw
        return sorted(raw.get("status_histories") or [], key=lambda c: int(c.get("entity_id") or 0))

    def find_effects(self, order: StoreOrder, kind: str, key: str) -> list[EffectResult]:
        if kind == "return":
            return [EffectResult(f"order-comment-{c.get('entity_id')}", order.url,
                                 detail={"comment": c.get("comment", "")})
                    for c in self._comments(order) if key in str(c.get("comment") or "")]
        if kind == "refund":
            found = []
            memos = self.client.get("/V1/creditmemos", search_params([[("order_id", order.id, "eq")]]))
            for memo in (memos or {}).get("items") or []:
                comments = self.client.get(f"/V1/creditmemo/{int(memo['entity_id'])}/comments")
                if any(key in str(c.get("comment") or "") for c in (comments or {}).get("items") or []):
                    found.append(self._memo_result(order, memo))
            return found
        # restock: part of the credit memo on Magento. return_cancel: ``cancel_return`` searches the order's
        # comments for its key before writing, so repeating it is the search.
        return []

    def _memo_result(self, order: StoreOrder, memo: dict[str, Any]) -> EffectResult:
        currency = str(memo.get("order_currency_code") or order.currency)
        return EffectResult(
            str(memo["entity_id"]), order.url, amount=Money(_dec(memo.get("grand_total")), currency),
            detail={"increment_id": memo.get("increment_id"), "shipping_amount": str(memo.get("shipping_amount")),
                    "adjustment_positive": str(memo.get("adjustment_positive")),
                    "adjustment_negative": str(memo.get("adjustment_negative")),
                    "back_to_stock": [i.get("order_item_id") for i in memo.get("items") or []
                                      if (i.get("extension_attributes") or {}).get("back_to_stock")]},
        )


def _line_amount(item: dict[str, Any], qty: Decimal) -> Decimal:
    """What Magento's credit memo collectors put in for ``qty`` units of an order item: price × qty plus that
    share of the item's tax, minus that share of its discount (to the cent)."""
    ordered = _dec(item.get("qty_ordered"))
    discount = abs(_dec(item.get("discount_amount")))
    return (_cents(_dec(item.get("price")) * qty) + _share(_dec(item.get("tax_amount")), qty, ordered)
            - _share(discount, qty, ordered))


def _allocate(order: StoreOrder, units: Units) -> list[tuple[StoreOrderLine, int]]:
    wanted, taken = units.quantity, []
    for line in order.lines_for_sku(units.sku):
        take = min(wanted, line.refundable_quantity)
        if take > 0:
            taken.append((line, take))
            wanted -= take
    if wanted > 0:
        raise PermanentStoreError(f"Magento order {order.name} has {units.quantity - wanted} refundable unit(s) of "
                                  f"SKU {units.sku!r}, TikTok refunded {units.quantity}")
    return taken
