"""Analytics, reconciliation and rules in a real browser (Chromium, SQLite): charts with their tables, the ledger's
filters, and writing, dry-running and switching on a rule."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from returnbridge.db.engine import transaction

from ..integration.case_grid_data import a_return, account, store
from ..web.ledger_data import seed_ledger
from .conftest import LiveServer, sign_in


@pytest.fixture(scope="module")
def seeded(server: LiveServer) -> LiveServer:
    seed_ledger(server.runtime)  # refunded cases with store effects, in 2027
    with transaction(server.runtime.sessions) as session:
        shop = account(session, "browser-insight", "Browser shop")
    recent = int(time.time()) - 2 * 86400
    store(server.runtime.sessions, shop, [
        a_return("b1", return_type="REFUND", reason="Damaged", amount="12.00", created=recent),
        a_return("b2", return_type="REFUND", reason="Damaged", amount="30.00", created=recent),
        a_return("b3", reason="Wrong size", amount="8.00", created=recent),
    ])
    return server


def test_the_analytics_page_renders_its_charts_and_tables(page: Page, seeded: LiveServer) -> None:
    today = datetime.now(UTC).date()
    period = f"since={today - timedelta(days=7)}&until={today}"  # the ledger's cases (2027) stay out
    sign_in(page, seeded.add_user("viewer-insight@example.com", "viewer"), path=f"/analytics?{period}")
    expect(page.get_by_role("heading", name="Analytics", exact=True)).to_be_visible()
    reasons = page.locator("#chart-reasons")
    expect(reasons.locator("svg[role=img]")).to_have_attribute("aria-label", "Top reasons")
    expect(reasons.locator("table tbody tr").first).to_contain_text("Damaged")
    expect(reasons.locator("table tbody tr").first).to_contain_text("2")
    expect(reasons.get_by_role("link", name="CSV")).to_have_attribute("href", re.compile(r"^/analytics/reasons\.csv"))
    expect(page.locator("#chart-requests svg rect.bar")).to_have_count(2)  # REFUND·Requested, RETURN_AND_REFUND·…
    expect(page.locator("section.chart-card")).to_have_count(8)
    page.get_by_role("link", name="Reconciliation").click()
    expect(page).to_have_url(re.compile(r"/reconciliation$"))


def test_the_reconciliation_filters(page: Page, seeded: LiveServer) -> None:
    sign_in(page, seeded.add_user("viewer-ledger@example.com", "viewer"), path="/reconciliation?since=2026-01-01")
    rows = page.locator("#ledger-rows tbody tr[data-status]")
    expect(rows).to_have_count(4)
    page.get_by_role("link", name="Amount differs (1)").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-status", "amount differs")
    page.get_by_role("link", name="Missing in store (2)").click()
    expect(rows).to_have_count(2)
    expect(page.locator("#ledger-totals")).to_contain_text("JPY")


def test_creating_dry_running_and_switching_on_a_rule(page: Page, seeded: LiveServer) -> None:
    sign_in(page, seeded.add_user("admin-rules@example.com", "admin"), path="/rules")
    page.get_by_label("Name", exact=True).fill("Approve damaged refunds")
    page.get_by_label("Request types").fill("REFUND")
    page.get_by_label("Reasons").fill("Damaged")
    page.get_by_label("Action").select_option("partial_refund")
    page.get_by_label("Partial refund %").fill("50")
    page.get_by_role("button", name="Dry run over past cases").click()
    expect(page.locator("#dry-matched")).to_have_text("2")
    expect(page.locator("#dry-totals")).to_contain_text("42.00 USD")
    expect(page.locator("#dry-totals")).to_contain_text("21.00 USD")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Approve damaged refunds")  # the form is kept
    page.get_by_role("button", name="Save (off)").click()
    row = page.locator("#rule-list tr", has_text="Approve damaged refunds")
    expect(row.locator(".badge")).to_have_text("Off")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Switch on").click()
    expect(page.locator(".flash")).to_contain_text("is on")
    expect(page.locator("#rule-list tr", has_text="Approve damaged refunds").locator(".badge")).to_have_text("On")
