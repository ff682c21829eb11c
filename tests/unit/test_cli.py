from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from returnbridge.cli import main
from returnbridge.config import get_settings
from returnbridge.db.engine import make_engine


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RETURNBRIDGE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_migrate_creates_the_schema_in_the_default_sqlite_file(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["migrate"]) == 0
    database = tmp_path / "var" / "returnbridge.sqlite3"
    assert database.exists()
    engine = make_engine(f"sqlite:///{database}")
    assert "tiktok_accounts" in inspect(engine).get_table_names()
    engine.dispose()
    assert "up to date" in capsys.readouterr().out


def test_migrate_twice_is_harmless(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0


def test_unreachable_database_is_a_one_line_error_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RETURNBRIDGE_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert main(["migrate"]) == 1
    captured = capsys.readouterr()
    assert "cannot reach the database" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_unknown_option_is_a_usage_error_with_exit_code_2(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["migrate", "--bogus"]) == 2
    captured = capsys.readouterr()
    assert "No such option" in captured.err
    assert "Traceback" not in captured.err


def test_emulator_command_offers_every_documented_option(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["emulator", "tiktok", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--port", "--app-key", "--app-secret", "--seed-returns", "--seed", "--webhook-url", "--rps",
                   "--latency-ms", "--fault-rate", "--time-scale", "--service-id", "--redirect-url"):
        assert option in text
