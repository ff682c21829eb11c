"""How many decimals each currency's amounts have (ISO 4217 minor units), in one place for display, typed input,
partial refunds, rules and store checks alike.

Most currencies have two; these have none or three. IDR is listed with none because TikTok Shop prices rupiah in
whole units (ISO gives it two).
"""

from __future__ import annotations

ZERO_DECIMAL = frozenset({
    "BIF", "CLP", "DJF", "GNF", "IDR", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV",
    "XAF", "XOF", "XPF",
})
THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})


def minor_units(currency: str) -> int:
    """Decimals of the currency's amounts: 0 (JPY), 3 (KWD) or 2 (everything else)."""
    code = currency.strip().upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2
