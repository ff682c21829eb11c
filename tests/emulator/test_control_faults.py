"""Fault injection: the background rate and scripted faults for the next N requests on a path prefix."""

from __future__ import annotations

from returnbridge.emulators.tiktok.faults import Fault, FaultInjector


def test_no_faults_by_default() -> None:
    injector = FaultInjector()
    assert all(injector.next_fault("/return_refund/202309/returns/search") is None for _ in range(100))


def test_scripted_fault_hits_exactly_the_next_n_matching_requests() -> None:
    injector = FaultInjector()
    injector.inject("/return_refund/", 2, Fault(code=36009003))
    assert injector.next_fault("/order/202309/orders") is None
    assert injector.next_fault("/return_refund/202309/returns/search").code == 36009003
    assert injector.next_fault("/return_refund/202309/cancellations/search").code == 36009003
    assert injector.next_fault("/return_refund/202309/returns/search") is None
    assert injector.scripted() == []


def test_scripted_faults_apply_oldest_first() -> None:
    injector = FaultInjector()
    injector.inject("/", 1, Fault(code=36009007, http_status=503))
    injector.inject("/", 1, Fault(code=36009002, http_status=429, retry_after=3))
    assert injector.next_fault("/x").http_status == 503
    assert injector.next_fault("/x").retry_after == 3


def test_fault_rate_one_always_fails_with_a_documented_transient_error() -> None:
    injector = FaultInjector(fault_rate=1.0, seed=7)
    seen = {(f.code, f.http_status) for f in (injector.next_fault("/x") for _ in range(50))}
    assert seen == {(36009003, 200), (36009007, 503)}


def test_fault_rate_is_roughly_honoured() -> None:
    injector = FaultInjector(fault_rate=0.2, seed=3)
    hits = sum(injector.next_fault("/x") is not None for _ in range(5000))
    assert 850 < hits < 1150


def test_clear_removes_one_prefix_or_all() -> None:
    injector = FaultInjector()
    injector.inject("/a", 5, Fault())
    injector.inject("/b", 5, Fault())
    assert injector.clear("/a") == 1
    assert [s["path_prefix"] for s in injector.scripted()] == ["/b"]
    assert injector.clear() == 1
