"""The status table, checked exhaustively: every documented value, every legacy code, unknown values."""

from __future__ import annotations

import pytest

from returnbridge.domain.statuses import (
    CANCEL_STATUSES,
    LEGACY_STATUSES,
    RETURN_STATUSES,
    TAB_LABELS,
    CaseKind,
    LabelSet,
    StoreStatus,
    Tab,
    classify,
    statuses_in_tab,
    tab_labels,
)

# Contract §4.1 and §4.3: every documented value (202309 + 202602 exchange + both cancelled spellings).
DOCUMENTED_RETURN = [
    "RETURN_OR_REFUND_REQUEST_PENDING", "REFUND_OR_RETURN_REQUEST_REJECT", "AWAITING_BUYER_SHIP",
    "BUYER_SHIPPED_ITEM", "REJECT_RECEIVE_PACKAGE", "RETURN_OR_REFUND_REQUEST_SUCCESS",
    "RETURN_OR_REFUND_REQUEST_CANCEL", "RETURN_OR_REFUND_REQUEST_COMPLETE", "AWAITING_BUYER_RESPONSE",
    "REPLACEMENT_REQUEST_PENDING", "REPLACEMENT_REQUEST_REJECT", "REPLACEMENT_REQUEST_REFUND_SUCCESS",
    "REPLACEMENT_REQUEST_CANCEL", "REPLACEMENT_REQUEST_COMPLETE", "EXCHANGE_REQUEST_PENDING",
    "EXCHANGE_REQUEST_REFUND_SUCCESS", "EXCHANGE_REQUEST_CANCEL", "EXCHANGE_REQUEST_COMPLETE",
]
DOCUMENTED_CANCEL = [
    "CANCELLATION_REQUEST_PENDING", "CANCELLATION_REQUEST_SUCCESS", "CANCELLATION_REQUEST_CANCEL",
    "CANCELLATION_REQUEST_CANCELLED", "CANCELLATION_REQUEST_COMPLETE",
]

# The expected meaning of each value, written out independently of the table under test.
EXPECTED = {
    "RETURN_OR_REFUND_REQUEST_PENDING": (StoreStatus.REQUESTED, "Request Pending", "Aftersale Applying", True, False),
    "AWAITING_BUYER_RESPONSE": (StoreStatus.PENDING, "Request Pending", "Aftersale Applying", False, False),
    "REFUND_OR_RETURN_REQUEST_REJECT": (
        StoreStatus.REJECTED, "Request Rejected", "Aftersale Reject Application", False, False),
    "AWAITING_BUYER_SHIP": (StoreStatus.PENDING, "Awaiting Buyer Ship", "Aftersale Returning", False, False),
    "BUYER_SHIPPED_ITEM": (StoreStatus.PENDING, "Buyer Shipped Item", "Aftersale Buyer Shipped", True, False),
    "REJECT_RECEIVE_PACKAGE": (
        StoreStatus.REJECTED, "Receive Rejected", "Aftersale Seller Reject Receive", False, False),
    "RETURN_OR_REFUND_REQUEST_SUCCESS": (StoreStatus.ACCEPTED, "Request Completed", "Aftersale Success", False, False),
    "RETURN_OR_REFUND_REQUEST_COMPLETE": (StoreStatus.REFUNDED, "Request Completed", "Complete", False, True),
    "RETURN_OR_REFUND_REQUEST_CANCEL": (StoreStatus.CANCELLED, "Request Cancelled", "Closed", False, True),
    "REPLACEMENT_REQUEST_PENDING": (StoreStatus.REQUESTED, "Request Pending", "Aftersale Applying", True, False),
    "REPLACEMENT_REQUEST_REJECT": (
        StoreStatus.REJECTED, "Request Rejected", "Aftersale Reject Application", False, False),
    "REPLACEMENT_REQUEST_REFUND_SUCCESS": (StoreStatus.REFUNDED, "Request Completed", "Complete", False, True),
    "REPLACEMENT_REQUEST_CANCEL": (StoreStatus.CANCELLED, "Request Cancelled", "Closed", False, True),
    "REPLACEMENT_REQUEST_COMPLETE": (StoreStatus.REPLACED, "Request Completed", "Complete", False, True),
    "EXCHANGE_REQUEST_PENDING": (StoreStatus.REQUESTED, "Request Pending", "Aftersale Applying", True, False),
    "EXCHANGE_REQUEST_REFUND_SUCCESS": (StoreStatus.REFUNDED, "Request Completed", "Complete", False, True),
    "EXCHANGE_REQUEST_CANCEL": (StoreStatus.CANCELLED, "Request Cancelled", "Closed", False, True),
    "EXCHANGE_REQUEST_COMPLETE": (StoreStatus.REPLACED, "Request Completed", "Complete", False, True),
    "CANCELLATION_REQUEST_PENDING": (StoreStatus.REQUESTED, "Request Pending", "Aftersale Applying", True, False),
    "CANCELLATION_REQUEST_SUCCESS": (StoreStatus.ACCEPTED, "Request Completed", "Aftersale Success", False, False),
    "CANCELLATION_REQUEST_COMPLETE": (StoreStatus.REFUNDED, "Request Completed", "Complete", False, True),
    "CANCELLATION_REQUEST_CANCEL": (StoreStatus.CANCELLED, "Request Cancelled", "Closed", False, True),
    "CANCELLATION_REQUEST_CANCELLED": (StoreStatus.CANCELLED, "Request Cancelled", "Closed", False, True),
}


def test_table_covers_exactly_the_documented_values() -> None:
    assert set(RETURN_STATUSES) == set(DOCUMENTED_RETURN)
    assert set(CANCEL_STATUSES) == set(DOCUMENTED_CANCEL)


@pytest.mark.parametrize("raw", DOCUMENTED_RETURN + DOCUMENTED_CANCEL)
def test_each_documented_status_maps_to_its_store_status_tabs_and_action(raw: str) -> None:
    kind = CaseKind.CANCELLATION if raw.startswith("CANCELLATION") else CaseKind.RETURN
    info = classify(kind, raw)
    store, current, legacy, acts, terminal = EXPECTED[raw]
    assert (info.store_status, info.merchant_acts, info.terminal, info.known) == (store, acts, terminal, True)
    assert info.tab_label(LabelSet.CURRENT) == current
    assert info.tab_label(LabelSet.LEGACY) == legacy


def test_both_spellings_of_the_cancelled_cancellation_mean_the_same() -> None:
    short = classify(CaseKind.CANCELLATION, "CANCELLATION_REQUEST_CANCEL")
    long = classify(CaseKind.CANCELLATION, "CANCELLATION_REQUEST_CANCELLED")
    assert (short.store_status, short.tab, short.terminal) == (long.store_status, long.tab, long.terminal)


@pytest.mark.parametrize("code", sorted(LEGACY_STATUSES))
def test_each_legacy_numeric_status_maps_like_its_modern_equivalent(code: int) -> None:
    name, modern = LEGACY_STATUSES[code]
    kind = CaseKind.CANCELLATION if modern.startswith("CANCELLATION") else CaseKind.RETURN
    for raw in (code, str(code), name, name.lower()):
        info = classify(kind, raw)
        expected = classify(kind, modern)
        assert info.legacy_code == code
        assert (info.store_status, info.tab, info.merchant_acts) == (
            expected.store_status, expected.tab, expected.merchant_acts)


@pytest.mark.parametrize("raw", ["SOMETHING_TIKTOK_ADDED_LATER", "", None, "42", "return_or_refund_request_pending"])
def test_unknown_values_are_kept_flagged_and_shown_only_under_all(raw: str | None) -> None:
    info = classify(CaseKind.RETURN, raw)
    assert info.known is False
    assert info.tab is None
    assert info.tab_label(LabelSet.CURRENT) is None
    assert info.merchant_acts is False
    assert info.terminal is False
    assert info.raw == ("" if raw is None else raw)


def test_a_return_status_is_not_recognised_as_a_cancellation_status() -> None:
    assert classify(CaseKind.CANCELLATION, "RETURN_OR_REFUND_REQUEST_PENDING").known is False


@pytest.mark.parametrize("label_set", list(LabelSet))
def test_tab_strip_starts_with_all_and_lists_each_label_once(label_set: LabelSet) -> None:
    labels = tab_labels(label_set)
    assert labels[0] == "All"
    assert len(labels) == len(set(labels))
    assert set(labels[1:]) == set(TAB_LABELS[label_set].values())


def test_tab_strips_match_the_vocabularies_merchants_know() -> None:
    assert tab_labels(LabelSet.CURRENT) == [
        "All", "Request Pending", "Awaiting Buyer Ship", "Buyer Shipped Item", "Request Rejected",
        "Receive Rejected", "Request Completed", "Request Cancelled",
    ]
    assert set(tab_labels(LabelSet.LEGACY)) == {
        "All", "Aftersale Applying", "Aftersale Reject Application", "Aftersale Returning",
        "Aftersale Buyer Shipped", "Aftersale Seller Reject Receive", "Aftersale Success", "Closed", "Complete",
    }


@pytest.mark.parametrize("tab", list(Tab))
def test_statuses_in_tab_are_exactly_those_classified_into_it(tab: Tab) -> None:
    for kind, table in ((CaseKind.RETURN, RETURN_STATUSES), (CaseKind.CANCELLATION, CANCEL_STATUSES)):
        assert set(statuses_in_tab(kind, tab)) == {raw for raw in table if classify(kind, raw).tab is tab}
