"""Money as Shopify shows it: ``Decimal`` inside, decimal strings outside, never float."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# Used in messages such as "Refund amount $999.00 is greater than net payment received $35.00".
_SYMBOLS = {"USD": "$", "CAD": "$", "AUD": "$", "NZD": "$", "SGD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def to_decimal(value: object) -> Decimal:
    """A Decimal from a string or an int (a float would already have lost precision, so it goes through ``str``)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError("not a number")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def render_amount(value: Decimal) -> str:
    """Shopify's ``Decimal``/``Money`` output: no trailing zeros but at least one decimal ("15.0", "19.99")."""
    text = format(value.normalize(), "f")
    if "." not in text:
        text += ".0"
    return text


def display(value: Decimal, currency: str) -> str:
    symbol = _SYMBOLS.get(currency)
    amount = f"{cents(value):,.2f}"
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"


def money_v2(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": render_amount(amount), "currencyCode": currency}


def money_bag(amount: Decimal, currency: str, presentment_currency: str | None = None) -> dict[str, dict[str, str]]:
    """A ``MoneyBag``; the emulator's orders are in the shop currency, so both sides carry the same amount."""
    return {
        "shopMoney": money_v2(amount, currency),
        "presentmentMoney": money_v2(amount, presentment_currency or currency),
    }
