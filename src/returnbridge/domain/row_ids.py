"""Our row ids as they arrive in text (a query parameter, a form field): ASCII digits within the id columns' range.

``str.isdigit`` is not the test: "²" and "①" are digits to it, yet ``int()`` refuses them (a ValueError, a 500),
and a long run of digits becomes an int no INTEGER column holds (OverflowError on SQLite, DataError on
PostgreSQL). An id past the range can name no row.
"""

from __future__ import annotations

MAX_ROW_ID = 2**31 - 1  # PostgreSQL INTEGER


def row_id(text: str | None) -> int | None:
    """The id ``text`` names, or None when it names none (empty, not plain digits, 0, out of range)."""
    if not text:
        return None
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ROW_ID else None
