"""The TikTok Shop emulator's in-memory world: shops, orders, returns, cancellations and their rules.

Pure Python, no HTTP. The SERVER authenticates a request, finds the calling ``Shop`` and calls one method here
with the decoded query and JSON body; the method returns the envelope's ``data`` or raises ``ApiError`` with the
documented code. Buyer and platform behaviour (open a request, ship a parcel, escalate, arbitration, deadlines)
comes from the control-API methods and from ``tick()``. Every change bumps ``update_time``, appends a history
record and reports a ``ChangeEvent`` through ``on_change``.

The emulator's readings where the contract leaves room (each one is what a test pins down):
- deadlines count from the business clock when a status began: 48 h seller review (requests, cancellations,
  received parcels), 24 h replacement, 5 days for the buyer to ship, 72 h to appeal a rejection, 48 h for the
  buyer to answer a partial-refund offer (then the request closes), 60 s from SUCCESS to COMPLETE, 60 s for a
  seller-initiated request to proceed; automatic changes are recorded with role SYSTEM, operators' as OPERATOR;
- ``update_time`` is ``clock.now()`` but strictly increases per record (a second change within one second is
  stamped one second later); a search without an upper time bound has none, so such records are never missed;
- EXCHANGE returns exist from 202602: 202309 searches neither show them nor match an EXCHANGE filter;
- webhook roles are the actor of the change (operators report as SYSTEM); type 11 ``create_time`` is the
  cancellation's creation time and its status uses the CANCELLATION_REQUEST_CANCELLED spelling;
- semantic refusals of a well-typed body (currency mismatch, amount above the refundable total, unknown
  decision, image not uploaded) are 11050001; missing fields and wrong JSON types are 25001001;
- a pending cancellation whose order has already shipped: approve → 25001045, reject → 25020003; in the US,
  shipping closes the buyer's cancellation request by itself;
- unpaid orders cannot be cancelled by the seller (§3.9 overview); the seller's unpaid-order reasons only appear
  in seeded history, where the reason appendix lists them.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import threading
from collections.abc import Callable
from typing import Any

import orjson

from . import amounts
from . import model as m
from . import reasons as rs
from . import scenarios as sc
from . import search as s
from .book import ShopBook
from .catalog import build_catalog
from .clock import Clock
from .details import (
    KIND_WORDS,
    STEP_TEXT,
    Order,
    Record,
    ReturnDetail,
    build_order,
    build_return_detail,
    carrier_for,
    fill_order,
    make_replacement,
    rng_for,
)
from .errors import ApiError
from .ids import IdCodec, IdKind
from .model import ChangeEvent, Seller, Shop
from .money import RefundBreakdown, breakdown
from .render import cancellation_object, order_object, record_object, return_object
from .seed import C_UNPAID, MIN_PLAIN_ORDERS, seed_book, seed_plain_orders, stream
from .timing import DAY, HOUR, cancel_window, return_window

__all__ = ["ChangeEvent", "Seller", "Shop", "World"]

# Error codes (contract §1.7).
INVALID_PARAM = 11050001
INVALID_TYPE = 25001001
INVALID_ORDER_STATUS = 25001003
RETURN_DONE_OR_ORDER_CANCELLED = 25001010
ALREADY_IN_PROCESS = 25001011
UNKNOWN_REASON = 25001014
REASON_NOT_FOR_SELLER = 25001015
REASON_WRONG_STAGE = 25001016
REASON_WRONG_ORDER_STATUS = 25001021
ALREADY_SHIPPED = 25001045
ORDER_FINISHED = 25001051
REFUND_TOO_HIGH = 25005005
LINES_NOT_SEPARABLE = 25005010
TOO_MANY_LINES = 25005011
NOT_FOUND = 25007006
NEGOTIATION_EXISTS = 25007007
ESCALATED = 25011010
CANNOT_REJECT_CANCEL = 25011011
CANNOT_APPROVE = 25011012
CANNOT_APPROVE_RECEIPT = 25011013
FBT_RECEIPT = 25011026
PARTIAL_REFUND_STATUS = 25011032
DECISION_STATUS_MISMATCH = 25020003
DECISION_TYPE_MISMATCH = 25020004
NO_PERMISSION = 25020005
ALREADY_CANCELLED = 25020009
ALREADY_APPROVED = 25020010
ALREADY_RECEIVED = 25020011
CANNOT_REJECT_RECEIPT = 25020012

APPROVE_DECISIONS = {
    "APPROVE_REFUND": (m.REFUND,),
    "APPROVE_RETURN": (m.RETURN_AND_REFUND,),
    "APPROVE_RECEIVED_PACKAGE": (m.RETURN_AND_REFUND,),
    "APPROVE_REPLACEMENT": (m.REPLACEMENT,),
    "ISSUE_REPLACEMENT_REFUND": (m.REPLACEMENT,),
    "OFFER_PARTIAL_REFUND": (m.REFUND, m.RETURN_AND_REFUND),
    "DIRECT_REFUND": (m.REFUND, m.RETURN_AND_REFUND),
}
REJECT_DECISIONS = {
    "REJECT_REFUND": (m.REFUND,),
    "REJECT_RETURN": (m.RETURN_AND_REFUND,),
    "REJECT_RECEIVED_PACKAGE": (m.RETURN_AND_REFUND,),
    "REJECT_REPLACEMENT": (m.REPLACEMENT,),
}
OFFER_AFTER_RECEIPT = "OFFER_PARTIAL_REFUND_AFTER_RECEIVING_PKG"  # reject decision from 202606
RECEIPT_DECISIONS = frozenset({"APPROVE_RECEIVED_PACKAGE", "REJECT_RECEIVED_PACKAGE", OFFER_AFTER_RECEIPT})
# Statuses in which the seller already said yes: a reject now contradicts an earlier approval.
APPROVED_STATUSES = frozenset(
    {m.AWAITING_BUYER_SHIP, m.BUYER_SHIPPED_ITEM, m.REJECT_RECEIVE_PACKAGE, m.SUCCESS, m.COMPLETE,
     m.REPLACEMENT_COMPLETE, m.REPLACEMENT_REFUND_SUCCESS}
)
CANCELLABLE_BY_SELLER = frozenset({m.O_ON_HOLD, m.O_AWAITING_SHIPMENT, m.O_AWAITING_COLLECTION})
PARTIAL_CANCEL_MARKETS = frozenset({"US", "GB"})
SELLER_RETURN_MARKETS = frozenset({"US"})
EXCHANGE_MARKETS = frozenset({"US", "GB"})
SEARCH_CACHE_SIZE = 32
RETURNS, CANCELS = 0, 1

_SEEDED_SHOPS = (
    # region, currency, shop name, seller index, seller_type
    ("US", "USD", "Northwind Goods US", 0, "LOCAL"),
    ("GB", "GBP", "Northwind Goods UK", 0, "CROSS_BORDER"),
    ("ID", "IDR", "Lumen Living Indonesia", 1, "LOCAL"),
    ("MY", "MYR", "Lumen Living Malaysia", 1, "LOCAL"),
)
_SEEDED_SELLERS = (("Northwind Goods LLC", "US"), ("Lumen Living Sdn Bhd", "MY"))
_CIPHER_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


class World:
    """The emulated TikTok Shop platform state. All public methods hold ``self.lock``."""

    def __init__(self, *, seed: int = 42, seed_returns: int = 0, clock: Clock | None = None,
                 refund_total_includes_tax: bool = True) -> None:
        self.clock = clock if clock is not None else Clock()
        self.lock = threading.RLock()
        self.on_change: Callable[[ChangeEvent], None] | None = None
        self.seed = seed
        self.refund_total_includes_tax = refund_total_includes_tax
        self.codec = IdCodec(seed)
        self._media_base_url = "http://127.0.0.1"
        self._books: list[ShopBook] = []
        self._by_shop_id: dict[str, ShopBook] = {}
        self._by_cipher: dict[str, ShopBook] = {}
        self._sellers: dict[str, Seller] = {}
        self._images: dict[str, tuple[int, int]] = {}
        self._timers: list[tuple[int, int, int, int, int, int]] = []
        self._sequence = itertools.count()
        self._events: list[ChangeEvent] = []
        # Reason round-robin shared by all shops, so that even rare scenarios show every reason world-wide.
        self._reason_cycles: dict[str, int] = {}
        self._seed_world(seed_returns)

    # ------------------------------------------------------------------------------------------------- setup

    @property
    def media_base_url(self) -> str:
        return self._media_base_url

    @media_base_url.setter
    def media_base_url(self, value: str) -> None:
        with self.lock:
            self._media_base_url = value.rstrip("/")
            # Cached encodings embed media URLs.
            for book in self._books:
                for table in (book.returns, book.cancels):
                    table.fragments.clear()
                    table.version += 1
                book.orders.fragments.clear()
                book.orders.version += 1

    def _seed_world(self, seed_returns: int) -> None:
        for name, region in _SEEDED_SELLERS:
            self._new_seller(name, region)
        sellers = list(self._sellers.values())
        for region, currency, name, seller_index, seller_type in _SEEDED_SHOPS:
            self._new_shop(region=region, currency=currency, name=name, seller=sellers[seller_index],
                           seller_type=seller_type)
        count = len(self._books)
        cancellations = seed_returns // 3
        now = self.clock.now()
        timers: list[tuple[int, int, int, int]] = []
        for book in self._books:
            share = seed_returns // count + (1 if book.slot < seed_returns % count else 0)
            cancel_share = cancellations // count + (1 if book.slot < cancellations % count else 0)
            timers.clear()
            seed_book(book, self.seed, now, share, cancel_share, timers, self.codec)
            self._adopt_timers(book, timers)
        heapq.heapify(self._timers)

    def _adopt_timers(self, book: ShopBook, timers: list[tuple[int, int, int, int]]) -> None:
        sequence = self._sequence
        self._timers.extend((due, next(sequence), kind, book.slot, row, token) for due, kind, row, token in timers)

    def _digest(self, *parts: object) -> bytes:
        return hashlib.blake2b(repr((self.seed, *parts)).encode(), digest_size=32).digest()

    def _new_seller(self, name: str, region: str) -> Seller:
        digest = self._digest("seller", len(self._sellers))
        open_id = "".join(_CIPHER_ALPHABET[b % 62] for b in digest[:22])
        seller = Seller(id=open_id, name=name, base_region=region)
        self._sellers[open_id] = seller
        return seller

    def _new_shop(self, *, region: str, currency: str, name: str, seller: Seller, seller_type: str) -> ShopBook:
        slot = len(self._books)
        if slot >= 100:
            raise ValueError("the emulator holds at most 100 shops")
        digest = self._digest("shop", slot)
        prefix = "GCP_" if region == "US" else "ROW_"
        cipher = prefix + "".join(_CIPHER_ALPHABET[b % 64] for b in digest[:27])
        code = region[:2].upper() + "".join("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[b % 32] for b in digest[27:32])
        code += "".join("0123456789"[b % 10] for b in digest[5:8])
        shop = Shop(id=self.codec.make(IdKind.SHOP, slot, 0), cipher=cipher, name=name, region=region,
                    currency=currency, seller_type=seller_type, code=code, seller_id=seller.id)
        book = ShopBook(shop, slot, build_catalog(self.codec, slot, currency, self.seed))
        book.cycles = self._reason_cycles
        self._books.append(book)
        self._by_shop_id[shop.id] = book
        self._by_cipher[cipher] = book
        seller.shop_ids.append(shop.id)
        return book

    # ------------------------------------------------------------------------------------------ shops/sellers

    def shops(self) -> list[Shop]:
        with self.lock:
            return [book.shop for book in self._books]

    def shop_by_cipher(self, cipher: str) -> Shop | None:
        with self.lock:
            book = self._by_cipher.get(cipher)
            return book.shop if book else None

    def shop_by_id(self, shop_id: str) -> Shop | None:
        with self.lock:
            book = self._by_shop_id.get(shop_id)
            return book.shop if book else None

    def sellers(self) -> list[Seller]:
        with self.lock:
            return list(self._sellers.values())

    def add_shop(self, *, region: str, currency: str, name: str | None = None, seller_id: str | None = None) -> Shop:
        with self.lock:
            region = region.upper()
            currency = currency.upper()
            if seller_id is None:
                seller = self._new_seller(f"Seller {len(self._sellers) + 1}", region)
            elif seller_id in self._sellers:
                seller = self._sellers[seller_id]
            else:
                raise ValueError(f"unknown seller {seller_id!r}")
            home = seller.base_region == region
            book = self._new_shop(region=region, currency=currency, name=name or f"{seller.name} {region}",
                                  seller=seller, seller_type="LOCAL" if home else "CROSS_BORDER")
            book.buyers = 40
            book.batches = 1
            seed_plain_orders(book, stream(self.seed, book.slot, 0), self.clock.now(), MIN_PLAIN_ORDERS)
            return book.shop

    def seed_requests(self, shop: Shop, returns: int, cancellations: int = 0) -> None:
        """Seed more returns/cancellations (with their orders) for one shop, deterministically."""
        with self.lock:
            book = self._book(shop)
            timers: list[tuple[int, int, int, int]] = []
            seed_book(book, self.seed, self.clock.now(), returns, cancellations, timers, self.codec)
            self._adopt_timers(book, timers)
            heapq.heapify(self._timers)

    def register_image(self, uri: str, width: int, height: int) -> None:
        with self.lock:
            self._images[uri] = (width, height)

    # ------------------------------------------------------------------------------------------------ lookups

    def _book(self, shop: Shop) -> ShopBook:
        book = self._by_shop_id.get(shop.id)
        if book is None:
            raise ApiError(NO_PERMISSION, "No permission: unknown shop.")
        return book

    def _locate(self, kind: str, text: object) -> tuple[ShopBook, int] | None:
        found = self.codec.decode(kind, text)
        if found is None:
            return None
        slot, row = found
        if slot >= len(self._books):
            return None
        book = self._books[slot]
        table = {IdKind.RETURN: book.returns, IdKind.CANCELLATION: book.cancels, IdKind.ORDER: book.orders}[kind]
        return (book, row) if row < len(table) else None

    def _own(self, book: ShopBook, kind: str, text: object, what: str) -> int:
        """Row of a request/order of this shop; 25020005 for another shop's, 25007006 for an unknown id."""
        found = self._locate(kind, text)
        if found is None:
            raise ApiError(NOT_FOUND, f"The {what} {text} does not exist.")
        owner, row = found
        if owner is not book:
            raise ApiError(NO_PERMISSION, f"No permission: the {what} {text} belongs to another shop.")
        return row

    def _order(self, book: ShopBook, row: int) -> Order:
        order = book.orders.details.get(row)
        if order is None:
            original = None
            if book.orders.kind[row] == m.K_REPLACEMENT:
                original = self._order(book, book.returns.order[book.orders.link[row]])
            order = build_order(self.codec, self.seed, book, row, original)
            book.orders.details[row] = order
        return order

    def _return_ids_of_order(self, book: ShopBook, order_row: int) -> list[int]:
        rows = []
        if book.orders.kind[order_row] == m.K_RETURN and book.orders.link[order_row] >= 0:
            rows.append(book.orders.link[order_row])
        rows.extend(book.orders.returns.get(order_row, ()))
        return rows

    def _cancel_rows_of_order(self, book: ShopBook, order_row: int) -> list[int]:
        rows = []
        if book.orders.kind[order_row] == m.K_CANCEL and book.orders.link[order_row] >= 0:
            rows.append(book.orders.link[order_row])
        rows.extend(book.orders.cancels.get(order_row, ()))
        return rows

    @staticmethod
    def _positions(mask: int, count: int) -> list[int]:
        return [i for i in range(count) if mask >> i & 1]

    def _return_positions(self, book: ShopBook, row: int) -> list[int]:
        order = self._order(book, book.returns.order[row])
        return self._positions(book.returns.units[row], len(order.units))

    def _return_money(self, book: ShopBook, row: int, *, full: bool = False) -> RefundBreakdown:
        """The return's refund; ``full`` ignores an agreed lower total (what could be refunded at most)."""
        t = book.returns
        order = self._order(book, t.order[row])
        detail = book.returns.details.get(row)
        override = None if full or detail is None else detail.override_total
        return breakdown(order, self._positions(t.units[row], len(order.units)), rs.NAMES[t.reason[row]],
                         includes_tax=self.refund_total_includes_tax, override_total=override)

    def _detail(self, book: ShopBook, row: int) -> ReturnDetail:
        detail = book.returns.details.get(row)
        if detail is None:
            order = self._order(book, book.returns.order[row])
            detail = build_return_detail(self.seed, book, row, self._return_id(book, row), order,
                                         lambda: self._return_money(book, row, full=True).total.total)
            self._link_chain(book, row, detail)
            book.returns.details[row] = detail
        return detail

    def _link_chain(self, book: ShopBook, row: int, detail: ReturnDetail) -> None:
        number = book.returns.scenario[row]
        order_row = book.returns.order[row]
        if number == sc.RETURN_NUMBER["return_edited"]:
            for other in self._return_ids_of_order(book, order_row):
                if book.returns.scenario[other] == sc.CHAIN_SUCCESSOR_NUMBER:
                    detail.next_return_id = self._return_id(book, other)
        elif number == sc.CHAIN_SUCCESSOR_NUMBER:
            detail.pre_return_id = self._return_id(book, book.orders.link[order_row])

    def _return_id(self, book: ShopBook, row: int) -> str:
        return self.codec.make(IdKind.RETURN, book.slot, row)

    def _cancel_id(self, book: ShopBook, row: int) -> str:
        return self.codec.make(IdKind.CANCELLATION, book.slot, row)

    # --------------------------------------------------------------------------------------------- rendering

    def _return_dict(self, book: ShopBook, row: int, variant: str = "202309") -> dict[str, Any]:
        detail = self._detail(book, row)
        order = self._order(book, book.returns.order[row])
        positions = self._positions(book.returns.units[row], len(order.units))
        line_ids = [self.codec.make(IdKind.RETURN_LINE, book.slot, row * 8 + p) for p in positions]
        return return_object(book=book, row=row, return_id=self._return_id(book, row), order=order, detail=detail,
                             money=self._return_money(book, row), line_ids=line_ids, positions=positions,
                             pre_return_id=detail.pre_return_id, next_return_id=detail.next_return_id,
                             media_base=self._media_base_url, variant=variant)

    def _return_fragment(self, book: ShopBook, row: int, variant: str) -> orjson.Fragment:
        key = (row, variant)
        fragment = book.returns.fragments.get(key)
        if fragment is None:
            fragment = orjson.Fragment(orjson.dumps(self._return_dict(book, row, variant)))
            book.returns.fragments[key] = fragment
        return fragment

    def _cancel_money(self, book: ShopBook, row: int) -> tuple[Order, list[int], RefundBreakdown]:
        t = book.cancels
        order = self._order(book, t.order[row])
        positions = self._positions(t.units[row], len(order.units))
        money = breakdown(order, positions, rs.NAMES[t.reason[row]], includes_tax=self.refund_total_includes_tax,
                          cancellation=True, unpaid=bool(t.flags[row] & C_UNPAID))
        return order, positions, money

    def _cancel_dict(self, book: ShopBook, row: int) -> dict[str, Any]:
        order, positions, money = self._cancel_money(book, row)
        line_ids = [self.codec.make(IdKind.CANCEL_LINE, book.slot, row * 8 + p) for p in positions]
        return cancellation_object(book=book, row=row, cancel_id=self._cancel_id(book, row), order=order,
                                   money=money, line_ids=line_ids, positions=positions,
                                   media_base=self._media_base_url)

    def _cancel_fragment(self, book: ShopBook, row: int) -> orjson.Fragment:
        key = (row, "202309")
        fragment = book.cancels.fragments.get(key)
        if fragment is None:
            fragment = orjson.Fragment(orjson.dumps(self._cancel_dict(book, row)))
            book.cancels.fragments[key] = fragment
        return fragment

    def _order_dict(self, book: ShopBook, row: int) -> dict[str, Any]:
        return order_object(book, self._order(book, row), self._media_base_url)

    def _order_fragment(self, book: ShopBook, row: int) -> orjson.Fragment:
        fragment = book.orders.fragments.get(row)
        if fragment is None:
            fragment = orjson.Fragment(orjson.dumps(self._order_dict(book, row)))
            book.orders.fragments[row] = fragment
        return fragment

    # ------------------------------------------------------------------------------------------------ search

    def _cached(self, book: ShopBook, key: Any, version: Any, compute: Callable[[], list[int]]) -> list[int]:
        cache = book.search_cache
        hit = cache.get(key)
        if hit is not None and hit[0] == version:
            cache.move_to_end(key)
            return hit[1]
        rows = compute()
        cache[key] = (version, rows)
        cache.move_to_end(key)
        while len(cache) > SEARCH_CACHE_SIZE:
            cache.popitem(last=False)
        return rows

    def _id_rows(self, book: ShopBook, kind: str, ids: tuple[str, ...], what: str) -> list[int]:
        rows = set()
        for text in ids:
            found = self._locate(kind, text)
            if found is None:
                continue
            owner, row = found
            if owner is not book:
                raise ApiError(NO_PERMISSION, f"No permission: the {what} {text} belongs to another shop.")
            rows.add(row)
        return sorted(rows)

    def _buyer_rows(self, book: ShopBook, ids: tuple[str, ...]) -> set[int]:
        rows = set()
        for text in ids:
            found = self.codec.decode(IdKind.BUYER, text)
            if found is not None and found[0] == book.slot:
                rows.add(found[1])
        return rows

    def _request_candidates(self, book: ShopBook, table: m.RequestTable, own_ids: tuple[str, ...] | None,
                            own_kind: str, order_ids: tuple[str, ...] | None, buyer_ids: tuple[str, ...] | None,
                            ) -> list[int] | range:
        rows: list[int] | range = range(len(table))
        if own_ids is not None:
            rows = self._id_rows(book, own_kind, own_ids, "request")
        if order_ids is not None:
            wanted = set(self._id_rows(book, IdKind.ORDER, order_ids, "order"))
            order_col = table.order
            rows = [i for i in rows if order_col[i] in wanted]
        if buyer_ids is not None:
            buyers = self._buyer_rows(book, buyer_ids)
            order_col, buyer_col = table.order, book.orders.buyer
            rows = [i for i in rows if buyer_col[order_col[i]] in buyers]
        return rows

    def search_returns(self, shop: Shop, query: dict[str, str], body: dict, version: str = "202309") -> dict:
        with self.lock:
            book = self._book(shop)
            body = s.check_body(body)
            size = s.page_size(query, low=10, high=50, default=10)
            sort_field, sort_order = s.sort_params(query, default_order="ASC")
            variant = "202602" if version >= "202602" else "202309"
            filters = (
                s.string_list(body, "return_ids"),
                s.string_list(body, "order_ids"),
                s.string_list(body, "buyer_user_ids"),
                s.string_list(body, "return_types"),
                s.string_list(body, "return_status"),
                s.string_list(body, "seller_proposed_return_type"),
                s.string_list(body, "arbitration_status"),
                s.time_bound(body, "create_time_ge"),
                s.time_bound(body, "create_time_lt"),
                s.time_bound(body, "update_time_ge"),
                s.time_bound(body, "update_time_lt"),
            )
            s.optional_string(body, "locale")  # accepted; texts are English in every locale
            key = ("returns", variant, filters, sort_field)
            fp = s.fingerprint(key, sort_order)
            offset = s.read_token(query.get("page_token"), fp)
            rows = self._cached(book, key, book.returns.version,
                                lambda: self._scan_returns(book, filters, variant, sort_field))
            return s.page_data(
                rows, offset, size, sort_order, fp, "return_orders",
                lambda row: self._return_fragment(book, row, variant),
            )

    def _scan_returns(self, book: ShopBook, filters: tuple, variant: str, sort_field: str) -> list[int]:
        (return_ids, order_ids, buyer_ids, types, statuses, proposed, arbitration, c_ge, c_lt, u_ge, u_lt) = filters
        t = book.returns
        rows = self._request_candidates(book, t, return_ids, IdKind.RETURN, order_ids, buyer_ids)
        visible_types = range(4) if variant != "202309" else range(3)  # EXCHANGE exists from 202602
        if variant == "202309":
            rtype = t.rtype
            rows = [i for i in rows if rtype[i] != m.EXCHANGE]
        if types is not None:
            wanted = s.codes_of(types, m.RETURN_TYPES, visible_types)
            rtype = t.rtype
            rows = [i for i in rows if rtype[i] in wanted]
        if statuses is not None:
            wanted = s.codes_of(statuses, m.RETURN_STATUSES)
            status = t.status
            rows = [i for i in rows if status[i] in wanted]
        if proposed is not None:
            flags = t.flags
            rows = [i for i in rows if flags[i] & m.F_PARTIAL_OFFER] if "PARTIAL_REFUND" in proposed else []
        if arbitration is not None:
            wanted = s.codes_of(arbitration, m.ARBITRATION, range(1, len(m.ARBITRATION)))
            arb = t.arb
            rows = [i for i in rows if arb[i] in wanted]
        rows = s.in_range(rows, t.ctime, c_ge, c_lt)
        rows = s.in_range(rows, t.utime, u_ge, u_lt)
        return s.sorted_rows(rows, t.ctime if sort_field == "create_time" else t.utime)

    def search_cancellations(self, shop: Shop, query: dict[str, str], body: dict, version: str = "202309") -> dict:
        with self.lock:
            book = self._book(shop)
            body = s.check_body(body)
            size = s.page_size(query, low=1, high=50, default=10)
            sort_field, sort_order = s.sort_params(query, default_order="ASC")
            filters = (
                s.string_list(body, "cancel_ids"),
                s.string_list(body, "order_ids"),
                s.string_list(body, "buyer_user_ids"),
                s.string_list(body, "cancel_types"),
                s.string_list(body, "cancel_status"),
                s.time_bound(body, "create_time_ge"),
                s.time_bound(body, "create_time_lt"),
                s.time_bound(body, "update_time_ge"),
                s.time_bound(body, "update_time_lt"),
            )
            s.optional_string(body, "locale")
            key = ("cancellations", filters, sort_field)
            fp = s.fingerprint(key, sort_order)
            offset = s.read_token(query.get("page_token"), fp)
            rows = self._cached(book, key, book.cancels.version,
                                lambda: self._scan_cancellations(book, filters, sort_field))
            return s.page_data(
                rows, offset, size, sort_order, fp, "cancellations", lambda row: self._cancel_fragment(book, row)
            )

    def _scan_cancellations(self, book: ShopBook, filters: tuple, sort_field: str) -> list[int]:
        cancel_ids, order_ids, buyer_ids, types, statuses, c_ge, c_lt, u_ge, u_lt = filters
        t = book.cancels
        rows = self._request_candidates(book, t, cancel_ids, IdKind.CANCELLATION, order_ids, buyer_ids)
        if types is not None:
            wanted = s.codes_of(types, m.CANCEL_TYPES)
            rtype = t.rtype
            rows = [i for i in rows if rtype[i] in wanted]
        if statuses is not None:
            # Search accepts the documented request spelling; the webhook spelling is accepted too.
            wanted = s.codes_of(statuses, m.CANCEL_STATUSES) | s.codes_of(statuses, m.WEBHOOK_CANCEL_STATUSES)
            status = t.status
            rows = [i for i in rows if status[i] in wanted]
        rows = s.in_range(rows, t.ctime, c_ge, c_lt)
        rows = s.in_range(rows, t.utime, u_ge, u_lt)
        return s.sorted_rows(rows, t.ctime if sort_field == "create_time" else t.utime)

    # ------------------------------------------------------------------------------------------------ orders

    def get_orders(self, shop: Shop, query: dict[str, str]) -> dict:
        with self.lock:
            book = self._book(shop)
            raw = query.get("ids")
            if not raw:
                raise ApiError(s.INVALID_PARAMETER, "Invalid parameter. ids is required.")
            ids = [part.strip() for part in raw.split(",") if part.strip()]
            if len(ids) > 50:
                raise ApiError(s.INVALID_PARAMETER, "Invalid parameter. ids accepts at most 50 order ids.")
            orders = []
            for text in ids:
                found = self._locate(IdKind.ORDER, text)
                if found is not None and found[0] is book:
                    orders.append(self._order_fragment(book, found[1]))
            return {"orders": orders}

    def search_orders(self, shop: Shop, query: dict[str, str], body: dict) -> dict:
        with self.lock:
            book = self._book(shop)
            body = s.check_body(body)
            size = s.page_size(query, low=1, high=100, default=None)
            sort_field, sort_order = s.sort_params(query, default_order="DESC")
            filters = (
                s.optional_string(body, "order_status"),
                s.time_bound(body, "create_time_ge"),
                s.time_bound(body, "create_time_lt"),
                s.time_bound(body, "update_time_ge"),
                s.time_bound(body, "update_time_lt"),
                s.optional_string(body, "shipping_type"),
                s.optional_string(body, "buyer_user_id"),
                s.optional_bool(body, "is_buyer_request_cancel"),
                s.string_list(body, "warehouse_ids"),
            )
            key = ("orders", filters, sort_field)
            fp = s.fingerprint(key, sort_order)
            offset = s.read_token(query.get("page_token"), fp)
            version = (book.orders.version, book.cancels.version)
            rows = self._cached(book, key, version, lambda: self._scan_orders(book, filters, sort_field))
            return s.page_data(
                rows, offset, size, sort_order, fp, "orders", lambda row: self._order_fragment(book, row)
            )

    def _scan_orders(self, book: ShopBook, filters: tuple, sort_field: str) -> list[int]:
        status, c_ge, c_lt, u_ge, u_lt, shipping_type, buyer_id, buyer_cancel, warehouses = filters
        t = book.orders
        rows: list[int] | range = range(len(t))
        if status is not None:
            code = m.ORDER_STATUSES.index(status) if status in m.ORDER_STATUSES else -1
            col = t.status
            rows = [i for i in rows if col[i] == code]
        if buyer_id is not None:
            buyers = self._buyer_rows(book, (buyer_id,))
            col = t.buyer
            rows = [i for i in rows if col[i] in buyers]
        if shipping_type is not None:
            rows = [i for i in rows if self._shipping_type(book, i) == shipping_type]
        if warehouses is not None:
            wanted = {w for w in (self.codec.make(IdKind.WAREHOUSE, book.slot, n) for n in (0, 1)) if w in warehouses}
            rows = [i for i in rows if self.codec.make(IdKind.WAREHOUSE, book.slot, t.fbt[i]) in wanted]
        if buyer_cancel is not None:
            pending = {book.cancels.order[i] for i in range(len(book.cancels))
                       if book.cancels.status[i] == m.C_PENDING and book.cancels.rtype[i] == m.BUYER_CANCEL}
            rows = [i for i in rows if (i in pending) == buyer_cancel]
        rows = s.in_range(rows, t.ctime, c_ge, c_lt)
        rows = s.in_range(rows, t.utime, u_ge, u_lt)
        return s.sorted_rows(rows, t.ctime if sort_field == "create_time" else t.utime)

    def _shipping_type(self, book: ShopBook, row: int) -> str:
        order = book.orders.details.get(row)
        if order is not None:
            return order.shipping_type
        return self._order(book, row).shipping_type

    # ------------------------------------------------------------------------------------- change machinery

    def _stamp(self, table: m.RequestTable, row: int) -> int:
        """A new update_time: now, but strictly after the previous one of this record."""
        return max(self.clock.now(), table.utime[row] + 1)

    def _change_return(self, book: ShopBook, row: int, *, status: int | None = None, actor: int,
                       step: str | None = None, arb: int | None = None, set_flags: int = 0, clear_flags: int = 0,
                       record: Record | None = None) -> None:
        t = book.returns
        detail = self._detail(book, row)
        at = self._stamp(t, row)
        if status is not None and status != t.status[row]:
            t.status[row] = status
            # Deadlines count from the clock, not from the stamp (which may run a second ahead to stay unique).
            t.stime[row] = self.clock.now()
        if arb is not None:
            t.arb[row] = arb
        t.flags[row] = (t.flags[row] | set_flags) & ~clear_flags & 0xFF
        t.utime[row] = at
        if record is None and step is not None:
            record = self._step_record(book, row, step)
        if record is not None:
            record.create_time = at
            detail.records.append(record)
        self._return_changed(book, row, actor)

    def _return_changed(self, book: ShopBook, row: int, actor: int) -> None:
        """After any change: drop caches, re-arm the deadline, report the event."""
        t = book.returns
        t.token[row] = (t.token[row] + 1) & 0xFFFFFFFF
        t.forget(row)
        window = return_window(t.rtype[row], t.status[row], t.arb[row], t.role[row])
        if window:
            heapq.heappush(self._timers, (t.stime[row] + window, next(self._sequence), RETURNS, book.slot, row,
                                          t.token[row]))
        self._events.append(ChangeEvent(shop_id=book.shop.id, type=12, data={
            "order_id": self.codec.make(IdKind.ORDER, book.slot, t.order[row]),
            "return_role": "SYSTEM" if actor == m.OPERATOR else m.ROLES[actor],
            "return_type": m.RETURN_TYPES[t.rtype[row]],
            "return_status": m.RETURN_STATUSES[t.status[row]],
            "return_id": self._return_id(book, row),
            "create_time": t.ctime[row],
            "update_time": t.utime[row],
        }))

    def _step_record(self, book: ShopBook, row: int, step: str, **extra: str) -> Record:
        role, template = STEP_TEXT[step]
        detail = book.returns.details.get(row)
        amount = ""
        if detail is not None and detail.partial_amount is not None:
            amount = f"{amounts.fmt(detail.partial_amount, book.currency)} {book.currency}"
        text = template.format(kind=KIND_WORDS[book.returns.rtype[row]], amount=amount)
        return Record(0, m.ROLES[role], text, **extra)

    def _change_cancel(self, book: ShopBook, row: int, *, status: int, actor: int) -> None:
        t = book.cancels
        at = self._stamp(t, row)
        if status != t.status[row]:
            t.status[row] = status
            t.stime[row] = self.clock.now()
        t.utime[row] = at
        self._cancel_changed(book, row, actor)

    def _cancel_changed(self, book: ShopBook, row: int, actor: int) -> None:
        t = book.cancels
        t.token[row] = (t.token[row] + 1) & 0xFFFFFFFF
        t.forget(row)
        window = cancel_window(t.rtype[row], t.status[row])
        if window:
            heapq.heappush(self._timers, (t.stime[row] + window, next(self._sequence), CANCELS, book.slot, row,
                                          t.token[row]))
        self._events.append(ChangeEvent(shop_id=book.shop.id, type=11, data={
            "order_id": self.codec.make(IdKind.ORDER, book.slot, t.order[row]),
            "cancellations_role": "SYSTEM" if actor == m.OPERATOR else m.ROLES[actor],
            "cancel_status": m.WEBHOOK_CANCEL_STATUSES[t.status[row]],
            "cancel_id": self._cancel_id(book, row),
            "create_time": t.ctime[row],
        }))

    def _touch_order(self, book: ShopBook, row: int, status: int | None = None) -> None:
        t = book.orders
        if status is not None:
            t.status[row] = status
        t.utime[row] = max(self.clock.now(), t.utime[row] + 1)
        t.forget(row)

    def _flush(self) -> list[ChangeEvent]:
        """Hand the changes made by one call to ``on_change`` (still under the lock, in order)."""
        events, self._events = self._events, []
        if self.on_change is not None:
            for event in events:
                self.on_change(event)
        return events

    # ----------------------------------------------------------------------------------------- seller calls

    def _decision(self, body: dict, allowed: dict[str, tuple[int, ...]], extra: tuple[str, ...] = ()) -> str:
        decision = body.get("decision")
        if decision is None:
            raise ApiError(INVALID_TYPE, "Invalid request parameter. decision is required.")
        if not isinstance(decision, str):
            raise ApiError(INVALID_TYPE, "Invalid request parameter type. decision must be a string.")
        if decision not in allowed and decision not in extra:
            raise ApiError(INVALID_PARAM, f"Invalid param. Unknown decision {decision!r}.")
        return decision

    def _partial_amount(self, book: ShopBook, row: int, value: object, amount_field: str, field: str) -> int:
        if not isinstance(value, dict):
            raise ApiError(INVALID_TYPE, f"Invalid request parameter. {field} must be an object.")
        amount, currency = value.get(amount_field), value.get("currency")
        if not isinstance(amount, str) or not isinstance(currency, str):
            raise ApiError(INVALID_TYPE, f"Invalid request parameter type. {field}.{amount_field} and "
                                         f"{field}.currency must be strings.")
        if currency != book.currency:
            raise ApiError(INVALID_PARAM, f"Invalid param. {field}.currency must be the return's currency "
                                          f"{book.currency}, got {currency}.")
        minor = amounts.parse(amount, currency)
        if minor is None or minor <= 0:
            raise ApiError(INVALID_PARAM, f"Invalid param. {field}.{amount_field} {amount!r} is not a positive "
                                          f"amount in {currency}.")
        refundable = self._return_money(book, row, full=True).total.total
        if minor > refundable:
            raise ApiError(INVALID_PARAM, f"Invalid param. {field}.{amount_field} {amount} exceeds the refundable "
                                          f"total {amounts.fmt(refundable, currency)}.")
        return minor

    def _common_return_checks(self, book: ShopBook, row: int, decision: str,
                              allowed: dict[str, tuple[int, ...]]) -> None:
        t = book.returns
        if t.arb[row] == m.ARB_IN_PROGRESS:
            raise ApiError(ESCALATED, "The request has been escalated to a TikTok Shop operator.")
        if t.rtype[row] not in allowed.get(decision, (m.RETURN_AND_REFUND,)):
            raise ApiError(DECISION_TYPE_MISMATCH, f"The decision {decision} does not match the return type "
                                                   f"{m.RETURN_TYPES[t.rtype[row]]}.")
        if decision in RECEIPT_DECISIONS and self._order(book, t.order[row]).fulfillment_type == (
                "FULFILLMENT_BY_TIKTOK"):
            raise ApiError(FBT_RECEIPT, "Fulfilled by TikTok orders: the return receipt is handled by TikTok.")

    def approve_return(self, shop: Shop, return_id: str, body: dict) -> dict:
        with self.lock:
            book = self._book(shop)
            body = s.check_body(body)
            decision = self._decision(body, APPROVE_DECISIONS)
            keep = body.get("buyer_keep_item")
            if keep is not None and not isinstance(keep, bool):
                raise ApiError(INVALID_TYPE, "Invalid request parameter type. buyer_keep_item must be a boolean.")
            row = self._own(book, IdKind.RETURN, return_id, "return")
            t = book.returns
            self._common_return_checks(book, row, decision, APPROVE_DECISIONS)
            status = t.status[row]
            if status in m.CLOSED_STATUSES:
                raise ApiError(ALREADY_CANCELLED, "The return request has already been cancelled.")
            if decision == "OFFER_PARTIAL_REFUND":
                if status == m.AWAITING_BUYER_RESPONSE:
                    raise ApiError(NEGOTIATION_EXISTS, "A partial refund offer is already waiting for the buyer.")
                if status != m.PENDING:
                    raise ApiError(PARTIAL_REFUND_STATUS, "A partial refund can only be offered while the request "
                                                          "is pending.")
                amount = self._partial_amount(book, row, body.get("partial_refund"), "amount", "partial_refund")
                self._offer_partial(book, row, amount, back_to=m.PENDING)
            elif decision == "APPROVE_RECEIVED_PACKAGE":
                if status != m.BUYER_SHIPPED_ITEM:
                    raise ApiError(CANNOT_APPROVE_RECEIPT, "The current status cannot approve the received "
                                                           "package.")
                self._change_return(book, row, status=m.SUCCESS, actor=m.SELLER, step="seller_approve_parcel")
            else:
                pending = m.REPLACEMENT_PENDING if t.rtype[row] == m.REPLACEMENT else m.PENDING
                if status != pending:
                    raise ApiError(CANNOT_APPROVE, "The current status cannot approve the application.")
                self._apply_approval(book, row, decision, keep is True)
            self._flush()
            return {}

    def _apply_approval(self, book: ShopBook, row: int, decision: str, keep: bool) -> None:
        if decision == "APPROVE_REFUND":
            self._change_return(book, row, status=m.SUCCESS, actor=m.SELLER, step="seller_approve_refund")
        elif decision == "APPROVE_RETURN" and not keep:
            self._change_return(book, row, status=m.AWAITING_BUYER_SHIP, actor=m.SELLER,
                                step="seller_approve_return")
        elif decision in ("APPROVE_RETURN", "DIRECT_REFUND"):
            step = "seller_approve_keep" if book.returns.rtype[row] == m.RETURN_AND_REFUND else (
                "seller_approve_refund")
            self._change_return(book, row, status=m.SUCCESS, actor=m.SELLER, step=step, set_flags=m.F_KEEP_ITEM)
        elif decision == "APPROVE_REPLACEMENT":
            self._send_replacement(book, row)
            self._change_return(book, row, status=m.REPLACEMENT_COMPLETE, actor=m.SELLER,
                                step="seller_approve_replacement")
        elif decision == "ISSUE_REPLACEMENT_REFUND":
            self._change_return(book, row, status=m.REPLACEMENT_REFUND_SUCCESS, actor=m.SELLER,
                                step="seller_replacement_refund")

    def _offer_partial(self, book: ShopBook, row: int, amount: int, *, back_to: int) -> None:
        detail = self._detail(book, row)
        detail.partial_amount = amount
        detail.offer_from = back_to
        self._change_return(book, row, status=m.AWAITING_BUYER_RESPONSE, actor=m.SELLER,
                            step="seller_offer_partial", set_flags=m.F_PARTIAL_OFFER,
                            clear_flags=m.F_BUYER_REJECTED_OFFER)

    def _send_replacement(self, book: ShopBook, row: int) -> None:
        """A replacement approval creates a new order with the same units at no cost to the buyer."""
        t = book.returns
        now = self.clock.now()
        original = self._order(book, t.order[row])
        positions = self._return_positions(book, row)
        source = t.order[row]
        orow = book.orders.append(ctime=now, utime=now, status=m.O_AWAITING_SHIPMENT, buyer=book.orders.buyer[source],
                                  nunits=len(positions), fbt=book.orders.fbt[source], kind=m.K_REPLACEMENT, link=row)
        order = self._new_order_object(book, orow, fbt=bool(book.orders.fbt[orow]), nunits=len(positions))
        order.paid_time = now
        make_replacement(self.codec, book, order, original, t.units[row])
        book.orders.details[orow] = order
        self._detail(book, row).replacement_order = orow

    def reject_return(self, shop: Shop, return_id: str, body: dict, version: str = "202309") -> dict:
        with self.lock:
            book = self._book(shop)
            body = s.check_body(body)
            newer = version >= "202606"
            decision = self._decision(body, REJECT_DECISIONS, (OFFER_AFTER_RECEIPT,) if newer else ())
            reason = body.get("reject_reason")
            if reason is None:
                raise ApiError(INVALID_TYPE, "Invalid request parameter. reject_reason is required.")
            if not isinstance(reason, str):
                raise ApiError(INVALID_TYPE, "Invalid request parameter type. reject_reason must be a string.")
            comment = self._comment(body, newer)
            images = self._images_of(body, newer)
            row = self._own(book, IdKind.RETURN, return_id, "return")
            t = book.returns
            allowed = dict(REJECT_DECISIONS, **{OFFER_AFTER_RECEIPT: (m.RETURN_AND_REFUND,)})
            self._common_return_checks(book, row, decision, allowed)
            status = t.status[row]
            receipt = decision in (OFFER_AFTER_RECEIPT, "REJECT_RECEIVED_PACKAGE")
            if receipt:
                if status in (m.REJECT_RECEIVE_PACKAGE, m.SUCCESS, m.COMPLETE) and self._was_shipped(book, row):
                    raise ApiError(ALREADY_RECEIVED, "The returned package has already been processed.")
                if status != m.BUYER_SHIPPED_ITEM:
                    raise ApiError(CANNOT_REJECT_RECEIPT, "The current status cannot reject the receipt.")
            else:
                pending = m.REPLACEMENT_PENDING if t.rtype[row] == m.REPLACEMENT else m.PENDING
                if status in APPROVED_STATUSES:
                    raise ApiError(ALREADY_APPROVED, "The request has already been approved and cannot be rejected.")
                if status != pending:
                    raise ApiError(INVALID_ORDER_STATUS, "Invalid status: the request cannot be rejected now.")
            self._check_reject_reason(reason, self._return_reject_reasons(book, row))
            if decision == OFFER_AFTER_RECEIPT:
                amount = self._partial_amount(book, row, body.get("partial_refund_amount"), "partial_refund_total",
                                              "partial_refund_amount")
                self._detail(book, row).reject_reason = reason
                self._offer_partial(book, row, amount, back_to=m.BUYER_SHIPPED_ITEM)
            else:
                step = {"REJECT_RECEIVED_PACKAGE": "seller_reject_parcel",
                        "REJECT_REPLACEMENT": "seller_reject_replacement"}.get(decision, "seller_reject_request")
                new_status = {"REJECT_RECEIVED_PACKAGE": m.REJECT_RECEIVE_PACKAGE,
                              "REJECT_REPLACEMENT": m.REPLACEMENT_REJECT}.get(decision, m.REQUEST_REJECT)
                record = self._step_record(book, row, step, reason_text=rs.text(reason), note=comment)
                record.images = tuple(images)
                self._detail(book, row).reject_reason = reason
                self._change_return(book, row, status=new_status, actor=m.SELLER, record=record)
            self._flush()
            return {}

    def _was_shipped(self, book: ShopBook, row: int) -> bool:
        detail = self._detail(book, row)
        return bool(detail.tracking_number) or any(r.description == STEP_TEXT["buyer_ship"][1]
                                                   for r in detail.records)

    def _comment(self, body: dict, newer: bool) -> str:
        comment = body.get("comment")
        if comment is None:
            return ""
        if not isinstance(comment, str):
            raise ApiError(INVALID_TYPE, "Invalid request parameter type. comment must be a string.")
        if newer and len(comment) > 500:
            raise ApiError(INVALID_PARAM, "Invalid param. comment must be at most 500 characters.")
        return comment

    def _images_of(self, body: dict, newer: bool) -> list[str]:
        images = body.get("images")
        if images is None:
            return []
        if not isinstance(images, list):
            raise ApiError(INVALID_TYPE, "Invalid request parameter type. images must be an array.")
        if newer and len(images) > 6:
            raise ApiError(INVALID_PARAM, "Invalid param. At most 6 images are allowed.")
        keys = []
        for n, image in enumerate(images):
            if not isinstance(image, dict) or not isinstance(image.get("image_id"), str):
                raise ApiError(INVALID_TYPE, f"Invalid request parameter type. images[{n}].image_id is required "
                                             "and must be a string.")
            if image["image_id"] not in self._images:
                raise ApiError(INVALID_PARAM, f"Invalid param. images[{n}].image_id is not an uploaded image.")
            keys.append("upload-" + hashlib.blake2b(image["image_id"].encode(), digest_size=8).hexdigest())
        return keys

    @staticmethod
    def _check_reject_reason(reason: str, allowed: list[str]) -> None:
        if reason not in rs.ALL_REJECT_REASONS:
            raise ApiError(UNKNOWN_REASON, f"Unknown reason name {reason!r}.")
        if reason not in allowed:
            raise ApiError(REASON_WRONG_STAGE, f"The reason {reason} does not fit the current stage of the request.")

    def _return_reject_reasons(self, book: ShopBook, row: int) -> list[str]:
        t = book.returns
        rtype, status = t.rtype[row], t.status[row]
        if t.arb[row] == m.ARB_IN_PROGRESS:
            return []
        if status == m.PENDING and rtype in (m.REFUND, m.RETURN_AND_REFUND):
            return rs.request_reject_reasons(book.market, refund_only=rtype == m.REFUND)
        if status == m.BUYER_SHIPPED_ITEM:
            return rs.parcel_reject_reasons(book.market)
        if status == m.REPLACEMENT_PENDING:
            return rs.request_reject_reasons(book.market, refund_only=False)
        return []

    def _cancel_reject_reasons(self, book: ShopBook, row: int) -> list[str]:
        t = book.cancels
        if t.rtype[row] == m.BUYER_CANCEL and t.status[row] == m.C_PENDING:
            return rs.cancel_reject_reasons(book.market)
        return []

    def reject_reasons(self, shop: Shop, query: dict[str, str]) -> dict:
        with self.lock:
            book = self._book(shop)
            request_id = query.get("return_or_cancel_id")
            if not request_id:
                raise ApiError(INVALID_TYPE, "Invalid request parameter. return_or_cancel_id is required.")
            if self.codec.decode(IdKind.CANCELLATION, request_id) is not None:
                names = self._cancel_reject_reasons(book, self._own(book, IdKind.CANCELLATION, request_id,
                                                                    "cancellation"))
            else:
                names = self._return_reject_reasons(book, self._own(book, IdKind.RETURN, request_id, "return"))
            return {"reasons": [{"name": name, "text": rs.text(name)} for name in names]}

    def return_records(self, shop: Shop, return_id: str, query: dict[str, str]) -> dict:
        with self.lock:
            book = self._book(shop)
            row = self._own(book, IdKind.RETURN, return_id, "return")
            detail = self._detail(book, row)
            records = sorted(detail.records, key=lambda r: r.create_time)
            return {"records": [record_object(r, self._media_base_url) for r in records]}

    # ---------------------------------------------------------------------------------------- cancellations

    def approve_cancellation(self, shop: Shop, cancel_id: str, body: dict) -> dict:
        with self.lock:
            book = self._book(shop)
            s.check_body(body)
            row = self._own(book, IdKind.CANCELLATION, cancel_id, "cancellation")
            t = book.cancels
            if t.rtype[row] != m.BUYER_CANCEL:
                raise ApiError(DECISION_TYPE_MISMATCH, "Only a buyer cancellation request can be approved.")
            if t.status[row] == m.C_CANCEL:
                raise ApiError(ALREADY_CANCELLED, "The cancellation request has already been closed.")
            if t.status[row] != m.C_PENDING:
                raise ApiError(CANNOT_APPROVE, "The current status cannot approve the application.")
            if book.orders.status[t.order[row]] in m.SHIPPED_ORDER_STATUSES:
                raise ApiError(ALREADY_SHIPPED, "The order has already been shipped and cannot be cancelled.")
            self._cancellation_succeeds(book, row, actor=m.SELLER)
            self._flush()
            return {}

    def reject_cancellation(self, shop: Shop, cancel_id: str, body: dict) -> dict:
        with self.lock:
            book = self._book(shop)
            body = s.check_body(body)
            reason = body.get("reject_reason")
            if reason is None:
                raise ApiError(INVALID_TYPE, "Invalid request parameter. reject_reason is required.")
            if not isinstance(reason, str):
                raise ApiError(INVALID_TYPE, "Invalid request parameter type. reject_reason must be a string.")
            self._comment(body, False)
            self._images_of(body, False)
            row = self._own(book, IdKind.CANCELLATION, cancel_id, "cancellation")
            t = book.cancels
            if t.rtype[row] != m.BUYER_CANCEL:
                raise ApiError(DECISION_TYPE_MISMATCH, "Only a buyer cancellation request can be rejected.")
            if t.status[row] in (m.C_SUCCESS, m.C_COMPLETE):
                raise ApiError(ALREADY_APPROVED, "The cancellation has already been approved and cannot be rejected.")
            if t.status[row] != m.C_PENDING:
                raise ApiError(CANNOT_REJECT_CANCEL, "The current status cannot reject the application.")
            if book.orders.status[t.order[row]] in m.SHIPPED_ORDER_STATUSES:
                raise ApiError(DECISION_STATUS_MISMATCH, "The order has already shipped; the cancellation request "
                                                         "closes with the shipment, not with a rejection.")
            self._check_reject_reason(reason, self._cancel_reject_reasons(book, row))
            self._cancellation_closes(book, row, actor=m.SELLER)
            self._flush()
            return {}

    def _cancellation_succeeds(self, book: ShopBook, row: int, *, actor: int) -> None:
        self._cancel_units(book, row)
        self._change_cancel(book, row, status=m.C_SUCCESS, actor=actor)

    def _cancel_units(self, book: ShopBook, row: int) -> None:
        """The order side of an accepted cancellation: its units are cancelled (all of them → CANCELLED)."""
        t = book.cancels
        order = self._order(book, t.order[row])
        order.cancelled_units.update(self._positions(t.units[row], len(order.units)))
        order.is_buyer_request_cancel = False
        role = t.role[row]
        order.cancellation_initiator = "SYSTEM" if role in (m.SYSTEM, m.OPERATOR) else m.ROLES[role]
        order.cancel_user = m.ROLES[role]
        order.cancel_reason = rs.text(rs.NAMES[t.reason[row]])
        all_gone = len(order.cancelled_units) >= len(order.units)
        if all_gone:
            order.cancel_time = self.clock.now()
        self._touch_order(book, t.order[row], m.O_CANCELLED if all_gone else None)

    def _cancellation_closes(self, book: ShopBook, row: int, *, actor: int) -> None:
        t = book.cancels
        order = self._order(book, t.order[row])
        order.is_buyer_request_cancel = False
        self._touch_order(book, t.order[row])
        self._change_cancel(book, row, status=m.C_CANCEL, actor=actor)

    # ------------------------------------------------------------------------- create / calculate / cancel

    def _order_for_request(self, book: ShopBook, body: dict) -> int:
        order_id = body.get("order_id")
        if order_id is None:
            raise ApiError(INVALID_TYPE, "Invalid request parameter. order_id is required.")
        if not isinstance(order_id, str):
            raise ApiError(INVALID_TYPE, "Invalid request parameter type. order_id must be a string.")
        found = self._locate(IdKind.ORDER, order_id)
        if found is None:
            raise ApiError(NOT_FOUND, f"Order {order_id} not found.")
        if found[0] is not book:
            raise ApiError(NO_PERMISSION, f"No permission: order {order_id} belongs to another shop.")
        return found[1]

    def _select_units(self, book: ShopBook, order: Order, body: dict) -> list[int] | None:
        """Positions chosen by ``order_line_item_ids`` or ``skus``; None when the body names none."""
        line_ids = body.get("order_line_item_ids")
        skus = body.get("skus")
        if line_ids is not None:
            if not isinstance(line_ids, list) or not all(isinstance(x, str) for x in line_ids):
                raise ApiError(INVALID_TYPE, "Invalid request parameter type. order_line_item_ids must be an array "
                                             "of strings.")
            if len(line_ids) > len(order.units) or len(set(line_ids)) != len(line_ids):
                raise ApiError(TOO_MANY_LINES, "Too many line items requested.")
            by_id = {u.line_id: i for i, u in enumerate(order.units)}
            unknown = [x for x in line_ids if x not in by_id]
            if unknown:
                raise ApiError(INVALID_TYPE, f"Invalid request parameter. Line item {unknown[0]} is not in the order.")
            if line_ids:
                return sorted(by_id[x] for x in line_ids)
        if skus is not None:
            if not isinstance(skus, list):
                raise ApiError(INVALID_TYPE, "Invalid request parameter type. skus must be an array.")
            chosen: list[int] = []
            for n, item in enumerate(skus):
                if not isinstance(item, dict) or not isinstance(item.get("sku_id"), str) or isinstance(
                        item.get("quantity"), bool) or not isinstance(item.get("quantity"), int):
                    raise ApiError(INVALID_TYPE, f"Invalid request parameter type. skus[{n}] needs sku_id (string) "
                                                 "and quantity (integer).")
                matching = [i for i, u in enumerate(order.units) if u.sku_id == item["sku_id"] and i not in chosen]
                if not matching:
                    raise ApiError(INVALID_TYPE, f"Invalid request parameter. SKU {item['sku_id']} is not in the "
                                                 "order.")
                if item["quantity"] < 1 or item["quantity"] > len(matching):
                    raise ApiError(TOO_MANY_LINES, f"Too many units requested for SKU {item['sku_id']}.")
                chosen.extend(matching[: item["quantity"]])
            if chosen:
                return sorted(chosen)
        return None

    def _unit_states(self, book: ShopBook, order_row: int) -> tuple[set[int], set[int]]:
        """(units in an open request, units already refunded/replaced) for an order."""
        active: set[int] = set()
        done: set[int] = set()
        t = book.returns
        for row in self._return_ids_of_order(book, order_row):
            positions = self._positions(t.units[row], 8)
            if t.status[row] in m.DONE_STATUSES:
                done.update(positions)
            elif t.status[row] not in m.CLOSED_STATUSES:
                active.update(positions)
        return active, done

    def create_return(self, shop: Shop, body: dict) -> dict:
        with self.lock:
            book = self._book(shop)
            body = s.check_body(body)
            reason = s.required_string(body, "return_reason")
            rtype_name = s.required_string(body, "return_type")
            if rtype_name not in ("REFUND", "RETURN_AND_REFUND"):
                raise ApiError(INVALID_TYPE, "Invalid request parameter. return_type must be REFUND or "
                                             "RETURN_AND_REFUND.")
            shipment = s.optional_string(body, "shipment_type")
            handover = s.optional_string(body, "handover_method")
            if shipment is not None and shipment not in ("PLATFORM", "BUYER_ARRANGE"):
                raise ApiError(INVALID_TYPE, "Invalid request parameter. shipment_type must be PLATFORM or "
                                             "BUYER_ARRANGE.")
            if handover is not None and handover not in ("DROP_OFF", "PICKUP"):
                raise ApiError(INVALID_TYPE, "Invalid request parameter. handover_method must be DROP_OFF or PICKUP.")
            currency = s.optional_string(body, "currency")
            refund_total = s.optional_string(body, "refund_total")
            order_row = self._order_for_request(book, body)
            order = self._order(book, order_row)
            ostatus = book.orders.status[order_row]
            if ostatus == m.O_CANCELLED:
                raise ApiError(RETURN_DONE_OR_ORDER_CANCELLED, "The order has been cancelled.")
            if ostatus == m.O_COMPLETED:
                raise ApiError(ORDER_FINISHED, "The order is completed; no return or refund is possible.")
            if ostatus not in (m.O_AWAITING_COLLECTION, m.O_IN_TRANSIT, m.O_DELIVERED):
                raise ApiError(INVALID_ORDER_STATUS, f"Invalid order status {m.ORDER_STATUSES[ostatus]} for a "
                                                     "return or refund.")
            if reason not in rs.TEXTS:
                raise ApiError(UNKNOWN_REASON, f"Unknown reason name {reason!r}.")
            if reason not in rs.SELLER_INITIATED:
                raise ApiError(REASON_NOT_FOR_SELLER, f"The reason {reason} cannot be used by a seller.")
            if reason not in rs.seller_request_reasons(rtype_name, m.ORDER_STATUSES[ostatus], book.market):
                raise ApiError(REASON_WRONG_ORDER_STATUS, f"The reason {reason} does not fit a {rtype_name} on an "
                                                          f"order in {m.ORDER_STATUSES[ostatus]} in {book.market}.")
            positions = self._select_units(book, order, body)
            active, done = self._unit_states(book, order_row)
            if positions is None:
                positions = [i for i in range(len(order.units)) if i not in order.cancelled_units and i not in done
                             and i not in active]
                if not positions and active:
                    raise ApiError(ALREADY_IN_PROCESS, "A return or refund is already in process for this order.")
                if not positions:
                    raise ApiError(RETURN_DONE_OR_ORDER_CANCELLED, "Every item of the order was already returned.")
            if any(p in active for p in positions):
                raise ApiError(ALREADY_IN_PROCESS, "A return or refund is already in process for these items.")
            if any(p in done or p in order.cancelled_units for p in positions):
                raise ApiError(RETURN_DONE_OR_ORDER_CANCELLED, "These items were already refunded or cancelled.")
            if currency is not None and currency != book.currency:
                raise ApiError(INVALID_TYPE, f"Invalid request parameter. currency must be the order currency "
                                             f"{book.currency}.")
            rtype = m.REFUND if rtype_name == "REFUND" else m.RETURN_AND_REFUND
            full = breakdown(order, positions, reason, includes_tax=self.refund_total_includes_tax).total.total
            override = None
            if refund_total is not None:
                minor = amounts.parse(refund_total, book.currency)
                if minor is None:
                    raise ApiError(INVALID_TYPE, f"Invalid request parameter. refund_total {refund_total!r} is not "
                                                 f"an amount in {book.currency}.")
                if minor > full:
                    raise ApiError(REFUND_TOO_HIGH, f"refund_total {refund_total} exceeds the refundable amount "
                                                    f"{amounts.fmt(full, book.currency)}.")
                override = minor if minor < full else None
            row = self._new_return(book, order_row, rtype, positions, reason, role=m.SELLER,
                                   step="seller_request", shipment=shipment, handover=handover)
            self._detail(book, row).override_total = override
            book.returns.forget(row)
            self._flush()
            return {"return_id": self._return_id(book, row),
                    "return_status": m.RETURN_STATUSES[book.returns.status[row]]}

    def _new_return(self, book: ShopBook, order_row: int, rtype: int, positions: list[int], reason: str, *,
                    role: int, step: str, shipment: str | None = None, handover: str | None = None) -> int:
        now = self.clock.now()
        status = {m.REPLACEMENT: m.REPLACEMENT_PENDING, m.EXCHANGE: m.EXCHANGE_PENDING}.get(rtype, m.PENDING)
        t = book.returns
        row = t.append(order=order_row, rtype=rtype, status=status, arb=m.NO_ARBITRATION, flags=0, role=role,
                       scenario=sc.LIVE_MADE, reason=rs.NUMBER[reason], reason2=0,
                       units=sum(1 << p for p in positions), ctime=now, utime=now, stime=now)
        book.orders.returns.setdefault(order_row, []).append(row)
        detail = ReturnDetail()
        if rtype != m.REFUND:
            detail.shipment_type = shipment or "PLATFORM"
            platform = detail.shipment_type == "PLATFORM"
            detail.handover_method = (handover or "DROP_OFF") if platform else ""
            detail.return_method = "PLATFORM_SHIPPED" if platform else "BUYER_SHIPPED"
            detail.document_type = "SHIPPING_LABEL" if platform else ""
        t.details[row] = detail
        record = self._step_record(book, row, step, reason_text=rs.text(reason))
        record.create_time = now
        detail.records.append(record)
        self._return_changed(book, row, role)
        return row

    def calculate_refund(self, shop: Shop, body: dict) -> dict:
        with self.lock:
            book = self._book(shop)
            body = s.check_body(body)
            request_type = s.required_string(body, "request_type")
            reason = s.required_string(body, "reason_name")
            if request_type not in ("CANCEL", "REFUND", "RETURN_AND_REFUND"):
                raise ApiError(INVALID_TYPE, "Invalid request parameter. request_type must be CANCEL, REFUND or "
                                             "RETURN_AND_REFUND.")
            if reason not in rs.TEXTS:
                raise ApiError(INVALID_TYPE, f"Invalid request parameter. Unknown reason_name {reason!r}.")
            s.optional_string(body, "shipment_type")
            s.optional_string(body, "handover_method")
            order_row = self._order_for_request(book, body)
            order = self._order(book, order_row)
            positions = self._select_units(book, order, body)
            if positions is None:
                positions = [i for i in range(len(order.units)) if i not in order.cancelled_units]
            money = breakdown(order, positions, reason, includes_tax=self.refund_total_includes_tax,
                              cancellation=request_type == "CANCEL",
                              unpaid=book.orders.status[order_row] == m.O_UNPAID)
            fmt = amounts.fmt
            return {"order_refund_amount": {
                "currency": book.currency,
                "refund_total": fmt(money.total.total, book.currency),
                "refund_subtotal": fmt(money.total.subtotal, book.currency),
                "refund_shipping_fee": fmt(money.total.shipping, book.currency),
                "refund_tax": fmt(money.total.tax, book.currency),
                "retail_delivery_fee": fmt(0, book.currency),
            }}

    def cancel_order(self, shop: Shop, body: dict) -> dict:
        with self.lock:
            book = self._book(shop)
            body = s.check_body(body)
            reason = body.get("cancel_reason")
            if reason is None:
                raise ApiError(INVALID_TYPE, "Invalid request parameter. cancel_reason is required.")
            if not isinstance(reason, str):
                raise ApiError(INVALID_TYPE, "Invalid request parameter type. cancel_reason must be a string.")
            order_row = self._order_for_request(book, body)
            order = self._order(book, order_row)
            ostatus = book.orders.status[order_row]
            if reason not in rs.TEXTS:
                raise ApiError(UNKNOWN_REASON, f"Unknown reason name {reason!r}.")
            if rs.CATEGORY_OF.get(reason) not in ("seller_cancel_paid", "seller_cancel_unpaid"):
                raise ApiError(REASON_NOT_FOR_SELLER, f"The reason {reason} cannot be used by a seller.")
            if ostatus == m.O_CANCELLED:
                raise ApiError(ALREADY_IN_PROCESS, "The order is already cancelled.")
            if ostatus == m.O_COMPLETED:
                raise ApiError(ORDER_FINISHED, "The order is completed and cannot be cancelled.")
            if ostatus in (m.O_IN_TRANSIT, m.O_DELIVERED):
                raise ApiError(ALREADY_SHIPPED, "The order has already been shipped and cannot be cancelled.")
            if ostatus not in CANCELLABLE_BY_SELLER or reason not in rs.seller_cancel_reasons(
                    m.ORDER_STATUSES[ostatus]):
                raise ApiError(REASON_WRONG_ORDER_STATUS, f"The reason {reason} does not fit an order in "
                                                          f"{m.ORDER_STATUSES[ostatus]}; sellers cannot cancel "
                                                          "unpaid orders.")
            for crow in self._cancel_rows_of_order(book, order_row):
                if book.cancels.status[crow] == m.C_PENDING:
                    raise ApiError(ALREADY_IN_PROCESS, "A cancellation request is already in process.")
            positions = self._select_units(book, order, body)
            partial = positions is not None and len(positions) < len(order.units) - len(order.cancelled_units)
            if partial and book.market not in PARTIAL_CANCEL_MARKETS:
                raise ApiError(LINES_NOT_SEPARABLE, "Individual line items cannot be cancelled in this market.")
            if positions is None:
                positions = [i for i in range(len(order.units)) if i not in order.cancelled_units]
            if any(p in order.cancelled_units for p in positions):
                raise ApiError(ALREADY_IN_PROCESS, "These items are already cancelled.")
            row = self._new_cancellation(book, order_row, m.DIRECT_CANCEL, positions, reason, role=m.SELLER,
                                         status=m.C_SUCCESS, actor=m.SELLER)
            self._flush()
            return {"cancel_id": self._cancel_id(book, row),
                    "cancel_status": m.CANCEL_STATUSES[book.cancels.status[row]]}

    def _new_cancellation(self, book: ShopBook, order_row: int, ctype: int, positions: list[int], reason: str, *,
                          role: int, status: int, actor: int) -> int:
        now = self.clock.now()
        unpaid = book.orders.status[order_row] == m.O_UNPAID
        row = book.cancels.append(order=order_row, rtype=ctype, status=status, arb=0,
                                  flags=C_UNPAID if unpaid else 0, role=role, scenario=sc.LIVE_MADE,
                                  reason=rs.NUMBER[reason], reason2=0, units=sum(1 << p for p in positions),
                                  ctime=now, utime=now, stime=now)
        book.orders.cancels.setdefault(order_row, []).append(row)
        if status == m.C_SUCCESS:
            self._cancel_units(book, row)
        self._cancel_changed(book, row, actor)
        return row

    def aftersale_eligibility(self, shop: Shop, order_id: str, query: dict[str, str], version: str = "202309",
                              ) -> dict:
        with self.lock:
            book = self._book(shop)
            user = query.get("initiate_aftersale_user") or "SELLER"
            if user not in ("SELLER", "BUYER"):
                raise ApiError(INVALID_TYPE, "Invalid request parameter. initiate_aftersale_user must be SELLER or "
                                             "BUYER.")
            types = ["CANCEL", "REFUND", "RETURN_AND_REFUND"]
            newer = version >= "202602"
            if newer and query.get("request_types"):
                wanted = [x.strip() for x in query["request_types"].split(",") if x.strip()]
                if any(x not in types for x in wanted):
                    raise ApiError(INVALID_TYPE, "Invalid request parameter. request_types accepts CANCEL, REFUND "
                                                 "and RETURN_AND_REFUND.")
                types = [x for x in types if x in wanted]
            order_row = self._order_for_request(book, {"order_id": order_id})
            order = self._order(book, order_row)
            status = m.ORDER_STATUSES[book.orders.status[order_row]]
            active, done = self._unit_states(book, order_row)
            pending_cancel = any(book.cancels.status[c] == m.C_PENDING
                                 for c in self._cancel_rows_of_order(book, order_row))
            skus: dict[str, dict[tuple, list[str]]] = {}
            for position, unit in enumerate(order.units):
                for request_type in types:
                    verdict = self._eligibility(book, request_type, user, status, position, order, active, done,
                                                pending_cancel)
                    skus.setdefault(unit.sku_id, {}).setdefault((request_type, *verdict), []).append(unit.line_id)
            out = []
            for sku_id, groups in skus.items():
                entries = []
                for (request_type, eligible, code, text), line_ids in groups.items():
                    entry: dict[str, Any] = {"request_type": request_type, "order_line_items_ids": line_ids,
                                             "eligible": eligible}
                    if not eligible:
                        entry["ineligible_code"] = code
                        entry["ineligible_reason"] = text
                    elif newer:
                        entry["available_reason_names"] = self._reasons_for(user, request_type, status, book.market)
                    entries.append(entry)
                out.append({"sku_id": sku_id, "line_item_eligibility": entries})
            return {"sku_eligibility": out}

    @staticmethod
    def _reasons_for(user: str, request_type: str, status: str, market: str) -> list[str]:
        if user == "BUYER":
            return rs.buyer_request_reasons(request_type, status)
        if request_type == "CANCEL":
            return rs.seller_cancel_reasons(status)
        return rs.seller_request_reasons(request_type, status, market)

    def _eligibility(self, book: ShopBook, request_type: str, user: str, status: str, position: int, order: Order,
                     active: set[int], done: set[int], pending_cancel: bool) -> tuple[bool, int, str]:
        if position in order.cancelled_units or status == "CANCELLED":
            return False, RETURN_DONE_OR_ORDER_CANCELLED, "The item has been cancelled."
        if request_type == "CANCEL":
            allowed = ("UNPAID", "ON_HOLD", "AWAITING_SHIPMENT") if user == "BUYER" else (
                "ON_HOLD", "AWAITING_SHIPMENT", "AWAITING_COLLECTION")
            if pending_cancel:
                return False, ALREADY_IN_PROCESS, "A cancellation request is already in process."
            if status not in allowed:
                if status in ("IN_TRANSIT", "DELIVERED"):
                    return False, ALREADY_SHIPPED, "The order has already been shipped."
                if status == "COMPLETED":
                    return False, ORDER_FINISHED, "The order is completed."
                return False, INVALID_ORDER_STATUS, f"A {user.lower()} cannot cancel an order in {status}."
            return True, 0, ""
        if status == "COMPLETED":
            return False, ORDER_FINISHED, "The order is completed."
        if position in done:
            return False, RETURN_DONE_OR_ORDER_CANCELLED, "The item was already refunded."
        if position in active:
            return False, ALREADY_IN_PROCESS, "A return or refund is already in process for this item."
        allowed = ("AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED") if request_type == "REFUND" else ("DELIVERED",)
        if status not in allowed:
            return False, INVALID_ORDER_STATUS, f"A {request_type} is not possible for an order in {status}."
        if user == "SELLER" and request_type == "RETURN_AND_REFUND" and book.market not in SELLER_RETURN_MARKETS:
            return False, REASON_WRONG_ORDER_STATUS, "Seller-initiated returns are only available in the US."
        return True, 0, ""

    # ---------------------------------------------------------------------------- buyer / platform actions

    def _request(self, request_id: str) -> tuple[int, ShopBook, int]:
        found = self._locate(IdKind.RETURN, request_id)
        if found is not None:
            return RETURNS, found[0], found[1]
        found = self._locate(IdKind.CANCELLATION, request_id)
        if found is not None:
            return CANCELS, found[0], found[1]
        raise ValueError(f"unknown return or cancellation id {request_id!r}")

    def _return_of(self, return_id: str) -> tuple[ShopBook, int]:
        kind, book, row = self._request(return_id)
        if kind != RETURNS:
            raise ValueError(f"{return_id} is a cancellation, not a return")
        return book, row

    def _invalid(self, book: ShopBook, row: int, action: str) -> ValueError:
        t = book.returns
        return ValueError(f"cannot {action}: return is {m.RETURN_STATUSES[t.status[row]]}"
                          + (f" with arbitration {m.ARBITRATION[t.arb[row]]}" if t.arb[row] else ""))

    def create_order(self, shop: Shop, *, units: int = 1, status: str = "DELIVERED",
                     fulfillment_type: str = "FULFILLMENT_BY_SELLER") -> dict:
        """A new order (buyer purchase) in the given status, for tests and the control API."""
        with self.lock:
            book = self._book(shop)
            if status not in m.ORDER_STATUSES or status == "CANCELLED":
                raise ValueError(f"cannot create an order in status {status!r}")
            if not 1 <= units <= 8:
                raise ValueError("an order has 1 to 8 units")
            if fulfillment_type not in ("FULFILLMENT_BY_SELLER", "FULFILLMENT_BY_TIKTOK"):
                raise ValueError(f"unknown fulfillment_type {fulfillment_type!r}")
            row = self._make_order(book, units, m.ORDER_STATUSES.index(status),
                                   fbt=fulfillment_type == "FULFILLMENT_BY_TIKTOK")
            return self._order_dict(book, row)

    def _make_order(self, book: ShopBook, units: int, status: int, *, fbt: bool = False) -> int:
        now = self.clock.now()
        ages = {m.O_UNPAID: 300, m.O_ON_HOLD: 300, m.O_AWAITING_SHIPMENT: 2 * HOUR}
        ctime = now - ages.get(status, 5 * DAY)
        book.buyers = max(book.buyers, 1)
        buyer = len(book.orders) % book.buyers
        row = book.orders.append(ctime=ctime, utime=now, status=status, buyer=buyer, nunits=units,
                                 fbt=1 if fbt else 0, kind=m.K_PLAIN, link=-1)
        order = self._new_order_object(book, row, fbt=fbt, nunits=units)
        if status != m.O_UNPAID:
            order.paid_time = ctime + 60
        if status in m.SHIPPED_ORDER_STATUSES or status == m.O_PARTIALLY_SHIPPING:
            order.rts_time = ctime + DAY
        if status in (m.O_IN_TRANSIT, m.O_DELIVERED, m.O_COMPLETED):
            order.collection_time = ctime + DAY + 3 * HOUR
        if status in (m.O_DELIVERED, m.O_COMPLETED):
            order.delivery_time = now - HOUR
        book.orders.details[row] = order
        return row

    def _new_order_object(self, book: ShopBook, row: int, *, fbt: bool, nunits: int) -> Order:
        order = Order()
        order.row = row
        order.id = self.codec.make(IdKind.ORDER, book.slot, row)
        order.buyer_id = self.codec.make(IdKind.BUYER, book.slot, book.orders.buyer[row])
        order.create_time = book.orders.ctime[row]
        fill_order(order, book, rng_for(self.seed, book.slot, 1, row), self.codec, fbt=fbt, nunits=nunits)
        return order

    def create_return_request(self, shop: Shop, *, return_type: str = "RETURN_AND_REFUND",
                              order_id: str | None = None, units: int = 1, reason: str | None = None) -> dict:
        with self.lock:
            book = self._book(shop)
            if return_type not in m.RETURN_TYPES:
                raise ValueError(f"unknown return_type {return_type!r}")
            rtype = m.RETURN_TYPES.index(return_type)
            if rtype == m.EXCHANGE and book.market not in EXCHANGE_MARKETS:
                raise ValueError("exchanges exist only in the US and the UK")
            if units < 1:
                raise ValueError("units must be at least 1")
            if order_id is None:
                order_row = self._make_order(book, units, m.O_DELIVERED)
            else:
                found = self._locate(IdKind.ORDER, order_id)
                if found is None or found[0] is not book:
                    raise ValueError(f"order {order_id} is not an order of this shop")
                order_row = found[1]
            order = self._order(book, order_row)
            status = m.ORDER_STATUSES[book.orders.status[order_row]]
            allowed = rs.buyer_request_reasons("REFUND" if rtype == m.REFUND else "RETURN_AND_REFUND", status)
            if not allowed:
                raise ValueError(f"a buyer cannot open a {return_type} on an order in {status}")
            if reason is None:
                preferred = [r for r in allowed if r.endswith(("_defective", "_damaged", "not_arrive_on_time"))]
                reason = preferred[0] if preferred else allowed[0]
            elif reason not in allowed:
                raise ValueError(f"reason {reason!r} does not fit a buyer {return_type} on an order in {status}")
            active, done = self._unit_states(book, order_row)
            free = [i for i in range(len(order.units))
                    if i not in active and i not in done and i not in order.cancelled_units]
            if len(free) < units:
                raise ValueError(f"the order has only {len(free)} unit(s) left to return")
            row = self._new_return(book, order_row, rtype, free[:units], reason, role=m.BUYER, step="buyer_request")
            self._flush()
            return self._return_dict(book, row, "202602")

    def create_cancellation_request(self, shop: Shop, *, order_id: str | None = None, units: int | None = None,
                                    ) -> dict:
        with self.lock:
            book = self._book(shop)
            if order_id is None:
                order_row = self._make_order(book, units or 1, m.O_AWAITING_SHIPMENT)
            else:
                found = self._locate(IdKind.ORDER, order_id)
                if found is None or found[0] is not book:
                    raise ValueError(f"order {order_id} is not an order of this shop")
                order_row = found[1]
            order = self._order(book, order_row)
            ostatus = book.orders.status[order_row]
            if ostatus not in (m.O_UNPAID, m.O_ON_HOLD, m.O_AWAITING_SHIPMENT):
                raise ValueError(f"buyers cannot cancel an order in {m.ORDER_STATUSES[ostatus]}")
            if any(book.cancels.status[c] == m.C_PENDING for c in self._cancel_rows_of_order(book, order_row)):
                raise ValueError("a cancellation request is already pending for this order")
            free = [i for i in range(len(order.units)) if i not in order.cancelled_units]
            chosen = free if units is None else free[:units]
            if not chosen or (units is not None and len(chosen) < units):
                raise ValueError("not enough units left to cancel")
            unpaid = ostatus == m.O_UNPAID
            reason = ("ecom_order_unpaid_canceled_reason_no_longer_needed" if unpaid
                      else "ecom_order_to_ship_canceled_reason_no_longer_needed")
            # Unpaid orders, and UK orders still on hold, are cancelled at once (contract §4.5).
            if unpaid or (ostatus == m.O_ON_HOLD and book.market == "GB"):
                row = self._new_cancellation(book, order_row, m.BUYER_CANCEL, chosen, reason, role=m.BUYER,
                                             status=m.C_SUCCESS, actor=m.SYSTEM)
            else:
                order.is_buyer_request_cancel = True
                order.request_cancel_time = self.clock.now()
                self._touch_order(book, order_row)
                row = self._new_cancellation(book, order_row, m.BUYER_CANCEL, chosen, reason, role=m.BUYER,
                                             status=m.C_PENDING, actor=m.BUYER)
            self._flush()
            return self._cancel_dict(book, row)

    def buyer_ship(self, return_id: str, *, tracking_number: str | None = None) -> dict:
        with self.lock:
            book, row = self._return_of(return_id)
            t = book.returns
            if t.status[row] != m.AWAITING_BUYER_SHIP:
                raise self._invalid(book, row, "ship")
            detail = self._detail(book, row)
            rng = rng_for(self.seed, book.slot, 3, row * 31 + t.token[row])
            detail.carrier = carrier_for(book.market, rng)
            detail.tracking_number = tracking_number or f"{detail.carrier[2]}{int(rng.random() * 10**12):012d}"
            record = self._step_record(book, row, "buyer_ship")
            record.note = f"{detail.carrier[0]} tracking number {detail.tracking_number}"
            self._change_return(book, row, status=m.BUYER_SHIPPED_ITEM, actor=m.BUYER, record=record)
            self._flush()
            return self._return_dict(book, row, "202602")

    def buyer_withdraw(self, request_id: str) -> dict:
        with self.lock:
            kind, book, row = self._request(request_id)
            if kind == CANCELS:
                if book.cancels.status[row] != m.C_PENDING:
                    raise ValueError(f"cannot withdraw: cancellation is "
                                     f"{m.CANCEL_STATUSES[book.cancels.status[row]]}")
                self._cancellation_closes(book, row, actor=m.BUYER)
                self._flush()
                return self._cancel_dict(book, row)
            t = book.returns
            status = t.status[row]
            closing = {
                m.PENDING: m.CANCEL, m.AWAITING_BUYER_SHIP: m.CANCEL, m.AWAITING_BUYER_RESPONSE: m.CANCEL,
                m.REQUEST_REJECT: m.CANCEL, m.REJECT_RECEIVE_PACKAGE: m.CANCEL,
                m.REPLACEMENT_PENDING: m.REPLACEMENT_CANCEL, m.REPLACEMENT_REJECT: m.REPLACEMENT_CANCEL,
                m.EXCHANGE_PENDING: m.EXCHANGE_CANCEL,
            }
            if status not in closing:
                raise self._invalid(book, row, "withdraw")
            arb = m.ARB_CLOSED if t.arb[row] == m.ARB_IN_PROGRESS else None
            self._change_return(book, row, status=closing[status], actor=m.BUYER, step="buyer_withdraw", arb=arb)
            self._flush()
            return self._return_dict(book, row, "202602")

    def buyer_escalate(self, return_id: str) -> dict:
        with self.lock:
            book, row = self._return_of(return_id)
            t = book.returns
            if t.status[row] not in (m.REQUEST_REJECT, m.REJECT_RECEIVE_PACKAGE, m.REPLACEMENT_REJECT) or t.arb[row]:
                raise self._invalid(book, row, "escalate")
            self._change_return(book, row, actor=m.BUYER, step="buyer_escalate", arb=m.ARB_IN_PROGRESS)
            self._flush()
            return self._return_dict(book, row, "202602")

    def resolve_arbitration(self, return_id: str, winner: str) -> dict:
        with self.lock:
            if winner not in ("BUYER", "SELLER"):
                raise ValueError("winner must be BUYER or SELLER")
            book, row = self._return_of(return_id)
            t = book.returns
            if t.arb[row] != m.ARB_IN_PROGRESS:
                raise self._invalid(book, row, "resolve arbitration")
            status = t.status[row]
            if winner == "BUYER":
                if status == m.REPLACEMENT_REJECT:
                    self._send_replacement(book, row)
                    new_status = m.REPLACEMENT_COMPLETE
                elif status == m.REQUEST_REJECT and t.rtype[row] == m.RETURN_AND_REFUND:
                    new_status = m.AWAITING_BUYER_SHIP
                else:
                    new_status = m.SUCCESS
                self._change_return(book, row, status=new_status, actor=m.OPERATOR, step="operator_support_buyer",
                                    arb=m.ARB_SUPPORT_BUYER)
            else:
                new_status = m.REPLACEMENT_CANCEL if t.rtype[row] == m.REPLACEMENT else m.CANCEL
                self._change_return(book, row, status=new_status, actor=m.OPERATOR, step="operator_support_seller",
                                    arb=m.ARB_SUPPORT_SELLER)
            self._flush()
            return self._return_dict(book, row, "202602")

    def buyer_respond_partial_refund(self, return_id: str, accept: bool) -> dict:
        with self.lock:
            book, row = self._return_of(return_id)
            t = book.returns
            if t.status[row] != m.AWAITING_BUYER_RESPONSE:
                raise self._invalid(book, row, "answer a partial refund")
            detail = self._detail(book, row)
            if accept:
                detail.override_total = detail.partial_amount
                self._change_return(book, row, status=m.SUCCESS, actor=m.BUYER, step="buyer_accept_partial",
                                    set_flags=m.F_KEEP_ITEM)
            else:
                self._change_return(book, row, status=detail.offer_from, actor=m.BUYER, step="buyer_reject_partial",
                                    set_flags=m.F_BUYER_REJECTED_OFFER)
            self._flush()
            return self._return_dict(book, row, "202602")

    def complete_refund(self, request_id: str) -> dict:
        with self.lock:
            kind, book, row = self._request(request_id)
            if kind == CANCELS:
                if book.cancels.status[row] != m.C_SUCCESS:
                    raise ValueError(f"cannot complete: cancellation is "
                                     f"{m.CANCEL_STATUSES[book.cancels.status[row]]}")
                self._change_cancel(book, row, status=m.C_COMPLETE, actor=m.SYSTEM)
                self._flush()
                return self._cancel_dict(book, row)
            if book.returns.status[row] != m.SUCCESS:
                raise self._invalid(book, row, "complete the refund")
            self._change_return(book, row, status=m.COMPLETE, actor=m.SYSTEM, step="system_refund")
            self._flush()
            return self._return_dict(book, row, "202602")

    def ship_order(self, order_id: str) -> dict:
        """The seller hands the parcel to the carrier. In the US this also closes a pending buyer cancellation."""
        with self.lock:
            book, row = self._order_of(order_id)
            status = book.orders.status[row]
            if status not in (m.O_ON_HOLD, m.O_AWAITING_SHIPMENT, m.O_PARTIALLY_SHIPPING):
                raise ValueError(f"cannot ship an order in {m.ORDER_STATUSES[status]}")
            order = self._order(book, row)
            order.rts_time = self.clock.now()
            self._touch_order(book, row, m.O_AWAITING_COLLECTION)
            if book.market == "US":
                for crow in self._cancel_rows_of_order(book, row):
                    if book.cancels.status[crow] == m.C_PENDING:
                        self._cancellation_closes(book, crow, actor=m.SELLER)
            self._flush()
            return self._order_dict(book, row)

    def deliver_order(self, order_id: str) -> dict:
        """The carrier delivers the parcel (AWAITING_COLLECTION/IN_TRANSIT → DELIVERED)."""
        with self.lock:
            book, row = self._order_of(order_id)
            status = book.orders.status[row]
            if status not in (m.O_AWAITING_COLLECTION, m.O_IN_TRANSIT):
                raise ValueError(f"cannot deliver an order in {m.ORDER_STATUSES[status]}")
            order = self._order(book, row)
            now = self.clock.now()
            order.collection_time = order.collection_time or now
            order.delivery_time = now
            self._touch_order(book, row, m.O_DELIVERED)
            return self._order_dict(book, row)

    def _order_of(self, order_id: str) -> tuple[ShopBook, int]:
        found = self._locate(IdKind.ORDER, order_id)
        if found is None:
            raise ValueError(f"unknown order id {order_id!r}")
        return found

    # ------------------------------------------------------------------------------------------------- clock

    def tick(self) -> list[ChangeEvent]:
        """Apply every deadline that is due at ``clock.now()``; returns the changes (also sent to on_change)."""
        with self.lock:
            now = self.clock.now()
            timers = self._timers
            while timers and timers[0][0] <= now:
                _, _, kind, slot, row, token = heapq.heappop(timers)
                book = self._books[slot]
                table = book.returns if kind == RETURNS else book.cancels
                if table.token[row] != token:
                    continue  # the request changed since this deadline was set
                if kind == RETURNS:
                    self._return_deadline(book, row)
                else:
                    self._cancel_deadline(book, row)
            return self._flush()

    def _return_deadline(self, book: ShopBook, row: int) -> None:
        t = book.returns
        status, rtype = t.status[row], t.rtype[row]
        if status == m.PENDING:
            if t.role[row] == m.SELLER:
                # A seller-initiated request needs no review: TikTok processes it shortly after creation.
                new_status = m.SUCCESS if rtype == m.REFUND else m.AWAITING_BUYER_SHIP
                record = Record(0, "SYSTEM", "Seller-initiated request accepted by TikTok Shop")
                self._change_return(book, row, status=new_status, actor=m.SYSTEM, record=record)
            else:
                new_status = m.SUCCESS if rtype == m.REFUND else m.AWAITING_BUYER_SHIP
                self._change_return(book, row, status=new_status, actor=m.SYSTEM, step="system_auto_approve")
        elif status == m.AWAITING_BUYER_SHIP:
            self._change_return(book, row, status=m.CANCEL, actor=m.SYSTEM, step="system_ship_timeout")
        elif status == m.BUYER_SHIPPED_ITEM:
            self._change_return(book, row, status=m.SUCCESS, actor=m.SYSTEM, step="system_auto_receive")
        elif status in (m.REQUEST_REJECT, m.REJECT_RECEIVE_PACKAGE):
            self._change_return(book, row, status=m.CANCEL, actor=m.SYSTEM, step="system_appeal_expired")
        elif status == m.REPLACEMENT_REJECT:
            self._change_return(book, row, status=m.REPLACEMENT_CANCEL, actor=m.SYSTEM, step="system_appeal_expired")
        elif status == m.SUCCESS:
            self._change_return(book, row, status=m.COMPLETE, actor=m.SYSTEM, step="system_refund")
        elif status == m.AWAITING_BUYER_RESPONSE:
            self._change_return(book, row, status=m.CANCEL, actor=m.SYSTEM, step="system_offer_expired")
        elif status == m.REPLACEMENT_PENDING:
            self._send_replacement(book, row)
            self._change_return(book, row, status=m.REPLACEMENT_COMPLETE, actor=m.SYSTEM,
                                step="system_auto_replacement")
        elif status == m.EXCHANGE_PENDING:
            self._change_return(book, row, status=m.EXCHANGE_COMPLETE, actor=m.SYSTEM, step="system_auto_exchange")

    def _cancel_deadline(self, book: ShopBook, row: int) -> None:
        status = book.cancels.status[row]
        if status == m.C_PENDING:
            self._cancellation_succeeds(book, row, actor=m.SYSTEM)
        elif status == m.C_SUCCESS:
            self._change_cancel(book, row, status=m.C_COMPLETE, actor=m.SYSTEM)

    # ------------------------------------------------------------------------------------------- read-back

    def find_request(self, request_id: str) -> dict | None:
        with self.lock:
            try:
                kind, book, row = self._request(request_id)
            except ValueError:
                return None
            return self._return_dict(book, row, "202602") if kind == RETURNS else self._cancel_dict(book, row)

    def snapshot(self, shop: Shop | None = None, *, limit: int | None = None) -> dict:
        """The whole state (or one shop's) as API-shaped dicts; ``limit`` keeps the newest N of each kind per shop.

        Returns and cancellations are in their newest-version shape; each record carries its ``shop_id``.
        """
        with self.lock:
            books = [self._book(shop)] if shop is not None else list(self._books)

            def rows(count: int) -> range:
                return range(max(0, count - limit), count) if limit is not None else range(count)

            out: dict[str, Any] = {
                "now": self.clock.now(),
                "sellers": [{"id": x.id, "name": x.name, "base_region": x.base_region, "shop_ids": list(x.shop_ids)}
                            for x in self._sellers.values() if shop is None or shop.id in x.shop_ids],
                "shops": [],
                "orders": [],
                "returns": [],
                "cancellations": [],
            }
            for b in books:
                out["shops"].append({
                    "id": b.shop.id, "cipher": b.shop.cipher, "name": b.shop.name, "region": b.shop.region,
                    "currency": b.shop.currency, "seller_type": b.shop.seller_type, "code": b.shop.code,
                    "seller_id": b.shop.seller_id, "order_count": len(b.orders), "return_count": len(b.returns),
                    "cancellation_count": len(b.cancels),
                })
                out["orders"].extend(dict(self._order_dict(b, r), shop_id=b.shop.id) for r in rows(len(b.orders)))
                out["returns"].extend(dict(self._return_dict(b, r, "202602"), shop_id=b.shop.id)
                                      for r in rows(len(b.returns)))
                out["cancellations"].extend(dict(self._cancel_dict(b, r), shop_id=b.shop.id)
                                            for r in rows(len(b.cancels)))
            return out
