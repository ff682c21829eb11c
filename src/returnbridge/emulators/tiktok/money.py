"""Refund maths for returns, cancellations and Calculate Refund, all in minor units.

Rules (the emulator's reading of contract §3.1/§3.8/§7.3):
- a unit's refund subtotal is what the buyer paid for it: original − seller discount − platform discount;
- its tax is the unit's product tax (US); other markets price tax-inclusive, so tax is 0;
- outbound shipping is refunded only when the request covers every unit of the order and the reason is the
  seller's fault (not buyer remorse), and always for cancellations;
- refund_total = subtotal + shipping + tax by default, subtotal + shipping with the documented switch;
- the request-level amounts are the sums of the line amounts, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import amounts
from . import reasons as rs
from .details import Order


@dataclass
class Refund:
    subtotal: int = 0
    shipping: int = 0
    tax: int = 0
    total: int = 0

    def add(self, other: Refund) -> None:
        self.subtotal += other.subtotal
        self.shipping += other.shipping
        self.tax += other.tax
        self.total += other.total


@dataclass
class RefundBreakdown:
    lines: list[Refund]
    total: Refund
    ship_refunded: bool
    platform_discount: int
    seller_discount: int
    ship_platform_discount: int
    ship_seller_discount: int


def refunds_shipping(order: Order, positions: list[int], reason: str, *, cancellation: bool = False) -> bool:
    covers_all = len(set(positions)) == len(order.units)
    return covers_all and (cancellation or reason not in rs.REMORSE)


def breakdown(order: Order, positions: list[int], reason: str, *, includes_tax: bool,
              override_total: int | None = None, cancellation: bool = False, unpaid: bool = False,
              ) -> RefundBreakdown:
    ship = refunds_shipping(order, positions, reason, cancellation=cancellation) and not unpaid
    lines = []
    for position in positions:
        unit = order.units[position]
        if unpaid:
            lines.append(Refund())
            continue
        line = Refund(unit.sale, unit.ship_share if ship else 0, unit.tax)
        line.total = line.subtotal + line.shipping + (line.tax if includes_tax else 0)
        lines.append(line)
    if override_total is not None:
        shares = amounts.split_by_weight(override_total, [line.total for line in lines])
        lines = [Refund(share, 0, 0, share) for share in shares]
    total = Refund()
    for line in lines:
        total.add(line)
    units = [order.units[p] for p in positions]
    return RefundBreakdown(
        lines=lines,
        total=total,
        ship_refunded=ship,
        platform_discount=sum(u.platform_discount for u in units),
        seller_discount=sum(u.seller_discount for u in units),
        ship_platform_discount=order.ship_platform_discount if ship else 0,
        ship_seller_discount=order.ship_seller_discount if ship else 0,
    )


def amount_object(refund: Refund, currency: str, market: str) -> dict[str, str]:
    """The ``refund_amount`` object (return, return line, cancellation, cancellation line)."""
    out = {
        "currency": currency,
        "refund_total": amounts.fmt(refund.total, currency),
        "refund_subtotal": amounts.fmt(refund.subtotal, currency),
        "refund_shipping_fee": amounts.fmt(refund.shipping, currency),
        "refund_tax": amounts.fmt(refund.tax, currency),
    }
    # Fees are never refunded by the emulator (so the documented total formula holds exactly), but the
    # markets that have them show the field.
    if market == "US":
        out["retail_delivery_fee"] = amounts.fmt(0, currency)
    if market == "ID":
        out["buyer_service_fee"] = amounts.fmt(0, currency)
    return out
