"""Signature vectors from contract §1.4 (V1–V3) and §5.1 (W1)."""

from __future__ import annotations

from returnbridge.tiktok.signing import sign_request, string_to_sign, verify_webhook, webhook_signature

SECRET = "e59af819cc"
V2_QUERY = {
    "app_key": "68xu9ks5p4i8",
    "shop_cipher": "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK",
    "timestamp": "1696909648",
}
W1_BODY = (
    b'{"type":1,"tts_notification_id":"7380066284010030890","shop_id":"7495540735365777507",'
    b'"timestamp":1718305585,"data":{"is_on_hold_order":true,"order_id":"576653688135258178",'
    b'"order_status":"UNPAID","update_time":1718305585}}'
)
W1_SIGNATURE = "5dec0f11ec2f6783b8deee53c9ffbf8d024302f7c7e7fa55a35d17629031ac05"


def test_v1_get_without_body_matches_the_official_vector() -> None:
    query = {"app_key": "29a39d", "timestamp": "1623812664"}
    sign = sign_request(SECRET, "/authorization/202309/shops", query, None)
    assert sign == "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"


def test_v1_string_to_sign_is_path_then_sorted_pairs() -> None:
    query = {"timestamp": "1623812664", "app_key": "29a39d"}
    raw = string_to_sign("/authorization/202309/shops", query, None)
    assert raw == b"/authorization/202309/shopsapp_key29a39dtimestamp1623812664"


def test_v2_get_with_shop_cipher_matches_the_skit_vector() -> None:
    sign = sign_request(SECRET, "/event/202309/webhooks", V2_QUERY, None)
    assert sign == "ed58e1b5e59865c22a7b828c1cab65007441f43cc91a6cb2f2cdc638e0995a37"


def test_v3_json_body_bytes_are_appended() -> None:
    body = b'{"event_type":"PACKAGE_UPDATE","address":"https://partner.tiktokshop.com"}'
    sign = sign_request(SECRET, "/event/202309/webhooks", V2_QUERY, body)
    assert sign == "701dd6deb2389fe4c469b89bd37fc56f96a6da6afeb4d01c9077a65169752fa7"


def test_sign_and_token_in_the_query_are_not_signed() -> None:
    polluted = {**V2_QUERY, "sign": "whatever", "access_token": "TTP_x", "x-tts-access-token": "TTP_y"}
    assert sign_request(SECRET, "/event/202309/webhooks", polluted, None) == sign_request(
        SECRET, "/event/202309/webhooks", V2_QUERY, None
    )


def test_multipart_body_is_not_signed() -> None:
    unsigned = sign_request(SECRET, "/product/202309/images/upload", V2_QUERY, None)
    signed = sign_request(SECRET, "/product/202309/images/upload", V2_QUERY, b"--boundary...", multipart=True)
    assert signed == unsigned


def test_w1_webhook_signature_matches_the_vector() -> None:
    assert webhook_signature("abcdef", "123", W1_BODY) == W1_SIGNATURE


def test_w1_webhook_verifies() -> None:
    assert verify_webhook("abcdef", "123", W1_BODY, W1_SIGNATURE)


def test_webhook_with_a_changed_body_fails_verification() -> None:
    assert not verify_webhook("abcdef", "123", W1_BODY.replace(b"UNPAID", b"PAID"), W1_SIGNATURE)


def test_webhook_without_authorization_header_fails_verification() -> None:
    assert not verify_webhook("abcdef", "123", W1_BODY, None)
    assert not verify_webhook("abcdef", "123", W1_BODY, "")
