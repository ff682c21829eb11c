"""Defects the fuzzing of the JSON API found (tests/fuzz/), each pinned by a regression test, on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from returnbridge.sync.runtime import Runtime
from returnbridge.web.row_ids import MAX_ROW_ID

from ..web.signing_in import sign_in_as
from .test_cases_api import bearer

# Past SQLite's 64-bit integers (an OverflowError before the query) and past PostgreSQL's INTEGER (a DataError).
TOO_LARGE = (MAX_ROW_ID + 1, 2**63, 10**30)


@pytest.mark.parametrize("case_id", TOO_LARGE)
def test_a_case_id_too_large_for_the_database_is_a_422_not_a_500(
    client: TestClient, runtime: Runtime, case_id: int
) -> None:
    headers = bearer(runtime, "admin")
    for method, path, body in (
        ("GET", f"/api/v1/cases/{case_id}", None),
        ("GET", f"/api/v1/cases/{case_id}/reject-reasons", None),
        ("POST", f"/api/v1/cases/{case_id}/notes", {"text": "hello"}),
        ("POST", f"/api/v1/cases/{case_id}/refresh", None),
        ("POST", f"/api/v1/cases/{case_id}/decisions", {"action": "approve_request"}),
        ("POST", "/api/v1/cases/bulk-decisions", {"case_ids": [case_id], "action": "approve"}),
        ("GET", f"/api/v1/rules/{case_id}", None),
    ):
        answer = client.request(method, path, headers=headers, json=body)
        assert answer.status_code == 422, (method, path, answer.text)
        assert answer.json()["detail"]


def test_the_largest_possible_case_id_is_simply_not_found(client: TestClient, runtime: Runtime) -> None:
    answer = client.get(f"/api/v1/cases/{MAX_ROW_ID}", headers=bearer(runtime, "viewer"))
    assert answer.status_code == 404 and answer.json() == {"detail": f"case {MAX_ROW_ID} does not exist"}


def test_the_case_page_refuses_a_case_id_too_large_for_the_database(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, "viewer")
    assert client.get(f"/cases/{2**63}").status_code == 422


def test_the_bulk_form_refuses_a_case_id_too_large_for_the_database(client: TestClient, runtime: Runtime) -> None:
    user = sign_in_as(client, runtime, "agent")
    answer = client.post("/cases/bulk", headers={"Accept": "application/json"},
                         data={"csrf_token": user.csrf_token, "case_ids": str(2**63), "action": "approve"})
    assert answer.status_code == 422 and answer.json() == {"detail": f"'{2**63}' is not a case id"}


def test_the_openapi_document_describes_the_rules_and_analytics_api(client: TestClient, runtime: Runtime) -> None:
    # They were hidden: their routers were included into the pages' router, which is left out of the document.
    sign_in_as(client, runtime, "viewer")
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/v1/rules", "/api/v1/rules/{rule_id}", "/api/v1/rules/dry-run", "/api/v1/analytics",
            "/api/v1/analytics/{metric}"} <= set(paths)
    assert not {path for path in paths if not path.startswith(("/api/", "/healthz", "/connect", "/oauth"))}, paths


def test_the_openapi_document_lists_the_case_list_query_parameters(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, "viewer")
    listed = client.get("/api/openapi.json").json()["paths"]["/api/v1/cases"]["get"]["parameters"]
    assert {p["name"] for p in listed} >= {"tab", "status", "reason", "q", "sort", "dir", "cursor", "limit"}


def test_analytics_for_an_account_id_too_large_for_the_database_is_a_422(
    client: TestClient, runtime: Runtime
) -> None:
    answer = client.get("/api/v1/analytics", params={"account": str(10**30)}, headers=bearer(runtime, "viewer"))
    assert answer.status_code == 422 and answer.json()["detail"]


@pytest.mark.parametrize("store", ["²", str(10**30)])
def test_analytics_for_a_store_that_names_no_row_covers_every_store(
    client: TestClient, runtime: Runtime, store: str
) -> None:
    answer = client.get("/api/v1/analytics/reasons", params={"store": store}, headers=bearer(runtime, "viewer"))
    assert answer.status_code == 200 and answer.json()["scope"]["store"] is None


@pytest.mark.parametrize(("parameter", "value"), [("limit", "²"), ("account", "²"), ("account", str(10**30))])
def test_the_case_list_refuses_digit_lookalikes_and_ids_past_the_database_with_400(
    client: TestClient, runtime: Runtime, parameter: str, value: str
) -> None:
    answer = client.get("/api/v1/cases", params={parameter: value}, headers=bearer(runtime, "viewer"))
    assert answer.status_code == 400 and answer.json()["parameter"] == parameter


@pytest.mark.parametrize("parameter", ["q", "sku", "reason", "marketplace_status"])
def test_a_case_list_filter_with_a_nul_character_is_a_400_not_a_500(
    client: TestClient, runtime: Runtime, parameter: str
) -> None:
    # PostgreSQL refuses to compare text holding NUL: the grid's query failed with a 500 there.
    answer = client.get("/api/v1/cases", params={parameter: "a\x00b"}, headers=bearer(runtime, "viewer"))
    assert answer.status_code == 400
    assert answer.json() == {"detail": "contains a NUL character", "parameter": parameter}


def test_a_rule_with_a_nul_character_is_refused_with_400_naming_where(client: TestClient, runtime: Runtime) -> None:
    rule = {"name": "Small\x00 refunds", "enabled": False, "conditions": {}, "action": {"kind": "approve"}}
    answer = client.post("/api/v1/rules", json=rule, headers=bearer(runtime, "admin"))
    assert answer.status_code == 400 and answer.json()["errors"] == ["name: contains a NUL character"]
