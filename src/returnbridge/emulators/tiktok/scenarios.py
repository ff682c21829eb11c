"""The seeded life stories: which path each seeded return or cancellation took to reach its current state.

A scenario fixes type, status, arbitration, flags, initiator, the history steps (which become Get Return Records
entries) and how its times relate to the clock start. The seed walks all scenarios once per shop before drawing
them by weight, so any shop with a few dozen requests shows every type/status/arbitration combination.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import model as m

# Timing classes.
LIVE = "live"  # waiting with a deadline in the future
SETTLING = "settling"  # SUCCESS, completes a few seconds to a minute after the clock start
DISPUTE = "dispute"  # arbitration in progress, no deadline
HISTORY = "history"  # finished, up to 90 days ago

# Pairs: two requests generated together.
CHAIN = "chain"  # the buyer edited a request: the old one closes, the new one points back at it
COMBINED = "combined"  # two returns of one buyer combined into one parcel


@dataclass(frozen=True)
class Scenario:
    key: str
    rtype: int
    status: int
    steps: tuple[str, ...]
    timing: str
    reasons: str  # reasons.CATEGORIES key for the request reason
    weight: int = 1
    arb: int = m.NO_ARBITRATION
    flags: int = 0
    role: int = m.BUYER
    rejects: str = ""  # "request", "request_refund", "parcel", "cancel": category of the seeded reject reason
    order_status: int = m.O_DELIVERED
    pair: str = ""
    markets: frozenset[str] | None = None
    replacement_order: bool = False


_REQ = "buyer_request"
_REJ = "seller_reject_request"
_ESC = "buyer_escalate"
_APR = "seller_approve_return"
_SHIP = "buyer_ship"
_PAY = "system_refund"

RETURN_SCENARIOS: tuple[Scenario, ...] = (
    # Refund only.
    Scenario("refund_pending", m.REFUND, m.PENDING, (_REQ,), LIVE, "buyer_refund_delivered", 6),
    Scenario("refund_pending_in_transit", m.REFUND, m.PENDING, (_REQ,), LIVE, "buyer_refund_shipped", 1,
             order_status=m.O_IN_TRANSIT),
    Scenario("refund_pending_after_offer", m.REFUND, m.PENDING,
             (_REQ, "seller_offer_partial", "buyer_reject_partial"), LIVE, "buyer_refund_delivered", 1,
             flags=m.F_PARTIAL_OFFER | m.F_BUYER_REJECTED_OFFER),
    Scenario("refund_offer", m.REFUND, m.AWAITING_BUYER_RESPONSE, (_REQ, "seller_offer_partial"), LIVE,
             "buyer_refund_delivered", 1, flags=m.F_PARTIAL_OFFER),
    Scenario("refund_rejected", m.REFUND, m.REQUEST_REJECT, (_REQ, _REJ), LIVE, "buyer_refund_delivered", 2,
             rejects="request_refund"),
    Scenario("refund_rejected_disputed", m.REFUND, m.REQUEST_REJECT, (_REQ, _REJ, _ESC), DISPUTE,
             "buyer_refund_delivered", 1, arb=m.ARB_IN_PROGRESS, rejects="request_refund"),
    Scenario("refund_approved", m.REFUND, m.SUCCESS, (_REQ, "seller_approve_refund"), SETTLING,
             "buyer_refund_delivered", 1),
    Scenario("refund_auto_approved", m.REFUND, m.SUCCESS, (_REQ, "system_auto_approve"), SETTLING,
             "buyer_refund_delivered", 1),
    Scenario("refund_complete", m.REFUND, m.COMPLETE, (_REQ, "seller_approve_refund", _PAY), HISTORY,
             "buyer_refund_delivered", 12),
    Scenario("refund_quick", m.REFUND, m.COMPLETE, (_REQ, "system_quick_refund", _PAY), HISTORY,
             "buyer_refund_delivered", 2, flags=m.F_QUICK_REFUND | m.F_KEEP_ITEM),
    Scenario("refund_won_by_buyer", m.REFUND, m.COMPLETE, (_REQ, _REJ, _ESC, "operator_support_buyer", _PAY),
             HISTORY, "buyer_refund_delivered", 1, arb=m.ARB_SUPPORT_BUYER, rejects="request_refund"),
    Scenario("refund_partial_accepted", m.REFUND, m.COMPLETE,
             (_REQ, "seller_offer_partial", "buyer_accept_partial", _PAY), HISTORY, "buyer_refund_delivered", 1,
             flags=m.F_PARTIAL_OFFER | m.F_KEEP_ITEM),
    Scenario("refund_by_seller", m.REFUND, m.COMPLETE, ("seller_request", _PAY), HISTORY,
             "seller_refund_delivered", 1, role=m.SELLER),
    Scenario("refund_by_seller_lost_parcel", m.REFUND, m.COMPLETE, ("seller_request", _PAY), HISTORY,
             "seller_refund_shipped", 1, role=m.SELLER, order_status=m.O_IN_TRANSIT),
    Scenario("refund_withdrawn", m.REFUND, m.CANCEL, (_REQ, "buyer_withdraw"), HISTORY,
             "buyer_refund_delivered", 2),
    Scenario("refund_not_appealed", m.REFUND, m.CANCEL, (_REQ, _REJ, "system_appeal_expired"), HISTORY,
             "buyer_refund_delivered", 1, rejects="request_refund"),
    Scenario("refund_won_by_seller", m.REFUND, m.CANCEL, (_REQ, _REJ, _ESC, "operator_support_seller"),
             HISTORY, "buyer_refund_delivered", 1, arb=m.ARB_SUPPORT_SELLER, rejects="request_refund"),
    Scenario("refund_dispute_withdrawn", m.REFUND, m.CANCEL, (_REQ, _REJ, _ESC, "buyer_withdraw"), HISTORY,
             "buyer_refund_delivered", 1, arb=m.ARB_CLOSED, rejects="request_refund"),
    # Return and refund.
    Scenario("return_pending", m.RETURN_AND_REFUND, m.PENDING, (_REQ,), LIVE, "buyer_return", 6),
    Scenario("return_awaiting_ship", m.RETURN_AND_REFUND, m.AWAITING_BUYER_SHIP, (_REQ, _APR), LIVE,
             "buyer_return", 3),
    Scenario("return_auto_approved", m.RETURN_AND_REFUND, m.AWAITING_BUYER_SHIP, (_REQ, "system_auto_approve"),
             LIVE, "buyer_return", 1),
    Scenario("return_won_by_buyer_awaiting_ship", m.RETURN_AND_REFUND, m.AWAITING_BUYER_SHIP,
             (_REQ, _REJ, _ESC, "operator_support_buyer"), LIVE, "buyer_return", 1, arb=m.ARB_SUPPORT_BUYER,
             rejects="request"),
    Scenario("return_shipped", m.RETURN_AND_REFUND, m.BUYER_SHIPPED_ITEM, (_REQ, _APR, _SHIP), LIVE,
             "buyer_return", 3),
    Scenario("return_parcel_rejected", m.RETURN_AND_REFUND, m.REJECT_RECEIVE_PACKAGE,
             (_REQ, _APR, _SHIP, "seller_reject_parcel"), LIVE, "buyer_return", 1, rejects="parcel"),
    Scenario("return_parcel_rejected_disputed", m.RETURN_AND_REFUND, m.REJECT_RECEIVE_PACKAGE,
             (_REQ, _APR, _SHIP, "seller_reject_parcel", _ESC), DISPUTE, "buyer_return", 1,
             arb=m.ARB_IN_PROGRESS, rejects="parcel"),
    Scenario("return_rejected", m.RETURN_AND_REFUND, m.REQUEST_REJECT, (_REQ, _REJ), LIVE, "buyer_return", 2,
             rejects="request"),
    Scenario("return_rejected_disputed", m.RETURN_AND_REFUND, m.REQUEST_REJECT, (_REQ, _REJ, _ESC), DISPUTE,
             "buyer_return", 1, arb=m.ARB_IN_PROGRESS, rejects="request"),
    Scenario("return_received", m.RETURN_AND_REFUND, m.SUCCESS, (_REQ, _APR, _SHIP, "seller_approve_parcel"),
             SETTLING, "buyer_return", 1),
    Scenario("return_keep_item", m.RETURN_AND_REFUND, m.SUCCESS, (_REQ, "seller_approve_keep"), SETTLING,
             "buyer_return", 1, flags=m.F_KEEP_ITEM),
    Scenario("return_complete", m.RETURN_AND_REFUND, m.COMPLETE,
             (_REQ, _APR, _SHIP, "seller_approve_parcel", _PAY), HISTORY, "buyer_return", 12),
    Scenario("return_auto_received", m.RETURN_AND_REFUND, m.COMPLETE,
             (_REQ, _APR, _SHIP, "system_auto_receive", _PAY), HISTORY, "buyer_return", 2),
    Scenario("return_parcel_won_by_buyer", m.RETURN_AND_REFUND, m.COMPLETE,
             (_REQ, _APR, _SHIP, "seller_reject_parcel", _ESC, "operator_support_buyer", _PAY), HISTORY,
             "buyer_return", 1, arb=m.ARB_SUPPORT_BUYER, rejects="parcel"),
    Scenario("return_keep_item_complete", m.RETURN_AND_REFUND, m.COMPLETE, (_REQ, "seller_approve_keep", _PAY),
             HISTORY, "buyer_return", 1, flags=m.F_KEEP_ITEM),
    Scenario("return_by_seller", m.RETURN_AND_REFUND, m.COMPLETE,
             ("seller_request", _SHIP, "seller_approve_parcel", _PAY), HISTORY, "seller_return", 1,
             role=m.SELLER, markets=frozenset({"US"})),
    Scenario("return_not_shipped", m.RETURN_AND_REFUND, m.CANCEL, (_REQ, _APR, "system_ship_timeout"), HISTORY,
             "buyer_return", 1),
    Scenario("return_withdrawn", m.RETURN_AND_REFUND, m.CANCEL, (_REQ, "buyer_withdraw"), HISTORY,
             "buyer_return", 2),
    Scenario("return_parcel_won_by_seller", m.RETURN_AND_REFUND, m.CANCEL,
             (_REQ, _APR, _SHIP, "seller_reject_parcel", _ESC, "operator_support_seller"), HISTORY,
             "buyer_return", 1, arb=m.ARB_SUPPORT_SELLER, rejects="parcel"),
    Scenario("return_offer", m.RETURN_AND_REFUND, m.AWAITING_BUYER_RESPONSE, (_REQ, "seller_offer_partial"),
             LIVE, "buyer_return", 1, flags=m.F_PARTIAL_OFFER),
    Scenario("return_edited", m.RETURN_AND_REFUND, m.CANCEL, (_REQ, "buyer_edit"), HISTORY, "buyer_return", 1,
             pair=CHAIN),
    Scenario("return_combined", m.RETURN_AND_REFUND, m.COMPLETE,
             (_REQ, _APR, _SHIP, "seller_approve_parcel", _PAY), HISTORY, "buyer_return", 1,
             flags=m.F_COMBINED, pair=COMBINED),
    # Replacement.
    Scenario("replacement_pending", m.REPLACEMENT, m.REPLACEMENT_PENDING, (_REQ,), LIVE, "buyer_return", 2),
    Scenario("replacement_rejected", m.REPLACEMENT, m.REPLACEMENT_REJECT, (_REQ, "seller_reject_replacement"),
             LIVE, "buyer_return", 1, rejects="request"),
    Scenario("replacement_rejected_disputed", m.REPLACEMENT, m.REPLACEMENT_REJECT,
             (_REQ, "seller_reject_replacement", _ESC), DISPUTE, "buyer_return", 1, arb=m.ARB_IN_PROGRESS,
             rejects="request"),
    Scenario("replacement_sent", m.REPLACEMENT, m.REPLACEMENT_COMPLETE, (_REQ, "seller_approve_replacement"),
             HISTORY, "buyer_return", 2, replacement_order=True),
    Scenario("replacement_auto_sent", m.REPLACEMENT, m.REPLACEMENT_COMPLETE, (_REQ, "system_auto_replacement"),
             HISTORY, "buyer_return", 1, replacement_order=True),
    Scenario("replacement_won_by_buyer", m.REPLACEMENT, m.REPLACEMENT_COMPLETE,
             (_REQ, "seller_reject_replacement", _ESC, "operator_support_buyer"), HISTORY, "buyer_return", 1,
             arb=m.ARB_SUPPORT_BUYER, rejects="request", replacement_order=True),
    Scenario("replacement_refunded", m.REPLACEMENT, m.REPLACEMENT_REFUND_SUCCESS,
             (_REQ, "seller_replacement_refund"), HISTORY, "buyer_return", 1),
    Scenario("replacement_withdrawn", m.REPLACEMENT, m.REPLACEMENT_CANCEL, (_REQ, "buyer_withdraw"), HISTORY,
             "buyer_return", 1),
    Scenario("replacement_won_by_seller", m.REPLACEMENT, m.REPLACEMENT_CANCEL,
             (_REQ, "seller_reject_replacement", _ESC, "operator_support_seller"), HISTORY, "buyer_return", 1,
             arb=m.ARB_SUPPORT_SELLER, rejects="request"),
    # Exchange (202602+, US/UK only; hidden from 202309 searches).
    Scenario("exchange_pending", m.EXCHANGE, m.EXCHANGE_PENDING, (_REQ,), LIVE, "buyer_return", 1,
             markets=frozenset({"US", "GB"})),
    Scenario("exchange_refunded", m.EXCHANGE, m.EXCHANGE_REFUND_SUCCESS, (_REQ, "seller_exchange_refund"),
             HISTORY, "buyer_return", 1, markets=frozenset({"US", "GB"})),
    Scenario("exchange_withdrawn", m.EXCHANGE, m.EXCHANGE_CANCEL, (_REQ, "buyer_withdraw"), HISTORY,
             "buyer_return", 1, markets=frozenset({"US", "GB"})),
    Scenario("exchange_sent", m.EXCHANGE, m.EXCHANGE_COMPLETE, (_REQ, "seller_approve_exchange"), HISTORY,
             "buyer_return", 1, markets=frozenset({"US", "GB"})),
)

# The second half of a chain: the request the buyer filed instead of the edited one.
CHAIN_SUCCESSOR = Scenario("return_edited_successor", m.RETURN_AND_REFUND, m.PENDING, (_REQ,), LIVE,
                           "buyer_return", 0)

CANCEL_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("buyer_cancel_pending", m.BUYER_CANCEL, m.C_PENDING, ("buyer_cancel_request",), LIVE,
             "buyer_cancel_to_ship", 3, order_status=m.O_AWAITING_SHIPMENT),
    Scenario("buyer_cancel_approved", m.BUYER_CANCEL, m.C_SUCCESS,
             ("buyer_cancel_request", "seller_approve_cancel"), SETTLING, "buyer_cancel_to_ship", 1,
             order_status=m.O_CANCELLED),
    Scenario("buyer_cancel_complete", m.BUYER_CANCEL, m.C_COMPLETE,
             ("buyer_cancel_request", "seller_approve_cancel", _PAY), HISTORY, "buyer_cancel_to_ship", 5,
             order_status=m.O_CANCELLED),
    Scenario("buyer_cancel_auto_approved", m.BUYER_CANCEL, m.C_COMPLETE,
             ("buyer_cancel_request", "system_auto_approve_cancel", _PAY), HISTORY, "buyer_cancel_to_ship", 1,
             order_status=m.O_CANCELLED),
    Scenario("buyer_cancel_rejected", m.BUYER_CANCEL, m.C_CANCEL, ("buyer_cancel_request", "seller_reject_cancel"),
             HISTORY, "buyer_cancel_to_ship", 2, rejects="cancel", order_status=m.O_DELIVERED),
    Scenario("buyer_cancel_withdrawn", m.BUYER_CANCEL, m.C_CANCEL,
             ("buyer_cancel_request", "buyer_withdraw_cancel"), HISTORY, "buyer_cancel_to_ship", 1,
             order_status=m.O_DELIVERED),
    Scenario("buyer_cancel_unpaid", m.BUYER_CANCEL, m.C_COMPLETE, ("buyer_cancel_request", _PAY), HISTORY,
             "buyer_cancel_unpaid", 1, order_status=m.O_CANCELLED),
    Scenario("seller_cancel_recent", m.DIRECT_CANCEL, m.C_SUCCESS, ("seller_cancel",), SETTLING,
             "seller_cancel_paid", 1, role=m.SELLER, order_status=m.O_CANCELLED),
    Scenario("seller_cancel", m.DIRECT_CANCEL, m.C_COMPLETE, ("seller_cancel", _PAY), HISTORY,
             "seller_cancel_paid", 4, role=m.SELLER, order_status=m.O_CANCELLED),
    # Older data: the reason appendix lists seller reasons for unpaid orders although the overview says sellers
    # cannot cancel unpaid orders; Cancel Order follows the overview, the history keeps the reasons visible.
    Scenario("seller_cancel_unpaid", m.DIRECT_CANCEL, m.C_COMPLETE, ("seller_cancel", _PAY), HISTORY,
             "seller_cancel_unpaid", 1, role=m.SELLER, order_status=m.O_CANCELLED),
    Scenario("system_cancel", m.DIRECT_CANCEL, m.C_COMPLETE, ("system_cancel", _PAY), HISTORY, "system_cancel", 2,
             role=m.SYSTEM, order_status=m.O_CANCELLED),
    Scenario("operator_cancel", m.DIRECT_CANCEL, m.C_COMPLETE, ("operator_cancel", _PAY), HISTORY,
             "operator_cancel", 1, role=m.OPERATOR, order_status=m.O_CANCELLED),
)

# Scenario numbers stored in the columns; LIVE_MADE marks requests created while the emulator runs.
RETURN_NUMBER = {s.key: i for i, s in enumerate(RETURN_SCENARIOS)}
CHAIN_SUCCESSOR_NUMBER = len(RETURN_SCENARIOS)
CANCEL_NUMBER = {s.key: i for i, s in enumerate(CANCEL_SCENARIOS)}
LIVE_MADE = 65535


def return_scenario(number: int) -> Scenario | None:
    if number < len(RETURN_SCENARIOS):
        return RETURN_SCENARIOS[number]
    if number == CHAIN_SUCCESSOR_NUMBER:
        return CHAIN_SUCCESSOR
    return None


def cancel_scenario(number: int) -> Scenario | None:
    return CANCEL_SCENARIOS[number] if number < len(CANCEL_SCENARIOS) else None
