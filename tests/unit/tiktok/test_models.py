"""Payload parsing: exact Decimal money, unknown fields and values kept, nulls and absences tolerated."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from conftest import FakeTikTok, reply
from returnbridge.tiktok import Order, ReturnOrder, ReturnRecord, SearchCancellationsPage, ShopClient
from returnbridge.tiktok.enums import CancelStatus, ReturnStatus, Role
from returnbridge.tiktok.models import RefundAmount


def parse_return(payload: dict[str, object]) -> ReturnOrder:
    return ReturnOrder.model_validate_json(json.dumps(payload))


def test_money_is_parsed_as_exact_decimal() -> None:
    parsed = parse_return({"return_id": "1", "refund_amount": {"currency": "USD", "refund_total": "0.10"}})
    assert parsed.refund_amount is not None
    assert parsed.refund_amount.refund_total == Decimal("0.10")
    assert str(parsed.refund_amount.refund_total) == "0.10"
    assert parsed.refund_amount.currency == "USD"


def test_idr_money_without_decimals_keeps_its_currency() -> None:
    parsed = parse_return({"return_id": "1", "refund_amount": {"currency": "IDR", "refund_total": "15000"}})
    assert parsed.refund_amount is not None
    assert parsed.refund_amount.refund_total == Decimal("15000")
    assert str(parsed.refund_amount.refund_total) == "15000"
    assert parsed.refund_amount.currency == "IDR"


def test_blank_money_is_none_not_a_failure() -> None:
    parsed = parse_return({"return_id": "1", "refund_amount": {"refund_total": "1.00", "retail_delivery_fee": ""}})
    assert parsed.refund_amount is not None
    assert parsed.refund_amount.retail_delivery_fee is None


def test_unknown_fields_are_kept() -> None:
    parsed = parse_return(
        {"return_id": "1", "is_quick_refund": True, "brand_new_field": {"x": 1}, "return_line_items": [{"new": 2}]}
    )
    assert parsed.model_extra == {"brand_new_field": {"x": 1}}
    assert parsed.return_line_items[0].model_extra == {"new": 2}


def test_unknown_enum_values_are_plain_strings() -> None:
    parsed = parse_return({"return_id": "1", "return_status": "SOMETHING_NEW", "return_type": "EXCHANGE"})
    assert parsed.return_status == "SOMETHING_NEW"
    assert parsed.return_type == "EXCHANGE"


def test_known_enum_values_compare_equal_to_the_strings() -> None:
    parsed = parse_return({"return_id": "1", "return_status": "AWAITING_BUYER_SHIP"})
    assert parsed.return_status == ReturnStatus.AWAITING_BUYER_SHIP


def test_nulls_and_missing_optional_fields_do_not_fail() -> None:
    parsed = parse_return(
        {
            "return_id": "1",
            "return_line_items": None,
            "seller_next_action_response": None,
            "refund_amount": None,
            "discount_amount": None,
            "arbitration_status": None,
            "update_time": None,
        }
    )
    assert parsed.return_line_items == []
    assert parsed.seller_next_action_response == []
    assert parsed.discount_amount == []
    assert parsed.refund_amount is None
    assert parsed.updated_at is None


def test_return_shipping_fee_is_read_under_both_names() -> None:
    spec = parse_return(
        {"return_id": "1", "shipping_fee_amount": [{"currency": "USD", "seller_paid_return_shipping_fee": "4.20"}]}
    )
    changelog = parse_return(
        {
            "return_id": "2",
            "return_shipping_fee_amount": {"currency": "USD", "seller_paid_return_shipping_fee_amount": "4.20"},
        }
    )
    assert spec.shipping_fee_amount[0].seller_paid_return_shipping_fee == Decimal("4.20")
    assert changelog.shipping_fee_amount[0].seller_paid_return_shipping_fee == Decimal("4.20")


def test_numeric_ids_become_strings() -> None:
    assert parse_return({"return_id": 4035318504086604100}).return_id == "4035318504086604100"


def test_bool_written_as_padded_string_is_accepted() -> None:
    assert parse_return({"return_id": "1", "is_combined_return": "true "}).is_combined_return is True


def test_times_have_utc_datetime_helpers() -> None:
    parsed = parse_return(
        {"return_id": "1", "update_time": 1_700_000_000, "seller_next_action_response": [{"deadline": 1_700_172_800}]}
    )
    assert parsed.updated_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert parsed.seller_next_action_response[0].deadline_at == datetime(2023, 11, 16, 22, 13, 20, tzinfo=UTC)


def test_full_return_line_maps_to_models() -> None:
    parsed = parse_return(
        {
            "return_id": "1",
            "return_line_items": [
                {
                    "return_line_item_id": "rl1",
                    "order_line_item_id": "ol1",
                    "seller_sku": "SKU-1",
                    "product_image": {"url": "https://img", "width": 10, "height": 10},
                    "refund_amount": {"currency": "GBP", "refund_subtotal": "9.99"},
                }
            ],
            "partial_refund": {"currency": "GBP", "amount": "3.33"},
            "discount_amount": [{"currency": "GBP", "product_seller_discount": "1.00"}],
        }
    )
    line = parsed.return_line_items[0]
    assert (line.order_line_item_id, line.seller_sku) == ("ol1", "SKU-1")
    assert line.product_image is not None and line.product_image.url == "https://img"
    assert line.refund_amount is not None and line.refund_amount.refund_subtotal == Decimal("9.99")
    assert parsed.partial_refund is not None and parsed.partial_refund.amount == Decimal("3.33")
    assert parsed.discount_amount[0].product_seller_discount == Decimal("1.00")


def test_record_roles_compare_case_insensitively() -> None:
    record = ReturnRecord.model_validate({"role": "Buyer", "images": None, "videos": [{"duration_millis": 1200}]})
    assert record.is_by(Role.BUYER)
    assert record.actor == "BUYER"
    assert record.images == []
    assert record.videos[0].duration_millis == 1200


def test_return_records_are_sorted_oldest_first(shop: ShopClient, fake: FakeTikTok) -> None:
    fake.then(reply({"records": [{"description": "b", "create_time": 20}, {"description": "a", "create_time": 10}]}))
    assert [r.description for r in shop.get_return_records("r1")] == ["a", "b"]


def test_both_spellings_of_the_closed_cancel_status_are_accepted() -> None:
    page = SearchCancellationsPage.model_validate(
        {
            "cancellations": [
                {"cancel_id": "1", "cancel_status": "CANCELLATION_REQUEST_CANCEL"},
                {
                    "cancel_id": "2",
                    "cancel_status": "CANCELLATION_REQUEST_CANCELLED",
                    "cancel_type": "REQUEST_CANCEL_REFUND",
                },
            ]
        }
    )
    assert [c.cancel_status for c in page.cancellations] == [
        CancelStatus.CANCELLATION_REQUEST_CANCEL,
        CancelStatus.CANCELLATION_REQUEST_CANCELLED,
    ]
    assert page.is_last


def test_cancellation_lines_and_amounts_parse() -> None:
    page = SearchCancellationsPage.model_validate_json(
        b'{"cancellations":[{"cancel_id":"1","should_replenish_stock":true,'
        b'"cancel_line_items":[{"cancel_line_item_id":"cl1","order_line_item_id":"ol1",'
        b'"refund_amount":{"currency":"USD","refund_total":"7.01"}}]}],"next_page_token":"x"}'
    )
    line = page.cancellations[0].cancel_line_items[0]
    assert line.refund_amount is not None and line.refund_amount.refund_total == Decimal("7.01")
    assert page.cancellations[0].should_replenish_stock is True
    assert not page.is_last


def test_order_payment_and_lines_parse_as_decimals() -> None:
    order = Order.model_validate(
        {
            "id": "576653688135258178",
            "status": "DELIVERED",
            "payment": {"currency": "USD", "sub_total": "20.00", "total_amount": "21.60", "tax": "1.60"},
            "line_items": [
                {"id": "l1", "sku_id": "s1", "sale_price": "10.00", "item_tax": [{"tax_amount": "0.80"}]},
                {"id": "l2", "sku_id": "s1", "sale_price": "10.00", "display_status": "TO_SHIP"},
            ],
            "packages": [{"id": "p1"}],
        }
    )
    assert order.payment is not None and order.payment.total_amount == Decimal("21.60")
    assert [line.sale_price for line in order.line_items] == [Decimal("10.00"), Decimal("10.00")]
    assert order.line_items[0].item_tax[0].tax_amount == Decimal("0.80")
    assert order.line_items[1].display_status == "TO_SHIP"


def test_blank_time_is_none_not_a_failure() -> None:
    assert parse_return({"return_id": "1", "update_time": ""}).update_time is None


def test_blank_flag_is_none_not_a_failure() -> None:
    assert parse_return({"return_id": "1", "is_combined_return": ""}).is_combined_return is None


def test_a_single_discount_object_becomes_a_one_item_list() -> None:
    parsed = parse_return({"return_id": "1", "discount_amount": {"currency": "USD", "product_seller_discount": "1.50"}})
    assert [d.product_seller_discount for d in parsed.discount_amount] == [Decimal("1.50")]


def test_repeated_money_text_keeps_its_exact_digits() -> None:
    first = parse_return({"return_id": "1", "refund_amount": {"refund_total": "1.0", "refund_tax": "1.00"}})
    again = parse_return({"return_id": "2", "refund_amount": {"refund_total": "1.00", "refund_tax": "1.0"}})
    assert first.refund_amount is not None and again.refund_amount is not None
    assert [str(first.refund_amount.refund_total), str(first.refund_amount.refund_tax)] == ["1.0", "1.00"]
    assert [str(again.refund_amount.refund_total), str(again.refund_amount.refund_tax)] == ["1.00", "1.0"]


def test_money_that_is_not_a_number_fails_the_parse() -> None:
    with pytest.raises(ValidationError):
        parse_return({"return_id": "1", "refund_amount": {"refund_total": "12,50"}})


def test_non_finite_money_fails_the_parse() -> None:
    with pytest.raises(ValidationError):
        parse_return({"return_id": "1", "refund_amount": {"refund_total": "NaN"}})


def test_money_sent_as_a_json_number_is_a_decimal() -> None:
    parsed = parse_return({"return_id": "1", "refund_amount": {"refund_total": 15000}})
    assert parsed.refund_amount is not None
    assert parsed.refund_amount.refund_total == Decimal("15000")
    assert isinstance(parsed.refund_amount.refund_total, Decimal)


def test_money_given_from_python_keeps_the_given_decimal() -> None:
    assert RefundAmount(refund_total=Decimal("3.10")).refund_total == Decimal("3.10")
    assert str(RefundAmount.model_validate({"refund_total": "3.10"}).refund_total) == "3.10"
    assert RefundAmount.model_validate({"refund_total": ""}).refund_total is None
