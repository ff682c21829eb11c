"""One table of currency decimals for the whole product."""

from __future__ import annotations

import pytest

from returnbridge.domain.currencies import minor_units


@pytest.mark.parametrize(("currency", "places"), [("USD", 2), ("GBP", 2), ("JPY", 0), ("KRW", 0), ("IDR", 0),
                                                  ("VND", 0), ("KWD", 3), ("BHD", 3)])
def test_minor_units_follow_iso_4217_with_whole_rupiah(currency: str, places: int) -> None:
    assert minor_units(currency) == places


def test_minor_units_read_a_lower_case_or_padded_code() -> None:
    assert minor_units(" jpy ") == 0
