"""Change events from the emulator's World: one per change, shaped like the type 11 / 12 webhook data (§5.3)."""

from __future__ import annotations

import pytest

from returnbridge.emulators.tiktok.clock import Clock
from returnbridge.emulators.tiktok.model import ChangeEvent, Shop
from returnbridge.emulators.tiktok.world import World

START = 1_760_000_000


@pytest.fixture
def clock() -> Clock:
    return Clock(start=START, monotonic=lambda: 0.0)


@pytest.fixture
def events() -> list[ChangeEvent]:
    return []


@pytest.fixture
def world(clock: Clock, events: list[ChangeEvent]) -> World:
    world = World(seed=61, clock=clock)
    world.on_change = events.append
    return world


@pytest.fixture
def us(world: World) -> Shop:
    return next(s for s in world.shops() if s.region == "US")


def test_return_status_change_carries_the_documented_fields(world: World, us: Shop,
                                                            events: list[ChangeEvent]) -> None:
    created = world.create_return_request(us)
    events.clear()
    world.approve_return(us, created["return_id"], {"decision": "APPROVE_RETURN"})
    (event,) = events
    current = world.find_request(created["return_id"])
    assert current is not None
    assert event.type == 12 and event.shop_id == us.id
    assert event.data == {
        "order_id": created["order_id"],
        "return_role": "SELLER",
        "return_type": "RETURN_AND_REFUND",
        "return_status": "AWAITING_BUYER_SHIP",
        "return_id": created["return_id"],
        "create_time": created["create_time"],
        "update_time": current["update_time"],
    }


def test_opening_a_request_is_an_event_by_the_buyer(world: World, us: Shop, events: list[ChangeEvent]) -> None:
    created = world.create_return_request(us, return_type="REFUND")
    (event,) = events
    assert event.data["return_status"] == "RETURN_OR_REFUND_REQUEST_PENDING"
    assert event.data["return_role"] == "BUYER" and event.data["return_id"] == created["return_id"]


def test_cancellation_status_change_uses_the_webhook_spelling_and_no_update_time(
        world: World, us: Shop, events: list[ChangeEvent]) -> None:
    cancel = world.create_cancellation_request(us)
    events.clear()
    world.reject_cancellation(us, cancel["cancel_id"], {"reject_reason": "seller_reject_apply_product_has_been_packed"})
    (event,) = events
    assert event.type == 11 and event.shop_id == us.id
    assert event.data == {
        "order_id": cancel["order_id"],
        "cancellations_role": "SELLER",
        "cancel_status": "CANCELLATION_REQUEST_CANCELLED",
        "cancel_id": cancel["cancel_id"],
        "create_time": cancel["create_time"],
    }


def test_seller_cancel_order_emits_one_success_event(world: World, us: Shop, events: list[ChangeEvent]) -> None:
    order = world.create_order(us, status="AWAITING_SHIPMENT")
    result = world.cancel_order(us, {"order_id": order["id"], "cancel_reason": "seller_cancel_reason_out_of_stock"})
    assert [(e.type, e.data["cancel_status"], e.data["cancel_id"]) for e in events] == [
        (11, "CANCELLATION_REQUEST_SUCCESS", result["cancel_id"])]


def test_automatic_changes_are_attributed_to_the_system(world: World, us: Shop, clock: Clock,
                                                        events: list[ChangeEvent]) -> None:
    created = world.create_return_request(us, return_type="REFUND")
    events.clear()
    clock.advance(48 * 3600)
    returned = world.tick()
    assert returned == events
    assert [(e.data["return_status"], e.data["return_role"]) for e in events] == [
        ("RETURN_OR_REFUND_REQUEST_SUCCESS", "SYSTEM")]
    assert events[0].data["return_id"] == created["return_id"]


def test_arbitration_decisions_are_reported_as_system(world: World, us: Shop, events: list[ChangeEvent]) -> None:
    return_id = world.create_return_request(us)["return_id"]
    world.reject_return(us, return_id, {"decision": "REJECT_RETURN",
                                        "reject_reason": "seller_reject_apply_item_is_correct"})
    world.buyer_escalate(return_id)
    events.clear()
    world.resolve_arbitration(return_id, "SELLER")
    assert [(e.data["return_status"], e.data["return_role"]) for e in events] == [
        ("RETURN_OR_REFUND_REQUEST_CANCEL", "SYSTEM")]


def test_escalation_is_an_event_with_a_new_update_time(world: World, us: Shop, events: list[ChangeEvent]) -> None:
    return_id = world.create_return_request(us)["return_id"]
    world.reject_return(us, return_id, {"decision": "REJECT_RETURN",
                                        "reject_reason": "seller_reject_apply_item_is_correct"})
    before = events[-1].data["update_time"]
    world.buyer_escalate(return_id)
    assert events[-1].data["return_status"] == "REFUND_OR_RETURN_REQUEST_REJECT"
    assert events[-1].data["update_time"] > before


def test_failed_calls_emit_nothing(world: World, us: Shop, events: list[ChangeEvent]) -> None:
    return_id = world.create_return_request(us)["return_id"]
    events.clear()
    with pytest.raises(Exception):  # noqa: B017 - any refusal, the point is the absence of events
        world.approve_return(us, return_id, {"decision": "APPROVE_RECEIVED_PACKAGE"})
    assert events == []


def test_update_times_in_a_records_events_strictly_increase(world: World, us: Shop,
                                                           events: list[ChangeEvent]) -> None:
    return_id = world.create_return_request(us)["return_id"]
    world.approve_return(us, return_id, {"decision": "APPROVE_RETURN"})
    world.buyer_ship(return_id)
    world.approve_return(us, return_id, {"decision": "APPROVE_RECEIVED_PACKAGE"})
    times = [e.data["update_time"] for e in events]
    assert len(times) == 4 and times == sorted(set(times))


def test_tick_without_listener_still_returns_the_events(clock: Clock) -> None:
    world = World(seed=61, clock=clock)
    shop = world.shops()[0]
    world.create_return_request(shop, return_type="REFUND")
    clock.advance(48 * 3600)
    assert [e.type for e in world.tick()] == [12]
