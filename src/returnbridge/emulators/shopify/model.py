"""The store's records. Plain dataclasses; derived quantities (refundable, returnable, financial status) live on
``Store`` in ``world.py`` because they look across records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

# Quantity names an inventory level tracks (store-apis.md A.5.1); on_hand is kept as its own counter.
QUANTITY_NAMES = (
    "available", "on_hand", "committed", "incoming", "reserved", "damaged", "quality_control", "safety_stock",
)


@dataclass
class Location:
    id: int
    name: str
    is_active: bool = True


@dataclass
class InventoryItem:
    id: int
    sku: str
    tracked: bool = True
    variant_id: int | None = None


@dataclass
class Variant:
    id: int
    product_id: int
    title: str
    sku: str
    price: Decimal
    inventory_item_id: int


@dataclass
class Product:
    id: int
    title: str
    variant_ids: list[int] = field(default_factory=list)


@dataclass
class InventoryLevel:
    item_id: int
    location_id: int
    quantities: dict[str, int]
    updated_at: datetime


@dataclass
class InventoryChange:
    name: str
    delta: int
    item_id: int
    location_id: int
    ledger_document_uri: str | None = None


@dataclass
class AdjustmentGroup:
    """One inventory mutation (or a restock made by a refund or a disposition) with every row it changed."""

    id: int
    created_at: datetime
    reason: str
    reference_document_uri: str | None
    changes: list[InventoryChange]
    source: str  # the mutation or record that caused it: inventoryAdjustQuantities, refundCreate, ...


@dataclass
class LineItem:
    id: int
    title: str
    quantity: int
    unit_price: Decimal
    tax_rate: Decimal
    sku: str | None = None
    variant_id: int | None = None  # None: a custom line item (no variant, cannot be restocked)

    def unit_tax(self) -> Decimal:
        return self.unit_price * self.tax_rate


@dataclass
class FulfillmentLineItem:
    id: int
    line_item_id: int
    quantity: int


@dataclass
class Fulfillment:
    id: int
    location_id: int
    created_at: datetime
    line_items: list[FulfillmentLineItem]
    status: str = "SUCCESS"


@dataclass
class FulfillmentOrderLineItem:
    id: int
    line_item_id: int
    total_quantity: int
    remaining_quantity: int


@dataclass
class FulfillmentOrder:
    id: int
    location_id: int
    status: str  # OPEN, CLOSED
    line_items: list[FulfillmentOrderLineItem]


@dataclass
class Transaction:
    id: int
    kind: str  # SALE, CAPTURE, REFUND, ...
    gateway: str
    amount: Decimal
    created_at: datetime
    processed_at: datetime
    status: str = "SUCCESS"
    parent_id: int | None = None
    refund_id: int | None = None


@dataclass
class Metafield:
    namespace: str
    key: str
    value: str
    type: str = "single_line_text_field"


@dataclass
class Disposition:
    id: int
    type: str
    quantity: int
    location_id: int | None
    created_at: datetime


@dataclass
class ReverseFulfillmentOrderLineItem:
    id: int
    fulfillment_line_item_id: int
    return_line_item_id: int
    total_quantity: int
    dispositions: list[Disposition] = field(default_factory=list)


@dataclass
class ReverseFulfillmentOrder:
    id: int
    return_id: int
    status: str  # OPEN, CLOSED, CANCELED
    line_items: list[ReverseFulfillmentOrderLineItem]


@dataclass
class ReturnLineItem:
    id: int
    fulfillment_line_item_id: int
    quantity: int
    return_reason: str | None
    return_reason_definition_id: int | None
    return_reason_note: str
    customer_note: str | None
    processed_quantity: int = 0
    refunded_quantity: int = 0


@dataclass
class Decline:
    reason: str
    note: str | None


@dataclass
class Return:
    id: int
    order_id: int
    name: str
    status: str  # REQUESTED, OPEN, CLOSED, DECLINED, CANCELED
    line_items: list[ReturnLineItem]
    created_at: datetime
    reverse_fulfillment_orders: list[ReverseFulfillmentOrder] = field(default_factory=list)
    request_approved_at: datetime | None = None
    closed_at: datetime | None = None
    decline: Decline | None = None
    refund_ids: list[int] = field(default_factory=list)

    @property
    def total_quantity(self) -> int:
        return sum(line.quantity for line in self.line_items)


@dataclass
class RefundLineItem:
    id: int
    line_item_id: int
    quantity: int
    restock_type: str
    restocked: bool
    location_id: int | None
    price: Decimal
    subtotal: Decimal
    total_tax: Decimal


@dataclass
class Refund:
    id: int
    order_id: int
    note: str | None
    created_at: datetime
    processed_at: datetime
    line_items: list[RefundLineItem]
    transaction_ids: list[int]
    total_refunded: Decimal
    shipping_refunded: Decimal = Decimal("0")
    return_id: int | None = None


@dataclass
class Order:
    id: int
    number: int
    name: str
    created_at: datetime
    currency: str
    line_items: list[LineItem]
    shipping_price: Decimal
    email: str | None = None
    note: str | None = None
    tags: list[str] = field(default_factory=list)
    custom_attributes: list[tuple[str, str | None]] = field(default_factory=list)
    source_name: str | None = "web"
    source_identifier: str | None = None
    po_number: str | None = None
    metafields: list[Metafield] = field(default_factory=list)
    fulfillments: list[Fulfillment] = field(default_factory=list)
    fulfillment_orders: list[FulfillmentOrder] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    refund_ids: list[int] = field(default_factory=list)
    return_ids: list[int] = field(default_factory=list)
    test: bool = False
    cancelled_at: datetime | None = None
    updated_at: datetime | None = None

    def line_item(self, line_item_id: int) -> LineItem | None:
        return next((line for line in self.line_items if line.id == line_item_id), None)

    def fulfillment_line_item(self, fli_id: int) -> tuple[Fulfillment, FulfillmentLineItem] | None:
        for fulfillment in self.fulfillments:
            for line in fulfillment.line_items:
                if line.id == fli_id:
                    return fulfillment, line
        return None
