"""Idempotent replay over HTTP (contract §6, emulator choice)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

APPROVE = "/return_refund/202309/returns/{}/approve"


@pytest.fixture
def client(shared_emulator: Any, make_client: Any) -> Any:
    return make_client(shared_emulator)


def test_same_key_and_body_replays_the_exact_bytes(client: Any) -> None:
    key = {"idempotency_key": str(uuid.uuid4())}
    first = client.request("POST", APPROVE.format("4035318504086604100"), json={"decision": "APPROVE_REFUND"},
                           query=key)
    second = client.request("POST", APPROVE.format("4035318504086604100"), json={"decision": "APPROVE_REFUND"},
                            query=key)
    assert second.content == first.content  # request_id included


def test_same_key_with_another_body_gets_25001001(client: Any) -> None:
    key = {"idempotency_key": str(uuid.uuid4())}
    client.request("POST", APPROVE.format("1"), json={"decision": "APPROVE_REFUND"}, query=key)
    body = client.call("POST", APPROVE.format("1"), json={"decision": "APPROVE_RETURN"}, query=key)
    assert body["code"] == 25001001


def test_same_key_on_another_path_is_a_different_call(client: Any) -> None:
    key = {"idempotency_key": str(uuid.uuid4())}
    first = client.call("POST", APPROVE.format("1"), json={"decision": "APPROVE_REFUND"}, query=key)
    second = client.call("POST", APPROVE.format("2"), json={"decision": "APPROVE_REFUND"}, query=key)
    assert first["request_id"] != second["request_id"]


def test_calls_without_a_key_are_never_replayed(client: Any) -> None:
    first = client.call("POST", APPROVE.format("1"), json={"decision": "APPROVE_REFUND"})
    second = client.call("POST", APPROVE.format("1"), json={"decision": "APPROVE_REFUND"})
    assert first["request_id"] != second["request_id"]


def test_keys_are_ignored_on_endpoints_that_do_not_take_them(client: Any) -> None:
    key = {"idempotency_key": str(uuid.uuid4()), "page_size": "10"}
    first = client.call("POST", "/return_refund/202309/returns/search", json={}, query=key)
    second = client.call("POST", "/return_refund/202309/returns/search", json={}, query=key)
    assert first["request_id"] != second["request_id"]


def test_a_failed_gate_check_is_not_remembered(shared_emulator: Any, client: Any) -> None:
    key = {"idempotency_key": str(uuid.uuid4())}
    refused = client.call("POST", APPROVE.format("1"), json={"decision": "APPROVE_REFUND"}, query=key, token=None)
    assert refused["code"] == 36009004
    answered = client.call("POST", APPROVE.format("1"), json={"decision": "APPROVE_REFUND"}, query=key)
    assert answered["code"] != 36009004
