"""Search Returns / Search Cancellations / orders in the emulator's World: filters, sorting, paging, errors."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from returnbridge.emulators.tiktok.clock import Clock
from returnbridge.emulators.tiktok.errors import ApiError
from returnbridge.emulators.tiktok.model import Shop
from returnbridge.emulators.tiktok.world import World

START = 1_760_000_000


def frozen_clock() -> Clock:
    return Clock(start=START, monotonic=lambda: 0.0)


@pytest.fixture(scope="module")
def world() -> World:
    return World(seed=11, seed_returns=600, clock=frozen_clock())


@pytest.fixture(scope="module")
def shop(world: World) -> Shop:
    return world.shops()[0]


def plain(data: Any) -> Any:
    return orjson.loads(orjson.dumps(data))


def search(world: World, shop: Shop, body: dict | None = None, version: str = "202309", **query: str) -> dict:
    return plain(world.search_returns(shop, dict(query), body or {}, version))


def every_return(world: World, shop: Shop, body: dict | None = None, version: str = "202309", **query: str,
                 ) -> list[dict]:
    query.setdefault("page_size", "50")
    page = search(world, shop, body, version, **query)
    found = list(page["return_orders"])
    while page["next_page_token"]:
        page = search(world, shop, body, version, page_token=page["next_page_token"], **query)
        found += page["return_orders"]
    return found


def every_cancellation(world: World, shop: Shop, body: dict | None = None, **query: str) -> list[dict]:
    query.setdefault("page_size", "50")
    page = plain(world.search_cancellations(shop, dict(query), body or {}))
    found = list(page["cancellations"])
    while page["next_page_token"]:
        page = plain(world.search_cancellations(shop, dict(query, page_token=page["next_page_token"]), body or {}))
        found += page["cancellations"]
    return found


def error_code(call: Any) -> int:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.code


@pytest.fixture(scope="module")
def all_returns(world: World, shop: Shop) -> list[dict]:
    return every_return(world, shop)


def test_default_page_is_ten_records_with_total_and_token(world: World, shop: Shop) -> None:
    page = search(world, shop)
    newest = search(world, shop, version="202602")
    exchanges = search(world, shop, {"return_types": ["EXCHANGE"]}, version="202602")["total_count"]
    assert len(page["return_orders"]) == 10
    assert newest["total_count"] == 150  # 600 seeded returns spread over 4 shops
    assert page["total_count"] == 150 - exchanges  # exchanges only exist from 202602
    assert page["next_page_token"]


def test_records_come_as_preencoded_fragments(world: World, shop: Shop) -> None:
    page = world.search_returns(shop, {}, {})
    assert all(isinstance(item, orjson.Fragment) for item in page["return_orders"])


def test_paging_returns_every_record_exactly_once(world: World, shop: Shop, all_returns: list[dict]) -> None:
    total = search(world, shop)["total_count"]
    ids = [r["return_id"] for r in all_returns]
    assert len(ids) == total == len(set(ids))


def test_last_page_has_an_empty_token(world: World, shop: Shop) -> None:
    page = search(world, shop, page_size="50")
    while page["next_page_token"]:
        page = search(world, shop, page_size="50", page_token=page["next_page_token"])
    assert page["next_page_token"] == ""


@pytest.mark.parametrize("field", ["create_time", "update_time"])
def test_ascending_sort_orders_by_the_field_then_id(world: World, shop: Shop, field: str) -> None:
    records = every_return(world, shop, sort_field=field, sort_order="ASC")
    keys = [(r[field], int(r["return_id"])) for r in records]
    assert keys == sorted(keys)


@pytest.mark.parametrize("field", ["create_time", "update_time"])
def test_descending_sort_orders_by_the_field_newest_first(world: World, shop: Shop, field: str) -> None:
    records = every_return(world, shop, sort_field=field, sort_order="DESC")
    keys = [(r[field], int(r["return_id"])) for r in records]
    assert keys == sorted(keys, reverse=True)
    assert len({r["return_id"] for r in records}) == len(records)


def test_equal_times_are_ordered_by_id() -> None:
    world = World(seed=2, clock=frozen_clock())
    shop = world.shops()[0]
    made = [world.create_return_request(shop, return_type="REFUND")["return_id"] for _ in range(12)]
    found = [r["return_id"] for r in every_return(world, shop, sort_field="create_time")]
    assert found == sorted(made, key=int)


def test_return_ids_filter_finds_exactly_those(world: World, shop: Shop, all_returns: list[dict]) -> None:
    wanted = [all_returns[3]["return_id"], all_returns[40]["return_id"]]
    assert sorted(r["return_id"] for r in every_return(world, shop, {"return_ids": wanted})) == sorted(wanted)


def test_order_ids_filter_finds_the_orders_returns(world: World, shop: Shop, all_returns: list[dict]) -> None:
    order_id = all_returns[7]["order_id"]
    found = every_return(world, shop, {"order_ids": [order_id]})
    assert found and {r["order_id"] for r in found} == {order_id}
    assert len(found) == sum(1 for r in all_returns if r["order_id"] == order_id)


def test_buyer_user_ids_filter_finds_that_buyers_returns(world: World, shop: Shop, all_returns: list[dict]) -> None:
    orders = {o["id"]: o["user_id"] for o in world.snapshot(shop)["orders"]}
    buyer = orders[all_returns[5]["order_id"]]
    found = every_return(world, shop, {"buyer_user_ids": [buyer]})
    assert found and all(orders[r["order_id"]] == buyer for r in found)
    assert len(found) == sum(1 for r in all_returns if orders[r["order_id"]] == buyer)


@pytest.mark.parametrize("field,values,key", [
    ("return_types", ["REPLACEMENT"], "return_type"),
    ("return_types", ["REFUND", "REPLACEMENT"], "return_type"),
    ("return_status", ["AWAITING_BUYER_SHIP"], "return_status"),
    ("return_status", ["RETURN_OR_REFUND_REQUEST_PENDING", "BUYER_SHIPPED_ITEM"], "return_status"),
    ("arbitration_status", ["IN_PROGRESS", "SUPPORT_SELLER"], "arbitration_status"),
])
def test_list_filters_match_any_listed_value(world: World, shop: Shop, all_returns: list[dict], field: str,
                                             values: list[str], key: str) -> None:
    found = every_return(world, shop, {field: values})
    assert found
    assert {r.get(key) for r in found} == set(values)
    assert len(found) == sum(1 for r in all_returns if r.get(key) in values)


def test_seller_proposed_return_type_filter(world: World, shop: Shop, all_returns: list[dict]) -> None:
    found = every_return(world, shop, {"seller_proposed_return_type": ["PARTIAL_REFUND"]})
    assert found and all(r["seller_proposed_return_type"] == "PARTIAL_REFUND" for r in found)
    assert len(found) == sum(1 for r in all_returns if r.get("seller_proposed_return_type"))


def test_filters_are_combined_with_and(world: World, shop: Shop, all_returns: list[dict]) -> None:
    body = {"return_types": ["RETURN_AND_REFUND"], "return_status": ["RETURN_OR_REFUND_REQUEST_COMPLETE"]}
    found = every_return(world, shop, body)
    expected = [r for r in all_returns if r["return_type"] == "RETURN_AND_REFUND"
                and r["return_status"] == "RETURN_OR_REFUND_REQUEST_COMPLETE"]
    assert found and len(found) == len(expected)


@pytest.mark.parametrize("field", ["create_time", "update_time"])
def test_ge_bound_is_inclusive(world: World, shop: Shop, all_returns: list[dict], field: str) -> None:
    pivot = sorted(r[field] for r in all_returns)[len(all_returns) // 2]
    found = every_return(world, shop, {f"{field}_ge": pivot})
    assert any(r[field] == pivot for r in found)
    assert len(found) == sum(1 for r in all_returns if r[field] >= pivot)


@pytest.mark.parametrize("field", ["create_time", "update_time"])
def test_lt_bound_is_exclusive(world: World, shop: Shop, all_returns: list[dict], field: str) -> None:
    pivot = sorted(r[field] for r in all_returns)[len(all_returns) // 2]
    found = every_return(world, shop, {f"{field}_lt": pivot})
    assert all(r[field] < pivot for r in found)
    assert len(found) == sum(1 for r in all_returns if r[field] < pivot)


def test_time_window_is_ge_and_lt_together(world: World, shop: Shop, all_returns: list[dict]) -> None:
    times = sorted(r["update_time"] for r in all_returns)
    low, high = times[20], times[60]
    found = every_return(world, shop, {"update_time_ge": low, "update_time_lt": high})
    assert len(found) == sum(1 for r in all_returns if low <= r["update_time"] < high)


def test_unknown_filter_values_match_nothing(world: World, shop: Shop) -> None:
    assert search(world, shop, {"return_status": ["NOT_A_STATUS"]})["total_count"] == 0
    assert search(world, shop, {"arbitration_status": ["MAYBE"]})["total_count"] == 0


def test_version_202309_hides_exchanges_and_ignores_the_exchange_filter(world: World, shop: Shop) -> None:
    assert search(world, shop, {"return_types": ["EXCHANGE"]})["total_count"] == 0
    assert all(r["return_type"] != "EXCHANGE" for r in every_return(world, shop))


def test_version_202602_shows_exchanges_and_the_quick_refund_flag(world: World, shop: Shop) -> None:
    exchanges = every_return(world, shop, {"return_types": ["EXCHANGE"]}, version="202602")
    assert exchanges and all(r["return_type"] == "EXCHANGE" for r in exchanges)
    newer = every_return(world, shop, version="202602")
    assert all(isinstance(r["is_quick_refund"], bool) for r in newer)
    assert any(r["is_quick_refund"] for r in newer)
    assert all("is_quick_refund" not in r for r in every_return(world, shop))


def test_page_token_from_another_filter_is_refused(world: World, shop: Shop) -> None:
    token = search(world, shop, {"return_types": ["REFUND"]})["next_page_token"]
    code = error_code(lambda: world.search_returns(shop, {"page_token": token}, {"return_types": ["REPLACEMENT"]}))
    assert code == 36009004


def test_page_token_from_another_sort_is_refused(world: World, shop: Shop) -> None:
    token = search(world, shop, sort_order="ASC")["next_page_token"]
    assert error_code(lambda: world.search_returns(shop, {"page_token": token, "sort_order": "DESC"}, {})) == 36009004


def test_damaged_page_token_is_refused(world: World, shop: Shop) -> None:
    with pytest.raises(ApiError) as caught:
        world.search_returns(shop, {"page_token": "%%%not-a-token"}, {})
    assert caught.value.code == 36009004 and caught.value.message.startswith("Invalid page_token")


@pytest.mark.parametrize("size", ["10", "50"])
def test_return_page_size_bounds_are_accepted(world: World, shop: Shop, size: str) -> None:
    assert len(search(world, shop, page_size=size)["return_orders"]) == int(size)


@pytest.mark.parametrize("size", ["9", "51", "0", "ten"])
def test_return_page_size_out_of_range_fails_with_36009004(world: World, shop: Shop, size: str) -> None:
    with pytest.raises(ApiError) as caught:
        world.search_returns(shop, {"page_size": size}, {})
    assert caught.value.code == 36009004 and "page_size" in caught.value.message


def test_return_page_size_bounds_hold_in_202602(world: World, shop: Shop) -> None:
    assert error_code(lambda: world.search_returns(shop, {"page_size": "9"}, {}, "202602")) == 36009004


@pytest.mark.parametrize("size,ok", [("1", True), ("50", True), ("0", False), ("51", False)])
def test_cancellation_page_size_is_1_to_50(world: World, shop: Shop, size: str, ok: bool) -> None:
    if ok:
        assert len(plain(world.search_cancellations(shop, {"page_size": size}, {}))["cancellations"]) >= 1
    else:
        assert error_code(lambda: world.search_cancellations(shop, {"page_size": size}, {})) == 36009004


@pytest.mark.parametrize("body", [
    {"create_time_ge": "1700000000"},
    {"update_time_lt": 1.5},
    {"update_time_ge": True},
    {"return_status": "RETURN_OR_REFUND_REQUEST_PENDING"},
    {"return_ids": [123]},
    {"locale": 5},
])
def test_wrong_json_types_fail_with_25001001(world: World, shop: Shop, body: dict) -> None:
    assert error_code(lambda: world.search_returns(shop, {}, body)) == 25001001


def test_non_object_body_fails_with_25001001(world: World, shop: Shop) -> None:
    assert error_code(lambda: world.search_returns(shop, {}, ["return_ids"])) == 25001001  # type: ignore[arg-type]


def test_unknown_sort_field_fails_with_36009004(world: World, shop: Shop) -> None:
    assert error_code(lambda: world.search_returns(shop, {"sort_field": "return_id"}, {})) == 36009004


def test_another_shops_return_id_fails_with_25020005(world: World, shop: Shop) -> None:
    other = world.shops()[1]
    foreign = search(world, other)["return_orders"][0]["return_id"]
    assert error_code(lambda: world.search_returns(shop, {}, {"return_ids": [foreign]})) == 25020005


def test_unknown_return_id_matches_nothing(world: World, shop: Shop) -> None:
    assert search(world, shop, {"return_ids": ["4035009999999999999", "12"]})["total_count"] == 0


def test_search_sees_a_change_made_after_the_first_page() -> None:
    world = World(seed=4, seed_returns=80, clock=frozen_clock())
    shop = world.shops()[0]
    body = {"return_status": ["RETURN_OR_REFUND_REQUEST_CANCEL"]}
    before = search(world, shop, body)["total_count"]
    pending = search(world, shop, {"return_status": ["RETURN_OR_REFUND_REQUEST_PENDING"]})["return_orders"][0]
    world.buyer_withdraw(pending["return_id"])
    assert search(world, shop, body)["total_count"] == before + 1


def test_incremental_sync_by_update_time_finds_the_changed_record() -> None:
    clock = frozen_clock()
    world = World(seed=4, seed_returns=80, clock=clock)
    shop = world.shops()[0]
    watermark = clock.advance(10)
    pending = search(world, shop, {"return_status": ["RETURN_OR_REFUND_REQUEST_PENDING"]})["return_orders"][0]
    world.buyer_withdraw(pending["return_id"])
    changed = every_return(world, shop, {"update_time_ge": watermark}, sort_field="update_time")
    assert [r["return_id"] for r in changed] == [pending["return_id"]]


# --- cancellations ------------------------------------------------------------------------------------------


def test_cancellation_paging_covers_every_record_once(world: World, shop: Shop) -> None:
    records = every_cancellation(world, shop, page_size="7")
    total = plain(world.search_cancellations(shop, {}, {}))["total_count"]
    assert len(records) == total == len({c["cancel_id"] for c in records}) > 0


@pytest.mark.parametrize("field,values,key", [
    ("cancel_types", ["BUYER_CANCEL"], "cancel_type"),
    ("cancel_types", ["CANCEL"], "cancel_type"),
    ("cancel_status", ["CANCELLATION_REQUEST_PENDING", "CANCELLATION_REQUEST_COMPLETE"], "cancel_status"),
])
def test_cancellation_list_filters(world: World, shop: Shop, field: str, values: list[str], key: str) -> None:
    everything = every_cancellation(world, shop)
    found = every_cancellation(world, shop, {field: values})
    assert found and {c[key] for c in found} == set(values)
    assert len(found) == sum(1 for c in everything if c[key] in values)


def test_cancellation_status_filter_accepts_the_webhook_spelling(world: World, shop: Shop) -> None:
    request = every_cancellation(world, shop, {"cancel_status": ["CANCELLATION_REQUEST_CANCEL"]})
    webhook = every_cancellation(world, shop, {"cancel_status": ["CANCELLATION_REQUEST_CANCELLED"]})
    assert request and request == webhook


def test_cancellation_order_ids_filter(world: World, shop: Shop) -> None:
    target = every_cancellation(world, shop)[2]
    found = every_cancellation(world, shop, {"order_ids": [target["order_id"]]})
    assert [c["cancel_id"] for c in found] == [target["cancel_id"]]


def test_cancellation_descending_update_time(world: World, shop: Shop) -> None:
    found = every_cancellation(world, shop, sort_field="update_time", sort_order="DESC")
    keys = [(c["update_time"], int(c["cancel_id"])) for c in found]
    assert keys == sorted(keys, reverse=True)


# --- orders -------------------------------------------------------------------------------------------------


def test_get_orders_returns_the_known_ids_and_omits_unknown_and_foreign(world: World, shop: Shop) -> None:
    mine = [r["order_id"] for r in search(world, shop)["return_orders"][:2]]
    foreign = search(world, world.shops()[1])["return_orders"][0]["order_id"]
    found = plain(world.get_orders(shop, {"ids": ",".join([*mine, "570099999999999999", foreign])}))["orders"]
    assert [o["id"] for o in found] == mine


def test_get_orders_refuses_more_than_50_ids(world: World, shop: Shop) -> None:
    ids = ",".join(str(570000000000000000 + i) for i in range(51))
    assert error_code(lambda: world.get_orders(shop, {"ids": ids})) == 36009004


def test_get_orders_requires_ids(world: World, shop: Shop) -> None:
    assert error_code(lambda: world.get_orders(shop, {})) == 36009004


def test_search_orders_requires_page_size(world: World, shop: Shop) -> None:
    assert error_code(lambda: world.search_orders(shop, {}, {})) == 36009004


@pytest.mark.parametrize("size", ["0", "101"])
def test_search_orders_page_size_is_1_to_100(world: World, shop: Shop, size: str) -> None:
    assert error_code(lambda: world.search_orders(shop, {"page_size": size}, {})) == 36009004


def test_search_orders_is_newest_first_by_default(world: World, shop: Shop) -> None:
    page = plain(world.search_orders(shop, {"page_size": "100"}, {}))
    times = [o["create_time"] for o in page["orders"]]
    assert times == sorted(times, reverse=True) and page["total_count"] > 100 and page["next_page_token"]


def test_search_orders_status_filter(world: World, shop: Shop) -> None:
    page = plain(world.search_orders(shop, {"page_size": "100"}, {"order_status": "AWAITING_SHIPMENT"}))
    assert page["orders"] and {o["status"] for o in page["orders"]} == {"AWAITING_SHIPMENT"}


def test_search_orders_buyer_cancel_filter(world: World, shop: Shop) -> None:
    page = plain(world.search_orders(shop, {"page_size": "100"}, {"is_buyer_request_cancel": True}))
    assert page["orders"] and all(o["is_buyer_request_cancel"] for o in page["orders"])
    pending = every_cancellation(world, shop, {"cancel_status": ["CANCELLATION_REQUEST_PENDING"]})
    assert {o["id"] for o in page["orders"]} == {c["order_id"] for c in pending}


def test_search_orders_wrong_type_fails_with_25001001(world: World, shop: Shop) -> None:
    assert error_code(lambda: world.search_orders(shop, {"page_size": "5"}, {"order_status": ["DELIVERED"]})) == (
        25001001)
