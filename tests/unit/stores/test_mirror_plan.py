"""Which store effects a case calls for (pure planning) and TikTok's amounts copied exactly."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from returnbridge.db.models import Case, CaseLine
from returnbridge.stores.adapter import RefundAmounts
from returnbridge.stores.settings import StoreSettings
from returnbridge.sync.mirror_plan import due_effects, effect_key, refund_amounts


def case(**values: Any) -> Case:
    defaults: dict[str, Any] = {
        "id": 7, "account_id": 1, "kind": "return", "tiktok_id": "R1", "order_id": "O1", "type": "RETURN_AND_REFUND",
        "tiktok_status": "RETURN_OR_REFUND_REQUEST_COMPLETE", "currency": "USD", "reason_name": "Damaged",
        "reason_text": "", "refund_total": Decimal("27.53"), "refund_subtotal": Decimal("22.00"),
        "refund_shipping_fee": Decimal("3.99"), "refund_tax": Decimal("1.54"), "retail_delivery_fee": None,
        "buyer_service_fee": None, "product_platform_discount": Decimal("4.00"), "product_seller_discount": None,
        "shipping_fee_platform_discount": Decimal("1.00"), "shipping_fee_seller_discount": None,
        "partial_refund_amount": None,
    }
    defaults.update(values)
    return Case(**defaults)


def lines(*skus: str, currency: str = "USD") -> list[CaseLine]:
    return [CaseLine(case_id=7, tiktok_line_id=f"L{i}", seller_sku=sku, currency=currency)
            for i, sku in enumerate(skus)]


def settings(**values: Any) -> StoreSettings:
    return StoreSettings.model_validate({"mirroring": "record", **values})


def kinds(effects: list[Any]) -> list[str]:
    return [e.kind for e in effects]


def test_nothing_is_planned_while_mirroring_is_off() -> None:
    assert due_effects(case(), lines("A"), StoreSettings()) == []


def test_refund_only_request_completed_records_a_refund_and_no_return_or_restock() -> None:
    planned = due_effects(case(type="REFUND"), lines("A"), settings(auto_restock=True))
    assert kinds(planned) == ["refund"]


def test_return_accepted_by_tiktok_creates_the_store_return_before_any_refund() -> None:
    planned = due_effects(case(tiktok_status="AWAITING_BUYER_SHIP"), lines("A"), settings())
    assert kinds(planned) == ["return"]
    assert planned[0].payload["units"] == [{"sku": "A", "quantity": 1}]


def test_pending_request_plans_nothing() -> None:
    assert due_effects(case(tiktok_status="RETURN_OR_REFUND_REQUEST_PENDING"), lines("A"), settings()) == []


def test_restock_on_package_approval_comes_with_the_approval_not_the_refund() -> None:
    s = settings(auto_restock=True, restock_trigger="package_approved")
    assert kinds(due_effects(case(tiktok_status="BUYER_SHIPPED_ITEM"), lines("A"), s)) == ["return"]
    assert kinds(due_effects(case(tiktok_status="RETURN_OR_REFUND_REQUEST_SUCCESS"), lines("A"), s)) == [
        "return", "restock"]


def test_restock_on_refund_completion_waits_for_the_refund() -> None:
    s = settings(auto_restock=True, restock_trigger="refund_completed")
    assert kinds(due_effects(case(tiktok_status="RETURN_OR_REFUND_REQUEST_SUCCESS"), lines("A"), s)) == ["return"]
    assert kinds(due_effects(case(), lines("A"), s)) == ["return", "refund", "restock"]


def test_no_restock_without_auto_restock() -> None:
    assert kinds(due_effects(case(), lines("A"), settings())) == ["return", "refund"]


def test_informational_mode_records_returns_and_never_refunds() -> None:
    s = settings(mirroring="informational")
    assert kinds(due_effects(case(), lines("A"), s)) == ["return"]
    assert due_effects(case(type="REFUND"), lines("A"), s) == []


def test_cancellation_before_shipment_restocks_through_the_refund_only() -> None:
    cancellation = case(kind="cancellation", type="BUYER_CANCEL", tiktok_status="CANCELLATION_REQUEST_COMPLETE")
    planned = due_effects(cancellation, lines("A", "A"), settings(auto_restock=True))
    assert kinds(planned) == ["refund"]
    assert planned[0].payload["restock_through_refund"] is True
    assert planned[0].payload["units"] == [{"sku": "A", "quantity": 2}]


def test_partial_refund_is_money_only_and_restocks_nothing() -> None:
    planned = due_effects(case(partial_refund_amount=Decimal("5.00"), refund_total=Decimal("5.00")), lines("A"),
                          settings(auto_restock=True))
    assert kinds(planned) == ["return", "refund"]
    assert planned[1].payload["units"] == []
    assert planned[1].payload["amounts"]["total"] == "5.00"


def test_a_refund_where_the_buyer_keeps_the_item_plans_no_store_return_and_no_restock() -> None:
    # Found by the chaos run: "refund and let the buyer keep the item" restocked units that never came back.
    s = settings(auto_restock=True, restock_trigger="package_approved")
    kept = {"can_buyer_keep_item": True}
    assert due_effects(case(tiktok_status="RETURN_OR_REFUND_REQUEST_SUCCESS", raw=kept), lines("A"), s) == []
    assert kinds(due_effects(case(raw=kept), lines("A"), s)) == ["refund"]


def test_a_partial_refund_the_buyer_kept_the_item_for_creates_no_store_return() -> None:
    # Found by the chaos run: a partial refund offered before any parcel was sent opened a store return.
    planned = due_effects(case(partial_refund_amount=Decimal("5.00"), refund_total=Decimal("5.00"),
                               raw={"can_buyer_keep_item": True}), lines("A"), settings(auto_restock=True))
    assert kinds(planned) == ["refund"]


def test_multi_unit_partial_return_groups_units_by_sku() -> None:
    planned = due_effects(case(tiktok_status="AWAITING_BUYER_SHIP"), lines("A", "B", "A"), settings())
    assert planned[0].payload["units"] == [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 1}]


def test_legacy_numeric_status_is_understood() -> None:
    assert kinds(due_effects(case(tiktok_status="100"), lines("A"), settings())) == ["return", "refund"]


def test_store_only_mirrors_its_own_accounts() -> None:
    assert due_effects(case(account_id=2), lines("A"), settings(account_ids=[1])) == []
    assert kinds(due_effects(case(account_id=1), lines("A"), settings(account_ids=[1]))) == ["return", "refund"]


def test_amounts_in_two_currencies_are_flagged_for_holding() -> None:
    planned = due_effects(case(type="REFUND"), lines("A", currency="CAD"), settings())
    assert "CAD" in planned[0].payload["currency_problem"] and "USD" in planned[0].payload["currency_problem"]


def test_idempotency_keys_are_deterministic_per_store_case_and_kind() -> None:
    assert effect_key(3, 7, "refund") == effect_key(3, 7, "refund") == "rb-3-7-refund-v1"
    assert len({effect_key(3, 7, k) for k in ("return", "refund", "restock")} | {effect_key(4, 7, "refund")}) == 4


# --- money ------------------------------------------------------------------------------------------------------


def test_every_tiktok_component_is_copied_exactly() -> None:
    amounts = refund_amounts(case(retail_delivery_fee=Decimal("0.27"), buyer_service_fee=Decimal("0.10")))
    assert amounts == RefundAmounts(
        currency="USD", total=Decimal("27.53"), subtotal=Decimal("22.00"), shipping=Decimal("3.99"),
        tax=Decimal("1.54"), retail_delivery_fee=Decimal("0.27"), buyer_service_fee=Decimal("0.10"),
        platform_discount=Decimal("4.00"), shipping_platform_discount=Decimal("1.00"),
    )


@pytest.mark.parametrize(("currency", "total"), [("USD", "27.53"), ("JPY", "1500"), ("KWD", "1.235"), ("USD", "0")])
def test_amounts_round_trip_through_the_outbox_without_changing_a_digit(currency: str, total: str) -> None:
    amounts = RefundAmounts(currency=currency, total=Decimal(total), subtotal=Decimal(total))
    stored = amounts.to_json()
    assert stored["total"] == total
    assert RefundAmounts.from_json(stored) == amounts


def test_a_case_without_a_refund_total_gives_no_amounts() -> None:
    assert refund_amounts(case(refund_total=None)) is None


@pytest.mark.parametrize(("status", "rejected"), [
    ("RETURN_OR_REFUND_REQUEST_CANCEL", False),  # the buyer withdrew it
    ("REJECT_RECEIVE_PACKAGE", True),  # the received package was refused
    ("REFUND_OR_RETURN_REQUEST_REJECT", True),  # kept by plan_effects only where a return effect exists
])
def test_a_return_tiktok_ended_calls_for_ending_the_store_return(status: str, rejected: bool) -> None:
    planned = due_effects(case(tiktok_status=status), lines("A"), settings(mirroring="informational"))
    assert kinds(planned) == ["return_cancel"]
    assert planned[0].payload["rejected"] is rejected


def test_refund_only_and_cancellations_have_no_store_return_to_end() -> None:
    assert due_effects(case(type="REFUND", tiktok_status="RETURN_OR_REFUND_REQUEST_CANCEL"), lines("A"),
                       settings()) == []
    assert due_effects(case(kind="cancellation", type="BUYER_CANCEL", tiktok_status="CANCELLATION_REQUEST_CANCEL"),
                       lines("A"), settings()) == []


def test_where_restock_is_only_possible_inside_the_refund_the_refund_restocks_and_no_restock_is_planned() -> None:
    s = settings(auto_restock=True, restock_trigger="package_approved")
    approved = due_effects(case(tiktok_status="RETURN_OR_REFUND_REQUEST_SUCCESS"), lines("A"), s,
                           restock_through_refund=True)
    assert kinds(approved) == ["return"]
    planned = due_effects(case(), lines("A"), s, restock_through_refund=True)
    assert kinds(planned) == ["return", "refund"] and planned[1].payload["restock_through_refund"] is True
    refund_only = due_effects(case(type="REFUND"), lines("A"), s, restock_through_refund=True)
    assert refund_only[0].payload["restock_through_refund"] is False
    without = due_effects(case(), lines("A"), settings(), restock_through_refund=True)
    assert without[1].payload["restock_through_refund"] is False
