"""Every TikTok after-sale status, mapped once to what the merchant sees.

One table answers, for a raw ``return_status`` / ``cancel_status`` (202309 values, both spellings of the cancelled
state, the legacy numeric reverse statuses 1–100 and their names, and values nobody has seen yet):
the store-side workflow status, the tab in each label set, whether the merchant is expected to act, and whether the
request is over. Nothing else in the product interprets status strings.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CaseKind(enum.StrEnum):
    RETURN = "return"  # refund-only, return-and-refund, replacement, exchange: TikTok's "returns"
    CANCELLATION = "cancellation"


class StoreStatus(enum.StrEnum):
    """The store-side workflow: Requested → Pending → Accepted → Refunded / Rejected, plus Cancelled and Replaced."""

    REQUESTED = "Requested"  # the buyer asked; the merchant has not decided yet
    PENDING = "Pending"  # under way, waiting on the buyer, the carrier or TikTok
    ACCEPTED = "Accepted"  # approved; TikTok is paying the refund
    REFUNDED = "Refunded"  # the refund is paid
    REJECTED = "Rejected"  # the merchant said no (the buyer may still appeal)
    CANCELLED = "Cancelled"  # withdrawn by the buyer, closed by TikTok, or lost on appeal
    REPLACED = "Replaced"  # resolved with a replacement or exchange order instead of money


class LabelSet(enum.StrEnum):
    CURRENT = "current"
    LEGACY = "legacy"


class Tab(enum.StrEnum):
    """The status tabs of the returns grid (the "All" tab shows everything and is not listed here)."""

    REQUEST_PENDING = "request_pending"
    AWAITING_BUYER_SHIP = "awaiting_buyer_ship"
    BUYER_SHIPPED = "buyer_shipped"
    REQUEST_REJECTED = "request_rejected"
    RECEIVE_REJECTED = "receive_rejected"
    REQUEST_SUCCESS = "request_success"
    REQUEST_COMPLETED = "request_completed"
    REQUEST_CANCELLED = "request_cancelled"


# The two vocabularies merchants know from today's connectors (PRODUCT.md). The current set has no separate
# "success" tab, so approved-but-not-yet-paid requests sit under "Request Completed" there.
TAB_LABELS: dict[LabelSet, dict[Tab, str]] = {
    LabelSet.CURRENT: {
        Tab.REQUEST_PENDING: "Request Pending",
        Tab.AWAITING_BUYER_SHIP: "Awaiting Buyer Ship",
        Tab.BUYER_SHIPPED: "Buyer Shipped Item",
        Tab.REQUEST_REJECTED: "Request Rejected",
        Tab.RECEIVE_REJECTED: "Receive Rejected",
        Tab.REQUEST_SUCCESS: "Request Completed",
        Tab.REQUEST_COMPLETED: "Request Completed",
        Tab.REQUEST_CANCELLED: "Request Cancelled",
    },
    LabelSet.LEGACY: {
        Tab.REQUEST_PENDING: "Aftersale Applying",
        Tab.AWAITING_BUYER_SHIP: "Aftersale Returning",
        Tab.BUYER_SHIPPED: "Aftersale Buyer Shipped",
        Tab.REQUEST_REJECTED: "Aftersale Reject Application",
        Tab.RECEIVE_REJECTED: "Aftersale Seller Reject Receive",
        Tab.REQUEST_SUCCESS: "Aftersale Success",
        Tab.REQUEST_COMPLETED: "Complete",
        Tab.REQUEST_CANCELLED: "Closed",
    },
}

ALL_TAB_LABEL = "All"


def tab_labels(label_set: LabelSet) -> list[str]:
    """The tab strip in display order, "All" first, each label once."""
    labels = [ALL_TAB_LABEL]
    for tab in Tab:
        label = TAB_LABELS[label_set][tab]
        if label not in labels:
            labels.append(label)
    return labels


@dataclass(frozen=True)
class StatusInfo:
    raw: str
    kind: CaseKind
    store_status: StoreStatus
    tab: Tab | None  # None: an unknown value, shown only under "All"
    merchant_acts: bool  # TikTok waits for the seller in this status (and decides alone at the deadline)
    terminal: bool
    known: bool = True
    legacy_code: int | None = None

    def tab_label(self, label_set: LabelSet) -> str | None:
        return TAB_LABELS[label_set][self.tab] if self.tab is not None else None


def _info(
    raw: str, kind: CaseKind, store: StoreStatus, tab: Tab, *, acts: bool = False, terminal: bool = False,
    legacy: int | None = None,
) -> StatusInfo:
    return StatusInfo(raw, kind, store, tab, acts, terminal, True, legacy)


_R, _C = CaseKind.RETURN, CaseKind.CANCELLATION
S = StoreStatus

RETURN_STATUSES: dict[str, StatusInfo] = {
    info.raw: info
    for info in (
        _info("RETURN_OR_REFUND_REQUEST_PENDING", _R, S.REQUESTED, Tab.REQUEST_PENDING, acts=True, legacy=1),
        # The seller countered (e.g. a partial refund): the buyer's turn, still an open request.
        _info("AWAITING_BUYER_RESPONSE", _R, S.PENDING, Tab.REQUEST_PENDING),
        _info("REFUND_OR_RETURN_REQUEST_REJECT", _R, S.REJECTED, Tab.REQUEST_REJECTED, legacy=2),
        _info("AWAITING_BUYER_SHIP", _R, S.PENDING, Tab.AWAITING_BUYER_SHIP, legacy=3),
        _info("BUYER_SHIPPED_ITEM", _R, S.PENDING, Tab.BUYER_SHIPPED, acts=True, legacy=4),
        _info("REJECT_RECEIVE_PACKAGE", _R, S.REJECTED, Tab.RECEIVE_REJECTED, legacy=5),
        _info("RETURN_OR_REFUND_REQUEST_SUCCESS", _R, S.ACCEPTED, Tab.REQUEST_SUCCESS, legacy=50),
        _info("RETURN_OR_REFUND_REQUEST_COMPLETE", _R, S.REFUNDED, Tab.REQUEST_COMPLETED, terminal=True, legacy=100),
        _info("RETURN_OR_REFUND_REQUEST_CANCEL", _R, S.CANCELLED, Tab.REQUEST_CANCELLED, terminal=True, legacy=99),
        _info("REPLACEMENT_REQUEST_PENDING", _R, S.REQUESTED, Tab.REQUEST_PENDING, acts=True),
        _info("REPLACEMENT_REQUEST_REJECT", _R, S.REJECTED, Tab.REQUEST_REJECTED),
        _info("REPLACEMENT_REQUEST_REFUND_SUCCESS", _R, S.REFUNDED, Tab.REQUEST_COMPLETED, terminal=True),
        _info("REPLACEMENT_REQUEST_CANCEL", _R, S.CANCELLED, Tab.REQUEST_CANCELLED, terminal=True),
        _info("REPLACEMENT_REQUEST_COMPLETE", _R, S.REPLACED, Tab.REQUEST_COMPLETED, terminal=True),
        _info("EXCHANGE_REQUEST_PENDING", _R, S.REQUESTED, Tab.REQUEST_PENDING, acts=True),
        _info("EXCHANGE_REQUEST_REFUND_SUCCESS", _R, S.REFUNDED, Tab.REQUEST_COMPLETED, terminal=True),
        _info("EXCHANGE_REQUEST_CANCEL", _R, S.CANCELLED, Tab.REQUEST_CANCELLED, terminal=True),
        _info("EXCHANGE_REQUEST_COMPLETE", _R, S.REPLACED, Tab.REQUEST_COMPLETED, terminal=True),
    )
}

CANCEL_STATUSES: dict[str, StatusInfo] = {
    info.raw: info
    for info in (
        _info("CANCELLATION_REQUEST_PENDING", _C, S.REQUESTED, Tab.REQUEST_PENDING, acts=True),
        _info("CANCELLATION_REQUEST_SUCCESS", _C, S.ACCEPTED, Tab.REQUEST_SUCCESS, legacy=51),
        _info("CANCELLATION_REQUEST_COMPLETE", _C, S.REFUNDED, Tab.REQUEST_COMPLETED, terminal=True),
        # Search results say _CANCEL, the type-11 webhook says _CANCELLED (contract §4.3): the same state.
        _info("CANCELLATION_REQUEST_CANCEL", _C, S.CANCELLED, Tab.REQUEST_CANCELLED, terminal=True),
        _info("CANCELLATION_REQUEST_CANCELLED", _C, S.CANCELLED, Tab.REQUEST_CANCELLED, terminal=True),
    )
}

# Pre-202309 reverse-order statuses (contract §4.6), by number and by name, as older payloads and UIs carry them.
LEGACY_STATUSES: dict[int, tuple[str, str]] = {
    1: ("AFTERSALE_APPLYING", "RETURN_OR_REFUND_REQUEST_PENDING"),
    2: ("AFTERSALE_REJECT_APPLICATION", "REFUND_OR_RETURN_REQUEST_REJECT"),
    3: ("AFTERSALE_RETURNING", "AWAITING_BUYER_SHIP"),
    4: ("AFTERSALE_BUYER_SHIPPED", "BUYER_SHIPPED_ITEM"),
    5: ("AFTERSALE_SELLER_REJECT_RECEIVE", "REJECT_RECEIVE_PACKAGE"),
    50: ("AFTERSALE_SUCCESS", "RETURN_OR_REFUND_REQUEST_SUCCESS"),
    51: ("CANCEL_SUCCESS", "CANCELLATION_REQUEST_SUCCESS"),
    99: ("CLOSED", "RETURN_OR_REFUND_REQUEST_CANCEL"),
    100: ("COMPLETE", "RETURN_OR_REFUND_REQUEST_COMPLETE"),
}
_LEGACY_BY_NAME = {name: (code, modern) for code, (name, modern) in LEGACY_STATUSES.items()}


def classify(kind: CaseKind, raw_status: str | int | None) -> StatusInfo:
    """What a raw TikTok status means for the merchant. Never raises: unknown values are kept and flagged."""
    raw = "" if raw_status is None else str(raw_status).strip()
    table = RETURN_STATUSES if kind is CaseKind.RETURN else CANCEL_STATUSES
    if raw in table:
        return table[raw]
    legacy = _legacy(raw)
    if legacy is not None:
        code, modern = legacy
        modern_info = RETURN_STATUSES.get(modern) or CANCEL_STATUSES[modern]
        return StatusInfo(
            raw, kind, modern_info.store_status, modern_info.tab, modern_info.merchant_acts, modern_info.terminal,
            True, code,
        )
    # A value we have never seen (TikTok adds states over time): keep the case visible and untouched, under "All"
    # only, and never treat it as finished or as waiting for the merchant.
    return StatusInfo(raw, kind, StoreStatus.PENDING, None, False, False, known=False)


def _legacy(raw: str) -> tuple[int, str] | None:
    # isascii: "²" and "①" are digits to str.isdigit but not to int(), and TikTok's text is not ours to trust.
    if raw.isascii() and raw.isdigit() and int(raw) in LEGACY_STATUSES:
        code = int(raw)
        return code, LEGACY_STATUSES[code][1]
    return _LEGACY_BY_NAME.get(raw.upper())


def statuses_in_tab(kind: CaseKind, tab: Tab) -> list[str]:
    """Raw 202309 values that belong to a tab (for filtering the grid in SQL)."""
    table = RETURN_STATUSES if kind is CaseKind.RETURN else CANCEL_STATUSES
    return [raw for raw, info in table.items() if info.tab is tab]
