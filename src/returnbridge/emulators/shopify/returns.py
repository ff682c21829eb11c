"""Returns and reverse logistics: create, request/approve/decline, process, close/reopen/cancel, dispose.

Messages, codes and field paths are the live ones of store-apis.md A.3.2–A.3.4 where the doc gives them; the
others are marked "chosen" in docs/emulator-shopify.md.
"""

from __future__ import annotations

from typing import Any

from .gids import gid
from .model import (
    Decline,
    Disposition,
    Refund,
    RefundLineItem,
    Return,
    ReturnLineItem,
    ReverseFulfillmentOrder,
    ReverseFulfillmentOrderLineItem,
    Transaction,
)
from .money import ZERO, cents, display
from .usererrors import UserError, path, require_gid
from .world import RETURN_REASON_DEFINITIONS, Store

APPROVABLE = "Return is not approvable. Only returns with status REQUESTED can be approved."
DECLINABLE = "Return is not declinable. Only non-refunded returns with status REQUESTED can be declined."
STATUS_INVALID = "Return status is invalid."
NOT_FOUND = "Return not found."


def _failed(errors: list[UserError], **extra: Any) -> dict[str, Any]:
    return {"return": None, **extra, "userErrors": errors}


def _order(store: Store, value: object, field: list[str]) -> tuple[Any, list[UserError]]:
    order = store.orders.get(require_gid(value, "Order"))
    if order is None or not store.visible(order):
        return None, [UserError(field, "Order does not exist.", "NOT_FOUND")]
    return order, []


def _lines(store: Store, order: Any, lines: list[dict], root: str, *, request: bool) -> list[UserError]:
    """Validate return lines (reasons, notes, quantities against what is still returnable)."""
    errors: list[UserError] = []
    wanted: dict[int, int] = {}
    for index, line in enumerate(lines):
        at = (root, "returnLineItems", index)
        fli_id = require_gid(line["fulfillmentLineItemId"], "FulfillmentLineItem")
        found = order.fulfillment_line_item(fli_id)
        if found is None:
            errors.append(UserError(path(*at, "fulfillmentLineItemId"), "Fulfillment line item does not exist.",
                                    "NOT_FOUND"))
            continue
        reason = line.get("returnReason")
        definition = line.get("returnReasonDefinitionId")
        if definition is not None and require_gid(definition, "ReturnReasonDefinition") not in \
                RETURN_REASON_DEFINITIONS:
            errors.append(UserError(path(*at, "returnReasonDefinitionId"), "Return reason definition not found.",
                                    "NOT_FOUND"))
        if reason is None and definition is None:
            if request:
                errors.append(UserError(path(*at, "returnReason"), "Return reason can't be blank", "BLANK"))
            else:
                errors.append(UserError(path(*at), "Return line items Either return reason or return reason "
                                        "definition must be provided", "NOT_FOUND"))
        note = line.get("returnReasonNote") or ""
        if not request and reason == "OTHER" and not note.strip():
            errors.append(UserError(path(*at, "returnReasonNote"), "Return line items return reason note The "
                                    'note is required when the return reason is "Other"', "BLANK"))
        if len(note) > 255:
            errors.append(UserError(path(*at, "returnReasonNote"), "Return reason note is too long (maximum is "
                                    "255 characters)", "TOO_LONG"))
        if len(line.get("customerNote") or "") > 300:
            errors.append(UserError(path(*at, "customerNote"), "Customer note is too long (maximum is 300 "
                                    "characters)", "TOO_LONG"))
        quantity = line["quantity"]
        if quantity < 1:
            errors.append(UserError(path(*at, "quantity"), "Quantity must be greater than 0", "GREATER_THAN"))
            continue
        wanted[fli_id] = wanted.get(fli_id, 0) + quantity
        if wanted[fli_id] > store.returnable_quantity(order, found[1]):
            errors.append(UserError(path(*at, "quantity"), "Return line item has an invalid quantity.", "INVALID"))
    return errors


def _new_return(store: Store, order: Any, lines: list[dict], status: str, requested_at: Any) -> Return:
    world = store.world
    now = world.now()
    record = Return(
        id=world.next_id(), order_id=order.id, name=f"{order.name}-R{len(order.return_ids) + 1}", status=status,
        created_at=requested_at or now,
        line_items=[
            ReturnLineItem(
                id=world.next_id(), fulfillment_line_item_id=require_gid(line["fulfillmentLineItemId"],
                                                                         "FulfillmentLineItem"),
                quantity=line["quantity"], return_reason=line.get("returnReason"),
                return_reason_definition_id=(require_gid(line["returnReasonDefinitionId"], "ReturnReasonDefinition")
                                             if line.get("returnReasonDefinitionId") else None),
                return_reason_note=line.get("returnReasonNote") or "", customer_note=line.get("customerNote"),
            )
            for line in lines
        ],
    )
    if status == "OPEN":
        _open(store, record)
    store.returns[record.id] = record
    order.return_ids.append(record.id)
    order.updated_at = now
    return record


def _open(store: Store, record: Return) -> None:
    """Approval: the return becomes OPEN and gets its reverse fulfillment order (A.3.2)."""
    world = store.world
    record.status = "OPEN"
    record.request_approved_at = world.now()
    rfo = ReverseFulfillmentOrder(world.next_id(), record.id, "OPEN", [
        ReverseFulfillmentOrderLineItem(world.next_id(), line.fulfillment_line_item_id, line.id, line.quantity)
        for line in record.line_items
    ])
    record.reverse_fulfillment_orders.append(rfo)


def return_create(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    data = args["returnInput"]
    order, errors = _order(store, data["orderId"], ["returnInput", "orderId"])
    if order is None:
        return _failed(errors)
    errors = _lines(store, order, data["returnLineItems"], "returnInput", request=False)
    if errors:
        return _failed(errors)
    return {"return": _new_return(store, order, data["returnLineItems"], "OPEN", data.get("requestedAt")),
            "userErrors": []}


def return_request(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    data = args["input"]
    order, errors = _order(store, data["orderId"], ["input", "orderId"])
    if order is None:
        return _failed(errors)
    errors = _lines(store, order, data["returnLineItems"], "input", request=True)
    if errors:
        return _failed(errors)
    return {"return": _new_return(store, order, data["returnLineItems"], "REQUESTED", None), "userErrors": []}


def _find(store: Store, value: object, field: list[str]) -> tuple[Return | None, list[UserError]]:
    record = store.returns.get(require_gid(value, "Return"))
    if record is None:
        return None, [UserError(field, NOT_FOUND, "NOT_FOUND")]
    return record, []


def return_approve_request(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    record, errors = _find(store, args["input"]["id"], ["input", "id"])
    if record is None:
        return _failed(errors)
    if record.status != "REQUESTED":
        return _failed([UserError(["input", "id"], APPROVABLE, "INVALID_STATE")])
    _open(store, record)
    return {"return": record, "userErrors": []}


def return_decline_request(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    data = args["input"]
    record, errors = _find(store, data["id"], ["input", "id"])
    if record is None:
        return _failed(errors)
    if record.status == "DECLINED":
        return _failed([UserError(["input", "id"], "The return is already declined.", "INVALID_STATE")])
    if record.status != "REQUESTED":
        return _failed([UserError(["input", "id"], DECLINABLE, "INVALID_STATE")])
    note = data.get("declineNote")
    if note is not None and len(note) > 500:
        return _failed([UserError(["input", "declineNote"], "Decline note is too long (maximum is 500 characters)",
                                  "TOO_LONG")])
    record.status = "DECLINED"
    record.decline = Decline(data["declineReason"], note)
    return {"return": record, "userErrors": []}


def _set_rfo_status(record: Return, status: str) -> None:
    for rfo in record.reverse_fulfillment_orders:
        rfo.status = status


def return_close(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    record, errors = _find(store, args["id"], ["id"])
    if record is None:
        return _failed(errors)
    if record.status == "OPEN":
        record.status = "CLOSED"
        record.closed_at = store.world.now()
        _set_rfo_status(record, "CLOSED")
    elif record.status != "CLOSED":  # closing a closed return is a no-op success, closedAt kept
        return _failed([UserError(["id"], STATUS_INVALID, "INVALID_STATE")])
    return {"return": record, "userErrors": []}


def return_reopen(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    record, errors = _find(store, args["id"], ["id"])
    if record is None:
        return _failed(errors)
    if record.status == "CLOSED":
        record.status = "OPEN"
        record.closed_at = None
        _set_rfo_status(record, "OPEN")
    elif record.status != "OPEN":
        return _failed([UserError(["id"], STATUS_INVALID, "INVALID_STATE")])
    return {"return": record, "userErrors": []}


def return_cancel(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    record, errors = _find(store, args["id"], ["id"])
    if record is None:
        return _failed(errors)
    if record.status == "CANCELED":
        return {"return": record, "userErrors": []}
    worked = any(line.processed_quantity for line in record.line_items) or record.refund_ids
    if record.status != "OPEN" or worked:
        return _failed([UserError(["id"], "Return is not cancelable.", "INVALID_STATE")])
    record.status = "CANCELED"
    _set_rfo_status(record, "CANCELED")
    return {"return": record, "userErrors": []}


# --- dispositions ------------------------------------------------------------------------------------------------


def _rfo_line(store: Store, line_id: int) -> tuple[Return, ReverseFulfillmentOrder,
                                                   ReverseFulfillmentOrderLineItem] | None:
    for record in store.returns.values():
        for rfo in record.reverse_fulfillment_orders:
            for line in rfo.line_items:
                if line.id == line_id:
                    return record, rfo, line
    return None


def _check_dispositions(store: Store, inputs: list[dict], root: list[str]) -> list[UserError]:
    """Validation of A.3.4 (live messages), plus a cap on RESTOCKED beyond the units still to dispose."""
    errors: list[UserError] = []
    rfo_ids: set[int] = set()
    taken: dict[int, int] = {}
    for index, item in enumerate(inputs):
        at = [*root, str(index)]
        found = _rfo_line(store, require_gid(item["reverseFulfillmentOrderLineItemId"],
                                             "ReverseFulfillmentOrderLineItem"))
        # An unknown line reports the "more than one" error, as live (not NOT_FOUND).
        rfo_ids.add(found[1].id if found else -1)
        kind = item["dispositionType"]
        location_id = None
        if item.get("locationId") is not None:
            location_id = require_gid(item["locationId"], "Location")
            if location_id not in store.locations:
                errors.append(UserError([*at, "locationId"], "Location not found.", "NOT_FOUND"))
                location_id = None
        if item["quantity"] < 1:
            errors.append(UserError([*at, "quantity"], "Quantity must be greater than 0", "GREATER_THAN"))
        if found is None or kind != "RESTOCKED":
            continue
        order = store.orders[found[0].order_id]
        located = order.fulfillment_line_item(found[2].fulfillment_line_item_id)
        line_item = order.line_item(located[1].line_item_id) if located else None
        variant = store.variants.get(line_item.variant_id) if line_item and line_item.variant_id else None
        if variant is None:
            errors.append(UserError([*at, "dispositionType"],
                                    "RESTOCKED is an invalid disposition type for a custom line item.", "INVALID"))
            continue
        if item.get("locationId") is None:
            errors.append(UserError([*at, "locationId"], "Location is required when restocking.", "BLANK"))
            continue
        if location_id is not None and (variant.inventory_item_id, location_id) not in store.levels:
            errors.append(UserError([*at, "locationId"], "The item is not stocked at the location.", "INVALID"))
            continue
        line = found[2]
        disposed = sum(d.quantity for d in line.dispositions) + taken.get(line.id, 0)
        taken[line.id] = taken.get(line.id, 0) + item["quantity"]
        if disposed + item["quantity"] > line.total_quantity:
            errors.append(UserError([*at, "quantity"], "Quantity exceeds the quantity left to dispose.", "INVALID"))
    if not inputs:
        errors.insert(0, UserError(root, "The array cannot be empty.", "BLANK"))
    elif len(rfo_ids) > 1 or -1 in rfo_ids:
        errors.insert(0, UserError(root, "Cannot dispose items from more than one reverse fulfillment order.",
                                   "INVALID"))
    return errors


def _apply_dispositions(store: Store, inputs: list[dict], source: str) -> list[ReverseFulfillmentOrderLineItem]:
    touched: list[ReverseFulfillmentOrderLineItem] = []
    for item in inputs:
        found = _rfo_line(store, require_gid(item["reverseFulfillmentOrderLineItemId"],
                                             "ReverseFulfillmentOrderLineItem"))
        assert found is not None
        record, _, line = found
        location_id = require_gid(item["locationId"], "Location") if item.get("locationId") else None
        disposition = Disposition(store.world.next_id(), item["dispositionType"], item["quantity"], location_id,
                                  store.world.now())
        line.dispositions.append(disposition)
        if disposition.type == "RESTOCKED" and location_id is not None:
            order = store.orders[record.order_id]
            located = order.fulfillment_line_item(line.fulfillment_line_item_id)
            line_item = order.line_item(located[1].line_item_id) if located else None
            variant = store.variants[line_item.variant_id] if line_item and line_item.variant_id else None
            if variant is not None and store.items[variant.inventory_item_id].tracked:
                store.restock(variant.inventory_item_id, location_id, disposition.quantity,
                              gid("ReverseFulfillmentOrderDisposition", disposition.id), source)
        if line not in touched:
            touched.append(line)
    return touched


def reverse_fulfillment_order_dispose(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    inputs = args["dispositionInputs"]
    errors = _check_dispositions(store, inputs, ["dispositionInputs"])
    if errors:
        # On failure the list is null, not [] (live).
        return {"reverseFulfillmentOrderLineItems": None, "userErrors": errors}
    return {"reverseFulfillmentOrderLineItems": _apply_dispositions(store, inputs, "reverseFulfillmentOrderDispose"),
            "userErrors": []}


# --- processing ----------------------------------------------------------------------------------------------------


def return_process(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    """Moves quantities from unprocessed to processed; the return stays OPEN (live). Dispositions and the
    ``financialTransfer`` refund are modelled from the schema only (A.3.3: unverified on a real store)."""
    data = args["input"]
    record, errors = _find(store, data["returnId"], ["input", "returnId"])
    if record is None:
        return _failed(errors)
    if record.status != "OPEN":
        return _failed([UserError(["input", "returnId"], "Return is not processable.", "INVALID_STATE")])
    lines = data.get("returnLineItems") or []
    wanted: dict[int, int] = {}
    all_dispositions: list[dict] = []
    for index, item in enumerate(lines):
        at = ["input", "returnLineItems", str(index)]
        line_id = require_gid(item["id"], "ReturnLineItem")
        line = next((ln for ln in record.line_items if ln.id == line_id), None)
        if line is None:
            errors.append(UserError([*at, "id"], "Return line item was not found.", "NOT_FOUND"))
            continue
        if item["quantity"] < 1:
            errors.append(UserError([*at, "quantity"], "Quantity must be greater than 0", "GREATER_THAN"))
            continue
        wanted[line_id] = wanted.get(line_id, 0) + item["quantity"]
        if wanted[line_id] > line.quantity - line.processed_quantity:
            errors.append(UserError([*at, "quantity"], "Quantity exceeds the unprocessed quantity.", "INVALID"))
        dispositions = item.get("dispositions") or []
        if dispositions:
            errors.extend(e for e in _check_dispositions(store, dispositions, [*at, "dispositions"])
                          if e.message != "The array cannot be empty.")
            all_dispositions.extend(dispositions)
    order = store.orders[record.order_id]
    refund_plan = _plan_return_refund(store, order, data.get("financialTransfer"), errors)
    if errors:
        return _failed(errors)
    for item in lines:
        line = next(ln for ln in record.line_items if ln.id == require_gid(item["id"], "ReturnLineItem"))
        line.processed_quantity += item["quantity"]
    _apply_dispositions(store, all_dispositions, "returnProcess")
    if refund_plan is not None:
        _issue_return_refund(store, order, record, lines, refund_plan, data.get("note"))
    order.updated_at = store.world.now()
    return {"return": record, "userErrors": []}


def _plan_return_refund(store: Store, order: Any, transfer: dict | None,
                        errors: list[UserError]) -> list[tuple[Transaction, Any]] | None:
    issue = (transfer or {}).get("issueRefund")
    if not issue:
        return None
    plan: list[tuple[Transaction, Any]] = []
    for index, item in enumerate(issue["orderTransactions"]):
        at = ["input", "financialTransfer", "issueRefund", "orderTransactions", str(index)]
        parent_id = require_gid(item["parentId"], "OrderTransaction")
        parent = next((t for t in order.transactions if t.id == parent_id), None)
        if parent is None or parent.kind not in ("SALE", "CAPTURE"):
            errors.append(UserError([*at, "parentId"], "Parent transaction must be a sale or capture of the order.",
                                    "INVALID"))
            continue
        plan.append((parent, cents(item["transactionAmount"]["amount"])))
    total = sum((amount for _, amount in plan), ZERO)
    net = store.net_payment(order)
    if total > net and not issue.get("allowOverRefunding"):
        errors.append(UserError(["input", "financialTransfer"], f"Refund amount {display(total, order.currency)} "
                                f"is greater than net payment received {display(net, order.currency)}", "INVALID"))
    return plan


def _issue_return_refund(store: Store, order: Any, record: Return, lines: list[dict],
                         plan: list[tuple[Transaction, Any]], note: str | None) -> None:
    world = store.world
    now = world.now()
    refund = Refund(world.next_id(), order.id, note, now, now, [], [], ZERO, return_id=record.id)
    for item in lines:
        line = next(ln for ln in record.line_items if ln.id == require_gid(item["id"], "ReturnLineItem"))
        located = order.fulfillment_line_item(line.fulfillment_line_item_id)
        line_item = order.line_item(located[1].line_item_id)
        quantity = item["quantity"]
        refund.line_items.append(RefundLineItem(
            world.next_id(), line_item.id, quantity, "NO_RESTOCK", False, None, line_item.unit_price,
            cents(line_item.unit_price * quantity), store.line_tax(line_item, quantity)))
        line.refunded_quantity += quantity
    for parent, amount in plan:
        transaction = Transaction(world.next_id(), "REFUND", parent.gateway, amount, now, now, parent_id=parent.id,
                                  refund_id=refund.id)
        order.transactions.append(transaction)
        refund.transaction_ids.append(transaction.id)
        refund.total_refunded += amount
    store.refunds[refund.id] = refund
    order.refund_ids.append(refund.id)
    record.refund_ids.append(refund.id)
