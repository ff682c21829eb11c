"""The ``orders(query:)`` search syntax subset of store-apis.md A.2.

Terms are ANDed; ``OR`` between two terms ORs them; ``-term`` or ``NOT term`` negates. A term is ``field:value``
(``value`` may be quoted, may end with ``*`` for a prefix match, and may start with ``>``, ``>=``, ``<``, ``<=`` for
dates), or free text. Unknown fields and metafields without the adminFilterable capability are ignored and
reported as a warning in ``extensions.search`` (chosen behaviour, see docs/emulator-shopify.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from .gids import parse_gid
from .model import Order
from .world import Store

_TERM = re.compile(r'(-?)([A-Za-z_][\w.]*):(>=|<=|>|<)?("(?:[^"\\]|\\.)*"|\S+)|(-?)("(?:[^"\\]|\\.)*"|\S+)')


@dataclass
class Term:
    field: str | None
    value: str
    negate: bool
    comparison: str | None = None


def _tokens(query: str) -> list[Term | str]:
    out: list[Term | str] = []
    pending_not = False
    for match in _TERM.finditer(query):
        if match.group(2):
            value = match.group(4)
            if value.startswith('"'):
                value = value[1:-1].replace('\\"', '"')
            term = Term(match.group(2), value, bool(match.group(1)) != pending_not, match.group(3))
        else:
            value = match.group(6)
            if value in ("AND",):
                continue
            if value == "OR":
                out.append("OR")
                continue
            if value == "NOT":
                pending_not = True
                continue
            if value.startswith('"'):
                value = value[1:-1]
            term = Term(None, value, bool(match.group(5)) != pending_not)
        pending_not = False
        out.append(term)
    return out


def _text_match(actual: str | None, wanted: str, *, case: bool = False) -> bool:
    if actual is None:
        return False
    if not case:
        actual, wanted = actual.lower(), wanted.lower()
    if wanted.endswith("*"):
        return actual.startswith(wanted[:-1])
    return actual == wanted


def _date(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _compare(actual: datetime | None, comparison: str | None, value: str) -> bool:
    wanted = _date(value)
    if actual is None or wanted is None:
        return False
    if comparison == ">":
        return actual > wanted
    if comparison == ">=":
        return actual >= wanted
    if comparison == "<":
        return actual < wanted
    if comparison == "<=":
        return actual <= wanted
    return actual.date() == wanted.date()


class OrderSearch:
    """Compiles a query string once; ``matches`` then tests orders; ``warnings`` lists ignored terms."""

    def __init__(self, store: Store, query: str | None) -> None:
        self.store = store
        self.query = query or ""
        self.warnings: list[dict[str, str]] = []
        self._groups: list[list[Callable[[Order], bool]]] = [[]]
        for token in _tokens(self.query):
            if token == "OR":
                self._groups.append([])
                continue
            assert isinstance(token, Term)
            test = self._compile(token)
            if test is None:
                continue
            if token.negate:
                self._groups[-1].append(lambda order, t=test: not t(order))
            else:
                self._groups[-1].append(test)

    def matches(self, order: Order) -> bool:
        return any(all(test(order) for test in group) for group in self._groups)

    def _ignored(self, field: str, message: str = "Invalid search field for this query.") -> None:
        self.warnings.append({"field": field, "message": message})

    def _compile(self, term: Term) -> Callable[[Order], bool] | None:
        store = self.store
        value = term.value
        name = (term.field or "").lower()
        if term.field is None:
            # Free text: the order name (with or without '#'), e-mail and tags. Not note attributes (A.2: unverified).
            def free(order: Order) -> bool:
                return (_text_match(order.name, value) or _text_match(order.name.lstrip("#"), value.lstrip("#"))
                        or _text_match(order.email, value) or any(_text_match(t, value) for t in order.tags))
            return free
        if name == "name":
            def by_name(order: Order) -> bool:
                # Shopify matches "#1001" and "1001" alike; names are compared case-insensitively.
                return _text_match(order.name, value) or _text_match(order.name.lstrip("#"), value.lstrip("#"))
            return by_name
        if name == "tag":
            return lambda order: any(_text_match(t, value) for t in order.tags)
        if name == "tag_not":
            return lambda order: not any(_text_match(t, value) for t in order.tags)
        if name == "source_identifier":
            return lambda order: _text_match(order.source_identifier, value, case=True)
        if name == "source_name":
            return lambda order: _text_match(order.source_name, value)
        if name == "po_number":
            return lambda order: _text_match(order.po_number, value)
        if name == "email":
            return lambda order: _text_match(order.email, value)
        if name == "sku":
            return lambda order: any(_text_match(line.sku, value, case=True) for line in order.line_items)
        if name == "id":
            parsed = parse_gid(value)
            wanted = parsed[1] if parsed else (int(value) if value.isdigit() else -1)
            return lambda order: order.id == wanted
        if name in ("created_at", "processed_at"):
            return lambda order: _compare(order.created_at, term.comparison, value)
        if name == "updated_at":
            return lambda order: _compare(order.updated_at, term.comparison, value)
        if name == "return_status":
            return lambda order: store.return_status(order).lower() == value.lower()
        if name == "financial_status":
            return lambda order: store.financial_status(order).lower() == value.lower()
        if name == "fulfillment_status":
            return lambda order: _fulfillment_term(store.fulfillment_status(order)) == value.lower()
        if name == "status":
            return lambda order: (order.cancelled_at is not None) == (value.lower() == "cancelled") \
                if value.lower() in ("cancelled", "open") else True
        if name == "test":
            return lambda order: order.test == (value.lower() == "true")
        if name.startswith("metafields."):
            parts = term.field.split(".", 2) if term.field else []
            if len(parts) != 3 or (parts[1], parts[2]) not in store.filterable_metafields:
                self._ignored(term.field or name)
                return None
            namespace, key = parts[1], parts[2]
            # Exact, case-sensitive (A.2).
            return lambda order: any(m.namespace == namespace and m.key == key and m.value == value
                                     for m in order.metafields)
        self._ignored(term.field)
        return None


def _fulfillment_term(status: str) -> str:
    return {"FULFILLED": "shipped", "PARTIALLY_FULFILLED": "partial", "UNFULFILLED": "unshipped"}[status]
