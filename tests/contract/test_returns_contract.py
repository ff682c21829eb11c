from __future__ import annotations

import base64
import struct
import zlib
from decimal import Decimal
from typing import Any

import pytest

from returnbridge.tiktok import BusinessError, ReturnFilters
from returnbridge.tiktok.shop import ShopClient

from .conftest import Control


def _one(shop: ShopClient, return_id: str):  # type: ignore[no-untyped-def]
    page = shop.search_returns(ReturnFilters(return_ids=[return_id]), page_size=10)
    assert [r.return_id for r in page.return_orders] == [return_id]
    return page.return_orders[0]


def _png(width: int = 4, height: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_search_pages_cover_every_seeded_return_exactly_once(shop: ShopClient, control: Control, us_shop) -> None:
    seen = [r.return_id for r in shop.iter_returns(page_size=10)]
    assert len(seen) == len(set(seen))
    first = shop.search_returns(page_size=10)
    assert len(seen) == first.total_count > 10


def test_search_sorted_by_update_time_ascending(shop: ShopClient) -> None:
    times = [r.update_time for r in shop.iter_returns(page_size=50, sort_field="update_time", sort_order="ASC")]
    assert times == sorted(times)


def test_search_filters_by_status_and_type(shop: ShopClient) -> None:
    filters = ReturnFilters(return_status=["RETURN_OR_REFUND_REQUEST_COMPLETE"], return_types=["REFUND"])
    found = list(shop.iter_returns(filters))
    assert found
    assert {(r.return_status, r.return_type) for r in found} == {("RETURN_OR_REFUND_REQUEST_COMPLETE", "REFUND")}


def test_search_update_time_bounds_are_inclusive_below_and_exclusive_above(shop: ShopClient) -> None:
    returns = list(shop.iter_returns())
    pivot = sorted(r.update_time for r in returns)[len(returns) // 2]
    at_or_after = {r.return_id for r in shop.iter_returns(ReturnFilters(update_time_ge=pivot))}
    before = {r.return_id for r in shop.iter_returns(ReturnFilters(update_time_lt=pivot))}
    assert at_or_after.isdisjoint(before)
    assert at_or_after | before == {r.return_id for r in returns}
    assert any(r.update_time == pivot for r in returns if r.return_id in at_or_after)


def test_newer_search_version_is_served(shop: ShopClient) -> None:
    page = shop.search_returns(page_size=10, version="202602")
    assert page.total_count > 0


def test_amounts_are_decimals_in_the_shop_currency_and_lines_add_up(shop: ShopClient) -> None:
    for ret in shop.iter_returns():
        amount = ret.refund_amount
        assert amount is not None and amount.currency == "USD"
        assert isinstance(amount.refund_total, Decimal)
        assert (
            sum((line.refund_amount.refund_total for line in ret.return_line_items), Decimal(0)) == amount.refund_total
        )
        assert amount.refund_total == amount.refund_subtotal + amount.refund_shipping_fee + amount.refund_tax


def test_return_lines_join_the_order_lines(shop: ShopClient) -> None:
    ret = next(iter(shop.iter_returns()))
    order = shop.get_orders([ret.order_id])[0]
    order_line_ids = {line.id for line in order.line_items}
    assert {line.order_line_item_id for line in ret.return_line_items} <= order_line_ids


def test_return_records_are_sorted_oldest_first(shop: ShopClient, control: Control, us_shop) -> None:
    created = control.new_return(us_shop["id"], "REFUND")
    records = shop.get_return_records(created["return_id"])
    assert records
    assert [r.create_time for r in records] == sorted(r.create_time for r in records)
    assert records[0].role.upper() == "BUYER"


def test_approve_refund_moves_a_refund_request_to_success(shop: ShopClient, control: Control, us_shop) -> None:
    created = control.new_return(us_shop["id"], "REFUND")
    assert created["return_status"] == "RETURN_OR_REFUND_REQUEST_PENDING"
    shop.approve_return(created["return_id"], decision="APPROVE_REFUND", idempotency_key="k-approve-refund-1")
    assert _one(shop, created["return_id"]).return_status == "RETURN_OR_REFUND_REQUEST_SUCCESS"


def test_return_and_refund_full_path_approve_ship_receive(shop: ShopClient, control: Control, us_shop) -> None:
    rid = control.new_return(us_shop["id"], "RETURN_AND_REFUND")["return_id"]
    shop.approve_return(rid, decision="APPROVE_RETURN")
    assert _one(shop, rid).return_status == "AWAITING_BUYER_SHIP"
    control("POST", f"/returns/{rid}/ship", {"tracking_number": "1Z999"})
    shipped = _one(shop, rid)
    assert shipped.return_status == "BUYER_SHIPPED_ITEM"
    assert [a.action for a in shipped.seller_next_action_response] == ["SELLER_RESPOND_RECEIVE_PACKAGE"]
    shop.approve_return(rid, decision="APPROVE_RECEIVED_PACKAGE")
    assert _one(shop, rid).return_status == "RETURN_OR_REFUND_REQUEST_SUCCESS"
    control("POST", f"/requests/{rid}/complete_refund")
    assert _one(shop, rid).return_status == "RETURN_OR_REFUND_REQUEST_COMPLETE"


def test_approving_twice_answers_already_in_that_state(shop: ShopClient, control: Control, us_shop) -> None:
    rid = control.new_return(us_shop["id"], "REFUND")["return_id"]
    shop.approve_return(rid, decision="APPROVE_REFUND")
    with pytest.raises(BusinessError) as raised:
        shop.approve_return(rid, decision="APPROVE_REFUND")
    assert raised.value.already_in_that_state
    assert raised.value.request_id


def test_same_idempotency_key_replays_the_first_answer_and_decides_once(
    shop: ShopClient, control: Control, us_shop
) -> None:
    rid = control.new_return(us_shop["id"], "REFUND")["return_id"]
    shop.approve_return(rid, decision="APPROVE_REFUND", idempotency_key=f"once-{rid}")
    shop.approve_return(rid, decision="APPROVE_REFUND", idempotency_key=f"once-{rid}")  # replayed, not re-applied
    records = shop.get_return_records(rid)
    assert sum(1 for r in records if r.role.upper() == "SELLER") == 1


def test_offer_partial_refund_waits_for_the_buyer(shop: ShopClient, control: Control, us_shop) -> None:
    rid = control.new_return(us_shop["id"], "REFUND")["return_id"]
    shop.approve_return(rid, decision="OFFER_PARTIAL_REFUND", partial_refund=(Decimal("1.50"), "USD"))
    offered = _one(shop, rid)
    assert offered.return_status == "AWAITING_BUYER_RESPONSE"
    assert offered.partial_refund is not None and offered.partial_refund.amount == Decimal("1.50")
    assert offered.seller_proposed_return_type == "PARTIAL_REFUND"


def test_partial_refund_in_another_currency_is_refused(shop: ShopClient, control: Control, us_shop) -> None:
    rid = control.new_return(us_shop["id"], "REFUND")["return_id"]
    with pytest.raises(BusinessError):
        shop.approve_return(rid, decision="OFFER_PARTIAL_REFUND", partial_refund=(Decimal("1.00"), "GBP"))


def test_reject_with_a_reason_from_the_list_comment_and_uploaded_image(
    shop: ShopClient, control: Control, us_shop
) -> None:
    rid = control.new_return(us_shop["id"], "REFUND")["return_id"]
    reasons = shop.get_reject_reasons(rid)
    assert reasons and all(r.name and r.text for r in reasons)
    image = shop.upload_image(_png(), filename="evidence.png")
    assert image.uri
    assert (image.width, image.height) == (4, 3)
    shop.reject_return(
        rid, decision="REJECT_REFUND", reject_reason=reasons[0].name, comment="Item is fine", images=[image]
    )
    assert _one(shop, rid).return_status == "REFUND_OR_RETURN_REQUEST_REJECT"
    last_seller_record = [r for r in shop.get_return_records(rid) if r.role.upper() == "SELLER"][-1]
    assert last_seller_record.note == "Item is fine"


def test_reject_with_an_unknown_reason_gets_25001014(shop: ShopClient, control: Control, us_shop) -> None:
    rid = control.new_return(us_shop["id"], "REFUND")["return_id"]
    with pytest.raises(BusinessError) as raised:
        shop.reject_return(rid, decision="REJECT_REFUND", reject_reason="not_a_reason_name")
    assert raised.value.code == 25001014


def test_receive_reasons_differ_from_request_reasons(shop: ShopClient, control: Control, us_shop) -> None:
    rid = control.new_return(us_shop["id"], "RETURN_AND_REFUND")["return_id"]
    request_reasons = {r.name for r in shop.get_reject_reasons(rid)}
    shop.approve_return(rid, decision="APPROVE_RETURN")
    control("POST", f"/returns/{rid}/ship", {})
    receive_reasons = {r.name for r in shop.get_reject_reasons(rid)}
    assert receive_reasons and request_reasons and receive_reasons != request_reasons
    with pytest.raises(BusinessError) as raised:
        shop.reject_return(
            rid, decision="REJECT_RECEIVED_PACKAGE", reject_reason=sorted(request_reasons - receive_reasons)[0]
        )
    assert raised.value.code in (25001016, 25001057)
    shop.reject_return(rid, decision="REJECT_RECEIVED_PACKAGE", reject_reason=sorted(receive_reasons)[0])
    assert _one(shop, rid).return_status == "REJECT_RECEIVE_PACKAGE"


def test_decisions_during_arbitration_get_25011010(shop: ShopClient, control: Control, us_shop) -> None:
    rid = control.new_return(us_shop["id"], "REFUND")["return_id"]
    shop.reject_return(rid, decision="REJECT_REFUND", reject_reason=shop.get_reject_reasons(rid)[0].name)
    control("POST", f"/returns/{rid}/escalate")
    assert _one(shop, rid).arbitration_status == "IN_PROGRESS"
    with pytest.raises(BusinessError) as raised:
        shop.approve_return(rid, decision="APPROVE_REFUND")
    assert raised.value.code == 25011010


def test_pending_request_is_auto_approved_after_48_hours(shop: ShopClient, control: Control, us_shop) -> None:
    rid = control.new_return(us_shop["id"], "REFUND")["return_id"]
    deadline = _one(shop, rid).seller_next_action_response[0].deadline
    clock = control("GET", "/clock")["now"]
    control("POST", "/clock/advance", {"seconds": deadline - clock + 1})
    assert _one(shop, rid).return_status in ("RETURN_OR_REFUND_REQUEST_SUCCESS", "RETURN_OR_REFUND_REQUEST_COMPLETE")


def test_another_shops_return_is_refused_with_25020005(shop: ShopClient, control: Control) -> None:
    gb = control.shop("GB")
    rid = control.new_return(gb["id"], "REFUND")["return_id"]
    with pytest.raises(BusinessError) as raised:
        shop.approve_return(rid, decision="APPROVE_REFUND")
    assert raised.value.code == 25020005


def test_eligibility_calculate_and_create_seller_refund(shop: ShopClient, control: Control, us_shop) -> None:
    created: dict[str, Any] = control.new_return(us_shop["id"], "REFUND")
    order = shop.get_orders([created["order_id"]])[0]
    eligibility = shop.get_aftersale_eligibility(order.id)
    assert eligibility.sku_eligibility
    calculation = shop.calculate_refund(
        order_id=order.id,
        request_type="REFUND",
        reason_name="ecom_order_delivered_refund_reason_missing_product_seller",
    )
    assert calculation.order_refund_amount is not None
    assert calculation.order_refund_amount.currency == "USD"


def test_image_upload_is_served_without_shop_cipher(shop: ShopClient) -> None:
    image = shop.upload_image(base64.b64decode(base64.b64encode(_png(10, 7))), filename="x.png")
    assert (image.width, image.height) == (10, 7)


def test_seller_initiated_refund_is_created_and_searchable(emulator, shop: ShopClient, us_shop) -> None:  # type: ignore[no-untyped-def]
    world_shop = emulator.world.shop_by_id(us_shop["id"])
    order = emulator.world.create_order(world_shop, units=2, status="DELIVERED")
    order_id = order["id"]
    created = shop.create_return(
        order_id=order_id,
        return_type="REFUND",
        idempotency_key=f"seller-refund-{order_id}",
        return_reason="ecom_order_delivered_refund_reason_missing_product_seller",
    )
    assert created.return_id
    assert created.return_status
    found = _one(shop, created.return_id)
    assert found.order_id == order_id
    assert found.role == "SELLER"
    with pytest.raises(BusinessError) as raised:
        shop.create_return(
            order_id=order_id,
            return_type="REFUND",
            return_reason="ecom_order_delivered_refund_reason_missing_product_seller",
        )
    assert raised.value.code in (25001010, 25001011)
