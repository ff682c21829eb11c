"""Shop-scoped calls: returns, cancellations, evidence images and orders of one shop (contract §3, §7)."""

from __future__ import annotations

import logging
import mimetypes
import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from .auth import TokenSource
from .envelope import AnyData, Envelope, OrdersData, ReasonsData, RecordsData, SearchCount, WebhooksData
from .errors import TikTokError, TokenExpired
from .filters import CancellationFilters, OrderFilters, ReturnFilters
from .models import (
    AftersaleEligibility,
    Cancellation,
    CreatedCancellation,
    CreatedReturn,
    Order,
    RefundCalculation,
    RejectReason,
    ReturnOrder,
    ReturnRecord,
    SearchCancellationsPage,
    SearchReturnsPage,
    TokenSet,
    UploadedImage,
)
from .paging import PageRequest, RawPage, iter_pages, parse_page, parse_raw_page
from .transport import ApiCall, Transport, UnexpectedResponse, json_body

log = logging.getLogger(__name__)

DataT = TypeVar("DataT")

# Refresh ahead of expiry (contract §6): access tokens live 7 days, refresh when under one day is left.
REFRESH_MARGIN_SECONDS = 86_400.0
# Get Order Detail takes at most 50 comma-separated ids (contract §7.1).
ORDER_IDS_PER_CALL = 50
EMPTY_JSON = b"{}"

_SEARCH_RETURNS = "/return_refund/{version}/returns/search"
_SEARCH_CANCELLATIONS = "/return_refund/{version}/cancellations/search"
_SEARCH_ORDERS = "/order/{version}/orders/search"
_RETURN_RECORDS = "/return_refund/202309/returns/{return_id}/records"
_APPROVE_RETURN = "/return_refund/202309/returns/{return_id}/approve"
_REJECT_RETURN = "/return_refund/{version}/returns/{return_id}/reject"
_REJECT_REASONS = "/return_refund/202309/reject_reasons"
_ELIGIBILITY = "/return_refund/202309/orders/{order_id}/aftersale_eligibility"
_CREATE_RETURN = "/return_refund/202309/returns"
_CALCULATE_REFUND = "/return_refund/202309/refunds/calculate"
_CANCEL_ORDER = "/return_refund/202309/cancellations"
_APPROVE_CANCELLATION = "/return_refund/202309/cancellations/{cancel_id}/approve"
_REJECT_CANCELLATION = "/return_refund/202309/cancellations/{cancel_id}/reject"
_UPLOAD_IMAGE = "/product/202309/images/upload"
_ORDERS = "/order/202309/orders"
_WEBHOOKS = "/event/202309/webhooks"


def money_string(amount: Decimal) -> str:
    """A Decimal as TikTok's plain decimal string ("12.50", never "1.25E+1"); floats are refused."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, got {type(amount).__name__}")
    return format(amount, "f")


def _image_refs(images: Sequence[UploadedImage]) -> list[dict[str, Any]]:
    refs = []
    for image in images:
        ref: dict[str, Any] = {"image_id": image.uri}
        if image.mime_type:
            ref["mime_type"] = image.mime_type
        if image.height is not None:
            ref["height"] = image.height
        if image.width is not None:
            ref["width"] = image.width
        refs.append(ref)
    return refs


def _skus(skus: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{"sku_id": sku_id, "quantity": quantity} for sku_id, quantity in skus]


def _require(data: DataT | None, what: str, envelope: Envelope[Any]) -> DataT:
    if data is None:
        raise UnexpectedResponse(0, f"{what}: success without data", envelope.request_id, 200)
    return data


class ShopClient:
    """Calls for one shop (``shop_cipher``) with that shop's tokens.

    Tokens are refreshed ahead of time when less than a day is left (by the injected clock), and on a
    105002 the call is repeated once after a refresh: an expired token is refused at the gateway, so even a
    write without an idempotency key cannot have taken effect.
    """

    def __init__(
        self,
        transport: Transport,
        shop_cipher: str,
        tokens: TokenSource,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not shop_cipher:
            raise ValueError("shop_cipher is required")
        self._transport = transport
        self.shop_cipher = shop_cipher
        self._tokens = tokens
        self._clock = clock

    # --- plumbing -------------------------------------------------------------------------------------------

    def _fresh_tokens(self) -> TokenSet:
        tokens = self._tokens.current()
        if tokens.access_seconds_left(self._clock()) >= REFRESH_MARGIN_SECONDS:
            return tokens
        try:
            return self._tokens.refresh(tokens)
        except TikTokError:
            # The old token still works for now: a failing auth host must not stop the sync a day early.
            if tokens.access_seconds_left(self._clock()) <= 0:
                raise
            log.warning("proactive token refresh failed for shop %s; using the current token", self.shop_cipher)
            return tokens

    def _send(self, call: ApiCall, model: type[Envelope[DataT]]) -> Envelope[DataT]:
        tokens = self._fresh_tokens()
        try:
            return self._transport.send(call, model, tokens.access_token)
        except TokenExpired:
            return self._transport.send(call, model, self._renew(tokens).access_token)

    def _renew(self, stale: TokenSet) -> TokenSet:
        log.info("access token expired for shop %s; refreshing and retrying once", self.shop_cipher)
        return self._tokens.refresh(stale)

    def _call(
        self,
        method: str,
        api: str,
        model: type[Envelope[DataT]],
        *,
        path_params: dict[str, str] | None = None,
        query: dict[str, str | None] | None = None,
        body: dict[str, Any] | None = None,
        write: bool = False,
    ) -> Envelope[DataT]:
        return self._send(self._build_call(method, api, path_params, query, body, write), model)

    def _build_call(
        self,
        method: str,
        api: str,
        path_params: dict[str, str] | None = None,
        query: dict[str, str | None] | None = None,
        body: dict[str, Any] | None = None,
        write: bool = False,
    ) -> ApiCall:
        params = path_params or {}
        return ApiCall(
            method=method,
            path=api.format(**params),
            # The version is part of the API's identity; ids are not (one rate-limit bucket per endpoint).
            api=api.replace("{version}", params["version"]) if "version" in params else api,
            query=query or {},
            body=json_body(body) if body is not None else None,
            shop_cipher=self.shop_cipher,
            write=write,
        )

    def _search_call(
        self,
        api: str,
        filters: ReturnFilters | CancellationFilters | OrderFilters | None,
        page_size: int,
        page_token: str | None,
        sort_field: str,
        sort_order: str,
        version: str,
    ) -> ApiCall:
        return self._build_call(
            "POST",
            api,
            path_params={"version": version},
            query={
                "page_size": str(int(page_size)),
                "page_token": page_token,
                "sort_field": sort_field,
                "sort_order": sort_order,
            },
            body=filters.to_body() if filters is not None else {},
        )

    def _page_requests(
        self,
        api: str,
        filters: ReturnFilters | CancellationFilters | OrderFilters | None,
        page_size: int,
        sort_field: str,
        sort_order: str,
        version: str,
    ) -> Callable[[], Callable[[str | None], PageRequest]]:
        """On the caller's thread: resolve (and if due refresh) the tokens now, and give a maker of page
        requests with them; the maker itself touches no caller state, so the paging helper may call it."""

        def with_current_tokens() -> Callable[[str | None], PageRequest]:
            tokens = self._fresh_tokens()

            def request_for(page_token: str | None) -> PageRequest:
                call = self._search_call(api, filters, page_size, page_token, sort_field, sort_order, version)
                return _SearchPageRequest(self, call, tokens)

            return request_for

        return with_current_tokens

    # --- returns --------------------------------------------------------------------------------------------

    def search_returns(
        self,
        filters: ReturnFilters | None = None,
        *,
        page_size: int = 50,
        page_token: str | None = None,
        sort_field: str = "update_time",
        sort_order: str = "ASC",
        version: str = "202309",
    ) -> SearchReturnsPage:
        """One page of Search Returns; the filters go in the body, paging and sorting in the query."""
        call = self._search_call(_SEARCH_RETURNS, filters, page_size, page_token, sort_field, sort_order, version)
        envelope = self._send(call, Envelope[SearchReturnsPage])
        return envelope.data if envelope.data is not None else SearchReturnsPage()

    def count_returns(self, filters: ReturnFilters, *, version: str = "202602") -> int:
        """How many returns match ``filters``: one smallest page, of which only ``total_count`` is read."""
        return self._count(_SEARCH_RETURNS, filters, 10, version)

    def _count(self, api: str, filters: ReturnFilters | CancellationFilters, page_size: int, version: str) -> int:
        call = self._search_call(api, filters, page_size, None, "update_time", "ASC", version)
        envelope = self._send(call, Envelope[SearchCount])
        data = envelope.data
        if data is None or data.total_count is None:
            raise UnexpectedResponse(0, f"{api} answered without a total_count", envelope.request_id)
        return data.total_count

    def iter_return_pages(
        self,
        filters: ReturnFilters | None = None,
        *,
        page_size: int = 50,
        sort_field: str = "update_time",
        sort_order: str = "ASC",
        version: str = "202309",
    ) -> Iterator[SearchReturnsPage]:
        """Every page, re-sending the same filters and sort with each ``page_token``; stops on an empty or
        absent ``next_page_token``. The next page is fetched while this one is parsed (see ``paging``)."""
        requests = self._page_requests(_SEARCH_RETURNS, filters, page_size, sort_field, sort_order, version)
        return iter_pages(
            requests,
            lambda raw: parse_page(Envelope[SearchReturnsPage], raw, SearchReturnsPage),
        )

    def iter_raw_return_pages(
        self,
        filters: ReturnFilters | None = None,
        *,
        page_size: int = 50,
        sort_field: str = "update_time",
        sort_order: str = "ASC",
        version: str = "202602",
    ) -> Iterator[RawPage]:
        """Every page as plain JSON (``RawPage``): what ingest stores. 202602 by default: 202309 hides exchanges."""
        requests = self._page_requests(_SEARCH_RETURNS, filters, page_size, sort_field, sort_order, version)
        return iter_pages(requests, lambda raw: parse_raw_page(raw, "return_orders"))

    def iter_returns(
        self,
        filters: ReturnFilters | None = None,
        *,
        page_size: int = 50,
        sort_field: str = "update_time",
        sort_order: str = "ASC",
        version: str = "202309",
    ) -> Iterator[ReturnOrder]:
        for page in self.iter_return_pages(
            filters, page_size=page_size, sort_field=sort_field, sort_order=sort_order, version=version
        ):
            yield from page.return_orders

    def get_return_records(self, return_id: str, *, locale: str = "en-US") -> list[ReturnRecord]:
        """The return's history, oldest first (TikTok's own order is undocumented, so it is sorted here)."""
        envelope = self._call(
            "GET",
            _RETURN_RECORDS,
            Envelope[RecordsData],
            path_params={"return_id": return_id},
            query={"locale": locale},
        )
        records = envelope.data.records if envelope.data is not None else []
        return sorted(records, key=lambda record: record.create_time or 0)

    def approve_return(
        self,
        return_id: str,
        *,
        decision: str,
        buyer_keep_item: bool | None = None,
        partial_refund: tuple[Decimal, str] | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """Approve Return (§3.3). ``partial_refund`` is (amount, currency), only with OFFER_PARTIAL_REFUND.

        Retried on transient errors only when ``idempotency_key`` is given. A 25011012/25011013/25020009
        answer (``BusinessError.already_in_that_state``) means the return already moved on: read it back.
        """
        body: dict[str, Any] = {"decision": decision}
        if buyer_keep_item is not None:
            body["buyer_keep_item"] = buyer_keep_item
        if partial_refund is not None:
            amount, currency = partial_refund
            body["partial_refund"] = {"amount": money_string(amount), "currency": currency}
        self._call(
            "POST",
            _APPROVE_RETURN,
            Envelope[AnyData],
            path_params={"return_id": return_id},
            query={"idempotency_key": idempotency_key},
            body=body,
            write=True,
        )

    def reject_return(
        self,
        return_id: str,
        *,
        decision: str,
        reject_reason: str,
        comment: str | None = None,
        images: Sequence[UploadedImage] = (),
        idempotency_key: str | None = None,
        partial_refund: tuple[Decimal, str] | None = None,
        version: str = "202309",
    ) -> None:
        """Reject Return (§3.4). ``reject_reason`` is a name from ``get_reject_reasons`` for this very return.

        ``partial_refund`` (amount, currency) is the 202606 ``partial_refund_amount`` that goes with the
        OFFER_PARTIAL_REFUND_AFTER_RECEIVING_PKG decision; pass ``version="202606"`` with it.
        """
        body: dict[str, Any] = {"decision": decision, "reject_reason": reject_reason}
        if comment:
            body["comment"] = comment
        if images:
            body["images"] = _image_refs(images)
        if partial_refund is not None:
            amount, currency = partial_refund
            body["partial_refund_amount"] = {"partial_refund_total": money_string(amount), "currency": currency}
        self._call(
            "POST",
            _REJECT_RETURN,
            Envelope[AnyData],
            path_params={"version": version, "return_id": return_id},
            query={"idempotency_key": idempotency_key},
            body=body,
            write=True,
        )

    def get_reject_reasons(self, return_or_cancel_id: str, *, locale: str = "en-US") -> list[RejectReason]:
        """Reasons valid for this return or cancellation right now; fetch right before rejecting."""
        envelope = self._call(
            "GET",
            _REJECT_REASONS,
            Envelope[ReasonsData],
            query={"return_or_cancel_id": return_or_cancel_id, "locale": locale},
        )
        return envelope.data.reasons if envelope.data is not None else []

    def get_aftersale_eligibility(
        self, order_id: str, *, initiate_aftersale_user: str = "SELLER"
    ) -> AftersaleEligibility:
        envelope = self._call(
            "GET",
            _ELIGIBILITY,
            Envelope[AftersaleEligibility],
            path_params={"order_id": order_id},
            query={"initiate_aftersale_user": initiate_aftersale_user},
        )
        return envelope.data if envelope.data is not None else AftersaleEligibility()

    def create_return(
        self,
        *,
        order_id: str,
        return_reason: str,
        return_type: str,
        order_line_item_ids: Sequence[str] = (),
        skus: Sequence[tuple[str, int]] = (),
        refund_total: Decimal | None = None,
        currency: str | None = None,
        shipment_type: str | None = None,
        handover_method: str | None = None,
        idempotency_key: str | None = None,
    ) -> CreatedReturn:
        """Seller-initiated refund or return (§3.7); ``skus`` are (sku_id, quantity) pairs."""
        body: dict[str, Any] = {"order_id": order_id, "return_reason": return_reason, "return_type": return_type}
        if skus:
            body["skus"] = _skus(skus)
        if order_line_item_ids:
            body["order_line_item_ids"] = list(order_line_item_ids)
        if refund_total is not None:
            body["refund_total"] = money_string(refund_total)
        if currency:
            body["currency"] = currency
        if shipment_type:
            body["shipment_type"] = shipment_type
        if handover_method:
            body["handover_method"] = handover_method
        envelope = self._call(
            "POST",
            _CREATE_RETURN,
            Envelope[CreatedReturn],
            query={"idempotency_key": idempotency_key},
            body=body,
            write=True,
        )
        return _require(envelope.data, "create return", envelope)

    def calculate_refund(
        self,
        *,
        order_id: str,
        request_type: str,
        reason_name: str,
        shipment_type: str | None = None,
        handover_method: str | None = None,
        order_line_item_ids: Sequence[str] = (),
        skus: Sequence[tuple[str, int]] = (),
    ) -> RefundCalculation:
        """What TikTok would refund for this request (§3.8); reads only, so it is retried freely."""
        body: dict[str, Any] = {"order_id": order_id, "request_type": request_type, "reason_name": reason_name}
        if shipment_type:
            body["shipment_type"] = shipment_type
        if handover_method:
            body["handover_method"] = handover_method
        if order_line_item_ids:
            body["order_line_item_ids"] = list(order_line_item_ids)
        if skus:
            body["skus"] = _skus(skus)
        envelope = self._call("POST", _CALCULATE_REFUND, Envelope[RefundCalculation], body=body)
        return envelope.data if envelope.data is not None else RefundCalculation()

    # --- cancellations --------------------------------------------------------------------------------------

    def search_cancellations(
        self,
        filters: CancellationFilters | None = None,
        *,
        page_size: int = 50,
        page_token: str | None = None,
        sort_field: str = "update_time",
        sort_order: str = "ASC",
        version: str = "202309",
    ) -> SearchCancellationsPage:
        call = self._search_call(_SEARCH_CANCELLATIONS, filters, page_size, page_token, sort_field, sort_order, version)
        envelope = self._send(call, Envelope[SearchCancellationsPage])
        return envelope.data if envelope.data is not None else SearchCancellationsPage()

    def count_cancellations(self, filters: CancellationFilters, *, version: str = "202309") -> int:
        """How many cancellations match ``filters`` (Search Cancellations allows a page of one)."""
        return self._count(_SEARCH_CANCELLATIONS, filters, 1, version)

    def iter_cancellation_pages(
        self,
        filters: CancellationFilters | None = None,
        *,
        page_size: int = 50,
        sort_field: str = "update_time",
        sort_order: str = "ASC",
        version: str = "202309",
    ) -> Iterator[SearchCancellationsPage]:
        """Every page of cancellations, same rules as ``iter_return_pages``."""
        requests = self._page_requests(_SEARCH_CANCELLATIONS, filters, page_size, sort_field, sort_order, version)
        return iter_pages(
            requests,
            lambda raw: parse_page(Envelope[SearchCancellationsPage], raw, SearchCancellationsPage),
        )

    def iter_raw_cancellation_pages(
        self,
        filters: CancellationFilters | None = None,
        *,
        page_size: int = 50,
        sort_field: str = "update_time",
        sort_order: str = "ASC",
        version: str = "202309",
    ) -> Iterator[RawPage]:
        """Every page of cancellations as plain JSON (``RawPage``)."""
        requests = self._page_requests(_SEARCH_CANCELLATIONS, filters, page_size, sort_field, sort_order, version)
        return iter_pages(requests, lambda raw: parse_raw_page(raw, "cancellations"))

    def iter_cancellations(
        self,
        filters: CancellationFilters | None = None,
        *,
        page_size: int = 50,
        sort_field: str = "update_time",
        sort_order: str = "ASC",
        version: str = "202309",
    ) -> Iterator[Cancellation]:
        for page in self.iter_cancellation_pages(
            filters, page_size=page_size, sort_field=sort_field, sort_order=sort_order, version=version
        ):
            yield from page.cancellations

    def cancel_order(
        self,
        *,
        order_id: str,
        cancel_reason: str,
        skus: Sequence[tuple[str, int]] = (),
        order_line_item_ids: Sequence[str] = (),
    ) -> CreatedCancellation:
        """Seller-initiated cancellation (§3.9). The 202309 API takes no idempotency key, so it is never
        retried: after an unclear failure, search the order's cancellations before trying again."""
        body: dict[str, Any] = {"order_id": order_id, "cancel_reason": cancel_reason}
        if skus:
            body["skus"] = _skus(skus)
        if order_line_item_ids:
            body["order_line_item_ids"] = list(order_line_item_ids)
        envelope = self._call("POST", _CANCEL_ORDER, Envelope[CreatedCancellation], body=body, write=True)
        return _require(envelope.data, "cancel order", envelope)

    def approve_cancellation(self, cancel_id: str, *, idempotency_key: str | None = None) -> None:
        """Approve a pending buyer cancellation (§3.11); the body is ``{}``, signed as those two bytes."""
        self._call(
            "POST",
            _APPROVE_CANCELLATION,
            Envelope[AnyData],
            path_params={"cancel_id": cancel_id},
            query={"idempotency_key": idempotency_key},
            body={},
            write=True,
        )

    def reject_cancellation(
        self,
        cancel_id: str,
        *,
        reject_reason: str,
        comment: str | None = None,
        images: Sequence[UploadedImage] = (),
        idempotency_key: str | None = None,
    ) -> None:
        body: dict[str, Any] = {"reject_reason": reject_reason}
        if comment:
            body["comment"] = comment
        if images:
            body["images"] = _image_refs(images)
        self._call(
            "POST",
            _REJECT_CANCELLATION,
            Envelope[AnyData],
            path_params={"cancel_id": cancel_id},
            query={"idempotency_key": idempotency_key},
            body=body,
            write=True,
        )

    # --- webhooks -------------------------------------------------------------------------------------------

    def subscribe_webhook(self, event_type: str, address: str) -> None:
        """Create or update the shop's webhook for ``event_type`` (Update Shop Webhook, §5); idempotent by nature."""
        self._call("PUT", _WEBHOOKS, Envelope[AnyData], body={"address": address, "event_type": event_type},
                   write=True)

    def list_webhooks(self) -> list[tuple[str, str]]:
        """The shop's webhooks as (event type, address)."""
        envelope = self._call("GET", _WEBHOOKS, Envelope[WebhooksData])
        hooks = envelope.data.webhooks if envelope.data is not None else []
        return [(hook.event_type, hook.address) for hook in hooks]

    # --- images and orders ----------------------------------------------------------------------------------

    def upload_image(
        self, data: bytes, *, filename: str = "evidence.jpg", use_case: str = "MAIN_IMAGE"
    ) -> UploadedImage:
        """Upload an evidence image (multipart field ``data``). The product API refuses ``shop_cipher`` here,
        and a multipart body is not part of the signature. A repeated upload only leaves an unused image,
        so this is retried like a read."""
        mime_type = mimetypes.guess_type(filename)[0] or "image/jpeg"
        call = ApiCall(
            method="POST",
            path=_UPLOAD_IMAGE,
            api=_UPLOAD_IMAGE,
            shop_cipher=None,
            files={"data": (filename, data, mime_type)},
            form={"use_case": use_case},
        )
        envelope = self._send(call, Envelope[UploadedImage])
        image = _require(envelope.data, "image upload", envelope)
        return image if image.mime_type else image.model_copy(update={"mime_type": mime_type})

    def iter_raw_order_pages(
        self,
        filters: OrderFilters | None = None,
        *,
        page_size: int = 100,
        sort_field: str = "update_time",
        sort_order: str = "ASC",
        version: str = "202309",
    ) -> Iterator[RawPage]:
        """Every page of Search Orders as plain JSON (``orders``), oldest change first so a cursor can follow."""
        requests = self._page_requests(_SEARCH_ORDERS, filters, page_size, sort_field, sort_order, version)
        return iter_pages(requests, lambda raw: parse_raw_page(raw, "orders"))

    def get_orders(self, order_ids: Sequence[str]) -> list[Order]:
        """Get Order Detail for any number of ids, 50 per call, in the order TikTok answers each chunk."""
        orders: list[Order] = []
        for start in range(0, len(order_ids), ORDER_IDS_PER_CALL):
            chunk = order_ids[start : start + ORDER_IDS_PER_CALL]
            envelope = self._call("GET", _ORDERS, Envelope[OrdersData], query={"ids": ",".join(chunk)})
            if envelope.data is not None:
                orders.extend(envelope.data.orders)
        return orders


class _SearchPageRequest:
    """A search page request whose token was chosen on the caller's thread; the network part may run on the
    paging helper thread, while refreshing an expired token (the ``TokenSource``) stays on the caller's."""

    def __init__(self, shop: ShopClient, call: ApiCall, tokens: TokenSet) -> None:
        self._shop = shop
        self._call = call
        self._tokens = tokens

    def send(self, on_sent: Callable[[], None]) -> bytes:
        return self._shop._transport.fetch(self._call, self._tokens.access_token, on_sent)

    def recover(self, error: Exception) -> bytes:
        if not isinstance(error, TokenExpired):
            raise error
        renewed = self._shop._renew(self._tokens)
        return self._shop._transport.fetch(self._call, renewed.access_token)
