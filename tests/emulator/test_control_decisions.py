"""The record of seller decisions (``GET /_emulator/decisions``): what reached the World, without replays or faults."""

from __future__ import annotations

import uuid
from typing import Any

APPROVE = "/return_refund/202309/returns/{}/approve"


def _open_refund_request(server: Any, control: Any) -> str:
    shop = control(server, "GET", "/shops")["shops"][0]
    created = control(server, "POST", "/returns", {"shop_id": shop["id"], "return_type": "REFUND"})
    return str(created["return_id"])


def test_an_applied_decision_is_recorded_once_and_its_replay_not_at_all(
    emulator_factory: Any, make_client: Any, control_api: Any
) -> None:
    server = emulator_factory(rps=0)
    client = make_client(server)
    return_id = _open_refund_request(server, control_api)
    key = {"idempotency_key": str(uuid.uuid4())}
    for _ in range(2):
        answered = client.call("POST", APPROVE.format(return_id), json={"decision": "APPROVE_REFUND"}, query=key)
        assert answered["code"] == 0
    calls = control_api(server, "GET", "/decisions")["decisions"]
    assert [(c["request_id"], c["call"], c["decision"], c["code"]) for c in calls] == [
        (return_id, "returns/approve", "APPROVE_REFUND", 0)
    ]


def test_a_decision_failed_by_an_injected_fault_is_not_recorded(
    emulator_factory: Any, make_client: Any, control_api: Any
) -> None:
    server = emulator_factory(rps=0)
    client = make_client(server)
    return_id = _open_refund_request(server, control_api)
    control_api(server, "POST", "/faults", {"path_prefix": "/return_refund/", "count": 1, "http_status": 503,
                                            "code": 36009007})
    failed = client.call("POST", APPROVE.format(return_id), json={"decision": "APPROVE_REFUND"})
    assert failed["code"] == 36009007
    assert control_api(server, "GET", "/decisions")["decisions"] == []


def test_a_second_decision_with_a_new_key_is_recorded_with_the_world_s_refusal(
    emulator_factory: Any, make_client: Any, control_api: Any
) -> None:
    server = emulator_factory(rps=0)
    client = make_client(server)
    return_id = _open_refund_request(server, control_api)
    client.call("POST", APPROVE.format(return_id), json={"decision": "APPROVE_REFUND"})
    client.call("POST", APPROVE.format(return_id), json={"decision": "APPROVE_REFUND"})
    codes = [c["code"] for c in control_api(server, "GET", "/decisions")["decisions"]]
    assert codes[0] == 0 and len(codes) == 2 and codes[1] != 0
