"""What the store scenario suite needs from a platform: the ``PlatformDriver`` protocol and the normalised records a
driver reads back from its emulator.

The scenarios (``test_scenarios.py``) never talk to an emulator themselves: they plan TikTok cases, run the real
mirror job against the platform's emulator over HTTP, and judge what the driver reads back. A record carries what
the merchant would check in the store's admin: which units came back, which amounts were recorded, where stock went.
Amounts are ``Decimal`` as the store shows them, never float.

A driver lives in one file next to this one and is registered by listing its class in ``registry.DRIVERS``
(docs/store-mirroring.md, "Adding a platform").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from returnbridge.sync.runtime import Runtime


class Capability(StrEnum):
    """What a platform can record; a scenario that needs a missing capability is skipped with the reason."""

    # The store has a return record of its own (Shopify returns, Adobe Commerce RMA); without it a return effect
    # leaves nothing to read back and only refunds and stock are judged.
    RETURNS = "returns"
    # Stock is kept per location/source and a restock can target one (default, fulfilled-from, chosen).
    LOCATIONS = "locations"
    # A store-side return can be cancelled/closed when TikTok rejects it or the buyer cancels it.
    RETURN_CANCEL = "return_cancel"
    # Stock can be put back apart from the refund, as a restock effect of its own. Without it (Magento's credit
    # memo, WooCommerce's api_restock) no restock effect is planned: the refund restocks the returned units when
    # auto-restock is on, so the scenarios judge the refund's restocked units instead, and the restock trigger is
    # always the refund.
    RESTOCK = "restock"


class Fault(StrEnum):
    # The store commits the write, then the connection closes without an answer (we cannot know it happened).
    # (The other crash, our process killed between the store's answer and our commit, needs nothing from the
    # platform: the harness kills the mirror through its ``after_store_call`` seam.)
    COMMIT_THEN_DROP = "commit_then_drop"


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int
    price: Decimal


@dataclass(frozen=True)
class ScenarioStore:
    """One fresh store in the platform's emulator, connected in our DB (``store_id``) through the service."""

    store_id: int
    currency: str
    skus: tuple[str, ...]  # stocked, tracked SKUs (at least two)
    locations: tuple[str, ...]  # store location/source ids; [0] is the default one (at least two with LOCATIONS)
    native: Any = None  # the driver's own handle (domain, token, ...)


@dataclass(frozen=True)
class ReturnRecord:
    id: str
    order_id: str
    status: str  # normalised: "open", "closed", "cancelled", "declined", "requested"
    units: Mapping[str, int]  # sku → quantity
    note: str = ""  # where our idempotency key is


@dataclass(frozen=True)
class RefundRecord:
    """A refund (Shopify refund, Magento credit memo, WooCommerce refund, PrestaShop order slip)."""

    id: str
    order_id: str
    currency: str
    total: Decimal  # the amount recorded as refunded (the transaction / credit memo grand total)
    shipping: Decimal  # of which shipping
    units: Mapping[str, int] = field(default_factory=dict)  # refunded units by sku
    restocked_units: Mapping[str, int] = field(default_factory=dict)  # units the refund itself put back in stock
    note: str = ""


@dataclass(frozen=True)
class RestockRecord:
    """Stock put back by a restock effect (not by a refund), as the store's inventory history shows it."""

    id: str
    units: Mapping[str, int]  # sku → delta
    location: str
    reference: str = ""  # where our idempotency key is, if the platform keeps one


class PlatformDriver(Protocol):
    """One store platform under test. Module-scoped: ``start`` once, then a fresh ``add_store`` per test."""

    platform: str  # ``Store.platform`` and the pytest id
    capabilities: frozenset[Capability]

    def start(self) -> None:
        """Start the platform's emulator (in this process or a child), ready to serve HTTP."""

    def stop(self) -> None: ...

    def add_store(self, runtime: Runtime, *, currency: str = "USD") -> ScenarioStore:
        """Create a fresh store in the emulator and connect it through ``returnbridge.sync.stores`` (credentials
        encrypted) with mirroring still off and an order lookup that finds the orders ``seed_order`` creates."""

    def seed_order(self, store: ScenarioStore, tiktok_order_id: str, lines: Sequence[OrderLine], *,
                   shipping: Decimal = Decimal("3.99"), fulfilled: bool = True, location: str = "") -> str:
        """An order carrying ``tiktok_order_id`` the way the platform's TikTok connector does, paid (and shipped
        from ``location``, default the first, unless ``fulfilled`` is false); gives the store's order id."""

    def returns(self, store: ScenarioStore) -> list[ReturnRecord]: ...

    def refunds(self, store: ScenarioStore) -> list[RefundRecord]: ...

    def restocks(self, store: ScenarioStore) -> list[RestockRecord]: ...

    def available(self, store: ScenarioStore, sku: str, location: str = "") -> int:
        """Sellable stock of ``sku`` at ``location`` (default the first)."""

    def inject(self, store: ScenarioStore, fault: Fault, effect_kind: str, *, count: int = 1) -> None:
        """Make the next ``count`` store calls that perform ``effect_kind`` (our kind: "return", "refund",
        "restock", "return_cancel") fail with ``fault``."""

    def clear_faults(self, store: ScenarioStore) -> None: ...
