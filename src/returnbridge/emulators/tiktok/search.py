"""Search semantics shared by returns, cancellations and orders (contract §3.1, §3.10, §6, §7.1, §8.6).

Body filters are ANDed, list filters OR within the list; ``*_ge`` is inclusive and ``*_lt`` exclusive; unknown
enum values simply match nothing. Results are sorted by the requested time field with ties broken by id (row
order is id order), and cached per (filter, sort) until the shop's table changes, so each page costs O(page).
The page token is base64 of the offset plus a hash of filter and sort: a token from another query is refused.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .errors import ApiError

INVALID_PARAMETER = 36009004
INVALID_TYPE = 25001001


def _type_error(field: str, expected: str) -> ApiError:
    return ApiError(INVALID_TYPE, f"Invalid request parameter type. {field} must be {expected}.")


def string_list(body: dict[str, Any], field: str) -> tuple[str, ...] | None:
    """A list-of-strings filter, normalised (sorted, unique) so equal filters hit the same cache entry."""
    if field not in body or body[field] is None:
        return None
    value = body[field]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _type_error(field, "an array of strings")
    return tuple(sorted(set(value)))


def time_bound(body: dict[str, Any], field: str) -> int | None:
    if field not in body or body[field] is None:
        return None
    value = body[field]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(field, "an integer Unix timestamp in seconds")
    return value


def optional_string(body: dict[str, Any], field: str) -> str | None:
    if field not in body or body[field] is None:
        return None
    value = body[field]
    if not isinstance(value, str):
        raise _type_error(field, "a string")
    return value


def required_string(body: dict[str, Any], field: str) -> str:
    value = optional_string(body, field)
    if value is None:
        raise ApiError(INVALID_TYPE, f"Invalid request parameter. {field} is required.")
    return value


def optional_bool(body: dict[str, Any], field: str) -> bool | None:
    if field not in body or body[field] is None:
        return None
    value = body[field]
    if not isinstance(value, bool):
        raise _type_error(field, "a boolean")
    return value


def check_body(body: object) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError(INVALID_TYPE, "Invalid request parameter type. The request body must be a JSON object.")
    return body


def page_size(query: dict[str, str], *, low: int, high: int, default: int | None) -> int:
    raw = query.get("page_size")
    if raw is None or raw == "":
        if default is None:
            raise ApiError(INVALID_PARAMETER, "Invalid parameter. page_size is required.")
        return default
    try:
        size = int(raw)
    except ValueError:
        raise ApiError(INVALID_PARAMETER, f"Invalid parameter. page_size must be an integer, got {raw!r}.") from None
    if not low <= size <= high:
        raise ApiError(INVALID_PARAMETER, f"Invalid parameter. page_size must be between {low} and {high}.")
    return size


def sort_params(query: dict[str, str], *, default_order: str) -> tuple[str, str]:
    field = query.get("sort_field") or "create_time"
    if field not in ("create_time", "update_time"):
        raise ApiError(INVALID_PARAMETER, "Invalid parameter. sort_field must be create_time or update_time.")
    order = (query.get("sort_order") or default_order).upper()
    if order not in ("ASC", "DESC"):
        raise ApiError(INVALID_PARAMETER, "Invalid parameter. sort_order must be ASC or DESC.")
    return field, order


def fingerprint(key: Any, sort_order: str) -> str:
    return hashlib.blake2b(repr((key, sort_order)).encode(), digest_size=6).hexdigest()


def make_token(offset: int, fp: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{fp}".encode()).decode().rstrip("=")


def read_token(token: str | None, fp: str) -> int:
    """The offset a page token points at (0 without a token); 36009004 for a foreign or damaged token."""
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        offset_text, _, token_fp = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        offset = int(offset_text)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(INVALID_PARAMETER, "Invalid page_token: it cannot be decoded.") from None
    if token_fp != fp or offset < 0:
        raise ApiError(
            INVALID_PARAMETER,
            "Invalid page_token: it does not belong to this query (send the same filters and sort on every page).",
        )
    return offset


def in_range(rows: Iterable[int], column: Sequence[int], low: int | None, high: int | None) -> list[int]:
    if low is not None and high is not None:
        return [i for i in rows if low <= column[i] < high]
    if low is not None:
        return [i for i in rows if column[i] >= low]
    if high is not None:
        return [i for i in rows if column[i] < high]
    return list(rows)


def codes_of(values: tuple[str, ...] | None, names: Sequence[str], allowed: Iterable[int] | None = None) -> set[int]:
    """Enum codes for filter values; unknown (or not allowed) values map to nothing."""
    if values is None:
        return set()
    allowed_set = set(allowed) if allowed is not None else set(range(len(names)))
    return {names.index(v) for v in values if v in names and names.index(v) in allowed_set}


def sorted_rows(rows: list[int], column: Sequence[int]) -> list[int]:
    """Rows ascending by the time column; ``rows`` come in row (= id) order, and sort is stable."""
    rows.sort(key=column.__getitem__)
    return rows


def page(ordered: list[int], offset: int, size: int, descending: bool) -> list[int]:
    total = len(ordered)
    if offset >= total:
        return []
    if not descending:
        return ordered[offset : offset + size]
    end = total - offset
    start = max(0, end - size)
    return ordered[start:end][::-1]
def page_data(
    ordered: list[int], offset: int, size: int, sort_order: str, fp: str, key: str, render: Callable[[int], Any]
) -> dict[str, Any]:
    """One page of a search answer: the rendered rows under ``key``, the total and the next token ("" at the end)."""
    chosen = page(ordered, offset, size, sort_order == "DESC")
    following = offset + len(chosen)
    return {
        key: [render(row) for row in chosen],
        "total_count": len(ordered),
        "next_page_token": make_token(following, fp) if following < len(ordered) else "",
    }


