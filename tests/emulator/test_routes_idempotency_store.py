"""The idempotency store behind replayed write calls (contract §6, emulator choice)."""

from __future__ import annotations

import pytest

from returnbridge.emulators.tiktok.clock import Clock
from returnbridge.emulators.tiktok.errors import ApiError
from returnbridge.emulators.tiktok.idempotency import IdempotencyStore

KEY = ("app", "7001", "/return_refund/202309/returns/1/approve", "uuid-1")


def test_unknown_key_runs_the_call() -> None:
    assert IdempotencyStore(Clock(start=0)).lookup(KEY, {"decision": "APPROVE_REFUND"}) is None


def test_same_key_and_body_replays_the_stored_bytes() -> None:
    store = IdempotencyStore(Clock(start=0))
    store.store(KEY, {"decision": "APPROVE_REFUND"}, 200, b'{"code":0}')
    assert store.lookup(KEY, {"decision": "APPROVE_REFUND"}).body == b'{"code":0}'


def test_key_order_of_the_body_does_not_matter() -> None:
    store = IdempotencyStore(Clock(start=0))
    store.store(KEY, {"a": 1, "b": 2}, 200, b"x")
    assert store.lookup(KEY, {"b": 2, "a": 1}) is not None


def test_same_key_with_another_body_gets_25001001() -> None:
    store = IdempotencyStore(Clock(start=0))
    store.store(KEY, {"decision": "APPROVE_REFUND"}, 200, b"x")
    with pytest.raises(ApiError) as caught:
        store.lookup(KEY, {"decision": "OFFER_PARTIAL_REFUND"})
    assert caught.value.code == 25001001


def test_keys_are_forgotten_after_24_business_hours() -> None:
    clock = Clock(start=0)
    store = IdempotencyStore(clock)
    store.store(KEY, {}, 200, b"x")
    clock.advance(24 * 3600)
    assert store.lookup(KEY, {"other": True}) is None


def test_store_is_bounded_oldest_first() -> None:
    store = IdempotencyStore(Clock(start=0), max_entries=2)
    for n in range(3):
        store.store(("app", "s", "/p", str(n)), {}, 200, b"x")
    assert len(store) == 2
    assert store.lookup(("app", "s", "/p", "0"), {}) is None
