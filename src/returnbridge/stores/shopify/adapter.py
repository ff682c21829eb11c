"""``StoreAdapter`` for Shopify (Admin GraphQL 2026-04).

- Orders are found by the configured strategy and read once with everything the effects need.
- A return is created already open (``returnCreate``: TikTok approved it); our key is in each line's reason note.
- A refund is recorded as already settled: ``refundCreate`` with ``notify: false``, ``@idempotent(key:)`` and our
  key in the note. The transaction is TikTok's refund total, copied as sent, against the order's own sale
  transaction (Shopify reuses its gateway and calls no processor for marketplace/manual gateways). Platform-funded
  discounts are never added to it. Refunded lines are ``NO_RESTOCK``: restock has its own path.
- A restock is ``inventoryAdjustQuantities`` (``available``/``restock``) with ``@idempotent`` and our key in the
  ``referenceDocumentUri``. Only a cancellation before shipment restocks through the refund (``CANCEL``), and then
  no restock effect is planned for it: one path per unit.
"""

from __future__ import annotations

from collections.abc import Iterable
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
from returnbridge.stores.settings import LookupStrategy
from returnbridge.stores.shopify import documents as doc
from returnbridge.stores.shopify.client import ShopifyClient

# Inventory userError codes that are about timing, not about the request.
_RETRYABLE_CODES = frozenset({"IDEMPOTENCY_CONCURRENT_REQUEST", "SERVICE_UNAVAILABLE", "INTERNAL_ERROR"})
_SETTLED_TRANSACTIONS = ("SALE", "CAPTURE")
# Orders per page when scanning note attributes: a full order costs ~70 points, a query may cost 1,000 at most.
SCAN_PAGE = 10


def reference_uri(key: str) -> str:
    return f"gid://returnbridge/StoreEffect/{key}"


def money_text(amount: Decimal) -> str:
    """Shopify's ``Money`` scalar: a plain decimal string, never an exponent ("1500", "12.30")."""
    return format(amount, "f")


class ShopifyAdapter:
    platform = "shopify"

    def __init__(self, client: ShopifyClient, admin_url: str) -> None:
        self.client = client
        self.admin_url = admin_url.rstrip("/")
        self._primary_location: str | None = None

    def shop_domain(self) -> str:
        """The shop's myshopify domain, as the shop the token belongs to reports it."""
        data = self.client.execute(doc.SHOP, {}, operation="Shop", idempotent=True)
        domain = str((data.get("shop") or {}).get("myshopifyDomain") or "").lower()
        if not domain:
            raise PermanentStoreError("the store did not report its myshopify domain")
        return domain

    # --- orders ------------------------------------------------------------------------------------------------

    def find_order(self, tiktok_order_id: str, strategy: LookupStrategy) -> StoreOrder | None:
        value = strategy.value(tiktok_order_id)
        if strategy.kind == "note_attribute":
            return self._scan_note_attributes(strategy, value)
        query = {
            "name": f"name:{_quote(value)}",
            "tag": f"tag:{_quote(value)}",
            "source_identifier": f"source_identifier:{_quote(value)}",
            "metafield": f"metafields.{strategy.namespace}.{strategy.key}:{_quote(value)}",
        }[strategy.kind]
        # Two are enough to tell "exactly one" from "ambiguous"; a connection costs its size.
        nodes = self._orders(query, first=2)
        # The filters are searches, not equality: keep only the orders that carry the value exactly.
        exact = [n for n in nodes if _carries(n, strategy, value)]
        if len(exact) > 1:
            names = ", ".join(str(n.get("name")) for n in exact)
            raise PermanentStoreError(f"{len(exact)} store orders match TikTok order {tiktok_order_id} by "
                                      f"{strategy.label()}: {names}")
        return self._order(exact[0]) if exact else None

    def _scan_note_attributes(self, strategy: LookupStrategy, value: str) -> StoreOrder | None:
        # customAttributes cannot be filtered (store-apis.md A.2): read recent orders (narrowed by scan_query, e.g.
        # "tag:TikTok") page by page and compare the attribute.
        after: str | None = None
        for _ in range(strategy.scan_pages):
            data = self.client.execute(
                doc.FIND_ORDERS, {"q": strategy.scan_query, "first": SCAN_PAGE, "after": after}, operation="FindOrder",
                idempotent=True,
            )
            orders = data.get("orders") or {}
            for node in orders.get("nodes") or []:
                if _carries(node, strategy, value):
                    return self._order(node)
            page = orders.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return None
            after = page.get("endCursor")
        return None

    def get_order(self, store_order_id: str) -> StoreOrder | None:
        data = self.client.execute(doc.GET_ORDER, {"id": store_order_id}, operation="GetOrder", idempotent=True)
        node = data.get("order")
        return self._order(node) if isinstance(node, dict) else None

    def _orders(self, query: str, *, first: int) -> list[dict[str, Any]]:
        data = self.client.execute(doc.FIND_ORDERS, {"q": query, "first": first, "after": None},
                                   operation="FindOrder", idempotent=True)
        return list((data.get("orders") or {}).get("nodes") or [])

    def _order(self, node: dict[str, Any]) -> StoreOrder:
        fulfilled: dict[str, list[tuple[str, int, str]]] = {}
        for fulfillment in node.get("fulfillments") or []:
            location = ((fulfillment.get("location") or {}).get("id")) or ""
            for fli in (fulfillment.get("fulfillmentLineItems") or {}).get("nodes") or []:
                line_id = (fli.get("lineItem") or {}).get("id", "")
                fulfilled.setdefault(line_id, []).append((fli["id"], int(fli.get("quantity") or 0), location))
        lines = []
        for item in (node.get("lineItems") or {}).get("nodes") or []:
            inventory = ((item.get("variant") or {}).get("inventoryItem")) or {}
            lines.append(StoreOrderLine(
                line_item_id=item["id"], sku=item.get("sku") or "", quantity=int(item.get("quantity") or 0),
                refundable_quantity=int(item.get("refundableQuantity") or 0),
                inventory_item_id=inventory.get("id") or "", tracked=bool(inventory.get("tracked", False)),
                fulfillments=tuple(fulfilled.get(item["id"], ())),
            ))
        parent = next((t for t in node.get("transactions") or []
                       if t.get("kind") in _SETTLED_TRANSACTIONS and t.get("status") in ("SUCCESS", None)), None)
        return StoreOrder(
            id=node["id"], name=node.get("name") or "", currency=node.get("currencyCode") or "",
            url=self._url(node["id"]), lines=tuple(lines),
            parent_transaction_id=(parent or {}).get("id", ""), gateway=(parent or {}).get("gateway") or "",
        )

    def _url(self, gid: str) -> str:
        return f"{self.admin_url}/admin/orders/{gid.rsplit('/', 1)[-1]}"

    # --- effects -----------------------------------------------------------------------------------------------

    def create_return(self, request: ReturnRequest) -> EffectResult:
        lines = []
        for units in request.units:
            for fli_id, quantity in _allocate_fulfilled(request.order, units):
                lines.append({"fulfillmentLineItemId": fli_id, "quantity": quantity, "returnReason": "OTHER",
                              "returnReasonNote": request.note[:255]})
        data = self.client.execute(
            doc.RETURN_CREATE, {"in": {"orderId": request.order.id, "returnLineItems": lines}},
            operation="Ret", idempotent=False,  # no @idempotent on returnCreate: an unclear outcome is searched
        )
        payload = data.get("returnCreate") or {}
        _raise_user_errors("returnCreate", payload.get("userErrors"))
        created = payload.get("return") or {}
        if not created.get("id"):
            raise TransientStoreError("returnCreate answered without a return")
        return EffectResult(created["id"], request.order.url,
                            detail={"name": created.get("name", ""), "status": created.get("status", "")})

    def record_refund(self, request: RefundRequest) -> EffectResult:
        order, amounts = request.order, request.amounts
        refund: dict[str, Any] = {"orderId": order.id, "note": request.note, "notify": False}
        restock_type = "CANCEL" if request.restock else "NO_RESTOCK"
        line_items = []
        for units in request.units:
            for line, quantity in _allocate_refundable(order, units):
                entry: dict[str, Any] = {"lineItemId": line.line_item_id, "quantity": quantity,
                                         "restockType": restock_type}
                if request.restock:
                    entry["locationId"] = self._location(request.restock_location_id)
                line_items.append(entry)
        if line_items:
            refund["refundLineItems"] = line_items
        if amounts.shipping:
            refund["shipping"] = {"amount": money_text(amounts.shipping)}
        if amounts.total > 0:
            if not order.parent_transaction_id:
                raise PermanentStoreError(f"store order {order.name} has no successful sale transaction to record the "
                                          "refund against")
            refund["transactions"] = [{
                "amount": money_text(amounts.total), "gateway": order.gateway or "manual", "kind": "REFUND",
                "orderId": order.id, "parentId": order.parent_transaction_id,
            }]
        data = self.client.execute(doc.REFUND_CREATE, {"in": refund, "key": request.key}, operation="Refund",
                                   idempotent=True)
        payload = data.get("refundCreate") or {}
        _raise_user_errors("refundCreate", payload.get("userErrors"))
        created = payload.get("refund") or {}
        if not created.get("id"):
            raise TransientStoreError("refundCreate answered without a refund")
        return EffectResult(created["id"], order.url, amount=_money(created.get("totalRefundedSet")),
                            detail={"note": created.get("note", "")})

    def restock(self, request: RestockRequest) -> EffectResult:
        changes = []
        for units in request.units:
            lines = request.order.lines_for_sku(units.sku)
            line = next((candidate for candidate in lines if candidate.inventory_item_id), None)
            if line is None:
                raise PermanentStoreError(f"SKU {units.sku} is not a stocked item on store order {request.order.name}")
            if not line.tracked:
                raise PermanentStoreError(f"SKU {units.sku} is not inventory-tracked in the store; nothing to restock")
            if request.use_fulfillment_location:
                location = next((loc for _, _, loc in line.fulfillments if loc), "")
                if not location:
                    raise PermanentStoreError(f"SKU {units.sku} has no fulfillment location on {request.order.name}")
            else:
                location = self._location(request.location_id)
            changes.append({"inventoryItemId": line.inventory_item_id, "locationId": location,
                            "delta": units.quantity, "changeFromQuantity": None})
        adjustment = {"name": "available", "reason": "restock", "referenceDocumentUri": reference_uri(request.key),
                      "changes": changes}
        data = self.client.execute(doc.INVENTORY_ADJUST, {"in": adjustment, "key": request.key},
                                   operation="Restock", idempotent=True)
        payload = data.get("inventoryAdjustQuantities") or {}
        _raise_user_errors("inventoryAdjustQuantities", payload.get("userErrors"))
        group = payload.get("inventoryAdjustmentGroup") or {}
        if not group.get("id"):
            raise TransientStoreError("inventoryAdjustQuantities answered without an adjustment group")
        return EffectResult(group["id"], request.order.url,
                            detail={"referenceDocumentUri": group.get("referenceDocumentUri", ""),
                                    "changes": group.get("changes") or []})

    def cancel_return(self, request: ReturnCancelRequest) -> EffectResult:
        # Return mutations take no @idempotent, so the return's own state is what makes this once-only: it is read
        # first, and a return that already ended (by us before a crash, or by the merchant) is the outcome.
        ours = [ret for ret in self._returns(request.order) if _carries_key(ret, request.return_key)]
        if not ours:
            raise PermanentStoreError(f"no return on store order {request.order.name} carries "
                                      f"{request.return_key}; there is nothing to end")
        ret = next((r for r in ours if r.get("status") not in _ENDED_RETURNS), ours[0])
        status = ret.get("status")
        if status in _ENDED_RETURNS:
            return self._ended(request, ret, changed=False)
        if status == "REQUESTED":
            decline = {"id": ret["id"], "declineReason": "OTHER", "declineNote": request.note[:500],
                       "notifyCustomer": False}
            return self._ended(request, self._return_mutation(doc.RETURN_DECLINE, "returnDeclineRequest",
                                                              {"in": decline}), changed=True)
        data = self.client.execute(doc.RETURN_CANCEL, {"id": ret["id"]}, operation="Cancel", idempotent=True)
        payload = data.get("returnCancel") or {}
        errors = payload.get("userErrors") or []
        if any(isinstance(e, dict) and e.get("code") == "INVALID_STATE" for e in errors):
            # Processed already (units received or refunded): Shopify lets such a return only be closed.
            return self._ended(request, self._return_mutation(doc.RETURN_CLOSE, "returnClose", {"id": ret["id"]}),
                               changed=True)
        _raise_user_errors("returnCancel", errors)
        return self._ended(request, payload.get("return") or {}, changed=True)

    def _return_mutation(self, document: str, root: str, variables: dict[str, Any]) -> dict[str, Any]:
        # Safe to repeat (a no-op once done), so the client may retry it after an unclear answer.
        data = self.client.execute(document, variables, operation=root, idempotent=True)
        payload = data.get(root) or {}
        _raise_user_errors(root, payload.get("userErrors"))
        return payload.get("return") or {}

    def _ended(self, request: ReturnCancelRequest, ret: dict[str, Any], *, changed: bool) -> EffectResult:
        if not ret.get("id"):
            raise TransientStoreError("Shopify answered without the return")
        return EffectResult(ret["id"], request.order.url,
                            detail={"name": ret.get("name", ""), "status": ret.get("status", ""), "changed": changed})

    def _returns(self, order: StoreOrder) -> list[dict[str, Any]]:
        data = self.client.execute(doc.ORDER_RETURNS, {"id": order.id}, operation="OrderReturns", idempotent=True)
        return list(((data.get("order") or {}).get("returns") or {}).get("nodes") or [])

    def find_effects(self, order: StoreOrder, kind: str, key: str) -> list[EffectResult]:
        if kind == "return":
            return [EffectResult(ret["id"], order.url, detail={"name": ret.get("name", ""),
                                                               "status": ret.get("status", "")})
                    for ret in self._returns(order)
                    if ret.get("status") not in ("CANCELED", "DECLINED") and _carries_key(ret, key)]
        if kind == "refund":
            data = self.client.execute(doc.ORDER_REFUNDS, {"id": order.id}, operation="OrderRefunds", idempotent=True)
            return [
                EffectResult(refund["id"], order.url, amount=_money(refund.get("totalRefundedSet")),
                             detail={"note": refund.get("note", "")})
                for refund in (data.get("order") or {}).get("refunds") or []
                if key in (refund.get("note") or "")
            ]
        # return_cancel: ``cancel_return`` reads the return's state first, so repeating it is the search.
        # Shopify has no query for inventory adjustment history: a restock is found again by sending the very same
        # adjustment with the same @idempotent key, which Shopify answers with the original group (not a second).
        return []

    def _location(self, location_id: str) -> str:
        if location_id:
            return location_id
        if self._primary_location is None:
            data = self.client.execute(doc.PRIMARY_LOCATION, {}, operation="PrimaryLocation", idempotent=True)
            location = (data.get("location") or {}).get("id")
            if not location:
                raise PermanentStoreError("the store reports no primary location to restock at")
            self._primary_location = location
        return self._primary_location


_ENDED_RETURNS = frozenset({"CANCELED", "DECLINED", "CLOSED"})


def _carries_key(ret: dict[str, Any], key: str) -> bool:
    lines = (ret.get("returnLineItems") or {}).get("nodes") or []
    return any(key in (line.get("returnReasonNote") or "") for line in lines)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _carries(node: dict[str, Any], strategy: LookupStrategy, value: str) -> bool:
    if strategy.kind == "name":
        return node.get("name") == value
    if strategy.kind == "tag":
        return value in (node.get("tags") or [])
    if strategy.kind == "source_identifier":
        return node.get("sourceIdentifier") == value
    if strategy.kind == "note_attribute":
        return any(a.get("key") == strategy.key and (a.get("value") or "").strip() == value
                   for a in node.get("customAttributes") or [])
    return True  # metafield: the filter is exact and case-sensitive (store-apis.md A.2)


def _allocate_fulfilled(order: StoreOrder, units: Units) -> Iterable[tuple[str, int]]:
    """Spread ``units`` over the fulfilled line items of that SKU; refuse if fewer were shipped."""
    wanted = units.quantity
    for line in order.lines_for_sku(units.sku):
        for fli_id, quantity, _ in line.fulfillments:
            take = min(wanted, quantity)
            if take > 0:
                yield fli_id, take
                wanted -= take
    if wanted > 0:
        raise PermanentStoreError(f"store order {order.name} has {units.quantity - wanted} fulfilled unit(s) of SKU "
                                  f"{units.sku!r}, the TikTok return has {units.quantity}")


def _allocate_refundable(order: StoreOrder, units: Units) -> list[tuple[StoreOrderLine, int]]:
    wanted, taken = units.quantity, []
    for line in order.lines_for_sku(units.sku):
        take = min(wanted, line.refundable_quantity)
        if take > 0:
            taken.append((line, take))
            wanted -= take
    if wanted > 0:
        raise PermanentStoreError(f"store order {order.name} has {units.quantity - wanted} refundable unit(s) of SKU "
                                  f"{units.sku!r}, TikTok refunded {units.quantity}")
    return taken


def _money(money_bag: Any) -> Money | None:
    shop = (money_bag or {}).get("shopMoney") if isinstance(money_bag, dict) else None
    if not isinstance(shop, dict) or shop.get("amount") is None:
        return None
    return Money(Decimal(str(shop["amount"])), str(shop.get("currencyCode") or ""))


def _raise_user_errors(mutation: str, errors: Any) -> None:
    if not errors:
        return
    codes = {e.get("code") for e in errors if isinstance(e, dict)}
    text = "; ".join(
        f"{'.'.join(e.get('field') or []) + ': ' if e.get('field') else ''}{e.get('message', '')}"
        + (f" ({e['code']})" if e.get("code") else "")
        for e in errors if isinstance(e, dict)
    )
    message = f"Shopify {mutation} refused: {text}"
    if codes & _RETRYABLE_CODES:
        raise TransientStoreError(message)
    raise PermanentStoreError(message)
