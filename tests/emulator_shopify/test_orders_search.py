"""Finding a TikTok order by each documented lookup style (store-apis.md A.2)."""

from __future__ import annotations

from typing import Any

from .conftest import ORDER_FIELDS, Shopify

FIND = "query F($q: String!) { orders(first: 5, query: $q) { nodes { " + ORDER_FIELDS + " } } }"


def find(shop: Shopify, query: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    body = shop.gql(FIND, {"q": query})
    return body["data"]["orders"]["nodes"], body["extensions"]


def test_by_name_with_prefix_and_suffix(shop: Shopify) -> None:
    order = shop.new_order("576460111", style="name", prefix="TT-", suffix="-A")
    nodes, _ = find(shop, "name:TT-576460111-A")
    assert [n["id"] for n in nodes] == [order["id"]]


def test_by_default_name_with_or_without_hash(shop: Shopify) -> None:
    order = shop.new_order("576460112", style="custom_attribute")
    assert [n["id"] for n in find(shop, f"name:{order['name']}")[0]] == [order["id"]]
    assert [n["id"] for n in find(shop, f"name:{order['name'].lstrip('#')}")[0]] == [order["id"]]


def test_by_tag(shop: Shopify) -> None:
    order = shop.new_order("576460113", style="tag", tag_prefix="tiktok-")
    nodes, _ = find(shop, "tag:tiktok-576460113")
    assert [n["id"] for n in nodes] == [order["id"]]
    assert "tiktok-576460113" in nodes[0]["tags"]


def test_by_source_identifier(shop: Shopify) -> None:
    order = shop.new_order("576460114", style="source_identifier")
    nodes, _ = find(shop, "source_identifier:576460114")
    assert [n["sourceIdentifier"] for n in nodes] == ["576460114"]
    assert nodes[0]["id"] == order["id"]


def test_by_filterable_metafield(shop: Shopify) -> None:
    order = shop.new_order("576460115", style="metafield", metafield={"namespace": "tts", "key": "oid"})
    nodes, _ = find(shop, "metafields.tts.oid:576460115")
    assert [n["id"] for n in nodes] == [order["id"]]
    body = shop.gql('query O($id: ID!) { order(id: $id) { metafield(namespace: "tts", key: "oid") { value } } }',
                    {"id": order["id"]})
    assert body["data"]["order"]["metafield"] == {"value": "576460115"}


def test_a_metafield_without_admin_filterable_is_ignored_with_a_warning(shop: Shopify) -> None:
    shop.new_order("576460116", style="metafield", metafield={"namespace": "x", "key": "y", "filterable": False})
    nodes, extensions = find(shop, "metafields.x.y:576460116")
    assert len(nodes) == 5  # the filter was dropped: every order matches
    assert extensions["search"][0]["warnings"] == [{"field": "metafields.x.y",
                                                    "message": "Invalid search field for this query."}]


def test_custom_attributes_are_readable_but_not_searchable(shop: Shopify) -> None:
    order = shop.new_order("576460117", style="custom_attribute", attribute_key="TikTok Order Number")
    assert find(shop, "576460117")[0] == []
    body = shop.gql("query O($id: ID!) { order(id: $id) { customAttributes { key value } } }", {"id": order["id"]})
    assert body["data"]["order"]["customAttributes"] == [{"key": "TikTok Order Number", "value": "576460117"}]


def test_by_note_read_back(shop: Shopify) -> None:
    order = shop.new_order("576460118", style="note")
    body = shop.gql("query O($id: ID!) { order(id: $id) { note } }", {"id": order["id"]})
    assert body["data"]["order"]["note"] == "TikTok order ID: 576460118"


def test_an_unknown_order_id_reads_as_null(shop: Shopify) -> None:
    body = shop.gql('{ order(id: "gid://shopify/Order/999") { id } }')
    assert body["data"] == {"order": None}
    assert "errors" not in body


def test_or_and_negation(shop: Shopify) -> None:
    a = shop.new_order("9001", style="source_identifier")
    b = shop.new_order("9002", style="source_identifier")
    nodes, _ = find(shop, "source_identifier:9001 OR source_identifier:9002")
    assert {n["id"] for n in nodes} == {a["id"], b["id"]}
    nodes, _ = find(shop, "source_identifier:9001 -tag:TikTok")
    assert nodes == []


def test_orders_outside_the_window_are_invisible(shop: Shopify) -> None:
    store = shop.control("POST", "/stores", {"domain": "window-shop", "order_window_days": 60})
    shop.control("POST", "/stores/window-shop.myshopify.com/orders",
                 {"tiktok_order_id": "old-1", "style": "source_identifier", "created_at": "2020-01-01T00:00:00Z"})
    body = shop.gql(FIND, {"q": "source_identifier:old-1"}, token=store["token"])
    assert body["data"]["orders"]["nodes"] == []
