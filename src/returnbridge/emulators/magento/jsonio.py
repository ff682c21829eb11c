"""JSON with exact money: Magento answers amounts as JSON numbers; ``Decimal`` goes out as a number without ever
being a float, and numbers come in as ``Decimal``."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

_MARK = re.compile(r'"\\u0000dec:([-0-9.]+)"')


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return "\u0000dec:" + format(value, "f")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> bytes:
    text = json.dumps(value, default=_default, separators=(",", ":"))
    return _MARK.sub(r"\1", text).encode()


def loads(raw: bytes) -> Any:
    return json.loads(raw, parse_float=Decimal) if raw.strip() else None
