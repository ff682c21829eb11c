"""inventoryAdjustQuantities / inventorySetQuantities (store-apis.md A.5)."""

from __future__ import annotations

from typing import Any

from .conftest import ADJUST, Shopify

REFERENCE = "gid://tiktok-sync/ReverseOrder/123"


def main_location(shop: Shopify) -> str:
    return shop.store()["locations"][0]["id"]


def adjust_input(item: str, location: str, delta: int = 1, **extra: Any) -> dict[str, Any]:
    change = {"inventoryItemId": item, "locationId": location, "delta": delta, "changeFromQuantity": None}
    change.update(extra.pop("change", {}))
    return {"name": "available", "reason": "restock", "referenceDocumentUri": REFERENCE, "changes": [change],
            **extra}


def adjust(shop: Shopify, data: dict[str, Any], key: str = "inv-1") -> dict[str, Any]:
    return shop.gql(ADJUST, {"in": data, "key": key})["data"]["inventoryAdjustQuantities"]


def test_a_restock_records_the_reference_document_and_a_paired_on_hand_row(shop: Shopify) -> None:
    item = shop.variant()["inventory_item_id"]
    location = main_location(shop)
    before = shop.level(item, location)
    payload = adjust(shop, adjust_input(item, location, 2))
    group = payload["inventoryAdjustmentGroup"]
    assert payload["userErrors"] == []
    assert group["reason"] == "restock" and group["referenceDocumentUri"] == REFERENCE
    assert [(c["name"], c["delta"]) for c in group["changes"]] == [("available", 2), ("on_hand", 2)]
    after = shop.level(item, location)
    assert after["available"] == before["available"] + 2 and after["on_hand"] == before["on_hand"] + 2
    [stored] = shop.store("/adjustments")["adjustments"]
    assert stored["reference_document_uri"] == REFERENCE and stored["source"] == "inventoryAdjustQuantities"


def test_on_hand_is_not_an_adjustable_name(shop: Shopify) -> None:
    data = adjust_input(shop.variant()["inventory_item_id"], main_location(shop)) | {"name": "on_hand"}
    [error] = adjust(shop, data)["userErrors"]
    assert error["code"] == "INVALID_QUANTITY_NAME" and error["field"] == ["input", "name"]
    assert error["message"] == ("The specified quantity name is invalid. Valid values are: available, damaged, "
                                "incoming, quality_control, reserved, safety_stock.")


def test_an_unknown_reason_is_refused(shop: Shopify) -> None:
    data = adjust_input(shop.variant()["inventory_item_id"], main_location(shop)) | {"reason": "returned"}
    assert adjust(shop, data)["userErrors"][0]["code"] == "INVALID_REASON"


def test_a_ledger_uri_is_forbidden_for_available(shop: Shopify) -> None:
    data = adjust_input(shop.variant()["inventory_item_id"], main_location(shop),
                        change={"ledgerDocumentUri": "app://ledger/1"})
    assert adjust(shop, data)["userErrors"][0]["code"] == "INVALID_AVAILABLE_DOCUMENT"


def test_changes_without_change_from_quantity_are_invalid_field_arguments(shop: Shopify) -> None:
    data = adjust_input(shop.variant()["inventory_item_id"], main_location(shop))
    del data["changes"][0]["changeFromQuantity"]
    body = shop.gql(ADJUST, {"in": data, "key": "x"})
    assert body["data"] == {"inventoryAdjustQuantities": None}
    assert body["errors"][0]["extensions"]["code"] == "INVALID_FIELD_ARGUMENTS"
    assert body["errors"][0]["message"] == "InventoryChangeInput must include the following argument: " \
                                           "changeFromQuantity."


def test_a_stale_change_from_quantity_is_refused(shop: Shopify) -> None:
    item = shop.variant()["inventory_item_id"]
    location = main_location(shop)
    current = shop.level(item, location)["available"]
    assert adjust(shop, adjust_input(item, location, change={"changeFromQuantity": current + 5}))[
        "userErrors"][0]["code"] == "CHANGE_FROM_QUANTITY_STALE"
    assert adjust(shop, adjust_input(item, location, change={"changeFromQuantity": current}), key="2")[
        "userErrors"] == []


def test_an_item_not_stocked_at_the_location_is_refused(shop: Shopify) -> None:
    popup = next(loc["id"] for loc in shop.store()["locations"] if loc["name"] == "Pop-up store")
    [error] = adjust(shop, adjust_input(shop.variant()["inventory_item_id"], popup))["userErrors"]
    assert error["code"] == "ITEM_NOT_STOCKED_AT_LOCATION"
    assert error["field"] == ["input", "changes", "0", "locationId"]


def test_an_unknown_item_is_invalid_inventory_item(shop: Shopify) -> None:
    [error] = adjust(shop, adjust_input("gid://shopify/InventoryItem/1", main_location(shop)))["userErrors"]
    assert error == {"field": ["input", "changes", "0", "inventoryItemId"], "code": "INVALID_INVENTORY_ITEM",
                     "message": "The specified inventory item could not be found."}


def test_all_zero_deltas_stage_nothing(shop: Shopify) -> None:
    payload = adjust(shop, adjust_input(shop.variant()["inventory_item_id"], main_location(shop), 0))
    assert payload == {"inventoryAdjustmentGroup": None, "userErrors": []}
    assert shop.store("/adjustments")["adjustments"] == []


def test_inventory_level_reads_the_quantities_by_name(shop: Shopify) -> None:
    item = shop.variant()["inventory_item_id"]
    location = main_location(shop)
    body = shop.gql("""query I($id: ID!, $loc: ID!) { inventoryItem(id: $id) { tracked
        inventoryLevel(locationId: $loc) { quantities(names: ["available", "on_hand"]) { name quantity } } } }""",
                    {"id": item, "loc": location})
    level = shop.level(item, location)
    assert body["data"]["inventoryItem"]["inventoryLevel"]["quantities"] == [
        {"name": "available", "quantity": level["available"]}, {"name": "on_hand", "quantity": level["on_hand"]}]


def test_set_quantities_sets_an_absolute_value(shop: Shopify) -> None:
    item = shop.variant()["inventory_item_id"]
    location = main_location(shop)
    current = shop.level(item, location)["available"]
    body = shop.gql("""mutation S($in: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $in)
        @idempotent(key: "set-1") { inventoryAdjustmentGroup { changes { name delta } } userErrors { code } } }""",
                    {"in": {"name": "available", "reason": "correction", "referenceDocumentUri": REFERENCE,
                            "quantities": [{"inventoryItemId": item, "locationId": location, "quantity": 50,
                                            "changeFromQuantity": current}]}})
    assert body["data"]["inventorySetQuantities"]["userErrors"] == []
    assert shop.level(item, location)["available"] == 50
