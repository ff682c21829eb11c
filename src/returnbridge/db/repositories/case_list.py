"""The "Returns & refunds" grid read from the database: one query per page, one for the tab counts.

Pages are read by keyset on (sort column, id), never by OFFSET, so page 500 costs what page 1 costs and a case
arriving while the merchant pages never shifts rows between pages. Rows without a value in the sort column (no
deadline, no amount yet) come after all the others in both directions; they are read as a second segment, by a
second statement run only when the first did not fill the page, because "NULLS LAST" in an ORDER BY keeps both
SQLite and PostgreSQL from walking the (column, id) index and makes them sort the whole table instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    exists,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from returnbridge.db.models import AccountStatus, Case, CaseLine, CaseTabCount, TikTokAccount
from returnbridge.db.money import MicroAmount
from returnbridge.db.types import UTCDateTime
from returnbridge.domain.case_view import (
    ALL_TAB,
    NEEDS_ACTION_LABEL,
    NEEDS_ACTION_TAB,
    CaseView,
    Cursor,
    ViewParameterError,
    case_type,
    case_type_label,
    day_after,
    day_start,
    search_needle,
    tabs_sharing_label,
)
from returnbridge.domain.statuses import ALL_TAB_LABEL, TAB_LABELS, LabelSet, Tab

NO_ACCOUNTS_MESSAGE = "No Active/Valid Accounts Found"


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One line of the grid. Money is Decimal with its currency; times are UTC; ids are strings."""

    id: str
    kind: str
    return_id: str
    order_id: str
    account_id: str
    account_name: str
    type: str
    type_label: str
    status: str
    marketplace_status: str
    tab: str | None
    reason: str
    created_at: datetime | None
    updated_at: datetime | None
    refund_amount: Decimal | None
    currency: str
    deadline: datetime | None
    needs_action: bool
    decided_by_tiktok: bool
    arbitration_status: str
    store_return_id: str | None = None  # filled once store mirroring records the store's return


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[CaseRow]
    next_cursor: str | None
    prev_cursor: str | None


@dataclass(frozen=True, slots=True)
class TabCount:
    key: str
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class AccountChoice:
    id: str
    name: str
    shop_id: str
    region: str
    status: str
    usable: bool
    reason: str  # why it cannot be used ("" when usable)


@dataclass(frozen=True, slots=True)
class AccountsOverview:
    accounts: list[AccountChoice]
    any_usable: bool
    message: str | None  # "No Active/Valid Accounts Found" when no account can be used
    reasons: list[str] = field(default_factory=list)


# Grid column key → (cases column, may be NULL).
SORT_COLUMNS: dict[str, tuple[Any, bool]] = {
    "return_id": (Case.tiktok_id, False),
    "order_id": (Case.order_id, False),
    "account": (Case.account_id, False),
    "type": (Case.type, False),
    "status": (Case.store_status, False),
    "marketplace_status": (Case.tiktok_status, False),
    "reason": (Case.reason_name, False),
    "created_at": (Case.tiktok_create_time, True),
    "updated_at": (Case.tiktok_update_time, True),
    "refund_amount": (Case.refund_total, True),
    "deadline": (Case.seller_deadline, True),
}

# Only what a row shows: never ``raw`` (the whole TikTok payload) on a list.
_ROW_COLUMNS = (
    Case.id, Case.kind, Case.tiktok_id, Case.order_id, Case.account_id, Case.type, Case.store_status,
    Case.tiktok_status, Case.tab, Case.reason_name, Case.tiktok_create_time, Case.tiktok_update_time,
    Case.refund_total, Case.currency, Case.seller_deadline, Case.needs_action, Case.decided_by_tiktok,
    Case.arbitration_status,
)


# A search that is one word of digits may be a return or order id; one word may be a seller SKU.
_ID_LIKE = re.compile(r"^[0-9]{6,64}$")
_ONE_WORD = re.compile(r"^\S{1,255}$")
# Exact matches up to this many are handed to the page query as a list of ids (a primary-key lookup every planner
# takes); more than that stay a sub-select.
_EXACT_IDS = 1000
# What the page and the tab counts of an id search may filter by besides the search: what a matched row tells.
_FEW_MATCH_FILTERS = frozenset({"q", "tab", "account"})


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _cursor_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _cursor_value(sort: str, text: str) -> Any:
    column, _nullable = SORT_COLUMNS[sort]
    try:
        if isinstance(column.type, UTCDateTime):
            return datetime.fromisoformat(text)
        if isinstance(column.type, MicroAmount):
            return Decimal(text)
        if isinstance(column.type, Integer):
            return int(text)
    except (ValueError, ArithmeticError):
        raise ViewParameterError("cursor", "not a cursor of this grid") from None
    return text


class CaseList:
    def __init__(self, session: Session, label_set: LabelSet = LabelSet.CURRENT) -> None:
        self.session = session
        self.label_set = label_set
        self._searches: dict[str, ColumnElement[bool]] = {}
        self._matched: dict[tuple[str, str, str], list[Any] | None] = {}

    # -- filters --

    def filters(self, view: CaseView) -> list[ColumnElement[bool]]:
        """Every filter of the view except the tab (tab counts are taken under these)."""
        where: list[ColumnElement[bool]] = []
        if view.account:
            where.append(Case.account_id.in_([int(a) for a in view.account]))
        if view.type:
            kinds: list[ColumnElement[bool]] = []
            raw_types = [t.upper() for t in view.type if t != "cancellation"]
            if raw_types:
                kinds.append(and_(Case.kind == "return", Case.type.in_(raw_types)))
            if "cancellation" in view.type:
                kinds.append(Case.kind == "cancellation")
            where.append(or_(*kinds))
        if view.status:
            where.append(Case.store_status.in_(view.status))
        if view.marketplace_status:
            where.append(Case.tiktok_status.in_(view.marketplace_status))
        if view.reason:
            where.append(Case.reason_name.in_(view.reason))
        for column, start, end in (
            (Case.tiktok_create_time, view.created_from, view.created_to),
            (Case.tiktok_update_time, view.updated_from, view.updated_to),
        ):
            if start is not None:
                where.append(column >= day_start(start))
            if end is not None:
                where.append(column < day_after(end))
        if view.currency is not None:
            where.append(Case.currency == view.currency)
        if view.amount_min is not None:
            where.append(Case.refund_total >= view.amount_min)
        if view.amount_max is not None:
            where.append(Case.refund_total <= view.amount_max)
        if view.sku is not None:
            where.append(exists().where(CaseLine.case_id == Case.id, CaseLine.seller_sku == view.sku))
        if view.q is not None:
            search = self.search(view.q)
            if search is not None:
                where.append(search)
        return where

    def search(self, q: str) -> ColumnElement[bool] | None:
        """What the search box matches: an exact return id, order id or seller SKU when the text is one (an index
        lookup, a few milliseconds over a million cases); otherwise any case whose ids, SKUs or product names
        contain the text (a scan of the search text, whose cost grows with the table).

        Decided once per text and kept, so the page and its tab counts filter the same way.
        """
        text = q.strip()
        if text in self._searches:
            return self._searches[text]
        found: ColumnElement[bool] | None = None
        if _ID_LIKE.match(text):
            found = self._exact(select(Case.id).where(or_(Case.order_id == text, Case.tiktok_id == text)))
        if found is None and _ONE_WORD.match(text):
            found = self._exact(select(CaseLine.case_id).where(CaseLine.seller_sku == text))
        if found is None:
            needle = search_needle(text)
            if needle:
                found = Case.search_text.like(f"%{_escape_like(needle)}%", escape="\\")
        self._searches[text] = found  # type: ignore[assignment]
        return found

    def _exact(self, ids: Select[Any]) -> ColumnElement[bool] | None:
        matched = list(self.session.scalars(ids.limit(_EXACT_IDS + 1)))
        if not matched:
            return None
        if len(matched) <= _EXACT_IDS:
            return Case.id.in_(sorted(set(matched)))
        return Case.id.in_(ids)

    def _few_matches(self, view: CaseView) -> list[Any] | None:
        """Every case a search by order or return id finds, as grid rows in the view's reading order, when the view
        filters by nothing a row cannot tell (its tab, its account) and the id is on at most ``_EXACT_IDS`` cases;
        otherwise None. One statement then answers both the page and the tab counts: a search by id was five
        statements (the id lookup, two page segments, the counts, the accounts), each a round trip.

        Read once per text and order, like ``search``, which it also answers (with the ids found)."""
        if view.q is None or not set(view.applied_filters()) <= _FEW_MATCH_FILTERS:
            return None
        text = view.q.strip()
        if not _ID_LIKE.match(text):
            return None
        key = (text, view.sort_column, view.sort_dir)
        if key in self._matched:
            return self._matched[key]
        sort_column, nullable = SORT_COLUMNS[view.sort_column]
        ascending = view.sort_dir == "asc"
        # The reading order of ``_segments`` in one ORDER BY: rows with a sort value, then those without, by id. A
        # few rows are sorted, so the "NULLS LAST" that defeats the index on a whole tab costs nothing here.
        order = [sort_column.is_(None)] if nullable else []
        order.append(sort_column.asc() if ascending else sort_column.desc())
        order.append(Case.id.asc() if ascending else Case.id.desc())
        statement = (
            select(*_ROW_COLUMNS, TikTokAccount.shop_name, TikTokAccount.shop_id)
            .outerjoin(TikTokAccount, TikTokAccount.id == Case.account_id)
            .where(or_(Case.order_id == text, Case.tiktok_id == text))
            .order_by(*order)
            .limit(_EXACT_IDS + 1)
        )
        rows = list(self.session.execute(statement))
        matched = rows if 0 < len(rows) <= _EXACT_IDS else None
        if matched is not None and text not in self._searches:
            self._searches[text] = Case.id.in_(sorted({row.id for row in rows}))
        self._matched[key] = matched
        return matched

    def _keeps(self, view: CaseView, row: Any, *, with_tab: bool) -> bool:
        """``filters`` and ``tab_filter`` on one of ``_few_matches``' rows (which the search already matched)."""
        if view.account and row.account_id not in {int(a) for a in view.account}:
            return False
        if not with_tab or view.tab == ALL_TAB:
            return True
        if view.tab == NEEDS_ACTION_TAB:
            return bool(row.needs_action)
        return row.tab in {t.value for t in tabs_sharing_label(self.label_set, Tab(view.tab))}

    def _few_keys(self, view: CaseView, cursor: Cursor | None, wanted: int) -> list[tuple[bool, Any]] | None:
        """Up to ``wanted`` rows past the cursor, in reading order, from ``_few_matches``; None when the statements
        must read them (not such a search, or the cursor's row is no longer among the matches)."""
        rows = self._few_matches(view)
        if rows is None:
            return None
        listed = [row for row in rows if self._keeps(view, row, with_tab=True)]
        if cursor is not None:
            name = SORT_COLUMNS[cursor.sort][0].key
            at = next((
                i for i, row in enumerate(listed)
                if row.id == cursor.id and _cursor_text(getattr(row, name)) == cursor.value
                and (getattr(row, name) is None) == cursor.nulls
            ), None)
            if at is None:
                return None
            listed = listed[at + 1:] if cursor.forward else listed[:at][::-1]
        column_name = SORT_COLUMNS[view.sort_column][0].key
        return [(getattr(row, column_name) is None, row) for row in listed[:wanted]]

    def tab_filter(self, tab: str) -> list[ColumnElement[bool]]:
        if tab == ALL_TAB:
            return []
        if tab == NEEDS_ACTION_TAB:
            return [Case.needs_action == true()]
        tabs = [t.value for t in tabs_sharing_label(self.label_set, Tab(tab))]
        # One tab as an equality, which both planners match to the (tab, created, id) index for an ordered scan.
        if len(tabs) == 1:
            return [Case.tab == tabs[0]]
        if self.session.get_bind().dialect.name == "sqlite":
            # Tabs shown as one ("Request Completed": success and completed) cannot be read in order from that
            # index; SQLite, which has no per-value statistics, read both from it and sorted half a million rows
            # (seconds). ``tab || ''`` keeps it off the index: it walks the sort column's index instead, and these
            # tabs are the large ones. PostgreSQL chooses by its statistics and keeps the plain IN.
            return [(Case.tab + "").in_(tabs)]
        return [Case.tab.in_(tabs)]

    # -- a page --

    def page(self, view: CaseView, limit: int | None = None) -> Page:
        """One page of the view after (or before) its cursor; ``limit`` defaults to the view's own."""
        limit = limit or view.limit
        cursor = view.position
        forward = cursor is None or cursor.forward
        # (row is in the segment without a sort value, row), in reading order
        keys = self._few_keys(view, cursor, limit + 1)
        if keys is None:
            keys = []
            for segment, statement in self._segments(view, cursor):
                wanted = limit + 1 - len(keys)
                if wanted <= 0:
                    break
                keys += [(segment == 1, row) for row in self.session.execute(statement.limit(wanted))]
        more = len(keys) > limit
        keys = keys[:limit]
        if not forward:
            keys.reverse()
        cases = [self._row(row) for _nulls, row in keys]
        sort, direction = view.sort_column, view.sort_dir
        column_name = SORT_COLUMNS[sort][0].key

        def at(index: int, ahead: bool) -> str:
            nulls, row = keys[index]
            return Cursor(sort, direction, ahead, _cursor_text(getattr(row, column_name)), nulls, row.id).encode()

        if not cases:
            return Page([], None, None)
        # Read forward: more rows after when the page overflowed; rows before whenever we came from a cursor.
        has_next = more if forward else True
        has_prev = (cursor is not None) if forward else more
        return Page(cases, at(-1, True) if has_next else None, at(0, False) if has_prev else None)

    def _segments(self, view: CaseView, cursor: Cursor | None) -> Iterator[tuple[int, Select[Any]]]:
        """The statements of a page in reading order, built only when read: rows with a value in the sort column
        (segment 0), then those without (segment 1). The second is run only when the first did not fill the page,
        so the first page of a large view is one statement (building a UNION of both was most of a page's time)."""
        sort_column, nullable = SORT_COLUMNS[view.sort_column]
        ascending = (view.sort_dir == "asc") == (cursor is None or cursor.forward)
        segments = [0, 1] if nullable else [0]
        if cursor is not None and not cursor.forward:
            segments.reverse()
        if cursor is not None and nullable:
            segments = segments[segments.index(1 if cursor.nulls else 0):]
        base = [*self.filters(view), *self.tab_filter(view.tab)]
        for segment in segments:
            where = list(base)
            if nullable:
                where.append(sort_column.is_(None) if segment else sort_column.is_not(None))
            if cursor is not None and segment == (1 if cursor.nulls else 0):
                where.append(self._after(sort_column, segment == 1, cursor, ascending))
            # Segment 1 is all NULLs, so its sort column orders nothing; it is named anyway, because the planners
            # then read it from the (column, id) index in order: with ORDER BY id alone PostgreSQL walked the
            # primary key over a million cases looking for needs-action cases without a deadline (2.4 s).
            order = [sort_column.asc() if ascending else sort_column.desc()]
            order.append(Case.id.asc() if ascending else Case.id.desc())
            yield segment, (
                select(*_ROW_COLUMNS, TikTokAccount.shop_name, TikTokAccount.shop_id)
                .outerjoin(TikTokAccount, TikTokAccount.id == Case.account_id)
                .where(*where).order_by(*order)
            )

    @staticmethod
    def _after(column: Any, in_nulls: bool, cursor: Cursor, ascending: bool) -> ColumnElement[bool]:
        """Strictly past the cursor's row in the reading order."""
        id_past = Case.id > cursor.id if ascending else Case.id < cursor.id
        if in_nulls:
            return id_past
        if cursor.value is None:  # a cursor claiming a value segment without a value: nothing is past it
            return false()
        value = _cursor_value(cursor.sort, cursor.value)
        past = column > value if ascending else column < value
        # The leading bound (>= / <=) is redundant logically but lets both databases start an index range scan
        # at the cursor; with the OR alone SQLite walked the index from its start (700 ms on page 50 of 100k).
        bound = column >= value if ascending else column <= value
        return and_(bound, or_(past, and_(column == value, id_past)))

    def _row(self, r: Any) -> CaseRow:
        tab = TAB_LABELS[self.label_set][Tab(r.tab)] if r.tab else None
        return CaseRow(
            id=str(r.id), kind=r.kind, return_id=r.tiktok_id, order_id=r.order_id, account_id=str(r.account_id),
            account_name=r.shop_name or r.shop_id or "", type=case_type(r.kind, r.type),
            type_label=case_type_label(r.kind, r.type), status=r.store_status, marketplace_status=r.tiktok_status,
            tab=tab, reason=r.reason_name, created_at=r.tiktok_create_time, updated_at=r.tiktok_update_time,
            refund_amount=r.refund_total, currency=r.currency, deadline=r.seller_deadline,
            needs_action=bool(r.needs_action), decided_by_tiktok=bool(r.decided_by_tiktok),
            arbitration_status=r.arbitration_status,
        )

    def iter_rows(self, view: CaseView, batch: int = 1000) -> Iterator[CaseRow]:
        """Every row of the view in its order, read in keyset batches (for exports: memory stays one batch)."""
        current = view.first_page()
        while True:
            page = self.page(current, batch)
            yield from page.rows
            if page.next_cursor is None:
                return
            current = current.with_cursor(Cursor.decode(page.next_cursor))

    # -- tab counts --

    def tab_counts(self, view: CaseView) -> list[TabCount]:
        """The tab strip with counts under the view's other filters: All, Needs action, then the label set's tabs.

        Without filters (or with only the account view), the counters the database keeps per account, tab and
        needs-action flag are summed (``case_tab_counts``, a few dozen rows whatever the number of cases); any
        other filter counts the matching cases (those of an id search from the rows its page was read from).
        """
        grouped: Any
        matched = self._few_matches(view)
        if matched is not None:
            grouped = [(row.tab, row.needs_action, 1) for row in matched if self._keeps(view, row, with_tab=False)]
        elif set(view.applied_filters()) <= {"tab", "account"}:
            stmt = select(CaseTabCount.tab, CaseTabCount.needs_action, func.sum(CaseTabCount.case_count))
            if view.account:
                stmt = stmt.where(CaseTabCount.account_id.in_([int(a) for a in view.account]))
            grouped = self.session.execute(stmt.group_by(CaseTabCount.tab, CaseTabCount.needs_action))
        else:
            grouped = self.session.execute(
                select(Case.tab, Case.needs_action, func.count())
                .where(*self.filters(view))
                .group_by(Case.tab, Case.needs_action)
            )
        total = acting = 0
        by_tab: dict[str, int] = {}
        for tab, needs_action, summed in grouped:
            count = int(summed or 0)  # PostgreSQL sums a bigint as numeric
            total += count
            if needs_action:
                acting += count
            if tab:
                by_tab[tab] = by_tab.get(tab, 0) + count
        counts = [TabCount(ALL_TAB, ALL_TAB_LABEL, total), TabCount(NEEDS_ACTION_TAB, NEEDS_ACTION_LABEL, acting)]
        shown: set[str] = set()
        for tab in Tab:
            label = TAB_LABELS[self.label_set][tab]
            if label in shown:
                continue
            shown.add(label)
            sharing = tabs_sharing_label(self.label_set, tab)
            counts.append(TabCount(tab.value, label, sum(by_tab.get(t.value, 0) for t in sharing)))
        return counts

    # -- the account view selector --

    def accounts_overview(self, now: datetime | None = None) -> AccountsOverview:
        """Every connected shop for the selector; when none can be used, the message and each shop's reason."""
        now = now or datetime.now(UTC)
        accounts = self.session.scalars(select(TikTokAccount).order_by(TikTokAccount.shop_name, TikTokAccount.id))
        choices = [self._choice(a, now) for a in accounts]
        if any(c.usable for c in choices):
            return AccountsOverview(choices, True, None, [])
        if not choices:
            return AccountsOverview([], False, NO_ACCOUNTS_MESSAGE, ["No TikTok shop is connected yet."])
        reasons = [f"{c.name}: {c.reason}" for c in choices]
        return AccountsOverview(choices, False, NO_ACCOUNTS_MESSAGE, reasons)

    @staticmethod
    def _choice(account: TikTokAccount, now: datetime) -> AccountChoice:
        name = account.shop_name or account.shop_id
        status = account.status
        reason = ""
        if status == AccountStatus.DISABLED.value:
            reason = "disabled" + (f" ({account.status_reason})" if account.status_reason else "")
        elif status == AccountStatus.EXPIRED.value:
            reason = "authorization expired" + (f" ({account.status_reason})" if account.status_reason else "")
        elif account.refresh_token_expires_at <= now or (
            account.authorization_expires_at is not None and account.authorization_expires_at <= now
        ):
            # Upkeep has not marked it yet, but no call can succeed: say so rather than offer a dead shop.
            status, reason = AccountStatus.EXPIRED.value, "authorization expired"
        return AccountChoice(str(account.id), name, account.shop_id, account.region, status, not reason, reason)
