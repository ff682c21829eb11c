"""The response envelope ``{code, message, request_id, data}`` (contract §1.5), parsed in one pass.

A whole envelope is validated straight from the raw bytes with ``model_validate_json``: one Rust-side pass,
with no intermediate ``dict``, keeps paging through 100,000 returns close to the speed of a bare JSON load.
"""

from __future__ import annotations

import gc
import json
import re
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from .models import AuthorizedShop, Items, Order, RejectReason, ReturnRecord, TikTokModel

DataT = TypeVar("DataT")
ModelT = TypeVar("ModelT", bound=BaseModel)


class Envelope(BaseModel, Generic[DataT]):
    # cache_strings="keys": field names repeat on every item and are worth interning; values (ids, texts)
    # mostly do not, and looking each one up in the string cache cost more than it saved.
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, cache_strings="keys")

    code: int
    message: str | None = ""
    request_id: str | None = None
    # Absent or null on errors (which of the two is UNCERTAIN); action endpoints answer ``{}``.
    data: DataT | None = None


class PageCursor(BaseModel):
    """Only the cursor of a search page (the fallback when a page's success cannot be told from its first bytes)."""

    model_config = ConfigDict(extra="ignore")

    next_page_token: str | None = None


class SearchCount(BaseModel):
    """Only the match count of a search page: the pull's count check reads nothing else."""

    model_config = ConfigDict(extra="ignore")

    total_count: int | None = None


def validate_json(model: type[ModelT], raw: bytes) -> ModelT:
    """``model.model_validate_json(raw)`` without cyclic-GC passes in the middle of it.

    A page of 50 returns is ~1,000 new container objects (models, their field sets, lists). Parsed with the GC
    on, the collector runs during the parse, finds nothing to free (everything is still referenced) and moves
    the whole page into older generations, where it later feeds full collections of the heap: measured a
    quarter of the parse time. With the GC paused the allocation count is kept, so collections still happen
    as usual afterwards; by then the caller has usually dropped the previous page. The parse runs in
    pydantic-core holding the GIL, so no other thread runs Python while the GC is paused (except in the rare
    Python fallbacks of ``models``). A GC the application switched off stays off.
    """
    if not gc.isenabled():
        return model.model_validate_json(raw)
    gc.disable()
    try:
        return model.model_validate_json(raw)
    finally:
        gc.enable()


_SUCCESS_HEAD = re.compile(rb'\s*\{\s*"code"\s*:\s*0\s*[,}]')
_CURSOR_KEY = b'"next_page_token"'
_CURSOR_VALUE = re.compile(rb'\s*:\s*(?:"((?:[^"\\]|\\.)*)"|null\b)')


def looks_successful(raw: bytes) -> bool:
    """True when the body starts like a success envelope (``{"code": 0, ...``), seen from its first bytes.

    Only a fast path: a body for which this is False still needs ``decode_envelope`` to tell what it is.
    """
    return _SUCCESS_HEAD.match(raw) is not None


def peek_next_page_token(raw: bytes) -> str | None:
    """A guess at ``data.next_page_token`` from the raw page, without parsing it (None for none or "").

    Takes the LAST ``"next_page_token"`` key in the body: TikTok and the emulator put it after
    ``return_orders``. The key could also appear inside an unknown nested object, so this is only a guess to
    send the next request early; the full parse of the page is the authority and ``paging`` checks the guess
    against it.
    """
    at = raw.rfind(_CURSOR_KEY)
    if at < 0:
        return None
    value = _CURSOR_VALUE.match(raw, at + len(_CURSOR_KEY))
    if value is None or not value.group(1):
        return None
    token = value.group(1)
    try:
        return json.loads(b'"' + token + b'"') if b"\\" in token else token.decode()
    except ValueError:
        return None


class AnyData(TikTokModel):
    """``data`` of action endpoints (``{}`` on success); any field that shows up is kept."""


class ShopWebhook(TikTokModel):
    event_type: str = ""
    address: str = ""


class WebhooksData(TikTokModel):
    webhooks: Items[ShopWebhook] = []


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
