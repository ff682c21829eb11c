"""The emulator's own reading of the request signature (contract §1.4) and the webhook signature (§5.1).

Written independently of the client's signer on purpose: if both were one function, a misreading of the
documentation would sign and verify itself and no test would notice.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

# The token travels in a header from 202309 on; older clients that still put it in the query must not have it
# signed (ECOM strips a stray ``x-tts-access-token`` too).
UNSIGNED_QUERY_KEYS = frozenset({"sign", "access_token", "x-tts-access-token"})


def first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Query pairs to a dict keeping the FIRST value of a repeated key (the official Go/Java samples do)."""
    values: dict[str, str] = {}
    for key, value in pairs:
        if key not in values:
            values[key] = value
    return values


def string_to_sign(secret: str, path: str, query: dict[str, str], body: bytes = b"") -> bytes:
    """``secret + path + k1v1k2v2… + body + secret`` with keys sorted by plain string comparison.

    ``query`` holds the decoded values; ``body`` the raw bytes as received (empty for multipart uploads).
    """
    parts = [secret, path]
    for key in sorted(k for k in query if k not in UNSIGNED_QUERY_KEYS):
        parts.append(key)
        parts.append(query[key])
    head = "".join(parts).encode()
    return head + body + secret.encode()


def request_signature(secret: str, path: str, query: dict[str, str], body: bytes = b"") -> str:
    """Lowercase hex HMAC-SHA256 keyed with the app secret, as sent in the ``sign`` query parameter."""
    return hmac.new(secret.encode(), string_to_sign(secret, path, query, body), hashlib.sha256).hexdigest()


def is_valid_request_signature(
    secret: str, path: str, query: dict[str, str], body: bytes, sign: str
) -> bool:
    # Strict: the contract says lowercase hex, so an uppercase signature is a client bug worth surfacing.
    return hmac.compare_digest(request_signature(secret, path, query, body).encode(), sign.encode())


def webhook_signature(app_key: str, app_secret: str, body: bytes) -> str:
    """``Authorization`` header value of a webhook: HMAC-SHA256(app_secret, app_key + raw body), lowercase hex."""
    return hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()
