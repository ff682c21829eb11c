"""Exact money columns that sort and sum in SQL on both SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Millionths of the currency unit: exact for every currency TikTok uses (0 to 3 decimals) with room to spare, and an
# integer, so SQLite (which would store NUMERIC as a float) keeps every cent and range filters/sums stay in SQL.
SCALE = Decimal(1_000_000)


class MicroAmount(TypeDecorator[Decimal]):
    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be Decimal, got {type(value).__name__}")
        micros = value * SCALE
        if micros != micros.to_integral_value():
            raise ValueError(f"amount {value} has more than 6 decimals")
        return int(micros)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        amount = Decimal(value).scaleb(-6)
        # Integral amounts without an exponent ("100", not "1E+2"); others without trailing zeros.
        return amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount.normalize()


def micros_text(micros: int) -> str:
    """A stored amount (millionths) as the text ``format(MicroAmount result, "f")`` gives ("12.5", "100", "-0.25"),
    from the integer: an export formats a million of them without building a Decimal each."""
    whole, fraction = divmod(abs(micros), 1_000_000)
    sign = "-" if micros < 0 else ""
    if not fraction:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:06d}".rstrip("0")
