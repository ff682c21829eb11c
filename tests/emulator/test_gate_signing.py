"""The emulator's signature check against the contract's vectors V1–V3 (§1.4)."""

from __future__ import annotations

from collections.abc import Callable

from returnbridge.emulators.tiktok.signing import (
    is_valid_request_signature,
    request_signature,
    string_to_sign,
)

SECRET = "e59af819cc"
V2_QUERY = {"app_key": "68xu9ks5p4i8", "shop_cipher": "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK", "timestamp": "1696909648"}
V3_BODY = b'{"event_type":"PACKAGE_UPDATE","address":"https://partner.tiktokshop.com"}'


def test_v1_string_to_sign_wraps_path_and_sorted_query_in_the_secret() -> None:
    assert string_to_sign(SECRET, "/authorization/202309/shops", {"timestamp": "1623812664", "app_key": "29a39d"}) \
        == b"e59af819cc/authorization/202309/shopsapp_key29a39dtimestamp1623812664e59af819cc"


def test_v1_get_authorized_shops_signature() -> None:
    query = {"app_key": "29a39d", "timestamp": "1623812664"}
    assert request_signature(SECRET, "/authorization/202309/shops", query) == (
        "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
    )


def test_v2_get_webhooks_signature() -> None:
    assert request_signature(SECRET, "/event/202309/webhooks", V2_QUERY) == (
        "ed58e1b5e59865c22a7b828c1cab65007441f43cc91a6cb2f2cdc638e0995a37"
    )


def test_v3_put_webhook_signature_covers_raw_body() -> None:
    assert request_signature(SECRET, "/event/202309/webhooks", V2_QUERY, V3_BODY) == (
        "701dd6deb2389fe4c469b89bd37fc56f96a6da6afeb4d01c9077a65169752fa7"
    )


def test_sign_and_access_token_query_parameters_are_not_signed() -> None:
    with_extras = {**V2_QUERY, "sign": "whatever", "access_token": "TTP_x"}
    assert request_signature(SECRET, "/event/202309/webhooks", with_extras) == (
        "ed58e1b5e59865c22a7b828c1cab65007441f43cc91a6cb2f2cdc638e0995a37"
    )


def test_verification_accepts_the_vector_and_rejects_a_changed_body() -> None:
    good = "701dd6deb2389fe4c469b89bd37fc56f96a6da6afeb4d01c9077a65169752fa7"
    assert is_valid_request_signature(SECRET, "/event/202309/webhooks", V2_QUERY, V3_BODY, good)
    respaced = V3_BODY.replace(b'","', b'", "')
    assert not is_valid_request_signature(SECRET, "/event/202309/webhooks", V2_QUERY, respaced, good)


def test_uppercase_hex_signature_is_rejected() -> None:
    good = "ed58e1b5e59865c22a7b828c1cab65007441f43cc91a6cb2f2cdc638e0995a37"
    assert not is_valid_request_signature(SECRET, "/event/202309/webhooks", V2_QUERY, b"", good.upper())


def test_non_ascii_signature_is_rejected_not_crashing() -> None:
    assert not is_valid_request_signature(SECRET, "/event/202309/webhooks", V2_QUERY, b"", "é" * 64)


def test_test_helper_signer_agrees_with_vector_v3(signer: Callable[..., str]) -> None:
    assert signer(SECRET, "/event/202309/webhooks", V2_QUERY, V3_BODY) == (
        "701dd6deb2389fe4c469b89bd37fc56f96a6da6afeb4d01c9077a65169752fa7"
    )
