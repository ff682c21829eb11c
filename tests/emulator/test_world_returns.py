"""Approve / Reject Return, Get Reject Reasons and Get Return Records in the emulator's World (§3.2–3.5, §4.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from returnbridge.emulators.tiktok.clock import Clock
from returnbridge.emulators.tiktok.errors import ApiError
from returnbridge.emulators.tiktok.model import Shop
from returnbridge.emulators.tiktok.world import World

START = 1_760_000_000
REQUEST_REASON = "seller_reject_apply_item_is_correct"
REFUND_ONLY_REASON = "seller_reject_apply_unable_to_change_address"
PARCEL_REASON = "reverse_reject_return_parcel_reason_1"


@pytest.fixture
def world() -> World:
    return World(seed=21, clock=Clock(start=START, monotonic=lambda: 0.0))


@pytest.fixture
def us(world: World) -> Shop:
    return next(s for s in world.shops() if s.region == "US")


@pytest.fixture
def gb(world: World) -> Shop:
    return next(s for s in world.shops() if s.region == "GB")


def plain(data: Any) -> Any:
    return orjson.loads(orjson.dumps(data))


def code_of(call: Callable[[], Any]) -> int:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value.code


def status(world: World, return_id: str) -> str:
    found = world.find_request(return_id)
    assert found is not None
    return found["return_status"]


def open_request(world: World, shop: Shop, return_type: str = "RETURN_AND_REFUND", units: int = 1) -> str:
    return world.create_return_request(shop, return_type=return_type, units=units)["return_id"]


def shipped(world: World, shop: Shop) -> str:
    return_id = open_request(world, shop)
    world.approve_return(shop, return_id, {"decision": "APPROVE_RETURN"})
    world.buyer_ship(return_id)
    return return_id


def approved(world: World, shop: Shop) -> str:
    return_id = open_request(world, shop, "REFUND")
    world.approve_return(shop, return_id, {"decision": "APPROVE_REFUND"})
    return return_id


def rejected(world: World, shop: Shop) -> str:
    return_id = open_request(world, shop)
    world.reject_return(shop, return_id, {"decision": "REJECT_RETURN", "reject_reason": REQUEST_REASON})
    return return_id


def escalated(world: World, shop: Shop) -> str:
    return_id = rejected(world, shop)
    world.buyer_escalate(return_id)
    return return_id


def received(world: World, shop: Shop) -> str:
    return_id = shipped(world, shop)
    world.approve_return(shop, return_id, {"decision": "APPROVE_RECEIVED_PACKAGE"})
    return return_id


def fbt_shipped(world: World, shop: Shop) -> str:
    order = world.create_order(shop, fulfillment_type="FULFILLMENT_BY_TIKTOK")
    return_id = world.create_return_request(shop, order_id=order["id"])["return_id"]
    world.approve_return(shop, return_id, {"decision": "APPROVE_RETURN"})
    world.buyer_ship(return_id)
    return return_id


# --- approve: allowed transitions ----------------------------------------------------------------------------


def test_approve_refund_on_pending_refund_succeeds(world: World, us: Shop) -> None:
    return_id = open_request(world, us, "REFUND")
    assert world.approve_return(us, return_id, {"decision": "APPROVE_REFUND"}) == {}
    assert status(world, return_id) == "RETURN_OR_REFUND_REQUEST_SUCCESS"


def test_approve_return_waits_for_the_buyer_to_ship(world: World, us: Shop) -> None:
    return_id = open_request(world, us)
    world.approve_return(us, return_id, {"decision": "APPROVE_RETURN"})
    assert status(world, return_id) == "AWAITING_BUYER_SHIP"


def test_approve_return_with_buyer_keep_item_is_a_returnless_refund(world: World, us: Shop) -> None:
    return_id = open_request(world, us)
    world.approve_return(us, return_id, {"decision": "APPROVE_RETURN", "buyer_keep_item": True})
    found = world.find_request(return_id)
    assert found is not None
    assert found["return_status"] == "RETURN_OR_REFUND_REQUEST_SUCCESS" and found["can_buyer_keep_item"] is True


def test_direct_refund_on_pending_return_refunds_without_return(world: World, us: Shop) -> None:
    return_id = open_request(world, us)
    world.approve_return(us, return_id, {"decision": "DIRECT_REFUND"})
    assert status(world, return_id) == "RETURN_OR_REFUND_REQUEST_SUCCESS"


def test_approve_received_package_after_shipping_succeeds(world: World, us: Shop) -> None:
    return_id = shipped(world, us)
    world.approve_return(us, return_id, {"decision": "APPROVE_RECEIVED_PACKAGE"})
    assert status(world, return_id) == "RETURN_OR_REFUND_REQUEST_SUCCESS"


def test_approve_replacement_completes_and_creates_a_new_order(world: World, us: Shop) -> None:
    return_id = open_request(world, us, "REPLACEMENT")
    original = world.find_request(return_id)
    assert original is not None
    world.approve_return(us, return_id, {"decision": "APPROVE_REPLACEMENT"})
    assert status(world, return_id) == "REPLACEMENT_REQUEST_COMPLETE"
    replacements = [o for o in world.snapshot(us)["orders"] if o["is_replacement_order"]]
    assert [o["replaced_order_id"] for o in replacements] == [original["order_id"]]
    assert replacements[0]["line_items"][0]["sku_id"] == original["return_line_items"][0]["sku_id"]


def test_issue_replacement_refund_ends_in_refund_success(world: World, us: Shop) -> None:
    return_id = open_request(world, us, "REPLACEMENT")
    world.approve_return(us, return_id, {"decision": "ISSUE_REPLACEMENT_REFUND"})
    assert status(world, return_id) == "REPLACEMENT_REQUEST_REFUND_SUCCESS"


@pytest.mark.parametrize("return_type", ["REFUND", "RETURN_AND_REFUND"])
def test_offer_partial_refund_waits_for_the_buyer(world: World, us: Shop, return_type: str) -> None:
    return_id = open_request(world, us, return_type)
    world.approve_return(us, return_id, {"decision": "OFFER_PARTIAL_REFUND",
                                         "partial_refund": {"amount": "1.00", "currency": "USD"}})
    found = world.find_request(return_id)
    assert found is not None
    assert found["return_status"] == "AWAITING_BUYER_RESPONSE"
    assert found["seller_proposed_return_type"] == "PARTIAL_REFUND"
    assert found["partial_refund"] == {"currency": "USD", "amount": "1.00"}


def test_buyer_accepting_a_partial_refund_refunds_that_amount(world: World, us: Shop) -> None:
    return_id = open_request(world, us, "REFUND")
    world.approve_return(us, return_id, {"decision": "OFFER_PARTIAL_REFUND",
                                         "partial_refund": {"amount": "1.25", "currency": "USD"}})
    found = world.buyer_respond_partial_refund(return_id, True)
    assert found["return_status"] == "RETURN_OR_REFUND_REQUEST_SUCCESS"
    assert found["refund_amount"]["refund_total"] == "1.25"
    assert sum(float(x["refund_amount"]["refund_total"]) for x in found["return_line_items"]) == 1.25


def test_buyer_declining_a_partial_refund_reopens_the_request(world: World, us: Shop) -> None:
    return_id = open_request(world, us, "REFUND")
    world.approve_return(us, return_id, {"decision": "OFFER_PARTIAL_REFUND",
                                         "partial_refund": {"amount": "1.00", "currency": "USD"}})
    found = world.buyer_respond_partial_refund(return_id, False)
    assert found["return_status"] == "RETURN_OR_REFUND_REQUEST_PENDING"
    assert found["buyer_rejected_partial_refund"] is True
    assert found["seller_next_action_response"][0]["deadline"] == world.clock.now() + 48 * 3600


# --- approve: errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("decision", ["APPROVE_REFUND", "DIRECT_REFUND"])
def test_approve_on_already_approved_refund_fails_with_25011012(world: World, us: Shop, decision: str) -> None:
    return_id = approved(world, us)
    assert code_of(lambda: world.approve_return(us, return_id, {"decision": decision})) == 25011012


def test_approve_return_twice_fails_with_25011012(world: World, us: Shop) -> None:
    return_id = open_request(world, us)
    world.approve_return(us, return_id, {"decision": "APPROVE_RETURN"})
    assert code_of(lambda: world.approve_return(us, return_id, {"decision": "APPROVE_RETURN"})) == 25011012


@pytest.mark.parametrize("stage", ["pending", "awaiting_ship", "received"])
def test_approve_received_package_before_shipping_fails_with_25011013(world: World, us: Shop, stage: str) -> None:
    return_id = {"pending": lambda: open_request(world, us), "received": lambda: received(world, us),
                 "awaiting_ship": lambda: _awaiting_ship(world, us)}[stage]()
    assert code_of(lambda: world.approve_return(us, return_id, {"decision": "APPROVE_RECEIVED_PACKAGE"})) == 25011013


def _awaiting_ship(world: World, shop: Shop) -> str:
    return_id = open_request(world, shop)
    world.approve_return(shop, return_id, {"decision": "APPROVE_RETURN"})
    return return_id


@pytest.mark.parametrize("return_type,decision", [
    ("RETURN_AND_REFUND", "APPROVE_REFUND"),
    ("REFUND", "APPROVE_RETURN"),
    ("REFUND", "APPROVE_RECEIVED_PACKAGE"),
    ("REFUND", "APPROVE_REPLACEMENT"),
    ("REPLACEMENT", "APPROVE_REFUND"),
    ("REPLACEMENT", "OFFER_PARTIAL_REFUND"),
    ("EXCHANGE", "APPROVE_REPLACEMENT"),
])
def test_decision_of_another_type_fails_with_25020004(world: World, us: Shop, return_type: str,
                                                      decision: str) -> None:
    return_id = open_request(world, us, return_type)
    assert code_of(lambda: world.approve_return(us, return_id, {"decision": decision})) == 25020004


def test_approve_on_withdrawn_request_fails_with_25020009(world: World, us: Shop) -> None:
    return_id = open_request(world, us)
    world.buyer_withdraw(return_id)
    assert code_of(lambda: world.approve_return(us, return_id, {"decision": "APPROVE_RETURN"})) == 25020009


@pytest.mark.parametrize("body", [
    {"decision": "APPROVE_RETURN"},
    {"decision": "REJECT_RETURN", "reject_reason": REQUEST_REASON},
])
def test_decisions_during_arbitration_fail_with_25011010(world: World, us: Shop, body: dict) -> None:
    return_id = escalated(world, us)
    call = world.approve_return if body["decision"].startswith("APPROVE") else world.reject_return
    assert code_of(lambda: call(us, return_id, body)) == 25011010


@pytest.mark.parametrize("body", [
    {"decision": "APPROVE_RECEIVED_PACKAGE"},
    {"decision": "REJECT_RECEIVED_PACKAGE", "reject_reason": PARCEL_REASON},
])
def test_receipt_decisions_on_fbt_orders_fail_with_25011026(world: World, us: Shop, body: dict) -> None:
    return_id = fbt_shipped(world, us)
    call = world.approve_return if body["decision"].startswith("APPROVE") else world.reject_return
    assert code_of(lambda: call(us, return_id, body)) == 25011026


def test_partial_refund_after_approval_fails_with_25011032(world: World, us: Shop) -> None:
    return_id = _awaiting_ship(world, us)
    body = {"decision": "OFFER_PARTIAL_REFUND", "partial_refund": {"amount": "1.00", "currency": "USD"}}
    assert code_of(lambda: world.approve_return(us, return_id, body)) == 25011032


def test_second_partial_refund_offer_fails_with_25007007(world: World, us: Shop) -> None:
    return_id = open_request(world, us, "REFUND")
    body = {"decision": "OFFER_PARTIAL_REFUND", "partial_refund": {"amount": "1.00", "currency": "USD"}}
    world.approve_return(us, return_id, body)
    assert code_of(lambda: world.approve_return(us, return_id, body)) == 25007007


@pytest.mark.parametrize("partial", [
    {"amount": "1.00", "currency": "GBP"},
    {"amount": "99999.00", "currency": "USD"},
    {"amount": "1.005", "currency": "USD"},
    {"amount": "0", "currency": "USD"},
    {"amount": "a lot", "currency": "USD"},
])
def test_invalid_partial_refund_fails_with_11050001(world: World, us: Shop, partial: dict) -> None:
    return_id = open_request(world, us, "REFUND")
    body = {"decision": "OFFER_PARTIAL_REFUND", "partial_refund": partial}
    assert code_of(lambda: world.approve_return(us, return_id, body)) == 11050001


@pytest.mark.parametrize("partial", [None, "1.00", {"amount": 1, "currency": "USD"}])
def test_malformed_partial_refund_fails_with_25001001(world: World, us: Shop, partial: Any) -> None:
    return_id = open_request(world, us, "REFUND")
    body = {"decision": "OFFER_PARTIAL_REFUND", "partial_refund": partial}
    assert code_of(lambda: world.approve_return(us, return_id, body)) == 25001001


@pytest.mark.parametrize("body,code", [
    ({}, 25001001),
    ({"decision": 3}, 25001001),
    ({"decision": "APPROVE_EVERYTHING"}, 11050001),
    ({"decision": "APPROVE_RETURN", "buyer_keep_item": "yes"}, 25001001),
])
def test_malformed_approve_body_fails(world: World, us: Shop, body: dict, code: int) -> None:
    return_id = open_request(world, us)
    assert code_of(lambda: world.approve_return(us, return_id, body)) == code


def test_approving_another_shops_return_fails_with_25020005(world: World, us: Shop, gb: Shop) -> None:
    return_id = open_request(world, gb)
    assert code_of(lambda: world.approve_return(us, return_id, {"decision": "APPROVE_RETURN"})) == 25020005


def test_approving_an_unknown_return_fails_with_25007006(world: World, us: Shop) -> None:
    assert code_of(lambda: world.approve_return(us, "4035009999999999999", {"decision": "APPROVE_RETURN"})) == 25007006


# --- reject: allowed transitions -----------------------------------------------------------------------------


def test_reject_return_on_pending_request_rejects_it(world: World, us: Shop) -> None:
    return_id = rejected(world, us)
    assert status(world, return_id) == "REFUND_OR_RETURN_REQUEST_REJECT"


def test_reject_refund_on_pending_refund_rejects_it(world: World, us: Shop) -> None:
    return_id = open_request(world, us, "REFUND")
    world.reject_return(us, return_id, {"decision": "REJECT_REFUND", "reject_reason": REFUND_ONLY_REASON})
    assert status(world, return_id) == "REFUND_OR_RETURN_REQUEST_REJECT"


def test_reject_received_package_after_shipping_rejects_the_parcel(world: World, us: Shop) -> None:
    return_id = shipped(world, us)
    world.reject_return(us, return_id, {"decision": "REJECT_RECEIVED_PACKAGE", "reject_reason": PARCEL_REASON})
    assert status(world, return_id) == "REJECT_RECEIVE_PACKAGE"


def test_reject_replacement_rejects_it(world: World, us: Shop) -> None:
    return_id = open_request(world, us, "REPLACEMENT")
    world.reject_return(us, return_id, {"decision": "REJECT_REPLACEMENT", "reject_reason": REQUEST_REASON})
    assert status(world, return_id) == "REPLACEMENT_REQUEST_REJECT"


def test_reject_records_reason_comment_and_evidence(world: World, us: Shop) -> None:
    world.register_image("tos-maliva-i-o3syd03w52-us/evidence1", 800, 600)
    return_id = open_request(world, us)
    world.reject_return(us, return_id, {
        "decision": "REJECT_RETURN", "reject_reason": REQUEST_REASON, "comment": "Works fine in our test",
        "images": [{"image_id": "tos-maliva-i-o3syd03w52-us/evidence1", "mime_type": "image/jpeg",
                    "width": 800, "height": 600}],
    })
    last = world.return_records(us, return_id, {})["records"][-1]
    assert last["role"] == "SELLER"
    assert last["reason_text"] == "The item is correct"
    assert last["note"] == "Works fine in our test"
    assert len(last["images"]) == 1 and last["images"][0]["url"].endswith(".jpg")


def test_offer_partial_refund_after_receiving_package_in_202606(world: World, us: Shop) -> None:
    return_id = shipped(world, us)
    world.reject_return(us, return_id, {
        "decision": "OFFER_PARTIAL_REFUND_AFTER_RECEIVING_PKG", "reject_reason": PARCEL_REASON,
        "partial_refund_amount": {"partial_refund_total": "2.00", "currency": "USD"},
    }, "202606")
    found = world.find_request(return_id)
    assert found is not None
    assert found["return_status"] == "AWAITING_BUYER_RESPONSE"
    assert found["partial_refund"] == {"currency": "USD", "amount": "2.00"}
    assert world.buyer_respond_partial_refund(return_id, False)["return_status"] == "BUYER_SHIPPED_ITEM"


def test_offer_after_receiving_package_is_unknown_in_202309(world: World, us: Shop) -> None:
    return_id = shipped(world, us)
    body = {"decision": "OFFER_PARTIAL_REFUND_AFTER_RECEIVING_PKG", "reject_reason": PARCEL_REASON,
            "partial_refund_amount": {"partial_refund_total": "2.00", "currency": "USD"}}
    assert code_of(lambda: world.reject_return(us, return_id, body)) == 11050001


@pytest.mark.parametrize("body", [
    {"comment": "x" * 501},
    {"images": [{"image_id": "img"}] * 7},
])
def test_202606_limits_comment_and_images(world: World, us: Shop, body: dict) -> None:
    world.register_image("img", 10, 10)
    return_id = open_request(world, us)
    full = {"decision": "REJECT_RETURN", "reject_reason": REQUEST_REASON, **body}
    assert code_of(lambda: world.reject_return(us, return_id, full, "202606")) == 11050001


# --- reject: errors ------------------------------------------------------------------------------------------


def test_reject_after_approval_fails_with_25020010(world: World, us: Shop) -> None:
    return_id = _awaiting_ship(world, us)
    body = {"decision": "REJECT_RETURN", "reject_reason": REQUEST_REASON}
    assert code_of(lambda: world.reject_return(us, return_id, body)) == 25020010


def test_reject_received_package_after_accepting_it_fails_with_25020011(world: World, us: Shop) -> None:
    return_id = received(world, us)
    body = {"decision": "REJECT_RECEIVED_PACKAGE", "reject_reason": PARCEL_REASON}
    assert code_of(lambda: world.reject_return(us, return_id, body)) == 25020011


@pytest.mark.parametrize("stage", ["pending", "awaiting_ship"])
def test_reject_received_package_before_shipping_fails_with_25020012(world: World, us: Shop, stage: str) -> None:
    return_id = open_request(world, us) if stage == "pending" else _awaiting_ship(world, us)
    body = {"decision": "REJECT_RECEIVED_PACKAGE", "reject_reason": PARCEL_REASON}
    assert code_of(lambda: world.reject_return(us, return_id, body)) == 25020012


def test_reject_twice_fails_with_25001003(world: World, us: Shop) -> None:
    return_id = rejected(world, us)
    body = {"decision": "REJECT_RETURN", "reject_reason": REQUEST_REASON}
    assert code_of(lambda: world.reject_return(us, return_id, body)) == 25001003


def test_reject_of_another_type_fails_with_25020004(world: World, us: Shop) -> None:
    return_id = open_request(world, us)
    body = {"decision": "REJECT_REFUND", "reject_reason": REQUEST_REASON}
    assert code_of(lambda: world.reject_return(us, return_id, body)) == 25020004


def test_unknown_reject_reason_fails_with_25001014(world: World, us: Shop) -> None:
    return_id = open_request(world, us)
    body = {"decision": "REJECT_RETURN", "reject_reason": "because_i_said_so"}
    assert code_of(lambda: world.reject_return(us, return_id, body)) == 25001014


@pytest.mark.parametrize("reason", [PARCEL_REASON, REFUND_ONLY_REASON, "reverse_reject_request_reason_1"])
def test_reject_reason_of_the_wrong_stage_fails_with_25001016(world: World, us: Shop, reason: str) -> None:
    return_id = open_request(world, us)
    body = {"decision": "REJECT_RETURN", "reject_reason": reason}
    assert code_of(lambda: world.reject_return(us, return_id, body)) == 25001016


def test_removed_us_reason_is_still_valid_in_the_uk(world: World, gb: Shop) -> None:
    return_id = open_request(world, gb)
    body = {"decision": "REJECT_RETURN", "reject_reason": "reverse_reject_request_reason_1"}
    world.reject_return(gb, return_id, body)
    assert status(world, return_id) == "REFUND_OR_RETURN_REQUEST_REJECT"


def test_unknown_evidence_image_fails_with_11050001(world: World, us: Shop) -> None:
    return_id = open_request(world, us)
    body = {"decision": "REJECT_RETURN", "reject_reason": REQUEST_REASON, "images": [{"image_id": "never-uploaded"}]}
    assert code_of(lambda: world.reject_return(us, return_id, body)) == 11050001


@pytest.mark.parametrize("body", [
    {"decision": "REJECT_RETURN"},
    {"decision": "REJECT_RETURN", "reject_reason": 4},
    {"decision": "REJECT_RETURN", "reject_reason": REQUEST_REASON, "comment": ["no"]},
    {"decision": "REJECT_RETURN", "reject_reason": REQUEST_REASON, "images": [{"id": "x"}]},
])
def test_malformed_reject_body_fails_with_25001001(world: World, us: Shop, body: dict) -> None:
    return_id = open_request(world, us)
    assert code_of(lambda: world.reject_return(us, return_id, body)) == 25001001


# --- reject reasons ------------------------------------------------------------------------------------------


def reasons(world: World, shop: Shop, request_id: str) -> list[str]:
    return [r["name"] for r in world.reject_reasons(shop, {"return_or_cancel_id": request_id})["reasons"]]


def test_reject_reasons_of_a_pending_us_return_omit_the_removed_ones(world: World, us: Shop) -> None:
    names = reasons(world, us, open_request(world, us))
    assert REQUEST_REASON in names and "reverse_reject_request_reason_4" in names
    assert not {f"reverse_reject_request_reason_{n}" for n in (1, 2, 3, 5)} & set(names)
    assert PARCEL_REASON not in names and REFUND_ONLY_REASON not in names


def test_reject_reasons_of_a_pending_uk_return_include_all_request_reasons(world: World, gb: Shop) -> None:
    names = reasons(world, gb, open_request(world, gb))
    assert {f"reverse_reject_request_reason_{n}" for n in range(1, 6)} <= set(names)


def test_reject_reasons_of_a_pending_refund_add_the_refund_only_ones(world: World, us: Shop) -> None:
    assert REFUND_ONLY_REASON in reasons(world, us, open_request(world, us, "REFUND"))


def test_reject_reasons_of_a_shipped_return_are_parcel_reasons(world: World, us: Shop) -> None:
    names = reasons(world, us, shipped(world, us))
    assert PARCEL_REASON in names and REQUEST_REASON not in names


def test_reject_reasons_of_a_finished_return_are_empty(world: World, us: Shop) -> None:
    assert reasons(world, us, received(world, us)) == []


def test_reject_reasons_come_with_texts(world: World, us: Shop) -> None:
    listed = world.reject_reasons(us, {"return_or_cancel_id": open_request(world, us)})["reasons"]
    assert all(r["text"] and r["text"] != r["name"] for r in listed)


def test_reject_reasons_need_the_request_id(world: World, us: Shop) -> None:
    assert code_of(lambda: world.reject_reasons(us, {})) == 25001001


def test_reject_reasons_of_another_shops_request_fail_with_25020005(world: World, us: Shop, gb: Shop) -> None:
    assert code_of(lambda: reasons(world, us, open_request(world, gb))) == 25020005


# --- records -------------------------------------------------------------------------------------------------


def test_each_decision_appends_a_record_with_its_actor(world: World, us: Shop) -> None:
    return_id = received(world, us)
    records = world.return_records(us, return_id, {})["records"]
    assert [r["role"] for r in records] == ["BUYER", "SELLER", "BUYER", "SELLER"]
    assert "tracking number" in records[2]["note"]


def test_records_of_another_shops_return_fail_with_25020005(world: World, us: Shop, gb: Shop) -> None:
    return_id = open_request(world, gb)
    assert code_of(lambda: world.return_records(us, return_id, {})) == 25020005


def test_update_time_strictly_increases_within_one_second(world: World, us: Shop) -> None:
    return_id = open_request(world, us)
    first = plain(world.find_request(return_id))["update_time"]
    world.approve_return(us, return_id, {"decision": "APPROVE_RETURN"})
    second = plain(world.find_request(return_id))["update_time"]
    world.buyer_ship(return_id)
    third = plain(world.find_request(return_id))["update_time"]
    assert first < second < third
