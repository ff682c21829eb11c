"""The case page: what it shows, and every action it offers changing TikTok's state and the timeline."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, Decision, TimelineEvent, utcnow
from returnbridge.sync.decisions import MAX_IMAGE_BYTES
from returnbridge.sync.records import record_events
from returnbridge.sync.runtime import Runtime

from ..integration.test_decisions import png, seller_records
from ..web.signing_in import sign_in_as
from .conftest import Cases


def flash(response: Any) -> str:
    found = re.findall(r'<p class="flash flash-(\w+)" role="status">(.*?)</p>', response.text, re.S)
    return " | ".join(f"{kind}: {text.strip()}" for kind, text in found)


def decide(client: TestClient, token: str, case_id: int, action: str, files: Any = None, **fields: str) -> Any:
    """Post an action form as the page does and follow the redirect back to the case."""
    response = client.post(f"/cases/{case_id}/decide", data={"csrf_token": token, "action": action, **fields},
                           files=files, follow_redirects=False)
    assert response.status_code == 303, (response.status_code, response.text[:500])
    assert response.headers["location"] == f"/cases/{case_id}"
    return client.get(f"/cases/{case_id}")


def uploads(cases: Cases) -> int:
    return int(cases.control("GET", "/stats")["routes"].get("POST /product/202309/images/upload", {}).get("count", 0))


def decision_events(runtime: Runtime, case_id: int) -> list[TimelineEvent]:
    with transaction(runtime.sessions) as session:
        stmt = select(TimelineEvent).where(TimelineEvent.case_id == case_id, TimelineEvent.kind == "decision")
        return list(session.scalars(stmt.order_by(TimelineEvent.id)))


# --- what the page shows -------------------------------------------------------------------------------------------


def test_the_case_page_shows_ids_status_shop_lines_amounts_and_raw_payload(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    sign_in_as(client, runtime, "viewer")
    case_id, rid = cases.new("RETURN_AND_REFUND")
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    shown = cases.control.request(rid)
    assert rid in page.text and shown["order_id"] in page.text
    assert "RETURN_OR_REFUND_REQUEST_PENDING" in page.text and "Requested" in page.text
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.refund_total is not None and case.seller_deadline is not None
        total = f"{case.refund_total:.2f} {case.currency}"
    assert total in page.text
    assert 'class="countdown' in page.text and "data-deadline=" in page.text
    assert "Refund total" in page.text and "Subtotal" in page.text and "Buyer service fee" in page.text
    line = shown["return_line_items"][0]
    assert line["seller_sku"] in page.text and line["product_name"] in page.text
    assert "<details class=\"card raw\">" in page.text and "&#34;return_id&#34;" in page.text


def test_buyer_evidence_images_and_videos_are_shown_from_tiktok_records(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    sign_in_as(client, runtime, "viewer")
    case_id, rid = cases.new("RETURN_AND_REFUND")
    media = f"{runtime.settings.tiktok_api_base}/_emulator/media"
    # A buyer record as Get Return Records sends it, turned into a timeline row by the real merge code.
    record = {"role": "BUYER", "create_time": 1750000000, "event": "Buyer uploaded evidence", "note": "Cracked",
              "images": [{"url": f"{media}/{rid}-buyer-0", "width": 4, "height": 3}],
              "videos": [{"url": f"{media}/{rid}-video-0", "cover": f"{media}/{rid}-cover"}]}
    with transaction(runtime.sessions) as session:
        for row in record_events(case_id, [record], utcnow()):
            session.add(TimelineEvent(**row))
    page = client.get(f"/cases/{case_id}").text
    assert "Buyer evidence" in page
    assert f'<img src="{media}/{rid}-buyer-0" alt="Buyer photo 1"' in page
    assert f'<a href="{media}/{rid}-video-0" target="_blank" rel="noopener noreferrer">Buyer video 1</a>' in page
    assert "Cracked" in page
    # The emulator serves images over plain HTTP, so the CSP names it; HTTPS CDNs are allowed as a class.
    csp = client.get(f"/cases/{case_id}").headers["content-security-policy"]
    assert f"img-src 'self' data: https: {runtime.settings.tiktok_api_base}" in csp


def test_an_unknown_case_is_a_404_page(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, "viewer")
    response = client.get("/cases/999999")
    assert response.status_code == 404 and "There is no case 999999." in response.text


def test_only_the_actions_the_case_allows_are_offered(client: TestClient, runtime: Runtime, cases: Cases) -> None:
    sign_in_as(client, runtime, "agent")
    refund, _ = cases.new("REFUND")
    page = client.get(f"/cases/{refund}").text
    assert 'value="approve_request"' in page and 'value="reject_request"' in page
    assert 'value="offer_partial_refund"' in page
    assert 'value="approve_package"' not in page and 'value="approve_cancellation"' not in page
    assert 'value="refund_keep_item"' not in page  # a refund-only request already lets the buyer keep the item
    shipped, _ = cases.shipped()
    page = client.get(f"/cases/{shipped}").text
    assert 'value="approve_package"' in page and 'value="reject_package"' in page
    assert 'value="approve_request"' not in page
    # TikTok's reject reasons for that very case fill the reason list.
    assert 'value="reverse_reject_return_parcel_reason_1"' in page


# --- each action lands on TikTok and on the timeline -------------------------------------------------------------


def test_approving_a_request_refunds_it_on_tiktok_and_records_who_did_it(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    user = sign_in_as(client, runtime, "agent", email="agent.ann@example.com")
    case_id, rid = cases.new("REFUND")
    page = decide(client, user.csrf_token, case_id, "approve_request")
    assert "success: Case" in flash(page) and "TikTok accepted: approve the request" in flash(page)
    assert cases.status(rid) == "RETURN_OR_REFUND_REQUEST_SUCCESS"
    (event,) = decision_events(runtime, case_id)
    assert (event.actor, event.actor_name, event.detail["outcome"]) == ("merchant", "agent.ann@example.com", "done")
    assert "Decision: approve the request — done" in page.text and "agent.ann@example.com" in page.text
    assert "RETURN_OR_REFUND_REQUEST_SUCCESS" in page.text  # re-pulled after the decision


def test_rejecting_a_request_sends_reason_comment_and_photo_to_tiktok(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    user = sign_in_as(client, runtime, "agent")
    case_id, rid = cases.new("REFUND")
    reason = re.findall(r'<option value="([^"]+)"', client.get(f"/cases/{case_id}").text)[0]
    page = decide(client, user.csrf_token, case_id, "reject_request", reason=reason, comment="Seal intact ✅",
                  files=[("images", ("seal.png", png(), "image/png"))])
    assert "TikTok accepted: reject the request" in flash(page)
    assert cases.status(rid) == "REFUND_OR_RETURN_REQUEST_REJECT"
    (record,) = seller_records(runtime, cases.account_id, rid)
    assert record.note == "Seal intact ✅" and len(record.images) == 1
    assert "Seal intact ✅" in page.text


def test_approving_the_received_package_refunds_the_buyer(client: TestClient, runtime: Runtime, cases: Cases) -> None:
    user = sign_in_as(client, runtime, "admin")
    case_id, rid = cases.shipped()
    page = decide(client, user.csrf_token, case_id, "approve_package")
    assert "TikTok accepted: approve the received package" in flash(page)
    assert cases.status(rid) == "RETURN_OR_REFUND_REQUEST_SUCCESS"


def test_rejecting_the_received_package_with_a_parcel_reason(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    user = sign_in_as(client, runtime, "agent")
    case_id, rid = cases.shipped()
    page = decide(client, user.csrf_token, case_id, "reject_package", reason="reverse_reject_return_parcel_reason_1",
                  comment="Wrong item inside")
    assert "TikTok accepted: reject the received package" in flash(page)
    assert cases.status(rid) == "REJECT_RECEIVE_PACKAGE"


def test_a_partial_refund_is_parsed_in_the_case_currency_and_checked_against_the_refundable_total(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    user = sign_in_as(client, runtime, "agent")
    case_id, rid = cases.new("RETURN_AND_REFUND")
    page = decide(client, user.csrf_token, case_id, "offer_partial_refund", amount="1.234")
    assert "error: USD has 2 decimals: 1.234 has more." in flash(page)
    page = decide(client, user.csrf_token, case_id, "offer_partial_refund", amount="1,000,000")
    assert "error: The partial refund 1000000 USD is more than the refundable total" in flash(page)
    page = decide(client, user.csrf_token, case_id, "offer_partial_refund", amount="twelve")
    assert "is not an amount" in flash(page)
    assert cases.status(rid) == "RETURN_OR_REFUND_REQUEST_PENDING"  # nothing was sent
    page = decide(client, user.csrf_token, case_id, "offer_partial_refund", amount=" 3.1 ")
    assert "TikTok accepted: offer a partial refund" in flash(page)
    shown = cases.control.request(rid)
    assert shown["return_status"] == "AWAITING_BUYER_RESPONSE"
    assert Decimal(shown["partial_refund"]["amount"]) == Decimal("3.10")


def test_keep_item_refund_and_refund_instead_of_replacement(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    user = sign_in_as(client, runtime, "agent")
    keep, keep_rid = cases.new("RETURN_AND_REFUND")
    assert "TikTok accepted" in flash(decide(client, user.csrf_token, keep, "refund_keep_item"))
    assert cases.status(keep_rid) == "RETURN_OR_REFUND_REQUEST_SUCCESS"
    replacement, replacement_rid = cases.new("REPLACEMENT")
    assert "TikTok accepted" in flash(decide(client, user.csrf_token, replacement, "refund_instead"))
    assert cases.status(replacement_rid) == "REPLACEMENT_REQUEST_REFUND_SUCCESS"


def test_approving_and_rejecting_buyer_cancellations(client: TestClient, runtime: Runtime, cases: Cases) -> None:
    user = sign_in_as(client, runtime, "agent")
    approve, approve_cid = cases.new("CANCELLATION")
    assert "TikTok accepted: approve the cancellation" in flash(
        decide(client, user.csrf_token, approve, "approve_cancellation"))
    assert cases.status(approve_cid) == "CANCELLATION_REQUEST_SUCCESS"
    reject, reject_cid = cases.new("CANCELLATION")
    reason = re.findall(r'<option value="([^"]+)"', client.get(f"/cases/{reject}").text)[0]
    page = decide(client, user.csrf_token, reject, "reject_cancellation", reason=reason, comment="Already packed")
    assert "TikTok accepted: reject the cancellation" in flash(page)
    assert cases.status(reject_cid) in ("CANCELLATION_REQUEST_CANCEL", "CANCELLATION_REQUEST_CANCELLED")


# --- refusals ------------------------------------------------------------------------------------------------------


def test_an_action_the_case_does_not_allow_is_refused_with_a_clear_message(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    user = sign_in_as(client, runtime, "agent")
    case_id, rid = cases.new("REFUND")
    page = decide(client, user.csrf_token, case_id, "approve_package")
    assert page.status_code == 200
    assert "error: Case" in flash(page) and "applies to RETURN_AND_REFUND requests only" in flash(page)
    page = decide(client, user.csrf_token, case_id, "sell_it_twice")
    assert "Unknown decision &#39;sell_it_twice&#39;: choose one of approve_request" in flash(page)
    assert cases.status(rid) == "RETURN_OR_REFUND_REQUEST_PENDING"
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(Decision).where(Decision.case_id == case_id)).all() == []


def test_a_viewer_sees_no_action_forms_and_their_posts_are_refused(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    user = sign_in_as(client, runtime, "viewer")
    case_id, rid = cases.new("REFUND")
    page = client.get(f"/cases/{case_id}").text
    assert "/decide" not in page and "/notes" not in page and "/resync" not in page and "Actions" not in page
    for path, data in ((f"/cases/{case_id}/decide", {"action": "approve_request"}),
                       (f"/cases/{case_id}/notes", {"text": "hello"}), (f"/cases/{case_id}/resync", {}),
                       ("/cases/bulk", {"case_ids": str(case_id), "action": "approve"})):
        response = client.post(path, data={"csrf_token": user.csrf_token, **data}, follow_redirects=False)
        assert response.status_code == 403, path
        assert "needs the agent role" in response.text
    assert cases.status(rid) == "RETURN_OR_REFUND_REQUEST_PENDING"


def test_a_post_without_the_csrf_token_is_refused(client: TestClient, runtime: Runtime, cases: Cases) -> None:
    sign_in_as(client, runtime, "admin")
    case_id, rid = cases.new("REFUND")
    response = client.post(f"/cases/{case_id}/decide", data={"action": "approve_request"}, follow_redirects=False)
    assert response.status_code == 403 and "did not come from ReturnBridge" in response.text
    response = client.post(f"/cases/{case_id}/notes", data={"text": "x", "csrf_token": "forged"})
    assert response.status_code == 403
    assert cases.status(rid) == "RETURN_OR_REFUND_REQUEST_PENDING"


def test_evidence_that_is_not_an_image_or_too_large_is_refused_with_400(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    user = sign_in_as(client, runtime, "agent")
    case_id, rid = cases.new("REFUND")
    reason = re.findall(r'<option value="([^"]+)"', client.get(f"/cases/{case_id}").text)[0]
    fields = {"csrf_token": user.csrf_token, "action": "reject_request", "reason": reason, "comment": "kept"}
    uploads_before = uploads(cases)
    fake = client.post(f"/cases/{case_id}/decide", data=fields,
                       files=[("images", ("photo.png", b"%PDF-1.7 not a picture", "image/png"))])
    assert fake.status_code == 400
    assert "Evidence not accepted: photo.png is not a JPEG, PNG, GIF or WebP image." in fake.text
    assert 'id="form-reject_request" open' in fake.text and ">kept</textarea>" in fake.text  # the form is kept
    huge = png() + b"\0" * MAX_IMAGE_BYTES
    large = client.post(f"/cases/{case_id}/decide", data=fields, files=[("images", ("big.png", huge, "image/png"))])
    assert large.status_code == 400 and "big.png is larger than TikTok&#39;s 5 MB limit" in large.text
    assert cases.status(rid) == "RETURN_OR_REFUND_REQUEST_PENDING"
    assert uploads(cases) == uploads_before  # nothing reached TikTok's image upload


# --- notes, re-sync, hostile text --------------------------------------------------------------------------------


def test_an_internal_note_is_added_with_its_author(client: TestClient, runtime: Runtime, cases: Cases) -> None:
    user = sign_in_as(client, runtime, "agent", email="nora@example.com")
    case_id, _ = cases.new("REFUND")
    response = client.post(f"/cases/{case_id}/notes", data={"csrf_token": user.csrf_token,
                                                             "text": "Called the buyer <b>twice</b>"})
    assert response.status_code == 200 and "success: Note added." in flash(response)
    assert "Called the buyer &lt;b&gt;twice&lt;/b&gt;" in response.text
    with transaction(runtime.sessions) as session:
        (note,) = session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case_id,
                                                              TimelineEvent.kind == "note")).all()
    assert (note.actor, note.actor_name, note.detail) == ("merchant", "nora@example.com",
                                                          {"text": "Called the buyer <b>twice</b>"})
    empty = client.post(f"/cases/{case_id}/notes", data={"csrf_token": user.csrf_token, "text": "   "})
    assert "error: The note is empty." in flash(empty)


def test_resync_reads_the_case_again_from_tiktok(client: TestClient, runtime: Runtime, cases: Cases) -> None:
    user = sign_in_as(client, runtime, "agent")
    case_id, rid = cases.new("RETURN_AND_REFUND")
    cases.control("POST", f"/requests/{rid}/withdraw", {})  # the buyer withdraws on TikTok
    page = client.post(f"/cases/{case_id}/resync", data={"csrf_token": user.csrf_token})
    status = cases.status(rid)
    assert f"success: Re-synced from TikTok: {status}" in flash(page)
    with transaction(runtime.sessions) as session:
        assert session.get(Case, case_id).tiktok_status == status  # type: ignore[union-attr]


HOSTILE_NOTE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
RTL = "المنتج وصل مكسورا \u202eevil\u202c"
EMOJI = "Box crushed 📦💥👎🏽"
LONG_REASON = "Damaged " * 400


def test_hostile_buyer_text_renders_escaped_and_intact(client: TestClient, runtime: Runtime, cases: Cases) -> None:
    sign_in_as(client, runtime, "viewer")
    case_id, _ = cases.new("REFUND")
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.reason_text = LONG_REASON
        session.add(TimelineEvent(
            case_id=case_id, at=case.tiktok_create_time, actor="buyer", kind="tiktok_record",
            detail={"event": "Buyer note", "note": HOSTILE_NOTE, "description": RTL, "reason_text": EMOJI,
                    "images": [{"url": "javascript:alert(1)"}], "videos": []},
            dedupe_key="hostile",
        ))
    page = client.get(f"/cases/{case_id}").text
    assert "<script>alert" not in page and "<img src=x" not in page and "javascript:" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert RTL in page and EMOJI in page and LONG_REASON.strip() in page
    assert f"<bdi>{RTL}</bdi>" in page  # isolated, so right-to-left text cannot reorder what follows it
