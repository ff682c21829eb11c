"""The "Returns & refunds" page, its exports and GET /api/v1/cases over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from returnbridge.db.engine import transaction
from returnbridge.domain.roles import Role
from returnbridge.sync.runtime import Runtime

from ..integration.case_grid_data import T0, a_cancellation, a_return, account, store
from .signing_in import sign_in_as

DAY = 86_400
# Right-to-left, emoji, markup, and one unbroken 200-character word (the sync keeps reasons up to 255 characters).
HOSTILE_REASON = '<script>alert("x")</script> مرجوع 🙃 ' + "Unbreakable" * 18


@dataclass
class Shops:
    alpha: int
    beta: int


@pytest.fixture
def shops(runtime: Runtime) -> Shops:
    """Two shops: alpha with six returns and a cancellation in several states, beta with two returns (one in yen)."""
    with transaction(runtime.sessions) as session:
        alpha = account(session, "alpha", "Alpha Shop")
        beta = account(session, "beta", "Beta Shop")
    store(runtime.sessions, alpha, [
        a_return("1001", reason="Wrong size", amount="10.00", created=T0, deadline=T0 + 3 * DAY,
                 skus=("SKU-TEE-M",), product="Organic Cotton Tee"),
        a_return("1002", reason="Damaged", amount="25.50", created=T0 + DAY, deadline=T0 + 2 * DAY,
                 return_type="REFUND", skus=("SKU-MUG-1",), product="Stoneware Mug"),
        a_return("1003", status="AWAITING_BUYER_SHIP", reason="Damaged", amount="40.00", created=T0 + 2 * DAY,
                 updated=T0 + 5 * DAY, skus=("SKU-CAP",), product="Canvas Cap"),
        a_return("1004", status="RETURN_OR_REFUND_REQUEST_COMPLETE", reason="=HYPERLINK(\"http://evil\")",
                 amount="5.00", created=T0 + 3 * DAY, skus=("SKU-TEE-L",), product="Organic Cotton Tee"),
        a_return("1005", status="REFUND_OR_RETURN_REQUEST_REJECT", reason="Not as described", amount="12.00",
                 currency="GBP", created=T0 + 4 * DAY, skus=("SKU-SOCK",), product="Wool Socks"),
        a_return("1006", reason=HOSTILE_REASON, amount="7.00", created=T0 + 5 * DAY, deadline=T0 + 9 * DAY,
                 skus=("SKU-TEE-S",), product="Organic Cotton Tee"),
    ], [a_cancellation("2001", created=T0 + 6 * DAY, deadline=T0 + 1 * DAY)])
    store(runtime.sessions, beta, [
        a_return("3001", reason="Wrong size", amount="1500", currency="JPY", created=T0 + 7 * DAY,
                 skus=("SKU-TEE-M",), product="Organic Cotton Tee"),
        a_return("3002", status="RETURN_OR_REFUND_REQUEST_CANCEL", reason="Changed mind", amount="9.99",
                 created=T0 + 8 * DAY, skus=("SKU-BAG",), product="Tote Bag"),
    ])
    return Shops(alpha, beta)


@pytest.fixture
def admin(client: TestClient, runtime: Runtime) -> TestClient:
    sign_in_as(client, runtime, Role.ADMIN)
    return client


_ROW_ID = re.compile(r'class="col-return_id"><a href="/cases/\d+">([^<]+)</a>')


def page_ids(client: TestClient, query: str = "") -> list[str]:
    response = client.get(f"/returns{query}")
    assert response.status_code == 200, response.text
    return _ROW_ID.findall(response.text)


def api_ids(client: TestClient, query: str = "") -> list[str]:
    response = client.get(f"/api/v1/cases{query}")
    assert response.status_code == 200, response.text
    return [row["return_id"] for row in response.json()["rows"]]


def tab_count(page: str, key: str) -> int:
    match = re.search(rf'data-tab="{key}"[^>]*>[^<]*<span class="count">(\d+)</span>', page)
    assert match, f"no tab {key}"
    return int(match.group(1))


# --- the page -------------------------------------------------------------------------------------------------


def test_the_grid_lists_every_case_newest_first_with_its_tab_counts(admin: TestClient, shops: Shops) -> None:
    response = admin.get("/returns")
    assert response.status_code == 200
    assert _ROW_ID.findall(response.text) == ["3002", "3001", "2001", "1006", "1005", "1004", "1003", "1002", "1001"]
    counts = {key: tab_count(response.text, key) for key in
              ("all", "needs_action", "request_pending", "awaiting_buyer_ship", "request_rejected",
               "request_success", "request_cancelled")}
    assert counts == {"all": 9, "needs_action": 5, "request_pending": 5, "awaiting_buyer_ship": 1,
                      "request_rejected": 1, "request_success": 1, "request_cancelled": 1}
    assert '<a href="/returns" aria-current="page">Returns &amp; refunds</a>' in response.text


def test_the_counts_follow_the_account_view_and_the_filters(admin: TestClient, shops: Shops) -> None:
    only_beta = admin.get(f"/returns?account={shops.beta}").text
    assert tab_count(only_beta, "all") == 2 and tab_count(only_beta, "request_cancelled") == 1
    damaged = admin.get("/returns?reason=Damaged").text
    assert tab_count(damaged, "all") == 2 and tab_count(damaged, "awaiting_buyer_ship") == 1


def test_the_needs_action_tab_is_ordered_by_deadline_with_a_countdown(admin: TestClient, shops: Shops) -> None:
    response = admin.get("/returns?tab=needs_action")
    # 3001 waits for the merchant too but TikTok gave no deadline: it comes after every dated case.
    assert _ROW_ID.findall(response.text) == ["2001", "1002", "1001", "1006", "3001"]
    deadlines = re.findall(r'class="countdown[^"]*" data-deadline="([^"]+)">([^<]+)<', response.text)
    assert [d for d, _ in deadlines] == sorted(d for d, _ in deadlines)
    assert deadlines[0][0] == "2027-01-16T08:00:00Z"
    assert all(text.startswith("in ") or text.endswith(" overdue") for _, text in deadlines)


@pytest.mark.parametrize(("query", "expected"), [
    ("?type=refund", {"1002"}),
    ("?type=cancellation", {"2001"}),
    ("?status=Rejected", {"1005"}),
    ("?marketplace_status=AWAITING_BUYER_SHIP", {"1003"}),
    ("?reason=Damaged", {"1002", "1003"}),
    ("?created_from=2027-01-17&created_to=2027-01-18", {"1003", "1004"}),
    ("?updated_from=2027-01-20", {"1003", "1006", "2001", "3001", "3002"}),
    ("?amount_min=10&amount_max=30&currency=USD", {"1001", "1002", "3002"} - {"3002"}),
    ("?amount_min=1000&currency=JPY", {"3001"}),
    ("?sku=SKU-TEE-M", {"1001", "3001"}),
    ("?q=571003", {"1003"}),  # an order id
    ("?q=1005", {"1005"}),  # a return id
    ("?q=SKU-CAP", {"1003"}),  # a seller SKU
    ("?q=cotton%20tee", {"1001", "1004", "1006", "3001"}),  # part of a product name
    ("?tab=request_pending&reason=Wrong%20size", {"1001", "3001"}),
])
def test_each_filter_narrows_the_page_and_the_api_alike(admin: TestClient, shops: Shops, query: str,
                                                        expected: set[str]) -> None:
    assert set(page_ids(admin, query)) == expected
    assert set(api_ids(admin, query)) == expected


def test_the_account_filter_keeps_one_shop(admin: TestClient, shops: Shops) -> None:
    assert set(page_ids(admin, f"?account={shops.beta}")) == {"3001", "3002"}
    body = admin.get(f"/api/v1/cases?account={shops.beta}").json()
    assert [a["selected"] for a in body["accounts"]["items"]] == [False, True]


def test_sort_headers_toggle_the_direction(admin: TestClient, shops: Shops) -> None:
    page = admin.get("/returns").text
    link = html.unescape(re.search(r'<a href="([^"]*sort=refund_amount[^"]*)">Refund amount', page).group(1))
    assert "dir=asc" in link
    ascending = admin.get(link).text
    assert _ROW_ID.findall(ascending)[0] == "1004"  # 5.00 USD, the smallest amount... of the USD-ish rows
    back = html.unescape(re.search(r'<a href="([^"]*sort=refund_amount[^"]*)">Refund amount', ascending).group(1))
    assert "dir=desc" in back
    assert 'aria-sort="ascending"' in ascending


def test_next_and_previous_links_walk_every_row_once(admin: TestClient, shops: Shops) -> None:
    everything = page_ids(admin)
    url: str | None = "/returns?limit=2"
    seen: list[str] = []
    pages: list[str] = []
    while url:
        body = admin.get(url).text
        pages.append(url)
        seen += _ROW_ID.findall(body)
        found = re.search(r'<a href="([^"]+)" rel="next">', body)
        url = html.unescape(found.group(1)) if found else None
    assert seen == everything
    body = admin.get(pages[-1]).text
    backwards: list[str] = []
    while True:
        backwards = _ROW_ID.findall(body) + backwards
        found = re.search(r'<a href="([^"]+)" rel="prev">', body)
        if not found:
            break
        body = admin.get(html.unescape(found.group(1))).text
    assert backwards == everything


def test_the_column_chooser_works_without_javascript(admin: TestClient, shops: Shops) -> None:
    response = admin.get("/returns?tab=needs_action&col=return_id&col=deadline", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/returns?tab=needs_action&columns=return_id%2Cdeadline"
    page = admin.get(response.headers["location"]).text
    headers = re.findall(r'<th scope="col"[^>]*class="col-([a-z_]+)"', page)
    assert headers == ["return_id", "deadline"]


@pytest.mark.parametrize(("query", "parameter"), [
    ("tab=nope", "tab"), ("sort=raw", "sort"), ("dir=up", "dir"), ("created_from=yesterday", "created_from"),
    ("amount_min=ten&currency=USD", "amount_min"), ("amount_min=10", "currency"), ("cursor=garbage!", "cursor"),
    ("limit=5000", "limit"), ("account=abc", "account"), ("columns=secret", "columns"), ("status=Lost", "status"),
])
def test_a_bad_parameter_is_a_400_that_names_it(admin: TestClient, shops: Shops, query: str, parameter: str) -> None:
    page = admin.get(f"/returns?{query}")
    assert page.status_code == 400
    assert f"The &#34;{parameter}&#34; parameter" in page.text
    api = admin.get(f"/api/v1/cases?{query}")
    assert api.status_code == 400
    assert api.json()["parameter"] == parameter and api.json()["detail"]
    export = admin.get(f"/returns/export.csv?{query}")
    assert export.status_code == 400


def test_hostile_text_is_escaped_and_intact(admin: TestClient, shops: Shops) -> None:
    page = admin.get("/returns?q=SKU-TEE-S").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; مرجوع 🙃" in page
    assert html.unescape(re.search(r'<span class="reason">(.*?)</span>', page, re.S).group(1)) == HOSTILE_REASON
    api = admin.get("/api/v1/cases?q=SKU-TEE-S").json()
    assert api["rows"][0]["reason"] == HOSTILE_REASON


def test_amounts_show_in_their_currency_precision(admin: TestClient, shops: Shops) -> None:
    # The grid groups thousands like the case page (one money module for every page).
    page = admin.get(f"/returns?account={shops.beta}").text
    assert '<span class="amount">1,500 JPY</span>' in page
    assert '<span class="amount">9.99 USD</span>' in page
    body = admin.get(f"/api/v1/cases?account={shops.beta}").json()
    assert {r["refund_amount"]["amount"] for r in body["rows"]} == {"1500", "9.99"}


# --- roles, accounts, sync ------------------------------------------------------------------------------------


def test_an_agent_gets_row_checkboxes_and_the_bulk_form(client: TestClient, runtime: Runtime, shops: Shops) -> None:
    sign_in_as(client, runtime, Role.AGENT)
    page = client.get("/returns").text
    assert '<form method="post" action="/cases/bulk" id="bulk-form"' in page
    assert len(re.findall(r'form="bulk-form" name="case_ids" value="\d+"', page)) == 9
    assert 'name="action" value="approve"' in page and 'name="action" value="reject"' in page
    assert 'name="csrf_token"' in page


def test_a_viewer_sees_no_bulk_controls(client: TestClient, runtime: Runtime, shops: Shops) -> None:
    sign_in_as(client, runtime, Role.VIEWER)
    page = client.get("/returns").text
    assert len(_ROW_ID.findall(page)) == 9
    assert "bulk-form" not in page and 'name="case_ids"' not in page and "/cases/bulk" not in page


def test_signed_out_the_page_asks_to_sign_in_and_the_api_answers_401(client: TestClient, shops: Shops) -> None:
    assert client.get("/api/v1/cases").status_code == 401
    response = client.get("/returns?tab=needs_action", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_without_a_usable_shop_the_page_says_why_and_links_to_reconnect(admin: TestClient, runtime: Runtime) -> None:
    page = admin.get("/returns").text
    assert "No Active/Valid Accounts Found" in page and "No TikTok shop is connected yet." in page
    with transaction(runtime.sessions) as session:
        account(session, "gamma", "Gamma Shop", "expired", reason="seller revoked access")
    page = admin.get("/returns").text
    assert "Gamma Shop: authorization expired (seller revoked access)" in page
    assert '<a href="/connections">Reconnect a TikTok shop</a>' in page


def test_usable_shops_hide_the_no_accounts_message(admin: TestClient, shops: Shops) -> None:
    assert "No Active/Valid Accounts Found" not in admin.get("/returns").text


def test_the_sync_button_posts_to_the_sync_route_for_agents(admin: TestClient, shops: Shops) -> None:
    page = admin.get("/returns").text
    assert 'action="/sync"' in page and "data-sync-button" in page


def test_a_viewer_gets_no_sync_button(runtime: Runtime, app: FastAPI, shops: Shops) -> None:
    with TestClient(app) as client:
        sign_in_as(client, runtime, Role.VIEWER, email="viewer@example.com")
        assert "data-sync-button" not in client.get("/returns").text


# --- exports --------------------------------------------------------------------------------------------------


def test_the_csv_export_streams_the_filtered_rows_with_neutralised_cells(admin: TestClient, shops: Shops) -> None:
    with admin.stream("GET", "/returns/export.csv?account=" + str(shops.alpha) + "&tab=request_success") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert re.match(r'attachment; filename="returns-\d{8}-\d{6}\.csv"', response.headers["content-disposition"])
        assert "content-length" not in response.headers  # streamed, not built in memory first
        body = b"".join(response.iter_bytes()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    header, data = rows[0], rows[1:]
    assert [row[header.index("TikTok return ID")] for row in data] == ["1004"]
    assert data[0][header.index("Reason")] == "'=HYPERLINK(\"http://evil\")"
    filtered = list(csv.reader(io.StringIO(admin.get("/returns/export.csv?reason=Damaged").content.decode(
        "utf-8-sig"))))
    assert sorted(r[filtered[0].index("TikTok return ID")] for r in filtered[1:]) == ["1002", "1003"]


def test_the_xlsx_export_is_a_workbook(admin: TestClient, shops: Shops) -> None:
    response = admin.get("/returns/export.xlsx?type=refund")
    assert response.status_code == 200
    assert "attachment;" in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as book:
        assert "xl/workbook.xml" in book.namelist()
        sheet = next(name for name in book.namelist() if name.startswith("xl/worksheets/"))
        assert "1002" in book.read(sheet).decode()


def test_an_unknown_export_format_is_a_400(admin: TestClient, shops: Shops) -> None:
    assert admin.get("/returns/export.pdf").status_code == 400


def test_the_tabs_use_the_label_set_chosen_on_the_settings_page(
    admin: TestClient, runtime: Runtime, shops: Shops
) -> None:
    from returnbridge.db.repositories import app_settings as settings_repo
    from returnbridge.sync.app_settings import TAB_LABELS

    with transaction(runtime.sessions) as session:
        settings_repo.put(session, TAB_LABELS, "legacy", by="admin@example.com")
    page = admin.get("/returns").text
    assert "Aftersale Applying" in page and "Request Pending" not in page
