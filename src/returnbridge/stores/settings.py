"""Per-store settings, in the merchant's words. Everything is off until the merchant turns it on."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class MirroringMode(StrEnum):
    OFF = "off"
    RECORD = "record"  # returns and refunds
    INFORMATIONAL = "informational"  # returns only, never a refund


class RestockLocation(StrEnum):
    DEFAULT = "default"  # the store's default location
    FULFILLED_FROM = "fulfilled_from"  # where the line shipped from
    CHOSEN = "chosen"  # ``restock_location_id``


class RestockTrigger(StrEnum):
    PACKAGE_APPROVED = "package_approved"  # the merchant (or TikTok) approved the received package
    REFUND_COMPLETED = "refund_completed"


class CurrencyMismatch(StrEnum):
    # The only choice on purpose: an amount is never converted silently; the case is held with the reason.
    HOLD = "hold"


LookupKind = Literal["name", "tag", "note_attribute", "source_identifier", "metafield",
                     # WooCommerce and PrestaShop
                     "meta", "field",
                     # Magento: the increment id ("name" too), ext_order_id, or a sales_order column named ``key``
                     "increment_id", "ext_order_id", "order_field"]


class LookupStrategy(BaseModel):
    """One way a TikTok→store order connector writes the TikTok order id on the store order.

    ``name``: the order name is ``prefix + id + suffix``; ``tag``: a tag ``prefix + id + suffix``; ``note_attribute``:
    a note attribute (customAttributes) named ``key`` holds the id (not filterable, so recent orders matching
    ``scan_query`` are read); ``source_identifier``: the order's source identifier is the id; ``metafield``: an
    admin-filterable metafield ``namespace.key`` holds the id. WooCommerce: ``meta``: the order meta ``key`` holds
    the id (no meta filter: the ``scan_pages`` × 100 most recent orders are read); ``name``: the order number.
    PrestaShop: ``name``: the order reference; ``field``: the orders field named ``key`` (filterable). Magento:
    ``increment_id`` (as ``name``), ``ext_order_id``, or ``order_field``: the ``sales_order`` column ``key`` (added by
    the connector's module).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: LookupKind
    prefix: str = ""
    suffix: str = ""
    key: str = ""
    namespace: str = ""
    scan_query: str = ""
    scan_pages: int = Field(default=10, ge=1, le=100)

    @model_validator(mode="after")
    def _needs(self) -> LookupStrategy:
        if self.kind == "note_attribute" and not self.key:
            raise ValueError("a note_attribute lookup needs the attribute key")
        if self.kind in ("meta", "field") and not self.key:
            raise ValueError(f"a {self.kind} lookup needs the key (the meta key or field name)")
        if self.kind == "order_field" and not self.key:
            raise ValueError("an order_field lookup needs the column name as key")
        if self.kind == "metafield" and not (self.namespace and self.key):
            raise ValueError("a metafield lookup needs namespace and key")
        return self

    def value(self, tiktok_order_id: str) -> str:
        return f"{self.prefix}{tiktok_order_id}{self.suffix}"

    def label(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in (("prefix", self.prefix), ("suffix", self.suffix), ("key", self.key),
                                                  ("namespace", self.namespace)) if v)
        return f"{self.kind}:{extra}" if extra else self.kind


class StoreSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mirroring: MirroringMode = MirroringMode.OFF
    auto_restock: bool = False
    restock_location: RestockLocation = RestockLocation.DEFAULT
    restock_location_id: str = ""
    restock_trigger: RestockTrigger = RestockTrigger.REFUND_COMPLETED
    currency_mismatch: CurrencyMismatch = CurrencyMismatch.HOLD
    # Tried in order after the local map; the first that finds exactly one order wins and is cached.
    order_lookup: list[LookupStrategy] = Field(default_factory=lambda: [LookupStrategy(kind="name")])
    # TikTok accounts mirrored into this store (our account ids); empty means every connected shop.
    account_ids: list[int] = Field(default_factory=list)

    @model_validator(mode="after")
    def _chosen_location(self) -> StoreSettings:
        if self.restock_location is RestockLocation.CHOSEN and not self.restock_location_id:
            raise ValueError("restock_location 'chosen' needs restock_location_id")
        return self

    @property
    def enabled(self) -> bool:
        return self.mirroring is not MirroringMode.OFF

    def covers(self, account_id: int) -> bool:
        return not self.account_ids or account_id in self.account_ids
