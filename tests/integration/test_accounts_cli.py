"""`returnbridge accounts connect | list | disconnect`, configured through RETURNBRIDGE_* variables like an operator
would, against the emulator and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from returnbridge.commands.accounts import accounts_app
from returnbridge.config import get_settings
from returnbridge.db.engine import transaction
from returnbridge.db.models import SyncState, TikTokAccount
from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.errors import UserFacingError
from returnbridge.sync.runtime import Runtime

from .conftest import APP_KEY, APP_SECRET, Control


@pytest.fixture
def cli(
    db_url: str, emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    monkeypatch.chdir(tmp_path)  # no stray .env from the working tree
    for name, value in {
        "DATABASE_URL": db_url,
        "VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "integration-test-secret-key",
        "TIKTOK_APP_KEY": APP_KEY,
        "TIKTOK_APP_SECRET": APP_SECRET,
        "TIKTOK_SERVICE_ID": emulator.service_id,
        "TIKTOK_API_BASE": emulator.base_url,
        "TIKTOK_AUTH_BASE": emulator.base_url,
        "TIKTOK_AUTHORIZE_URL": f"{emulator.base_url}/open/authorize",
    }.items():
        monkeypatch.setenv(f"RETURNBRIDGE_{name}", value)
    monkeypatch.setenv("COLUMNS", "250")  # the table is read by the test, not a narrow terminal
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def auth_code(control: Control, shop: dict[str, Any]) -> str:
    return str(control("POST", "/auth/code", {"shop_id": shop["id"]})["code"])


def listed(cli: CliRunner) -> list[dict[str, Any]]:
    result = cli.invoke(accounts_app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_connect_with_an_auth_code_stores_every_authorized_shop_and_says_so(
    cli: CliRunner, control: Control, us_shop: dict[str, Any]
) -> None:
    result = cli.invoke(accounts_app, ["connect", "--auth-code", auth_code(control, us_shop)])
    assert result.exit_code == 0, result.output
    assert f"Connected {us_shop['name']} (shop id {us_shop['id']}, region US)" in result.stdout
    shops = {row["shop_id"]: row for row in listed(cli)}
    assert shops[us_shop["id"]]["status"] == "active"


def test_connect_with_a_used_code_fails_with_the_reason(
    cli: CliRunner, control: Control, us_shop: dict[str, Any]
) -> None:
    code = auth_code(control, us_shop)
    assert cli.invoke(accounts_app, ["connect", "--auth-code", code]).exit_code == 0
    result = cli.invoke(accounts_app, ["connect", "--auth-code", code])
    assert result.exit_code == 1
    assert isinstance(result.exception, UserFacingError)
    assert "already used" in str(result.exception)


def test_connect_without_the_auth_code_option_is_a_usage_error(cli: CliRunner) -> None:
    result = cli.invoke(accounts_app, ["connect"])
    assert result.exit_code == 2
    assert "--auth-code" in result.output


def test_list_shows_status_reason_token_expiry_and_the_latest_poll_and_webhook(
    cli: CliRunner, runtime: Runtime, account_id: int
) -> None:
    polled = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    webhook = datetime(2026, 3, 1, 10, 15, tzinfo=UTC)
    with transaction(runtime.sessions) as session:
        session.add(SyncState(account_id=account_id, stream="returns", last_poll_ok_at=polled,
                              last_webhook_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC)))
        session.add(SyncState(account_id=account_id, stream="cancellations", last_webhook_at=webhook))
        account = session.get(TikTokAccount, account_id)
        assert account is not None
        account.status_reason = "TikTok authorization expires on 2026-03-20 00:00 UTC: reconnect the shop"
        token_expiry = account.access_token_expires_at
    [row] = listed(cli)
    assert row["account_id"] == account_id
    assert row["status"] == "active"
    assert row["status_reason"].startswith("TikTok authorization expires on 2026-03-20")
    assert row["access_token_expires_at"] == token_expiry.isoformat()
    assert (row["last_poll_ok_at"], row["last_webhook_at"]) == (polled.isoformat(), webhook.isoformat())


def test_list_as_a_table_names_each_shop_with_its_region_and_status(
    cli: CliRunner, account_id: int, us_shop: dict[str, Any]
) -> None:
    result = cli.invoke(accounts_app, ["list"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if us_shop["id"] in line)
    assert us_shop["name"] in line
    assert " US " in line and "active" in line and "never" in line


def test_list_with_no_shop_tells_how_to_connect_one(cli: CliRunner) -> None:
    result = cli.invoke(accounts_app, ["list"])
    assert result.exit_code == 0
    assert "accounts connect --auth-code" in result.stdout


def test_disconnect_marks_the_shop_disabled_with_the_reason(
    cli: CliRunner, account_id: int, us_shop: dict[str, Any]
) -> None:
    result = cli.invoke(accounts_app, ["disconnect", str(account_id)])
    assert result.exit_code == 0, result.output
    assert "no longer synced" in result.stdout
    [row] = listed(cli)
    assert (row["status"], row["status_reason"]) == ("disabled", "Disconnected by an administrator")


def test_disconnect_accepts_the_tiktok_shop_id(cli: CliRunner, account_id: int, us_shop: dict[str, Any]) -> None:
    assert cli.invoke(accounts_app, ["disconnect", us_shop["id"]]).exit_code == 0
    assert listed(cli)[0]["status"] == "disabled"


def test_disconnect_of_an_unknown_account_fails_with_the_reason(cli: CliRunner, account_id: int) -> None:
    result = cli.invoke(accounts_app, ["disconnect", "7499999999999999999"])
    assert result.exit_code == 1
    assert "7499999999999999999" in str(result.exception)
    assert listed(cli)[0]["status"] == "active"


def test_connecting_a_disconnected_shop_again_makes_it_active(
    cli: CliRunner, control: Control, account_id: int, us_shop: dict[str, Any]
) -> None:
    cli.invoke(accounts_app, ["disconnect", str(account_id)])
    result = cli.invoke(accounts_app, ["connect", "--auth-code", auth_code(control, us_shop)])
    assert result.exit_code == 0, result.output
    assert f"Reconnected {us_shop['name']}" in result.stdout
    shops = {row["shop_id"]: row for row in listed(cli)}
    assert (shops[us_shop["id"]]["status"], shops[us_shop["id"]]["status_reason"]) == ("active", "")


def test_commands_refuse_a_database_that_was_never_migrated(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETURNBRIDGE_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    get_settings.cache_clear()
    result = cli.invoke(accounts_app, ["list"])
    assert result.exit_code == 1
    assert "returnbridge migrate" in str(result.exception)
