"""Payload models for the TikTok Shop API (contract §2–§5, §7).

Every model keeps fields it does not know (``extra="allow"``) and types enum-like fields as plain ``str``, so a
field or value TikTok adds later is carried through instead of failing a page. Money is ``Decimal`` parsed from
TikTok's decimal strings together with its currency; ids are strings; times are int Unix seconds with UTC-aware
``datetime`` helpers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar, cast, get_args

from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
)
from pydantic_core import CoreSchema, SchemaValidator, ValidationError, core_schema

T = TypeVar("T")


def _to_none(_: Any) -> None:
    return None


def _to_empty_list(_: Any) -> list[Any]:
    return []


def _wrap_one(value: Any) -> list[Any]:
    return [value]


def _lenient_bool(value: Any) -> Any:
    # The doc sample carries "true " (with a space) for a bool.
    if isinstance(value, str):
        value = value.strip().lower()
        return None if value == "" else value
    return value


# Hot-path note: a page of 50 returns holds ~1,000 money, time and flag values and ~200 lists. A Python
# validator on each of them (``BeforeValidator``/``AfterValidator``) costs a Python call per value, which was a
# third of the parse. So each of these types is an ordered ("left_to_right") union whose FIRST choice is a plain
# core schema that takes the usual value entirely inside pydantic-core; only the unusual spellings ("" for
# money/times, "true " for flags, null or a single object for lists) fall through to a choice that calls Python.


def _blank_as_none(schema: CoreSchema) -> CoreSchema:
    """``schema`` or null, where ``""`` also means null (real payloads use "" for "not applicable")."""
    blank = core_schema.no_info_after_validator_function(_to_none, core_schema.literal_schema([""]))
    return core_schema.nullable_schema(core_schema.union_schema([schema, blank], mode="left_to_right"))


class _BlankAsNone:
    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        (inner,) = (arg for arg in get_args(source) if arg is not type(None))
        return _blank_as_none(handler.generate_schema(inner))


class _LenientFlag:
    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        padded = core_schema.no_info_before_validator_function(
            _lenient_bool, core_schema.nullable_schema(core_schema.bool_schema())
        )
        return core_schema.nullable_schema(
            core_schema.union_schema([core_schema.bool_schema(), padded], mode="left_to_right")
        )


class _NullAsEmpty:
    """``list[X]`` that also takes ``null`` (as ``[]``)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        null = core_schema.no_info_after_validator_function(_to_empty_list, core_schema.none_schema())
        return core_schema.union_schema([handler(source), null], mode="left_to_right")


class _OneOrMany:
    """``list[X]`` that also takes a single ``X`` or ``null``: the spec says object[], the changelog shows one
    object."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        (item,) = get_args(source)
        one = core_schema.no_info_after_validator_function(_wrap_one, handler.generate_schema(item))
        null = core_schema.no_info_after_validator_function(_to_empty_list, core_schema.none_schema())
        return core_schema.union_schema([handler(source), one, null], mode="left_to_right")


class _MoneyTexts(dict[str, Decimal | None]):
    """Money strings already seen, with their value: a page repeats the same few amounts ("0.00", a price)
    hundreds of times, and a dict hit is cheaper than building and checking a new ``Decimal``. Decimals are
    immutable, so sharing one instance is safe; the key is the exact text, so "1.0" and "1.00" stay apart."""

    LIMIT = 4096
    _parse = SchemaValidator(_blank_as_none(core_schema.decimal_schema()))

    def __missing__(self, text: str) -> Decimal | None:
        try:
            value: Decimal | None = self._parse.validate_python(text)
        except ValidationError as invalid:
            raise ValueError(invalid.errors(include_url=False)[0]["msg"]) from None
        if len(self) >= self.LIMIT:
            self.clear()
        self[text] = value
        return value


_MONEY_TEXTS = _MoneyTexts()


class _Money:
    """``Decimal | None`` with "" as None. From JSON a string goes through ``_MONEY_TEXTS`` (a C-level dict
    lookup); anything else, and every Python-side value, is validated as before."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        plain = _blank_as_none(handler.generate_schema(Decimal))
        text = core_schema.chain_schema(
            [
                core_schema.str_schema(strict=True),
                core_schema.no_info_plain_validator_function(_MONEY_TEXTS.__getitem__),
            ]
        )
        return core_schema.json_or_python_schema(
            json_schema=core_schema.union_schema([text, plain], mode="left_to_right"), python_schema=plain
        )


Money = Annotated[Decimal | None, _Money()]
UnixTime = Annotated[int | None, _BlankAsNone()]
Flag = Annotated[bool | None, _LenientFlag()]
Items = Annotated[list[T], _NullAsEmpty()]
OneOrMany = Annotated[list[T], _OneOrMany()]
UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda moment: moment.astimezone(UTC))]


def utc(seconds: int | None) -> datetime | None:
    """Unix seconds as an aware UTC datetime (None stays None); ``ValueError`` for a time no datetime holds.

    ``fromtimestamp`` fails three ways by size (ValueError past year 9999, OSError past the C library's range,
    OverflowError past time_t): one exception type lets callers refuse the record instead of crashing on the rarer
    two."""
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{seconds} is not a Unix time TikTok could mean") from None


class TikTokModel(BaseModel):
    """Base for payloads: unknown fields kept, numeric ids accepted as strings."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


class Timestamped(TikTokModel):
    create_time: UnixTime = None
    update_time: UnixTime = None

    @property
    def created_at(self) -> datetime | None:
        return utc(self.create_time)

    @property
    def updated_at(self) -> datetime | None:
        return utc(self.update_time)


# --- money blocks ------------------------------------------------------------------------------------------


class RefundAmount(TikTokModel):
    """Refund breakdown as TikTok states it; store every component, never recompute ``refund_total``."""

    currency: str | None = None
    refund_total: Money = None
    refund_subtotal: Money = None
    refund_shipping_fee: Money = None
    refund_tax: Money = None
    retail_delivery_fee: Money = None
    buyer_service_fee: Money = None


class DiscountAmount(TikTokModel):
    currency: str | None = None
    product_platform_discount: Money = None
    product_seller_discount: Money = None
    shipping_fee_platform_discount: Money = None
    shipping_fee_seller_discount: Money = None


class ShippingFeeAmount(TikTokModel):
    """Return-shipping cost split; the changelog names each field with an ``_amount`` suffix, the spec without."""

    currency: str | None = None
    seller_paid_return_shipping_fee: Money = Field(
        None,
        validation_alias=AliasChoices("seller_paid_return_shipping_fee", "seller_paid_return_shipping_fee_amount"),
    )
    platform_paid_return_shipping_fee: Money = Field(
        None,
        validation_alias=AliasChoices("platform_paid_return_shipping_fee", "platform_paid_return_shipping_fee_amount"),
    )
    buyer_paid_return_shipping_fee: Money = Field(
        None,
        validation_alias=AliasChoices("buyer_paid_return_shipping_fee", "buyer_paid_return_shipping_fee_amount"),
    )


class PartialRefund(TikTokModel):
    currency: str | None = None
    amount: Money = None


class ProductImage(TikTokModel):
    url: str | None = None
    width: int | None = None
    height: int | None = None


class SellerNextAction(TikTokModel):
    action: str | None = None
    deadline: UnixTime = None

    @property
    def deadline_at(self) -> datetime | None:
        return utc(self.deadline)


# --- returns -----------------------------------------------------------------------------------------------


class ReturnLineItem(TikTokModel):
    """One returned unit; ``order_line_item_id`` joins to ``Order.line_items[].id``. There is no quantity."""

    return_line_item_id: str | None = None
    order_line_item_id: str | None = None
    sku_id: str | None = None
    sku_name: str | None = None
    seller_sku: str | None = None
    product_name: str | None = None
    product_image: ProductImage | None = None
    refund_amount: RefundAmount | None = None


class WarehouseAddress(TikTokModel):
    full_address: str | None = None


class ReturnOrder(Timestamped):
    """A return/refund/replacement request as Search Returns reports it (contract §3.1)."""

    return_id: str
    order_id: str | None = None
    return_type: str | None = None
    return_status: str | None = None
    arbitration_status: str | None = None
    role: str | None = None
    return_reason: str | None = None
    return_reason_text: str | None = None
    shipment_type: str | None = None
    handover_method: str | None = None
    return_tracking_number: str | None = None
    return_provider_name: str | None = None
    return_provider_id: str | None = None
    pre_return_id: str | None = None
    next_return_id: str | None = None
    can_buyer_keep_item: Flag = None
    seller_next_action_response: Items[SellerNextAction] = []
    return_line_items: Items[ReturnLineItem] = []
    refund_amount: RefundAmount | None = None
    discount_amount: OneOrMany[DiscountAmount] = []
    shipping_fee_amount: OneOrMany[ShippingFeeAmount] = Field(
        default_factory=list, validation_alias=AliasChoices("shipping_fee_amount", "return_shipping_fee_amount")
    )
    return_shipping_document_type: str | None = None
    return_method: str | None = None
    is_combined_return: Flag = None
    combined_return_id: str | None = None
    seller_proposed_return_type: str | None = None
    partial_refund: PartialRefund | None = None
    buyer_rejected_partial_refund: Flag = None
    return_warehouse_address: WarehouseAddress | None = None
    is_quick_refund: Flag = None


class SearchReturnsPage(TikTokModel):
    return_orders: Items[ReturnOrder] = []
    total_count: int | None = None
    next_page_token: str | None = None

    @property
    def is_last(self) -> bool:
        """An empty or absent ``next_page_token`` both mean there is no further page."""
        return not self.next_page_token


class RecordImage(TikTokModel):
    url: str | None = None
    width: int | None = None
    height: int | None = None


class RecordVideo(TikTokModel):
    url: str | None = None
    cover: str | None = None
    width: int | None = None
    height: int | None = None
    duration_millis: int | None = None


class ReturnRecord(TikTokModel):
    """One entry of a return's history; ``role`` may arrive mixed-case (``"Buyer"``)."""

    event: str | None = None
    role: str | None = None
    description: str | None = None
    reason_text: str | None = None
    note: str | None = None
    images: Items[RecordImage] = []
    videos: Items[RecordVideo] = []
    create_time: UnixTime = None

    @property
    def actor(self) -> str | None:
        """The role upper-cased, comparable with ``enums.Role``."""
        return self.role.upper() if self.role else None

    def is_by(self, role: str) -> bool:
        return self.actor == role.upper()

    @property
    def created_at(self) -> datetime | None:
        return utc(self.create_time)


class RejectReason(TikTokModel):
    name: str
    text: str | None = None


class LineItemEligibility(TikTokModel):
    request_type: str | None = None
    # The spec spells it "order_line_items_ids"; the natural spelling is accepted too.
    order_line_items_ids: Items[str] = Field(
        default_factory=list, validation_alias=AliasChoices("order_line_items_ids", "order_line_item_ids")
    )
    eligible: Flag = None
    ineligible_code: int | None = None
    ineligible_reason: str | None = None


class SkuEligibility(TikTokModel):
    sku_id: str | None = None
    line_item_eligibility: Items[LineItemEligibility] = []


class AftersaleEligibility(TikTokModel):
    sku_eligibility: Items[SkuEligibility] = []


class CreatedReturn(TikTokModel):
    return_id: str
    return_status: str | None = None


class RefundCalculation(TikTokModel):
    order_refund_amount: RefundAmount | None = None


# --- cancellations -----------------------------------------------------------------------------------------


class CancelLineItem(TikTokModel):
    cancel_line_item_id: str | None = None
    order_line_item_id: str | None = None
    sku_id: str | None = None
    sku_name: str | None = None
    product_name: str | None = None
    seller_sku: str | None = None
    product_image: ProductImage | None = None
    refund_amount: RefundAmount | None = None


class Cancellation(Timestamped):
    """A cancellation as Search Cancellations reports it (contract §3.10)."""

    cancel_id: str
    order_id: str | None = None
    cancel_type: str | None = None
    cancel_status: str | None = None
    role: str | None = None
    cancel_reason: str | None = None
    cancel_reason_text: str | None = None
    seller_next_action_response: Items[SellerNextAction] = []
    refund_amount: RefundAmount | None = None
    cancel_line_items: Items[CancelLineItem] = []
    should_replenish_stock: Flag = None


class SearchCancellationsPage(TikTokModel):
    cancellations: Items[Cancellation] = []
    total_count: int | None = None
    next_page_token: str | None = None

    @property
    def is_last(self) -> bool:
        return not self.next_page_token


class CreatedCancellation(TikTokModel):
    cancel_id: str
    cancel_status: str | None = None


# --- images ------------------------------------------------------------------------------------------------


class UploadedImage(TikTokModel):
    """An uploaded evidence image; ``uri`` is what reject calls send as ``image_id``.

    ``mime_type`` is not in the upload answer: the client fills it from the uploaded file name.
    """

    uri: str
    url: str | None = None
    width: int | None = None
    height: int | None = None
    use_case: str | None = None
    mime_type: str | None = None


# --- orders ------------------------------------------------------------------------------------------------


class OrderPayment(TikTokModel):
    currency: str | None = None
    sub_total: Money = None
    shipping_fee: Money = None
    seller_discount: Money = None
    platform_discount: Money = None
    total_amount: Money = None
    original_total_product_price: Money = None
    original_shipping_fee: Money = None
    shipping_fee_seller_discount: Money = None
    shipping_fee_platform_discount: Money = None
    shipping_fee_cofunded_discount: Money = None
    tax: Money = None
    product_tax: Money = None
    shipping_fee_tax: Money = None
    retail_delivery_fee: Money = None
    small_order_fee: Money = None
    buyer_service_fee: Money = None
    handling_fee: Money = None
    shipping_insurance_fee: Money = None
    item_insurance_fee: Money = None
    item_insurance_tax: Money = None


class ItemTax(TikTokModel):
    tax_type: str | None = None
    tax_amount: Money = None
    tax_rate: Money = None


class CombinedListingSku(TikTokModel):
    sku_id: str | None = None
    sku_count: int | None = None
    product_id: str | None = None
    seller_sku: str | None = None


class OrderLineItem(TikTokModel):
    """One ordered unit (there is no quantity field: N units are N line items)."""

    id: str
    sku_id: str | None = None
    product_id: str | None = None
    seller_sku: str | None = None
    product_name: str | None = None
    sku_name: str | None = None
    sku_image: str | None = None
    original_price: Money = None
    sale_price: Money = None
    seller_discount: Money = None
    platform_discount: Money = None
    currency: str | None = None
    display_status: str | None = None
    package_id: str | None = None
    package_status: str | None = None
    tracking_number: str | None = None
    shipping_provider_id: str | None = None
    shipping_provider_name: str | None = None
    rts_time: UnixTime = None
    cancel_user: str | None = None
    cancel_reason: str | None = None
    is_gift: Flag = None
    item_tax: Items[ItemTax] = []
    combined_listing_skus: Items[CombinedListingSku] = []
    retail_delivery_fee: Money = None
    buyer_service_fee: Money = None
    small_order_fee: Money = None
    gift_retail_price: Money = None
    sku_type: str | None = None


class OrderPackage(TikTokModel):
    id: str | None = None


class Order(Timestamped):
    """An order from Get Order Detail (contract §7.2)."""

    id: str
    status: str | None = None
    paid_time: UnixTime = None
    rts_time: UnixTime = None
    delivery_time: UnixTime = None
    collection_time: UnixTime = None
    cancel_time: UnixTime = None
    user_id: str | None = None
    payment: OrderPayment | None = None
    line_items: Items[OrderLineItem] = []
    packages: Items[OrderPackage] = []
    cancellation_initiator: str | None = None
    cancel_reason: str | None = None
    is_buyer_request_cancel: Flag = None
    request_cancel_time: UnixTime = None
    is_replacement_order: Flag = None
    replaced_order_id: str | None = None
    is_exchange_order: Flag = None
    exchange_source_order_id: str | None = None
    fulfillment_type: str | None = None
    shipping_type: str | None = None
    is_on_hold_order: Flag = None
    is_cod: Flag = None
    is_sample_order: Flag = None
    order_type: str | None = None
    warehouse_id: str | None = None
    buyer_message: str | None = None
    seller_note: str | None = None
    recipient_address: dict[str, Any] | None = None
    tracking_number: str | None = None
    shipping_provider: str | None = None
    shipping_provider_id: str | None = None


# --- authorization -----------------------------------------------------------------------------------------


class AuthorizedShop(TikTokModel):
    id: str
    name: str | None = None
    region: str | None = None
    seller_type: str | None = None
    cipher: str
    code: str | None = None


class TokenSet(BaseModel):
    """A seller's OAuth tokens. Expiries are absolute instants: TikTok's ``*_expire_in`` fields are Unix
    timestamps, not durations (contract §2.4). Built from the token answer or from stored fields alike."""

    model_config = ConfigDict(extra="allow", frozen=True, coerce_numbers_to_str=True)

    access_token: str
    access_token_expires_at: UtcDatetime = Field(
        validation_alias=AliasChoices("access_token_expires_at", "access_token_expire_in")
    )
    refresh_token: str
    refresh_token_expires_at: UtcDatetime = Field(
        validation_alias=AliasChoices("refresh_token_expires_at", "refresh_token_expire_in")
    )
    open_id: str | None = None
    seller_name: str | None = None
    seller_base_region: str | None = None
    user_type: int | None = None
    granted_scopes: Items[str] = []

    def access_seconds_left(self, now: float) -> float:
        """Seconds until the access token expires, measured from ``now`` (Unix seconds); negative when past."""
        return self.access_token_expires_at.timestamp() - now


# --- webhooks ----------------------------------------------------------------------------------------------


class OrderStatusChange(TikTokModel):
    order_id: str
    order_status: str | None = None
    is_on_hold_order: Flag = None
    update_time: UnixTime = None


class SellerDeauthorization(TikTokModel):
    message: str | None = None


class UpcomingAuthorizationExpiration(TikTokModel):
    message: str | None = None
    expiration_time: UnixTime = None

    @property
    def expires_at(self) -> datetime | None:
        return utc(self.expiration_time)


class CancellationStatusChange(TikTokModel):
    """Type 11. Carries no ``update_time``; re-read the cancellation before acting."""

    order_id: str | None = None
    cancellations_role: str | None = None
    cancel_status: str | None = None
    cancel_id: str
    create_time: UnixTime = None


class ReturnStatusChange(Timestamped):
    """Type 12."""

    order_id: str | None = None
    return_role: str | None = None
    return_type: str | None = None
    return_status: str | None = None
    return_id: str


class WebhookEvent(TikTokModel):
    """A webhook envelope (contract §5.2); ``shop_id`` is the shop id, not the cipher."""

    type: int
    tts_notification_id: str
    shop_id: str
    timestamp: int
    data: dict[str, Any]

    @property
    def sent_at(self) -> datetime:
        return cast(datetime, utc(self.timestamp))  # an int, never None; ValueError for a time past the range

    def _data_as(self, expected: int, model: type[_M]) -> _M:
        if self.type != expected:
            raise ValueError(f"webhook type {self.type} is not type {expected}")
        return model.model_validate(self.data)

    def order_status_change(self) -> OrderStatusChange:
        return self._data_as(1, OrderStatusChange)

    def seller_deauthorization(self) -> SellerDeauthorization:
        return self._data_as(6, SellerDeauthorization)

    def upcoming_authorization_expiration(self) -> UpcomingAuthorizationExpiration:
        return self._data_as(7, UpcomingAuthorizationExpiration)

    def cancellation_status_change(self) -> CancellationStatusChange:
        return self._data_as(11, CancellationStatusChange)

    def return_status_change(self) -> ReturnStatusChange:
        return self._data_as(12, ReturnStatusChange)


_M = TypeVar("_M", bound=BaseModel)
