"""Request signing for the business API and webhook signature verification (contract §1.4, §5.1)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

# Never part of the string-to-sign: `sign` is the result itself, and the token travels in a header from 202309
# on; a stray token in the query is dropped as the reference SDKs do.
_UNSIGNED_QUERY_KEYS = frozenset({"sign", "access_token", "x-tts-access-token"})


def string_to_sign(path: str, query: Mapping[str, str], body: bytes | None, multipart: bool = False) -> bytes:
    """The unwrapped input of the HMAC: path, then sorted ``key+value`` pairs, then the raw body bytes.

    Keys sort by code point (ASCII), values are the unencoded ones. The body is appended exactly as sent on
    the wire, except for multipart uploads, whose body is never signed.
    """
    parts = [path.encode()]
    for key in sorted(k for k in query if k not in _UNSIGNED_QUERY_KEYS):
        parts.append(key.encode())
        parts.append(str(query[key]).encode())
    if body and not multipart:
        parts.append(body)
    return b"".join(parts)


def sign_request(
    app_secret: str,
    path: str,
    query: Mapping[str, str],
    body: bytes | None,
    multipart: bool = False,
) -> str:
    """The ``sign`` query parameter: lowercase hex HMAC-SHA256(secret, secret + string_to_sign + secret)."""
    secret = app_secret.encode()
    message = secret + string_to_sign(path, query, body, multipart) + secret
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def webhook_signature(app_key: str, app_secret: str, body: bytes) -> str:
    """The ``Authorization`` header TikTok puts on a webhook: HMAC-SHA256(secret, app_key + raw body), hex."""
    return hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


def verify_webhook(app_key: str, app_secret: str, body: bytes, authorization: str | None) -> bool:
    """True when ``authorization`` is the signature of exactly these body bytes; compared in constant time."""
    if not authorization:
        return False
    expected = webhook_signature(app_key, app_secret, body)
    # Hex is case-insensitive and some proxies normalise header values; the comparison stays constant-time.
    return hmac.compare_digest(expected.encode(), authorization.strip().lower().encode("utf-8", "replace"))
