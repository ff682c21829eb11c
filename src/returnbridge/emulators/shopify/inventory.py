"""``inventoryAdjustQuantities`` and ``inventorySetQuantities`` with the 2026-04 validation of A.5.1."""

from __future__ import annotations

import re
from typing import Any

from .model import InventoryChange
from .usererrors import UserError, require_gid
from .world import Store

ADJUSTABLE_NAMES = ("available", "damaged", "incoming", "quality_control", "reserved", "safety_stock")
SETTABLE_NAMES = ("available", "on_hand")
REASONS = (
    "correction", "cycle_count_available", "damaged", "movement_canceled", "movement_created", "movement_received",
    "movement_updated", "other", "promotion", "quality_control", "received", "reservation_created",
    "reservation_deleted", "reservation_updated", "restock", "safety_stock", "shrinkage",
)
LIMIT = 2_000_000_000
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def _common(store: Store, data: dict[str, Any], names: tuple[str, ...]) -> list[UserError]:
    errors: list[UserError] = []
    if data["name"] not in names:
        errors.append(UserError(["input", "name"], "The specified quantity name is invalid. Valid values are: "
                                + ", ".join(names) + ".", "INVALID_QUANTITY_NAME"))
    if data["reason"] not in REASONS:
        errors.append(UserError(["input", "reason"], "The specified reason is invalid. Valid values are: "
                                + ", ".join(REASONS) + ".", "INVALID_REASON"))
    reference = data.get("referenceDocumentUri")
    if reference is not None and not _URI.match(reference):
        errors.append(UserError(["input", "referenceDocumentUri"], "The specified reference document URI is "
                                "invalid.", "INVALID_REFERENCE_DOCUMENT"))
    return errors


def _target(store: Store, item: dict[str, Any], at: list[str]) -> tuple[tuple[int, int] | None, list[UserError]]:
    item_id = require_gid(item["inventoryItemId"], "InventoryItem")
    location_id = require_gid(item["locationId"], "Location")
    if item_id not in store.items:
        return None, [UserError([*at, "inventoryItemId"], "The specified inventory item could not be found.",
                                 "INVALID_INVENTORY_ITEM")]
    if location_id not in store.locations:
        return None, [UserError([*at, "locationId"], "The specified location could not be found.",
                                "INVALID_LOCATION")]
    if (item_id, location_id) not in store.levels:
        return None, [UserError([*at, "locationId"], "The specified inventory item is not stocked at the location.",
                                "ITEM_NOT_STOCKED_AT_LOCATION")]
    return (item_id, location_id), []


def _stale(store: Store, key: tuple[int, int], name: str, expected: int | None) -> bool:
    return expected is not None and store.levels[key].quantities.get(name, 0) != expected


def inventory_adjust_quantities(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    data = args["input"]
    name = data["name"]
    errors = _common(store, data, ADJUSTABLE_NAMES)
    ledgers: set[str] = set()
    changes: list[InventoryChange] = []
    for index, change in enumerate(data["changes"]):
        at = ["input", "changes", str(index)]
        ledger = change.get("ledgerDocumentUri")
        if name == "available" and ledger is not None:
            errors.append(UserError([*at, "ledgerDocumentUri"], "A ledger document URI is not allowed when "
                                    "adjusting available.", "INVALID_AVAILABLE_DOCUMENT"))
        elif name != "available" and name in ADJUSTABLE_NAMES and ledger is None:
            errors.append(UserError([*at, "ledgerDocumentUri"], "A ledger document URI is required except when "
                                    "adjusting available.", "INVALID_QUANTITY_DOCUMENT"))
        elif ledger is not None and ledger.startswith("gid://shopify/"):
            errors.append(UserError([*at, "ledgerDocumentUri"], "A ledger document URI cannot reference a Shopify "
                                    "resource.", "INTERNAL_LEDGER_DOCUMENT"))
        elif ledger is not None and not _URI.match(ledger):
            errors.append(UserError([*at, "ledgerDocumentUri"], "The specified ledger document URI is invalid.",
                                    "INVALID_LEDGER_DOCUMENT"))
        if ledger is not None:
            ledgers.add(ledger)
        key, found = _target(store, change, at)
        errors.extend(found)
        if key is None:
            continue
        if not store.items[key[0]].tracked:
            errors.append(UserError([*at, "inventoryItemId"], "The specified inventory item is not tracked.",
                                    "NON_MUTABLE_INVENTORY_ITEM"))
            continue
        if name in ADJUSTABLE_NAMES and _stale(store, key, name, change.get("changeFromQuantity")):
            errors.append(UserError([*at, "changeFromQuantity"], "The specified compare quantity is stale.",
                                    "CHANGE_FROM_QUANTITY_STALE"))
            continue
        after = store.levels[key].quantities.get(name, 0) + change["delta"]
        if after > LIMIT:
            errors.append(UserError([*at, "delta"], f"The quantity can't be higher than {LIMIT:,}.",
                                    "INVALID_QUANTITY_TOO_HIGH"))
        elif after < -LIMIT:
            errors.append(UserError([*at, "delta"], f"The quantity can't be lower than -{LIMIT:,}.",
                                    "INVALID_QUANTITY_TOO_LOW"))
        if change["delta"] == 0:
            continue  # zero rows are dropped (live)
        changes.append(InventoryChange(name, change["delta"], key[0], key[1], ledger))
        if name == "available":
            # An available delta also moves on_hand, reported as its own row (live).
            changes.append(InventoryChange("on_hand", change["delta"], key[0], key[1]))
    if len(ledgers) > 1:
        errors.append(UserError(["input", "changes"], "Only one ledger document URI is allowed per adjustment.",
                                "MAX_ONE_LEDGER_DOCUMENT"))
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    if not changes:
        return {"inventoryAdjustmentGroup": None, "userErrors": []}
    group = store.record_adjustment(data["reason"], data.get("referenceDocumentUri"), changes,
                                    "inventoryAdjustQuantities")
    return {"inventoryAdjustmentGroup": group, "userErrors": []}


def inventory_set_quantities(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    """Absolute quantities for ``available`` or ``on_hand``; the other one moves by the same delta."""
    data = args["input"]
    name = data["name"]
    errors = _common(store, data, SETTABLE_NAMES)
    changes: list[InventoryChange] = []
    for index, item in enumerate(data["quantities"]):
        at = ["input", "quantities", str(index)]
        key, found = _target(store, item, at)
        errors.extend(found)
        if key is None or name not in SETTABLE_NAMES:
            continue
        if _stale(store, key, name, item.get("changeFromQuantity")):
            errors.append(UserError([*at, "changeFromQuantity"], "The specified compare quantity is stale.",
                                    "CHANGE_FROM_QUANTITY_STALE"))
            continue
        if abs(item["quantity"]) > LIMIT:
            code = "INVALID_QUANTITY_TOO_HIGH" if item["quantity"] > 0 else "INVALID_QUANTITY_TOO_LOW"
            errors.append(UserError([*at, "quantity"], "The quantity is out of range.", code))
            continue
        delta = item["quantity"] - store.levels[key].quantities.get(name, 0)
        if delta:
            changes.append(InventoryChange(name, delta, key[0], key[1]))
            other = "on_hand" if name == "available" else "available"
            changes.append(InventoryChange(other, delta, key[0], key[1]))
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    if not changes:
        return {"inventoryAdjustmentGroup": None, "userErrors": []}
    group = store.record_adjustment(data["reason"], data.get("referenceDocumentUri"), changes,
                                    "inventorySetQuantities")
    return {"inventoryAdjustmentGroup": group, "userErrors": []}
