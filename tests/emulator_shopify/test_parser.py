"""The GraphQL subset: variables, nested selections, fragments, and schema errors in Shopify's shapes (A.9)."""

from __future__ import annotations

from .conftest import Shopify


def test_only_the_selected_fields_come_back(shop: Shopify) -> None:
    body = shop.gql("{ shop { name } }")
    assert body["data"] == {"shop": {"name": "Returnbridge Emulator"}}


def test_variables_feed_arguments_and_nested_selections_resolve(shop: Shopify) -> None:
    order = shop.new_order("111", style="name")
    body = shop.gql("query O($id: ID!) { order(id: $id) { name lineItems(first: 5) { nodes { quantity } } } }",
                    {"id": order["id"]})
    assert body["data"]["order"] == {"name": "111", "lineItems": {"nodes": [{"quantity": 1}]}}


def test_fragments_inline_fragments_aliases_and_typename(shop: Shopify) -> None:
    query = """
    query { first: shop { ...ShopBits } second: shop { ... on Shop { __typename currencyCode } } }
    fragment ShopBits on Shop { name }
    """
    body = shop.gql(query)
    assert body["data"] == {"first": {"name": "Returnbridge Emulator"},
                            "second": {"__typename": "Shop", "currencyCode": "USD"}}


def test_an_unknown_field_is_an_error_without_code_and_without_data(shop: Shopify) -> None:
    body = shop.gql("query Q { shop { name planName } }")
    assert "data" not in body
    [error] = body["errors"]
    assert error["message"] == "Field 'planName' doesn't exist on type 'Shop'"
    assert error["path"] == ["query Q", "shop", "planName"]
    assert error["locations"] == [{"line": 1, "column": 23}]
    assert "extensions" not in error


def test_selecting_code_on_refund_user_errors_is_a_schema_error(shop: Shopify) -> None:
    body = shop.gql("mutation { refundCreate(input: {orderId: \"gid://shopify/Order/1\"}) @idempotent(key: \"k\") "
                    "{ userErrors { field message code } } }")
    assert body["errors"][0]["message"] == "Field 'code' doesn't exist on type 'UserError'"


def test_an_unknown_mutation_is_a_schema_error(shop: Shopify) -> None:
    body = shop.gql("mutation { productDelete(id: \"x\") { deletedProductId } }")
    assert body["errors"][0]["message"] == "Field 'productDelete' doesn't exist on type 'Mutation'"


def test_an_unknown_argument_is_rejected(shop: Shopify) -> None:
    body = shop.gql('{ order(id: "gid://shopify/Order/1", foo: 1) { id } }')
    assert body["errors"][0]["message"] == "Field 'order' doesn't accept argument 'foo'"


def test_a_syntax_error_names_the_token_and_position(shop: Shopify) -> None:
    body = shop.gql("{ shop { name }")
    assert body["errors"][0]["message"] == "Unexpected end of document"
    body = shop.gql("{ shop { name } } }")
    assert body["errors"][0]["message"] == 'Parse error on "}" (RCURLY) at [1, 19]'


def test_a_bad_enum_in_variables_is_invalid_variable_with_problems(shop: Shopify) -> None:
    order = shop.new_order("222")
    variables = {"in": {"orderId": order["id"], "returnLineItems": [
        {"fulfillmentLineItemId": order["fulfillments"][0]["line_items"][0]["id"], "quantity": 1,
         "returnReason": "BROKEN"}]}}
    body = shop.gql("mutation R($in: ReturnInput!) { returnCreate(returnInput: $in) { return { id } } }", variables)
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID_VARIABLE"
    assert error["extensions"]["value"] == variables["in"]
    assert error["extensions"]["problems"][0]["path"] == ["returnLineItems", 0, "returnReason"]
    assert error["message"].startswith("Variable $in of type ReturnInput! was provided invalid value for "
                                       "returnLineItems.0.returnReason")


def test_an_undefined_input_field_is_invalid_variable(shop: Shopify) -> None:
    body = shop.gql("mutation R($in: RefundInput!) { refundCreate(input: $in) @idempotent(key: \"a\") "
                    "{ userErrors { message } } }",
                    {"in": {"orderId": "gid://shopify/Order/1", "locationId": "gid://shopify/Location/1"}})
    problem = body["errors"][0]["extensions"]["problems"][0]
    assert problem == {"path": ["locationId"], "explanation": "Field is not defined on RefundInput"}


def test_an_undeclared_variable_is_rejected(shop: Shopify) -> None:
    body = shop.gql("query Q { order(id: $id) { id } }")
    assert body["errors"][0]["message"] == "Variable $id is used by query Q but not declared"


def test_a_connection_needs_first_or_last(shop: Shopify) -> None:
    body = shop.gql("{ orders { nodes { id } } }")
    assert body["errors"][0]["message"] == "you must provide one of first or last"


def test_an_id_of_the_wrong_type_is_resource_not_found_with_a_null_root(shop: Shopify) -> None:
    body = shop.gql('{ order(id: "gid://shopify/Return/5") { id } }')
    assert body["data"] == {"order": None}
    assert body["errors"][0]["message"] == "Invalid id: gid://shopify/Return/5"
    assert body["errors"][0]["extensions"]["code"] == "RESOURCE_NOT_FOUND"
    assert body["errors"][0]["path"] == ["order"]


def test_pagination_walks_with_cursors(shop: Shopify) -> None:
    query = ("query P($after: String) { orders(first: 5, after: $after) { nodes { id } "
             "pageInfo { hasNextPage endCursor } } }")
    first = shop.gql(query)["data"]["orders"]
    second = shop.gql(query, {"after": first["pageInfo"]["endCursor"]})["data"]["orders"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert not {n["id"] for n in first["nodes"]} & {n["id"] for n in second["nodes"]}
