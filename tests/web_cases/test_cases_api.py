"""The JSON API for cases and bulk decisions (HTML and JSON), with personal API tokens."""

from __future__ import annotations

import base64
import hashlib
import re
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from returnbridge.cli import app as cli
from returnbridge.db.engine import transaction
from returnbridge.db.models import ApiToken, Case
from returnbridge.sync.runtime import Runtime
from returnbridge.users.api_tokens import issue_token

from ..integration.test_decisions import png
from ..web.signing_in import sign_in_as
from .conftest import Cases


def bearer(runtime: Runtime, role: str, email: str | None = None) -> dict[str, str]:
    """A user with ``role`` and a personal API token for them, as request headers (no cookie, no CSRF)."""
    from ..web.signing_in import add_user

    user = add_user(runtime, email or f"{role}-api@example.com", role)
    with transaction(runtime.sessions) as session:
        token, _ = issue_token(session, user.id, "tests")
    return {"Authorization": f"Bearer {token}"}


# --- reading ---------------------------------------------------------------------------------------------------


def test_a_case_reads_with_lines_amounts_as_strings_timeline_and_allowed_actions(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    headers = bearer(runtime, "viewer")
    case_id, rid = cases.new("RETURN_AND_REFUND")
    body = client.get(f"/api/v1/cases/{case_id}", headers=headers).json()
    assert (body["id"], body["tiktok_id"], body["kind"], body["type"]) == (case_id, rid, "return",
                                                                           "RETURN_AND_REFUND")
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None and case.refund_total is not None
    assert body["refund_total"] == {"amount": f"{case.refund_total:.2f}", "currency": "USD"}
    amounts = {row["key"]: row for row in body["amounts"]}
    assert set(amounts) >= {"refund_subtotal", "refund_shipping_fee", "refund_tax", "retail_delivery_fee",
                            "buyer_service_fee", "product_platform_discount", "product_seller_discount",
                            "partial_refund_amount", "refund_total"}
    assert all(isinstance(row["amount"], str | None) for row in body["amounts"])
    assert body["lines"] and body["lines"][0]["refund_total"]["currency"] == "USD"
    assert "tiktok_record" in {e["kind"] for e in body["timeline"]}  # the buyer's request, from TikTok's records
    assert {a["action"] for a in body["allowed_actions"]} >= {"approve_request", "reject_request",
                                                              "offer_partial_refund", "refund_keep_item"}


def test_reject_reasons_are_tiktoks_for_that_case(client: TestClient, runtime: Runtime, cases: Cases) -> None:
    headers = bearer(runtime, "viewer")
    case_id, rid = cases.new("REFUND")
    reasons = client.get(f"/api/v1/cases/{case_id}/reject-reasons", headers=headers).json()
    expected = runtime.shop_client(cases.account_id).get_reject_reasons(rid)
    assert [r["name"] for r in reasons] == [r.name for r in expected]


def test_errors_are_json_with_a_4xx_status(client: TestClient, runtime: Runtime, cases: Cases) -> None:
    headers = bearer(runtime, "agent")
    missing = client.get("/api/v1/cases/424242", headers=headers)
    assert missing.status_code == 404 and missing.json() == {"detail": "case 424242 does not exist"}
    case_id, _ = cases.new("REFUND")
    wrong = client.post(f"/api/v1/cases/{case_id}/decisions", headers=headers, json={"action": "approve_package"})
    assert wrong.status_code == 409 and "applies to RETURN_AND_REFUND requests only" in wrong.json()["detail"]
    floaty = client.post(f"/api/v1/cases/{case_id}/decisions", headers=headers,
                         json={"action": "offer_partial_refund", "amount": 3.1})
    assert floaty.status_code == 422  # a JSON number is refused: money travels as a decimal string
    unknown = client.post(f"/api/v1/cases/{case_id}/decisions", headers=headers, json={"action": "nope"})
    assert unknown.status_code == 422 and "unknown decision 'nope'" in unknown.json()["detail"]
    too_much = client.post(f"/api/v1/cases/{case_id}/decisions", headers=headers,
                           json={"action": "offer_partial_refund", "amount": "100000"})
    assert too_much.status_code == 422 and "more than the refundable total" in too_much.json()["detail"]


# --- writing -----------------------------------------------------------------------------------------------------


def test_a_decision_over_the_api_lands_on_tiktok_with_its_image(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    headers = bearer(runtime, "agent", "script@example.com")
    case_id, rid = cases.new("REFUND")
    reason = client.get(f"/api/v1/cases/{case_id}/reject-reasons", headers=headers).json()[0]["name"]
    image = {"filename": "box.png", "content_base64": base64.b64encode(png()).decode()}
    answer = client.post(f"/api/v1/cases/{case_id}/decisions", headers=headers,
                         json={"action": "reject_request", "reason": reason, "comment": "Unused", "images": [image]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["state"], body["ok"], body["tiktok_id"], body["refreshed"]) == ("done", True, rid, True)
    assert cases.status(rid) == "REFUND_OR_RETURN_REQUEST_REJECT"
    timeline = client.get(f"/api/v1/cases/{case_id}", headers=headers).json()["timeline"]
    decision = [e for e in timeline if e["kind"] == "decision"][-1]
    assert (decision["actor"], decision["actor_name"]) == ("merchant", "script@example.com")


def test_a_partial_refund_over_the_api_sends_the_exact_amount(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    headers = bearer(runtime, "agent")
    case_id, rid = cases.new("RETURN_AND_REFUND")
    answer = client.post(f"/api/v1/cases/{case_id}/decisions", headers=headers,
                         json={"action": "offer_partial_refund", "amount": "2.50", "idempotency_key": "k-1"})
    assert answer.json()["ok"] is True
    again = client.post(f"/api/v1/cases/{case_id}/decisions", headers=headers,
                        json={"action": "offer_partial_refund", "amount": "2.50", "idempotency_key": "k-1"})
    assert again.json()["decision_id"] == answer.json()["decision_id"]  # the same key decides once
    assert Decimal(cases.control.request(rid)["partial_refund"]["amount"]) == Decimal("2.50")


def test_an_api_image_that_is_not_an_image_is_a_400(client: TestClient, runtime: Runtime, cases: Cases) -> None:
    headers = bearer(runtime, "agent")
    case_id, rid = cases.new("REFUND")
    reason = client.get(f"/api/v1/cases/{case_id}/reject-reasons", headers=headers).json()[0]["name"]
    fake = {"filename": "x.gif", "content_base64": base64.b64encode(b"MZ\x90\x00 an executable").decode()}
    answer = client.post(f"/api/v1/cases/{case_id}/decisions", headers=headers,
                         json={"action": "reject_request", "reason": reason, "images": [fake]})
    assert answer.status_code == 400 and "x.gif is not a JPEG, PNG, GIF or WebP image" in answer.json()["detail"]
    assert cases.status(rid) == "RETURN_OR_REFUND_REQUEST_PENDING"


def test_notes_and_refresh_over_the_api(client: TestClient, runtime: Runtime, cases: Cases) -> None:
    headers = bearer(runtime, "agent", "notes@example.com")
    case_id, rid = cases.new("REFUND")
    note = client.post(f"/api/v1/cases/{case_id}/notes", headers=headers, json={"text": "مرحبا 👋 <i>hi</i>"})
    assert note.status_code == 201
    assert (note.json()["kind"], note.json()["actor_name"]) == ("note", "notes@example.com")
    assert note.json()["texts"] == [{"label": "", "text": "مرحبا 👋 <i>hi</i>"}]
    assert client.post(f"/api/v1/cases/{case_id}/notes", headers=headers, json={"text": ""}).status_code == 422
    runtime.shop_client(cases.account_id).approve_return(rid, decision="APPROVE_REFUND")  # decided on TikTok
    refreshed = client.post(f"/api/v1/cases/{case_id}/refresh", headers=headers).json()
    assert (refreshed["found"], refreshed["tiktok_status"]) == (True, "RETURN_OR_REFUND_REQUEST_SUCCESS")


def test_bulk_decisions_over_the_api_give_one_result_per_case_including_refusals(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    headers = bearer(runtime, "agent")
    first, first_rid = cases.new("REFUND")
    second, second_rid = cases.new("REFUND")
    cancellation, _ = cases.new("CANCELLATION")
    answer = client.post("/api/v1/cases/bulk-decisions", headers=headers,
                         json={"case_ids": [first, cancellation, second], "action": "approve"})
    body = answer.json()
    assert answer.status_code == 200 and (body["done"], body["refused"]) == (2, 1)
    assert [r["case_id"] for r in body["results"]] == [first, cancellation, second]
    assert body["results"][1]["state"] == "refused" and "is a cancellation" in body["results"][1]["message"]
    assert cases.status(first_rid) == cases.status(second_rid) == "RETURN_OR_REFUND_REQUEST_SUCCESS"


def test_bulk_reject_from_the_grid_form_shows_a_result_per_row(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    user = sign_in_as(client, runtime, "agent")
    refund, refund_rid = cases.new("REFUND")
    shipped, shipped_rid = cases.shipped()  # not pending: rejecting the request no longer fits it
    reason = runtime.shop_client(cases.account_id).get_reject_reasons(refund_rid)[0].name
    page = client.post("/cases/bulk", data={"csrf_token": user.csrf_token, "case_ids": [str(refund), str(shipped)],
                                            "action": "reject", "reason": reason, "comment": "Bulk"})
    assert page.status_code == 200 and "1 of 2 done, 1 refused" in page.text
    rows = re.findall(r'<tr class="result-row" data-case-id="(\d+)">.*?class="state state-(\w+)"', page.text, re.S)
    assert rows == [(str(refund), "done"), (str(shipped), "refused")]
    assert cases.status(refund_rid) == "REFUND_OR_RETURN_REQUEST_REJECT"
    assert cases.status(shipped_rid) == "BUYER_SHIPPED_ITEM"
    as_json = client.post("/cases/bulk", headers={"Accept": "application/json"},
                          data={"csrf_token": user.csrf_token, "case_ids": "x", "action": "approve"})
    assert as_json.status_code == 422 and as_json.json() == {"detail": "'x' is not a case id"}


# --- tokens ------------------------------------------------------------------------------------------------------


def test_a_bearer_token_needs_no_csrf_and_a_viewers_token_cannot_decide(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    case_id, rid = cases.new("REFUND")
    viewer = bearer(runtime, "viewer")
    refused = client.post(f"/api/v1/cases/{case_id}/decisions", headers=viewer, json={"action": "approve_request"})
    assert refused.status_code == 403 and "needs the agent role" in refused.json()["detail"]
    assert cases.status(rid) == "RETURN_OR_REFUND_REQUEST_PENDING"
    agent = bearer(runtime, "agent")
    assert client.post(f"/api/v1/cases/{case_id}/decisions", headers=agent,
                       json={"action": "approve_request"}).json()["ok"] is True


def test_a_cookie_session_still_needs_the_csrf_header_on_api_writes(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    user = sign_in_as(client, runtime, "agent")
    case_id, _ = cases.new("REFUND")
    without = client.post(f"/api/v1/cases/{case_id}/notes", json={"text": "x"})
    assert without.status_code == 403
    with_header = client.post(f"/api/v1/cases/{case_id}/notes", json={"text": "x"},
                              headers={"X-CSRF-Token": user.csrf_token})
    assert with_header.status_code == 201


def test_tokens_are_created_once_listed_by_prefix_stored_hashed_and_revoked(
    client: TestClient, runtime: Runtime, cases: Cases
) -> None:
    user = sign_in_as(client, runtime, "agent", email="owner@example.com")
    case_id, _ = cases.new("REFUND")
    page = client.post("/account/tokens", data={"csrf_token": user.csrf_token, "name": "nightly <export>"})
    token = re.search(r'<code id="new-token">(rb_[A-Za-z0-9_-]+)</code>', page.text)
    assert token, page.text[:300]
    secret = token.group(1)
    assert "nightly &lt;export&gt;" in page.text
    listing = client.get("/account/tokens").text
    assert secret not in listing and f"{secret[:10]}…" in listing
    with transaction(runtime.sessions) as session:
        (row,) = session.scalars(select(ApiToken)).all()
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in (row.prefix, row.name)

    api = TestClient(client.app)  # no cookie
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get(f"/api/v1/cases/{case_id}", headers=headers).status_code == 200
    assert api.get("/api/me", headers=headers).json()["email"] == "owner@example.com"
    revoked = client.post(f"/account/tokens/{row.id}/revoke", data={"csrf_token": user.csrf_token})
    assert "The token is revoked" in revoked.text
    answer = api.get(f"/api/v1/cases/{case_id}", headers=headers)
    assert answer.status_code == 401 and "unknown, revoked" in answer.json()["detail"]
    assert api.get("/api/v1/cases/1", headers={"Authorization": "Bearer rb_made_up"}).status_code == 401
    assert api.get("/cases/1", headers=headers, follow_redirects=False).status_code == 303  # pages need a session


def test_the_cli_prints_a_working_token_once(
    client: TestClient, runtime: Runtime, cases: Cases, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from ..web.signing_in import add_user

    add_user(runtime, "cli@example.com", "viewer")
    case_id, _ = cases.new("REFUND")
    monkeypatch.setenv("RETURNBRIDGE_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("RETURNBRIDGE_VAR_DIR", str(runtime.settings.var_dir))
    from returnbridge.config import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["users", "token", "--email", "CLI@example.com", "--name", "cron"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("rb_")
    assert "Created API token 'cron' for cli@example.com (viewer)" in result.output
    answer = client.get(f"/api/v1/cases/{case_id}", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200
