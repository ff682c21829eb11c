"""``StoreAdapter`` for PrestaShop's webservice (store-apis.md D.1).

The webservice has no returns resource (``OrderReturn`` is not exposed), no idempotency keys, and its credit slip
(``order_slip``) and stock (``stock_availables``) records have no free-text field that could carry our key. What
carries it is a private order message (``messages``, ``private=1``), written around each write:

- Return: a private order message with our key and the returned units (PrestaShop's merchandise returns cannot be
  created through the webservice).
- Refund: an ``order_slip`` (credit slip) for the returned lines and shipping, TikTok's amounts copied (line amounts
  only when one order line carries them, as with the other platforms). Before it, an *intent* message
  "ReturnBridge {key}: credit slip for {total} after slip {last id}"; after it, a *link* message naming the slip.
  A retry adopts the linked slip; with only the intent, the one slip on the order created after "last id" for that
  total (the mirror holds the store's lease, so no other ReturnBridge write runs in between). Slip creation through
  the webservice does not run the back-office refund logic: no order state change, no customer e-mail.
- Return ended (TikTok rejected it or the buyer cancelled it): another private message carrying the
  ``return_cancel`` key and naming the return message it ends (messages cannot be changed through the webservice).
  Before writing, the order's messages are searched for that key and an existing one adopted.
- Restock: ``stock_availables`` PUT of an absolute quantity, so the intent message records "from A to B" per
  stock row. A retry adopts when every row shows B, writes again when every row still shows A, and holds the effect
  for a person when the stock moved in between (a sale during the crash window): never twice. PrestaShop has one
  stock per shop and product, so restock location settings do not apply.
"""

from __future__ import annotations

import re
from decimal import Decimal
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
from returnbridge.stores.prestashop.client import PrestaShopClient
from returnbridge.stores.recent import Recent
from returnbridge.stores.settings import LookupStrategy

_FIELD = re.compile(r"^[a-z_]{1,64}$")
_INTENT_SLIP = re.compile(r"credit slip for (?P<total>[0-9.]+) after slip (?P<after>\d+)")
_LINK_SLIP = re.compile(r"credit slip (?P<id>\d+) recorded")
_INTENT_STOCK = re.compile(r"stock_available (?P<id>\d+) (?P<before>-?\d+) -> (?P<after>-?\d+)")


def text(amount: Decimal) -> str:
    return format(amount, "f")


class PrestaShopAdapter:
    platform = "prestashop"

    def __init__(self, client: PrestaShopClient, shop_url: str) -> None:
        self.client = client
        self.shop_url = shop_url.rstrip("/")
        self._currencies: dict[str, str] = {}
        self._customers: Recent[str, str] = Recent()  # order id → id_customer (an order_slip needs it)

    # --- orders ------------------------------------------------------------------------------------------------

    def find_order(self, tiktok_order_id: str, strategy: LookupStrategy) -> StoreOrder | None:
        value = strategy.value(tiktok_order_id)
        if strategy.kind == "name":
            field = "reference"
        elif strategy.kind == "field" and _FIELD.match(strategy.key):
            field = strategy.key
        else:
            raise PermanentStoreError(f"PrestaShop orders cannot be looked up by {strategy.label()}; use name (the "
                                      "order reference) or field:key=<orders field>")
        if any(c in value for c in "[]|%"):
            raise PermanentStoreError(f"{value!r} cannot be used in a webservice filter")
        found = self.client.list("orders", {field: value})
        exact = [o for o in found if str(o.get(field)) == value]
        if len(exact) > 1:
            refs = ", ".join(str(o.get("reference")) for o in exact)
            raise PermanentStoreError(f"{len(exact)} store orders match TikTok order {tiktok_order_id} by "
                                      f"{strategy.label()}: {refs}")
        return self._order(exact[0]) if exact else None

    def get_order(self, store_order_id: str) -> StoreOrder | None:
        if not store_order_id.isdigit():
            return None
        try:
            raw = self.client.get("orders", store_order_id)
        except PermanentStoreError as error:
            if "HTTP 404" in error.message:
                return None
            raise
        return self._order(raw) if raw else None

    def _order(self, raw: dict[str, Any]) -> StoreOrder:
        order_id = str(raw["id"])
        self._customers[order_id] = str(raw.get("id_customer") or "")
        rows = (raw.get("associations") or {}).get("order_rows") or []
        lines = tuple(StoreOrderLine(
            line_item_id=str(r["id"]), sku=str(r.get("product_reference") or ""),
            quantity=int(r.get("product_quantity") or 0), refundable_quantity=int(r.get("product_quantity") or 0),
            inventory_item_id=f"{r.get('product_id')}:{r.get('product_attribute_id') or 0}",
        ) for r in rows)
        return StoreOrder(id=order_id, name=str(raw.get("reference") or order_id),
                          currency=self._currency(str(raw.get("id_currency") or "")), url=self._url(order_id),
                          lines=lines)

    def _currency(self, currency_id: str) -> str:
        if currency_id and currency_id not in self._currencies:
            self._currencies[currency_id] = str(self.client.get("currencies", currency_id).get("iso_code") or "")
        return self._currencies.get(currency_id, "")

    def _url(self, order_id: str) -> str:
        return f"{self.shop_url}/admin/index.php?controller=AdminOrders&id_order={order_id}&vieworder"

    # --- messages: where our key lives ---------------------------------------------------------------------------

    def _say(self, order: StoreOrder, message: str) -> dict[str, Any]:
        created = self.client.create("messages", "message", {"id_order": order.id, "message": message[:1600],
                                                              "private": 1})
        if not created.get("id"):
            raise TransientStoreError("PrestaShop answered without a message")
        return created

    def _ours(self, order: StoreOrder, key: str) -> list[dict[str, Any]]:
        messages = self.client.list("messages", {"id_order": order.id})
        return sorted((m for m in messages if f"ReturnBridge {key}" in str(m.get("message") or "")),
                      key=lambda m: int(m["id"]))

    # --- effects -----------------------------------------------------------------------------------------------

    def create_return(self, request: ReturnRequest) -> EffectResult:
        units = ", ".join(f"{u.quantity} × {u.sku}" for u in request.units)
        created = self._say(request.order, f"{request.note} · returned units: {units}")
        return EffectResult(f"message:{created['id']}", request.order.url)

    def cancel_return(self, request: ReturnCancelRequest) -> EffectResult:
        # Messages carry no idempotency key of their own: the order's messages are the record, read before writing.
        messages = self.client.list("messages", {"id_order": request.order.id})
        ended = [m for m in messages if f"ReturnBridge {request.key}" in str(m.get("message") or "")]
        if ended:
            return EffectResult(f"message:{ended[-1]['id']}", request.order.url)  # before a crash or a lost answer
        returns = sorted(int(m["id"]) for m in messages
                         if f"ReturnBridge {request.return_key}" in str(m.get("message") or ""))
        if not returns:
            raise PermanentStoreError(f"no return message on store order {request.order.name} carries "
                                      f"{request.return_key}; there is nothing to end")
        why = "rejected" if request.rejected else "cancelled"
        created = self._say(request.order, f"{request.note} · return ended: {why} by TikTok (return message "
                                           f"{returns[0]})")
        return EffectResult(f"message:{created['id']}", request.order.url)

    def record_refund(self, request: RefundRequest) -> EffectResult:
        order, amounts = request.order, request.amounts
        customer = self._customers.get(order.id) or self._customer(order)
        slips = self.client.list("order_slip", {"id_order": order.id})
        last = max((int(s["id"]) for s in slips), default=0)
        self._say(order, f"ReturnBridge {request.key}: credit slip for {text(amounts.total)} after slip {last}")
        shipping = amounts.shipping or Decimal(0)
        details = self._details(order, request.units, amounts.subtotal, amounts.tax)
        subtotal = amounts.subtotal if amounts.subtotal is not None else Decimal(0)
        fields: dict[str, Any] = {
            "id_customer": customer, "id_order": order.id, "conversion_rate": "1",
            "total_products_tax_excl": text(subtotal),
            "total_products_tax_incl": text(subtotal + (amounts.tax or Decimal(0))),
            "total_shipping_tax_excl": text(shipping), "total_shipping_tax_incl": text(shipping),
            "amount": text(amounts.total), "shipping_cost": 1 if shipping else 0,
            "shipping_cost_amount": text(shipping), "partial": 0 if request.units else 1, "order_slip_type": 0,
        }
        if details:
            fields["associations"] = {"order_slip_details": [("order_slip_detail", d) for d in details]}
        slip = self.client.create("order_slip", "order_slip", fields)
        if not slip.get("id"):
            raise TransientStoreError("PrestaShop answered without a credit slip")
        self._say(order, f"ReturnBridge {request.key}: credit slip {slip['id']} recorded · {request.note}")
        return self._slip_result(slip, order)

    def _customer(self, order: StoreOrder) -> str:
        return str(self.client.get("orders", order.id).get("id_customer") or "")

    @staticmethod
    def _details(order: StoreOrder, units: tuple[Units, ...], subtotal: Decimal | None,
                 tax: Decimal | None) -> list[dict[str, str]]:
        details = []
        for u in units:
            wanted = u.quantity
            for line in order.lines_for_sku(u.sku):
                take = min(wanted, line.quantity)
                if take > 0:
                    details.append({"id_order_detail": line.line_item_id, "product_quantity": str(take),
                                    "amount_tax_excl": "0", "amount_tax_incl": "0"})
                    wanted -= take
            if wanted > 0:
                raise PermanentStoreError(f"store order {order.name} has {u.quantity - wanted} unit(s) of SKU "
                                          f"{u.sku!r}, TikTok refunded {u.quantity}")
        if len(details) == 1 and subtotal is not None:
            # One line: TikTok's subtotal and tax belong to it, copied as sent (never split over lines).
            details[0]["amount_tax_excl"] = text(subtotal)
            details[0]["amount_tax_incl"] = text(subtotal + (tax or Decimal(0)))
        return details

    def _slip_result(self, slip: dict[str, Any], order: StoreOrder) -> EffectResult:
        return EffectResult(f"order_slip:{slip['id']}", order.url,
                            amount=Money(Decimal(str(slip.get("amount") or "0")), order.currency))

    def restock(self, request: RestockRequest) -> EffectResult:
        changes = []
        for units in request.units:
            line = next(iter(request.order.lines_for_sku(units.sku)), None)
            if line is None:
                raise PermanentStoreError(f"SKU {units.sku} is not on store order {request.order.name}")
            product_id, _, attribute = line.inventory_item_id.partition(":")
            rows = self.client.list("stock_availables", {"id_product": product_id,
                                                         "id_product_attribute": attribute or "0"})
            if len(rows) != 1:
                raise PermanentStoreError(f"SKU {units.sku}: {len(rows)} stock rows in PrestaShop (multi-shop "
                                          "stock is not supported)")
            before = int(rows[0]["quantity"])
            changes.append((rows[0], before, before + units.quantity))
        plan = "; ".join(f"stock_available {row['id']} {a} -> {b}" for row, a, b in changes)
        self._say(request.order, f"ReturnBridge {request.key}: restock {plan}")
        for row, _, after in changes:
            self.client.update("stock_availables", "stock_available", str(row["id"]), {**{
                k: row[k] for k in ("id", "id_product", "id_product_attribute", "id_shop", "id_shop_group",
                                    "depends_on_stock", "out_of_stock") if k in row}, "quantity": after})
        self._say(request.order, f"ReturnBridge {request.key}: restocked")
        return EffectResult(f"restock:{request.key}", request.order.url,
                            detail={"changes": [{"stock_available": r["id"], "from": a, "to": b}
                                                for r, a, b in changes]})

    def find_effects(self, order: StoreOrder, kind: str, key: str) -> list[EffectResult]:
        ours = self._ours(order, key)
        if kind in ("return", "return_cancel"):
            return [EffectResult(f"message:{m['id']}", order.url) for m in ours]
        if kind == "refund":
            return self._find_slips(order, ours)
        if kind == "restock":
            return self._find_restock(order, key, ours)
        return []

    def _find_slips(self, order: StoreOrder, ours: list[dict[str, Any]]) -> list[EffectResult]:
        linked = [int(m.group("id")) for msg in ours if (m := _LINK_SLIP.search(str(msg.get("message"))))]
        slips = {int(s["id"]): s for s in self.client.list("order_slip", {"id_order": order.id})}
        if linked:
            return [self._slip_result(slips[i], order) for i in linked if i in slips]
        intents = [m for msg in ours if (m := _INTENT_SLIP.search(str(msg.get("message"))))]
        if not intents:
            return []
        intent = intents[-1]
        # Slips created after the intent for that total, not linked to another ReturnBridge effect.
        others = {int(m.group("id")) for msg in self.client.list("messages", {"id_order": order.id})
                  if (m := _LINK_SLIP.search(str(msg.get("message"))))}
        candidates = [s for i, s in sorted(slips.items()) if i > int(intent.group("after")) and i not in others
                      and Decimal(str(s.get("amount") or "0")) == Decimal(intent.group("total"))]
        return [self._slip_result(candidates[0], order)] if candidates else []

    def _find_restock(self, order: StoreOrder, key: str, ours: list[dict[str, Any]]) -> list[EffectResult]:
        if any(str(m.get("message")).endswith(f"ReturnBridge {key}: restocked") for m in ours):
            return [EffectResult(f"restock:{key}", order.url)]
        plans = [msg for msg in ours if _INTENT_STOCK.search(str(msg.get("message")))]
        if not plans:
            return []
        rows = [(m.group("id"), int(m.group("before")), int(m.group("after")))
                for m in _INTENT_STOCK.finditer(str(plans[-1].get("message")))]
        now = {row_id: int(self.client.get("stock_availables", row_id).get("quantity") or 0) for row_id, _, _ in rows}
        if all(now[i] == after for i, _, after in rows):
            return [EffectResult(f"restock:{key}", order.url)]
        if all(now[i] == before for i, before, _ in rows):
            return []  # the write never happened: do it now
        raise PermanentStoreError(
            "a restock was interrupted and the PrestaShop stock changed meanwhile ("
            + ", ".join(f"stock_available {i}: planned {b} -> {a}, now {now[i]}" for i, b, a in rows)
            + "); check the stock by hand, then retry or mark it done")
