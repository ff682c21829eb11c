"""``StoreAdapter`` for WooCommerce (REST API v3, store-apis.md part C).

- Orders: by order meta (``meta:key=...``; WooCommerce has no meta filter, so the ``scan_pages`` × 100 most recent
  orders are read and their ``meta_data`` compared) or by order number (``name``: ``search`` then an exact check).
  The match is cached in the local order map, so the scan happens once per TikTok order.
- Return: WooCommerce core has no returns API. The return is recorded as a private order note
  (``POST /orders/{id}/notes``, ``customer_note: false``) carrying our key, found again by listing the notes.
- Refund: ``POST /orders/{id}/refunds`` with ``api_refund: false`` (TikTok paid the buyer; no gateway is called),
  ``amount`` = TikTok's refund total as sent, the refunded units as ``line_items`` (TikTok's subtotal and tax on the
  line when one order line and one tax rate carry them; otherwise the quantities only, because splitting TikTok's
  amounts over lines would be recomputing them), TikTok's shipping on the shipping line, our key in ``reason`` and
  in ``meta_data`` (``_returnbridge_key``). Before a retry the order's refunds are listed and ours adopted.
- Return ended (TikTok rejected it or the buyer cancelled it): another private order note carrying the
  ``return_cancel`` key and naming the return note it ends. Notes cannot be edited through the API, so the history
  shows both. Before writing, the order's notes are searched for that key and an existing one adopted.
- Restock: only through the refund (``api_restock: true``), which WooCommerce applies to lines whose stock the
  order reduced, of products that manage stock. There is no separate restock call: ``PUT /products/{id}`` sets an
  absolute ``stock_quantity`` with no key and no history to search, so a crash between that write and our commit
  could not be told from "not done" and would put units back twice.
"""

from __future__ import annotations

from collections.abc import Iterator
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
from returnbridge.stores.recent import Recent
from returnbridge.stores.settings import LookupStrategy
from returnbridge.stores.woocommerce.client import WooCommerceClient

PAGE = 100  # WooCommerce's per_page maximum
KEY_META = "_returnbridge_key"
# Marks the note that ends a return, so a search for the return's own note never counts it.
ENDED = "Return ended:"


def money_text(amount: Decimal) -> str:
    return format(amount, "f")


class WooCommerceAdapter:
    platform = "woocommerce"

    def __init__(self, client: WooCommerceClient, site_url: str) -> None:
        self.client = client
        self.site_url = site_url.rstrip("/")
        # The last order JSON read per order id: refunds need its shipping line and tax rate ids.
        self._raw: Recent[str, dict[str, Any]] = Recent()

    def close(self) -> None:
        self.client.close()

    # --- orders ------------------------------------------------------------------------------------------------

    def find_order(self, tiktok_order_id: str, strategy: LookupStrategy) -> StoreOrder | None:
        value = strategy.value(tiktok_order_id)
        if strategy.kind == "name":
            found = self.client.get("/orders", {"search": value, "per_page": 10}).json()
            exact = [o for o in found if str(o.get("number")) == value]
            return self._one(exact, tiktok_order_id, strategy)
        if strategy.kind == "meta":
            exact = []
            for page in self._recent_orders(strategy.scan_pages):
                exact.extend(o for o in page if _has_meta(o, strategy.key, value))
                if exact:
                    break  # the rest of that page was checked for a second match too
            return self._one(exact, tiktok_order_id, strategy)
        raise PermanentStoreError(f"WooCommerce orders cannot be looked up by {strategy.kind}; use meta:key=... "
                                  "(the order meta the TikTok connector writes) or name (the order number)")

    def _recent_orders(self, pages: int) -> Iterator[list[dict[str, Any]]]:
        for page in range(1, pages + 1):
            response = self.client.get("/orders", {"per_page": PAGE, "page": page, "orderby": "date",
                                                   "order": "desc"})
            orders = response.json()
            yield orders
            if page >= int(response.headers.get("X-WP-TotalPages") or 0) or len(orders) < PAGE:
                return

    def _one(self, exact: list[dict[str, Any]], tiktok_order_id: str, strategy: LookupStrategy) -> StoreOrder | None:
        if len(exact) > 1:
            ids = ", ".join(f"#{o.get('number')}" for o in exact)
            raise PermanentStoreError(f"{len(exact)} store orders match TikTok order {tiktok_order_id} by "
                                      f"{strategy.label()}: {ids}")
        return self._order(exact[0]) if exact else None

    def get_order(self, store_order_id: str) -> StoreOrder | None:
        if not store_order_id.isdigit():
            return None
        raw = self.client.get_or_none(f"/orders/{store_order_id}")
        return self._order(raw) if isinstance(raw, dict) else None

    def _order(self, raw: dict[str, Any]) -> StoreOrder:
        order_id = str(raw["id"])
        self._raw[order_id] = raw
        lines = tuple(
            StoreOrderLine(line_item_id=str(li["id"]), sku=li.get("sku") or "", quantity=int(li.get("quantity") or 0),
                           refundable_quantity=int(li.get("quantity") or 0),
                           inventory_item_id=str(li.get("product_id") or ""))
            for li in raw.get("line_items") or []
        )
        return StoreOrder(id=order_id, name=f"#{raw.get('number') or order_id}", currency=raw.get("currency") or "",
                          url=self._url(order_id), lines=lines)

    def _url(self, order_id: str) -> str:
        return f"{self.site_url}/wp-admin/post.php?post={order_id}&action=edit"

    def _raw_order(self, order: StoreOrder) -> dict[str, Any]:
        raw = self._raw.get(order.id)
        if raw is None:
            raw = self.client.get_or_none(f"/orders/{order.id}")
            if not isinstance(raw, dict):
                raise PermanentStoreError(f"store order {order.name} no longer exists")
            self._raw[order.id] = raw
        return raw

    # --- effects -----------------------------------------------------------------------------------------------

    def create_return(self, request: ReturnRequest) -> EffectResult:
        units = ", ".join(f"{u.quantity} × {u.sku}" for u in request.units)
        note = f"{request.note}\nReturned units: {units}" if units else request.note
        created = self.client.post(f"/orders/{request.order.id}/notes", {"note": note, "customer_note": False})
        if not created.get("id"):
            raise TransientStoreError("WooCommerce answered without an order note")
        return EffectResult(f"note:{created['id']}", request.order.url, detail={"note": created.get("note", "")})

    def record_refund(self, request: RefundRequest) -> EffectResult:
        order, amounts = request.order, request.amounts
        raw = self._raw_order(order)
        line_items = self._refund_lines(raw, order, request.units, amounts.subtotal, amounts.tax)
        shipping = raw.get("shipping_lines") or []
        if amounts.shipping and len(shipping) == 1:
            line_items.append({"id": shipping[0]["id"], "refund_total": money_text(amounts.shipping)})
        body = {"amount": money_text(amounts.total), "reason": request.note, "api_refund": False,
                "api_restock": request.restock, "line_items": line_items,
                "meta_data": [{"key": KEY_META, "value": request.key}]}
        created = self.client.post(f"/orders/{order.id}/refunds", body)
        self._raw.pop(order.id, None)  # refunded: read afresh next time
        if not created.get("id"):
            raise TransientStoreError("WooCommerce answered without a refund")
        return self._refund_result(created, order)

    @staticmethod
    def _refund_lines(raw: dict[str, Any], order: StoreOrder, units: tuple[Units, ...], subtotal: Decimal | None,
                      tax: Decimal | None) -> list[dict[str, Any]]:
        by_id = {str(li["id"]): li for li in raw.get("line_items") or []}
        entries: list[dict[str, Any]] = []
        for u in units:
            wanted = u.quantity
            for line in order.lines_for_sku(u.sku):
                take = min(wanted, line.quantity)
                if take > 0:
                    entries.append({"id": int(line.line_item_id), "quantity": take, "refund_total": "0"})
                    wanted -= take
            if wanted > 0:
                raise PermanentStoreError(f"store order {order.name} has {u.quantity - wanted} unit(s) of SKU "
                                          f"{u.sku!r}, TikTok refunded {u.quantity}")
        if len(entries) == 1:
            # One line: TikTok's subtotal and tax belong to it, copied as sent (never split, never recomputed).
            taxes = by_id[str(entries[0]["id"])].get("taxes") or []
            if subtotal is not None:
                entries[0]["refund_total"] = money_text(subtotal)
            if tax is not None and len(taxes) == 1:
                entries[0]["refund_tax"] = [{"id": taxes[0]["id"], "refund_total": money_text(tax)}]
        return entries

    def _refund_result(self, refund: dict[str, Any], order: StoreOrder) -> EffectResult:
        return EffectResult(str(refund["id"]), order.url, amount=Money(Decimal(str(refund["amount"])), order.currency),
                            detail={"reason": refund.get("reason") or ""})

    def restock(self, request: RestockRequest) -> EffectResult:
        raise PermanentStoreError(
            "WooCommerce restocks returned units only through a recorded refund (api_restock); with mirroring "
            "'informational' no refund is recorded, and a direct stock write cannot be made exactly once")

    def cancel_return(self, request: ReturnCancelRequest) -> EffectResult:
        # Notes carry no idempotency key of their own: the order's notes are the record, read before every write.
        notes = self._notes(request.order)
        ended = [n for n in notes if request.key in (n.get("note") or "")]
        if ended:
            return self._note_result(ended[-1], request.order)  # written before a crash or a lost answer
        returns = [n for n in notes if _is_return_note(n, request.return_key)]
        if not returns:
            raise PermanentStoreError(f"no return note on store order {request.order.name} carries "
                                      f"{request.return_key}; there is nothing to end")
        why = "rejected" if request.rejected else "cancelled"
        # Oldest first: the note create_return wrote (a duplicate, if any, is reported by find_effects).
        ends = min(int(n["id"]) for n in returns)
        text = f"{request.note}\n{ENDED} {why} by TikTok (return note #{ends})"
        created = self.client.post(f"/orders/{request.order.id}/notes", {"note": text, "customer_note": False})
        if not created.get("id"):
            raise TransientStoreError("WooCommerce answered without an order note")
        return self._note_result(created, request.order)

    def _notes(self, order: StoreOrder) -> list[dict[str, Any]]:
        # Private notes only, without WooCommerce's own ("system") notes about stock and status changes.
        notes = self.client.get(f"/orders/{order.id}/notes", {"type": "internal"}).json()
        return [n for n in notes if n.get("author") != "system"]

    def _note_result(self, note: dict[str, Any], order: StoreOrder) -> EffectResult:
        return EffectResult(f"note:{note['id']}", order.url, detail={"note": note.get("note", "")})

    def find_effects(self, order: StoreOrder, kind: str, key: str) -> list[EffectResult]:
        if kind == "return":
            return [self._note_result(n, order) for n in self._notes(order) if _is_return_note(n, key)]
        if kind == "return_cancel":
            return [self._note_result(n, order) for n in self._notes(order) if key in (n.get("note") or "")]
        if kind == "refund":
            found, page = [], 1
            while True:
                response = self.client.get(f"/orders/{order.id}/refunds", {"per_page": PAGE, "page": page})
                for refund in response.json():
                    metas = {m.get("key"): m.get("value") for m in refund.get("meta_data") or []}
                    if key in (refund.get("reason") or "") or metas.get(KEY_META) == key:
                        found.append(self._refund_result(refund, order))
                if page >= int(response.headers.get("X-WP-TotalPages") or 1):
                    return found
                page += 1
        return []  # restocks ride on the refund: there is nothing of their own to find


def _is_return_note(note: dict[str, Any], key: str) -> bool:
    text = note.get("note") or ""
    return key in text and ENDED not in text


def _has_meta(order: dict[str, Any], key: str, value: str) -> bool:
    return any(m.get("key") == key and str(m.get("value") or "").strip() == value for m in order.get("meta_data") or [])
