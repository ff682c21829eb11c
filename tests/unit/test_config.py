from __future__ import annotations

import stat
from pathlib import Path

import pytest

from returnbridge.config import DEFAULT_TIKTOK_API_BASE, Settings, load_or_create_secret_key


def test_defaults_point_at_sqlite_under_var_and_the_real_tiktok_hosts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'var' / 'returnbridge.sqlite3'}"
    assert settings.tiktok_api_base == DEFAULT_TIKTOK_API_BASE
    assert settings.redis_url is None


def test_environment_variables_use_the_returnbridge_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETURNBRIDGE_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("RETURNBRIDGE_TIKTOK_API_BASE", "http://127.0.0.1:9000/")
    monkeypatch.setenv("RETURNBRIDGE_REDIS_URL", "")
    settings = Settings(_env_file=None)
    assert settings.effective_database_url == "postgresql://u@h/db"
    assert settings.tiktok_api_base == "http://127.0.0.1:9000"
    assert settings.redis_url is None


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("RETURNBRIDGE_TIKTOK_APP_KEY=from-dotenv\n")
    assert Settings(_env_file=env_file).tiktok_app_key == "from-dotenv"


def test_secret_key_is_generated_once_with_owner_only_permissions(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret_key"
    first = load_or_create_secret_key(path)
    assert len(first) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret_key(path) == first


def test_configured_secret_key_wins_over_the_generated_file(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, var_dir=tmp_path, secret_key="configured")
    assert settings.resolved_secret_key() == "configured"
    assert not (tmp_path / "secret_key").exists()
