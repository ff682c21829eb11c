"""Every mirroring path, over every registered platform (``registry.DRIVERS``), on SQLite and PostgreSQL, against the
platform's emulator over real HTTP: what the store holds afterwards, once, with TikTok's exact amounts."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from returnbridge.domain.statuses import CaseKind
from returnbridge.sync.jobs import Jobs
from returnbridge.sync.reconcile import MATCHED, reconcile

from .drivers import Capability, Fault, PlatformDriver
from .harness import AWAITING_SHIP, COMPLETE, SHIPPING, SUCCESS, TOTAL, Scenario, tiktok_case


def needs(driver: PlatformDriver, capability: Capability) -> None:
    if capability not in driver.capabilities:
        pytest.skip(f"{driver.platform} has no {capability.value}")


def assert_refund(scenario: Scenario, *, total: Decimal = TOTAL, units: dict[str, int] | None = None,
                  restocked: dict[str, int] | None = None) -> None:
    [refund] = scenario.driver.refunds(scenario.store)
    assert (refund.total, refund.currency) == (total, "USD")
    assert dict(refund.units) == (units if units is not None else {scenario.sku: 1})
    assert dict(refund.restocked_units) == (restocked or {})
    assert scenario.effect("refund").idempotency_key in refund.note
    assert scenario.effect("refund").recorded_amount == total


def restocks_apart(driver: PlatformDriver) -> bool:
    return Capability.RESTOCK in driver.capabilities


def done(driver: PlatformDriver, *kinds: str, restocked: bool = True) -> dict[str, str]:
    """The effect states once settled: with auto-restock on, a restock effect only where the platform restocks apart
    from the refund (elsewhere the refund restocks)."""
    states = dict.fromkeys(kinds, "done")
    if restocked and restocks_apart(driver):
        states["restock"] = "done"
    return states


def assert_refund_and_restock(scenario: Scenario, units: dict[str, int]) -> None:
    """One refund of ``units`` and one restock path for them: a restock record where the platform restocks apart
    (and the refund puts nothing back), or else the refund's own restocked units (and no restock record)."""
    d, s = scenario.driver, scenario.store
    if restocks_apart(d):
        assert [dict(r.units) for r in d.restocks(s)] == [units]
        assert_refund(scenario, units=units)
    else:
        assert d.restocks(s) == []
        assert_refund(scenario, units=units, restocked=units)


# --- each path ------------------------------------------------------------------------------------------------------


def test_refund_only_records_tiktoks_total_and_restocks_nothing(scenario: Scenario) -> None:
    d, s = scenario.driver, scenario.store
    scenario.configure(auto_restock=True)
    scenario.order("T1")
    before = d.available(s, scenario.sku)
    scenario.tiktok(tiktok_case("R1", "T1", COMPLETE, skus=(scenario.sku,), type_="REFUND"))
    assert scenario.mirror().done == 1
    assert scenario.states() == {"refund": "done"}
    assert_refund(scenario)
    assert d.refunds(s)[0].shipping == SHIPPING
    assert d.returns(s) == [] and d.restocks(s) == []
    assert d.available(s, scenario.sku) == before


def test_return_and_refund_with_restock_on_package_approval(scenario: Scenario) -> None:
    d, s = scenario.driver, scenario.store
    scenario.configure(auto_restock=True, restock_trigger="package_approved", restock_location="fulfilled_from")
    scenario.order("T1")
    before = d.available(s, scenario.sku)
    scenario.tiktok(tiktok_case("R1", "T1", AWAITING_SHIP, skus=(scenario.sku,)))
    scenario.mirror()
    assert scenario.states() == {"return": "done"}
    assert d.available(s, scenario.sku) == before  # nothing back in stock before the package is approved
    scenario.tiktok(tiktok_case("R1", "T1", SUCCESS, skus=(scenario.sku,), update=1_790_000_060))
    scenario.mirror()
    assert scenario.states() == done(d, "return")
    # Where only the refund restocks, the approved package changes nothing in the store until the refund.
    assert d.available(s, scenario.sku) == before + restocks_apart(d)
    scenario.tiktok(tiktok_case("R1", "T1", COMPLETE, skus=(scenario.sku,), update=1_790_000_120))
    scenario.mirror()
    assert scenario.states() == done(d, "return", "refund")
    if Capability.RETURNS in d.capabilities:
        [ret] = d.returns(s)
        assert dict(ret.units) == {scenario.sku: 1} and scenario.effect("return").idempotency_key in ret.note
    assert_refund_and_restock(scenario, {scenario.sku: 1})  # one restock path per unit
    assert d.available(s, scenario.sku) == before + 1


def test_restock_on_refund_completion_at_the_chosen_location(scenario: Scenario) -> None:
    d, s = scenario.driver, scenario.store
    if Capability.LOCATIONS in d.capabilities:
        where = s.locations[1]
        scenario.configure(auto_restock=True, restock_location="chosen", restock_location_id=where)
    else:
        where = ""
        scenario.configure(auto_restock=True)
    scenario.order("T1")
    before = d.available(s, scenario.sku, where)
    scenario.tiktok(tiktok_case("R1", "T1", SUCCESS, skus=(scenario.sku,)))
    scenario.mirror()
    assert "restock" not in scenario.states()  # the trigger is the refund, not the package
    scenario.tiktok(tiktok_case("R1", "T1", COMPLETE, skus=(scenario.sku,), update=1_790_000_060))
    scenario.mirror()
    assert scenario.states() == done(d, "return", "refund")
    assert_refund_and_restock(scenario, {scenario.sku: 1})
    assert d.available(s, scenario.sku, where) == before + 1
    if where:
        assert [r.location for r in d.restocks(s)] == [where]


def test_no_restock_when_auto_restock_is_off(scenario: Scenario) -> None:
    d, s = scenario.driver, scenario.store
    scenario.configure()
    scenario.order("T1")
    before = d.available(s, scenario.sku)
    scenario.tiktok(tiktok_case("R1", "T1", COMPLETE, skus=(scenario.sku,)))
    scenario.mirror()
    assert scenario.states() == {"return": "done", "refund": "done"}
    assert_refund(scenario)
    assert d.restocks(s) == [] and d.available(s, scenario.sku) == before


def test_informational_mode_records_the_return_and_never_a_refund(scenario: Scenario) -> None:
    d, s = scenario.driver, scenario.store
    scenario.configure(mirroring="informational")
    scenario.order("T1")
    scenario.tiktok(tiktok_case("R1", "T1", COMPLETE, skus=(scenario.sku,)))
    scenario.mirror()
    assert scenario.states() == {"return": "done"}
    assert d.refunds(s) == []
    if Capability.RETURNS in d.capabilities:
        assert [dict(r.units) for r in d.returns(s)] == [{scenario.sku: 1}]


def test_partial_refund_records_money_only(scenario: Scenario) -> None:
    d, s = scenario.driver, scenario.store
    scenario.configure(auto_restock=True)
    scenario.order("T1")
    before = d.available(s, scenario.sku)
    scenario.tiktok(tiktok_case("R1", "T1", COMPLETE, skus=(scenario.sku,), type_="REFUND", total=Decimal("5.00"),
                                partial_refund={"currency": "USD", "amount": "5.00"}))
    scenario.mirror()
    assert_refund(scenario, total=Decimal("5.00"), units={})
    assert d.restocks(s) == [] and d.available(s, scenario.sku) == before


def test_cancellation_before_shipment_refunds_and_restocks_through_the_refund(scenario: Scenario) -> None:
    d, s = scenario.driver, scenario.store
    scenario.configure(auto_restock=True)
    scenario.order("T1", {scenario.sku: 2}, fulfilled=False)
    before = d.available(s, scenario.sku)
    scenario.tiktok(tiktok_case("C1", "T1", "CANCELLATION_REQUEST_COMPLETE", skus=(scenario.sku,) * 2,
                                type_="BUYER_CANCEL", kind=CaseKind.CANCELLATION), kind=CaseKind.CANCELLATION)
    scenario.mirror()
    assert scenario.states() == {"refund": "done"}
    assert_refund(scenario, units={scenario.sku: 2}, restocked={scenario.sku: 2})
    assert d.returns(s) == [] and d.restocks(s) == []  # one restock path: the refund's
    assert d.available(s, scenario.sku) == before + 2


def test_multi_unit_partial_return_returns_refunds_and_restocks_only_the_returned_units(scenario: Scenario) -> None:
    d, s = scenario.driver, scenario.store
    other = s.skus[1]
    scenario.configure(auto_restock=True)
    scenario.order("T1", {scenario.sku: 3, other: 1})
    before, other_before = d.available(s, scenario.sku), d.available(s, other)
    scenario.tiktok(tiktok_case("R1", "T1", COMPLETE, skus=(scenario.sku, scenario.sku)))
    scenario.mirror()
    assert scenario.states() == done(d, "return", "refund")
    if Capability.RETURNS in d.capabilities:
        assert [dict(r.units) for r in d.returns(s)] == [{scenario.sku: 2}]
    assert_refund_and_restock(scenario, {scenario.sku: 2})
    assert (d.available(s, scenario.sku), d.available(s, other)) == (before + 2, other_before)


def test_currency_mismatch_is_held_and_nothing_reaches_the_store(scenario: Scenario) -> None:
    d = scenario.driver
    eur = d.add_store(scenario.runtime, currency="EUR")
    try:
        held = Scenario(d, scenario.runtime, eur, scenario.account_id)
        held.configure()
        held.order("T1")
        held.tiktok(tiktok_case("R1", "T1", COMPLETE, skus=(held.sku,), type_="REFUND"))
        held.mirror()
        refund = held.effect("refund")
        assert refund.state == "held" and "EUR" in refund.held_reason and "never converted" in refund.held_reason
        assert d.refunds(eur) == []
    finally:
        d.clear_faults(eur)


def test_order_not_found_is_held_with_what_was_tried(scenario: Scenario) -> None:
    scenario.configure()
    scenario.tiktok(tiktok_case("R1", "NOPE", COMPLETE, skus=(scenario.sku,), type_="REFUND"))
    scenario.mirror()
    held = scenario.effect("refund")
    assert held.state == "held" and "no store order found for TikTok order NOPE" in held.held_reason
    assert scenario.driver.refunds(scenario.store) == []


# --- exactly once -------------------------------------------------------------------------------------------------


def full_case(scenario: Scenario) -> None:
    scenario.configure(auto_restock=True)
    scenario.order("T1")
    scenario.tiktok(tiktok_case("R1", "T1", COMPLETE, skus=(scenario.sku,)))


def assert_each_once(scenario: Scenario) -> None:
    d, s = scenario.driver, scenario.store
    assert scenario.states() == done(d, "return", "refund")
    if Capability.RETURNS in d.capabilities:
        assert len(d.returns(s)) == 1
    assert_refund_and_restock(scenario, {scenario.sku: 1})


@pytest.mark.parametrize("kind", ["return", "refund", "restock"])
def test_killed_between_the_store_call_and_our_commit_each_effect_exists_once(scenario: Scenario,
                                                                                kind: str) -> None:
    if kind == "restock":
        needs(scenario.driver, Capability.RESTOCK)
    full_case(scenario)
    before = scenario.driver.available(scenario.store, scenario.sku)
    scenario.mirror_killed_after(kind)
    assert scenario.effect(kind).state == "in_progress"  # the store has it; our commit never happened
    scenario.mirror_until_settled()
    assert_each_once(scenario)
    assert scenario.driver.available(scenario.store, scenario.sku) == before + 1


@pytest.mark.parametrize("kind", ["return", "refund", "restock"])
def test_store_committed_but_the_answer_was_lost_each_effect_exists_once(scenario: Scenario, kind: str) -> None:
    if kind == "restock":
        needs(scenario.driver, Capability.RESTOCK)
    full_case(scenario)
    before = scenario.driver.available(scenario.store, scenario.sku)
    scenario.driver.inject(scenario.store, Fault.COMMIT_THEN_DROP, kind)
    scenario.mirror_until_settled()
    assert_each_once(scenario)
    assert scenario.driver.available(scenario.store, scenario.sku) == before + 1


def test_two_workers_mirroring_at_once_make_one_of_each(scenario: Scenario) -> None:
    d, s = scenario.driver, scenario.store
    scenario.configure(auto_restock=True)
    for i in range(3):
        scenario.order(f"T{i}")
    scenario.tiktok(*[tiktok_case(f"R{i}", f"T{i}", COMPLETE, skus=(scenario.sku,)) for i in range(3)])
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        scenario.mirror()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    scenario.mirror()  # whatever the busy worker skipped
    assert [e.state for e in scenario.effects()] == ["done"] * (9 if restocks_apart(d) else 6)
    if Capability.RETURNS in d.capabilities:
        assert len(d.returns(s)) == 3
    refunds = d.refunds(s)
    assert (len(refunds), len(d.restocks(s))) == (3, 3 if restocks_apart(d) else 0)
    assert [dict(r.restocked_units) for r in refunds] == [{} if restocks_apart(d) else {scenario.sku: 1}] * 3


def test_the_sweep_job_mirrors_and_reconciliation_reads_back_matched(scenario: Scenario) -> None:
    from huey import MemoryHuey

    scenario.configure()
    for i in range(3):
        scenario.order(f"T{i}")
    scenario.tiktok(*[tiktok_case(f"R{i}", f"T{i}", COMPLETE, skus=(scenario.sku,), type_="REFUND")
                      for i in range(3)])
    jobs = Jobs(scenario.runtime, MemoryHuey("scenario-mirror", immediate=True))
    assert jobs._enqueue_mirrors() == [scenario.store.store_id]
    assert len(scenario.driver.refunds(scenario.store)) == 3
    ledger = reconcile(scenario.runtime, store_id=scenario.store.store_id, verify=True)
    assert [r.status for r in ledger.rows] == [MATCHED] * 3
    [total] = ledger.totals()
    assert (total.tiktok_refunded, total.store_recorded) == (TOTAL * 3, TOTAL * 3)


# --- rejected and cancelled returns -------------------------------------------------------------------------------

BUYER_CANCELLED = "RETURN_OR_REFUND_REQUEST_CANCEL"
PACKAGE_REJECTED = "REJECT_RECEIVE_PACKAGE"


def returned_then(scenario: Scenario, ending: str) -> None:
    scenario.configure(auto_restock=True)
    scenario.order("T1")
    scenario.tiktok(tiktok_case("R1", "T1", AWAITING_SHIP, skus=(scenario.sku,)))
    scenario.mirror()
    assert scenario.states() == {"return": "done"}
    scenario.tiktok(tiktok_case("R1", "T1", ending, skus=(scenario.sku,), update=1_790_000_060))


@pytest.mark.parametrize("ending", [BUYER_CANCELLED, PACKAGE_REJECTED])
def test_a_return_tiktok_ends_after_it_reached_the_store_is_ended_there_once(scenario: Scenario,
                                                                             ending: str) -> None:
    d, s = scenario.driver, scenario.store
    needs(d, Capability.RETURN_CANCEL)
    returned_then(scenario, ending)
    before = d.available(s, scenario.sku)
    scenario.mirror()
    assert scenario.states() == {"return": "done", "return_cancel": "done"}
    [ret] = d.returns(s)
    assert ret.status in ("cancelled", "closed", "declined")
    assert scenario.effect("return_cancel").store_record_id == ret.id
    # Seen again (a re-pull, a webhook): planned once, nothing more happens in the store.
    scenario.tiktok(tiktok_case("R1", "T1", ending, skus=(scenario.sku,), update=1_790_000_120))
    scenario.mirror()
    assert [e.kind for e in scenario.effects()] == ["return", "return_cancel"]
    assert [r.status for r in d.returns(s)] == [ret.status]
    assert d.refunds(s) == [] and d.restocks(s) == [] and d.available(s, scenario.sku) == before


def test_a_request_rejected_before_tiktok_accepted_it_never_reaches_the_store(scenario: Scenario) -> None:
    scenario.configure(auto_restock=True)
    scenario.order("T1")
    scenario.tiktok(tiktok_case("R1", "T1", "RETURN_OR_REFUND_REQUEST_PENDING", skus=(scenario.sku,)))
    scenario.tiktok(tiktok_case("R1", "T1", "REFUND_OR_RETURN_REQUEST_REJECT", skus=(scenario.sku,),
                                update=1_790_000_060))
    scenario.mirror()
    assert scenario.effects() == []
    assert scenario.driver.returns(scenario.store) == []


def test_killed_after_the_store_ended_the_return_it_is_ended_once(scenario: Scenario) -> None:
    needs(scenario.driver, Capability.RETURN_CANCEL)
    returned_then(scenario, BUYER_CANCELLED)
    scenario.mirror_killed_after("return_cancel")
    assert scenario.effect("return_cancel").state == "in_progress"
    scenario.mirror_until_settled()
    assert scenario.states() == {"return": "done", "return_cancel": "done"}
    [ret] = scenario.driver.returns(scenario.store)
    assert ret.status in ("cancelled", "closed", "declined")
    assert scenario.effect("return_cancel").store_record_id == ret.id


def test_the_store_ended_the_return_but_the_answer_was_lost_it_is_ended_once(scenario: Scenario) -> None:
    needs(scenario.driver, Capability.RETURN_CANCEL)
    returned_then(scenario, PACKAGE_REJECTED)
    scenario.driver.inject(scenario.store, Fault.COMMIT_THEN_DROP, "return_cancel")
    scenario.mirror_until_settled()
    assert scenario.states() == {"return": "done", "return_cancel": "done"}
    assert len(scenario.driver.returns(scenario.store)) == 1


# --- removing a store -----------------------------------------------------------------------------------------------


def test_a_store_with_unfinished_effects_is_removed_only_with_force_and_timelines_keep_the_history(
    scenario: Scenario
) -> None:
    from sqlalchemy import func, select

    from returnbridge.db.engine import transaction
    from returnbridge.db.models import Store, TimelineEvent
    from returnbridge.sync import stores as store_service

    scenario.configure()
    scenario.order("T1")
    scenario.order("T2")
    scenario.tiktok(tiktok_case("R1", "T1", COMPLETE, skus=(scenario.sku,), type_="REFUND"))
    scenario.mirror()
    scenario.tiktok(tiktok_case("R2", "T2", COMPLETE, skus=(scenario.sku,), type_="REFUND"))  # pending
    with pytest.raises(store_service.StoreBusy, match="1 pending"):
        store_service.remove_store(scenario.runtime, scenario.store.store_id)
    removed = store_service.remove_store(scenario.runtime, scenario.store.store_id, force=True)
    assert (removed.effects_deleted, removed.matches_deleted) == (2, 1)
    assert scenario.effects() == []
    with transaction(scenario.runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(Store)) == 0
        events = session.scalar(select(func.count()).select_from(TimelineEvent)
                                .where(TimelineEvent.kind == "store_effect"))
    assert events == 1  # the refund recorded in the store, still on its case
    assert len(scenario.driver.refunds(scenario.store)) == 1  # the store itself is left as it is
