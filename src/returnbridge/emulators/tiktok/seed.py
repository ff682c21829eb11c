"""Deterministic bulk seeding: shops' orders, returns and cancellations as compact column rows.

Only what searches filter on and what fixes a request's story is drawn here (scenario, times, buyer, units,
reasons); line items, amounts and history are derived from the row later (``details``), so a million returns
seed in seconds. The same seed and the same sequence of calls give the same rows.
"""

from __future__ import annotations

import functools
import random

from . import model as m
from . import reasons as rs
from . import scenarios as sc
from .book import ShopBook
from .ids import IdCodec, IdKind
from .timing import DAY, HOUR, MINUTE, cancel_window, return_window

# Order statuses of orders that have no request, in the proportions the seed cycles through.
_PLAIN_STATUSES = (
    m.O_UNPAID, m.O_ON_HOLD, m.O_AWAITING_SHIPMENT, m.O_AWAITING_SHIPMENT, m.O_PARTIALLY_SHIPPING,
    m.O_AWAITING_COLLECTION, m.O_IN_TRANSIT, m.O_IN_TRANSIT, m.O_DELIVERED, m.O_DELIVERED, m.O_DELIVERED,
    m.O_DELIVERED, m.O_COMPLETED, m.O_COMPLETED,
)
# How long ago plain orders in each status were placed: (minimum, spread) in seconds.
_PLAIN_AGE = {
    m.O_UNPAID: (5 * MINUTE, 40 * MINUTE),
    m.O_ON_HOLD: (2 * MINUTE, 45 * MINUTE),
    m.O_AWAITING_SHIPMENT: (HOUR, 2 * DAY),
    m.O_PARTIALLY_SHIPPING: (DAY, 2 * DAY),
    m.O_AWAITING_COLLECTION: (DAY, 2 * DAY),
    m.O_IN_TRANSIT: (2 * DAY, 4 * DAY),
    m.O_DELIVERED: (4 * DAY, 16 * DAY),
    m.O_COMPLETED: (20 * DAY, 70 * DAY),
}
MIN_PLAIN_ORDERS = 28
C_UNPAID = 1  # cancellation row flag: the order was never paid, so nothing is refunded
DELIVERED_TO_COMPLETED = 15 * DAY  # a delivered order becomes COMPLETED once the return window is long over


def stream(seed: int, slot: int, batch: int) -> random.Random:
    return random.Random((seed * 1_000_003 + slot) * 1_000_033 + batch)


def _order_units(r: float) -> int:
    return 1 + (r < 0.35) + (r < 0.15) + (r < 0.05)


def _market_scenarios(pool: tuple[sc.Scenario, ...], market: str) -> list[int]:
    return [i for i, s in enumerate(pool) if s.markets is None or market in s.markets]


def _plan(rng: random.Random, pool: tuple[sc.Scenario, ...], numbers: list[int], count: int, first: bool) -> list[int]:
    """Scenario numbers for ``count`` requests: every scenario once (first batch of a shop), then by weight."""
    plan: list[int] = []
    if first:
        cover = numbers[:]
        rng.shuffle(cover)
        plan.extend(cover[:count])
    rest = count - len(plan)
    if rest > 0:
        weights = [pool[i].weight for i in numbers]
        plan.extend(rng.choices(numbers, weights=weights, k=rest))
    return plan


def _reason(book: ShopBook, category: str) -> int:
    numbers = rs.CATEGORY_NUMBERS[category]
    return numbers[book.next_in_cycle("reason:" + category, len(numbers))]


@functools.lru_cache(maxsize=64)
def _reject_numbers(kind: str, market: str) -> tuple[int, ...]:
    if kind == "request_refund":
        names = rs.request_reject_reasons(market, refund_only=True)
    elif kind == "request":
        names = rs.request_reject_reasons(market, refund_only=False)
    elif kind == "parcel":
        names = rs.parcel_reject_reasons(market)
    else:
        names = rs.cancel_reject_reasons(market)
    return tuple(rs.NUMBER[name] for name in names)


def _reject_reason(book: ShopBook, kind: str) -> int:
    numbers = _reject_numbers(kind, book.market)
    return numbers[book.next_in_cycle("reject:" + kind, len(numbers))]


def _times(rng: random.Random, scenario: sc.Scenario, now: int, window: int) -> tuple[int, int]:
    """(create_time, state_time) for a seeded request; state_time is also its update_time."""
    steps = len(scenario.steps)
    r = rng.random
    if scenario.timing == sc.LIVE:
        span = min(window, 40 * HOUR)
        stime = now - MINUTE - int(r() * (span - 11 * MINUTE))
        ctime = stime - sum(5 * MINUTE + int(r() * 4 * HOUR) for _ in range(steps - 1))
    elif scenario.timing == sc.SETTLING:
        stime = now - 5 - int(r() * 45)
        ctime = stime - sum(5 * MINUTE + int(r() * 4 * HOUR) for _ in range(steps - 1))
    elif scenario.timing == sc.DISPUTE:
        stime = now - HOUR - int(r() * 4 * DAY)
        ctime = stime - sum(HOUR + int(r() * 30 * HOUR) for _ in range(steps - 1))
    else:
        ctime = now - 2 * DAY - int(r() * 88 * DAY)
        stime = min(now - MINUTE, ctime + sum(HOUR + int(r() * 40 * HOUR) for _ in range(steps - 1)))
    return ctime, stime


def seed_plain_orders(book: ShopBook, rng: random.Random, now: int, count: int) -> None:
    orders = book.orders
    r = rng.random
    for i in range(count):
        status = _PLAIN_STATUSES[i % len(_PLAIN_STATUSES)]
        low, spread = _PLAIN_AGE[status]
        ctime = now - low - int(r() * spread)
        utime = ctime + int((now - ctime) * (0.2 + 0.7 * r())) if status != m.O_UNPAID else ctime
        orders.append(ctime=ctime, utime=utime, status=status, buyer=int(r() * book.buyers),
                      nunits=_order_units(r()), fbt=1 if r() < 0.1 else 0, kind=m.K_PLAIN, link=-1)


def seed_returns(book: ShopBook, rng: random.Random, now: int, count: int, first: bool,
                 timers: list[tuple[int, int, int, int]], codec: IdCodec) -> None:
    """Append ``count`` seeded returns (with their orders); due deadlines go to ``timers`` as
    (due, kind 0=return, row, token)."""
    pool = sc.RETURN_SCENARIOS
    numbers = _market_scenarios(pool, book.market)
    plan = _plan(rng, pool, numbers, count, first)
    orders, returns = book.orders, book.returns
    r = rng.random
    made = 0
    for number in plan:
        if made >= count:
            break
        scenario = pool[number]
        if scenario.pair and made + 2 > count:
            number = sc.RETURN_NUMBER["return_complete"]
            scenario = pool[number]
        window = return_window(scenario.rtype, scenario.status, scenario.arb, scenario.role)
        ctime, stime = _times(rng, scenario, now, window)
        buyer = int(r() * book.buyers)
        nunits = 1 if scenario.rtype in (m.REPLACEMENT, m.EXCHANGE) else _order_units(r())
        taken = nunits if nunits == 1 else 1 + int(r() * nunits)
        mask = (1 << taken) - 1
        reason = _reason(book, scenario.reasons)
        reject = _reject_reason(book, scenario.rejects) if scenario.rejects else 0
        ostatus = scenario.order_status
        if ostatus == m.O_DELIVERED and now - ctime > DELIVERED_TO_COMPLETED:
            ostatus = m.O_COMPLETED
        if scenario.pair == sc.CHAIN:
            # The buyer edited the request: the old one closed when the new one (pending now) was filed.
            new_ctime = now - MINUTE - int(r() * 30 * HOUR)
            ctime, stime = new_ctime - HOUR - int(r() * 20 * HOUR), new_ctime
        order_ctime = ctime - 2 * DAY - int(r() * 12 * DAY)
        delivered = order_ctime + DAY + int((ctime - order_ctime - DAY) * (0.3 + 0.6 * r()))
        if ostatus == m.O_IN_TRANSIT:
            delivered = order_ctime + DAY
        ou = delivered + 7 * DAY if ostatus == m.O_COMPLETED else delivered
        fbt = 1 if r() < 0.04 else 0
        row = len(returns)
        order_row = orders.append(ctime=order_ctime, utime=min(ou, now), status=ostatus, buyer=buyer,
                                  nunits=nunits, fbt=fbt, kind=m.K_RETURN, link=row)
        returns.append(order=order_row, rtype=scenario.rtype, status=scenario.status, arb=scenario.arb,
                       flags=scenario.flags, role=scenario.role, scenario=number, reason=reason, reason2=reject,
                       units=mask, ctime=ctime, utime=stime, stime=stime)
        if window and scenario.arb != m.ARB_IN_PROGRESS:
            timers.append((stime + window, 0, row, 0))
        made += 1
        if scenario.replacement_order:
            fresh = now - stime < DELIVERED_TO_COMPLETED
            orders.append(ctime=stime, utime=min(stime + 4 * DAY, now),
                          status=m.O_DELIVERED if fresh else m.O_COMPLETED, buyer=buyer, nunits=taken, fbt=0,
                          kind=m.K_REPLACEMENT, link=row)
        if scenario.pair == sc.CHAIN:
            successor = sc.CHAIN_SUCCESSOR
            second = returns.append(order=order_row, rtype=successor.rtype, status=successor.status,
                                    arb=m.NO_ARBITRATION, flags=0, role=m.BUYER,
                                    scenario=sc.CHAIN_SUCCESSOR_NUMBER, reason=reason, reason2=0, units=mask,
                                    ctime=stime, utime=stime, stime=stime)
            orders.returns.setdefault(order_row, []).append(second)
            timers.append((stime + return_window(successor.rtype, successor.status, 0, m.BUYER), 0, second, 0))
            made += 1
        elif scenario.pair == sc.COMBINED:
            # Same buyer, another order, shipped back in the same parcel.
            book.combined_count += 1
            second_order = orders.append(ctime=order_ctime + int(r() * HOUR), utime=min(ou, now), status=ostatus,
                                         buyer=buyer, nunits=1, fbt=0, kind=m.K_RETURN, link=row + 1)
            second = returns.append(order=second_order, rtype=scenario.rtype, status=scenario.status,
                                    arb=scenario.arb, flags=scenario.flags, role=scenario.role, scenario=number,
                                    reason=reason, reason2=0, units=1, ctime=ctime + int(r() * 600),
                                    utime=stime, stime=stime)
            book.combined[row] = book.combined[second] = codec.make(IdKind.COMBINED, book.slot, book.combined_count)
            made += 1


def seed_cancellations(book: ShopBook, rng: random.Random, now: int, count: int, first: bool,
                       timers: list[tuple[int, int, int, int]]) -> None:
    pool = sc.CANCEL_SCENARIOS
    numbers = _market_scenarios(pool, book.market)
    plan = _plan(rng, pool, numbers, count, first)
    orders, cancels = book.orders, book.cancels
    r = rng.random
    for number in plan:
        scenario = pool[number]
        window = cancel_window(scenario.rtype, scenario.status)
        ctime, stime = _times(rng, scenario, now, window)
        reason_number = _reason(book, scenario.reasons)
        if scenario.reasons == "system_cancel":
            # Only the payment time-out belongs to an unpaid order; the other system reasons hit paid orders.
            unpaid = rs.NAMES[reason_number] == "system_cancel_unpaid_time_out"
        else:
            unpaid = scenario.reasons in ("buyer_cancel_unpaid", "seller_cancel_unpaid")
        order_ctime = ctime - (5 * MINUTE + int(r() * 40 * MINUTE) if unpaid else HOUR + int(r() * 30 * HOUR))
        ostatus = scenario.order_status
        if ostatus == m.O_CANCELLED:
            steps = len(scenario.steps)
            # Cancelled at the step that approved it (the second for buyer requests, the first otherwise).
            at = 1 if scenario.rtype == m.BUYER_CANCEL and steps > 1 else 0
            ou = ctime + ((stime - ctime) * at // max(1, steps - 1))
        elif ostatus == m.O_DELIVERED:
            ou = min(now, stime + 3 * DAY)
            if now - ou > DELIVERED_TO_COMPLETED:
                ostatus = m.O_COMPLETED
        else:
            ou = stime
        row = len(cancels)
        order_row = orders.append(ctime=order_ctime, utime=ou, status=ostatus, buyer=int(r() * book.buyers),
                                  nunits=_order_units(r()), fbt=0, kind=m.K_CANCEL, link=row)
        flags = C_UNPAID if unpaid else 0
        cancels.append(order=order_row, rtype=scenario.rtype, status=scenario.status, arb=0, flags=flags,
                       role=scenario.role, scenario=number, reason=reason_number,
                       reason2=_reject_reason(book, "cancel") if scenario.rejects else 0, units=0xFF,
                       ctime=ctime, utime=stime, stime=stime)
        if window:
            timers.append((stime + window, 1, row, 0))



def seed_book(book: ShopBook, seed: int, now: int, returns: int, cancellations: int,
              timers: list[tuple[int, int, int, int]], codec: IdCodec) -> None:
    first = book.batches == 0
    rng = stream(seed, book.slot, book.batches)
    book.batches += 1
    book.buyers = max(book.buyers, 40 + (returns + cancellations) // 3)
    plain = max(MIN_PLAIN_ORDERS if first else 0, returns // 5)
    seed_plain_orders(book, rng, now, plain)
    seed_returns(book, rng, now, returns, first, timers, codec)
    seed_cancellations(book, rng, now, cancellations, first, timers)
