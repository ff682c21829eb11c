"""Materialising a row: the full order (units, prices, payment) and a request's details and history.

Seeded rows become objects on first read, drawn from a random stream keyed by (seed, shop, row), so the result
does not depend on which rows were read before. Requests made while running get their objects at creation.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from . import amounts
from . import model as m
from . import reasons as rs
from . import scenarios as sc
from .book import ShopBook
from .ids import IdCodec, IdKind
from .timing import DAY

_TAX_RATES_BP = (600, 725, 825, 887, 950)  # US sales tax rates; other markets price tax-inclusive
_SHIPPING = {"USD": 599, "GBP": 399, "MYR": 790, "IDR": 15_000, "VND": 30_000}
_RETURN_LABEL = {"USD": 650, "GBP": 450, "MYR": 1_200, "IDR": 18_000, "VND": 35_000}
_CARRIERS = {
    "US": (("USPS", "6858110", "9400111"), ("UPS", "6858112", "1Z999AA1")),
    "GB": (("Royal Mail", "7117858", "JD0002"), ("Evri", "7117859", "H01HYA")),
    "ID": (("J&T Express", "7081542", "JP"), ("SiCepat", "7081543", "0045")),
    "MY": (("J&T Express", "7091542", "63"), ("Pos Laju", "7091543", "EP")),
}
_WAREHOUSES = {
    "US": "TikTok Shop Returns Center, 2100 Commerce Way, Columbus, OH 43217, United States",
    "GB": "Returns Dept, Unit 4 Meridian Park, Leicester LE19 1WX, United Kingdom",
    "ID": "Gudang Retur, Jl. Raya Cakung Cilincing No. 8, Jakarta Timur 13910, Indonesia",
    "MY": "Returns Hub, Lot 12 Jalan Perindustrian, 47500 Subang Jaya, Selangor, Malaysia",
}
_RECIPIENTS = {
    "US": (("Jordan Miller", "Austin, TX 78701", "TX"), ("Avery Chen", "Denver, CO 80202", "CO"),
           ("Sam Rivera", "Columbus, OH 43215", "OH"), ("Taylor Brooks", "Seattle, WA 98101", "WA")),
    "GB": (("Oliver Hughes", "Manchester M1 1AE", "ENG"), ("Amelia Clarke", "Leeds LS1 4DY", "ENG"),
           ("Isla Murray", "Glasgow G1 2FF", "SCT")),
    "ID": (("Budi Santoso", "Jakarta Selatan 12190", "JK"), ("Siti Rahma", "Bandung 40111", "JB"),
           ("Dewi Lestari", "Surabaya 60271", "JI")),
    "MY": (("Nur Aisyah", "Kuala Lumpur 50450", "KUL"), ("Tan Wei Ming", "Penang 10200", "PNG"),
           ("Arjun Nair", "Johor Bahru 80000", "JHR")),
}
_BUYER_NOTES = {
    "fault": (
        "The item arrived damaged, see the photos.",
        "It stopped working after two days.",
        "This is not what I ordered.",
        "One piece is missing from the box.",
        "Looks different from the listing pictures.",
    ),
    "remorse": (
        "Changed my mind, sorry.",
        "Too small for me, I usually wear this size.",
        "The colour is not what I expected.",
        "",
    ),
    "missing": ("Tracking says delivered but nothing arrived.", "Package never came.", ""),
}
_SELLER_COMMENTS = (
    "Photos show the product in working order.",
    "The returned item is not the one we shipped.",
    "Item was used and cannot be resold.",
    "We already agreed on a solution with the buyer in chat.",
)


def rng_for(seed: int, slot: int, kind: int, row: int) -> random.Random:
    return random.Random(((seed * 1_000_003 + slot) * 7 + kind) * 10_000_019 + row)


class Unit:
    """One order line item (one unit) with its money in minor units."""

    __slots__ = (
        "line_id",
        "original",
        "platform_discount",
        "product_id",
        "product_name",
        "seller_discount",
        "seller_sku",
        "ship_share",
        "sku_id",
        "sku_name",
        "tax",
        "tax_rate_bp",
    )

    def __init__(self, line_id: str, product_id: str, product_name: str, sku_id: str, sku_name: str,
                 seller_sku: str, original: int, seller_discount: int, platform_discount: int, tax_rate_bp: int,
                 ) -> None:
        self.line_id = line_id
        self.product_id = product_id
        self.product_name = product_name
        self.sku_id = sku_id
        self.sku_name = sku_name
        self.seller_sku = seller_sku
        self.original = original
        self.seller_discount = seller_discount
        self.platform_discount = platform_discount
        self.tax_rate_bp = tax_rate_bp
        self.tax = amounts.percent(self.sale, tax_rate_bp)
        self.ship_share = 0

    @property
    def sale(self) -> int:
        return self.original - self.seller_discount - self.platform_discount


class Order:
    """A materialised order. Status and update_time stay in the table columns (the searchable truth)."""

    __slots__ = (
        "buyer_id",
        "buyer_message",
        "buyer_service_fee",
        "cancel_reason",
        "cancel_time",
        "cancel_user",
        "cancellation_initiator",
        "cancelled_units",
        "carrier",
        "collection_time",
        "create_time",
        "delivery_time",
        "fulfillment_type",
        "id",
        "is_buyer_request_cancel",
        "is_cod",
        "is_replacement_order",
        "package_id",
        "paid_time",
        "recipient",
        "replaced_order_id",
        "request_cancel_time",
        "retail_delivery_fee",
        "row",
        "rts_time",
        "ship_original",
        "ship_platform_discount",
        "ship_seller_discount",
        "shipping_type",
        "tracking_number",
        "units",
        "warehouse_id",
    )

    def __init__(self) -> None:
        self.paid_time: int | None = None
        self.rts_time: int | None = None
        self.collection_time: int | None = None
        self.delivery_time: int | None = None
        self.cancel_time: int | None = None
        self.is_replacement_order = False
        self.replaced_order_id = ""
        self.cancellation_initiator = ""
        self.cancel_reason = ""
        self.cancel_user = ""
        self.is_buyer_request_cancel = False
        self.request_cancel_time: int | None = None
        self.cancelled_units: set[int] = set()
        self.buyer_message = ""
        self.retail_delivery_fee = 0
        self.buyer_service_fee = 0

    @property
    def sub_total(self) -> int:
        return sum(u.sale for u in self.units)

    @property
    def shipping_fee(self) -> int:
        return self.ship_original - self.ship_seller_discount - self.ship_platform_discount

    @property
    def tax(self) -> int:
        return sum(u.tax for u in self.units)

    @property
    def total(self) -> int:
        return self.sub_total + self.shipping_fee + self.tax + self.retail_delivery_fee + self.buyer_service_fee


def _price_step(currency: str) -> int:
    return 100 if amounts.exponent(currency) == 0 else 1


def make_units(codec: IdCodec, book: ShopBook, order_row: int, rng: random.Random, count: int,
               taxable: bool) -> list[Unit]:
    catalog = book.catalog
    product = catalog[int(rng.random() * len(catalog))]
    variant = product.variants[int(rng.random() * len(product.variants))]
    second = None
    if count > 1 and rng.random() < 0.3:
        other = catalog[int(rng.random() * len(catalog))]
        second = (other, other.variants[int(rng.random() * len(other.variants))])
    step = _price_step(book.currency)
    seller_pct = rng.choice((0, 0, 0, 10, 15, 20))
    platform_pct = rng.choice((0, 0, 0, 5, 10))
    rate = rng.choice(_TAX_RATES_BP) if taxable else 0
    units = []
    for position in range(count):
        p, v = (second if second is not None and position >= (count + 1) // 2 else (product, variant))
        seller = amounts.percent(v.price, seller_pct * 100) // step * step
        platform = amounts.percent(v.price, platform_pct * 100) // step * step
        units.append(Unit(codec.make(IdKind.ORDER_LINE, book.slot, order_row * 8 + position), p.product_id, p.name,
                          v.sku_id, v.sku_name, v.seller_sku, v.price, seller, platform, rate))
    return units


def build_order(codec: IdCodec, seed: int, book: ShopBook, row: int, original: Order | None = None) -> Order:
    """The full order for a seeded row; ``original`` is the replaced order when the row is a replacement."""
    table = book.orders
    rng = rng_for(seed, book.slot, 1, row)
    order = Order()
    order.row = row
    order.id = codec.make(IdKind.ORDER, book.slot, row)
    order.buyer_id = codec.make(IdKind.BUYER, book.slot, table.buyer[row])
    order.create_time = table.ctime[row]
    status, utime, kind = table.status[row], table.utime[row], table.kind[row]
    unpaid = False
    if kind == m.K_CANCEL:
        unpaid = bool(book.cancels.flags[table.link[row]] & 1)
    fill_order(order, book, rng, codec, fbt=bool(table.fbt[row]), nunits=table.nunits[row])
    if kind == m.K_REPLACEMENT and original is not None:
        make_replacement(codec, book, order, original, book.returns.units[table.link[row]])
    _timeline(order, rng, status, utime, unpaid or status == m.O_UNPAID)
    if kind == m.K_CANCEL:
        _apply_seeded_cancellation(book, order, table.link[row])
    return order


def fill_order(order: Order, book: ShopBook, rng: random.Random, codec: IdCodec, *, fbt: bool, nunits: int) -> None:
    market, currency = book.market, book.currency
    order.units = make_units(codec, book, order.row, rng, nunits, taxable=market == "US")
    order.ship_original = _SHIPPING.get(currency, 500)
    order.ship_seller_discount = order.ship_original if rng.random() < 0.3 else 0
    order.ship_platform_discount = 0
    if not order.ship_seller_discount and rng.random() < 0.25:
        order.ship_platform_discount = order.ship_original // 2 // _price_step(currency) * _price_step(currency)
    for unit, share in zip(order.units, amounts.split_even(order.shipping_fee, nunits), strict=True):
        unit.ship_share = share
    if market == "US" and rng.random() < 0.1:
        order.retail_delivery_fee = 28  # Colorado retail delivery fee
    if market == "ID":
        order.buyer_service_fee = 1_000
    order.fulfillment_type = "FULFILLMENT_BY_TIKTOK" if fbt else "FULFILLMENT_BY_SELLER"
    order.shipping_type = "TIKTOK" if fbt or rng.random() < 0.8 else "SELLER"
    carriers = _CARRIERS.get(market, _CARRIERS["US"])
    order.carrier = carriers[int(rng.random() * len(carriers))]
    order.tracking_number = f"{order.carrier[2]}{int(rng.random() * 10**14):014d}"
    order.package_id = codec.make(IdKind.PACKAGE, book.slot, order.row)
    order.warehouse_id = codec.make(IdKind.WAREHOUSE, book.slot, 1 if fbt else 0)
    people = _RECIPIENTS.get(market, _RECIPIENTS["US"])
    order.recipient = people[int(rng.random() * len(people))]
    order.is_cod = market in ("ID", "MY") and rng.random() < 0.1
    if rng.random() < 0.15:
        order.buyer_message = rng.choice(("Please pack carefully.", "Leave at the door.", "Gift, no invoice please."))


def make_replacement(codec: IdCodec, book: ShopBook, order: Order, original: Order, mask: int) -> None:
    """A replacement order repeats the returned units at no cost to the buyer (seller-funded)."""
    copied = [u for i, u in enumerate(original.units) if mask >> i & 1]
    order.units = []
    for position, u in enumerate(copied):
        unit = Unit(codec.make(IdKind.ORDER_LINE, book.slot, order.row * 8 + position), u.product_id,
                    u.product_name, u.sku_id, u.sku_name, u.seller_sku, u.original, u.original, 0, 0)
        order.units.append(unit)
    order.ship_seller_discount = order.ship_original
    order.ship_platform_discount = 0
    order.retail_delivery_fee = 0
    order.buyer_service_fee = 0
    order.is_replacement_order = True
    order.replaced_order_id = original.id


def _timeline(order: Order, rng: random.Random, status: int, utime: int, unpaid: bool) -> None:
    ctime = order.create_time
    if not unpaid:
        order.paid_time = min(utime, ctime + 20 + int(rng.random() * 880))
    if status in (m.O_UNPAID, m.O_ON_HOLD, m.O_AWAITING_SHIPMENT, m.O_CANCELLED):
        return
    paid = order.paid_time or ctime
    span = max(0, utime - paid)
    if status in (m.O_PARTIALLY_SHIPPING, m.O_AWAITING_COLLECTION):
        order.rts_time = utime
        return
    order.rts_time = paid + span * 3 // 10
    order.collection_time = paid + span * 45 // 100
    if status == m.O_IN_TRANSIT:
        order.collection_time = utime
    elif status == m.O_DELIVERED:
        order.delivery_time = utime
    elif status == m.O_COMPLETED:
        order.delivery_time = utime - 7 * DAY if utime - 7 * DAY > order.collection_time else paid + span * 6 // 10


def _apply_seeded_cancellation(book: ShopBook, order: Order, cancel_row: int) -> None:
    cancels = book.cancels
    status = cancels.status[cancel_row]
    if status == m.C_PENDING:
        order.is_buyer_request_cancel = True
        order.request_cancel_time = cancels.ctime[cancel_row]
    elif status in (m.C_SUCCESS, m.C_COMPLETE):
        role = cancels.role[cancel_row]
        order.cancellation_initiator = "SYSTEM" if role in (m.SYSTEM, m.OPERATOR) else m.ROLES[role]
        order.cancel_user = m.ROLES[role]
        order.cancel_reason = rs.text(rs.NAMES[cancels.reason[cancel_row]])
        order.cancel_time = book.orders.utime[order.row]
        order.cancelled_units = set(range(len(order.units)))


# ---------------------------------------------------------------------------------------------------- requests


@dataclass
class Record:
    """One Get Return Records entry; media are keys, turned into URLs when rendered."""

    create_time: int
    role: str
    description: str
    reason_text: str = ""
    note: str = ""
    images: tuple[str, ...] = ()
    videos: tuple[str, ...] = ()


class ReturnDetail:
    __slots__ = (
        "carrier",
        "document_type",
        "handover_method",
        "next_return_id",
        "offer_from",
        "override_total",
        "partial_amount",
        "pre_return_id",
        "records",
        "reject_reason",
        "replacement_order",
        "return_method",
        "shipment_type",
        "tracking_number",
    )

    def __init__(self) -> None:
        self.shipment_type = ""
        self.handover_method = ""
        self.return_method = ""
        self.document_type = ""
        self.tracking_number = ""
        self.carrier: tuple[str, str, str] | None = None
        self.partial_amount: int | None = None  # the seller's partial refund offer (minor units)
        self.override_total: int | None = None  # refund total when less than the full amount (accepted offer)
        self.records: list[Record] = []
        self.reject_reason = ""
        self.replacement_order: int | None = None
        self.pre_return_id = ""
        self.next_return_id = ""
        self.offer_from = m.PENDING  # where a declined partial-refund offer sends the request back to


STEP_TEXT: dict[str, tuple[int, str]] = {
    "buyer_request": (m.BUYER, "Buyer submitted a {kind} request"),
    "seller_request": (m.SELLER, "Seller initiated a {kind} for the buyer"),
    "seller_approve_refund": (m.SELLER, "Seller approved the refund request"),
    "seller_approve_return": (m.SELLER, "Seller approved the return request; waiting for the buyer to ship"),
    "seller_approve_keep": (m.SELLER, "Seller approved a refund without return; the buyer keeps the item"),
    "seller_approve_parcel": (m.SELLER, "Seller confirmed receipt of the returned package"),
    "seller_reject_request": (m.SELLER, "Seller rejected the request"),
    "seller_reject_parcel": (m.SELLER, "Seller rejected the returned package"),
    "seller_offer_partial": (m.SELLER, "Seller offered a partial refund of {amount}"),
    "buyer_accept_partial": (m.BUYER, "Buyer accepted the partial refund"),
    "buyer_reject_partial": (m.BUYER, "Buyer declined the partial refund"),
    "buyer_ship": (m.BUYER, "Buyer shipped the item"),
    "buyer_escalate": (m.BUYER, "Buyer appealed the decision to TikTok Shop"),
    "operator_support_buyer": (m.OPERATOR, "TikTok Shop reviewed the appeal and decided in favour of the buyer"),
    "operator_support_seller": (m.OPERATOR, "TikTok Shop reviewed the appeal and decided in favour of the seller"),
    "buyer_withdraw": (m.BUYER, "Buyer cancelled the request"),
    "buyer_edit": (m.BUYER, "Buyer changed the request; it was closed and a new request was submitted"),
    "system_auto_approve": (m.SYSTEM, "Approved by TikTok Shop: the seller did not respond within 48 hours"),
    "system_auto_receive": (m.SYSTEM, "Receipt confirmed by TikTok Shop: the seller did not respond within 48 hours"),
    "system_quick_refund": (m.SYSTEM, "Refunded by TikTok Shop under the quick refund policy"),
    "system_refund": (m.SYSTEM, "Refund completed"),
    "system_ship_timeout": (m.SYSTEM, "Closed by TikTok Shop: the buyer did not ship the item in time"),
    "system_appeal_expired": (m.SYSTEM, "Closed by TikTok Shop: the buyer did not appeal in time"),
    "system_offer_expired": (m.SYSTEM, "Closed by TikTok Shop: the buyer did not answer the offer in time"),
    "seller_approve_replacement": (m.SELLER, "Seller approved the replacement; a new order was created"),
    "system_auto_replacement": (
        m.SYSTEM, "Replacement approved by TikTok Shop: the seller did not respond within 24 hours"),
    "seller_reject_replacement": (m.SELLER, "Seller rejected the replacement request"),
    "seller_replacement_refund": (m.SELLER, "Seller issued a refund instead of a replacement"),
    "seller_exchange_refund": (m.SELLER, "Seller issued a refund instead of an exchange"),
    "seller_approve_exchange": (m.SELLER, "Seller approved the exchange; a new order was created"),
    "system_auto_exchange": (m.SYSTEM, "Exchange approved by TikTok Shop: the seller did not respond in time"),
}
KIND_WORDS = {m.REFUND: "refund", m.RETURN_AND_REFUND: "return and refund", m.REPLACEMENT: "replacement",
              m.EXCHANGE: "exchange"}


def step_times(ctime: int, last: int, steps: int) -> list[int]:
    if steps <= 1:
        return [ctime]
    return [ctime + (last - ctime) * k // (steps - 1) for k in range(steps)]


def build_return_detail(seed: int, book: ShopBook, row: int, return_id: str, order: Order,
                        full_total: Callable[[], int]) -> ReturnDetail:
    """Details of a seeded return; ``full_total`` gives its full refund (only needed for partial offers)."""
    returns = book.returns
    rng = rng_for(seed, book.slot, 2, row)
    detail = ReturnDetail()
    rtype = returns.rtype[row]
    scenario = sc.return_scenario(returns.scenario[row])
    steps = scenario.steps if scenario else ("buyer_request",)
    reason = rs.NAMES[returns.reason[row]]
    if rtype != m.REFUND:
        platform = rng.random() < 0.8
        detail.shipment_type = "PLATFORM" if platform else "BUYER_ARRANGE"
        detail.handover_method = rng.choice(("DROP_OFF", "PICKUP")) if platform else ""
        detail.return_method = "PLATFORM_SHIPPED" if platform else "BUYER_SHIPPED"
        detail.document_type = rng.choice(("SHIPPING_LABEL", "QR_CODE")) if platform else ""
    if "buyer_ship" in steps:
        carriers = _CARRIERS.get(book.market, _CARRIERS["US"])
        detail.carrier = carriers[int(rng.random() * len(carriers))]
        detail.tracking_number = f"{detail.carrier[2]}{int(rng.random() * 10**12):012d}"
    flags = returns.flags[row]
    step = 100 if amounts.exponent(book.currency) == 0 else 1
    if flags & m.F_PARTIAL_OFFER:
        detail.partial_amount = max(step, full_total() * (30 + int(rng.random() * 30)) // 100 // step * step)
        if "buyer_accept_partial" in steps:
            detail.override_total = detail.partial_amount
    if returns.reason2[row]:
        detail.reject_reason = rs.NAMES[returns.reason2[row]]
    times = step_times(returns.ctime[row], returns.stime[row], len(steps))
    for key, at in zip(steps, times, strict=True):
        detail.records.append(seeded_record(book, rng, key, at, rtype, reason, detail, return_id))
    return detail


def seeded_record(book: ShopBook, rng: random.Random, key: str, at: int, rtype: int, reason: str,
                  detail: ReturnDetail, return_id: str) -> Record:
    role, template = STEP_TEXT[key]
    amount = ""
    if detail.partial_amount is not None:
        amount = f"{amounts.fmt(detail.partial_amount, book.currency)} {book.currency}"
    record = Record(at, m.ROLES[role], template.format(kind=KIND_WORDS[rtype], amount=amount))
    if key in ("buyer_request", "seller_request"):
        record.reason_text = rs.text(reason)
        if key == "buyer_request":
            kind = "remorse" if reason in rs.REMORSE else (
                "missing" if "not_received" in reason or "not_arrive" in reason else "fault")
            record.note = rng.choice(_BUYER_NOTES[kind])
            if kind == "fault":
                record.images = tuple(f"{return_id}-buyer-{n}" for n in range(1 + int(rng.random() * 3)))
                if rng.random() < 0.3:
                    record.videos = (f"{return_id}-video-0",)
    elif key in ("seller_reject_request", "seller_reject_parcel", "seller_reject_replacement"):
        record.reason_text = rs.text(detail.reject_reason) if detail.reject_reason else ""
        record.note = rng.choice(_SELLER_COMMENTS)
        if key == "seller_reject_parcel" or rng.random() < 0.5:
            record.images = tuple(f"{return_id}-seller-{n}" for n in range(1 + int(rng.random() * 2)))
    elif key == "buyer_ship" and detail.carrier is not None:
        record.note = f"{detail.carrier[0]} tracking number {detail.tracking_number}"
    return record


def warehouse_address(market: str) -> str:
    return _WAREHOUSES.get(market, _WAREHOUSES["US"])


def return_label_cost(currency: str) -> int:
    return _RETURN_LABEL.get(currency, 600)


def carrier_for(market: str, rng: random.Random) -> tuple[str, str, str]:
    carriers = _CARRIERS.get(market, _CARRIERS["US"])
    return carriers[int(rng.random() * len(carriers))]
