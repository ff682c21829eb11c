"""Plain-JSON read-back of a store for the control API: GIDs and decimal strings, like the API shows them."""

from __future__ import annotations

from typing import Any

from .gids import gid, level_gid
from .model import AdjustmentGroup, Order, Refund, Return
from .money import render_amount
from .world import Store


def _time(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def store_summary(store: Store) -> dict[str, Any]:
    return {
        "domain": store.domain, "name": store.name, "token": store.token, "currency": store.currency,
        "shop_id": gid("Shop", store.shop_id),
        "locations": [{"id": gid("Location", loc.id), "name": loc.name} for loc in store.locations.values()],
        "variants": [{"id": gid("ProductVariant", v.id), "sku": v.sku, "price": render_amount(v.price),
                      "inventory_item_id": gid("InventoryItem", v.inventory_item_id),
                      "tracked": store.items[v.inventory_item_id].tracked} for v in store.variants.values()],
        "orders": len(store.orders), "returns": len(store.returns), "refunds": len(store.refunds),
        "filterable_metafields": sorted(f"{ns}.{key}" for ns, key in store.filterable_metafields),
        "order_window_days": store.order_window_days,
    }


def order(store: Store, record: Order) -> dict[str, Any]:
    return {
        "id": gid("Order", record.id), "name": record.name, "created_at": _time(record.created_at),
        "tags": record.tags, "note": record.note, "source_name": record.source_name,
        "source_identifier": record.source_identifier, "email": record.email,
        "custom_attributes": [{"key": k, "value": v} for k, v in record.custom_attributes],
        "metafields": [{"namespace": m.namespace, "key": m.key, "value": m.value} for m in record.metafields],
        "currency": record.currency, "total": render_amount(store.order_total(record)),
        "shipping": render_amount(record.shipping_price),
        "net_payment": render_amount(store.net_payment(record)),
        "total_refunded": render_amount(store.refunded(record)),
        "financial_status": store.financial_status(record), "return_status": store.return_status(record),
        "line_items": [{"id": gid("LineItem", li.id), "sku": li.sku, "title": li.title, "quantity": li.quantity,
                        "unit_price": render_amount(li.unit_price), "tax": render_amount(store.line_tax(li)),
                        "variant_id": gid("ProductVariant", li.variant_id) if li.variant_id else None,
                        "refundable_quantity": store.refundable_quantity(record, li)} for li in record.line_items],
        "fulfillments": [{"id": gid("Fulfillment", f.id), "location_id": gid("Location", f.location_id),
                          "line_items": [{"id": gid("FulfillmentLineItem", fl.id),
                                          "line_item_id": gid("LineItem", fl.line_item_id), "quantity": fl.quantity}
                                         for fl in f.line_items]} for f in record.fulfillments],
        "transactions": [{"id": gid("OrderTransaction", t.id), "kind": t.kind, "status": t.status,
                          "gateway": t.gateway, "amount": render_amount(t.amount),
                          "parent_id": gid("OrderTransaction", t.parent_id) if t.parent_id else None}
                         for t in record.transactions],
        "return_ids": [gid("Return", r) for r in record.return_ids],
        "refund_ids": [gid("Refund", r) for r in record.refund_ids],
    }


def return_(record: Return) -> dict[str, Any]:
    return {
        "id": gid("Return", record.id), "order_id": gid("Order", record.order_id), "name": record.name,
        "status": record.status, "created_at": _time(record.created_at), "closed_at": _time(record.closed_at),
        "total_quantity": record.total_quantity,
        "decline": {"reason": record.decline.reason, "note": record.decline.note} if record.decline else None,
        "line_items": [{"id": gid("ReturnLineItem", li.id),
                        "fulfillment_line_item_id": gid("FulfillmentLineItem", li.fulfillment_line_item_id),
                        "quantity": li.quantity, "processed_quantity": li.processed_quantity,
                        "return_reason": li.return_reason, "return_reason_note": li.return_reason_note}
                       for li in record.line_items],
        "reverse_fulfillment_orders": [{
            "id": gid("ReverseFulfillmentOrder", rfo.id), "status": rfo.status,
            "line_items": [{"id": gid("ReverseFulfillmentOrderLineItem", ln.id), "total_quantity": ln.total_quantity,
                            "dispositions": [{"type": d.type, "quantity": d.quantity,
                                              "location_id": gid("Location", d.location_id) if d.location_id
                                              else None} for d in ln.dispositions]}
                           for ln in rfo.line_items]} for rfo in record.reverse_fulfillment_orders],
        "refund_ids": [gid("Refund", r) for r in record.refund_ids],
    }


def refund(store: Store, record: Refund) -> dict[str, Any]:
    owner = store.orders[record.order_id]
    return {
        "id": gid("Refund", record.id), "order_id": gid("Order", record.order_id), "note": record.note,
        "created_at": _time(record.created_at), "processed_at": _time(record.processed_at),
        "total_refunded": render_amount(record.total_refunded), "currency": owner.currency,
        "shipping_refunded": render_amount(record.shipping_refunded),
        "return_id": gid("Return", record.return_id) if record.return_id else None,
        "line_items": [{"line_item_id": gid("LineItem", li.line_item_id), "quantity": li.quantity,
                        "restock_type": li.restock_type, "restocked": li.restocked,
                        "location_id": gid("Location", li.location_id) if li.location_id else None,
                        "subtotal": render_amount(li.subtotal), "total_tax": render_amount(li.total_tax)}
                       for li in record.line_items],
        "transactions": [{"id": gid("OrderTransaction", t.id), "kind": t.kind, "gateway": t.gateway,
                          "amount": render_amount(t.amount), "status": t.status,
                          "parent_id": gid("OrderTransaction", t.parent_id) if t.parent_id else None}
                         for t in owner.transactions if t.id in record.transaction_ids],
    }


def adjustment(group: AdjustmentGroup) -> dict[str, Any]:
    return {
        "id": gid("InventoryAdjustmentGroup", group.id), "created_at": _time(group.created_at),
        "reason": group.reason, "reference_document_uri": group.reference_document_uri, "source": group.source,
        "changes": [{"name": c.name, "delta": c.delta, "inventory_item_id": gid("InventoryItem", c.item_id),
                     "location_id": gid("Location", c.location_id), "ledger_document_uri": c.ledger_document_uri}
                    for c in group.changes],
    }


def inventory(store: Store) -> list[dict[str, Any]]:
    return [{"id": level_gid(loc, item), "inventory_item_id": gid("InventoryItem", item),
             "location_id": gid("Location", loc), "sku": store.items[item].sku, "quantities": dict(level.quantities)}
            for (item, loc), level in sorted(store.levels.items())]


def state(store: Store) -> dict[str, Any]:
    return {
        "store": store_summary(store),
        "orders": [order(store, o) for o in store.orders.values()],
        "returns": [return_(r) for r in store.returns.values()],
        "refunds": [refund(store, r) for r in store.refunds.values()],
        "inventory": inventory(store),
        "adjustments": [adjustment(g) for g in store.adjustments],
        "idempotency_keys": sorted(store.idempotency),
    }
