"""The ``@idempotent(key:)`` directive (store-apis.md A.6).

Same key and same arguments: the original payload is returned and nothing runs again. Same key and different
arguments: ``IDEMPOTENCY_KEY_PARAMETER_MISMATCH``. Keys live per store (Shopify scopes them per app and shop) until
the emulator is reset; Shopify's retention period is not documented.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

MISMATCH = "The same idempotency key cannot be used with different operation parameters."
REQUIRED = "The @idempotent directive is required for this mutation but was not provided."
BLANK = "The idempotency key must not be blank."
UNSUPPORTED = "The @idempotent directive is not supported for this mutation."


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value.normalize())
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def fingerprint(mutation: str, args: dict[str, Any]) -> str:
    """Arguments after coercion and defaults, so "15", "15.00" and 15 are the same amount."""
    payload = orjson.dumps({"mutation": mutation, "args": _plain(args)}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(payload).hexdigest()
