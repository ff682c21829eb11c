"""Reason names (contract §4.8) with English texts, and which of them fit which request, stage and market.

The names are reproduced exactly, apostrophes, commas and slashes included. Texts are the emulator's own English
labels (the API localises ``*_reason_text``; the emulator speaks English for every locale).
"""

from __future__ import annotations

_BUYER_CANCEL_UNPAID = "ecom_order_unpaid_canceled_reason_"
_BUYER_CANCEL_TO_SHIP = "ecom_order_to_ship_canceled_reason_"
_BUYER_RETURN = "ecom_order_delivered_refund_and_return_reason_"
_REJECT_CANCEL = "order_manage_list_action_respond_popup_reject_reason_"

# category → {name: text}; dicts keep insertion order, which keeps seeding deterministic.
CATEGORIES: dict[str, dict[str, str]] = {
    "buyer_cancel_unpaid": {
        _BUYER_CANCEL_UNPAID + "payment_method_not_available": "Payment method not available",
        _BUYER_CANCEL_UNPAID + "created_by_mistakes": "Order created by mistake",
        _BUYER_CANCEL_UNPAID + "better_price": "Found a better price",
        _BUYER_CANCEL_UNPAID + "no_longer_needed": "No longer needed",
        _BUYER_CANCEL_UNPAID + "other": "Other",
    },
    "buyer_cancel_to_ship": {
        _BUYER_CANCEL_TO_SHIP + "change_payment_method": "Need to change payment method",
        _BUYER_CANCEL_TO_SHIP + "discount_not_expected": "Discount not as expected",
        _BUYER_CANCEL_TO_SHIP + "created_by_mistakes": "Order created by mistake",
        _BUYER_CANCEL_TO_SHIP + "high_delivery_costs": "Delivery costs too high",
        _BUYER_CANCEL_TO_SHIP + "better_price": "Found a better price",
        _BUYER_CANCEL_TO_SHIP + "wrong_delivery_info": "Wrong delivery information",
        _BUYER_CANCEL_TO_SHIP + "not_shipped_on_time": "Order not shipped on time",
        _BUYER_CANCEL_TO_SHIP + "no_longer_needed": "No longer needed",
        _BUYER_CANCEL_TO_SHIP + "forgot_to_apply_coupons": "Forgot to apply coupons",
    },
    "seller_reject_cancel": {
        _REJECT_CANCEL + "invalid_cancellation_reason": "Invalid cancellation reason",
        _REJECT_CANCEL + "delivered": "The order has been delivered",
        _REJECT_CANCEL + "buyer_agree": "Buyer agreed to keep the order",
        "seller_reject_apply_product_has_been_packed": "The product has already been packed",
        "ecom_reverse_reject_cancel_reason_product_packed": "The product has been packed",
        "seller_reject_apply_unable_to_change_address": "Unable to change the address",
    },
    "seller_cancel_unpaid": {
        "seller_cancel_unpaid_reason_out_of_stock": "Out of stock",
        "seller_cancel_unpaid_reason_wrong_price": "Pricing error",
        "seller_cancel_unpaid_reason_buyer_hasnt_paid_within_time_allowed": "Buyer hasn't paid within time allowed",
        "seller_cancel_unpaid_reason_buyer_requested_cancellation": "Buyer requested cancellation",
    },
    "seller_cancel_paid": {
        "seller_cancel_reason_out_of_stock": "Out of stock",
        "seller_cancel_reason_wrong_price": "Pricing error",
        "seller_cancel_paid_reason_address_not_deliver": "Unable to deliver to buyer address",
        "seller_cancel_paid_reason_buyer_requested_cancellation": "Buyer requested cancellation",
    },
    "system_cancel": {
        "system_cancel_unpaid_time_out": "Payment not completed in time",
        "system_cancel_order_reason_shipping_timeout": "Order not shipped in time",
        "package_lost": "Package lost",
        "package_damaged": "Package damaged",
        "threepl_breach": "Carrier failed to deliver",
        "system_cancel_order_untracked": "Package has no tracking updates",
        "system_cancel_order_exceed_edt_not_arrive": "Package did not arrive by the estimated delivery date",
    },
    "operator_cancel": {
        "system_cancel_order_reason_potential_fraud": "Potential fraud",
        "operator_cancel_risk_control_block": "Blocked by risk control",
    },
    "buyer_refund_shipped": {
        "ecom_order_shipped_refund_reason_not_arrive_on_time": "Package didn't arrive on time",
    },
    "buyer_refund_delivered": {
        "ecom_order_delivered_refund_reason_not_received": "Package not received",
        "ecom_order_delivered_refund_reason_damaged": "Damaged item",
        "ecom_order_delivered_refund_reason_defective": "Defective item",
        "ecom_order_delivered_refund_reason_missing_product": "Missing item",
        "ecom_order_delivered_refund_reason_missing_broken_parts": "Missing or broken parts",
        "ecom_order_delivered_refund_reason_not_match_description": "Item doesn't match description",
        "ecom_order_delivered_refund_reason_wrong_product_1": "Wrong item received",
    },
    "buyer_return": {
        _BUYER_RETURN + "no_need": "No longer needed",
        _BUYER_RETURN + "not_match_description": "Item doesn't match description",
        _BUYER_RETURN + "missing_product": "Missing item",
        _BUYER_RETURN + "damaged": "Damaged item",
        _BUYER_RETURN + "defective": "Defective item",
        _BUYER_RETURN + "wrong_product": "Wrong item received",
        "buyer_return_and_refund_item_doesn't_fit": "Item doesn't fit",
        "buyer_return_and_refund_shipping_box_damaged,_but_item_is_ok": "Shipping box damaged, but item is OK",
        "buyer_return_and_refund_item_arrived_too_late": "Item arrived too late",
        "buyer_return_and_refund_fabric,_material_or_style_not_as_expected": (
            "Fabric, material or style not as expected"
        ),
        "buyer_return_and_refund_color_or_pattern_not_as_expected": "Color or pattern not as expected",
    },
    "seller_reject_request": {
        "reverse_reject_request_reason_1": "Buyer has not provided sufficient evidence",
        "reverse_reject_request_reason_2": "Product was delivered as described",
        "reverse_reject_request_reason_3": "Buyer's request exceeds the return window",
        "reverse_reject_request_reason_4": "Agreed with the buyer to reject the request",
        "reverse_reject_request_reason_5": "Product is not eligible for return",
        "seller_reject_apply_item_is_correct": "The item is correct",
        "seller_reject_apply_products_will_be_sent_separately": "Products will be sent separately",
        "seller_reject_apply_reason_is_unclear_or_lack_of_evidence": "Reason is unclear or lacks evidence",
        "seller_reject_apply_product_functions_well/buyer_use_in_wrong_way": (
            "Product functions well; used in a wrong way"
        ),
        "seller_reject_apply_package_has_not_exceeded_estimated_delivery_time": (
            "Package has not exceeded the estimated delivery time"
        ),
    },
    "seller_reject_refund_extra": {
        "seller_reject_apply_unable_to_change_address": "Unable to change the address",
        "seller_reject_apply_need_to_apply_for_refund&return": "Buyer needs to apply for a return and refund",
        "seller_reject_apply_buyers_responsibility_for_incorrect_address": (
            "Buyer is responsible for the incorrect address"
        ),
    },
    "seller_reject_parcel": {
        "reverse_reject_return_parcel_reason_1": "Wrong product returned",
        "reverse_reject_return_parcel_reason_2": "Returned product is not eligible or was used",
        "reverse_reject_return_parcel_reason_3": "Returned product has missing parts",
        "reverse_reject_return_parcel_reason_4": "Return package not received",
        "reverse_reject_return_parcel_reason_5": "Returned product is damaged or used",
        "seller_reject_apply_you_have_reached_an_agreement_with_the_buyer": "Reached an agreement with the buyer",
    },
    "seller_refund_shipped": {
        "seller_shipped_refund_package_lost": "Package lost",
        "seller_shipped_refund_package_delivery_failed": "Package delivery failed",
        "seller_shipped_refund_miss_estimated_delivery_date": "Missed the estimated delivery date",
    },
    "seller_refund_delivered": {
        f"ecom_order_delivered_refund_reason_{kind}_seller": text
        for kind, text in (
            ("missing_product", "Missing item"),
            ("not_received", "Package not received"),
            ("not_match_description", "Item doesn't match description"),
            ("damaged", "Damaged item"),
            ("wrong_product", "Wrong item sent"),
            ("missed_delivery_date", "Missed the delivery date"),
        )
    },
    "seller_return": {
        "seller_ecom_delivered_return_refund_reason1": "Seller-initiated return",
    },
}

TEXTS: dict[str, str] = {name: text for names in CATEGORIES.values() for name, text in names.items()}
CATEGORY_OF: dict[str, str] = {}
for _category, _names in CATEGORIES.items():
    for _name in _names:
        # A name listed in two categories (unable_to_change_address) keeps its first: the reject lists below
        # use the category lists themselves, so this only matters for telling buyer from seller reasons.
        CATEGORY_OF.setdefault(_name, _category)

# Reason names as a stable numbered list (the seeding columns store the number, not the string).
NAMES: list[str] = list(TEXTS)
NUMBER: dict[str, int] = {name: i for i, name in enumerate(NAMES)}
CATEGORY_NUMBERS: dict[str, tuple[int, ...]] = {
    category: tuple(NUMBER[name] for name in listed) for category, listed in CATEGORIES.items()
}

# US removed reject reasons 1, 2, 3 and 5 for returns (contract §4.8, "US change").
_US_REMOVED = {f"reverse_reject_request_reason_{n}" for n in (1, 2, 3, 5)}

ALL_REJECT_REASONS: frozenset[str] = frozenset(
    name
    for category in ("seller_reject_request", "seller_reject_refund_extra", "seller_reject_parcel",
                     "seller_reject_cancel")
    for name in CATEGORIES[category]
)

# Buyer remorse reasons: the buyer pays return shipping and the outbound shipping is not refunded.
REMORSE: frozenset[str] = frozenset(
    {
        _BUYER_RETURN + "no_need",
        "buyer_return_and_refund_item_doesn't_fit",
        "buyer_return_and_refund_fabric,_material_or_style_not_as_expected",
        "buyer_return_and_refund_color_or_pattern_not_as_expected",
        "buyer_return_and_refund_shipping_box_damaged,_but_item_is_ok",
    }
)


def text(name: str) -> str:
    return TEXTS.get(name, name)


def names(category: str) -> list[str]:
    return list(CATEGORIES[category])


def request_reject_reasons(market: str, *, refund_only: bool) -> list[str]:
    """Reasons for rejecting a refund/return/replacement request at the application stage."""
    listed = names("seller_reject_request")
    if market == "US":
        listed = [name for name in listed if name not in _US_REMOVED]
    if refund_only:
        listed += names("seller_reject_refund_extra")
    return listed


def parcel_reject_reasons(market: str) -> list[str]:
    """Reasons for rejecting a received return parcel."""
    return names("seller_reject_parcel")


def cancel_reject_reasons(market: str) -> list[str]:
    return names("seller_reject_cancel")


def seller_cancel_reasons(order_status: str) -> list[str]:
    """Seller cancel reasons that fit an order status (unpaid orders have their own list)."""
    if order_status == "UNPAID":
        return names("seller_cancel_unpaid")
    return names("seller_cancel_paid")


def buyer_request_reasons(request_type: str, order_status: str) -> list[str]:
    """Buyer reasons that fit a request type and the order's status (contract §4.5 / §4.8)."""
    if request_type == "CANCEL":
        if order_status == "UNPAID":
            return names("buyer_cancel_unpaid")
        if order_status in ("ON_HOLD", "AWAITING_SHIPMENT"):
            return names("buyer_cancel_to_ship")
        return []
    if request_type == "REFUND":
        if order_status in ("AWAITING_COLLECTION", "IN_TRANSIT"):
            return names("buyer_refund_shipped")
        if order_status == "DELIVERED":
            return names("buyer_refund_delivered")
        return []
    if order_status == "DELIVERED":  # RETURN_AND_REFUND, REPLACEMENT, EXCHANGE
        return names("buyer_return")
    return []


def seller_request_reasons(request_type: str, order_status: str, market: str) -> list[str]:
    """Reasons a seller may use in Create Return for this type and order status."""
    if request_type == "REFUND":
        if order_status in ("AWAITING_COLLECTION", "IN_TRANSIT"):
            return names("seller_refund_shipped")
        if order_status == "DELIVERED":
            return names("seller_refund_delivered")
        return []
    if request_type == "RETURN_AND_REFUND" and order_status == "DELIVERED" and market == "US":
        return names("seller_return")
    return []


SELLER_INITIATED = frozenset(
    name for category in ("seller_refund_shipped", "seller_refund_delivered", "seller_return")
    for name in CATEGORIES[category]
)
BUYER_INITIATED = frozenset(
    name
    for category in ("buyer_cancel_unpaid", "buyer_cancel_to_ship", "buyer_refund_shipped",
                     "buyer_refund_delivered", "buyer_return")
    for name in CATEGORIES[category]
)
