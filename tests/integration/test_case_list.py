"""The returns grid on real SQLite and PostgreSQL: filters, search, every sort both ways, keyset pages, tab counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case
from returnbridge.db.repositories.case_list import NO_ACCOUNTS_MESSAGE, SORT_COLUMNS, CaseList, Page
from returnbridge.domain.case_view import SORTABLE, CaseView, Cursor, ViewParameterError
from returnbridge.domain.statuses import LabelSet
from returnbridge.sync.case_views import list_cases

from .case_grid_data import T0, a_cancellation, a_return, account, store

STATUSES = [
    "RETURN_OR_REFUND_REQUEST_PENDING", "AWAITING_BUYER_SHIP", "BUYER_SHIPPED_ITEM",
    "RETURN_OR_REFUND_REQUEST_SUCCESS", "RETURN_OR_REFUND_REQUEST_COMPLETE", "RETURN_OR_REFUND_REQUEST_CANCEL",
    "REFUND_OR_RETURN_REQUEST_REJECT", "REJECT_RECEIVE_PACKAGE",
]
TYPES = ["RETURN_AND_REFUND", "REFUND", "REPLACEMENT"]
REASONS = ["Wrong size", "Damaged", "Not as described"]
AMOUNTS = ["10.00", "25.50", None, "10.00"]


@dataclass
class Grid:
    sessions: sessionmaker[Session]
    alpha: int
    beta: int

    def cases(self, label_set: LabelSet = LabelSet.CURRENT) -> Any:
        return _Reader(self.sessions, label_set)


class _Reader:
    def __init__(self, sessions: sessionmaker[Session], label_set: LabelSet) -> None:
        self.sessions, self.label_set = sessions, label_set

    def page(self, query: dict[str, Any] | CaseView, limit: int | None = None) -> Page:
        view = query if isinstance(query, CaseView) else CaseView.from_query(query)
        with transaction(self.sessions) as session:
            return CaseList(session, self.label_set).page(view, limit)

    def ids(self, query: dict[str, Any]) -> list[str]:
        """Return ids of every row of the view, all pages."""
        view = CaseView.from_query(query)
        with transaction(self.sessions) as session:
            return [row.return_id for row in CaseList(session, self.label_set).iter_rows(view, batch=7)]

    def counts(self, query: dict[str, Any]) -> dict[str, int]:
        with transaction(self.sessions) as session:
            return {c.label: c.count for c in CaseList(session, self.label_set).tab_counts(CaseView.from_query(query))}


@pytest.fixture
def grid(session_factory: sessionmaker[Session]) -> Grid:
    """26 cases over two shops: ties on every column, missing amounts, deadlines and a missing creation time."""
    with transaction(session_factory) as session:
        alpha = account(session, "7001", "Alpha Store")
        beta = account(session, "7002", "Beta Store")
    returns = [
        a_return(
            f"{100 + i}", status=STATUSES[i % 8], return_type=TYPES[i % 3], reason=REASONS[i % 3],
            amount=AMOUNTS[i % 4], created=T0 + (i // 3) * 3600,
            deadline=T0 + 86_400 - (i % 5) * 600 if STATUSES[i % 8] in (STATUSES[0], STATUSES[2]) else None,
            skus=("SKU-TEE-M",) if i % 2 else ("SKU-HOODIE-L", "SKU-TEE-M"),
            product="Organic Cotton Tee" if i % 2 else "Fleece Hoodie",
        )
        for i in range(16)
    ]
    no_created = a_return("199", created=T0)
    del no_created["create_time"], no_created["update_time"]
    returns.append(no_created)
    store(session_factory, alpha, returns, [
        a_cancellation("300", created=T0 + 60, deadline=T0 + 3600),
        a_cancellation("301", status="CANCELLATION_REQUEST_COMPLETE", created=T0 + 60),
        a_cancellation("302", status="CANCELLATION_REQUEST_SUCCESS", created=T0 + 120),
    ])
    store(session_factory, beta, [
        a_return(f"{200 + i}", currency="GBP", amount=["8.00", "40.00", "12.34"][i % 3], created=T0 + i * 60,
                 status=STATUSES[i % 2], reason="Damaged", skus=("SKU-SCARF",), product="Wool Scarf")
        for i in range(6)
    ])
    return Grid(session_factory, alpha, beta)


ALL_IDS = {*(str(100 + i) for i in range(16)), "199", "300", "301", "302", *(str(200 + i) for i in range(6))}


def expected_order(grid: Grid, sort: str, direction: str) -> list[str]:
    """The order the grid promises, computed in Python: values in the direction, ties by id, no value last."""
    column, _nullable = SORT_COLUMNS[sort]
    with transaction(grid.sessions) as session:
        rows = session.execute(select(column, Case.id, Case.tiktok_id)).all()
    desc = direction == "desc"
    valued = sorted((r for r in rows if r[0] is not None), key=lambda r: (r[0], r[1]), reverse=desc)
    empty = sorted((r for r in rows if r[0] is None), key=lambda r: r[1], reverse=desc)
    return [r[2] for r in valued + empty]


# --- paging and sorting --------------------------------------------------------------------------------------


def test_default_view_lists_newest_first(grid: Grid) -> None:
    assert grid.cases().ids({}) == expected_order(grid, "created_at", "desc")


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("sort", sorted(SORTABLE))
def test_every_sortable_column_sorts_both_ways_across_pages(grid: Grid, sort: str, direction: str) -> None:
    assert grid.cases().ids({"sort": sort, "dir": direction}) == expected_order(grid, sort, direction)


@pytest.mark.parametrize("sort", ["created_at", "refund_amount", "reason", "deadline"])
def test_keyset_pages_cover_every_row_exactly_once_despite_ties(grid: Grid, sort: str) -> None:
    seen: list[str] = []
    view = CaseView.from_query({"sort": sort, "limit": "4"})
    while True:
        page = grid.cases().page(view)
        seen += [r.return_id for r in page.rows]
        if page.next_cursor is None:
            break
        view = view.with_cursor(Cursor.decode(page.next_cursor))
    assert len(seen) == len(set(seen))
    assert set(seen) == ALL_IDS


def test_previous_cursor_goes_back_to_the_same_rows(grid: Grid) -> None:
    first = grid.cases().page({"sort": "refund_amount", "limit": "5"})
    second = grid.cases().page({"sort": "refund_amount", "limit": "5", "cursor": first.next_cursor})
    back = grid.cases().page({"sort": "refund_amount", "limit": "5", "cursor": second.prev_cursor})
    assert [r.id for r in back.rows] == [r.id for r in first.rows]
    assert back.prev_cursor is None
    assert back.next_cursor is not None


def test_previous_cursor_from_the_rows_without_value_crosses_back_into_valued_rows(grid: Grid) -> None:
    order = expected_order(grid, "deadline", "asc")
    view = CaseView.from_query({"sort": "deadline", "limit": "3"})
    pages = []
    while True:
        page = grid.cases().page(view)
        pages.append(page)
        if page.next_cursor is None:
            break
        view = view.with_cursor(Cursor.decode(page.next_cursor))
    backwards: list[str] = []
    page = pages[-1]
    while page.prev_cursor is not None:
        page = grid.cases().page({"sort": "deadline", "limit": "3", "cursor": page.prev_cursor})
        backwards = [r.return_id for r in page.rows] + backwards
    assert backwards == order[: len(backwards)]
    assert backwards[:3] == [r.return_id for r in pages[0].rows]


def test_first_page_has_no_previous_and_last_page_no_next(grid: Grid) -> None:
    page = grid.cases().page({"limit": "200"})
    assert (page.prev_cursor, page.next_cursor) == (None, None)
    assert len(page.rows) == len(ALL_IDS)


def test_cursor_of_another_sort_is_refused(grid: Grid) -> None:
    page = grid.cases().page({"sort": "order_id", "limit": "3"})
    with pytest.raises(ViewParameterError) as error:
        grid.cases().page({"sort": "reason", "limit": "3", "cursor": page.next_cursor})
    assert error.value.parameter == "cursor"


def test_rows_carry_money_as_decimal_with_currency_utc_times_and_string_ids(grid: Grid) -> None:
    row = next(r for r in grid.cases().page({"limit": "200"}).rows if r.return_id == "201")
    assert (row.refund_amount, row.currency) == (Decimal("40.00"), "GBP")
    assert row.created_at == datetime.fromtimestamp(T0 + 60, UTC)
    assert isinstance(row.id, str) and row.account_name == "Beta Store"
    assert (row.type, row.type_label, row.status) == ("return_and_refund", "Return & Refund", "Pending")


# --- needs action --------------------------------------------------------------------------------------------


def test_needs_action_tab_lists_only_cases_waiting_for_the_seller_by_deadline(grid: Grid) -> None:
    rows = grid.cases().page({"tab": "needs_action", "limit": "200"}).rows
    assert rows and all(r.needs_action for r in rows)
    deadlines = [r.deadline for r in rows if r.deadline is not None]
    assert deadlines == sorted(deadlines)
    assert rows[0].return_id == "300"  # the cancellation due in one hour
    assert all(r.deadline is None for r in rows[len(deadlines):])  # no deadline known: at the end


def test_needs_action_rows_carry_a_countdown(grid: Grid) -> None:
    now = datetime.fromtimestamp(T0, UTC)
    with grid.sessions() as session:
        data = list_cases(session, {"tab": "needs_action"}, now=now)
    first = data["rows"][0]
    assert (first["return_id"], first["seconds_left"]) == ("300", 3600)


# --- filters -------------------------------------------------------------------------------------------------


def test_type_filter_keeps_the_chosen_types(grid: Grid) -> None:
    ids = grid.cases().ids({"type": ["refund", "cancellation"]})
    assert set(ids) == {str(100 + i) for i in range(16) if i % 3 == 1} | {"300", "301", "302"}


def test_status_filter_keeps_the_store_side_status(grid: Grid) -> None:
    rows = grid.cases().page({"status": ["refunded", "Rejected"], "limit": "200"}).rows
    assert rows and {r.status for r in rows} == {"Refunded", "Rejected"}
    assert {r.return_id for r in rows} >= {"104", "106", "107", "301"}


def test_marketplace_status_filter_keeps_tiktoks_status(grid: Grid) -> None:
    ids = grid.cases().ids({"marketplace_status": "BUYER_SHIPPED_ITEM"})
    assert set(ids) == {"102", "110"}


def test_reason_filter_keeps_the_reason(grid: Grid) -> None:
    ids = grid.cases().ids({"reason": "Not as described"})
    assert set(ids) == {str(100 + i) for i in range(16) if i % 3 == 2}


def test_account_filter_shows_one_shop(grid: Grid) -> None:
    assert set(grid.cases().ids({"account": str(grid.beta)})) == {str(200 + i) for i in range(6)}


def test_created_date_range_includes_both_days(grid: Grid) -> None:
    day = datetime.fromtimestamp(T0, UTC).date()
    ids = grid.cases().ids({"created_from": day.isoformat(), "created_to": day.isoformat()})
    rows = grid.cases().page({"limit": "200"}).rows
    assert set(ids) == {r.return_id for r in rows if r.created_at is not None and r.created_at.date() == day}
    assert grid.cases().ids({"created_from": (day + timedelta(days=1)).isoformat()}) == []


def test_updated_date_range_filters_on_the_last_change(grid: Grid) -> None:
    day = datetime.fromtimestamp(T0, UTC).date()
    assert "199" not in grid.cases().ids({"updated_to": day.isoformat()})  # never updated: no time to compare
    assert len(grid.cases().ids({"updated_to": day.isoformat()})) == len(ALL_IDS) - 1


def test_amount_range_is_taken_in_one_currency_only(grid: Grid) -> None:
    usd = grid.cases().ids({"amount_min": "9", "amount_max": "12.34", "currency": "usd"})
    gbp = grid.cases().ids({"amount_min": "9", "amount_max": "12.34", "currency": "GBP"})
    assert set(gbp) == {"202", "205"}
    assert "202" not in usd and usd  # 12.34 GBP is not a USD amount
    assert all(r.currency == "USD" for r in grid.cases().page({"amount_min": "9", "currency": "USD",
                                                                "limit": "200"}).rows)


def test_amount_range_without_currency_is_refused() -> None:
    with pytest.raises(ViewParameterError) as error:
        CaseView.from_query({"amount_min": "5"})
    assert error.value.parameter == "currency"


def test_sku_filter_matches_any_returned_line(grid: Grid) -> None:
    assert set(grid.cases().ids({"sku": "SKU-HOODIE-L"})) == {str(100 + i) for i in range(16) if i % 2 == 0}


@pytest.mark.parametrize(("q", "expected"), [
    ("105", {"105"}),  # return id
    ("57110", {"110"}),  # order id
    ("sku-scarf", {str(200 + i) for i in range(6)}),  # SKU, any case
    ("FLEECE hoodie", {str(100 + i) for i in range(16) if i % 2 == 0}),  # product name, any case
    ("stoneware", {"300", "301", "302"}),  # a cancelled line's product
])
def test_search_finds_return_id_order_id_sku_and_product_name(grid: Grid, q: str, expected: set[str]) -> None:
    assert set(grid.cases().ids({"q": q})) == expected


SHARED_ORDER = "5799000000001"
# Every type of the grid fixture's cases: a filter that keeps them all, so the same search is read by statements.
EVERY_TYPE = ["return_and_refund", "refund", "replacement", "cancellation"]


@pytest.fixture
def shared_order(grid: Grid) -> Grid:
    """Seven more cases on one order over both shops: ties, no amount, no deadline, no creation time."""
    returns = [
        a_return(f"{500 + i}", order_id=SHARED_ORDER, status=STATUSES[i % 3], amount=AMOUNTS[i % 4],
                 created=T0 + (i // 2) * 60, deadline=T0 + 86_400 - (i % 2) * 600 if i % 3 != 1 else None,
                 return_type=TYPES[i % 3], reason=REASONS[i % 2])
        for i in range(5)
    ]
    returns[4].pop("create_time")
    store(grid.sessions, grid.alpha, returns)
    store(grid.sessions, grid.beta, [
        a_return(f"{600 + i}", order_id=SHARED_ORDER, status=STATUSES[4], created=T0 + i, currency="GBP")
        for i in range(2)
    ])
    return grid


def walk(grid: Grid, query: dict[str, Any]) -> list[tuple[list[str], bool, bool]]:
    """Every page of the view forward, then back from the last one: (ids, has next, has previous) of each."""
    pages: list[tuple[list[str], bool, bool]] = []
    page = grid.cases().page(query)
    while True:
        pages.append(([r.return_id for r in page.rows], page.next_cursor is not None, page.prev_cursor is not None))
        if page.next_cursor is None:
            break
        page = grid.cases().page({**query, "cursor": page.next_cursor})
    while page.prev_cursor is not None:
        page = grid.cases().page({**query, "cursor": page.prev_cursor})
        pages.append(([r.return_id for r in page.rows], page.next_cursor is not None, page.prev_cursor is not None))
    return pages


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("sort", sorted(SORTABLE))
def test_order_id_search_pages_every_sort_like_the_statements_do(
    shared_order: Grid, sort: str, direction: str,
) -> None:
    query = {"q": SHARED_ORDER, "sort": sort, "dir": direction, "limit": "2"}
    pages = walk(shared_order, query)
    assert pages == walk(shared_order, {**query, "type": EVERY_TYPE})
    last = next(i for i, (_ids, has_next, _has_prev) in enumerate(pages) if not has_next)
    forward = [i for ids, _next, _prev in pages[: last + 1] for i in ids]
    assert sorted(forward) == [*(str(500 + i) for i in range(5)), "600", "601"]


@pytest.mark.parametrize("tab", ["needs_action", "request_pending", "request_completed", "awaiting_buyer_ship"])
@pytest.mark.parametrize("one_shop", [False, True])
def test_order_id_search_in_a_tab_and_a_shop_pages_and_counts_like_the_statements_do(
    shared_order: Grid, tab: str, one_shop: bool,
) -> None:
    query: dict[str, Any] = {"q": SHARED_ORDER, "tab": tab, "limit": "2"}
    if one_shop:
        query["account"] = str(shared_order.alpha)
    assert walk(shared_order, query) == walk(shared_order, {**query, "type": EVERY_TYPE})
    counts = shared_order.cases().counts(query)
    assert counts == shared_order.cases().counts({**query, "type": EVERY_TYPE})
    assert counts["All"] == (5 if one_shop else 7)


def test_order_id_search_reads_its_page_and_counts_in_one_statement(shared_order: Grid) -> None:
    view = CaseView.from_query({"q": SHARED_ORDER, "sort": "deadline", "limit": "2"})
    statements: list[str] = []
    with transaction(shared_order.sessions) as session:
        engine = session.get_bind()

        def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", seen)
        try:
            cases = CaseList(session)
            page = cases.page(view)
            counts = cases.tab_counts(view)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    assert [s for s in statements if s.lstrip().upper().startswith("SELECT")] == statements[-1:]
    assert len(page.rows) == 2 and page.next_cursor is not None
    assert next(c.count for c in counts if c.key == "all") == 7


def test_order_id_search_cursor_of_a_row_that_changed_is_read_by_the_statements(shared_order: Grid) -> None:
    query = {"q": SHARED_ORDER, "sort": "created_at", "dir": "asc", "limit": "3"}
    first = shared_order.cases().page(query)
    with transaction(shared_order.sessions) as session:
        moved = session.get(Case, int(first.rows[-1].id))
        assert moved is not None
        moved.tiktok_create_time = datetime.fromtimestamp(T0 + 86_400, UTC)  # now the newest of the order
    rest = shared_order.cases().page({**query, "cursor": first.next_cursor})
    same = shared_order.cases().page({**query, "type": EVERY_TYPE, "cursor": first.next_cursor})
    assert [r.id for r in rest.rows] == [r.id for r in same.rows]
    assert first.rows[-1].id not in {r.id for r in rest.rows}


def test_search_takes_wildcards_literally(grid: Grid) -> None:
    assert grid.cases().ids({"q": "%"}) == []
    assert grid.cases().ids({"q": "SKU_TEE"}) == []


def test_filters_combine(grid: Grid) -> None:
    ids = grid.cases().ids({"account": str(grid.alpha), "type": "refund", "reason": "Damaged", "sku": "SKU-TEE-M"})
    assert set(ids) == {str(100 + i) for i in range(16) if i % 3 == 1}


# --- tab counts ----------------------------------------------------------------------------------------------


def test_tab_counts_in_the_current_label_set(grid: Grid) -> None:
    counts = grid.cases(LabelSet.CURRENT).counts({})
    assert counts["All"] == len(ALL_IDS)
    assert counts["Request Pending"] == 2 + 1 + 1 + 3  # alpha returns, the one without times, a cancellation, beta
    assert counts["Request Completed"] == 2 + 2 + 2  # success + complete returns, success + complete cancellations
    assert counts["Needs action"] == sum(1 for _ in grid.cases().ids({"tab": "needs_action"}))
    assert "Aftersale Applying" not in counts


def test_tab_counts_in_the_legacy_label_set(grid: Grid) -> None:
    counts = grid.cases(LabelSet.LEGACY).counts({})
    assert counts["Aftersale Success"] == 2 + 1
    assert counts["Complete"] == 2 + 1
    assert counts["Aftersale Applying"] == grid.cases(LabelSet.CURRENT).counts({})["Request Pending"]


def test_tab_counts_follow_the_other_filters_but_not_the_tab(grid: Grid) -> None:
    counts = grid.cases().counts({"account": str(grid.beta), "tab": "request_cancelled"})
    assert counts["All"] == 6
    assert counts["Awaiting Buyer Ship"] == 3


def test_shared_label_tab_lists_both_statuses_in_the_current_set(grid: Grid) -> None:
    current = set(grid.cases(LabelSet.CURRENT).ids({"tab": "request_completed"}))
    legacy = set(grid.cases(LabelSet.LEGACY).ids({"tab": "request_completed"}))
    assert current == {"103", "111", "104", "112", "301", "302"}
    assert legacy == {"104", "112", "301"}


# --- the account view selector -------------------------------------------------------------------------------


def test_no_account_at_all_says_not_connected(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        overview = CaseList(session).accounts_overview()
    assert (overview.any_usable, overview.message) == (False, NO_ACCOUNTS_MESSAGE)
    assert "connected" in overview.reasons[0]


def test_unusable_accounts_give_each_reason(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        account(session, "1", "Expired shop", "expired", reason="refresh token refused")
        account(session, "2", "Gone shop", "disabled", reason="seller revoked access")
        account(session, "3", "Lapsed shop", refresh_expires=datetime.now(UTC) - timedelta(minutes=1))
    with transaction(session_factory) as session:
        overview = CaseList(session).accounts_overview()
    assert overview.message == NO_ACCOUNTS_MESSAGE
    assert overview.reasons == [
        "Expired shop: authorization expired (refresh token refused)",
        "Gone shop: disabled (seller revoked access)",
        "Lapsed shop: authorization expired",
    ]


def test_one_active_account_is_enough(grid: Grid) -> None:
    with transaction(grid.sessions) as session:
        overview = CaseList(session).accounts_overview()
    assert (overview.any_usable, overview.message) == (True, None)
    assert [a.name for a in overview.accounts] == ["Alpha Store", "Beta Store"]


# --- the JSON of /api/v1/cases -------------------------------------------------------------------------------


def test_list_cases_json_has_rows_counts_cursors_and_the_view(grid: Grid) -> None:
    with grid.sessions() as session:
        data = list_cases(session, {"account": str(grid.beta), "sort": "refund_amount", "dir": "desc", "limit": "2",
                                    "columns": "return_id,refund_amount"})
    assert [r["return_id"] for r in data["rows"]] == ["204", "201"]
    assert data["rows"][0]["refund_amount"] == {"amount": "40", "currency": "GBP"}
    assert data["rows"][0]["created_at"].endswith("Z")
    assert data["tabs"][0] == {"key": "all", "label": "All", "count": 6, "active": True}
    assert data["cursors"]["next"] and data["cursors"]["prev"] is None
    assert data["filters"] == {"account": [str(grid.beta)]}
    assert data["sort"] == {"column": "refund_amount", "dir": "desc"}
    assert [c["key"] for c in data["columns"] if c["visible"]] == ["return_id", "refund_amount"]
    assert [a["selected"] for a in data["accounts"]["items"]] == [False, True]


def test_bad_query_parameter_names_the_parameter(grid: Grid) -> None:
    with pytest.raises(ViewParameterError) as error, grid.sessions() as session:
        list_cases(session, {"sort": "raw"})
    assert error.value.parameter == "sort"
