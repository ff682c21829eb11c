"""Turning rows into the exact JSON objects the API returns (contract §3.1, §3.2, §3.10, §7)."""

from __future__ import annotations

from typing import Any

from . import amounts
from . import model as m
from . import reasons as rs
from .book import ShopBook
from .details import Order, Record, ReturnDetail, return_label_cost, warehouse_address
from .money import RefundBreakdown, amount_object
from .timing import cancel_seller_action, cancel_window, return_seller_action, return_window

IMAGE_SIZE = 600


def media_url(base: str, key: str) -> str:
    return f"{base}/_emulator/media/{key}.jpg"


def _image(base: str, key: str) -> dict[str, Any]:
    return {"url": media_url(base, key), "width": IMAGE_SIZE, "height": IMAGE_SIZE}


def sku_image(base: str, sku_id: str) -> dict[str, Any]:
    return _image(base, f"sku-{sku_id}")


def return_object(*, book: ShopBook, row: int, return_id: str, order: Order, detail: ReturnDetail,
                  money: RefundBreakdown, line_ids: list[str], positions: list[int], pre_return_id: str,
                  next_return_id: str, media_base: str, variant: str) -> dict[str, Any]:
    t = book.returns
    rtype, status, arb, role = t.rtype[row], t.status[row], t.arb[row], t.role[row]
    flags = t.flags[row]
    currency, market = book.currency, book.market
    reason = rs.NAMES[t.reason[row]]
    action = return_seller_action(rtype, status, arb, role)
    next_actions = []
    if action:
        next_actions.append({"action": action, "deadline": t.stime[row] + return_window(rtype, status, arb, role)})
    lines = []
    for line_id, position, refund in zip(line_ids, positions, money.lines, strict=True):
        unit = order.units[position]
        lines.append({
            "return_line_item_id": line_id,
            "order_line_item_id": unit.line_id,
            "sku_id": unit.sku_id,
            "sku_name": unit.sku_name,
            "seller_sku": unit.seller_sku,
            "product_name": unit.product_name,
            "product_image": sku_image(media_base, unit.sku_id),
            "refund_amount": amount_object(refund, currency, market),
        })
    label = 0
    seller_paid = platform_paid = buyer_paid = 0
    if rtype != m.REFUND and detail.shipment_type:
        label = return_label_cost(currency)
        if detail.shipment_type == "BUYER_ARRANGE" or reason in rs.REMORSE:
            buyer_paid = label
        else:
            seller_paid = label
    out: dict[str, Any] = {
        "return_id": return_id,
        "order_id": order.id,
        "return_type": m.RETURN_TYPES[rtype],
        "return_status": m.RETURN_STATUSES[status],
    }
    if arb:
        out["arbitration_status"] = m.ARBITRATION[arb]
    out["role"] = m.ROLES[role]
    out["return_reason"] = reason
    out["return_reason_text"] = rs.text(reason)
    if detail.shipment_type:
        out["shipment_type"] = detail.shipment_type
        if detail.handover_method:
            out["handover_method"] = detail.handover_method
        out["return_method"] = detail.return_method
        if detail.document_type:
            out["return_shipping_document_type"] = detail.document_type
        out["return_warehouse_address"] = {"full_address": warehouse_address(market)}
    if detail.tracking_number and detail.carrier is not None:
        out["return_tracking_number"] = detail.tracking_number
        out["return_provider_name"] = detail.carrier[0]
        out["return_provider_id"] = detail.carrier[1]
    if pre_return_id:
        out["pre_return_id"] = pre_return_id
    if next_return_id:
        out["next_return_id"] = next_return_id
    out["can_buyer_keep_item"] = bool(flags & m.F_KEEP_ITEM) or rtype == m.REFUND
    out["create_time"] = t.ctime[row]
    out["update_time"] = t.utime[row]
    out["seller_next_action_response"] = next_actions
    out["return_line_items"] = lines
    out["refund_amount"] = amount_object(money.total, currency, market)
    out["discount_amount"] = [{
        "currency": currency,
        "product_platform_discount": amounts.fmt(money.platform_discount, currency),
        "product_seller_discount": amounts.fmt(money.seller_discount, currency),
        "shipping_fee_platform_discount": amounts.fmt(money.ship_platform_discount, currency),
        "shipping_fee_seller_discount": amounts.fmt(money.ship_seller_discount, currency),
    }]
    out["shipping_fee_amount"] = [{
        "currency": currency,
        "seller_paid_return_shipping_fee": amounts.fmt(seller_paid, currency),
        "platform_paid_return_shipping_fee": amounts.fmt(platform_paid, currency),
        "buyer_paid_return_shipping_fee": amounts.fmt(buyer_paid, currency),
    }]
    out["is_combined_return"] = bool(flags & m.F_COMBINED)
    out["combined_return_id"] = book.combined.get(row, "0")
    if flags & m.F_PARTIAL_OFFER:
        out["seller_proposed_return_type"] = "PARTIAL_REFUND"
        if detail.partial_amount is not None:
            out["partial_refund"] = {"currency": currency, "amount": amounts.fmt(detail.partial_amount, currency)}
    out["buyer_rejected_partial_refund"] = bool(flags & m.F_BUYER_REJECTED_OFFER)
    if variant != "202309":
        out["is_quick_refund"] = bool(flags & m.F_QUICK_REFUND)
    return out


def record_object(record: Record, media_base: str) -> dict[str, Any]:
    return {
        "event": "ORDER_RETURN",
        "role": record.role,
        "description": record.description,
        "reason_text": record.reason_text,
        "note": record.note,
        "images": [_image(media_base, key) for key in record.images],
        "videos": [
            {"url": media_url(media_base, key), "cover": media_url(media_base, key + "-cover"), "width": 720,
             "height": 1280, "duration_millis": 8_000 + (sum(map(ord, key)) % 20) * 1_000}
            for key in record.videos
        ],
        "create_time": record.create_time,
    }


def cancellation_object(*, book: ShopBook, row: int, cancel_id: str, order: Order, money: RefundBreakdown,
                        line_ids: list[str], positions: list[int], media_base: str) -> dict[str, Any]:
    t = book.cancels
    ctype, status = t.rtype[row], t.status[row]
    reason = rs.NAMES[t.reason[row]]
    currency, market = book.currency, book.market
    action = cancel_seller_action(ctype, status)
    next_actions = []
    if action:
        next_actions.append({"action": action, "deadline": t.stime[row] + cancel_window(ctype, status)})
    lines = []
    for line_id, position, refund in zip(line_ids, positions, money.lines, strict=True):
        unit = order.units[position]
        lines.append({
            "cancel_line_item_id": line_id,
            "order_line_item_id": unit.line_id,
            "sku_id": unit.sku_id,
            "sku_name": unit.sku_name,
            "product_name": unit.product_name,
            "seller_sku": unit.seller_sku,
            "product_image": sku_image(media_base, unit.sku_id),
            "refund_amount": amount_object(refund, currency, market),
        })
    return {
        "cancel_id": cancel_id,
        "order_id": order.id,
        "cancel_type": m.CANCEL_TYPES[ctype],
        "cancel_status": m.CANCEL_STATUSES[status],
        "role": m.ROLES[t.role[row]],
        "cancel_reason": reason,
        "cancel_reason_text": rs.text(reason),
        "create_time": t.ctime[row],
        "update_time": t.utime[row],
        "seller_next_action_response": next_actions,
        "refund_amount": amount_object(money.total, currency, market),
        "cancel_line_items": lines,
        # Nothing left the warehouse for a cancelled order, so the units go back on the shelf.
        "should_replenish_stock": status in (m.C_SUCCESS, m.C_COMPLETE),
    }


_LINE_STATUS = {
    m.O_UNPAID: "UNPAID",
    m.O_ON_HOLD: "AWAITING_SHIPMENT",
    m.O_AWAITING_SHIPMENT: "AWAITING_SHIPMENT",
    m.O_PARTIALLY_SHIPPING: "AWAITING_SHIPMENT",
    m.O_AWAITING_COLLECTION: "AWAITING_COLLECTION",
    m.O_IN_TRANSIT: "IN_TRANSIT",
    m.O_DELIVERED: "DELIVERED",
    m.O_COMPLETED: "COMPLETED",
    m.O_CANCELLED: "CANCELLED",
}


def order_object(book: ShopBook, order: Order, media_base: str) -> dict[str, Any]:
    table = book.orders
    status = table.status[order.row]
    currency, market = book.currency, book.market
    fmt = amounts.fmt
    payment: dict[str, str] = {
        "currency": currency,
        "sub_total": fmt(order.sub_total, currency),
        "shipping_fee": fmt(order.shipping_fee, currency),
        "seller_discount": fmt(sum(u.seller_discount for u in order.units), currency),
        "platform_discount": fmt(sum(u.platform_discount for u in order.units), currency),
        "total_amount": fmt(order.total, currency),
        "original_total_product_price": fmt(sum(u.original for u in order.units), currency),
        "original_shipping_fee": fmt(order.ship_original, currency),
        "shipping_fee_seller_discount": fmt(order.ship_seller_discount, currency),
        "shipping_fee_platform_discount": fmt(order.ship_platform_discount, currency),
        "shipping_fee_cofunded_discount": fmt(0, currency),
        "tax": fmt(order.tax, currency),
        "product_tax": fmt(order.tax, currency),
        "shipping_fee_tax": fmt(0, currency),
    }
    if market == "US":
        payment["retail_delivery_fee"] = fmt(order.retail_delivery_fee, currency)
    if market == "ID":
        payment["buyer_service_fee"] = fmt(order.buyer_service_fee, currency)
    shipped = status in m.SHIPPED_ORDER_STATUSES or (status == m.O_PARTIALLY_SHIPPING)
    lines = []
    for position, unit in enumerate(order.units):
        line_status = _LINE_STATUS[status]
        if position in order.cancelled_units:
            line_status = "CANCELLED"
        elif status == m.O_PARTIALLY_SHIPPING and position == 0:
            line_status = "IN_TRANSIT"
        line: dict[str, Any] = {
            "id": unit.line_id,
            "sku_id": unit.sku_id,
            "product_id": unit.product_id,
            "seller_sku": unit.seller_sku,
            "product_name": unit.product_name,
            "sku_name": unit.sku_name,
            "sku_image": media_url(media_base, f"sku-{unit.sku_id}"),
            "original_price": fmt(unit.original, currency),
            "sale_price": fmt(unit.sale, currency),
            "seller_discount": fmt(unit.seller_discount, currency),
            "platform_discount": fmt(unit.platform_discount, currency),
            "currency": currency,
            "display_status": line_status,
            "package_id": order.package_id,
            "is_gift": False,
        }
        if shipped and line_status != "AWAITING_SHIPMENT":
            line["tracking_number"] = order.tracking_number
            line["shipping_provider_id"] = order.carrier[1]
            line["shipping_provider_name"] = order.carrier[0]
            line["package_status"] = "SHIPPED" if line_status != "DELIVERED" else "DELIVERED"
        if order.rts_time:
            line["rts_time"] = order.rts_time
        if position in order.cancelled_units:
            line["cancel_user"] = order.cancel_user or "SELLER"
            line["cancel_reason"] = order.cancel_reason
        if market == "US":
            line["item_tax"] = [{"tax_type": "SALES_TAX", "tax_amount": fmt(unit.tax, currency),
                                 "tax_rate": f"{unit.tax_rate_bp / 10_000:.4f}"}]
        lines.append(line)
    name, city, region_code = order.recipient
    out: dict[str, Any] = {
        "id": order.id,
        "status": m.ORDER_STATUSES[status],
        "create_time": order.create_time,
        "update_time": table.utime[order.row],
        "user_id": order.buyer_id,
        "payment": payment,
        "line_items": lines,
        "packages": [{"id": order.package_id}],
        "fulfillment_type": order.fulfillment_type,
        "shipping_type": order.shipping_type,
        "is_on_hold_order": status == m.O_ON_HOLD,
        "is_cod": order.is_cod,
        "is_sample_order": False,
        "is_replacement_order": order.is_replacement_order,
        "is_buyer_request_cancel": order.is_buyer_request_cancel,
        "order_type": "NORMAL",
        "warehouse_id": order.warehouse_id,
        "buyer_message": order.buyer_message,
        "seller_note": "",
        "recipient_address": {
            "name": name,
            "phone_number": "(+1)213*****04" if market == "US" else "+*******0428",
            "full_address": f"{city}, {market}",
            "region_code": market,
            "postal_code": city.split()[-1],
            "district_info": [{"address_level_name": "State", "address_name": region_code}],
        },
    }
    for field in ("paid_time", "rts_time", "collection_time", "delivery_time", "cancel_time", "request_cancel_time"):
        value = getattr(order, field)
        if value:
            out[field] = value
    if order.is_replacement_order:
        out["replaced_order_id"] = order.replaced_order_id
    if status == m.O_CANCELLED or order.cancellation_initiator:
        out["cancellation_initiator"] = order.cancellation_initiator or "SELLER"
        out["cancel_reason"] = order.cancel_reason
    if shipped:
        out["tracking_number"] = order.tracking_number
        out["shipping_provider"] = order.carrier[0]
        out["shipping_provider_id"] = order.carrier[1]
    return out
