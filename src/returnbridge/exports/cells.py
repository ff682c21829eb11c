"""Cell values of an export and the defence against formula injection.

A buyer controls the reason text, product names and more; a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return, which some spreadsheet programs skip before reading a formula) would run as a formula when the
finance team opens the file (OWASP "CSV injection"). Such text cells get a leading ``'``, which shows the text as it
is. Numbers are typed values, not text, and are left alone (a negative amount stays a number).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

Cell = str | Decimal | int | datetime | None

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def formula_starts() -> tuple[str, ...]:
    """The first characters ``neutralise`` guards against (for the same test written in SQL by large exports)."""
    return _FORMULA_STARTS


def decimal_text(amount: Decimal | int) -> str:
    """A plain decimal ("1250.5", never "1.2505E+3" and never a float's 1250.4999…)."""
    return format(amount, "f") if isinstance(amount, Decimal) else str(amount)


def utc_text(moment: datetime) -> str:
    """UTC as "YYYY-MM-DD HH:MM:SS", the form spreadsheet programs read as a date and time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
