"""Decisions that do not fit the case or carry wrong parameters are refused with a clear error before anything is
written, uploaded or sent; in bulk, each case gets its own result."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case
from returnbridge.sync.decisions import (
    ActionNotAllowed,
    CaseNotFound,
    DecisionParams,
    DecisionService,
    EvidenceImage,
    InvalidDecisionParams,
    InvalidRejectReason,
)
from returnbridge.sync.runtime import Runtime

from .conftest import Control
from .test_decisions import (
    APPROVE_RETURN,
    REJECT_RETURN,
    UPLOAD_IMAGE,
    Repulls,
    codes,
    decision_events,
    decisions_of,
    new_case,
    png,
    quick_runtime,
    shipped_case,
    store_case,
)


@pytest.fixture
def rt(runtime: Runtime) -> Iterator[Runtime]:
    http = httpx.Client(timeout=30)
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


def _decide(service: DecisionService, case_id: int, action: str, params: Any = None):  # type: ignore[no-untyped-def]
    return service.decide(case_id, action, params, actor="merchant", actor_name="alice")


def _nothing_written(rt: Runtime, case_id: int) -> bool:
    return decisions_of(rt, case_id) == [] and decision_events(rt, case_id) == []


# --- reject reasons ----------------------------------------------------------------------------------------------


def test_a_reason_tiktok_does_not_offer_is_refused_listing_the_valid_ones_and_nothing_is_sent(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(rt, control, account_id, shop_id, "REFUND")
    valid = service.reject_reasons(case_id)
    uploads, rejects = codes(control, UPLOAD_IMAGE), codes(control, REJECT_RETURN)
    params = DecisionParams(reason="buyer_is_annoying", images=(EvidenceImage("proof.png", png()),))
    with pytest.raises(InvalidRejectReason) as refused:
        _decide(service, case_id, "reject_request", params)
    message = str(refused.value)
    assert "'buyer_is_annoying' is not a reject reason TikTok accepts" in message
    assert all(reason.name in message for reason in valid)
    assert refused.value.valid == valid and refused.value.http_status == 422
    assert _nothing_written(rt, case_id)
    assert codes(control, UPLOAD_IMAGE) == uploads and codes(control, REJECT_RETURN) == rejects
    assert control.request(rid)["return_status"] == "RETURN_OR_REFUND_REQUEST_PENDING"


def test_a_reason_from_another_stage_is_refused(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = shipped_case(rt, control, account_id, shop_id)
    with pytest.raises(InvalidRejectReason, match="reverse_reject_request_reason_4"):
        # A reason for rejecting the request, not the parcel: TikTok would answer 25001016.
        _decide(service, case_id, "reject_package", DecisionParams(reason="reverse_reject_request_reason_4"))
    assert _nothing_written(rt, case_id)


def test_rejecting_without_a_reason_is_refused_with_the_valid_ones(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "CANCELLATION")
    with pytest.raises(InvalidRejectReason, match="needs a reason; TikTok accepts: ") as refused:
        _decide(service, case_id, "reject_cancellation")
    assert refused.value.valid
    assert _nothing_written(rt, case_id)


def test_a_reason_may_be_given_by_the_text_the_merchant_sees(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    reason = service.reject_reasons(case_id)[-1]
    assert reason.text
    outcome = _decide(service, case_id, "reject_request", DecisionParams(reason=reason.text.upper()))
    assert outcome.ok, outcome.message
    assert decisions_of(rt, case_id)[0].params["reason"] == reason.name


# --- the action must fit the case --------------------------------------------------------------------------------


def test_a_cancellation_action_on_a_return_is_refused_without_a_row(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    with pytest.raises(ActionNotAllowed, match="is a return; 'approve the cancellation' applies to cancellations"):
        _decide(service, case_id, "approve_cancellation")
    assert _nothing_written(rt, case_id)


def test_an_action_in_the_wrong_status_is_refused_without_a_row_or_a_call(
    rt: Runtime, service: DecisionService, repulls: Repulls, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "RETURN_AND_REFUND")
    before = codes(control, APPROVE_RETURN)
    with pytest.raises(ActionNotAllowed) as refused:
        _decide(service, case_id, "approve_package")
    assert str(refused.value) == (
        f"case {case_id} is RETURN_OR_REFUND_REQUEST_PENDING (Requested) on TikTok; 'approve the received package' "
        "needs BUYER_SHIPPED_ITEM"
    )
    assert refused.value.http_status == 409
    assert _nothing_written(rt, case_id)
    assert codes(control, APPROVE_RETURN) == before
    assert repulls.case_ids == []


def test_an_action_for_another_request_type_is_refused(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    with pytest.raises(ActionNotAllowed, match=r"is a REFUND request; .* applies to RETURN_AND_REFUND requests only"):
        _decide(service, case_id, "refund_keep_item")
    assert _nothing_written(rt, case_id)


def test_a_case_in_arbitration_is_refused(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    with transaction(rt.sessions) as session:
        session.execute(update(Case).where(Case.id == case_id).values(arbitration_status="IN_PROGRESS"))
    with pytest.raises(ActionNotAllowed, match="in arbitration"):
        _decide(service, case_id, "approve_request")
    assert _nothing_written(rt, case_id)


def test_an_unknown_case_is_not_found(service: DecisionService, account_id: int) -> None:
    with pytest.raises(CaseNotFound, match="case 987654 does not exist") as refused:
        _decide(service, 987654, "approve_request")
    assert refused.value.http_status == 404


def test_an_unknown_action_is_refused_naming_the_known_ones(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    with pytest.raises(InvalidDecisionParams, match=r"unknown decision 'accept'.*approve_request, reject_request"):
        _decide(service, case_id, "accept")
    assert _nothing_written(rt, case_id)


def test_a_parameter_the_action_does_not_take_is_refused(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    with pytest.raises(InvalidDecisionParams, match="'approve the request' takes no reason"):
        _decide(service, case_id, "approve_request", {"reason": "reverse_reject_request_reason_4"})
    assert _nothing_written(rt, case_id)


# --- partial refunds ---------------------------------------------------------------------------------------------


def test_a_partial_refund_above_the_refundable_total_is_refused(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    request = control.new_return(shop_id, "REFUND")
    case_id = store_case(rt, account_id, request)
    total = Decimal(request["refund_amount"]["refund_total"])
    too_much = total + Decimal("0.01")
    with pytest.raises(InvalidDecisionParams) as refused:
        _decide(service, case_id, "offer_partial_refund", {"amount": str(too_much)})
    assert str(refused.value) == (
        f"the partial refund {too_much} USD is more than the refundable total {total} USD"
    )
    assert _nothing_written(rt, case_id)


@pytest.mark.parametrize("amount", ["0", "-1.00"])
def test_a_partial_refund_of_zero_or_less_is_refused(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str, amount: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    with pytest.raises(InvalidDecisionParams, match="must be more than 0 USD"):
        _decide(service, case_id, "offer_partial_refund", {"amount": amount})
    assert _nothing_written(rt, case_id)


def test_a_partial_refund_in_another_currency_is_refused(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    with pytest.raises(InvalidDecisionParams, match="in the case's currency USD, not GBP"):
        _decide(service, case_id, "offer_partial_refund", {"amount": "1.00", "currency": "GBP"})
    assert _nothing_written(rt, case_id)


def test_a_partial_refund_with_fractions_of_a_cent_is_refused(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    with pytest.raises(InvalidDecisionParams, match="more decimals than USD allows"):
        _decide(service, case_id, "offer_partial_refund", {"amount": "1.005"})
    assert _nothing_written(rt, case_id)


def test_a_float_amount_is_refused_because_it_is_not_exact_money(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    with pytest.raises(InvalidDecisionParams, match="written as text"):
        _decide(service, case_id, "offer_partial_refund", {"amount": 1.1})
    assert _nothing_written(rt, case_id)


# --- evidence ----------------------------------------------------------------------------------------------------


def test_a_file_that_is_not_an_image_is_refused_before_any_upload(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    reason = service.reject_reasons(case_id)[0].name
    uploads = codes(control, UPLOAD_IMAGE)
    params = DecisionParams(reason=reason, images=(EvidenceImage("notes.txt", b"the buyer lies"),))
    with pytest.raises(InvalidDecisionParams, match=r"notes\.txt is not a JPEG, PNG, GIF or WebP image"):
        _decide(service, case_id, "reject_request", params)
    assert codes(control, UPLOAD_IMAGE) == uploads
    assert _nothing_written(rt, case_id)


def test_a_comment_longer_than_tiktok_takes_is_refused(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    reason = service.reject_reasons(case_id)[0].name
    with pytest.raises(InvalidDecisionParams, match="501 characters; TikTok takes at most 500"):
        _decide(service, case_id, "reject_request", DecisionParams(reason=reason, comment="x" * 501))
    assert _nothing_written(rt, case_id)


# --- bulk --------------------------------------------------------------------------------------------------------


def test_bulk_decisions_report_each_case_and_one_refusal_does_not_stop_the_others(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    first, first_id = new_case(rt, control, account_id, shop_id, "REFUND")
    cancellation, _ = new_case(rt, control, account_id, shop_id, "CANCELLATION")
    last, last_id = new_case(rt, control, account_id, shop_id, "RETURN_AND_REFUND")
    outcomes = service.decide_many([first, cancellation, last, 987654], "approve_request", actor="merchant",
                                   actor_name="alice")
    assert [(o.case_id, o.state) for o in outcomes] == [
        (first, "done"), (cancellation, "refused"), (last, "done"), (987654, "refused"),
    ]
    assert "is a cancellation" in outcomes[1].message
    assert outcomes[1].decision_id is None and _nothing_written(rt, cancellation)
    assert "does not exist" in outcomes[3].message
    assert control.request(first_id)["return_status"] == "RETURN_OR_REFUND_REQUEST_SUCCESS"
    assert control.request(last_id)["return_status"] == "AWAITING_BUYER_SHIP"


def test_bulk_rejection_uploads_the_evidence_once_for_all_cases(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    cases = [new_case(rt, control, account_id, shop_id, "REFUND")[0] for _ in range(3)]
    reason = service.reject_reasons(cases[0])[0].name
    uploads = codes(control, UPLOAD_IMAGE)
    outcomes = service.decide_many(cases, "reject_request",
                                   DecisionParams(reason=reason, images=(EvidenceImage("a.png", png()),)),
                                   actor="merchant", actor_name="alice", idempotency_key="bulk-7")
    assert [o.state for o in outcomes] == ["done", "done", "done"]
    assert codes(control, UPLOAD_IMAGE) - uploads == {"0": 1}
    assert [o.idempotency_key for o in outcomes] == [f"bulk-7:{case_id}" for case_id in cases]

