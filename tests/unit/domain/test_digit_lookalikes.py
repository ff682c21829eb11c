"""Text that ``str.isdigit`` calls digits but ``int()`` refuses ("²", "①"), and digit runs past our id columns: found
by fuzzing the API (a 500 from the grid's ``limit`` and ``account``, and from analytics' ``account``); the same
test guarded TikTok's statuses, order times and the forms. Each place now reads them as "not a number"."""

from __future__ import annotations

import pytest

from returnbridge.domain.case_view import CaseView, ViewParameterError
from returnbridge.domain.row_ids import MAX_ROW_ID, row_id
from returnbridge.domain.statuses import CaseKind, StoreStatus, classify
from returnbridge.sync.mirror_plan import modern_status
from returnbridge.sync.orders_sold import _moment
from returnbridge.web.rules import _whole

LOOKALIKES = ("²", "①", "١٢٣٤٥٦٧٨٩٠١")


@pytest.mark.parametrize("text", [*LOOKALIKES, "", " ", "0", "-3", "1.5", str(MAX_ROW_ID + 1), "9" * 40])
def test_text_that_names_no_row_gives_no_row_id(text: str) -> None:
    assert row_id(text) is None


def test_a_row_id_is_plain_digits_within_the_integer_column() -> None:
    assert (row_id("42"), row_id(" 7 "), row_id(str(MAX_ROW_ID))) == (42, 7, MAX_ROW_ID)


@pytest.mark.parametrize("raw", ["²", "①"])
def test_a_tiktok_status_of_digit_lookalikes_is_an_unknown_status_not_a_crash(raw: str) -> None:
    info = classify(CaseKind.RETURN, raw)
    assert (info.known, info.store_status, info.raw) == (False, StoreStatus.PENDING, raw)
    assert modern_status("return", raw) == raw


@pytest.mark.parametrize("limit", ["²", "①", "9" * 40])
def test_a_grid_limit_of_digit_lookalikes_is_a_parameter_error(limit: str) -> None:
    with pytest.raises(ViewParameterError) as refused:
        CaseView.from_query({"limit": limit})
    assert refused.value.parameter == "limit"


@pytest.mark.parametrize("account", ["²", str(MAX_ROW_ID + 1), "9" * 40])
def test_a_grid_account_that_names_no_row_is_a_parameter_error(account: str) -> None:
    with pytest.raises(ViewParameterError) as refused:
        CaseView.from_query({"account": account})
    assert refused.value.parameter == "account"


@pytest.mark.parametrize("value", ["²", "9" * 40, 10**20, True])
def test_an_order_time_that_is_no_time_reads_as_none(value: object) -> None:
    assert _moment(value) is None


def test_a_rule_form_number_of_digit_lookalikes_stays_text_for_the_validation_to_name() -> None:
    assert (_whole("²"), _whole("12"), _whole("-4", signed=True), _whole("-4")) == ("²", 12, -4, "-4")
