"""``/reconciliation`` over HTTP on SQLite and PostgreSQL: statuses, filters, totals per currency, CSV, retry."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import StoreEffect
from returnbridge.domain.roles import Role
from returnbridge.sync.runtime import Runtime

from .ledger_data import seed_ledger
from .signing_in import csrf_token_in, sign_in_as


def test_the_ledger_shows_each_status_and_totals_per_currency(client: TestClient, runtime: Runtime) -> None:
    seed_ledger(runtime)
    sign_in_as(client, runtime, Role.VIEWER, email="viewer@example.com")
    page = client.get("/reconciliation")
    assert page.status_code == 200
    assert page.text.count('<tr data-status="') == 4
    assert "Matched (1)" in page.text and "Missing in store (2)" in page.text and "Amount differs (1)" in page.text
    # USD: TikTok 35.00 (10 + 20 + 5), store 29.00; JPY apart: 1500 against nothing.
    assert "<td>USD</td><td class=\"num\">3</td><td class=\"num\">35.00</td><td class=\"num\">29.00</td>" in page.text
    assert "<td>JPY</td><td class=\"num\">1</td><td class=\"num\">1500</td><td class=\"num\">0</td>" in page.text
    assert "Retry" not in page.text  # viewers cannot retry


def test_filters_keep_only_that_status(client: TestClient, runtime: Runtime) -> None:
    seed_ledger(runtime)
    sign_in_as(client, runtime, Role.VIEWER, email="viewer@example.com")
    differs = client.get("/reconciliation?status=differs").text
    assert differs.count('<tr data-status="amount differs">') == 1 and differs.count('<tr data-status="') == 1
    missing = client.get("/reconciliation?status=missing").text
    assert missing.count('<tr data-status="missing in store">') == 2


def test_csv_export_of_the_filtered_ledger(client: TestClient, runtime: Runtime) -> None:
    seed_ledger(runtime)
    sign_in_as(client, runtime, Role.VIEWER, email="viewer@example.com")
    text = client.get("/reconciliation.csv?status=matched").content.decode("utf-8-sig")
    lines = text.strip().split("\r\n")
    assert lines[0].startswith("case id,TikTok id,")
    assert len(lines) == 2 and ",m," in lines[1] and ",matched," in lines[1]


def test_an_agent_retries_a_held_effect(client: TestClient, runtime: Runtime) -> None:
    effects = seed_ledger(runtime)
    sign_in_as(client, runtime, Role.AGENT, email="agent@example.com")
    page = client.get("/reconciliation")
    assert page.text.count(">Retry</button>") == 1
    token = csrf_token_in(page.text)
    assert client.post(f"/reconciliation/effects/{effects['h']}/retry").status_code == 403  # no CSRF token
    answer = client.post(f"/reconciliation/effects/{effects['h']}/retry", data={"csrf_token": token},
                         follow_redirects=True)
    assert answer.status_code == 200 and "is queued" in answer.text
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(StoreEffect.state).where(StoreEffect.id == effects["h"])).one() == "pending"
    again = client.post(f"/reconciliation/effects/{effects['m']}/retry", data={"csrf_token": token},
                        follow_redirects=True)
    assert "only held or failed effects are retried" in again.text
