"""The "Returns & refunds" grid in a real browser: account view, every tab with its count, filter, search, sort,
pages, a filtered CSV download, and the phone layout (no sideways scrolling). Screenshots go to artifacts/."""

from __future__ import annotations

import csv
import io
import re
from itertools import count
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from returnbridge.db.engine import transaction

from ..integration.case_grid_data import T0, a_cancellation, a_return, account, store
from .conftest import LiveServer, sign_in

ARTIFACTS = Path(__file__).parent / "artifacts"
DAY = 86_400
_numbers = count(1)


@pytest.fixture(scope="module")
def shops(server: LiveServer) -> dict[str, int]:
    sessions = server.runtime.sessions
    with transaction(sessions) as session:
        us = account(session, "us-shop", "Sunny Goods US")
        gb = account(session, "gb-shop", "Sunny Goods GB")
    store(sessions, us, [
        a_return("1001", amount="10.00", created=T0, deadline=T0 + 3 * DAY, product="Organic Cotton Tee"),
        a_return("1002", amount="25.50", return_type="REFUND", reason="Damaged", created=T0 + DAY,
                 deadline=T0 + 2 * DAY, skus=("SKU-MUG",), product="Stoneware Mug"),
        a_return("1003", status="AWAITING_BUYER_SHIP", reason="Damaged", amount="40.00", created=T0 + 2 * DAY,
                 skus=("SKU-CAP",), product="Canvas Cap"),
        a_return("1004", status="RETURN_OR_REFUND_REQUEST_COMPLETE", amount="5.00", created=T0 + 3 * DAY),
        a_return("1005", status="REFUND_OR_RETURN_REQUEST_REJECT", amount="12.00", created=T0 + 4 * DAY,
                 reason="<b>Not</b> as described 🙃 غير مطابق"),
    ], [a_cancellation("2001", created=T0 + 5 * DAY, deadline=T0 + DAY)])
    store(sessions, gb, [
        a_return("3001", amount="15.00", currency="GBP", created=T0 + 6 * DAY, deadline=T0 + 4 * DAY),
        a_return("3002", status="RETURN_OR_REFUND_REQUEST_CANCEL", amount="8.00", currency="GBP",
                 created=T0 + 7 * DAY),
    ])
    return {"us": us, "gb": gb}


def signed_in(page: Page, server: LiveServer, role: str = "agent", path: str = "/returns") -> None:
    email = server.add_user(f"grid-{role}{next(_numbers)}@example.com", role)
    sign_in(page, email, path=path)
    expect(page.get_by_role("heading", name="Returns & refunds")).to_be_visible()


def row_ids(page: Page) -> list[str]:
    return page.locator("table.grid td.col-return_id a").all_inner_texts()


def test_switching_the_account_view_shows_only_that_shop(page: Page, server: LiveServer,
                                                           shops: dict[str, int]) -> None:
    signed_in(page, server)
    expect(page.locator("table.grid tbody tr")).to_have_count(8)
    page.get_by_label("Account view").select_option(label="Sunny Goods GB (US)")
    expect(page).to_have_url(re.compile(rf"account={shops['gb']}"))
    assert sorted(row_ids(page)) == ["3001", "3002"]
    expect(page.locator('.tabs a[data-tab="all"] .count')).to_have_text("2")


def test_every_tab_lists_as_many_rows_as_its_count(page: Page, server: LiveServer, shops: dict[str, int]) -> None:
    signed_in(page, server, path="/returns?limit=200")
    keys = page.locator(".tabs a").evaluate_all("links => links.map(a => a.dataset.tab)")
    assert keys[:2] == ["all", "needs_action"] and len(keys) == 9  # All, Needs action, seven labels of today's set
    for key in keys:
        page.locator(f'.tabs a[data-tab="{key}"]').click()
        expect(page.locator(f'.tabs a[data-tab="{key}"]')).to_have_attribute("aria-current", "page")
        shown = int(page.locator(f'.tabs a[data-tab="{key}"] .count').inner_text())
        expect(page.locator("table.grid tbody tr:not(.empty)")).to_have_count(shown)
    page.locator('.tabs a[data-tab="needs_action"]').click()
    assert row_ids(page) == ["2001", "1002", "1001", "3001"]  # by deadline
    expect(page.locator(".countdown").first).to_have_text(re.compile(r"overdue$|^in "))


def test_filter_search_sort_and_page_through(page: Page, server: LiveServer, shops: dict[str, int]) -> None:
    signed_in(page, server)
    page.locator(".filter-panel > summary").click()
    page.locator("#grid-filters").get_by_label("Reason", exact=True).fill("Damaged")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"reason=Damaged"))
    assert sorted(row_ids(page)) == ["1002", "1003"]
    expect(page.locator('.tabs a[data-tab="all"] .count')).to_have_text("2")

    page.get_by_label("Search").fill("SKU-CAP")
    page.get_by_role("button", name="Search", exact=True).click()
    assert row_ids(page) == ["1003"]

    page.goto("/returns?sort=refund_amount&dir=desc")
    page.get_by_role("link", name=re.compile("^Refund amount")).click()  # toggles to ascending
    expect(page).to_have_url(re.compile(r"dir=asc"))
    assert row_ids(page)[0] == "1004"

    page.goto("/returns?limit=3")
    seen = row_ids(page)
    while page.get_by_role("link", name="Next →").count():
        page.get_by_role("link", name="Next →").click()
        seen += row_ids(page)
    assert len(seen) == 8 and len(set(seen)) == 8
    page.get_by_role("link", name="← Previous").click()
    assert row_ids(page) == seen[3:6]


def test_a_filtered_csv_downloads_with_exactly_the_filtered_rows(page: Page, server: LiveServer,
                                                                 shops: dict[str, int]) -> None:
    signed_in(page, server, path=f"/returns?account={shops['us']}&tab=request_pending")
    page.locator("#export-menu > summary").click()
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV (current filter)").click()
    download = info.value
    assert re.fullmatch(r"returns-\d{8}-\d{6}\.csv", download.suggested_filename)
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    ids = sorted(r[rows[0].index("TikTok return ID")] for r in rows[1:])
    assert ids == ["1001", "1002", "2001"]


def test_hostile_reason_shows_as_text(page: Page, server: LiveServer, shops: dict[str, int]) -> None:
    signed_in(page, server, path="/returns?q=1005")
    expect(page.locator("table.grid .reason")).to_have_text("<b>Not</b> as described 🙃 غير مطابق")
    expect(page.locator("table.grid .reason b")).to_have_count(0)


def test_a_viewer_has_no_row_checkboxes(page: Page, server: LiveServer, shops: dict[str, int]) -> None:
    signed_in(page, server, role="viewer")
    expect(page.locator('input[name="case_ids"]')).to_have_count(0)
    expect(page.locator("#bulk-form")).to_have_count(0)


def test_the_grid_fits_a_phone_and_a_desktop(page: Page, server: LiveServer, shops: dict[str, int]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    signed_in(page, server)
    page.screenshot(path=str(ARTIFACTS / "returns-grid-1280.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    expect(page.locator("table.grid tbody tr").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "returns-grid-375.png"), full_page=True)
