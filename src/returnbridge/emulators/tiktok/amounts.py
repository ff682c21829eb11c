"""Money as integer minor units inside the emulator and decimal strings on the wire.

Working in minor units keeps every documented sum (sub_total, refund_total, return = sum of its lines) exact;
strings are produced only at the edge, in the currency's precision (IDR and VND have no decimals).
"""

from __future__ import annotations

import re

EXPONENTS: dict[str, int] = {"USD": 2, "GBP": 2, "EUR": 2, "MYR": 2, "SGD": 2, "PHP": 2, "THB": 2, "IDR": 0, "VND": 0}

_DECIMAL = re.compile(r"^(\d+)(?:\.(\d+))?$")


def exponent(currency: str) -> int:
    return EXPONENTS.get(currency, 2)


def fmt(minor: int, currency: str) -> str:
    """Minor units → decimal string in the currency's precision (``1250`` USD → ``"12.50"``)."""
    places = EXPONENTS.get(currency, 2)
    if places == 0:
        return str(minor)
    if places == 2 and minor >= 0:  # the hot path: rendering thousands of amounts per page of fresh records
        return f"{minor // 100}.{minor % 100:02d}"
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**places)
    return f"{sign}{whole}.{frac:0{places}d}"


def parse(text: object, currency: str) -> int | None:
    """Decimal string → minor units; None when it is not a non-negative amount in this currency's precision.

    More decimals than the currency has are refused rather than rounded: a client that sends ``"10.005"`` USD
    or ``"1000.50"`` IDR has a bug the emulator should surface.
    """
    if not isinstance(text, str):
        return None
    match = _DECIMAL.match(text.strip())
    if match is None:
        return None
    whole, frac = match.group(1), match.group(2) or ""
    places = exponent(currency)
    if len(frac.rstrip("0")) > places:
        return None
    frac = (frac + "0" * places)[:places]
    return int(whole) * 10**places + (int(frac) if frac else 0)


def split_even(total: int, parts: int) -> list[int]:
    """Split ``total`` into ``parts`` near-equal shares that add up exactly (the remainder goes to the first)."""
    if parts <= 0:
        return []
    share, rest = divmod(total, parts)
    return [share + (rest if i == 0 else 0) for i in range(parts)]


def split_by_weight(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` proportionally to ``weights``; shares add up exactly (rounding lands on the largest)."""
    if not weights:
        return []
    whole = sum(weights)
    if whole <= 0:
        return split_even(total, len(weights))
    shares = [total * w // whole for w in weights]
    shares[weights.index(max(weights))] += total - sum(shares)
    return shares


def percent(minor: int, basis_points: int) -> int:
    """``minor`` × basis_points / 10 000, rounded half up (tax and discount maths)."""
    return (minor * basis_points + 5_000) // 10_000
