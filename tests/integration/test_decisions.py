"""Decisions (merchant → TikTok): every action lands on the emulator over real HTTP, on SQLite and PostgreSQL.

The helpers at the top are shared by the other ``test_decisions_*`` modules.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, Decision, TimelineEvent
from returnbridge.domain.statuses import CaseKind, classify
from returnbridge.sync.decisions import DecisionParams, DecisionService, EvidenceImage
from returnbridge.sync.runtime import Runtime
from returnbridge.tiktok import TikTokClient

from .conftest import Control

APPROVE_RETURN = "POST /return_refund/202309/returns/{return_id}/approve"
REJECT_RETURN = "POST /return_refund/202309/returns/{return_id}/reject"
APPROVE_CANCELLATION = "POST /return_refund/202309/cancellations/{cancel_id}/approve"
UPLOAD_IMAGE = "POST /product/202309/images/upload"


# --- shared helpers ----------------------------------------------------------------------------------------------


class ProcessDied(BaseException):
    """Stands for the process being killed: no ``except Exception`` on the way catches it, as with a real kill."""


class Crash:
    """Kills the "process" once, right after TikTok's full answer to a matching request has arrived."""

    def __init__(self) -> None:
        self._armed: str | None = None

    def after_answer_to(self, path_suffix: str) -> None:
        self._armed = path_suffix

    def hook(self, response: httpx.Response) -> None:
        if self._armed and response.request.method == "POST" and response.request.url.path.endswith(self._armed):
            self._armed = None
            response.read()  # the answer is fully here (TikTok decided) before the process dies
            raise ProcessDied(f"killed after {response.request.url.path}")


class Repulls:
    """The injected ``refresh``: records which cases were re-pulled."""

    def __init__(self) -> None:
        self.case_ids: list[int] = []

    def __call__(self, case_id: int) -> None:
        self.case_ids.append(case_id)


def quick_runtime(runtime: Runtime, http: httpx.Client) -> Runtime:
    """The fixture's runtime (same database) with a TikTok client that does not sleep between retries and sends
    through ``http`` (where a test can hook a crash)."""
    s = runtime.settings
    client = TikTokClient(
        app_key=s.tiktok_app_key, app_secret=s.tiktok_app_secret, api_base=s.tiktok_api_base,
        auth_base=s.tiktok_auth_base, authorize_url=s.tiktok_authorize_url, service_id=s.tiktok_service_id,
        http=http, rate_per_second=1000.0, sleep=lambda _seconds: None,
    )
    return Runtime(s, runtime.engine, runtime.sessions, runtime.box, _tiktok=client)


def store_case(runtime: Runtime, account_id: int, request: dict[str, Any]) -> int:
    """A case row from a return or cancellation as the emulator shows it (what ingest would have stored)."""
    kind = CaseKind.RETURN if "return_id" in request else CaseKind.CANCELLATION
    status = request["return_status"] if kind is CaseKind.RETURN else request["cancel_status"]
    money = request.get("refund_amount") or {}
    case = Case(
        account_id=account_id,
        kind=kind.value,
        tiktok_id=request["return_id"] if kind is CaseKind.RETURN else request["cancel_id"],
        order_id=request["order_id"],
        type=request["return_type"] if kind is CaseKind.RETURN else request["cancel_type"],
        tiktok_status=status,
        store_status=classify(kind, status).store_status.value,
        arbitration_status=request.get("arbitration_status") or "",
        currency=money.get("currency", ""),
        refund_total=Decimal(money["refund_total"]) if money.get("refund_total") else None,
    )
    with transaction(runtime.sessions) as session:
        session.add(case)
        session.flush()
        return case.id


def new_case(runtime: Runtime, control: Control, account_id: int, shop_id: str, kind: str = "REFUND",
             **options: Any) -> tuple[int, str]:
    """A fresh buyer request on the emulator, stored as a case: (case id, TikTok id)."""
    if kind == "CANCELLATION":
        request = control.new_cancellation(shop_id, **options)
        return store_case(runtime, account_id, request), request["cancel_id"]
    request = control.new_return(shop_id, kind, **options)
    return store_case(runtime, account_id, request), request["return_id"]


def shipped_case(runtime: Runtime, control: Control, account_id: int, shop_id: str) -> tuple[int, str]:
    """A return-and-refund whose parcel the buyer has shipped back (approved first, on TikTok's side)."""
    request = control.new_return(shop_id, "RETURN_AND_REFUND")
    rid = request["return_id"]
    runtime.shop_client(account_id).approve_return(rid, decision="APPROVE_RETURN")
    control("POST", f"/returns/{rid}/ship", {"tracking_number": "1Z999AA10123456784"})
    return store_case(runtime, account_id, control.request(rid)), rid


def png(width: int = 4, height: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x00\x80\xff" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def codes(control: Control, route: str) -> Counter[str]:
    """Envelope codes the emulator answered on a route so far ("0" applied, "-2" replayed by idempotency key)."""
    return Counter(control("GET", "/stats")["routes"].get(route, {}).get("codes", {}))


def decisions_of(runtime: Runtime, case_id: int) -> list[Decision]:
    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(Decision).where(Decision.case_id == case_id).order_by(Decision.id)))


def decision_events(runtime: Runtime, case_id: int) -> list[TimelineEvent]:
    with transaction(runtime.sessions) as session:
        stmt = select(TimelineEvent).where(TimelineEvent.case_id == case_id, TimelineEvent.kind == "decision")
        return list(session.scalars(stmt.order_by(TimelineEvent.id)))


def seller_records(runtime: Runtime, account_id: int, return_id: str) -> list[Any]:
    return [r for r in runtime.shop_client(account_id).get_return_records(return_id) if r.is_by("SELLER")]


# --- fixtures ----------------------------------------------------------------------------------------------------


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


def _decide(service: DecisionService, case_id: int, action: str, params: Any = None):  # type: ignore[no-untyped-def]
    return service.decide(case_id, action, params, actor="merchant", actor_name="alice")


# --- each action lands on TikTok ---------------------------------------------------------------------------------


def test_approving_a_refund_request_refunds_it_on_tiktok(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(rt, control, account_id, shop_id, "REFUND")
    outcome = _decide(service, case_id, "approve_request")
    assert (outcome.state, outcome.ok, outcome.tiktok_id) == ("done", True, rid)
    assert control.request(rid)["return_status"] == "RETURN_OR_REFUND_REQUEST_SUCCESS"


def test_a_done_decision_row_records_key_attempt_and_times(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    outcome = _decide(service, case_id, "approve_request")
    (row,) = decisions_of(rt, case_id)
    assert (row.id, row.state, row.attempts, row.action) == (outcome.decision_id, "done", 1, "approve_request")
    assert row.idempotency_key == outcome.idempotency_key and row.idempotency_key
    assert row.params == {"tiktok_decision": "APPROVE_REFUND"}
    assert row.created_at <= row.sent_at <= row.finished_at
    assert row.sent_at.tzinfo is not None


def test_approving_a_return_request_waits_for_the_buyer_to_ship(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(rt, control, account_id, shop_id, "RETURN_AND_REFUND")
    assert _decide(service, case_id, "approve_request").ok
    assert control.request(rid)["return_status"] == "AWAITING_BUYER_SHIP"


def test_approving_a_replacement_request_sends_the_replacement(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(rt, control, account_id, shop_id, "REPLACEMENT")
    assert _decide(service, case_id, "approve_request").ok
    assert control.request(rid)["return_status"] == "REPLACEMENT_REQUEST_COMPLETE"


def test_rejecting_a_request_sends_reason_comment_and_photo(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(rt, control, account_id, shop_id, "REFUND")
    reason = service.reject_reasons(case_id)[0]
    params = DecisionParams(reason=reason.name, comment="The seal is intact",
                            images=(EvidenceImage("seal.png", png()),))
    outcome = _decide(service, case_id, "reject_request", params)
    assert outcome.ok, outcome.message
    assert control.request(rid)["return_status"] == "REFUND_OR_RETURN_REQUEST_REJECT"
    (record,) = seller_records(rt, account_id, rid)
    assert record.note == "The seal is intact"
    assert len(record.images) == 1
    (row,) = decisions_of(rt, case_id)
    assert row.params["reason"] == reason.name and row.params["tiktok_decision"] == "REJECT_REFUND"
    assert row.params["images"][0]["uri"]


def test_approving_the_received_package_refunds_the_buyer(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = shipped_case(rt, control, account_id, shop_id)
    assert _decide(service, case_id, "approve_package").ok
    assert control.request(rid)["return_status"] == "RETURN_OR_REFUND_REQUEST_SUCCESS"


def test_rejecting_the_received_package_uses_a_parcel_reason(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = shipped_case(rt, control, account_id, shop_id)
    reasons = {r.name for r in service.reject_reasons(case_id)}
    assert "reverse_reject_return_parcel_reason_1" in reasons
    outcome = _decide(service, case_id, "reject_package",
                      DecisionParams(reason="reverse_reject_return_parcel_reason_1", comment="Wrong item inside"))
    assert outcome.ok, outcome.message
    assert control.request(rid)["return_status"] == "REJECT_RECEIVE_PACKAGE"


def test_partial_refund_offer_waits_for_the_buyer_with_the_exact_amount(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(rt, control, account_id, shop_id, "RETURN_AND_REFUND")
    outcome = _decide(service, case_id, "offer_partial_refund", {"amount": "3.10"})
    assert outcome.ok, outcome.message
    shown = control.request(rid)
    assert shown["return_status"] == "AWAITING_BUYER_RESPONSE"
    assert Decimal(shown["partial_refund"]["amount"]) == Decimal("3.10")
    assert shown["partial_refund"]["currency"] == "USD"
    assert decisions_of(rt, case_id)[0].params["amount"] == "3.10"


def test_keep_item_refund_skips_the_return_parcel(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(rt, control, account_id, shop_id, "RETURN_AND_REFUND")
    assert _decide(service, case_id, "refund_keep_item").ok
    # A plain approval of a return-and-refund waits for the parcel (AWAITING_BUYER_SHIP); this one refunds now.
    assert control.request(rid)["return_status"] == "RETURN_OR_REFUND_REQUEST_SUCCESS"


def test_refund_instead_answers_a_replacement_request_with_money(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(rt, control, account_id, shop_id, "REPLACEMENT")
    assert _decide(service, case_id, "refund_instead").ok
    assert control.request(rid)["return_status"] == "REPLACEMENT_REQUEST_REFUND_SUCCESS"


def test_approving_a_buyer_cancellation_cancels_the_order(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, cid = new_case(rt, control, account_id, shop_id, "CANCELLATION")
    assert _decide(service, case_id, "approve_cancellation").ok
    assert control.request(cid)["cancel_status"] == "CANCELLATION_REQUEST_SUCCESS"


def test_rejecting_a_buyer_cancellation_with_a_listed_reason_closes_it(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, cid = new_case(rt, control, account_id, shop_id, "CANCELLATION")
    reason = service.reject_reasons(case_id)[0].name
    outcome = _decide(service, case_id, "reject_cancellation", DecisionParams(reason=reason, comment="Packed"))
    assert outcome.ok, outcome.message
    assert control.request(cid)["cancel_status"] in ("CANCELLATION_REQUEST_CANCEL", "CANCELLATION_REQUEST_CANCELLED")


# --- after the decision ------------------------------------------------------------------------------------------


def test_the_case_is_repulled_after_tiktok_answers(
    rt: Runtime, service: DecisionService, repulls: Repulls, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    outcome = _decide(service, case_id, "approve_request")
    assert repulls.case_ids == [case_id]
    assert outcome.refreshed


def test_a_failing_repull_does_not_undo_a_done_decision(
    rt: Runtime, control: Control, account_id: int, shop_id: str
) -> None:
    def broken_repull(case_id: int) -> None:
        raise RuntimeError("search is down")

    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    outcome = _decide(DecisionService(rt, refresh=broken_repull), case_id, "approve_request")
    assert (outcome.state, outcome.refreshed) == ("done", False)
    assert decisions_of(rt, case_id)[0].state == "done"


def test_the_default_repull_stores_what_tiktok_now_shows(
    rt: Runtime, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    outcome = DecisionService(rt).decide(case_id, "approve_request", actor="merchant", actor_name="alice")
    assert outcome.refreshed
    with transaction(rt.sessions) as session:
        assert session.get(Case, case_id).tiktok_status == "RETURN_OR_REFUND_REQUEST_SUCCESS"


def test_a_decision_appends_one_timeline_event_with_its_actor_and_outcome(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(rt, control, account_id, shop_id, "REFUND")
    outcome = service.decide(case_id, "approve_request", actor="rule", actor_name="auto-approve under $20")
    (event,) = decision_events(rt, case_id)
    assert (event.actor, event.actor_name) == ("rule", "auto-approve under $20")
    assert event.detail["action"] == "approve_request"
    assert event.detail["outcome"] == "done"
    assert event.detail["params"] == {"tiktok_decision": "APPROVE_REFUND"}
    assert event.dedupe_key == f"decision:{outcome.decision_id}:done"
    assert event.from_status == "RETURN_OR_REFUND_REQUEST_PENDING"


def test_reject_reasons_are_the_ones_tiktok_offers_for_that_case(
    rt: Runtime, service: DecisionService, control: Control, account_id: int, shop_id: str
) -> None:
    refund_case, refund_id = new_case(rt, control, account_id, shop_id, "REFUND")
    cancel_case, cancel_id = new_case(rt, control, account_id, shop_id, "CANCELLATION")
    shop = rt.shop_client(account_id)
    assert service.reject_reasons(refund_case) == shop.get_reject_reasons(refund_id)
    assert service.reject_reasons(cancel_case) == shop.get_reject_reasons(cancel_id)
    refund_names = {r.name for r in service.reject_reasons(refund_case)}
    assert refund_names and refund_names != {r.name for r in service.reject_reasons(cancel_case)}
