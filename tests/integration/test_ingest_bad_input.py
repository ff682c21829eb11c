"""Ingest under whatever TikTok could plausibly send: generated pages of returns and cancellations in which some
records have a field removed, nulled, of the wrong type, huge, an unknown enum, a weird money string or an odd
timestamp. Each page goes through the client's own page parser (``parse_raw_page``, as a pull reads it) and then
``store_page`` in one transaction, on SQLite and PostgreSQL.

The properties: storing the page never raises (the worker does not crash); every record is either stored as a case
or quarantined verbatim with a reason; every untouched record of the page is stored with its amounts exactly.
"""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, CaseLine, QuarantinedRecord
from returnbridge.domain.statuses import CaseKind
from returnbridge.sync.ingest import store_page
from returnbridge.sync.runtime import Runtime
from returnbridge.tiktok.paging import parse_raw_page

FUZZ = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
DELETE = object()
_pages = itertools.count(1)

WEIRD: list[Any] = [
    None, DELETE, "", " ", "x" * 70_000, "a\x00b", "²", "１２.３０", "12.3000001", "1e3", "-0.00", "NaN", "Infinity",
    "sNaN", "12,30", " 12.30 ", "0x10", "1" * 400, True, False, 0, -1, 2**53, 2**70, 1.5, 1e300, -1e-300, [], {},
    [1, "2"], {"a": {"b": None}}, "UNKNOWN_ENUM_VALUE", 1_700_000_000_000, "1700000000", 253_402_300_800,
    "2024-01-01T00:00:00Z", "🙂" * 300, "\u202e\u200b", "<script>alert(1)</script>", "' OR 1=1 --",
]

# Where a record can go wrong; the leading "line" and "action" address the first line item and next action.
RETURN_PATHS = [
    ("return_id",), ("return_status",), ("return_type",), ("create_time",), ("update_time",), ("order_id",),
    ("refund_amount",), ("refund_amount", "refund_total"), ("refund_amount", "currency"),
    ("refund_amount", "refund_tax"), ("return_line_items",), ("return_line_items", 0),
    ("return_line_items", 0, "return_line_item_id"), ("return_line_items", 0, "product_name"),
    ("return_line_items", 0, "seller_sku"), ("return_line_items", 0, "refund_amount", "refund_total"),
    ("seller_next_action_response",), ("seller_next_action_response", 0, "deadline"),
    ("seller_next_action_response", 0, "action"), ("arbitration_status",), ("return_reason",),
    ("return_reason_text",), ("role",), ("partial_refund",), ("partial_refund", "amount"), ("discount_amount",),
    ("discount_amount", 0, "product_seller_discount"), (),
]
CANCELLATION_PATHS = [
    ("cancel_id",), ("cancel_status",), ("cancel_type",), ("create_time",), ("update_time",), ("order_id",),
    ("refund_amount", "refund_total"), ("refund_amount", "currency"), ("cancel_line_items",),
    ("cancel_line_items", 0, "cancel_line_item_id"), ("cancel_line_items", 0, "product_name"),
    ("cancel_reason",), ("cancel_reason_text",), (),
]

amounts = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False, allow_infinity=False).map(str)
times = st.integers(min_value=1_600_000_000, max_value=1_900_000_000)
texts = st.text(max_size=40)


def _record(kind: CaseKind) -> st.SearchStrategy[dict[str, Any]]:
    is_return = kind is CaseKind.RETURN
    prefix = "return" if is_return else "cancel"
    line = st.fixed_dictionaries({
        f"{prefix}_line_item_id": st.integers(min_value=1, max_value=10**18).map(str),
        "order_line_item_id": st.integers(min_value=1, max_value=10**18).map(str),
        "sku_id": st.integers(min_value=1, max_value=10**18).map(str), "seller_sku": texts, "product_name": texts,
        "refund_amount": st.fixed_dictionaries({"currency": st.just("USD"), "refund_total": amounts,
                                                "refund_subtotal": amounts}),
    })
    statuses = (["RETURN_OR_REFUND_REQUEST_PENDING", "AWAITING_BUYER_SHIP", "BUYER_SHIPPED_ITEM",
                 "RETURN_OR_REFUND_REQUEST_SUCCESS", "REFUND_OR_RETURN_REQUEST_REJECT"] if is_return
                else ["CANCELLATION_REQUEST_PENDING", "CANCELLATION_REQUEST_SUCCESS", "CANCELLATION_REQUEST_CANCEL"])
    return st.fixed_dictionaries({
        f"{prefix}_status": st.sampled_from(statuses),
        f"{prefix}_type": st.sampled_from(["REFUND", "RETURN_AND_REFUND", "REPLACEMENT"] if is_return
                                          else ["CANCEL", "BUYER_CANCEL"]),
        "order_id": st.integers(min_value=1, max_value=10**18).map(str), "role": st.sampled_from(["BUYER", "SELLER"]),
        "create_time": times, "update_time": times, f"{prefix}_reason": texts, f"{prefix}_reason_text": texts,
        "refund_amount": st.fixed_dictionaries({"currency": st.just("USD"), "refund_total": amounts,
                                                "refund_shipping_fee": amounts, "refund_tax": amounts}),
        f"{prefix}_line_items": st.lists(line, min_size=1, max_size=3, unique_by=lambda x: x[f"{prefix}_line_item_id"]),
        "seller_next_action_response": st.lists(st.fixed_dictionaries({
            "action": st.sampled_from(["RESPOND_RETURN_REQUEST", "CONFIRM_RECEIVE_PACKAGE"]), "deadline": times,
        }), max_size=1),
    })


def _mutations(paths: list[tuple[Any, ...]]) -> st.SearchStrategy[list[tuple[int, tuple[Any, ...], Any]]]:
    """Up to four (record position, path, new value) changes."""
    values = st.sampled_from(WEIRD) | texts | st.integers()
    return st.lists(st.tuples(st.integers(min_value=0, max_value=5), st.sampled_from(paths), values), max_size=4)


def _apply(record: dict[str, Any], path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return None if value is DELETE else value  # the whole record is something else
    target: Any = record
    for step in path[:-1]:
        try:
            target = target[step]
        except (KeyError, IndexError, TypeError):
            return record  # the path is not there in this record (no next action): nothing to break
    last = path[-1]
    if isinstance(target, dict):
        if value is DELETE:
            target.pop(last, None)
        else:
            target[last] = value
    elif isinstance(target, list) and isinstance(last, int) and last < len(target):
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return record


def _page(kind: CaseKind, records: list[dict[str, Any]],
          mutations: list[tuple[int, tuple[Any, ...], Any]]) -> tuple[list[Any], list[int]]:
    """The page as the client reads it, and the positions of the records left untouched."""
    id_key = "return_id" if kind is CaseKind.RETURN else "cancel_id"
    run = next(_pages)
    items: list[Any] = []
    for index, record in enumerate(records):
        items.append({id_key: f"9{run:06d}{index:03d}", **record})
    touched = set()
    for index, path, value in mutations:
        position = index % len(items)
        touched.add(position)
        items[position] = _apply(items[position], path, value)
    body = json.dumps({"code": 0, "message": "Success", "request_id": "fuzz",
                       "data": {"return_orders" if kind is CaseKind.RETURN else "cancellations": items}})
    parsed = parse_raw_page(body.encode(), "return_orders" if kind is CaseKind.RETURN else "cancellations").items
    return parsed, [i for i in range(len(items)) if i not in touched]


def _check_page(runtime: Runtime, account_id: int, kind: CaseKind, items: list[Any], untouched: list[int]) -> None:
    with transaction(runtime.sessions) as session:
        outcome = store_page(session, account_id, kind, items, source="pull")
    assert outcome.received == len(items)
    id_key = "return_id" if kind is CaseKind.RETURN else "cancel_id"
    with transaction(runtime.sessions) as session:
        for position, item in enumerate(items):
            tiktok_id = str(item.get(id_key, "")).strip() if isinstance(item, dict) else ""
            case = session.scalars(select(Case).where(Case.account_id == account_id, Case.kind == kind.value,
                                                      Case.tiktok_id == tiktok_id)).first() if tiktok_id else None
            if position in untouched:
                assert case is not None, f"a good record was lost: {tiktok_id}"
                assert case.refund_total == Decimal(item["refund_amount"]["refund_total"])
                lines = session.scalars(select(CaseLine).where(CaseLine.case_id == case.id)).all()
                assert len(lines) == len(item[f"{id_key.split('_')[0]}_line_items"])
                continue
            if case is not None:
                continue  # stored: the oddity was one ingest can read (an unknown status, a long text, ...)
            payload = orjson.dumps(item, option=orjson.OPT_NON_STR_KEYS).decode()
            record = session.scalars(select(QuarantinedRecord).where(QuarantinedRecord.payload == payload)).first()
            assert record is not None, f"neither stored nor quarantined: {payload[:300]}"
            assert record.error, "quarantined without a reason"


@FUZZ
@given(records=st.lists(_record(CaseKind.RETURN), min_size=1, max_size=6),
       mutations=_mutations(RETURN_PATHS))
def test_a_page_of_returns_with_odd_records_stores_or_quarantines_each_and_loses_no_good_one(
    runtime: Runtime, account_id: int, records: list[dict[str, Any]], mutations: list[Any]
) -> None:
    items, untouched = _page(CaseKind.RETURN, records, mutations)
    _check_page(runtime, account_id, CaseKind.RETURN, items, untouched)


@FUZZ
@given(records=st.lists(_record(CaseKind.CANCELLATION), min_size=1, max_size=6),
       mutations=_mutations(CANCELLATION_PATHS))
def test_a_page_of_cancellations_with_odd_records_stores_or_quarantines_each_and_loses_no_good_one(
    runtime: Runtime, account_id: int, records: list[dict[str, Any]], mutations: list[Any]
) -> None:
    items, untouched = _page(CaseKind.CANCELLATION, records, mutations)
    _check_page(runtime, account_id, CaseKind.CANCELLATION, items, untouched)


@pytest.mark.parametrize("value", ["a\x00b", "\x00"])
def test_a_nul_character_in_a_text_field_does_not_fail_the_page(runtime: Runtime, account_id: int,
                                                                 value: str) -> None:
    # PostgreSQL text cannot hold NUL: one such product name must not roll back the other records of its page.
    good = {"return_id": f"8{next(_pages):09d}", "return_status": "RETURN_OR_REFUND_REQUEST_PENDING",
            "update_time": 1_750_000_000, "refund_amount": {"currency": "USD", "refund_total": "1.00"},
            "return_line_items": [{"return_line_item_id": "1", "product_name": "Mug"}]}
    odd = {**good, "return_id": f"8{next(_pages):09d}", "return_reason_text": value,
           "return_line_items": [{"return_line_item_id": "1", "product_name": value, "seller_sku": value}]}
    _check_page(runtime, account_id, CaseKind.RETURN, [good, odd], [0])
