"""Returns: creation, validation, lifecycle and dispositions (store-apis.md A.3)."""

from __future__ import annotations

from .conftest import RETURN_CREATE, Shopify, fulfillment_line, return_input

STATUS = "query S($id: ID!) { order(id: $id) { returnStatus } }"


def test_return_create_opens_a_return_with_its_reverse_fulfillment_order(shop: Shopify) -> None:
    order = shop.new_order("r1", lines=[{"sku": shop.variant()["sku"], "quantity": 2}])
    payload = shop.gql(RETURN_CREATE, {"in": return_input(order, 2)})["data"]["returnCreate"]
    assert payload["userErrors"] == []
    ret = payload["return"]
    assert ret["status"] == "OPEN" and ret["totalQuantity"] == 2
    assert ret["name"] == f"{order['name']}-R1"
    [rfo] = ret["reverseFulfillmentOrders"]["nodes"]
    assert rfo["lineItems"]["nodes"][0]["totalQuantity"] == 2
    assert rfo["lineItems"]["nodes"][0]["fulfillmentLineItem"]["id"] == fulfillment_line(order)
    assert shop.gql(STATUS, {"id": order["id"]})["data"]["order"]["returnStatus"] == "IN_PROGRESS"


def test_quantity_above_returnable_is_invalid(shop: Shopify) -> None:
    order = shop.new_order("r2")
    assert shop.gql(RETURN_CREATE, {"in": return_input(order, 1)})["data"]["returnCreate"]["userErrors"] == []
    payload = shop.gql(RETURN_CREATE, {"in": return_input(order, 1)})["data"]["returnCreate"]
    assert payload["return"] is None
    assert payload["userErrors"] == [{"field": ["returnInput", "returnLineItems", "0", "quantity"],
                                      "message": "Return line item has an invalid quantity.", "code": "INVALID"}]


def test_a_line_without_any_reason_is_not_found(shop: Shopify) -> None:
    order = shop.new_order("r3")
    data = return_input(order)
    del data["returnLineItems"][0]["returnReason"]
    [error] = shop.gql(RETURN_CREATE, {"in": data})["data"]["returnCreate"]["userErrors"]
    assert error == {"field": ["returnInput", "returnLineItems", "0"], "code": "NOT_FOUND",
                     "message": "Return line items Either return reason or return reason definition must be provided"}


def test_other_without_a_note_is_blank_on_return_create(shop: Shopify) -> None:
    order = shop.new_order("r4")
    [error] = shop.gql(RETURN_CREATE, {"in": return_input(order, returnReason="OTHER")})["data"]["returnCreate"][
        "userErrors"]
    assert error["code"] == "BLANK"
    assert error["field"] == ["returnInput", "returnLineItems", "0", "returnReasonNote"]


def test_a_reason_definition_id_is_accepted(shop: Shopify) -> None:
    order = shop.new_order("r5")
    data = return_input(order, returnReasonDefinitionId="gid://shopify/ReturnReasonDefinition/6")
    del data["returnLineItems"][0]["returnReason"]
    assert shop.gql(RETURN_CREATE, {"in": data})["data"]["returnCreate"]["userErrors"] == []


REQUEST = """mutation Q($in: ReturnRequestInput!) { returnRequest(input: $in) {
  return { id status reverseFulfillmentOrders(first: 5) { nodes { id } } } userErrors { field message code } } }"""
APPROVE = """mutation A($id: ID!) { returnApproveRequest(input: {id: $id}) {
  return { status reverseFulfillmentOrders(first: 5) { nodes { id } } } userErrors { field message code } } }"""
DECLINE = """mutation D($id: ID!) { returnDeclineRequest(input: {id: $id, declineReason: FINAL_SALE}) {
  return { status decline { reason } } userErrors { field message code } } }"""


def test_request_then_approve_creates_the_reverse_fulfillment_order_on_approval(shop: Shopify) -> None:
    order = shop.new_order("r6")
    requested = shop.gql(REQUEST, {"in": {"orderId": order["id"], "returnLineItems": [
        {"fulfillmentLineItemId": fulfillment_line(order), "quantity": 1, "returnReason": "OTHER"}]}})
    ret = requested["data"]["returnRequest"]["return"]
    assert ret["status"] == "REQUESTED" and ret["reverseFulfillmentOrders"]["nodes"] == []
    assert shop.gql(STATUS, {"id": order["id"]})["data"]["order"]["returnStatus"] == "RETURN_REQUESTED"
    approved = shop.gql(APPROVE, {"id": ret["id"]})["data"]["returnApproveRequest"]
    assert approved["return"]["status"] == "OPEN" and len(approved["return"]["reverseFulfillmentOrders"]["nodes"]) == 1
    again = shop.gql(APPROVE, {"id": ret["id"]})["data"]["returnApproveRequest"]
    assert again["userErrors"] == [{"field": ["input", "id"], "code": "INVALID_STATE", "message":
                                    "Return is not approvable. Only returns with status REQUESTED can be approved."}]


def test_decline_then_the_lines_can_be_returned_again(shop: Shopify) -> None:
    order = shop.new_order("r7")
    ret = shop.gql(REQUEST, {"in": {"orderId": order["id"], "returnLineItems": [
        {"fulfillmentLineItemId": fulfillment_line(order), "quantity": 1, "returnReason": "STYLE"}]}})[
        "data"]["returnRequest"]["return"]
    declined = shop.gql(DECLINE, {"id": ret["id"]})["data"]["returnDeclineRequest"]
    assert declined["return"] == {"status": "DECLINED", "decline": {"reason": "FINAL_SALE"}}
    assert shop.gql(DECLINE, {"id": ret["id"]})["data"]["returnDeclineRequest"]["userErrors"][0]["message"] == \
        "The return is already declined."
    assert shop.gql(RETURN_CREATE, {"in": return_input(order)})["data"]["returnCreate"]["userErrors"] == []


CLOSE = "mutation C($id: ID!) { returnClose(id: $id) { return { status closedAt } userErrors { field message code } } }"
REOPEN = "mutation R($id: ID!) { returnReopen(id: $id) { return { status closedAt } userErrors { code } } }"
CANCEL = "mutation X($id: ID!) { returnCancel(id: $id) { return { status } userErrors { field message code } } }"


def test_close_is_idempotent_and_reopen_clears_closed_at(shop: Shopify) -> None:
    order = shop.new_order("r8")
    ret = shop.gql(RETURN_CREATE, {"in": return_input(order)})["data"]["returnCreate"]["return"]
    closed = shop.gql(CLOSE, {"id": ret["id"]})["data"]["returnClose"]["return"]
    assert closed["status"] == "CLOSED" and closed["closedAt"]
    assert shop.gql(CLOSE, {"id": ret["id"]})["data"]["returnClose"]["return"] == closed
    assert shop.gql(STATUS, {"id": order["id"]})["data"]["order"]["returnStatus"] == "RETURNED"
    assert shop.gql(REOPEN, {"id": ret["id"]})["data"]["returnReopen"]["return"] == {"status": "OPEN",
                                                                                      "closedAt": None}


def test_close_on_an_unknown_return_is_not_found(shop: Shopify) -> None:
    errors = shop.gql(CLOSE, {"id": "gid://shopify/Return/1"})["data"]["returnClose"]["userErrors"]
    assert errors == [{"field": ["id"], "message": "Return not found.", "code": "NOT_FOUND"}]


def test_cancel_only_before_processing(shop: Shopify) -> None:
    order = shop.new_order("r9", lines=[{"sku": shop.variant()["sku"], "quantity": 2}])
    first = shop.gql(RETURN_CREATE, {"in": return_input(order, 1)})["data"]["returnCreate"]["return"]
    assert shop.gql(CANCEL, {"id": first["id"]})["data"]["returnCancel"]["return"]["status"] == "CANCELED"
    second = shop.gql(RETURN_CREATE, {"in": return_input(order, 1)})["data"]["returnCreate"]["return"]
    line_id = second["returnLineItems"]["nodes"][0]["id"]
    processed = shop.gql("""mutation P($in: ReturnProcessInput!) { returnProcess(input: $in) {
        return { status returnLineItems(first: 5) { nodes { ... on ReturnLineItem { processedQuantity } } } }
        userErrors { code } } }""", {"in": {"returnId": second["id"],
                                            "returnLineItems": [{"id": line_id, "quantity": 1}]}})
    assert processed["data"]["returnProcess"]["return"] == {
        "status": "OPEN", "returnLineItems": {"nodes": [{"processedQuantity": 1}]}}
    errors = shop.gql(CANCEL, {"id": second["id"]})["data"]["returnCancel"]["userErrors"]
    assert errors == [{"field": ["id"], "message": "Return is not cancelable.", "code": "INVALID_STATE"}]


DISPOSE = """mutation D($d: [ReverseFulfillmentOrderDisposeInput!]!) {
  reverseFulfillmentOrderDispose(dispositionInputs: $d) {
    reverseFulfillmentOrderLineItems { id dispositions { type quantity location { id } } }
    userErrors { field message code } } }"""


def test_dispose_restocked_puts_units_back_at_the_location(shop: Shopify) -> None:
    variant = shop.variant()
    order = shop.new_order("r10", lines=[{"sku": variant["sku"], "quantity": 1}])
    location = order["fulfillments"][0]["location_id"]
    before = shop.level(variant["inventory_item_id"], location)
    ret = shop.gql(RETURN_CREATE, {"in": return_input(order)})["data"]["returnCreate"]["return"]
    rfo_line = ret["reverseFulfillmentOrders"]["nodes"][0]["lineItems"]["nodes"][0]["id"]
    payload = shop.gql(DISPOSE, {"d": [{"reverseFulfillmentOrderLineItemId": rfo_line, "quantity": 1,
                                        "dispositionType": "RESTOCKED", "locationId": location}]})
    assert payload["data"]["reverseFulfillmentOrderDispose"]["userErrors"] == []
    after = shop.level(variant["inventory_item_id"], location)
    assert after["available"] == before["available"] + 1
    assert after["on_hand"] == before["on_hand"] + 1
    [group] = shop.store("/adjustments")["adjustments"]
    assert group["reason"] == "restock" and group["source"] == "reverseFulfillmentOrderDispose"


def test_dispose_validation_returns_a_null_list(shop: Shopify) -> None:
    payload = shop.gql(DISPOSE, {"d": []})["data"]["reverseFulfillmentOrderDispose"]
    assert payload == {"reverseFulfillmentOrderLineItems": None, "userErrors": [
        {"field": ["dispositionInputs"], "message": "The array cannot be empty.", "code": "BLANK"}]}
    unknown = shop.gql(DISPOSE, {"d": [{"reverseFulfillmentOrderLineItemId":
                                        "gid://shopify/ReverseFulfillmentOrderLineItem/1", "quantity": 1,
                                        "dispositionType": "NOT_RESTOCKED"}]})
    assert unknown["data"]["reverseFulfillmentOrderDispose"]["userErrors"][0]["message"] == \
        "Cannot dispose items from more than one reverse fulfillment order."
