"""What every store platform offers the mirror: the ``StoreAdapter`` protocol, its requests and results, and errors.

Shopify implements it first (``stores.shopify``); Magento 2 and WooCommerce will implement the same protocol, so the
mirror job, the outbox and reconciliation never know which platform they talk to. Money is ``Decimal`` with its
currency, never float; ids are strings; every request carries our idempotency key so the store record can be found
again after a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from returnbridge.stores.settings import LookupStrategy

# ``return_cancel``: TikTok rejected the return or the buyer cancelled it after the store-side return was created.
EFFECT_KINDS = ("return", "refund", "restock", "return_cancel")


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"money must be Decimal, got {type(self.amount).__name__}")


@dataclass(frozen=True, slots=True)
class StoreOrderLine:
    """One order line as the store knows it, with what the mirror needs to return, refund or restock it."""

    line_item_id: str
    sku: str
    quantity: int
    refundable_quantity: int
    inventory_item_id: str = ""
    tracked: bool = True
    # Fulfilled units of this line: (fulfillment line item id, quantity, location it shipped from).
    fulfillments: tuple[tuple[str, int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class StoreOrder:
    id: str
    name: str
    currency: str
    url: str = ""
    lines: tuple[StoreOrderLine, ...] = ()
    # The SALE/CAPTURE transaction a recorded refund points at, and its gateway (the refund reuses it).
    parent_transaction_id: str = ""
    gateway: str = ""

    def lines_for_sku(self, sku: str) -> list[StoreOrderLine]:
        return [line for line in self.lines if line.sku == sku]


@dataclass(frozen=True, slots=True)
class Units:
    """``quantity`` units of one SKU (TikTok sends one case line per unit; they are grouped by SKU here)."""

    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ReturnRequest:
    order: StoreOrder
    units: tuple[Units, ...]
    key: str
    note: str  # carries ``key``: the store's own record of why, and how a retry finds it


@dataclass(frozen=True, slots=True)
class RefundAmounts:
    """TikTok's refund breakdown, copied exactly. ``total`` is what TikTok paid the buyer back; platform-funded
    discounts are kept for the record but are never part of what is refunded to the buyer's gateway."""

    currency: str
    total: Decimal
    subtotal: Decimal | None = None
    shipping: Decimal | None = None
    tax: Decimal | None = None
    retail_delivery_fee: Decimal | None = None
    buyer_service_fee: Decimal | None = None
    platform_discount: Decimal | None = None
    shipping_platform_discount: Decimal | None = None

    def to_json(self) -> dict[str, str | None]:
        return {f.name: _text(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RefundAmounts:
        def amount(name: str) -> Decimal | None:
            value = data.get(name)
            return None if value is None else Decimal(value)

        total = amount("total")
        if total is None:
            raise ValueError("a refund needs TikTok's refund total")
        return cls(
            currency=str(data["currency"]), total=total, subtotal=amount("subtotal"), shipping=amount("shipping"),
            tax=amount("tax"), retail_delivery_fee=amount("retail_delivery_fee"),
            buyer_service_fee=amount("buyer_service_fee"), platform_discount=amount("platform_discount"),
            shipping_platform_discount=amount("shipping_platform_discount"),
        )


def _text(value: object) -> str | None:
    if value is None:
        return None
    return format(value, "f") if isinstance(value, Decimal) else str(value)


@dataclass(frozen=True, slots=True)
class RefundRequest:
    order: StoreOrder
    amounts: RefundAmounts
    key: str
    note: str
    units: tuple[Units, ...] = ()  # refunded units; empty for a money-only (e.g. partial) refund
    # Only a cancellation before shipment restocks through the refund ("cancel" restock); every other restock goes
    # through ``restock`` so a unit is never put back twice. An empty location id means the default location.
    restock: bool = False
    restock_location_id: str = ""


@dataclass(frozen=True, slots=True)
class RestockRequest:
    order: StoreOrder
    units: tuple[Units, ...]
    location_id: str  # "" = the store's default location
    use_fulfillment_location: bool
    key: str


@dataclass(frozen=True, slots=True)
class ReturnCancelRequest:
    """Undo the store-side return ``return_key`` names: TikTok rejected it (``rejected``) or the buyer cancelled it.

    The store ends it the way its state allows (Shopify: decline a requested return, cancel an open one, close one
    already processed); an ended return is the outcome, so a repeat finds it ended and changes nothing."""

    order: StoreOrder
    return_key: str  # the idempotency key of the return effect, which the store return carries
    key: str
    note: str
    rejected: bool


@dataclass(frozen=True, slots=True)
class EffectResult:
    """A store record that exists: created by this call, or found again by our key."""

    record_id: str
    url: str = ""
    amount: Money | None = None  # refunds: the total the store recorded
    detail: dict[str, Any] = field(default_factory=dict)


class StoreError(Exception):
    """A store call that did not succeed. ``retryable`` says whether trying again later may work."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TransientStoreError(StoreError):
    """Timeouts, throttling, 5xx: try again later (with our key, after searching the store for it)."""

    retryable = True


class PermanentStoreError(StoreError):
    """The store refused the effect (validation error, bad credentials, missing data): hold it with the reason."""


class OrderNotFound(PermanentStoreError):
    pass


@runtime_checkable
class StoreAdapter(Protocol):
    """One store platform. Implementations make no database calls and never commit anything of ours."""

    platform: str

    def find_order(self, tiktok_order_id: str, strategy: LookupStrategy) -> StoreOrder | None:
        """The store order carrying this TikTok order id in the way ``strategy`` describes, or None."""

    def get_order(self, store_order_id: str) -> StoreOrder | None:
        """A store order by its own id (a cached or hand-made match)."""

    def create_return(self, request: ReturnRequest) -> EffectResult: ...

    def record_refund(self, request: RefundRequest) -> EffectResult:
        """Record a refund already settled elsewhere (TikTok paid the buyer): no money moves through the store."""

    def restock(self, request: RestockRequest) -> EffectResult: ...

    def cancel_return(self, request: ReturnCancelRequest) -> EffectResult:
        """End the store return carrying ``request.return_key``; an already ended one is the result (no change)."""

    def find_effects(self, order: StoreOrder, kind: str, key: str) -> list[EffectResult]:
        """Every store record of ``kind`` on ``order`` that carries our key (more than one is a duplicate)."""
