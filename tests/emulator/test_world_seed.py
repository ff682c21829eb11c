"""Seeded data of the TikTok emulator's World: deterministic, realistic, and covering every documented state."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import orjson
import pytest

from returnbridge.emulators.tiktok import model as m
from returnbridge.emulators.tiktok import reasons as rs
from returnbridge.emulators.tiktok.clock import Clock
from returnbridge.emulators.tiktok.world import World

START = 1_760_000_000


def frozen_clock() -> Clock:
    return Clock(start=START, monotonic=lambda: 0.0)


@pytest.fixture(scope="module")
def world() -> World:
    return World(seed=42, seed_returns=400, clock=frozen_clock())


@pytest.fixture(scope="module")
def state(world: World) -> dict[str, Any]:
    return world.snapshot()


def plain(data: Any) -> Any:
    """API data as the client would see it (orjson fragments decoded)."""
    return orjson.loads(orjson.dumps(data))


def money(value: str) -> Decimal:
    return Decimal(value)


def test_same_seed_gives_the_same_data() -> None:
    first = World(seed=7, seed_returns=120, clock=frozen_clock()).snapshot()
    second = World(seed=7, seed_returns=120, clock=frozen_clock()).snapshot()
    assert first == second


def test_different_seed_gives_different_data() -> None:
    first = World(seed=7, seed_returns=120, clock=frozen_clock()).snapshot()
    second = World(seed=8, seed_returns=120, clock=frozen_clock()).snapshot()
    assert [r["return_id"] for r in first["returns"]] != [r["return_id"] for r in second["returns"]]
    assert [r["create_time"] for r in first["returns"]] != [r["create_time"] for r in second["returns"]]


def test_reading_records_in_another_order_does_not_change_them() -> None:
    forward = World(seed=3, seed_returns=80, clock=frozen_clock())
    backward = World(seed=3, seed_returns=80, clock=frozen_clock())
    ids = [r["return_id"] for r in forward.snapshot()["returns"]]
    late_first = [backward.find_request(i) for i in reversed(ids)]
    assert [forward.find_request(i) for i in reversed(ids)] == late_first


def test_shops_cover_four_markets_and_currencies(world: World) -> None:
    assert {(s.region, s.currency) for s in world.shops()} == {
        ("US", "USD"), ("GB", "GBP"), ("ID", "IDR"), ("MY", "MYR")}


def test_us_shop_cipher_is_gcp_and_the_others_row(world: World) -> None:
    for shop in world.shops():
        assert shop.cipher.startswith("GCP_" if shop.region == "US" else "ROW_")
        assert world.shop_by_cipher(shop.cipher) == shop
        assert world.shop_by_id(shop.id) == shop


def test_two_sellers_own_the_shops_and_one_owns_two(world: World) -> None:
    sellers = world.sellers()
    assert len(sellers) == 2
    assert sorted(sid for seller in sellers for sid in seller.shop_ids) == sorted(s.id for s in world.shops())
    assert any(len(seller.shop_ids) == 2 for seller in sellers)
    for shop in world.shops():
        assert shop.id in next(s for s in sellers if s.id == shop.seller_id).shop_ids


def test_seed_returns_is_the_total_spread_over_the_shops(state: dict[str, Any]) -> None:
    assert len(state["returns"]) == 400
    assert {s["return_count"] for s in state["shops"]} == {100}


@pytest.mark.parametrize("field", ["return_id", "order_id"])
def test_request_ids_are_18_or_19_digit_strings(state: dict[str, Any], field: str) -> None:
    for record in state["returns"]:
        assert re.fullmatch(r"\d{18,19}", record[field]), record[field]


def test_every_id_kind_is_numeric_and_18_or_19_digits(state: dict[str, Any]) -> None:
    ids = [s["id"] for s in state["shops"]]
    ids += [c["cancel_id"] for c in state["cancellations"]]
    ids += [line["id"] for o in state["orders"] for line in o["line_items"]]
    ids += [line["return_line_item_id"] for r in state["returns"] for line in r["return_line_items"]]
    ids += [o["user_id"] for o in state["orders"]]
    assert all(re.fullmatch(r"\d{18,19}", i) for i in ids)


def test_line_item_ids_are_unique(state: dict[str, Any]) -> None:
    ids = [line["id"] for o in state["orders"] for line in o["line_items"]]
    assert len(ids) == len(set(ids))


def test_every_return_type_appears_in_each_of_its_statuses(state: dict[str, Any]) -> None:
    seen = {(r["return_type"], r["return_status"]) for r in state["returns"]}
    expected = {(m.RETURN_TYPES[t], m.RETURN_STATUSES[s]) for t, statuses in m.STATUSES_BY_TYPE.items()
                for s in statuses}
    assert seen == expected


def test_every_arbitration_status_appears(state: dict[str, Any]) -> None:
    seen = {r.get("arbitration_status") for r in state["returns"]}
    assert seen == {None, "IN_PROGRESS", "SUPPORT_BUYER", "SUPPORT_SELLER", "CLOSED"}


def test_every_cancel_status_appears_for_buyer_cancellations(state: dict[str, Any]) -> None:
    seen = {c["cancel_status"] for c in state["cancellations"] if c["cancel_type"] == "BUYER_CANCEL"}
    assert seen == set(m.CANCEL_STATUSES)


def test_direct_cancellations_are_successful_or_complete(state: dict[str, Any]) -> None:
    seen = {c["cancel_status"] for c in state["cancellations"] if c["cancel_type"] == "CANCEL"}
    assert seen == {"CANCELLATION_REQUEST_SUCCESS", "CANCELLATION_REQUEST_COMPLETE"}


def test_every_initiator_role_appears(state: dict[str, Any]) -> None:
    assert {r["role"] for r in state["returns"]} == {"BUYER", "SELLER"}
    assert {c["role"] for c in state["cancellations"]} == {"BUYER", "SELLER", "SYSTEM", "OPERATOR"}


def test_every_request_reason_appears(state: dict[str, Any]) -> None:
    used = {r["return_reason"] for r in state["returns"]} | {c["cancel_reason"] for c in state["cancellations"]}
    request_categories = [c for c in rs.CATEGORIES if not c.startswith("seller_reject")]
    expected = {name for c in request_categories for name in rs.CATEGORIES[c]}
    assert expected <= used


def test_every_reject_reason_appears_in_the_history(world: World, state: dict[str, Any]) -> None:
    texts = set()
    for shop in world.shops():
        for record in state["returns"]:
            if record["shop_id"] == shop.id:
                texts |= {r["reason_text"] for r in world.return_records(shop, record["return_id"], {})["records"]}
    for name in rs.ALL_REJECT_REASONS - set(rs.CATEGORIES["seller_reject_cancel"]):
        assert rs.text(name) in texts, name


def test_partial_refund_offers_and_buyer_refusals_appear(state: dict[str, Any]) -> None:
    offers = [r for r in state["returns"] if r.get("seller_proposed_return_type") == "PARTIAL_REFUND"]
    assert offers and all(r["partial_refund"]["currency"] == r["refund_amount"]["currency"] for r in offers)
    assert any(r["buyer_rejected_partial_refund"] for r in offers)


def test_edited_requests_are_chained_both_ways(state: dict[str, Any]) -> None:
    by_id = {r["return_id"]: r for r in state["returns"]}
    newer = [r for r in state["returns"] if "pre_return_id" in r]
    assert newer
    for record in newer:
        older = by_id[record["pre_return_id"]]
        assert older["next_return_id"] == record["return_id"]
        assert older["return_status"] == "RETURN_OR_REFUND_REQUEST_CANCEL"
        assert older["order_id"] == record["order_id"]


def test_combined_returns_share_a_combined_id(state: dict[str, Any]) -> None:
    combined = [r for r in state["returns"] if r["is_combined_return"]]
    assert combined
    groups: dict[str, list[dict]] = {}
    for record in combined:
        groups.setdefault(record["combined_return_id"], []).append(record)
    assert all(len(group) == 2 for group in groups.values())
    assert all(r["combined_return_id"] == "0" for r in state["returns"] if not r["is_combined_return"])


def test_buyers_can_keep_items_in_returnless_refunds(state: dict[str, Any]) -> None:
    kept = [r for r in state["returns"] if r["return_type"] == "RETURN_AND_REFUND" and r["can_buyer_keep_item"]]
    assert kept


def test_payment_relationships_hold_for_every_order(state: dict[str, Any]) -> None:
    for order in state["orders"]:
        p = {k: money(v) for k, v in order["payment"].items() if k != "currency"}
        assert p["sub_total"] == p["original_total_product_price"] - p["seller_discount"] - p["platform_discount"]
        assert p["shipping_fee"] == (p["original_shipping_fee"] - p["shipping_fee_seller_discount"]
                                     - p["shipping_fee_platform_discount"])
        fees = p.get("retail_delivery_fee", 0) + p.get("buyer_service_fee", 0)
        assert p["total_amount"] == p["sub_total"] + p["shipping_fee"] + p["tax"] + fees
        assert p["tax"] == p["product_tax"] + p["shipping_fee_tax"]


def test_order_payment_is_the_sum_of_its_line_items(state: dict[str, Any]) -> None:
    for order in state["orders"]:
        lines = order["line_items"]
        assert sum(money(x["original_price"]) for x in lines) == money(order["payment"]["original_total_product_price"])
        assert sum(money(x["sale_price"]) for x in lines) == money(order["payment"]["sub_total"])
        assert sum(money(x["seller_discount"]) for x in lines) == money(order["payment"]["seller_discount"])
        assert sum(money(x["platform_discount"]) for x in lines) == money(order["payment"]["platform_discount"])


def test_us_lines_carry_sales_tax_that_adds_up_to_the_order_tax(state: dict[str, Any]) -> None:
    us = [o for o in state["orders"] if o["payment"]["currency"] == "USD"]
    assert us
    for order in us:
        tax = sum(money(x["item_tax"][0]["tax_amount"]) for x in order["line_items"])
        assert tax == money(order["payment"]["product_tax"])


def test_money_strings_use_the_currency_precision(state: dict[str, Any]) -> None:
    def amounts(record: dict) -> list[tuple[str, str]]:
        found = []
        for block in [record.get("payment", {}), record.get("refund_amount", {})]:
            found += [(block["currency"], v) for k, v in block.items() if k != "currency"]
        return found

    for record in state["orders"] + state["returns"] + state["cancellations"]:
        for currency, value in amounts(record):
            pattern = r"\d+" if currency == "IDR" else r"\d+\.\d{2}"
            assert re.fullmatch(pattern, value), (currency, value)


def test_idr_amounts_have_no_decimals(state: dict[str, Any]) -> None:
    idr = [r for r in state["returns"] if r["refund_amount"]["currency"] == "IDR"]
    assert idr
    for record in idr:
        assert "." not in record["refund_amount"]["refund_total"]
        assert all("." not in line["refund_amount"]["refund_total"] for line in record["return_line_items"])


@pytest.mark.parametrize("field", ["refund_total", "refund_subtotal", "refund_shipping_fee", "refund_tax"])
def test_return_amounts_are_the_sum_of_their_lines(state: dict[str, Any], field: str) -> None:
    for record in state["returns"]:
        lines = sum(money(x["refund_amount"][field]) for x in record["return_line_items"])
        assert lines == money(record["refund_amount"][field]), record["return_id"]


def test_refund_total_includes_tax_by_default(state: dict[str, Any]) -> None:
    taxed = [r for r in state["returns"] if money(r["refund_amount"]["refund_tax"]) > 0]
    assert taxed
    for record in state["returns"]:
        a = {k: money(v) for k, v in record["refund_amount"].items() if k != "currency"}
        assert a["refund_total"] == a["refund_subtotal"] + a["refund_shipping_fee"] + a["refund_tax"]


def test_refund_total_excludes_tax_when_switched_off() -> None:
    world = World(seed=42, seed_returns=400, clock=frozen_clock(), refund_total_includes_tax=False)
    records = world.snapshot()["returns"]
    assert any(money(r["refund_amount"]["refund_tax"]) > 0 for r in records)
    for record in records:
        a = {k: money(v) for k, v in record["refund_amount"].items() if k != "currency"}
        assert a["refund_total"] == a["refund_subtotal"] + a["refund_shipping_fee"]


def test_return_lines_join_the_order_line_items_one_unit_each(world: World, state: dict[str, Any]) -> None:
    orders = {o["id"]: o for o in state["orders"]}
    for record in state["returns"]:
        order = orders[record["order_id"]]
        line_ids = {x["id"]: x for x in order["line_items"]}
        joined = [x["order_line_item_id"] for x in record["return_line_items"]]
        assert len(joined) == len(set(joined)) >= 1
        for line in record["return_line_items"]:
            assert line["order_line_item_id"] in line_ids
            assert line["sku_id"] == line_ids[line["order_line_item_id"]]["sku_id"]
            assert line["seller_sku"] == line_ids[line["order_line_item_id"]]["seller_sku"]


def test_refund_subtotal_of_a_line_is_what_the_buyer_paid_for_the_unit(state: dict[str, Any]) -> None:
    lines = {x["id"]: x for o in state["orders"] for x in o["line_items"]}
    full = [r for r in state["returns"] if "partial_refund" not in r or r["return_status"] not in
            ("RETURN_OR_REFUND_REQUEST_COMPLETE", "RETURN_OR_REFUND_REQUEST_SUCCESS")]
    for record in full:
        for line in record["return_line_items"]:
            assert money(line["refund_amount"]["refund_subtotal"]) == money(
                lines[line["order_line_item_id"]]["sale_price"])


def test_pending_requests_have_deadlines_in_the_future(world: World, state: dict[str, Any]) -> None:
    now = world.clock.now()
    waiting = [r for r in state["returns"] + state["cancellations"] if r["seller_next_action_response"]]
    assert waiting
    for record in waiting:
        for action in record["seller_next_action_response"]:
            assert now < action["deadline"] <= now + 48 * 3600


def test_pending_requests_were_created_within_the_last_48_hours(world: World, state: dict[str, Any]) -> None:
    now = world.clock.now()
    for record in state["returns"]:
        if record["return_status"] == "RETURN_OR_REFUND_REQUEST_PENDING" and record["role"] == "BUYER":
            assert now - 48 * 3600 < record["create_time"] <= now


def test_finished_requests_are_at_most_90_days_old(world: World, state: dict[str, Any]) -> None:
    now = world.clock.now()
    for record in state["returns"] + state["cancellations"]:
        assert now - 90 * 86400 <= record["create_time"] <= record["update_time"] <= now


@pytest.mark.parametrize("status,action", [
    ("RETURN_OR_REFUND_REQUEST_PENDING", {"SELLER_RESPOND_REFUND", "SELLER_RESPOND_RETURN"}),
    ("BUYER_SHIPPED_ITEM", {"SELLER_RESPOND_RECEIVE_PACKAGE"}),
    ("REPLACEMENT_REQUEST_PENDING", {"SELLER_RESPOND_REPLACEMENT"}),
])
def test_waiting_statuses_name_the_sellers_next_action(state: dict[str, Any], status: str, action: set[str]) -> None:
    records = [r for r in state["returns"] if r["return_status"] == status and r["role"] == "BUYER"
               and r.get("arbitration_status") != "IN_PROGRESS"]
    assert records
    assert {a["action"] for r in records for a in r["seller_next_action_response"]} == action


def test_finished_returns_await_nothing_from_the_seller(state: dict[str, Any]) -> None:
    for record in state["returns"]:
        if record["return_status"].endswith(("_COMPLETE", "_CANCEL")):
            assert record["seller_next_action_response"] == []


def test_records_are_oldest_first_and_start_with_the_request(world: World, state: dict[str, Any]) -> None:
    shop = world.shops()[0]
    for record in [r for r in state["returns"] if r["shop_id"] == shop.id]:
        history = world.return_records(shop, record["return_id"], {})["records"]
        assert history[0]["role"] == record["role"]
        times = [h["create_time"] for h in history]
        assert times == sorted(times)
        assert times[0] == record["create_time"]
        assert all(h["event"] == "ORDER_RETURN" for h in history)


def test_buyer_evidence_images_and_videos_use_the_media_url(world: World, state: dict[str, Any]) -> None:
    shop = world.shops()[1]
    media = [h for r in state["returns"] if r["shop_id"] == shop.id
             for h in world.return_records(shop, r["return_id"], {})["records"] if h["images"] or h["videos"]]
    assert any(h["videos"] for h in media) and any(h["images"] for h in media)
    for entry in media:
        for item in entry["images"] + entry["videos"]:
            assert re.fullmatch(r"http://127\.0\.0\.1/_emulator/media/[\w-]+\.jpg", item["url"])


def test_media_base_url_change_reaches_cached_records() -> None:
    world = World(seed=1, seed_returns=40, clock=frozen_clock())
    shop = world.shops()[0]
    first = plain(world.search_returns(shop, {}, {}))["return_orders"][0]
    world.media_base_url = "http://127.0.0.1:8123"
    again = plain(world.search_returns(shop, {}, {}))["return_orders"][0]
    image = again["return_line_items"][0]["product_image"]["url"]
    assert first["return_line_items"][0]["product_image"]["url"].startswith("http://127.0.0.1/_emulator/media/")
    assert image.startswith("http://127.0.0.1:8123/_emulator/media/") and image.endswith(".jpg")


def test_seed_requests_adds_to_one_shop_only() -> None:
    world = World(seed=5, seed_returns=40, clock=frozen_clock())
    target, other = world.shops()[0], world.shops()[1]
    before = {s["id"]: s for s in world.snapshot()["shops"]}
    world.seed_requests(target, 250, 30)
    after = {s["id"]: s for s in world.snapshot()["shops"]}
    assert after[target.id]["return_count"] == before[target.id]["return_count"] + 250
    assert after[target.id]["cancellation_count"] == before[target.id]["cancellation_count"] + 30
    assert after[other.id] == before[other.id]


def test_seed_requests_is_deterministic() -> None:
    def build() -> list:
        world = World(seed=5, clock=frozen_clock())
        world.seed_requests(world.shops()[2], 60, 10)
        return world.snapshot(world.shops()[2])["returns"]

    assert build() == build()


def test_orders_exist_in_every_status_for_new_requests(state: dict[str, Any]) -> None:
    assert {o["status"] for o in state["orders"]} == set(m.ORDER_STATUSES)


def test_cancelled_orders_name_who_cancelled_them(state: dict[str, Any]) -> None:
    cancelled = [o for o in state["orders"] if o["status"] == "CANCELLED"]
    assert cancelled
    for order in cancelled:
        assert order["cancellation_initiator"] in ("BUYER", "SELLER", "SYSTEM")
        assert all(line["display_status"] == "CANCELLED" for line in order["line_items"])


def test_replacement_orders_point_to_the_replaced_order(state: dict[str, Any]) -> None:
    ids = {o["id"] for o in state["orders"]}
    replacements = [o for o in state["orders"] if o["is_replacement_order"]]
    assert replacements
    for order in replacements:
        assert order["replaced_order_id"] in ids
        assert order["payment"]["total_amount"] in ("0", "0.00")
