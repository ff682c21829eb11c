"""The emulator's data: shops and sellers, enum code tables, and the compact column tables for requests/orders.

Requests and orders live in column tables (``array``/``bytearray`` per field, one row per record) so that a
million seeded returns cost a few bytes of filterable state each. Everything a search can filter on is a column
and is the single source of truth for that field; everything else (line items, amounts, history) is derived from
the seed on first read and kept in a per-row detail object from then on.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any

import orjson

RETURN_TYPES = ("REFUND", "RETURN_AND_REFUND", "REPLACEMENT", "EXCHANGE")
REFUND, RETURN_AND_REFUND, REPLACEMENT, EXCHANGE = range(4)

RETURN_STATUSES = (
    "RETURN_OR_REFUND_REQUEST_PENDING",
    "REFUND_OR_RETURN_REQUEST_REJECT",
    "AWAITING_BUYER_SHIP",
    "BUYER_SHIPPED_ITEM",
    "REJECT_RECEIVE_PACKAGE",
    "RETURN_OR_REFUND_REQUEST_SUCCESS",
    "RETURN_OR_REFUND_REQUEST_CANCEL",
    "RETURN_OR_REFUND_REQUEST_COMPLETE",
    "AWAITING_BUYER_RESPONSE",
    "REPLACEMENT_REQUEST_PENDING",
    "REPLACEMENT_REQUEST_REJECT",
    "REPLACEMENT_REQUEST_REFUND_SUCCESS",
    "REPLACEMENT_REQUEST_CANCEL",
    "REPLACEMENT_REQUEST_COMPLETE",
    "EXCHANGE_REQUEST_PENDING",
    "EXCHANGE_REQUEST_REFUND_SUCCESS",
    "EXCHANGE_REQUEST_CANCEL",
    "EXCHANGE_REQUEST_COMPLETE",
)
(
    PENDING,
    REQUEST_REJECT,
    AWAITING_BUYER_SHIP,
    BUYER_SHIPPED_ITEM,
    REJECT_RECEIVE_PACKAGE,
    SUCCESS,
    CANCEL,
    COMPLETE,
    AWAITING_BUYER_RESPONSE,
    REPLACEMENT_PENDING,
    REPLACEMENT_REJECT,
    REPLACEMENT_REFUND_SUCCESS,
    REPLACEMENT_CANCEL,
    REPLACEMENT_COMPLETE,
    EXCHANGE_PENDING,
    EXCHANGE_REFUND_SUCCESS,
    EXCHANGE_CANCEL,
    EXCHANGE_COMPLETE,
) = range(len(RETURN_STATUSES))

# Which statuses each return type can be in (the seed covers every pair listed here).
STATUSES_BY_TYPE: dict[int, tuple[int, ...]] = {
    REFUND: (PENDING, REQUEST_REJECT, SUCCESS, CANCEL, COMPLETE, AWAITING_BUYER_RESPONSE),
    RETURN_AND_REFUND: (
        PENDING, REQUEST_REJECT, AWAITING_BUYER_SHIP, BUYER_SHIPPED_ITEM, REJECT_RECEIVE_PACKAGE, SUCCESS, CANCEL,
        COMPLETE, AWAITING_BUYER_RESPONSE,
    ),
    REPLACEMENT: (
        REPLACEMENT_PENDING, REPLACEMENT_REJECT, REPLACEMENT_REFUND_SUCCESS, REPLACEMENT_CANCEL,
        REPLACEMENT_COMPLETE,
    ),
    EXCHANGE: (EXCHANGE_PENDING, EXCHANGE_REFUND_SUCCESS, EXCHANGE_CANCEL, EXCHANGE_COMPLETE),
}
CLOSED_STATUSES = frozenset({CANCEL, REPLACEMENT_CANCEL, EXCHANGE_CANCEL})
TERMINAL_STATUSES = frozenset(
    {CANCEL, COMPLETE, REPLACEMENT_REFUND_SUCCESS, REPLACEMENT_CANCEL, REPLACEMENT_COMPLETE, EXCHANGE_REFUND_SUCCESS,
     EXCHANGE_CANCEL, EXCHANGE_COMPLETE}
)
# A finished request whose units can no longer be returned again (the money went back or a new item was sent).
DONE_STATUSES = frozenset(
    {SUCCESS, COMPLETE, REPLACEMENT_REFUND_SUCCESS, REPLACEMENT_COMPLETE, EXCHANGE_REFUND_SUCCESS, EXCHANGE_COMPLETE}
)

ARBITRATION = ("", "IN_PROGRESS", "SUPPORT_BUYER", "SUPPORT_SELLER", "CLOSED")
NO_ARBITRATION, ARB_IN_PROGRESS, ARB_SUPPORT_BUYER, ARB_SUPPORT_SELLER, ARB_CLOSED = range(5)

ROLES = ("BUYER", "SELLER", "OPERATOR", "SYSTEM")
BUYER, SELLER, OPERATOR, SYSTEM = range(4)

CANCEL_TYPES = ("CANCEL", "BUYER_CANCEL")
DIRECT_CANCEL, BUYER_CANCEL = range(2)
CANCEL_STATUSES = (
    "CANCELLATION_REQUEST_PENDING",
    "CANCELLATION_REQUEST_SUCCESS",
    "CANCELLATION_REQUEST_CANCEL",
    "CANCELLATION_REQUEST_COMPLETE",
)
C_PENDING, C_SUCCESS, C_CANCEL, C_COMPLETE = range(4)
# The type-11 webhook spells the closed state differently from Search Cancellations (contract §4.3).
WEBHOOK_CANCEL_STATUSES = (
    "CANCELLATION_REQUEST_PENDING",
    "CANCELLATION_REQUEST_SUCCESS",
    "CANCELLATION_REQUEST_CANCELLED",
    "CANCELLATION_REQUEST_COMPLETE",
)

ORDER_STATUSES = (
    "UNPAID",
    "ON_HOLD",
    "AWAITING_SHIPMENT",
    "PARTIALLY_SHIPPING",
    "AWAITING_COLLECTION",
    "IN_TRANSIT",
    "DELIVERED",
    "COMPLETED",
    "CANCELLED",
)
O_UNPAID, O_ON_HOLD, O_AWAITING_SHIPMENT, O_PARTIALLY_SHIPPING, O_AWAITING_COLLECTION, O_IN_TRANSIT, O_DELIVERED, \
    O_COMPLETED, O_CANCELLED = range(len(ORDER_STATUSES))
SHIPPED_ORDER_STATUSES = frozenset({O_AWAITING_COLLECTION, O_IN_TRANSIT, O_DELIVERED, O_COMPLETED})

# Return row flags (one byte per row).
F_PARTIAL_OFFER = 1  # seller_proposed_return_type = PARTIAL_REFUND
F_KEEP_ITEM = 2  # can_buyer_keep_item
F_QUICK_REFUND = 4  # is_quick_refund (202602+)
F_BUYER_REJECTED_OFFER = 8  # buyer_rejected_partial_refund
F_COMBINED = 16  # is_combined_return

# Order kinds: what a seeded order was made for (tells the materialiser how to shape its timeline).
K_PLAIN, K_RETURN, K_CANCEL, K_REPLACEMENT = range(4)


@dataclass(frozen=True)
class Shop:
    id: str
    cipher: str
    name: str
    region: str
    currency: str
    seller_type: str
    code: str
    seller_id: str


@dataclass
class Seller:
    id: str
    name: str
    base_region: str
    shop_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ChangeEvent:
    """One status change; the SERVER turns it into a signed webhook (contract §5.3)."""

    shop_id: str
    type: int
    data: dict[str, Any]


class RequestTable:
    """Returns or cancellations of one shop: one row per request, one column per filterable field."""

    def __init__(self) -> None:
        self.order = array("q")  # row in the shop's order table
        self.rtype = bytearray()  # return type / cancel type code
        self.status = bytearray()
        self.arb = bytearray()
        self.flags = bytearray()
        self.role = bytearray()  # initiator
        self.scenario = array("H")  # seeded scenario number (LIVE for requests made while running)
        self.reason = array("H")  # reasons.NUMBER of the request reason
        self.reason2 = array("H")  # reasons.NUMBER of the seeded reject reason, if any
        self.units = bytearray()  # bit mask of the order's units (line items) this request covers
        self.ctime = array("q")
        self.utime = array("q")
        self.stime = array("q")  # when the current status began (deadlines count from it)
        self.token = array("L")  # bumps on every change; a timer carrying an older token is stale
        self.details: dict[int, Any] = {}
        self.fragments: dict[tuple[int, str], orjson.Fragment] = {}
        self.version = 0

    def __len__(self) -> int:
        return len(self.ctime)

    def append(self, *, order: int, rtype: int, status: int, arb: int, flags: int, role: int, scenario: int,
               reason: int, reason2: int, units: int, ctime: int, utime: int, stime: int) -> int:
        self.order.append(order)
        self.rtype.append(rtype)
        self.status.append(status)
        self.arb.append(arb)
        self.flags.append(flags)
        self.role.append(role)
        self.scenario.append(scenario)
        self.reason.append(reason)
        self.reason2.append(reason2)
        self.units.append(units)
        self.ctime.append(ctime)
        self.utime.append(utime)
        self.stime.append(stime)
        self.token.append(0)
        self.version += 1
        return len(self.ctime) - 1

    def forget(self, row: int) -> None:
        """Drop the cached encodings of a row that changed."""
        for variant in ("202309", "202602"):
            self.fragments.pop((row, variant), None)
        self.version += 1


class OrderTable:
    """Orders of one shop. Seeded orders are columns until first read, then an Order object in ``details``."""

    def __init__(self) -> None:
        self.ctime = array("q")
        self.utime = array("q")
        self.status = bytearray()
        self.buyer = array("q")
        self.nunits = bytearray()
        self.fbt = bytearray()  # 1 = FULFILLMENT_BY_TIKTOK
        self.kind = bytearray()
        self.link = array("q")  # first request row this order was made for (-1 none)
        self.details: dict[int, Any] = {}
        self.returns: dict[int, list[int]] = {}  # order row → return rows, beyond the seeded link
        self.cancels: dict[int, list[int]] = {}
        self.fragments: dict[int, orjson.Fragment] = {}
        self.version = 0

    def __len__(self) -> int:
        return len(self.ctime)

    def append(self, *, ctime: int, utime: int, status: int, buyer: int, nunits: int, fbt: int, kind: int,
               link: int) -> int:
        self.ctime.append(ctime)
        self.utime.append(utime)
        self.status.append(status)
        self.buyer.append(buyer)
        self.nunits.append(nunits)
        self.fbt.append(fbt)
        self.kind.append(kind)
        self.link.append(link)
        self.version += 1
        return len(self.ctime) - 1

    def forget(self, row: int) -> None:
        self.fragments.pop(row, None)
        self.version += 1
