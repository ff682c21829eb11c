"""The Admin GraphQL 2026-04 schema subset: object types with their resolvers, inputs, enums, and mutations.

Field, argument and enum names follow store-apis.md Appendix A (``[SDL-2026-04]``). Resolvers read the
``Store`` of the request's access token (``ctx.store``); all of it runs under ``World.lock``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import inventory, refunds, returns
from .executor import PAGE_INFO, Execution, connection_fields
from .gids import gid, level_gid, parse_gid
from .idempotency import BLANK, MISMATCH, REQUIRED, UNSUPPORTED, fingerprint
from .model import QUANTITY_NAMES, LineItem, Order
from .money import ZERO, cents
from .parser import Field as FieldNode
from .parser import Variable
from .search import OrderSearch
from .typesystem import CONNECTION_ARGS, FieldDef, FieldError, InputDef, Schema
from .usererrors import UserError
from .world import RETURN_REASON_DEFINITIONS, Store


@dataclass
class Context:
    store: Store
    execution: Execution | None = None
    search: list[dict[str, Any]] = field(default_factory=list)
    # Root mutation fields answered from an idempotency record instead of running again.
    replayed: list[str] = field(default_factory=list)
    mutated: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


def F(type_: str, resolve: Callable[[Any, dict, Context], Any], args: dict[str, str] | None = None,
      defaults: dict[str, Any] | None = None) -> FieldDef:
    return FieldDef(type_, resolve, args or {}, defaults or {})


def attr(name: str) -> Callable[[Any, dict, Context], Any]:
    return lambda obj, args, ctx: getattr(obj, name)


def key(name: str) -> Callable[[Any, dict, Context], Any]:
    return lambda obj, args, ctx: obj.get(name)


def gid_of(type_name: str) -> Callable[[Any, dict, Context], Any]:
    return lambda obj, args, ctx: gid(type_name, obj.id)


def money(getter: Callable[[Any, Context], Decimal]) -> Callable[[Any, dict, Context], Money]:
    return lambda obj, args, ctx: Money(getter(obj, ctx), ctx.store.currency)


def conn(base: str, resolve: Callable[[Any, dict, Context], Any], extra: dict[str, str] | None = None,
         defaults: dict[str, Any] | None = None) -> FieldDef:
    return FieldDef(f"{base}Connection!", resolve, {**CONNECTION_ARGS, "reverse": "Boolean", **(extra or {})},
                    {"reverse": False, **(defaults or {})})


def listed(type_: str, resolve: Callable[[Any, dict, Context], Any]) -> FieldDef:
    """A plain list with an optional ``first`` (Order.fulfillments, Order.transactions, Order.refunds)."""
    def limited(obj: Any, args: dict, ctx: Context) -> Any:
        items = list(resolve(obj, args, ctx))
        return items[: args["first"]] if args.get("first") is not None else items
    return FieldDef(type_, limited, {"first": "Int"})


def _lookup(type_name: str, table: Callable[[Store], dict]) -> Callable[[Any, dict, Context], Any]:
    def find(obj: Any, args: dict, ctx: Context) -> Any:
        parsed = parse_gid(args["id"])
        if parsed is None or parsed[0] != type_name:
            raise FieldError(f"Invalid id: {args['id']}", "RESOURCE_NOT_FOUND")
        return table(ctx.store).get(parsed[1])
    return find


def _order_lookup(obj: Any, args: dict, ctx: Context) -> Order | None:
    order = _lookup("Order", lambda s: s.orders)(obj, args, ctx)
    return order if order is not None and ctx.store.visible(order) else None


def _store_order(ctx: Context, order_id: int) -> Order:
    return ctx.store.orders[order_id]


# --- queries -------------------------------------------------------------------------------------------------------

ORDER_SORT = {
    "CREATED_AT": lambda s, o: o.created_at, "PROCESSED_AT": lambda s, o: o.created_at,
    "UPDATED_AT": lambda s, o: o.updated_at or o.created_at, "ID": lambda s, o: o.id,
    "ORDER_NUMBER": lambda s, o: o.number, "TOTAL_PRICE": lambda s, o: s.order_total(o),
    "CURRENT_TOTAL_PRICE": lambda s, o: s.order_total(o), "FINANCIAL_STATUS": lambda s, o: s.financial_status(o),
    "FULFILLMENT_STATUS": lambda s, o: s.fulfillment_status(o), "PO_NUMBER": lambda s, o: o.po_number or "",
    "TOTAL_ITEMS_QUANTITY": lambda s, o: sum(li.quantity for li in o.line_items),
    "CUSTOMER_NAME": lambda s, o: o.email or "", "DESTINATION": lambda s, o: "", "RELEVANCE": lambda s, o: o.id,
}


def _orders(obj: Any, args: dict, ctx: Context) -> list[Order]:
    store = ctx.store
    search = OrderSearch(store, args.get("query"))
    found = [o for o in store.orders.values() if store.visible(o) and search.matches(o)]
    sort = ORDER_SORT[args.get("sortKey") or "ID"]
    found.sort(key=lambda o: (sort(store, o), o.id), reverse=bool(args.get("reverse")))
    if search.warnings:
        ctx.search.append({"path": ["orders"], "query": args["query"], "parsed": {"query": args["query"]},
                           "warnings": search.warnings})
    return found


def _sku_filter(query: str | None) -> Callable[[str], bool]:
    if not query:
        return lambda sku: True
    wanted = [t.split(":", 1)[1].strip('"') for t in query.split() if t.startswith("sku:")]
    return lambda sku: all(sku == w for w in wanted)  # SKUs are case-sensitive (A.5.2)


def _level_lookup(obj: Any, args: dict, ctx: Context) -> Any:
    parsed = parse_gid(args["id"])
    if parsed is None or parsed[0] != "InventoryLevel" or not parsed[2].startswith("inventory_item_id="):
        raise FieldError(f"Invalid id: {args['id']}", "RESOURCE_NOT_FOUND")
    item = parsed[2].split("=", 1)[1]
    return ctx.store.levels.get((int(item), parsed[1])) if item.isdigit() else None


def _returnable_fulfillments(obj: Any, args: dict, ctx: Context) -> list[tuple[Order, Any]]:
    order = _order_lookup(obj, {"id": args["orderId"]}, ctx)
    if order is None:
        return []
    return [(order, f) for f in order.fulfillments
            if any(ctx.store.returnable_quantity(order, line) for line in f.line_items)]


# --- line and order amounts ----------------------------------------------------------------------------------------


def _line_refundable(line: LineItem, ctx: Context) -> int:
    order = next(o for o in ctx.store.orders.values() if line in o.line_items)
    return ctx.store.refundable_quantity(order, line)


def _order_of_line(ctx: Context, line: LineItem) -> Order:
    return next(o for o in ctx.store.orders.values() if line in o.line_items)


def _fulfilled(ctx: Context, line: LineItem) -> int:
    order = _order_of_line(ctx, line)
    return sum(f.quantity for ful in order.fulfillments for f in ful.line_items if f.line_item_id == line.id)


def _line_of_fli(ctx: Context, fli: Any) -> LineItem:
    for order in ctx.store.orders.values():
        line = order.line_item(fli.line_item_id)
        if line is not None:
            return line
    raise FieldError("line item not found")


def _quantities(level: Any, args: dict, ctx: Context) -> list[dict[str, Any]]:
    names = args["names"]
    unknown = [n for n in names if n not in QUANTITY_NAMES]
    if unknown:
        raise FieldError(f"The quantity name '{unknown[0]}' is not valid. Valid values are: "
                         + ", ".join(QUANTITY_NAMES) + ".")
    return [{"name": n, "quantity": level.quantities.get(n, 0), "updatedAt": level.updated_at} for n in names]


def _transaction_order(ctx: Context, transaction: Any) -> Order:
    found = ctx.store.find_transaction(transaction.id)
    assert found is not None
    return found[0]


def _rfo_line_fli(line: Any, args: dict, ctx: Context) -> Any:
    found = ctx.store.order_of_fulfillment_line(line.fulfillment_line_item_id)
    return found[2] if found else None


def _return_line_fli(line: Any, args: dict, ctx: Context) -> Any:
    found = ctx.store.order_of_fulfillment_line(line.fulfillment_line_item_id)
    return found[2] if found else None


def _return_line_total(line: Any, ctx: Context) -> Decimal:
    found = ctx.store.order_of_fulfillment_line(line.fulfillment_line_item_id)
    if not found:
        return ZERO
    item = found[0].line_item(found[2].line_item_id)
    return cents(item.unit_price * line.quantity) if item else ZERO


def _adjustment_changes(group: Any, args: dict, ctx: Context) -> list[Any]:
    changes = group.changes
    if args.get("quantityNames"):
        changes = [c for c in changes if c.name in args["quantityNames"]]
    if args.get("inventoryItemIds"):
        wanted = {parse_gid(i)[1] for i in args["inventoryItemIds"] if parse_gid(i)}
        changes = [c for c in changes if c.item_id in wanted]
    if args.get("locationIds"):
        wanted = {parse_gid(i)[1] for i in args["locationIds"] if parse_gid(i)}
        changes = [c for c in changes if c.location_id in wanted]
    return changes


def _metafield(order: Order, args: dict, ctx: Context) -> Any:
    namespace = args.get("namespace")
    found = [m for m in order.metafields if m.key == args["key"] and (namespace is None or m.namespace == namespace)]
    return found[0] if found else None


def _line_restockable(line: LineItem, args: dict, ctx: Context) -> bool:
    variant = ctx.store.variants.get(line.variant_id) if line.variant_id else None
    return variant is not None and ctx.store.items[variant.inventory_item_id].tracked


def build_schema() -> Schema:
    schema = Schema()
    o = schema.objects
    s = Store  # noqa: F841 - keeps the annotations readable below

    o["QueryRoot"] = {
        "shop": F("Shop!", lambda r, a, c: c.store),
        "locations": conn("Location", lambda r, a, c: [x for x in c.store.locations.values()
                                                        if x.is_active or a.get("includeInactive")],
                          {"query": "String", "includeInactive": "Boolean"}),
        "location": F("Location", lambda r, a, c: c.store.primary_location if a.get("id") is None
                      else _lookup("Location", lambda st: st.locations)(r, a, c), {"id": "ID"}),
        "orders": conn("Order", _orders, {"query": "String", "sortKey": "OrderSortKeys"}),
        "order": F("Order", _order_lookup, {"id": "ID!"}),
        "return": F("Return", _lookup("Return", lambda st: st.returns), {"id": "ID!"}),
        "refund": F("Refund", _lookup("Refund", lambda st: st.refunds), {"id": "ID!"}),
        "inventoryItem": F("InventoryItem", _lookup("InventoryItem", lambda st: st.items), {"id": "ID!"}),
        "inventoryItems": conn("InventoryItem", lambda r, a, c: [i for i in c.store.items.values()
                                                                 if _sku_filter(a.get("query"))(i.sku)],
                               {"query": "String"}),
        "inventoryLevel": F("InventoryLevel", _level_lookup, {"id": "ID!"}),
        "product": F("Product", _lookup("Product", lambda st: st.products), {"id": "ID!"}),
        "productVariant": F("ProductVariant", _lookup("ProductVariant", lambda st: st.variants), {"id": "ID!"}),
        "productVariants": conn("ProductVariant", lambda r, a, c: [v for v in c.store.variants.values()
                                                                   if _sku_filter(a.get("query"))(v.sku)],
                                {"query": "String"}),
        "returnableFulfillments": conn("ReturnableFulfillment", _returnable_fulfillments, {"orderId": "ID!"}),
        "returnReasonDefinitions": conn(
            "ReturnReasonDefinition",
            lambda r, a, c: [(i, h, n) for i, (h, n) in RETURN_REASON_DEFINITIONS.items()
                             if not a.get("handles") or h in a["handles"]],
            {"handles": "[String!]", "ids": "[ID!]", "query": "String"}),
        "reverseFulfillmentOrder": F("ReverseFulfillmentOrder", lambda r, a, c: next(
            (rfo for ret in c.store.returns.values() for rfo in ret.reverse_fulfillment_orders
             if gid("ReverseFulfillmentOrder", rfo.id) == a["id"]), None), {"id": "ID!"}),
    }
    o["Shop"] = {
        "id": F("ID!", lambda st, a, c: gid("Shop", st.shop_id)),
        "name": F("String!", attr("name")),
        "myshopifyDomain": F("String!", attr("domain")),
        "currencyCode": F("CurrencyCode!", attr("currency")),
    }
    o["Location"] = {
        "id": F("ID!", gid_of("Location")),
        "legacyResourceId": F("UnsignedInt64!", attr("id")),
        "name": F("String!", attr("name")),
        "isActive": F("Boolean!", attr("is_active")),
        "inventoryLevel": F("InventoryLevel", lambda loc, a, c: c.store.levels.get(
            (parse_gid(a["inventoryItemId"])[1] if parse_gid(a["inventoryItemId"]) else -1, loc.id)),
            {"inventoryItemId": "ID!"}),
    }
    o["Product"] = {
        "id": F("ID!", gid_of("Product")),
        "title": F("String!", attr("title")),
        "variants": conn("ProductVariant", lambda p, a, c: [c.store.variants[v] for v in p.variant_ids]),
    }
    o["ProductVariant"] = {
        "id": F("ID!", gid_of("ProductVariant")),
        "legacyResourceId": F("UnsignedInt64!", attr("id")),
        "title": F("String!", attr("title")),
        "sku": F("String", attr("sku")),
        "price": F("Money!", attr("price")),
        "product": F("Product!", lambda v, a, c: c.store.products[v.product_id]),
        "inventoryItem": F("InventoryItem!", lambda v, a, c: c.store.items[v.inventory_item_id]),
    }
    o["InventoryItem"] = {
        "id": F("ID!", gid_of("InventoryItem")),
        "legacyResourceId": F("UnsignedInt64!", attr("id")),
        "sku": F("String", attr("sku")),
        "tracked": F("Boolean!", attr("tracked")),
        "variant": F("ProductVariant!", lambda i, a, c: c.store.variants.get(i.variant_id)),
        "inventoryLevel": F("InventoryLevel", lambda i, a, c: c.store.levels.get(
            (i.id, parse_gid(a["locationId"])[1] if parse_gid(a["locationId"]) else -1)), {"locationId": "ID!"}),
        "inventoryLevels": conn("InventoryLevel", lambda i, a, c: [lv for (item, _), lv in c.store.levels.items()
                                                                   if item == i.id]),
    }
    o["InventoryLevel"] = {
        "id": F("ID!", lambda lv, a, c: level_gid(lv.location_id, lv.item_id)),
        "location": F("Location!", lambda lv, a, c: c.store.locations[lv.location_id]),
        "item": F("InventoryItem!", lambda lv, a, c: c.store.items[lv.item_id]),
        "quantities": F("[InventoryQuantity!]!", _quantities, {"names": "[String!]!"}),
        "updatedAt": F("DateTime!", attr("updated_at")),
    }
    o["InventoryQuantity"] = {
        "name": F("String!", key("name")), "quantity": F("Int!", key("quantity")),
        "updatedAt": F("DateTime", key("updatedAt")),
    }
    o["InventoryAdjustmentGroup"] = {
        "id": F("ID!", gid_of("InventoryAdjustmentGroup")),
        "createdAt": F("DateTime!", attr("created_at")),
        "reason": F("String!", attr("reason")),
        "referenceDocumentUri": F("String", attr("reference_document_uri")),
        "app": F("App", lambda g, a, c: {"id": gid("App", 1), "title": "ReturnBridge emulator client"}),
        "changes": F("[InventoryChange!]!", _adjustment_changes,
                     {"inventoryItemIds": "[ID!]", "locationIds": "[ID!]", "quantityNames": "[String!]"}),
    }
    o["App"] = {"id": F("ID!", key("id")), "title": F("String!", key("title"))}
    o["InventoryChange"] = {
        "name": F("String!", attr("name")),
        "delta": F("Int!", attr("delta")),
        # Live captures show null here (A.5.1).
        "quantityAfterChange": F("Int", lambda ch, a, c: None),
        "ledgerDocumentUri": F("String", attr("ledger_document_uri")),
        "item": F("InventoryItem", lambda ch, a, c: c.store.items.get(ch.item_id)),
        "location": F("Location", lambda ch, a, c: c.store.locations.get(ch.location_id)),
    }
    o["Order"] = {
        "id": F("ID!", gid_of("Order")),
        "legacyResourceId": F("UnsignedInt64!", attr("id")),
        "name": F("String!", attr("name")),
        "createdAt": F("DateTime!", attr("created_at")),
        "updatedAt": F("DateTime!", lambda od, a, c: od.updated_at or od.created_at),
        "processedAt": F("DateTime!", attr("created_at")),
        "cancelledAt": F("DateTime", attr("cancelled_at")),
        "closed": F("Boolean!", lambda od, a, c: False),
        "test": F("Boolean!", attr("test")),
        "email": F("String", attr("email")),
        "note": F("String", attr("note")),
        "tags": F("[String!]!", attr("tags")),
        "sourceName": F("String", attr("source_name")),
        "sourceIdentifier": F("String", attr("source_identifier")),
        "poNumber": F("String", attr("po_number")),
        "currencyCode": F("CurrencyCode!", attr("currency")),
        "presentmentCurrencyCode": F("CurrencyCode!", attr("currency")),
        "app": F("OrderApp", lambda od, a, c: None if od.source_name in ("web", "pos", None) else
                 {"id": gid("App", zlib.crc32(od.source_name.encode()) % 10_000_000), "name": od.source_name}),
        "customAttributes": F("[Attribute!]!", lambda od, a, c: [{"key": k, "value": v}
                                                                  for k, v in od.custom_attributes]),
        "metafield": F("Metafield", _metafield, {"namespace": "String", "key": "String!"}),
        "metafields": conn("Metafield", lambda od, a, c: [m for m in od.metafields if a.get("namespace") is None
                                                           or m.namespace == a["namespace"]],
                           {"namespace": "String", "keys": "[String!]"}),
        "displayFinancialStatus": F("OrderDisplayFinancialStatus", lambda od, a, c: c.store.financial_status(od)),
        "displayFulfillmentStatus": F("OrderDisplayFulfillmentStatus!",
                                      lambda od, a, c: c.store.fulfillment_status(od)),
        "returnStatus": F("OrderReturnStatus!", lambda od, a, c: c.store.return_status(od)),
        "lineItems": conn("LineItem", lambda od, a, c: od.line_items),
        "fulfillments": listed("[Fulfillment!]!", lambda od, a, c: od.fulfillments),
        "fulfillmentOrders": conn("FulfillmentOrder", lambda od, a, c: od.fulfillment_orders),
        "transactions": listed("[OrderTransaction!]!", lambda od, a, c: od.transactions),
        "refunds": listed("[Refund!]!", lambda od, a, c: [c.store.refunds[r] for r in od.refund_ids]),
        "returns": conn("Return", lambda od, a, c: [c.store.returns[r] for r in od.return_ids],
                        {"query": "String"}),
        "subtotalPriceSet": F("MoneyBag", money(lambda od, c: c.store.order_subtotal(od))),
        "totalTaxSet": F("MoneyBag", money(lambda od, c: c.store.order_tax(od))),
        "totalShippingPriceSet": F("MoneyBag!", money(lambda od, c: od.shipping_price)),
        "totalPriceSet": F("MoneyBag!", money(lambda od, c: c.store.order_total(od))),
        "currentTotalPriceSet": F("MoneyBag!", money(lambda od, c: c.store.order_total(od) - c.store.refunded(od))),
        "totalReceivedSet": F("MoneyBag!", money(lambda od, c: c.store.received(od))),
        "totalRefundedSet": F("MoneyBag!", money(lambda od, c: c.store.refunded(od))),
        "netPaymentSet": F("MoneyBag!", money(lambda od, c: c.store.net_payment(od))),
    }
    o["OrderApp"] = {"id": F("ID!", key("id")), "name": F("String!", key("name"))}
    o["Attribute"] = {"key": F("String!", key("key")), "value": F("String", key("value"))}
    o["Metafield"] = {
        "namespace": F("String!", attr("namespace")), "key": F("String!", attr("key")),
        "value": F("String!", attr("value")), "type": F("String!", attr("type")),
    }
    o["MoneyBag"] = {"shopMoney": F("MoneyV2!", lambda m, a, c: m),
                     "presentmentMoney": F("MoneyV2!", lambda m, a, c: m)}
    o["MoneyV2"] = {"amount": F("Decimal!", attr("amount")), "currencyCode": F("CurrencyCode!", attr("currency"))}
    o["TaxLine"] = {
        "title": F("String!", lambda t, a, c: "Tax"), "rate": F("Float", lambda t, a, c: t[0].tax_rate),
        "priceSet": F("MoneyBag!", lambda t, a, c: Money(c.store.line_tax(t[0]), c.store.currency)),
    }
    o["LineItem"] = {
        "id": F("ID!", gid_of("LineItem")),
        "title": F("String!", attr("title")),
        "name": F("String!", attr("title")),
        "sku": F("String", attr("sku")),
        "quantity": F("Int!", attr("quantity")),
        "currentQuantity": F("Int!", _line_refundable_field := (lambda li, a, c: _line_refundable(li, c))),
        "refundableQuantity": F("Int!", _line_refundable_field),
        "unfulfilledQuantity": F("Int!", lambda li, a, c: li.quantity - _fulfilled(c, li)),
        "restockable": F("Boolean!", _line_restockable),
        "variant": F("ProductVariant", lambda li, a, c: c.store.variants.get(li.variant_id) if li.variant_id
                     else None),
        "originalUnitPriceSet": F("MoneyBag!", money(lambda li, c: li.unit_price)),
        "discountedUnitPriceSet": F("MoneyBag!", money(lambda li, c: li.unit_price)),
        "originalTotalSet": F("MoneyBag!", money(lambda li, c: li.unit_price * li.quantity)),
        "taxLines": F("[TaxLine!]!", lambda li, a, c: [(li,)] if li.tax_rate else []),
    }
    o["Fulfillment"] = {
        "id": F("ID!", gid_of("Fulfillment")),
        "status": F("FulfillmentStatus!", attr("status")),
        "createdAt": F("DateTime!", attr("created_at")),
        "location": F("Location", lambda f, a, c: c.store.locations.get(f.location_id)),
        "fulfillmentLineItems": conn("FulfillmentLineItem", lambda f, a, c: f.line_items),
    }
    o["FulfillmentLineItem"] = {
        "id": F("ID!", gid_of("FulfillmentLineItem")),
        "quantity": F("Int", attr("quantity")),
        "lineItem": F("LineItem!", lambda f, a, c: _line_of_fli(c, f)),
        "originalTotalSet": F("MoneyBag!", money(lambda f, c: _line_of_fli(c, f).unit_price * f.quantity)),
    }
    o["FulfillmentOrder"] = {
        "id": F("ID!", gid_of("FulfillmentOrder")),
        "status": F("FulfillmentOrderStatus!", attr("status")),
        "assignedLocation": F("FulfillmentOrderAssignedLocation!", lambda fo, a, c: fo),
        "lineItems": conn("FulfillmentOrderLineItem", lambda fo, a, c: fo.line_items),
    }
    o["FulfillmentOrderAssignedLocation"] = {
        "location": F("Location", lambda fo, a, c: c.store.locations.get(fo.location_id)),
        "name": F("String!", lambda fo, a, c: c.store.locations[fo.location_id].name),
    }
    o["FulfillmentOrderLineItem"] = {
        "id": F("ID!", gid_of("FulfillmentOrderLineItem")),
        "totalQuantity": F("Int!", attr("total_quantity")),
        "remainingQuantity": F("Int!", attr("remaining_quantity")),
        "lineItem": F("LineItem!", lambda f, a, c: _line_of_fli(c, f)),
    }
    o["OrderTransaction"] = {
        "id": F("ID!", gid_of("OrderTransaction")),
        "kind": F("OrderTransactionKind!", attr("kind")),
        "status": F("OrderTransactionStatus!", attr("status")),
        "gateway": F("String", attr("gateway")),
        "formattedGateway": F("String", lambda t, a, c: t.gateway.replace("_", " ").title()),
        "amountSet": F("MoneyBag!", money(lambda t, c: t.amount)),
        "createdAt": F("DateTime!", attr("created_at")),
        "processedAt": F("DateTime", attr("processed_at")),
        "test": F("Boolean!", lambda t, a, c: False),
        "parentTransaction": F("OrderTransaction", lambda t, a, c: c.store.find_transaction(t.parent_id)[1]
                               if t.parent_id and c.store.find_transaction(t.parent_id) else None),
        "order": F("Order", lambda t, a, c: _transaction_order(c, t)),
    }
    o["Refund"] = {
        "id": F("ID!", gid_of("Refund")),
        "legacyResourceId": F("UnsignedInt64!", attr("id")),
        "note": F("String", attr("note")),
        "createdAt": F("DateTime", attr("created_at")),
        "updatedAt": F("DateTime!", attr("created_at")),
        "processedAt": F("DateTime!", attr("processed_at")),
        "totalRefundedSet": F("MoneyBag!", money(lambda r, c: r.total_refunded)),
        "totalRefunded": F("MoneyV2!", lambda r, a, c: Money(r.total_refunded, c.store.currency)),
        "order": F("Order!", lambda r, a, c: _store_order(c, r.order_id)),
        "return": F("Return", lambda r, a, c: c.store.returns.get(r.return_id) if r.return_id else None),
        "refundLineItems": conn("RefundLineItem", lambda r, a, c: r.line_items),
        "transactions": conn("OrderTransaction", lambda r, a, c: [
            t for t in _store_order(c, r.order_id).transactions if t.id in r.transaction_ids]),
    }
    o["RefundLineItem"] = {
        "id": F("ID", gid_of("RefundLineItem")),
        "lineItem": F("LineItem!", lambda rl, a, c: _store_line(c, rl.line_item_id)),
        "quantity": F("Int!", attr("quantity")),
        "restockType": F("RefundLineItemRestockType!", attr("restock_type")),
        "restocked": F("Boolean!", attr("restocked")),
        "location": F("Location", lambda rl, a, c: c.store.locations.get(rl.location_id) if rl.location_id
                      else None),
        "price": F("Money!", attr("price")),
        "priceSet": F("MoneyBag!", money(lambda rl, c: rl.price)),
        "subtotal": F("Money!", attr("subtotal")),
        "subtotalSet": F("MoneyBag!", money(lambda rl, c: rl.subtotal)),
        "totalTax": F("Money!", attr("total_tax")),
        "totalTaxSet": F("MoneyBag!", money(lambda rl, c: rl.total_tax)),
    }
    o["Return"] = {
        "id": F("ID!", gid_of("Return")),
        "name": F("String!", attr("name")),
        "status": F("ReturnStatus!", attr("status")),
        "order": F("Order!", lambda r, a, c: _store_order(c, r.order_id)),
        "createdAt": F("DateTime!", attr("created_at")),
        "closedAt": F("DateTime", attr("closed_at")),
        "requestApprovedAt": F("DateTime", attr("request_approved_at")),
        "totalQuantity": F("Int!", lambda r, a, c: r.total_quantity),
        "decline": F("ReturnDecline", attr("decline")),
        "returnLineItems": conn("ReturnLineItemType", lambda r, a, c: r.line_items),
        "reverseFulfillmentOrders": conn("ReverseFulfillmentOrder", lambda r, a, c: r.reverse_fulfillment_orders),
        "refunds": conn("Refund", lambda r, a, c: [c.store.refunds[x] for x in r.refund_ids]),
    }
    o["ReturnDecline"] = {"reason": F("ReturnDeclineReason!", attr("reason")), "note": F("String", attr("note"))}
    return_line = {
        "id": F("ID!", gid_of("ReturnLineItem")),
        "quantity": F("Int!", attr("quantity")),
        "processedQuantity": F("Int!", attr("processed_quantity")),
        "unprocessedQuantity": F("Int!", lambda ln, a, c: ln.quantity - ln.processed_quantity),
        "processableQuantity": F("Int!", lambda ln, a, c: ln.quantity - ln.processed_quantity),
        "refundableQuantity": F("Int!", lambda ln, a, c: ln.quantity - ln.refunded_quantity),
        "refundedQuantity": F("Int!", attr("refunded_quantity")),
        "returnReason": F("ReturnReason!", lambda ln, a, c: ln.return_reason or "UNKNOWN"),
        "returnReasonNote": F("String!", attr("return_reason_note")),
        "customerNote": F("String", attr("customer_note")),
        "returnReasonDefinition": F("ReturnReasonDefinition", lambda ln, a, c: (
            (ln.return_reason_definition_id, *RETURN_REASON_DEFINITIONS[ln.return_reason_definition_id])
            if ln.return_reason_definition_id else None)),
    }
    o["ReturnLineItemType"] = dict(return_line)
    o["ReturnLineItem"] = {
        **return_line,
        "fulfillmentLineItem": F("FulfillmentLineItem!", _return_line_fli),
        "withCodeDiscountedTotalPriceSet": F("MoneyBag!", money(_return_line_total)),
    }
    schema.abstract["ReturnLineItemType"] = ("ReturnLineItem",)
    o["ReturnReasonDefinition"] = {
        "id": F("ID!", lambda d, a, c: gid("ReturnReasonDefinition", d[0])),
        "handle": F("String!", lambda d, a, c: d[1]), "name": F("String!", lambda d, a, c: d[2]),
        "deleted": F("Boolean!", lambda d, a, c: False),
    }
    o["ReverseFulfillmentOrder"] = {
        "id": F("ID!", gid_of("ReverseFulfillmentOrder")),
        "status": F("ReverseFulfillmentOrderStatus!", attr("status")),
        "order": F("Order", lambda rfo, a, c: _store_order(c, c.store.returns[rfo.return_id].order_id)),
        "lineItems": conn("ReverseFulfillmentOrderLineItem", lambda rfo, a, c: rfo.line_items),
    }
    o["ReverseFulfillmentOrderLineItem"] = {
        "id": F("ID!", gid_of("ReverseFulfillmentOrderLineItem")),
        "totalQuantity": F("Int!", attr("total_quantity")),
        "fulfillmentLineItem": F("FulfillmentLineItem", _rfo_line_fli),
        "dispositions": F("[ReverseFulfillmentOrderDisposition!]!", attr("dispositions")),
    }
    o["ReverseFulfillmentOrderDisposition"] = {
        "id": F("ID!", gid_of("ReverseFulfillmentOrderDisposition")),
        "type": F("ReverseFulfillmentOrderDispositionType!", attr("type")),
        "quantity": F("Int!", attr("quantity")),
        "location": F("Location", lambda d, a, c: c.store.locations.get(d.location_id) if d.location_id else None),
        "createdAt": F("DateTime!", attr("created_at")),
    }
    o["ReturnableFulfillment"] = {
        "id": F("ID!", lambda p, a, c: gid("ReturnableFulfillment", p[1].id)),
        "fulfillment": F("Fulfillment!", lambda p, a, c: p[1]),
        "returnableFulfillmentLineItems": conn("ReturnableFulfillmentLineItem", lambda p, a, c: [
            (line, c.store.returnable_quantity(p[0], line)) for line in p[1].line_items
            if c.store.returnable_quantity(p[0], line)]),
    }
    o["ReturnableFulfillmentLineItem"] = {
        "fulfillmentLineItem": F("FulfillmentLineItem!", lambda p, a, c: p[0]),
        "quantity": F("Int!", lambda p, a, c: p[1]),
    }
    o["UserError"] = {"field": F("[String!]", attr("field")), "message": F("String!", attr("message"))}
    for typed in ("ReturnUserError", "InventoryAdjustQuantitiesUserError", "InventorySetQuantitiesUserError"):
        o[typed] = {**o["UserError"], "code": F(typed.replace("UserError", "UserErrorCode")
                                                 if typed != "ReturnUserError" else "ReturnErrorCode",
                                                 attr("code"))}
    o["PageInfo"] = dict(PAGE_INFO)

    for base in ("Location", "Order", "InventoryItem", "InventoryLevel", "ProductVariant", "ReturnableFulfillment",
                 "ReturnReasonDefinition", "Metafield", "LineItem", "FulfillmentOrder", "Return", "FulfillmentLineItem",
                 "RefundLineItem", "OrderTransaction", "ReturnLineItemType", "ReverseFulfillmentOrder", "Refund",
                 "ReverseFulfillmentOrderLineItem", "FulfillmentOrderLineItem", "ReturnableFulfillmentLineItem"):
        connection, edge = connection_fields(base)
        o[f"{base}Connection"] = connection
        o[f"{base}Edge"] = edge
        schema.connections.add(f"{base}Connection")

    _enums(schema)
    _inputs(schema)
    _mutations(schema)
    return schema


def _store_line(ctx: Context, line_id: int) -> LineItem:
    for order in ctx.store.orders.values():
        line = order.line_item(line_id)
        if line is not None:
            return line
    raise FieldError("line item not found")


def _enums(schema: Schema) -> None:
    e = schema.enums
    e["ReturnStatus"] = ("CANCELED", "CLOSED", "OPEN", "REQUESTED", "DECLINED")
    e["ReturnReason"] = ("SIZE_TOO_SMALL", "SIZE_TOO_LARGE", "UNWANTED", "NOT_AS_DESCRIBED", "WRONG_ITEM",
                         "DEFECTIVE", "STYLE", "COLOR", "OTHER", "UNKNOWN")
    e["ReturnDeclineReason"] = ("RETURN_PERIOD_ENDED", "FINAL_SALE", "OTHER")
    e["ReturnErrorCode"] = (
        "INTERNAL_ERROR", "TOO_MANY_ARGUMENTS", "BLANK", "EQUAL_TO", "GREATER_THAN", "GREATER_THAN_OR_EQUAL_TO",
        "INCLUSION", "INVALID", "LESS_THAN", "LESS_THAN_OR_EQUAL_TO", "NOT_A_NUMBER", "PRESENT", "TAKEN", "TOO_BIG",
        "TOO_LONG", "TOO_SHORT", "WRONG_LENGTH", "ALREADY_EXISTS", "CREATION_FAILED", "FEATURE_NOT_ENABLED",
        "INCOMPATIBLE_WITH_STANDARD_POLICY", "INVALID_STATE", "MISSING_PERMISSION", "NOTIFICATION_FAILED",
        "NOT_EDITABLE", "NOT_FOUND")
    e["ReverseFulfillmentOrderStatus"] = ("CANCELED", "CLOSED", "OPEN")
    e["ReverseFulfillmentOrderDispositionType"] = ("RESTOCKED", "PROCESSING_REQUIRED", "NOT_RESTOCKED", "MISSING")
    e["RefundLineItemRestockType"] = ("RETURN", "CANCEL", "LEGACY_RESTOCK", "NO_RESTOCK")
    e["OrderTransactionKind"] = ("SALE", "CAPTURE", "AUTHORIZATION", "VOID", "REFUND", "CHANGE",
                                 "EMV_AUTHORIZATION", "SUGGESTED_REFUND")
    e["OrderTransactionStatus"] = ("AWAITING_RESPONSE", "ERROR", "FAILURE", "PENDING", "SUCCESS", "UNKNOWN")
    e["OrderAdjustmentInputDiscrepancyReason"] = ("RESTOCK", "DAMAGE", "CUSTOMER", "OTHER")
    e["OrderReturnStatus"] = ("IN_PROGRESS", "INSPECTION_COMPLETE", "NO_RETURN", "RETURNED", "RETURN_FAILED",
                              "RETURN_REQUESTED")
    e["InventoryAdjustQuantitiesUserErrorCode"] = (
        "INTERNAL_LEDGER_DOCUMENT", "INVALID_AVAILABLE_DOCUMENT", "INVALID_INVENTORY_ITEM", "INVALID_LEDGER_DOCUMENT",
        "INVALID_LOCATION", "INVALID_QUANTITY_DOCUMENT", "INVALID_QUANTITY_NAME", "INVALID_QUANTITY_TOO_LOW",
        "INVALID_QUANTITY_TOO_HIGH", "INVALID_REASON", "INVALID_REFERENCE_DOCUMENT", "SERVICE_UNAVAILABLE",
        "CHANGE_FROM_QUANTITY_STALE", "ADJUST_QUANTITIES_FAILED", "MAX_ONE_LEDGER_DOCUMENT",
        "ITEM_NOT_STOCKED_AT_LOCATION", "NON_MUTABLE_INVENTORY_ITEM", "IDEMPOTENCY_CONCURRENT_REQUEST",
        "IDEMPOTENCY_KEY_PARAMETER_MISMATCH", "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED")
    e["InventorySetQuantitiesUserErrorCode"] = e["InventoryAdjustQuantitiesUserErrorCode"]
    e["OrderSortKeys"] = ("CREATED_AT", "CURRENT_TOTAL_PRICE", "CUSTOMER_NAME", "DESTINATION", "FINANCIAL_STATUS",
                          "FULFILLMENT_STATUS", "ID", "ORDER_NUMBER", "PO_NUMBER", "PROCESSED_AT", "RELEVANCE",
                          "TOTAL_ITEMS_QUANTITY", "TOTAL_PRICE", "UPDATED_AT")
    e["OrderDisplayFinancialStatus"] = ("AUTHORIZED", "EXPIRED", "PAID", "PARTIALLY_PAID", "PARTIALLY_REFUNDED",
                                        "PENDING", "REFUNDED", "VOIDED")
    e["OrderDisplayFulfillmentStatus"] = ("FULFILLED", "IN_PROGRESS", "ON_HOLD", "OPEN", "PARTIALLY_FULFILLED",
                                          "PENDING_FULFILLMENT", "REQUEST_DECLINED", "RESTOCKED", "SCHEDULED",
                                          "UNFULFILLED")
    e["FulfillmentStatus"] = ("CANCELLED", "ERROR", "FAILURE", "SUCCESS", "OPEN", "PENDING")
    e["FulfillmentOrderStatus"] = ("CANCELLED", "CLOSED", "INCOMPLETE", "IN_PROGRESS", "ON_HOLD", "OPEN",
                                   "SCHEDULED")
    # A subset of ISO 4217; enough for the emulator's stores.
    e["CurrencyCode"] = ("USD", "CAD", "EUR", "GBP", "AUD", "NZD", "JPY", "SGD", "MYR", "THB", "VND", "PHP", "IDR",
                         "MXN", "BRL", "CHF", "SEK", "NOK", "DKK", "PLN")


def _inputs(schema: Schema) -> None:
    i = schema.inputs
    i["MoneyInput"] = InputDef({"amount": "Decimal!", "currencyCode": "CurrencyCode!"})
    i["RestockingFeeInput"] = InputDef({"percentage": "Float!"})
    i["ReturnShippingFeeInput"] = InputDef({"amount": "MoneyInput!"})
    i["ExchangeLineItemInput"] = InputDef({"variantId": "ID", "quantity": "Int!"})
    i["ReturnLineItemInput"] = InputDef(
        {"quantity": "Int!", "returnReason": "ReturnReason", "returnReasonDefinitionId": "ID",
         "returnReasonNote": "String", "fulfillmentLineItemId": "ID!", "restockingFee": "RestockingFeeInput"},
        {"returnReasonNote": ""})
    i["ReturnInput"] = InputDef(
        {"exchangeLineItems": "[ExchangeLineItemInput!]", "requestedAt": "DateTime", "orderId": "ID!",
         "returnLineItems": "[ReturnLineItemInput!]!", "returnShippingFee": "ReturnShippingFeeInput",
         "notifyCustomer": "Boolean", "unprocessed": "Boolean"},
        {"notifyCustomer": False, "unprocessed": False})
    i["ReturnRequestLineItemInput"] = InputDef(
        {"fulfillmentLineItemId": "ID!", "quantity": "Int!", "restockingFee": "RestockingFeeInput",
         "returnReason": "ReturnReason", "returnReasonDefinitionId": "ID", "customerNote": "String"})
    i["ReturnRequestInput"] = InputDef({"orderId": "ID!", "returnLineItems": "[ReturnRequestLineItemInput!]!",
                                        "returnShippingFee": "ReturnShippingFeeInput"})
    i["ReturnApproveRequestInput"] = InputDef({"id": "ID!", "notifyCustomer": "Boolean", "unprocessed": "Boolean"},
                                              {"notifyCustomer": False, "unprocessed": False})
    i["ReturnDeclineRequestInput"] = InputDef(
        {"id": "ID!", "declineReason": "ReturnDeclineReason!", "notifyCustomer": "Boolean", "declineNote": "String"},
        {"notifyCustomer": False})
    i["ReverseFulfillmentOrderDisposeInput"] = InputDef(
        {"reverseFulfillmentOrderLineItemId": "ID!", "quantity": "Int!", "locationId": "ID",
         "dispositionType": "ReverseFulfillmentOrderDispositionType!"})
    i["ReturnProcessReturnLineItemInput"] = InputDef(
        {"id": "ID!", "quantity": "Int!", "dispositions": "[ReverseFulfillmentOrderDisposeInput!]"})
    i["ReturnProcessExchangeLineItemInput"] = InputDef({"id": "ID!", "quantity": "Int!"})
    i["RefundDutyInput"] = InputDef({"dutyId": "ID!", "refundType": "String"})
    i["RefundShippingInput"] = InputDef({"shippingRefundAmount": "MoneyInput", "fullRefund": "Boolean"},
                                        {"fullRefund": False})
    i["ReturnRefundOrderTransactionInput"] = InputDef({"transactionAmount": "MoneyInput!", "parentId": "ID!"})
    i["StoreCreditRefundInput"] = InputDef({"amount": "MoneyInput!", "expiresAt": "DateTime"})
    i["RefundMethodInput"] = InputDef({"storeCreditRefund": "StoreCreditRefundInput"})
    i["ReturnProcessRefundInput"] = InputDef(
        {"allowOverRefunding": "Boolean", "orderTransactions": "[ReturnRefundOrderTransactionInput!]!",
         "refundMethods": "[RefundMethodInput!]"}, {"allowOverRefunding": False, "refundMethods": []})
    i["ReturnProcessFinancialTransferInput"] = InputDef({"issueRefund": "ReturnProcessRefundInput"})
    i["ReturnProcessInput"] = InputDef(
        {"returnId": "ID!", "returnLineItems": "[ReturnProcessReturnLineItemInput!]",
         "exchangeLineItems": "[ReturnProcessExchangeLineItemInput!]", "refundDuties": "[RefundDutyInput!]",
         "refundShipping": "RefundShippingInput", "tipLineId": "ID", "note": "String", "notifyCustomer": "Boolean",
         "financialTransfer": "ReturnProcessFinancialTransferInput"},
        {"returnLineItems": [], "exchangeLineItems": [], "refundDuties": [], "notifyCustomer": False})
    i["RefundLineItemInput"] = InputDef({"lineItemId": "ID!", "quantity": "Int!",
                                         "restockType": "RefundLineItemRestockType", "locationId": "ID"})
    i["ShippingRefundInput"] = InputDef({"amount": "Money", "fullRefund": "Boolean"})
    i["OrderTransactionInput"] = InputDef({"amount": "Money!", "gateway": "String!", "kind": "OrderTransactionKind!",
                                           "orderId": "ID!", "parentId": "ID"})
    i["RefundInput"] = InputDef(
        {"currency": "CurrencyCode", "orderId": "ID!", "note": "String", "notify": "Boolean",
         "shipping": "ShippingRefundInput", "processedAt": "DateTime", "refundLineItems": "[RefundLineItemInput!]",
         "refundDuties": "[RefundDutyInput!]", "transactions": "[OrderTransactionInput!]",
         "refundMethods": "[RefundMethodInput!]", "discrepancyReason": "OrderAdjustmentInputDiscrepancyReason",
         "allowOverRefunding": "Boolean"},
        {"refundMethods": [], "allowOverRefunding": False})
    i["InventoryChangeInput"] = InputDef({"delta": "Int!", "changeFromQuantity": "Int", "inventoryItemId": "ID!",
                                          "locationId": "ID!", "ledgerDocumentUri": "String"})
    i["InventoryAdjustQuantitiesInput"] = InputDef({"reason": "String!", "name": "String!",
                                                    "referenceDocumentUri": "String",
                                                    "changes": "[InventoryChangeInput!]!"})
    i["InventoryQuantityInput"] = InputDef({"inventoryItemId": "ID!", "locationId": "ID!", "quantity": "Int!",
                                            "changeFromQuantity": "Int"})
    i["InventorySetQuantitiesInput"] = InputDef({"name": "String!", "reason": "String!",
                                                 "referenceDocumentUri": "String",
                                                 "quantities": "[InventoryQuantityInput!]!"})


# --- mutations -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MutationSpec:
    args: dict[str, str]
    payload: str
    payload_fields: dict[str, str]
    handler: Callable[[Store, dict[str, Any]], dict[str, Any]]
    # "required" on 2026-04 for refundCreate and the inventory mutations (A.6); "none" elsewhere.
    idempotency: str = "none"
    error_type: str = "ReturnUserError"
    # Input lists whose entries must carry changeFromQuantity, even as null (2026-04).
    compare_lists: tuple[tuple[str, str, str], ...] = ()


MUTATIONS: dict[str, MutationSpec] = {
    "returnCreate": MutationSpec({"returnInput": "ReturnInput!"}, "ReturnCreatePayload", {"return": "Return"},
                                 returns.return_create),
    "returnRequest": MutationSpec({"input": "ReturnRequestInput!"}, "ReturnRequestPayload", {"return": "Return"},
                                  returns.return_request),
    "returnApproveRequest": MutationSpec({"input": "ReturnApproveRequestInput!"}, "ReturnApproveRequestPayload",
                                         {"return": "Return"}, returns.return_approve_request),
    "returnDeclineRequest": MutationSpec({"input": "ReturnDeclineRequestInput!"}, "ReturnDeclineRequestPayload",
                                         {"return": "Return"}, returns.return_decline_request),
    "returnProcess": MutationSpec({"input": "ReturnProcessInput!"}, "ReturnProcessPayload", {"return": "Return"},
                                  returns.return_process),
    "returnClose": MutationSpec({"id": "ID!"}, "ReturnClosePayload", {"return": "Return"}, returns.return_close),
    "returnReopen": MutationSpec({"id": "ID!"}, "ReturnReopenPayload", {"return": "Return"}, returns.return_reopen),
    "returnCancel": MutationSpec({"id": "ID!", "notifyCustomer": "Boolean"}, "ReturnCancelPayload",
                                 {"return": "Return"}, returns.return_cancel),
    "reverseFulfillmentOrderDispose": MutationSpec(
        {"dispositionInputs": "[ReverseFulfillmentOrderDisposeInput!]!"}, "ReverseFulfillmentOrderDisposePayload",
        {"reverseFulfillmentOrderLineItems": "[ReverseFulfillmentOrderLineItem!]"},
        returns.reverse_fulfillment_order_dispose),
    "refundCreate": MutationSpec({"input": "RefundInput!"}, "RefundCreatePayload",
                                 {"refund": "Refund", "order": "Order"}, refunds.refund_create,
                                 idempotency="required", error_type="UserError"),
    "inventoryAdjustQuantities": MutationSpec(
        {"input": "InventoryAdjustQuantitiesInput!"}, "InventoryAdjustQuantitiesPayload",
        {"inventoryAdjustmentGroup": "InventoryAdjustmentGroup"}, inventory.inventory_adjust_quantities,
        idempotency="required", error_type="InventoryAdjustQuantitiesUserError",
        compare_lists=(("input", "changes", "InventoryChangeInput"),)),
    "inventorySetQuantities": MutationSpec(
        {"input": "InventorySetQuantitiesInput!"}, "InventorySetQuantitiesPayload",
        {"inventoryAdjustmentGroup": "InventoryAdjustmentGroup"}, inventory.inventory_set_quantities,
        idempotency="required", error_type="InventorySetQuantitiesUserError",
        compare_lists=(("input", "quantities", "InventoryQuantityInput"),)),
}


def _directive_key(node: FieldNode, variables: dict[str, Any]) -> str | None:
    for directive in node.directives:
        if directive.name == "idempotent":
            value = directive.arguments.get("key")
            if isinstance(value, Variable):
                value = variables.get(value.name)
            return value if isinstance(value, str) else ""
    return None


def _mutation_resolver(name: str, spec: MutationSpec) -> Callable[[Any, dict, Context], Any]:
    def resolve(root: Any, args: dict[str, Any], ctx: Context) -> dict[str, Any]:
        execution = ctx.execution
        assert execution is not None and execution.current_field is not None
        idem_key = _directive_key(execution.current_field, execution.variables)
        if idem_key is None and spec.idempotency == "required":
            raise FieldError(REQUIRED, "BAD_REQUEST")
        if idem_key is not None and spec.idempotency == "none":
            raise FieldError(UNSUPPORTED, "BAD_REQUEST")
        if idem_key is not None and not idem_key.strip():
            raise FieldError(BLANK, "BAD_REQUEST")
        for arg_name, list_name, type_name in spec.compare_lists:
            entries = (args.get(arg_name) or {}).get(list_name) or []
            if any("changeFromQuantity" not in entry for entry in entries):
                raise FieldError(f"{type_name} must include the following argument: changeFromQuantity.",
                                 "INVALID_FIELD_ARGUMENTS")
        store = ctx.store
        if idem_key is not None:
            print_ = fingerprint(name, args)
            known = store.idempotency.get(idem_key)
            if known is not None:
                if known[0] == print_:
                    ctx.replayed.append(name)
                    return known[1]
                code = "IDEMPOTENCY_KEY_PARAMETER_MISMATCH" if spec.error_type != "UserError" else None
                return {**dict.fromkeys(spec.payload_fields), "userErrors": [UserError(None, MISMATCH, code)]}
        payload = spec.handler(store, args)
        if idem_key is not None:
            store.idempotency[idem_key] = (print_, payload)
        ctx.mutated.append(name)
        return payload
    return resolve


def _mutations(schema: Schema) -> None:
    root: dict[str, FieldDef] = {}
    for name, spec in MUTATIONS.items():
        root[name] = FieldDef(f"{spec.payload}", _mutation_resolver(name, spec), dict(spec.args))
        fields = {field_name: F(type_, key(field_name)) for field_name, type_ in spec.payload_fields.items()}
        fields["userErrors"] = F(f"[{spec.error_type}!]!", key("userErrors"))
        schema.objects[spec.payload] = fields
    schema.objects["Mutation"] = root


SCHEMA = build_schema()
