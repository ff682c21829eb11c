"""Money as merchants read and type it: ``Decimal`` amounts with their currency, never floats. Every page shows
amounts through here, so the grid, the case page and the tables agree ("1,200.50 USD"; a dash for no amount).

Decimals per currency come from ``domain.currencies``, the list the decision service checks partial refunds against,
so what is shown and what may be typed agree.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from returnbridge.domain.currencies import minor_units
from returnbridge.errors import UserFacingError


class MoneyInputError(UserFacingError):
    """An amount a merchant typed that is not a usable amount of the currency."""


def decimal_places(currency: str) -> int:
    return minor_units(currency)


def amount_text(amount: Decimal, currency: str) -> str:
    """The amount with the currency's usual decimals ("12.30", "1200"); never rounds away a digit TikTok sent."""
    quantum = Decimal(1).scaleb(-decimal_places(currency))
    exact = amount.quantize(quantum) if amount == amount.quantize(quantum) else amount
    return format(exact, "f")


def money_text(amount: Decimal | None, currency: str) -> str:
    """For pages: "12.30 USD", "1,200 JPY"; an amount TikTok did not send is a dash, not a zero."""
    if amount is None:
        return "—"
    plain = amount_text(amount, currency)
    whole, _, fraction = plain.lstrip("-").partition(".")
    grouped = f"{int(whole):,}" + (f".{fraction}" if fraction else "")
    sign = "-" if plain.startswith("-") else ""
    return f"{sign}{grouped} {currency}".strip()


def amount_cell(amount: Decimal | None, currency: str = "") -> str:
    """The number alone, in the currency's usual precision, for tables whose column already names the currency;
    "—" when there is no amount."""
    if amount is None:
        return "—"
    return amount_text(amount, currency)


def parse_money_input(text: str, currency: str) -> Decimal:
    """An amount typed into a form ("12.5", "1,200", " 3.10 ") in ``currency``; clear errors for anything else.

    Thousands separators are accepted (people paste them); more decimals than the currency has are refused rather
    than rounded, because the merchant must send exactly what they meant.
    """
    cleaned = text.strip().replace(",", "").replace(" ", "")
    if not cleaned:
        raise MoneyInputError("enter an amount, like 12.34")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise MoneyInputError(f"{text.strip()!r} is not an amount: write it like 12.34") from None
    if not amount.is_finite():
        raise MoneyInputError(f"{text.strip()!r} is not an amount: write it like 12.34")
    places = decimal_places(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        if places == 0:
            raise MoneyInputError(f"{currency} has no decimals: enter a whole amount")
        raise MoneyInputError(f"{currency} has {places} decimals: {text.strip()} has more")
    return amount
