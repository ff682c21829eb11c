from __future__ import annotations

import pytest

from returnbridge.tiktok import BusinessError, CancellationFilters
from returnbridge.tiktok.shop import ShopClient

from .conftest import Control


def _one(shop: ShopClient, cancel_id: str):  # type: ignore[no-untyped-def]
    page = shop.search_cancellations(CancellationFilters(cancel_ids=[cancel_id]), page_size=10)
    assert [c.cancel_id for c in page.cancellations] == [cancel_id]
    return page.cancellations[0]


def test_search_cancellations_pages_through_everything_once(shop: ShopClient) -> None:
    seen = [c.cancel_id for c in shop.iter_cancellations(page_size=5)]
    assert seen
    assert len(seen) == len(set(seen))


def test_buyer_cancellation_is_pending_with_a_deadline(shop: ShopClient, control: Control, us_shop) -> None:
    cid = control.new_cancellation(us_shop["id"])["cancel_id"]
    cancellation = _one(shop, cid)
    assert cancellation.cancel_status == "CANCELLATION_REQUEST_PENDING"
    assert cancellation.cancel_type == "BUYER_CANCEL"
    assert cancellation.seller_next_action_response


def test_approve_cancellation_moves_it_to_success(shop: ShopClient, control: Control, us_shop) -> None:
    cid = control.new_cancellation(us_shop["id"])["cancel_id"]
    shop.approve_cancellation(cid, idempotency_key=f"approve-{cid}")
    assert _one(shop, cid).cancel_status == "CANCELLATION_REQUEST_SUCCESS"


def test_reject_cancellation_with_a_listed_reason_closes_it(shop: ShopClient, control: Control, us_shop) -> None:
    cid = control.new_cancellation(us_shop["id"])["cancel_id"]
    reason = shop.get_reject_reasons(cid)[0].name
    shop.reject_cancellation(cid, reject_reason=reason, comment="Already packed")
    assert _one(shop, cid).cancel_status in ("CANCELLATION_REQUEST_CANCEL", "CANCELLATION_REQUEST_CANCELLED")


def test_approving_a_withdrawn_cancellation_is_refused(shop: ShopClient, control: Control, us_shop) -> None:
    cid = control.new_cancellation(us_shop["id"])["cancel_id"]
    control("POST", f"/requests/{cid}/withdraw")
    with pytest.raises(BusinessError) as raised:
        shop.approve_cancellation(cid)
    assert raised.value.already_in_that_state or raised.value.code in (25020003, 25011012)


def test_seller_cancels_an_order_awaiting_shipment(shop: ShopClient, control: Control, us_shop) -> None:
    orders = control("GET", f"/state?shop_id={us_shop['id']}&limit=500")
    candidates = [o["id"] for o in orders.get("orders", []) if o.get("status") == "AWAITING_SHIPMENT"]
    if not candidates:
        pytest.fail("the seeded shop has no order awaiting shipment to cancel")
    created = shop.cancel_order(order_id=candidates[0], cancel_reason="seller_cancel_reason_out_of_stock")
    assert created.cancel_id
    assert created.cancel_status == "CANCELLATION_REQUEST_SUCCESS"
