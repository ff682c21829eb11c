"""What the merchant is looking at in the "Returns & refunds" grid, as a value that lives in the page's URL.

``CaseView.from_query`` reads the query parameters of a bookmarked or shared link (and refuses bad ones with the
parameter's name, for an HTTP 400), ``to_query`` writes them back; both ways round trip. Pure code: the database
side is ``db.repositories.case_list``.

Query parameters (repeat a multi-valued one: ``status=Requested&status=Pending``)::

    tab          all | needs_action | a status tab key (request_pending, awaiting_buyer_ship, ...)
    account      account id (the account view selector); repeatable
    type         refund | return_and_refund | replacement | exchange | cancellation; repeatable
    status       store-side status (Requested, Pending, Accepted, Refunded, Rejected, Cancelled, Replaced); repeatable
    marketplace_status   TikTok's own status value; repeatable
    reason       TikTok's reason name; repeatable
    created_from, created_to, updated_from, updated_to   YYYY-MM-DD, UTC, both ends included
    amount_min, amount_max, currency   refund amount range; only within one currency
    sku          seller SKU of a returned line (exact)
    q            search: return id, order id, SKU, product name (case-insensitive, part of the text)
    sort, dir    a sortable column key; asc | desc
    cursor       opaque keyset position from a previous page
    columns      visible columns, comma-separated keys
    limit        rows per page (1-200)
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from returnbridge.domain.row_ids import row_id
from returnbridge.domain.statuses import TAB_LABELS, CaseKind, LabelSet, StoreStatus, Tab


class ViewParameterError(ValueError):
    """A query parameter of the grid that cannot be used; the web layer answers 400 with both fields."""

    status_code = 400

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


# --- columns -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GridColumn:
    key: str
    label: str
    sortable: bool
    default_visible: bool = True
    exportable: bool = True  # the link and the action buttons mean nothing in a spreadsheet


# PRODUCT.md's order, plus the refund amount and the deadline. The store return id arrives with store mirroring:
# until then the column exists (so views and exports keep their shape) but has nothing to sort on.
GRID_COLUMNS: tuple[GridColumn, ...] = (
    GridColumn("store_return_id", "Store return ID", sortable=False),
    GridColumn("return_id", "TikTok return ID", sortable=True),
    GridColumn("order_id", "TikTok order ID", sortable=True),
    GridColumn("account", "Account", sortable=True),
    GridColumn("type", "Type", sortable=True),
    GridColumn("status", "Status", sortable=True),
    GridColumn("marketplace_status", "Marketplace status", sortable=True),
    GridColumn("reason", "Reason", sortable=True),
    GridColumn("created_at", "Created at", sortable=True),
    GridColumn("updated_at", "Updated at", sortable=True),
    GridColumn("refund_amount", "Refund amount", sortable=True),
    GridColumn("deadline", "Deadline", sortable=True),
    GridColumn("details", "Details", sortable=False, exportable=False),
    GridColumn("actions", "Actions", sortable=False, exportable=False),
)
COLUMNS_BY_KEY = {c.key: c for c in GRID_COLUMNS}
SORTABLE = frozenset(c.key for c in GRID_COLUMNS if c.sortable)
DEFAULT_COLUMNS: tuple[str, ...] = tuple(c.key for c in GRID_COLUMNS if c.default_visible)

# --- tabs and types ------------------------------------------------------------------------------------------

ALL_TAB = "all"
NEEDS_ACTION_TAB = "needs_action"
NEEDS_ACTION_LABEL = "Needs action"
TAB_KEYS = frozenset({ALL_TAB, NEEDS_ACTION_TAB, *(t.value for t in Tab)})


def tabs_sharing_label(label_set: LabelSet, tab: Tab) -> list[Tab]:
    """The status tabs shown as one in a label set (the current set shows "success" under "Request Completed")."""
    label = TAB_LABELS[label_set][tab]
    return [t for t in Tab if TAB_LABELS[label_set][t] == label]


# The merchant's words for a request's type; TikTok's raw return_type values, lower-cased, plus cancellations
# (whose cancel_type says who cancelled, not what the merchant calls it).
CASE_TYPES: dict[str, str] = {
    "refund": "Refund",
    "return_and_refund": "Return & Refund",
    "replacement": "Replacement",
    "exchange": "Exchange",
    "cancellation": "Cancellation",
}


def case_type(kind: str, raw_type: str) -> str:
    """The type key of a case (``CASE_TYPES``), or TikTok's own value lower-cased when it is a new one."""
    if kind == CaseKind.CANCELLATION.value:
        return "cancellation"
    return raw_type.strip().lower()


def case_type_label(kind: str, raw_type: str) -> str:
    key = case_type(kind, raw_type)
    return CASE_TYPES.get(key, raw_type)


# --- search --------------------------------------------------------------------------------------------------


def search_text(*parts: str) -> str:
    """The denormalised text the grid's search looks into (ids, SKUs, product names), normalised like a needle."""
    seen: list[str] = []
    for part in parts:
        word = search_needle(part)
        if word and word not in seen:
            seen.append(word)
    # A separator no needle contains, so a search never matches across two fields.
    return "\x1f".join(seen)


def search_needle(text: str) -> str:
    return " ".join(text.split()).lower()


# --- the view ------------------------------------------------------------------------------------------------

DIRECTIONS = ("asc", "desc")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_MULTI = ("account", "type", "status", "marketplace_status", "reason")
_DATES = ("created_from", "created_to", "updated_from", "updated_to")
_MAX_TEXT = 255


@dataclass(frozen=True, slots=True)
class Cursor:
    """A keyset position: the sort it belongs to, which way to read, and the last (or first) row's sort key.

    ``nulls`` is True when that row has no value in the sort column (those rows come after all the others).
    """

    sort: str
    dir: str
    forward: bool
    value: str | None
    nulls: bool
    id: int

    def encode(self) -> str:
        body = [self.sort, self.dir, int(self.forward), self.value, int(self.nulls), self.id]
        raw = json.dumps(body, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            sort, direction, forward, value, nulls, row_id = json.loads(raw)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise ViewParameterError("cursor", "not a cursor of this grid") from exc
        ok = (
            sort in SORTABLE and direction in DIRECTIONS and forward in (0, 1) and nulls in (0, 1)
            and (value is None or isinstance(value, str)) and isinstance(row_id, int)
            and not isinstance(row_id, bool)
        )
        if not ok:
            raise ViewParameterError("cursor", "not a cursor of this grid")
        return cls(sort, direction, bool(forward), value, bool(nulls), row_id)


@dataclass(frozen=True, slots=True)
class CaseView:
    """One state of the grid. Empty tuples and ``None`` mean "no filter"; defaults are left out of the URL."""

    tab: str = ALL_TAB
    account: tuple[str, ...] = ()
    type: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    marketplace_status: tuple[str, ...] = ()
    reason: tuple[str, ...] = ()
    created_from: date | None = None
    created_to: date | None = None
    updated_from: date | None = None
    updated_to: date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    currency: str | None = None
    sku: str | None = None
    q: str | None = None
    sort: str | None = None
    dir: str | None = None
    cursor: str | None = None
    columns: tuple[str, ...] | None = None
    limit: int = DEFAULT_LIMIT
    _decoded: Cursor | None = field(default=None, compare=False, repr=False)

    # -- what the query means --

    @property
    def sort_column(self) -> str:
        if self.sort is not None:
            return self.sort
        # The needs-action queue is worked through by urgency; everything else newest first.
        return "deadline" if self.tab == NEEDS_ACTION_TAB else "created_at"

    @property
    def sort_dir(self) -> str:
        if self.dir is not None:
            return self.dir
        if self.sort is None:
            return "asc" if self.tab == NEEDS_ACTION_TAB else "desc"
        return "asc"

    @property
    def visible_columns(self) -> tuple[str, ...]:
        return self.columns if self.columns is not None else DEFAULT_COLUMNS

    @property
    def position(self) -> Cursor | None:
        """The decoded cursor, checked against this view's sort (a cursor of another sort would skip rows)."""
        if self.cursor is None:
            return None
        cursor = self._decoded or Cursor.decode(self.cursor)
        if (cursor.sort, cursor.dir) != (self.sort_column, self.sort_dir):
            raise ViewParameterError("cursor", "belongs to another sort order; start from the first page")
        return cursor

    def with_cursor(self, cursor: Cursor | None) -> CaseView:
        return replace(self, cursor=cursor.encode() if cursor else None, _decoded=cursor)

    def first_page(self) -> CaseView:
        return replace(self, cursor=None, _decoded=None)

    def without_tab(self) -> CaseView:
        return replace(self, tab=ALL_TAB, cursor=None, _decoded=None)

    def applied_filters(self) -> dict[str, Any]:
        """The filters in force, JSON-ready (dates ISO, amounts as decimal strings)."""
        out: dict[str, Any] = {}
        for key, value in self._pairs():
            if key in ("sort", "dir", "cursor", "columns", "limit"):
                continue
            if key in _MULTI:
                out.setdefault(key, []).append(value)
            else:
                out[key] = value
        return out

    # -- the URL --

    def to_query(self) -> list[tuple[str, str]]:
        """The view as query parameters, in a stable order, defaults left out."""
        return list(self._pairs())

    def _pairs(self) -> Iterable[tuple[str, str]]:
        if self.tab != ALL_TAB:
            yield "tab", self.tab
        for key in _MULTI:
            for value in getattr(self, key):
                yield key, value
        for key in _DATES:
            day = getattr(self, key)
            if day is not None:
                yield key, day.isoformat()
        for key in ("amount_min", "amount_max"):
            amount = getattr(self, key)
            if amount is not None:
                yield key, _decimal_text(amount)
        for key in ("currency", "sku", "q", "sort", "dir", "cursor"):
            value = getattr(self, key)
            if value is not None:
                yield key, value
        if self.columns is not None:
            yield "columns", ",".join(self.columns)
        if self.limit != DEFAULT_LIMIT:
            yield "limit", str(self.limit)

    @classmethod
    def from_query(cls, params: Mapping[str, Any] | Iterable[tuple[str, str]]) -> CaseView:
        """Parse query parameters (a mapping, possibly of lists, or key/value pairs as a URL repeats them).

        Unknown parameters are ignored (tracking tags, the web layer's own); empty values mean "not set".
        """
        values: dict[str, list[str]] = {}
        for key, value in _items(params):
            text = value.strip()
            if "\x00" in text:
                # PostgreSQL cannot compare text with a NUL in it (the query fails); no filter value has one.
                raise ViewParameterError(key, "contains a NUL character")
            if text:
                values.setdefault(key, []).append(text)

        def one(key: str) -> str | None:
            found = values.get(key)
            if not found:
                return None
            if len(found) > 1:
                raise ViewParameterError(key, "given more than once")
            if len(found[0]) > _MAX_TEXT:
                raise ViewParameterError(key, f"longer than {_MAX_TEXT} characters")
            return found[0]

        def many(key: str) -> tuple[str, ...]:
            found = values.get(key, [])
            for item in found:
                if len(item) > _MAX_TEXT:
                    raise ViewParameterError(key, f"longer than {_MAX_TEXT} characters")
            return tuple(dict.fromkeys(found))  # a repeated value filters once

        tab = one("tab") or ALL_TAB
        if tab not in TAB_KEYS:
            raise ViewParameterError("tab", f"unknown tab {tab!r}")
        accounts = many("account")
        for account in accounts:
            # Within the id column's range: past it, the grid's query would fail in the database.
            if row_id(account) is None:
                raise ViewParameterError("account", f"not an account id: {account!r}")
        types = tuple(t.lower() for t in many("type"))
        for kind in types:
            if kind not in CASE_TYPES:
                raise ViewParameterError("type", f"unknown type {kind!r}; one of {', '.join(CASE_TYPES)}")
        statuses = tuple(_store_status(s) for s in many("status"))
        dates = {key: _date(key, one(key)) for key in _DATES}
        for start, end in (("created_from", "created_to"), ("updated_from", "updated_to")):
            if dates[start] and dates[end] and dates[start] > dates[end]:
                raise ViewParameterError(start, f"after {end}")
        amount_min, amount_max = _amount("amount_min", one("amount_min")), _amount("amount_max", one("amount_max"))
        if amount_min is not None and amount_max is not None and amount_min > amount_max:
            raise ViewParameterError("amount_min", "greater than amount_max")
        currency = one("currency")
        if currency is not None:
            currency = currency.upper()
            if not _CURRENCY.match(currency):
                raise ViewParameterError("currency", f"not a currency code: {currency!r}")
        if (amount_min is not None or amount_max is not None) and currency is None:
            # Amounts of different currencies are not comparable: 100 JPY is not 100 USD.
            raise ViewParameterError("currency", "required with an amount range")
        sort = one("sort")
        if sort is not None and sort not in SORTABLE:
            raise ViewParameterError("sort", f"cannot sort on {sort!r}; one of {', '.join(sorted(SORTABLE))}")
        direction = one("dir")
        if direction is not None:
            direction = direction.lower()
            if direction not in DIRECTIONS:
                raise ViewParameterError("dir", "asc or desc")
        columns = _columns(one("columns"))
        view = cls(
            tab=tab, account=accounts, type=types, status=statuses,
            marketplace_status=many("marketplace_status"), reason=many("reason"), **dates,
            amount_min=amount_min, amount_max=amount_max, currency=currency, sku=one("sku"), q=one("q"),
            sort=sort, dir=direction, columns=columns, limit=_limit(one("limit")),
        )
        cursor = one("cursor")
        if cursor is None:
            return view
        decoded = replace(view, cursor=cursor).position  # validates it against the sort
        return replace(view, cursor=cursor, _decoded=decoded)


def _items(params: Mapping[str, Any] | Iterable[tuple[str, str]]) -> Iterable[tuple[str, str]]:
    multi = getattr(params, "multi_items", None)  # Starlette's QueryParams
    if callable(multi):
        yield from multi()
        return
    if isinstance(params, Mapping):
        for key, value in params.items():
            if isinstance(value, list | tuple):
                for item in value:
                    yield key, str(item)
            elif value is not None:
                yield key, str(value)
        return
    for key, value in params:
        yield key, str(value)


def _store_status(text: str) -> str:
    for status in StoreStatus:
        if status.value.lower() == text.lower():
            return status.value
    raise ViewParameterError("status", f"unknown status {text!r}; one of {', '.join(s.value for s in StoreStatus)}")


def _date(key: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ViewParameterError(key, f"not a date (YYYY-MM-DD): {text!r}")


def _amount(key: str, text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ViewParameterError(key, f"not an amount: {text!r}") from None
    if not amount.is_finite() or abs(amount) >= Decimal(10) ** 12 or amount != amount.quantize(Decimal("0.000001")):
        raise ViewParameterError(key, f"not an amount: {text!r}")
    return amount


def _decimal_text(amount: Decimal) -> str:
    return format(amount, "f")


def _columns(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    keys = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    unknown = [k for k in keys if k not in COLUMNS_BY_KEY]
    if unknown:
        raise ViewParameterError("columns", f"unknown column {unknown[0]!r}")
    if not keys:
        raise ViewParameterError("columns", "at least one column")
    return keys


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    if not (text.isascii() and text.isdigit()) or len(text) > 6 or not 1 <= int(text) <= MAX_LIMIT:
        raise ViewParameterError("limit", f"a whole number from 1 to {MAX_LIMIT}")
    return int(text)


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def day_after(day: date) -> datetime:
    """The first instant after ``day`` (UTC): "to" dates include the whole day."""
    return day_start(day) + timedelta(days=1)
