"""Global ids: ``gid://shopify/Order/123``; the inventory level one carries its item as a query string."""

from __future__ import annotations

import re

_GID = re.compile(r"^gid://shopify/(?P<type>[A-Za-z]+)/(?P<id>\d+)(?:\?(?P<query>.*))?$")


def gid(type_name: str, number: int) -> str:
    return f"gid://shopify/{type_name}/{number}"


def level_gid(location_id: int, item_id: int) -> str:
    return f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}"


def parse_gid(value: object) -> tuple[str, int, str] | None:
    """``(type, number, query)`` of a well-formed Shopify GID, else None."""
    if not isinstance(value, str):
        return None
    match = _GID.match(value.strip())
    if match is None:
        return None
    return match.group("type"), int(match.group("id")), match.group("query") or ""


def number_of(value: object, type_name: str) -> int | None:
    """The numeric id when ``value`` is a GID of ``type_name``, else None."""
    parsed = parse_gid(value)
    if parsed is None or parsed[0] != type_name:
        return None
    return parsed[1]
