"""TikTok's return and cancellation objects, as sent, turned into the values of our ``cases`` and ``case_lines`` rows.

Works on plain JSON (``RawPage`` items), not on models: every record is judged on its own, so one malformed record is
quarantined (``BadRecord``) while the other 49 of its page are stored. Amounts are TikTok's own components copied
as sent (never recomputed) and must be exact decimals; a record whose money cannot be read exactly is quarantined
rather than stored with a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from returnbridge.domain.case_view import search_text
from returnbridge.domain.statuses import CaseKind, StoreStatus, classify

# Beyond this a millionths BIGINT would overflow; no real refund comes near it.
_MONEY_LIMIT = Decimal(10) ** 12
_MICRO = Decimal("0.000001")
# Timestamps outside 2000..2100 are not TikTok times (milliseconds sent as seconds, garbage).
_TIME_MIN, _TIME_MAX = 946_684_800, 4_102_444_800

_CASE_AMOUNTS = ("refund_total", "refund_subtotal", "refund_shipping_fee", "refund_tax", "retail_delivery_fee",
                 "buyer_service_fee")
_DISCOUNTS = ("product_platform_discount", "product_seller_discount", "shipping_fee_platform_discount",
              "shipping_fee_seller_discount")
_LINE_AMOUNTS = ("refund_total", "refund_subtotal", "refund_shipping_fee", "refund_tax")
# Arbitration outcomes: TikTok, not the merchant, decided the request.
_TIKTOK_DECIDED = frozenset({"SUPPORT_BUYER", "SUPPORT_SELLER"})


class BadRecord(ValueError):
    """A record that cannot be stored as a case; it is quarantined verbatim with this reason."""

    def __init__(self, reason: str, tiktok_id: str = "") -> None:
        super().__init__(reason)
        self.tiktok_id = tiktok_id


@dataclass(slots=True)
class CaseValues:
    tiktok_id: str
    update_ts: int | None  # TikTok's update_time as sent (Unix seconds): the cursor and the staleness guard
    row: dict[str, Any]
    lines: list[dict[str, Any]] = field(default_factory=list)


def _id(value: Any, what: str, tiktok_id: str = "") -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadRecord(f"{what} is missing or not a string", tiktok_id)
    text = str(value).strip()
    if not text or len(text) > 64:
        raise BadRecord(f"{what} is empty or longer than 64 characters", tiktok_id)
    if not text.isprintable():  # a NUL would fail the whole page on PostgreSQL; no real id has control characters
        raise BadRecord(f"{what} contains control characters", "")
    return text


def _text(value: Any, limit: int | None = None) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if "\x00" in text:
        # PostgreSQL text cannot hold NUL (the page's transaction would fail); the value as sent stays in ``raw``.
        text = text.replace("\x00", "")
    # Enum-like columns have a width; the full value always stays in ``raw``.
    return text[:limit] if limit is not None else text


def _time(value: Any, what: str, tiktok_id: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadRecord(f"{what} is not a Unix time", tiktok_id)
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        raise BadRecord(f"{what} is not a Unix time: {value!r}", tiktok_id) from None
    if not _TIME_MIN <= seconds <= _TIME_MAX:
        raise BadRecord(f"{what} {seconds} is outside 2000-2100", tiktok_id)
    return seconds


def utc(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


# Amount texts repeat across records ("0.00", common prices): checked once, then served from here (bounded).
_MONEY_TEXTS: dict[str, Decimal] = {}


def money(value: Any, what: str, tiktok_id: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if type(value) is str:
        known = _MONEY_TEXTS.get(value)
        if known is not None:
            return known
        amount = _exact(value, what, tiktok_id)
        if len(_MONEY_TEXTS) >= 8192:
            _MONEY_TEXTS.clear()
        _MONEY_TEXTS[value] = amount
        return amount
    return _exact(value, what, tiktok_id)


def _exact(value: Any, what: str, tiktok_id: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadRecord(f"{what} is not an amount: {value!r}", tiktok_id)
    try:
        # A float is read through its shortest text ("12.3", not 12.2999…): JSON numbers are decimal literals.
        amount = Decimal(value if isinstance(value, str) else repr(value))
    except InvalidOperation:
        raise BadRecord(f"{what} is not an amount: {value!r}", tiktok_id) from None
    exact = amount.is_finite() and abs(amount) < _MONEY_LIMIT
    if not exact or amount != amount.quantize(_MICRO, rounding="ROUND_DOWN"):
        raise BadRecord(f"{what} is not an exact amount: {value!r}", tiktok_id)
    return amount


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _first_object(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return next((item for item in value if isinstance(item, dict)), {})
    return _object(value)


def _amounts(source: dict[str, Any], names: tuple[str, ...], tiktok_id: str, into: dict[str, Any]) -> None:
    for name in names:
        into[name] = money(source.get(name), name, tiktok_id)


def _lines(items: Any, id_key: str, tiktok_id: str) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        return []
    lines: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            raise BadRecord(f"a line item is not an object: {item!r}"[:200], tiktok_id)
        line_id = _id(item.get(id_key), id_key, tiktok_id)
        if line_id in seen:
            continue
        seen.add(line_id)
        refund = _object(item.get("refund_amount"))
        line = {
            "tiktok_line_id": line_id,
            "order_line_item_id": _text(item.get("order_line_item_id"), 64),
            "sku_id": _text(item.get("sku_id"), 64),
            "seller_sku": _text(item.get("seller_sku"), 255),
            "product_name": _text(item.get("product_name")),
            "sku_name": _text(item.get("sku_name")),
            "image_url": _text(_object(item.get("product_image")).get("url")),
            "currency": _text(refund.get("currency"), 8),
        }
        _amounts(refund, _LINE_AMOUNTS, tiktok_id, line)
        lines.append(line)
    return lines


def case_values(kind: CaseKind, account_id: int, item: Any) -> CaseValues:
    """The row values of one return (``kind`` RETURN) or cancellation, or ``BadRecord``."""
    if not isinstance(item, dict):
        raise BadRecord(f"record is not an object: {item!r}"[:200])
    is_return = kind is CaseKind.RETURN
    tiktok_id = _id(item.get("return_id" if is_return else "cancel_id"), "return_id" if is_return else "cancel_id")
    raw_status = item.get("return_status" if is_return else "cancel_status")
    info = classify(kind, raw_status if isinstance(raw_status, str | int) else None)
    create_ts = _time(item.get("create_time"), "create_time", tiktok_id)
    update_ts = _time(item.get("update_time"), "update_time", tiktok_id)
    if update_ts is None:
        update_ts = create_ts
    arbitration = _text(item.get("arbitration_status"), 32)
    next_action = _first_object(item.get("seller_next_action_response"))
    refund = _object(item.get("refund_amount"))
    row: dict[str, Any] = {
        "account_id": account_id,
        "kind": kind.value,
        "tiktok_id": tiktok_id,
        "order_id": _text(item.get("order_id"), 64),
        "type": _text(item.get("return_type" if is_return else "cancel_type"), 32),
        "tiktok_status": _text(info.raw, 64),
        "store_status": info.store_status.value,
        # When the case reached Refunded, for the analytics by refund date; the upsert keeps an earlier moment.
        "refunded_at": utc(update_ts) if info.store_status is StoreStatus.REFUNDED else None,
        "status_known": info.known,
        "arbitration_status": arbitration,
        "initiator_role": _text(item.get("role"), 16),
        # Cut to 255: the column is indexed for the grid's sort, and an index entry has a size limit on PostgreSQL.
        "reason_name": _text(item.get("return_reason" if is_return else "cancel_reason"), 255),
        "reason_text": _text(item.get("return_reason_text" if is_return else "cancel_reason_text")),
        "currency": _text(refund.get("currency"), 8),
        # TikTok waits on the seller only in an acting status and never during a dispute (25011010).
        "needs_action": info.merchant_acts and arbitration != "IN_PROGRESS",
        "seller_action": _text(next_action.get("action"), 64),
        "seller_deadline": utc(_time(next_action.get("deadline"), "seller deadline", tiktok_id)),
        "decided_by_tiktok": arbitration in _TIKTOK_DECIDED,
        "tiktok_create_time": utc(create_ts),
        "tiktok_update_time": utc(update_ts),
        "raw": item,
    }
    _amounts(refund, _CASE_AMOUNTS, tiktok_id, row)
    _amounts(_first_object(item.get("discount_amount")), _DISCOUNTS, tiktok_id, row)
    row["partial_refund_amount"] = money(_object(item.get("partial_refund")).get("amount"), "partial_refund", tiktok_id)
    lines = _lines(item.get("return_line_items" if is_return else "cancel_line_items"),
                   "return_line_item_id" if is_return else "cancel_line_item_id", tiktok_id)
    # For the returns grid: its status tab and the text its search box looks into, kept on the case row (written
    # with the lines, from the same record) so neither a tab count nor a search has to join the lines.
    row["tab"] = info.tab.value if info.tab is not None else ""
    row["search_text"] = search_text(
        tiktok_id, row["order_id"], *(line["seller_sku"] for line in lines), *(line["product_name"] for line in lines)
    )
    return CaseValues(tiktok_id, update_ts, row, lines)
