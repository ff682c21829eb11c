"""Amounts as the merchant reads them: the decimal string in the currency's own precision, then the currency code.

Never through float. Precision comes from ISO 4217 minor units (yen and won have none, dinars three); an amount with
more digits than its currency uses keeps them all, since hiding digits would misstate what TikTok sent.
"""

from __future__ import annotations

from decimal import Decimal

from returnbridge.domain.currencies import minor_units


def amount_text(amount: Decimal) -> str:
    """Just the number, without the currency; callers that know the currency use ``money_text``."""
    return format(amount, "f")


def money_text(amount: Decimal | None, currency: str) -> str:
    """``"12.50 USD"``, ``"1500 JPY"``; empty when TikTok sent no amount."""
    if amount is None:
        return ""
    places = Decimal(1).scaleb(-minor_units(currency))
    shown = amount.quantize(places) if amount == amount.quantize(places) else amount.normalize()
    text = format(shown, "f")
    return f"{text} {currency}".strip()


def amount_cell(amount: Decimal | None, currency: str = "") -> str:
    """The number alone, in the currency's usual precision, for tables whose column already names the currency;
    "—" when there is no amount."""
    if amount is None:
        return "—"
    places = Decimal(1).scaleb(-minor_units(currency))
    shown = amount.quantize(places) if amount == amount.quantize(places) else amount
    return f"{shown:f}"
