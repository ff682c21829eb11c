"""``searchCriteria`` (store-apis.md B.3): parsed from the raw query string, applied to rows of plain values.

``searchCriteria[filter_groups][G][filters][F][field|value|condition_type]``: filters inside one group are ORed,
groups are ANDed; ``condition_type`` defaults to ``eq``. ``[sortOrders][N][field|direction]``, ``[pageSize]``,
``[currentPage]`` (1-based). Like Magento's collections, a page past the end gives the last page again, so a client
must stop on ``total_count``, not on an empty page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import MagentoError

CONDITIONS = ("eq", "neq", "like", "nlike", "in", "nin", "gt", "gteq", "lt", "lteq", "moreq", "from", "to", "null",
              "notnull", "finset", "nfinset")
_KEY = re.compile(r"^searchCriteria((?:\[[^\]]*\])+)$")
_PART = re.compile(r"\[([^\]]*)\]")


@dataclass(frozen=True)
class Filter:
    field: str
    value: str
    condition: str = "eq"


@dataclass
class SearchCriteria:
    groups: list[list[Filter]] = field(default_factory=list)
    sort: list[tuple[str, str]] = field(default_factory=list)
    page_size: int | None = None
    current_page: int = 1

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"filter_groups": [{"filters": [
            {"field": f.field, "value": f.value, "condition_type": f.condition} for f in group]}
            for group in self.groups]}
        if self.sort:
            out["sort_orders"] = [{"field": f, "direction": d} for f, d in self.sort]
        if self.page_size is not None:
            out["page_size"] = self.page_size
            out["current_page"] = self.current_page
        return out

    def equality(self) -> tuple[str, str] | None:
        """(field, value) when the criteria are a single ``eq`` filter: the emulator answers those from an index."""
        if len(self.groups) == 1 and len(self.groups[0]) == 1 and self.groups[0][0].condition == "eq":
            only = self.groups[0][0]
            return only.field, only.value
        return None


def _nest(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None:
            continue
        parts = _PART.findall(match.group(1))
        node = tree
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise MagentoError(400, '"%1" is not a valid search criteria key.', [key])
            node = child
        node[parts[-1]] = value
    return tree


def _indexed(node: Any, what: str) -> list[Any]:
    if node is None:
        return []
    if not isinstance(node, dict) or not all(k.isdigit() for k in node):
        raise MagentoError(400, '"%1" must be a list indexed by numbers.', [what])
    return [node[k] for k in sorted(node, key=int)]


def _int(value: Any, what: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise MagentoError(400, 'The "%1" value\'s type is invalid. The "%2" type was expected. Verify and try '
                                "again.", [str(value), "int"]) from None


def parse(pairs: Iterable[tuple[str, str]]) -> SearchCriteria:
    """Parse ``searchCriteria[...]`` query parameters (others are ignored, as Magento does)."""
    tree = _nest(pairs)
    criteria = SearchCriteria()
    for group in _indexed(tree.get("filter_groups") or tree.get("filterGroups"), "filter_groups"):
        filters = []
        for raw in _indexed((group or {}).get("filters"), "filters"):
            if not isinstance(raw, dict) or not raw.get("field"):
                raise MagentoError(400, '"%1" is required. Enter and try again.', ["field"])
            condition = (raw.get("condition_type") or raw.get("conditionType") or "eq").lower()
            if condition not in CONDITIONS:
                raise MagentoError(400, 'Invalid condition type "%1".', [condition])
            filters.append(Filter(raw["field"], raw.get("value", ""), condition))
        if filters:
            criteria.groups.append(filters)
    for order in _indexed(tree.get("sortOrders") or tree.get("sort_orders"), "sortOrders"):
        direction = str((order or {}).get("direction") or "ASC").upper()
        criteria.sort.append((str((order or {}).get("field") or ""), "DESC" if direction == "DESC" else "ASC"))
    if "pageSize" in tree or "page_size" in tree:
        criteria.page_size = max(_int(tree.get("pageSize", tree.get("page_size")), "pageSize"), 0) or None
    if "currentPage" in tree or "current_page" in tree:
        criteria.current_page = max(_int(tree.get("currentPage", tree.get("current_page")), "currentPage"), 1)
    return criteria


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _compare(left: Any, right: str) -> int:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    sa, sb = str(left), right
    return (sa > sb) - (sa < sb)


def _like(pattern: str) -> re.Pattern[str]:
    # MySQL LIKE: % any run, _ one character; the default collation is case-insensitive.
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL)


def matches(row: dict[str, Any], f: Filter) -> bool:
    value = row.get(f.field)
    c = f.condition
    if c == "null":
        return value is None or value == ""
    if c == "notnull":
        return value is not None and value != ""
    if value is None:
        return False
    text = str(value)
    if c == "eq":
        return _compare(value, f.value) == 0
    if c == "neq":
        return _compare(value, f.value) != 0
    if c == "like":
        return bool(_like(f.value).match(text))
    if c == "nlike":
        return not _like(f.value).match(text)
    if c in ("in", "nin"):
        inside = any(_compare(value, v.strip()) == 0 for v in f.value.split(","))
        return inside if c == "in" else not inside
    if c in ("finset", "nfinset"):
        found = f.value in text.split(",")
        return found if c == "finset" else not found
    order = _compare(value, f.value)
    return {"gt": order > 0, "gteq": order >= 0, "moreq": order >= 0, "from": order >= 0, "lt": order < 0,
            "lteq": order <= 0, "to": order <= 0}[c]


def apply(rows: list[dict[str, Any]], criteria: SearchCriteria, *, known: Callable[[str], bool]
          ) -> tuple[list[dict[str, Any]], int]:
    """The page of ``rows`` the criteria select, and the total count before paging."""
    for group in criteria.groups:
        for f in group:
            if not known(f.field):
                raise MagentoError(400, 'Column not found: Unknown column "%1" in the where clause.', [f.field])
    selected = [r for r in rows if all(any(matches(r, f) for f in group) for group in criteria.groups)]
    for name, direction in reversed(criteria.sort):
        selected.sort(key=lambda r, n=name: (r.get(n) is None, _sort_key(r.get(n))), reverse=direction == "DESC")
    total = len(selected)
    if criteria.page_size:
        last_page = max((total + criteria.page_size - 1) // criteria.page_size, 1)
        page = min(criteria.current_page, last_page)  # Magento's collection clamps to the last page
        start = (page - 1) * criteria.page_size
        selected = selected[start:start + criteria.page_size]
    return selected, total


def _sort_key(value: Any) -> tuple[int, Any]:
    number = _number(value) if value is not None and not isinstance(value, str) else None
    return (0, number) if number is not None else (1, str(value or ""))
