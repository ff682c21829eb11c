"""Decisions survive crashes, TikTok outages, replays and double submits, and TikTok sees each one once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from returnbridge.db.engine import transaction
from returnbridge.db.repositories.decisions import DecisionRepository
from returnbridge.sync.decisions import DecisionConflict, DecisionParams, DecisionService, EvidenceImage
from returnbridge.sync.runtime import Runtime

from .conftest import Control
from .test_decisions import (
    APPROVE_CANCELLATION,
    APPROVE_RETURN,
    REJECT_RETURN,
    UPLOAD_IMAGE,
    Crash,
    ProcessDied,
    Repulls,
    codes,
    decision_events,
    decisions_of,
    new_case,
    png,
    quick_runtime,
    seller_records,
)

NOW = timedelta(0)


@pytest.fixture
def crash() -> Crash:
    return Crash()


@pytest.fixture
def rt(runtime: Runtime, crash: Crash) -> Iterator[Runtime]:
    http = httpx.Client(timeout=30, event_hooks={"response": [crash.hook]})
    yield quick_runtime(runtime, http)
    http.close()


@pytest.fixture
def repulls() -> Repulls:
    return Repulls()


@pytest.fixture
def service(rt: Runtime, repulls: Repulls) -> DecisionService:
    return DecisionService(rt, refresh=repulls)


@pytest.fixture
def shop_id(us_shop: dict[str, Any]) -> str:
    return us_shop["id"]


@pytest.fixture(autouse=True)
def _no_leftover_faults(control: Control) -> Iterator[None]:
    yield
    control("DELETE", "/faults")


def _approve(service: DecisionService, case_id: int, **options: Any):  # type: ignore[no-untyped-def]
    return service.decide(case_id, "approve_request", actor="merchant", actor_name="alice", **options)


# --- crashes -----------------------------------------------------------------------------------------------------


def test_the_decision_is_committed_as_sent_before_tiktok_answers(
    rt: Runtime, service: DecisionService, crash: Crash, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(rt, control, account_id, shop_id, "REFUND")
    crash.after_answer_to(f"/returns/{rid}/approve")
    with pytest.raises(ProcessDied):
        _approve(service, case_id)
    (row,) = decisions_of(rt, case_id)
    assert (row.state, row.attempts, row.finished_at) == ("sent", 1, None)
    assert row.sent_at is not None and row.idempotency_key
    # TikTok did decide: only our record of the answer was lost with the process.
    assert control.request(rid)["return_status"] == "RETURN_OR_REFUND_REQUEST_SUCCESS"


def test_retry_after_a_crash_between_sent_and_done_decides_once_on_tiktok(
    rt: Runtime, service: DecisionService, crash: Crash, repulls: Repulls, control: Control, account_id: int,
    shop_id: str,
) -> None:
    case_id, rid = new_case(rt, control, account_id, shop_id, "REFUND")
    before = codes(control, APPROVE_RETURN)
    crash.after_answer_to(f"/returns/{rid}/approve")
    with pytest.raises(ProcessDied):
        _approve(service, case_id)

    (outcome,) = service.retry_unfinished(older_than=NOW)

    assert (outcome.case_id, outcome.state) == (case_id, "done")
    (row,) = decisions_of(rt, case_id)
    assert (row.state, row.attempts) == ("done", 2)
    # The retry reached TikTok with the same key and was replayed: one decision applied, one replay.
    assert codes(control, APPROVE_RETURN) - before == {"0": 1, "-2": 1}
    assert len(seller_records(rt, account_id, rid)) == 1
    assert [e.detail["outcome"] for e in decision_events(rt, case_id)] == ["done"]
    assert repulls.case_ids == [case_id]


def test_a_decision_left_pending_by_a_crash_before_sending_is_sent_by_the_sweep(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, cid = new_case(rt, control, account_id, shop_id, "CANCELLATION")
    before = codes(control, APPROVE_CANCELLATION)
    with transaction(rt.sessions) as session:  # what decide commits first; the process died right after
        DecisionRepository(session).add(case_id=case_id, action="approve_cancellation", params={},
                                        idempotency_key=f"left-pending-{cid}", actor="merchant", actor_name="bob")

    (outcome,) = service.retry_unfinished(older_than=NOW)

    assert outcome.state == "done"
    assert control.request(cid)["cancel_status"] == "CANCELLATION_REQUEST_SUCCESS"
    assert codes(control, APPROVE_CANCELLATION) - before == {"0": 1}


def test_the_sweep_leaves_a_decision_sent_moments_ago_alone(
    rt: Runtime, service: DecisionService, crash: Crash, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(rt, control, account_id, shop_id, "REFUND")
    crash.after_answer_to(f"/returns/{rid}/approve")
    with pytest.raises(ProcessDied):
        _approve(service, case_id)
    before = codes(control, APPROVE_RETURN)
    assert service.retry_unfinished(older_than=timedelta(minutes=5)) == []
    assert codes(control, APPROVE_RETURN) == before
    assert decisions_of(rt, case_id)[0].state == "sent"


def test_evidence_images_are_uploaded_once_across_a_retry(
    rt: Runtime, service: DecisionService, crash: Crash, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(rt, control, account_id, shop_id, "REFUND")
    reason = service.reject_reasons(case_id)[0].name
    uploads, rejects = codes(control, UPLOAD_IMAGE), codes(control, REJECT_RETURN)
    params = DecisionParams(reason=reason, comment="Box unopened",
                            images=(EvidenceImage("front.png", png()), EvidenceImage("back.png", png(6, 2))))
    crash.after_answer_to(f"/returns/{rid}/reject")
    with pytest.raises(ProcessDied):
        service.decide(case_id, "reject_request", params, actor="merchant", actor_name="alice")

    (outcome,) = service.retry_unfinished(older_than=NOW)

    assert outcome.state == "done", outcome.message
    assert codes(control, UPLOAD_IMAGE) - uploads == {"0": 2}
    assert codes(control, REJECT_RETURN) - rejects == {"0": 1, "-2": 1}
    (record,) = seller_records(rt, account_id, rid)
    assert len(record.images) == 2


# --- TikTok's answers --------------------------------------------------------------------------------------------


def test_a_transient_failure_keeps_the_decision_for_the_sweep(
    rt: Runtime, service: DecisionService, repulls: Repulls, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(rt, control, account_id, shop_id, "REFUND")
    control("POST", "/faults", {"path_prefix": f"/return_refund/202309/returns/{rid}/approve", "count": 5,
                                "code": 36009003})
    outcome = _approve(service, case_id)
    assert outcome.state == "sent"
    assert "sent again automatically" in outcome.message
    assert control.request(rid)["return_status"] == "RETURN_OR_REFUND_REQUEST_PENDING"
    assert [e.detail["outcome"] for e in decision_events(rt, case_id)] == ["retrying"]
    assert repulls.case_ids == []


def test_the_sweep_finishes_a_decision_tiktok_did_not_answer(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(rt, control, account_id, shop_id, "REFUND")
    control("POST", "/faults", {"path_prefix": f"/return_refund/202309/returns/{rid}/approve", "count": 5,
                                "code": 36009003})
    assert _approve(service, case_id).state == "sent"
    before = codes(control, APPROVE_RETURN)

    (outcome,) = service.retry_unfinished(older_than=NOW)

    assert outcome.state == "done"
    assert codes(control, APPROVE_RETURN) - before == {"0": 1}
    assert len(seller_records(rt, account_id, rid)) == 1
    assert decisions_of(rt, case_id)[0].attempts == 2


def test_the_sweep_gives_up_after_the_last_attempt(
    rt: Runtime, repulls: Repulls, control: Control, account_id: int, shop_id: str
) -> None:
    service = DecisionService(rt, refresh=repulls, max_attempts=1)
    case_id, rid = new_case(rt, control, account_id, shop_id, "REFUND")
    control("POST", "/faults", {"path_prefix": f"/return_refund/202309/returns/{rid}/approve", "count": 5,
                                "code": 36009003})
    assert _approve(service, case_id).state == "sent"
    (outcome,) = service.retry_unfinished(older_than=NOW)
    assert outcome.state == "failed"
    assert outcome.message.startswith("Gave up after 1 attempts")
    assert service.retry_unfinished(older_than=NOW) == []


def test_a_non_retryable_tiktok_error_is_recorded_failed_with_code_and_message(
    rt: Runtime, service: DecisionService, repulls: Repulls, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(rt, control, account_id, shop_id, "REFUND")
    control("POST", "/faults", {"path_prefix": f"/return_refund/202309/returns/{rid}/approve", "count": 1,
                                "code": 25011023, "message": "Authenticity-guarantee orders cannot be processed."})
    outcome = _approve(service, case_id)
    assert (outcome.state, outcome.error_code) == ("failed", 25011023)
    assert "Authenticity-guarantee orders cannot be processed." in outcome.message
    (row,) = decisions_of(rt, case_id)
    assert (row.state, row.error_code) == ("failed", 25011023)
    assert "Authenticity-guarantee" in row.result
    assert [e.detail["outcome"] for e in decision_events(rt, case_id)] == ["failed"]
    assert repulls.case_ids == [case_id]  # TikTok looked at it: our copy may be stale
    assert service.retry_unfinished(older_than=NOW) == []


def test_already_in_that_state_is_resolved_as_done_by_reading_the_request_back(
    rt: Runtime, service: DecisionService, repulls: Repulls, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(rt, control, account_id, shop_id, "REFUND")
    rt.shop_client(account_id).approve_return(rid, decision="APPROVE_REFUND")  # in Seller Center, before us
    outcome = _approve(service, case_id)
    assert (outcome.state, outcome.already_so, outcome.error_code) == ("done", True, None)
    assert outcome.message.startswith("Already so on TikTok")
    assert "RETURN_OR_REFUND_REQUEST_SUCCESS" in outcome.message
    assert decision_events(rt, case_id)[0].to_status == "RETURN_OR_REFUND_REQUEST_SUCCESS"
    assert len(seller_records(rt, account_id, rid)) == 1
    assert repulls.case_ids == [case_id]


def test_a_request_that_moved_on_is_resolved_as_done_saying_what_tiktok_shows(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, cid = new_case(rt, control, account_id, shop_id, "CANCELLATION")
    control("POST", f"/requests/{cid}/withdraw", {})
    outcome = service.decide(case_id, "approve_cancellation", actor="merchant", actor_name="alice")
    assert (outcome.state, outcome.already_so) == ("done", True)
    assert "CANCELLATION_REQUEST_CANCEL" in outcome.message
    assert "was not applied" in outcome.message


# --- double submits ----------------------------------------------------------------------------------------------


def test_the_same_idempotency_key_twice_decides_once(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    before = codes(control, APPROVE_RETURN)
    first = _approve(service, case_id, idempotency_key=f"form-{case_id}")
    second = _approve(service, case_id, idempotency_key=f"form-{case_id}")
    assert second.decision_id == first.decision_id and second.state == "done"
    assert len(decisions_of(rt, case_id)) == 1
    assert codes(control, APPROVE_RETURN) - before == {"0": 1}


def test_an_idempotency_key_of_another_case_is_a_conflict(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    first_case, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    other_case, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    _approve(service, first_case, idempotency_key=f"shared-{first_case}")
    with pytest.raises(DecisionConflict, match="already belongs to decision"):
        _approve(service, other_case, idempotency_key=f"shared-{first_case}")
    assert decisions_of(rt, other_case) == []


def test_a_new_decision_waits_while_an_earlier_one_is_unfinished(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(rt, control, account_id, shop_id, "REFUND")
    control("POST", "/faults", {"path_prefix": f"/return_refund/202309/returns/{rid}/approve", "count": 5,
                                "code": 36009003})
    first = _approve(service, case_id)
    assert first.state == "sent"
    with pytest.raises(DecisionConflict, match=f"decision #{first.decision_id}") as refused:
        service.decide(case_id, "offer_partial_refund", {"amount": "1.00"}, actor="merchant", actor_name="bob")
    assert refused.value.http_status == 409
    assert len(decisions_of(rt, case_id)) == 1
