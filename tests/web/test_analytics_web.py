"""``/analytics``, its CSVs and ``/api/v1/analytics`` over HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

from returnbridge.db.engine import transaction
from returnbridge.domain.roles import Role
from returnbridge.sync.runtime import Runtime

from ..integration.case_grid_data import a_return, account, store
from .signing_in import sign_in_as

JANUARY = "since=2027-01-01&until=2027-01-31"


def _cases(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        shop = account(session, "web-analytics", "Web analytics")
    done = "RETURN_OR_REFUND_REQUEST_COMPLETE"
    store(runtime.sessions, shop, [
        a_return("1", status=done, amount="12.50", reason="=HYPERLINK(\"x\")"),
        a_return("2", status=done, amount="900", currency="JPY", reason="<script>alert(1)</script>"),
    ])


def test_the_page_shows_every_chart_with_its_table_and_csv_link(client: TestClient, runtime: Runtime) -> None:
    _cases(runtime)
    sign_in_as(client, runtime, Role.VIEWER, email="viewer@example.com")
    page = client.get(f"/analytics?{JANUARY}")
    assert page.status_code == 200
    for metric in ("requests", "reasons", "reason-trend", "return-rate-sku", "refunds", "decision-time",
                   "decided-by"):
        assert f'id="chart-{metric}"' in page.text
        assert f'href="/analytics/{metric}.csv?{JANUARY.replace("&", "&amp;")}"' in page.text
    assert page.text.count("<svg") >= 8
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    assert all(f"Refunded in {c}, by month of the refund" in page.text for c in ("JPY", "USD"))


def test_csv_is_formula_neutralised(client: TestClient, runtime: Runtime) -> None:
    _cases(runtime)
    sign_in_as(client, runtime, Role.VIEWER, email="viewer@example.com")
    answer = client.get(f"/analytics/reasons.csv?{JANUARY}")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    text = answer.content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "\r\n=HYPERLINK" not in text


def test_api_gives_exact_amounts_per_currency(client: TestClient, runtime: Runtime) -> None:
    _cases(runtime)
    sign_in_as(client, runtime, Role.VIEWER, email="viewer@example.com")
    answer = client.get(f"/api/v1/analytics/refunds?{JANUARY}")
    assert answer.status_code == 200
    rows = answer.json()["rows"]
    assert [row[:4] for row in rows] == [["JPY", "2027-01", 1, "900"], ["USD", "2027-01", 1, "12.5"]]
    assert client.get("/api/v1/analytics/nope").status_code == 404
    assert set(client.get(f"/api/v1/analytics?{JANUARY}").json()["metrics"]) >= {"requests", "refunds"}


def test_a_bad_period_is_explained(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, Role.VIEWER, email="viewer@example.com")
    page = client.get("/analytics?since=2027-02-01&until=2027-01-01")
    assert page.status_code == 200 and "before it starts" in page.text
    assert client.get("/api/v1/analytics/requests?since=yesterday").status_code == 400
