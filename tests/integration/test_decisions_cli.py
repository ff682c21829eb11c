"""`returnbridge decide ...` against a real database and the TikTok emulator (the Typer app, driven directly)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from returnbridge.commands.decide import decide_app
from returnbridge.config import get_settings
from returnbridge.sync.decisions import ActionNotAllowed, InvalidDecisionParams, InvalidRejectReason
from returnbridge.sync.runtime import Runtime

from .conftest import Control
from .test_decisions import UPLOAD_IMAGE, codes, decision_events, decisions_of, new_case, png, seller_records


@pytest.fixture
def cli(runtime: Runtime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    """The CLI configured (through the environment, as an operator would) for the test's database and emulator."""
    s = runtime.settings
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in {
        "DATABASE_URL": s.database_url, "SECRET_KEY": s.secret_key, "VAR_DIR": str(s.var_dir),
        "TIKTOK_APP_KEY": s.tiktok_app_key, "TIKTOK_APP_SECRET": s.tiktok_app_secret,
        "TIKTOK_API_BASE": s.tiktok_api_base, "TIKTOK_AUTH_BASE": s.tiktok_auth_base,
    }.items():
        monkeypatch.setenv(f"RETURNBRIDGE_{name}", value or "")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.fixture
def shop_id(us_shop: dict[str, Any]) -> str:
    return us_shop["id"]


def _run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(decide_app, list(args))


def test_approve_by_tiktok_id_prints_done_and_exits_zero(
    cli: CliRunner, runtime: Runtime, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(runtime, control, account_id, shop_id, "REFUND")
    result = _run(cli, "approve", rid, "--as", "carol")
    assert result.exit_code == 0, result.output
    assert f"case {case_id} (TikTok {rid}) approve_request: done - TikTok accepted" in result.output
    assert control.request(rid)["return_status"] == "RETURN_OR_REFUND_REQUEST_SUCCESS"
    (event,) = decision_events(runtime, case_id)
    assert (event.actor, event.actor_name) == ("merchant", "carol")


def test_reasons_lists_what_tiktok_accepts_for_the_case(
    cli: CliRunner, runtime: Runtime, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(runtime, control, account_id, shop_id, "REFUND")
    result = _run(cli, "reasons", str(case_id))
    assert result.exit_code == 0, result.output
    for reason in runtime.shop_client(account_id).get_reject_reasons(rid):
        assert f"{reason.name} - {reason.text}" in result.output


def test_reject_with_a_photo_from_a_file(
    cli: CliRunner, runtime: Runtime, control: Control, account_id: int, shop_id: str, tmp_path: Path
) -> None:
    case_id, rid = new_case(runtime, control, account_id, shop_id, "REFUND")
    reason = runtime.shop_client(account_id).get_reject_reasons(rid)[0].name
    photo = tmp_path / "parcel.png"
    photo.write_bytes(png())
    uploads = codes(control, UPLOAD_IMAGE)
    result = _run(cli, "reject", str(case_id), "--reason", reason, "--comment", "Unused, tags on", "--image",
                  str(photo))
    assert result.exit_code == 0, result.output
    assert control.request(rid)["return_status"] == "REFUND_OR_RETURN_REQUEST_REJECT"
    assert codes(control, UPLOAD_IMAGE) - uploads == {"0": 1}
    (record,) = seller_records(runtime, account_id, rid)
    assert (record.note, len(record.images)) == ("Unused, tags on", 1)


def test_a_wrong_reason_is_a_user_facing_error_and_nothing_is_recorded(
    cli: CliRunner, runtime: Runtime, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(runtime, control, account_id, shop_id, "CANCELLATION")
    result = _run(cli, "reject-cancellation", str(case_id), "--reason", "too_late")
    assert result.exit_code != 0
    assert isinstance(result.exception, InvalidRejectReason)
    assert "'too_late' is not a reject reason TikTok accepts" in str(result.exception)
    assert decisions_of(runtime, case_id) == []


def test_a_partial_refund_amount_that_is_not_a_number_is_a_user_facing_error(
    cli: CliRunner, runtime: Runtime, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(runtime, control, account_id, shop_id, "REFUND")
    result = _run(cli, "partial-refund", str(case_id), "--amount", "twelve")
    assert isinstance(result.exception, InvalidDecisionParams)
    assert "decimal number like 12.34" in str(result.exception)
    assert decisions_of(runtime, case_id) == []


def test_a_partial_refund_is_offered(
    cli: CliRunner, runtime: Runtime, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, rid = new_case(runtime, control, account_id, shop_id, "REFUND")
    result = _run(cli, "partial-refund", str(case_id), "--amount", "2.50")
    assert result.exit_code == 0, result.output
    assert control.request(rid)["partial_refund"]["amount"] == "2.50"


def test_one_case_that_does_not_fit_is_the_command_error(
    cli: CliRunner, runtime: Runtime, control: Control, account_id: int, shop_id: str
) -> None:
    case_id, _ = new_case(runtime, control, account_id, shop_id, "RETURN_AND_REFUND")
    result = _run(cli, "approve-package", str(case_id))
    assert isinstance(result.exception, ActionNotAllowed)
    assert "needs BUYER_SHIPPED_ITEM" in str(result.exception)


def test_bulk_prints_each_case_and_exits_one_when_any_is_not_done(
    cli: CliRunner, runtime: Runtime, control: Control, account_id: int, shop_id: str
) -> None:
    good, good_id = new_case(runtime, control, account_id, shop_id, "CANCELLATION")
    wrong, _ = new_case(runtime, control, account_id, shop_id, "REFUND")
    result = _run(cli, "approve-cancellation", str(good), str(wrong))
    assert result.exit_code == 1, result.output
    assert f"case {good} (TikTok {good_id}) approve_cancellation: done" in result.output
    assert f"case {wrong} approve_cancellation: refused - case {wrong} is a return" in result.output
    assert "2 cases: 1 done, 1 refused" in result.output
    assert control.request(good_id)["cancel_status"] == "CANCELLATION_REQUEST_SUCCESS"


def test_an_unknown_case_reference_is_a_user_facing_error(cli: CliRunner, account_id: int) -> None:
    result = _run(cli, "approve", "4035999999999999999")
    assert "no case 4035999999999999999" in str(result.exception)
    assert result.exit_code != 0


def test_an_unreadable_image_path_is_a_user_facing_error(
    cli: CliRunner, runtime: Runtime, control: Control, account_id: int, shop_id: str, tmp_path: Path
) -> None:
    case_id, rid = new_case(runtime, control, account_id, shop_id, "REFUND")
    reason = runtime.shop_client(account_id).get_reject_reasons(rid)[0].name
    result = _run(cli, "reject", str(case_id), "--reason", reason, "--image", str(tmp_path / "missing.jpg"))
    assert "cannot read" in str(result.exception) and "missing.jpg" in str(result.exception)
    assert decisions_of(runtime, case_id) == []


def test_retry_with_nothing_waiting_says_so(cli: CliRunner, account_id: int) -> None:
    result = _run(cli, "retry", "--older-than", "0")
    assert result.exit_code == 0, result.output
    assert "No decision is waiting to be sent again." in result.output
