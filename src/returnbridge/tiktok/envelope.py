"""The response envelope ``{code, message, request_id, data}`` (contract §1.5), parsed in one pass.

A whole envelope is validated straight from the raw bytes with ``model_validate_json``: one Rust-side pass,
with no intermediate ``dict``, keeps paging through 100,000 returns close to the speed of a bare JSON load.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from .models import AuthorizedShop, Items, Order, RejectReason, ReturnRecord, TikTokModel

DataT = TypeVar("DataT")


class Envelope(BaseModel, Generic[DataT]):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    code: int
    message: str | None = ""
    request_id: str | None = None
    # Absent or null on errors (which of the two is UNCERTAIN); action endpoints answer ``{}``.
    data: DataT | None = None


class PageCursor(BaseModel):
    """Only the cursor of a search page: a quick first look at a page before its full parse."""

    model_config = ConfigDict(extra="ignore")

    next_page_token: str | None = None


class AnyData(TikTokModel):
    """``data`` of action endpoints (``{}`` on success); any field that shows up is kept."""


class ShopsData(TikTokModel):
    shops: Items[AuthorizedShop] = []


class RecordsData(TikTokModel):
    records: Items[ReturnRecord] = []


class ReasonsData(TikTokModel):
    reasons: Items[RejectReason] = []


class OrdersData(TikTokModel):
    orders: Items[Order] = []


def raw_fields(data: Any) -> dict[str, Any]:
    """A loosely parsed envelope's fields, for error answers whose ``data`` does not fit the expected model."""
    return data if isinstance(data, dict) else {}
