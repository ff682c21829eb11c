"""Deadlines: how long each waiting status lasts before the platform acts on its own (contract §4.5).

One function answers "when is this request due, and what does the seller have to do before then", for the
ticker (auto-approvals, closures, refund completion), for ``seller_next_action_response`` and for seeding.
"""

from __future__ import annotations

from . import model as m

MINUTE = 60
HOUR = 3600
DAY = 86400

REVIEW_WINDOW = 48 * HOUR  # seller answer to a refund/return/cancel request, and to a delivered return parcel
REPLACEMENT_WINDOW = 24 * HOUR
SHIP_WINDOW = 5 * DAY  # buyer ships the return (Seller University "about 5 days", UNCERTAIN in the contract)
APPEAL_WINDOW = 72 * HOUR  # buyer may escalate a rejection to TikTok
OFFER_WINDOW = 48 * HOUR  # buyer answers a partial-refund offer
REFUND_DELAY = 60  # SUCCESS → COMPLETE: the refund is paid shortly after approval
SELLER_REQUEST_DELAY = 60  # a seller-initiated request needs no review and proceeds by itself


def return_window(rtype: int, status: int, arb: int, role: int) -> int:
    """Seconds the return may stay in ``status`` before the platform moves it; 0 when nothing is scheduled."""
    if arb == m.ARB_IN_PROGRESS:
        return 0  # a TikTok operator decides, on no clock the seller can see
    if status == m.PENDING:
        return SELLER_REQUEST_DELAY if role == m.SELLER else REVIEW_WINDOW
    if status == m.AWAITING_BUYER_SHIP:
        return SHIP_WINDOW
    if status == m.BUYER_SHIPPED_ITEM:
        return REVIEW_WINDOW
    if status in (m.REQUEST_REJECT, m.REJECT_RECEIVE_PACKAGE, m.REPLACEMENT_REJECT):
        return APPEAL_WINDOW
    if status == m.SUCCESS:
        return REFUND_DELAY
    if status == m.AWAITING_BUYER_RESPONSE:
        return OFFER_WINDOW
    if status == m.REPLACEMENT_PENDING:
        return REPLACEMENT_WINDOW
    if status == m.EXCHANGE_PENDING:
        return REVIEW_WINDOW
    return 0


def return_seller_action(rtype: int, status: int, arb: int, role: int) -> str | None:
    """The ``seller_next_action_response`` action awaited from the seller, if any."""
    if arb == m.ARB_IN_PROGRESS or role == m.SELLER:
        return None
    if status == m.PENDING:
        return "SELLER_RESPOND_REFUND" if rtype == m.REFUND else "SELLER_RESPOND_RETURN"
    if status == m.BUYER_SHIPPED_ITEM:
        return "SELLER_RESPOND_RECEIVE_PACKAGE"
    if status == m.REPLACEMENT_PENDING:
        return "SELLER_RESPOND_REPLACEMENT"
    return None


def cancel_window(ctype: int, status: int) -> int:
    if status == m.C_PENDING:
        return REVIEW_WINDOW
    if status == m.C_SUCCESS:
        return REFUND_DELAY
    return 0


def cancel_seller_action(ctype: int, status: int) -> str | None:
    return "SELLER_RESPOND_CANCEL" if status == m.C_PENDING and ctype == m.BUYER_CANCEL else None
