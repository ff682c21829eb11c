"""What goes on the wire: signed bytes, common parameters, headers, bodies."""

from __future__ import annotations

from decimal import Decimal

from conftest import (
    APP_KEY,
    SHOP_CIPHER,
    START,
    FakeTikTok,
    body_json,
    expected_sign,
    query_of,
    reply,
)
from returnbridge.tiktok import ReturnFilters, ShopClient, TikTokClient, UploadedImage


def test_sent_request_carries_exactly_the_signed_bytes(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({"return_orders": [], "next_page_token": ""}))
    shop.search_returns(ReturnFilters(return_status=["AWAITING_BUYER_SHIP"], update_time_ge=1_700_000_000))
    request = fake.requests[0]
    assert request.content == b'{"update_time_ge":1700000000,"return_status":["AWAITING_BUYER_SHIP"]}'
    assert query_of(request)["sign"] == expected_sign(request)


def test_common_parameters_are_in_the_query(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({"reasons": []}))
    shop.get_reject_reasons("4035318504086604100")
    query = query_of(fake.requests[0])
    assert query["app_key"] == APP_KEY
    assert query["timestamp"] == str(int(START))
    assert query["shop_cipher"] == SHOP_CIPHER
    assert query["return_or_cancel_id"] == "4035318504086604100"
    assert query["locale"] == "en-US"


def test_access_token_goes_in_the_header_never_the_query(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({"records": []}))
    shop.get_return_records("r1")
    request = fake.requests[0]
    assert request.headers["x-tts-access-token"] == "TTP_access_1"
    assert "TTP_access_1" not in str(request.url)
    assert not {"access_token", "x-tts-access-token"} & query_of(request).keys()


def test_json_content_type_is_sent_even_on_get(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({"records": []}))
    shop.get_return_records("r1")
    assert fake.requests[0].method == "GET"
    assert fake.requests[0].headers["content-type"] == "application/json"


def test_no_empty_query_parameters_are_sent(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({}))
    shop.approve_return("r1", decision="APPROVE_REFUND")
    query = query_of(fake.requests[0])
    assert "idempotency_key" not in query
    assert all(value != "" for value in query.values())


def test_first_search_page_sends_paging_as_digit_strings_without_token(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({"return_orders": []}))
    shop.search_returns(page_size=25)
    query = query_of(fake.requests[0])
    assert query["page_size"] == "25"
    assert "page_token" not in query
    assert query["sort_field"] == "update_time"
    assert query["sort_order"] == "ASC"
    assert fake.requests[0].url.path == "/return_refund/202309/returns/search"
    assert fake.requests[0].content == b"{}"


def test_search_version_goes_into_the_path(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({"cancellations": []}))
    shop.search_cancellations(version="202602")
    assert fake.requests[0].url.path == "/return_refund/202602/cancellations/search"


def test_image_upload_is_multipart_without_shop_cipher_and_body_unsigned(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({"uri": "tos-maliva-i-o3syd03w52-us/abc", "url": "https://img/abc", "width": 10, "height": 20}))
    image = shop.upload_image(b"\x89PNG...", filename="parcel.png")
    request = fake.requests[0]
    query = query_of(request)
    assert request.url.path == "/product/202309/images/upload"
    assert "shop_cipher" not in query
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b'name="data"; filename="parcel.png"' in request.content
    assert b'name="use_case"' in request.content
    assert query["sign"] == expected_sign(request)  # expected_sign skips the multipart body
    assert request.headers["x-tts-access-token"] == "TTP_access_1"
    assert image.uri == "tos-maliva-i-o3syd03w52-us/abc"
    assert image.mime_type == "image/png"


def test_reject_return_sends_images_by_uri(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({}))
    image = UploadedImage(uri="tos/abc", width=10, height=20, mime_type="image/jpeg")
    shop.reject_return(
        "r1",
        decision="REJECT_RECEIVED_PACKAGE",
        reject_reason="reverse_reject_return_parcel_reason_1",
        comment="wrong item",
        images=[image],
        idempotency_key="key-1",
    )
    request = fake.requests[0]
    assert request.url.path == "/return_refund/202309/returns/r1/reject"
    assert query_of(request)["idempotency_key"] == "key-1"
    assert body_json(request) == {
        "decision": "REJECT_RECEIVED_PACKAGE",
        "reject_reason": "reverse_reject_return_parcel_reason_1",
        "comment": "wrong item",
        "images": [{"image_id": "tos/abc", "mime_type": "image/jpeg", "height": 20, "width": 10}],
    }


def test_partial_refund_amount_is_sent_as_a_decimal_string(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({}))
    shop.approve_return("r1", decision="OFFER_PARTIAL_REFUND", partial_refund=(Decimal("5.10"), "USD"))
    assert body_json(fake.requests[0]) == {
        "decision": "OFFER_PARTIAL_REFUND",
        "partial_refund": {"amount": "5.10", "currency": "USD"},
    }


def test_approve_return_with_buyer_keeping_the_item(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({}))
    shop.approve_return("r1", decision="APPROVE_RETURN", buyer_keep_item=True)
    assert fake.requests[0].url.path == "/return_refund/202309/returns/r1/approve"
    assert body_json(fake.requests[0]) == {"decision": "APPROVE_RETURN", "buyer_keep_item": True}


def test_approve_cancellation_signs_and_sends_an_empty_object(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({}))
    shop.approve_cancellation("c1", idempotency_key="key-9")
    request = fake.requests[0]
    assert request.url.path == "/return_refund/202309/cancellations/c1/approve"
    assert request.content == b"{}"
    assert query_of(request)["sign"] == expected_sign(request)


def test_create_return_body_and_answer(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({"return_id": "4035", "return_status": "RETURN_OR_REFUND_REQUEST_PENDING"}))
    created = shop.create_return(
        order_id="5766",
        return_reason="ecom_order_delivered_refund_reason_missing_product_seller",
        return_type="REFUND",
        order_line_item_ids=["l1", "l2"],
        refund_total=Decimal("15000"),
        currency="IDR",
        idempotency_key="k",
    )
    assert created.return_id == "4035"
    assert body_json(fake.requests[0]) == {
        "order_id": "5766",
        "return_reason": "ecom_order_delivered_refund_reason_missing_product_seller",
        "return_type": "REFUND",
        "order_line_item_ids": ["l1", "l2"],
        "refund_total": "15000",
        "currency": "IDR",
    }


def test_cancel_order_sends_skus_with_quantities(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({"cancel_id": "c9", "cancel_status": "CANCELLATION_REQUEST_SUCCESS"}))
    created = shop.cancel_order(order_id="o1", cancel_reason="seller_cancel_reason_out_of_stock", skus=[("s1", 2)])
    assert created.cancel_id == "c9"
    assert body_json(fake.requests[0]) == {
        "order_id": "o1",
        "cancel_reason": "seller_cancel_reason_out_of_stock",
        "skus": [{"sku_id": "s1", "quantity": 2}],
    }


def test_calculate_refund_parses_the_amount(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({"order_refund_amount": {"currency": "USD", "refund_total": "12.50", "refund_tax": "0.80"}}))
    calc = shop.calculate_refund(order_id="o1", request_type="REFUND", reason_name="r")
    assert fake.requests[0].url.path == "/return_refund/202309/refunds/calculate"
    assert calc.order_refund_amount is not None
    assert calc.order_refund_amount.refund_total == Decimal("12.50")


def test_aftersale_eligibility_query_and_spelling(shop: ShopClient, fake: FakeTikTok) -> None:
    data = {
        "sku_eligibility": [
            {
                "sku_id": "s1",
                "line_item_eligibility": [
                    {"request_type": "REFUND", "order_line_items_ids": ["l1"], "eligible": False, "ineligible_code": 1}
                ],
            }
        ]
    }
    fake.then(reply(data))
    result = shop.get_aftersale_eligibility("o1")
    assert fake.requests[0].url.path == "/return_refund/202309/orders/o1/aftersale_eligibility"
    assert query_of(fake.requests[0])["initiate_aftersale_user"] == "SELLER"
    assert result.sku_eligibility[0].line_item_eligibility[0].order_line_items_ids == ["l1"]


def test_authorized_shops_are_signed_without_shop_cipher(client: TikTokClient, fake: FakeTikTok) -> None:
    shops = [{"id": "7495", "name": "Shop", "region": "US", "seller_type": "LOCAL", "cipher": "GCP_x", "code": "C"}]
    fake.then(reply({"shops": shops}))
    result = client.get_authorized_shops("TTP_a")
    request = fake.requests[0]
    assert request.url.path == "/authorization/202309/shops"
    assert "shop_cipher" not in query_of(request)
    assert query_of(request)["sign"] == expected_sign(request)
    assert request.headers["x-tts-access-token"] == "TTP_a"
    assert [(shop.id, shop.cipher) for shop in result] == [("7495", "GCP_x")]
