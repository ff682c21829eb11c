"""Numeric string ids that look like TikTok's and can be decoded back to (shop slot, row).

Every id is ``prefix + 2-digit shop slot + 13-digit value`` (19 digits; orders use a 14-digit value for 18 digits
in total, like TikTok order ids). The value grows strictly with the row index, so sorting rows by index is the
same as sorting them by id: searches break time ties by row index and are thereby ordered by id as the contract
asks. A per-seed offset and a small per-row jitter keep ids of different seeds apart and irregular-looking.
"""

from __future__ import annotations

import hashlib

# Row values are spaced by STEP so that a jitter below STEP never breaks the ordering.
STEP = 7919
MAX_ROWS = 200_000_000


class IdKind:
    RETURN = "4035"
    CANCELLATION = "4036"
    COMBINED = "4037"
    RETURN_LINE = "4038"
    CANCEL_LINE = "4039"
    ORDER = "57"
    ORDER_LINE = "5770"
    PACKAGE = "1153"
    BUYER = "7494"
    PRODUCT = "1729"
    SKU = "1730"
    SHOP = "7495"
    WAREHOUSE = "7068"


def _digits(kind: str) -> int:
    return 18 - len(kind) - 2 + (1 if kind != IdKind.ORDER else 0)


class IdCodec:
    """Encodes and decodes every id of one world (the offsets depend on the world's seed)."""

    def __init__(self, seed: int) -> None:
        self._offsets: dict[str, int] = {}
        self._widths: dict[str, int] = {}
        for kind in vars(IdKind).values():
            if not isinstance(kind, str) or kind.startswith("_"):
                continue
            digest = hashlib.blake2b(f"{seed}:{kind}".encode(), digest_size=8).digest()
            width = _digits(kind)
            self._widths[kind] = width
            # Leave room for MAX_ROWS rows above the offset while keeping the full width (no leading zeros).
            low = 10 ** (width - 1)
            span = 10**width - low - STEP * MAX_ROWS
            self._offsets[kind] = low + int.from_bytes(digest, "big") % span

    def value(self, kind: str, row: int) -> int:
        jitter = (row * 2_654_435_761 + 97) % STEP
        return self._offsets[kind] + row * STEP + jitter

    def make(self, kind: str, slot: int, row: int) -> str:
        value = self._offsets[kind] + row * STEP + (row * 2_654_435_761 + 97) % STEP
        return f"{kind}{slot:02d}{value:0{self._widths[kind]}d}"

    def decode(self, kind: str, text: object) -> tuple[int, int] | None:
        """(slot, row) for an id of this kind made by this codec, else None."""
        if not isinstance(text, str) or not text.startswith(kind) or not text.isdigit():
            return None
        width = _digits(kind)
        if len(text) != len(kind) + 2 + width:
            return None
        slot = int(text[len(kind) : len(kind) + 2])
        value = int(text[len(kind) + 2 :])
        row, _ = divmod(value - self._offsets[kind], STEP)
        if row < 0 or self.make(kind, slot, row) != text:
            return None
        return slot, row
