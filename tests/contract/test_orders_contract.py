from __future__ import annotations

from decimal import Decimal

from returnbridge.tiktok.shop import ShopClient

from .conftest import Control


def test_get_orders_returns_one_line_per_unit_and_a_consistent_payment(shop: ShopClient) -> None:
    order_ids = sorted({r.order_id for r in shop.iter_returns()})[:60]  # more than one chunk of 50
    orders = shop.get_orders(order_ids)
    assert sorted(o.id for o in orders) == order_ids
    for order in orders:
        payment = order.payment
        assert payment is not None and payment.currency == "USD"
        assert (
            payment.sub_total
            == payment.original_total_product_price - payment.seller_discount - payment.platform_discount
        )
        assert payment.shipping_fee == (
            payment.original_shipping_fee
            - payment.shipping_fee_seller_discount
            - payment.shipping_fee_platform_discount
        )
        assert all(isinstance(line.sale_price, Decimal) for line in order.line_items)


def test_idr_amounts_have_no_decimals(control: Control, client) -> None:  # type: ignore[no-untyped-def]
    from returnbridge.tiktok import MemoryTokenSource

    from .conftest import authorize

    shop_info = control.shop("ID")
    control.new_return(shop_info["id"], "REFUND")
    tokens = authorize(control, client, shop_info["id"])
    shop = client.shop(shop_info["cipher"], MemoryTokenSource(client, tokens))
    for ret in shop.iter_returns():
        assert ret.refund_amount is not None and ret.refund_amount.currency == "IDR"
        assert ret.refund_amount.refund_total == ret.refund_amount.refund_total.to_integral_value()
