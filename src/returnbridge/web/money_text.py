"""Money as the merchant reads it: the currency's usual decimals ("35.00 USD", "1500 JPY"), never fewer digits
than the amount has (a 0.125 stays 0.125: display must not round money away)."""

from __future__ import annotations

from decimal import Decimal

from returnbridge.sync.decisions import ZERO_DECIMAL_CURRENCIES


def money_text(amount: Decimal | None, currency: str = "") -> str:
    if amount is None:
        return "—"
    quantum = Decimal(1) if currency in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")
    shown = amount.quantize(quantum) if amount == amount.quantize(quantum) else amount
    return f"{shown:f}"
