"""Money on the case page: the currency's decimals, never a float, never a digit rounded away."""

from __future__ import annotations

from decimal import Decimal

import pytest

from returnbridge.web.money import MoneyInputError, amount_cell, amount_text, money_text, parse_money_input


@pytest.mark.parametrize(("amount", "currency", "shown"), [
    ("12.3", "USD", "12.30 USD"), ("1200", "JPY", "1,200 JPY"), ("0", "GBP", "0.00 GBP"),
    ("-7.2", "USD", "-7.20 USD"), ("1234567.5", "USD", "1,234,567.50 USD"), ("15000", "IDR", "15,000 IDR"),
    ("0.125", "USD", "0.125 USD"),  # TikTok sent three decimals: shown as sent, not rounded
])
def test_amounts_show_with_the_currencys_decimals(amount: str, currency: str, shown: str) -> None:
    assert money_text(Decimal(amount), currency) == shown


def test_a_missing_amount_is_a_dash_not_a_zero() -> None:
    assert money_text(None, "USD") == "—"


def test_a_table_cell_shows_the_number_in_the_currencys_decimals_or_a_dash() -> None:
    assert (amount_cell(Decimal("3.1"), "USD"), amount_cell(Decimal("1200"), "JPY"), amount_cell(None, "USD")) == (
        "3.10", "1200", "—")


def test_the_api_form_has_no_grouping() -> None:
    assert (amount_text(Decimal("1200"), "JPY"), amount_text(Decimal("3.1"), "USD")) == ("1200", "3.10")


@pytest.mark.parametrize(("typed", "currency", "amount"), [
    ("12.5", "USD", Decimal("12.5")), (" 1,200 ", "JPY", Decimal("1200")), ("3", "GBP", Decimal("3")),
])
def test_typed_amounts_are_parsed_exactly(typed: str, currency: str, amount: Decimal) -> None:
    assert parse_money_input(typed, currency) == amount


@pytest.mark.parametrize(("typed", "currency", "message"), [
    ("12.5", "JPY", "JPY has no decimals"), ("1.234", "USD", "USD has 2 decimals"), ("", "USD", "enter an amount"),
    ("abc", "USD", "is not an amount"), ("NaN", "USD", "is not an amount"), ("Infinity", "USD", "is not an amount"),
])
def test_wrong_amounts_are_refused_with_a_reason(typed: str, currency: str, message: str) -> None:
    with pytest.raises(MoneyInputError, match=message):
        parse_money_input(typed, currency)
