"""Deadlines in the emulator's World: what ``tick()`` does when the business clock passes them (§4.5)."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from returnbridge.emulators.tiktok.clock import Clock
from returnbridge.emulators.tiktok.model import Shop
from returnbridge.emulators.tiktok.world import World

START = 1_760_000_000
HOUR = 3600
REQUEST_REASON = "seller_reject_apply_item_is_correct"


@pytest.fixture
def clock() -> Clock:
    return Clock(start=START, monotonic=lambda: 0.0)


@pytest.fixture
def world(clock: Clock) -> World:
    return World(seed=51, clock=clock)


@pytest.fixture
def us(world: World) -> Shop:
    return next(s for s in world.shops() if s.region == "US")


def plain(data: Any) -> Any:
    return orjson.loads(orjson.dumps(data))


def current(world: World, request_id: str) -> dict:
    found = world.find_request(request_id)
    assert found is not None
    return found


def status(world: World, request_id: str) -> str:
    found = current(world, request_id)
    return found.get("return_status") or found["cancel_status"]


def after(world: World, clock: Clock, seconds: int) -> list:
    clock.advance(seconds)
    return world.tick()


def test_pending_refund_is_approved_by_tiktok_after_48_hours(world: World, us: Shop, clock: Clock) -> None:
    return_id = world.create_return_request(us, return_type="REFUND")["return_id"]
    after(world, clock, 48 * HOUR - 1)
    assert status(world, return_id) == "RETURN_OR_REFUND_REQUEST_PENDING"
    after(world, clock, 1)
    assert status(world, return_id) == "RETURN_OR_REFUND_REQUEST_SUCCESS"
    last = world.return_records(us, return_id, {})["records"][-1]
    assert last["role"] == "SYSTEM" and "did not respond within 48 hours" in last["description"]


def test_pending_return_is_approved_by_tiktok_after_48_hours(world: World, us: Shop, clock: Clock) -> None:
    return_id = world.create_return_request(us)["return_id"]
    after(world, clock, 48 * HOUR)
    assert status(world, return_id) == "AWAITING_BUYER_SHIP"


def test_refund_completes_a_minute_after_success(world: World, us: Shop, clock: Clock) -> None:
    return_id = world.create_return_request(us, return_type="REFUND")["return_id"]
    world.approve_return(us, return_id, {"decision": "APPROVE_REFUND"})
    after(world, clock, 59)
    assert status(world, return_id) == "RETURN_OR_REFUND_REQUEST_SUCCESS"
    after(world, clock, 1)
    assert status(world, return_id) == "RETURN_OR_REFUND_REQUEST_COMPLETE"


def test_received_package_is_accepted_by_tiktok_after_48_hours(world: World, us: Shop, clock: Clock) -> None:
    return_id = world.create_return_request(us)["return_id"]
    world.approve_return(us, return_id, {"decision": "APPROVE_RETURN"})
    world.buyer_ship(return_id)
    after(world, clock, 48 * HOUR)
    assert status(world, return_id) == "RETURN_OR_REFUND_REQUEST_SUCCESS"
    assert world.return_records(us, return_id, {})["records"][-1]["role"] == "SYSTEM"


def test_replacement_is_sent_by_tiktok_after_24_hours(world: World, us: Shop, clock: Clock) -> None:
    return_id = world.create_return_request(us, return_type="REPLACEMENT")["return_id"]
    after(world, clock, 24 * HOUR)
    assert status(world, return_id) == "REPLACEMENT_REQUEST_COMPLETE"
    assert any(o["is_replacement_order"] for o in world.snapshot(us)["orders"])


def test_return_closes_when_the_buyer_does_not_ship_within_5_days(world: World, us: Shop, clock: Clock) -> None:
    return_id = world.create_return_request(us)["return_id"]
    world.approve_return(us, return_id, {"decision": "APPROVE_RETURN"})
    after(world, clock, 5 * 24 * HOUR - 1)
    assert status(world, return_id) == "AWAITING_BUYER_SHIP"
    after(world, clock, 1)
    assert status(world, return_id) == "RETURN_OR_REFUND_REQUEST_CANCEL"


@pytest.mark.parametrize("return_type,decision,closed", [
    ("RETURN_AND_REFUND", "REJECT_RETURN", "RETURN_OR_REFUND_REQUEST_CANCEL"),
    ("REPLACEMENT", "REJECT_REPLACEMENT", "REPLACEMENT_REQUEST_CANCEL"),
])
def test_rejection_becomes_final_when_the_appeal_window_ends(world: World, us: Shop, clock: Clock, return_type: str,
                                                            decision: str, closed: str) -> None:
    return_id = world.create_return_request(us, return_type=return_type)["return_id"]
    world.reject_return(us, return_id, {"decision": decision, "reject_reason": REQUEST_REASON})
    after(world, clock, 72 * HOUR)
    assert status(world, return_id) == closed


def test_rejected_parcel_becomes_final_when_the_appeal_window_ends(world: World, us: Shop, clock: Clock) -> None:
    return_id = world.create_return_request(us)["return_id"]
    world.approve_return(us, return_id, {"decision": "APPROVE_RETURN"})
    world.buyer_ship(return_id)
    world.reject_return(us, return_id, {"decision": "REJECT_RECEIVED_PACKAGE",
                                        "reject_reason": "reverse_reject_return_parcel_reason_3"})
    after(world, clock, 72 * HOUR - 1)
    assert status(world, return_id) == "REJECT_RECEIVE_PACKAGE"
    after(world, clock, 1)
    assert status(world, return_id) == "RETURN_OR_REFUND_REQUEST_CANCEL"


def test_pending_exchange_is_sent_by_tiktok_after_48_hours(world: World, us: Shop, clock: Clock) -> None:
    return_id = world.create_return_request(us, return_type="EXCHANGE")["return_id"]
    after(world, clock, 48 * HOUR)
    assert status(world, return_id) == "EXCHANGE_REQUEST_COMPLETE"


def test_escalated_rejection_waits_for_the_operator(world: World, us: Shop, clock: Clock) -> None:
    return_id = world.create_return_request(us)["return_id"]
    world.reject_return(us, return_id, {"decision": "REJECT_RETURN", "reject_reason": REQUEST_REASON})
    world.buyer_escalate(return_id)
    after(world, clock, 30 * 24 * HOUR)
    assert status(world, return_id) == "REFUND_OR_RETURN_REQUEST_REJECT"
    assert current(world, return_id)["arbitration_status"] == "IN_PROGRESS"


def test_unanswered_partial_refund_offer_closes_after_48_hours(world: World, us: Shop, clock: Clock) -> None:
    return_id = world.create_return_request(us, return_type="REFUND")["return_id"]
    world.approve_return(us, return_id, {"decision": "OFFER_PARTIAL_REFUND",
                                         "partial_refund": {"amount": "1.00", "currency": "USD"}})
    after(world, clock, 48 * HOUR)
    assert status(world, return_id) == "RETURN_OR_REFUND_REQUEST_CANCEL"


def test_a_deadline_set_before_a_decision_does_not_fire(world: World, us: Shop, clock: Clock) -> None:
    return_id = world.create_return_request(us)["return_id"]
    after(world, clock, HOUR)
    world.approve_return(us, return_id, {"decision": "APPROVE_RETURN"})
    events = after(world, clock, 48 * HOUR)
    assert status(world, return_id) == "AWAITING_BUYER_SHIP"
    assert all(e.data["return_id"] != return_id for e in events)


def test_pending_buyer_cancellation_is_approved_by_tiktok_after_48_hours(world: World, us: Shop,
                                                                         clock: Clock) -> None:
    cancel = world.create_cancellation_request(us)
    after(world, clock, 48 * HOUR)
    assert status(world, cancel["cancel_id"]) == "CANCELLATION_REQUEST_SUCCESS"
    order = plain(world.get_orders(us, {"ids": cancel["order_id"]}))["orders"][0]
    assert order["status"] == "CANCELLED"
    after(world, clock, 60)
    assert status(world, cancel["cancel_id"]) == "CANCELLATION_REQUEST_COMPLETE"


def test_seeded_settling_refunds_complete_within_a_minute(clock: Clock) -> None:
    world = World(seed=51, seed_returns=400, clock=clock)
    settling = [r for r in world.snapshot()["returns"] if r["return_status"] == "RETURN_OR_REFUND_REQUEST_SUCCESS"]
    assert settling
    after(world, clock, 60)
    assert all(status(world, r["return_id"]) == "RETURN_OR_REFUND_REQUEST_COMPLETE" for r in settling)


def test_seeded_pending_requests_are_auto_approved_after_48_hours(clock: Clock) -> None:
    world = World(seed=51, seed_returns=400, clock=clock)
    pending = [r for r in world.snapshot()["returns"]
               if r["return_status"] == "RETURN_OR_REFUND_REQUEST_PENDING" and r["role"] == "BUYER"]
    assert pending
    events = after(world, clock, 48 * HOUR)
    assert all(status(world, r["return_id"]) != "RETURN_OR_REFUND_REQUEST_PENDING" for r in pending)
    assert {r["return_id"] for r in pending} <= {e.data["return_id"] for e in events if e.type == 12}


def test_tick_with_nothing_due_changes_nothing(clock: Clock) -> None:
    world = World(seed=51, seed_returns=200, clock=clock)
    before = world.snapshot()
    assert world.tick() == []
    assert world.snapshot() == before


def test_tick_is_cheap_when_nothing_is_due() -> None:
    clock = Clock(start=START, monotonic=lambda: 0.0)
    world = World(seed=51, clock=clock)
    world.seed_requests(world.shops()[0], 50_000)
    world.tick()
    began = time.perf_counter()
    for _ in range(1_000):
        world.tick()
    assert time.perf_counter() - began < 0.25
