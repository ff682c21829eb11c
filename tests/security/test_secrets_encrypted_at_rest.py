"""OAuth tokens and store credentials are stored encrypted, passwords and session tokens only as hashes: after a full
run, every cell of every table (read with plain SQL, not through the models) and, on SQLite, the database file's
bytes are searched for each secret the run handled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, text

from returnbridge.db.engine import make_engine, transaction
from returnbridge.db.migrate import upgrade
from returnbridge.db.models import Base, Store, TikTokAccount
from returnbridge.db.secretbox import SecretBox, SecretDecryptionError
from returnbridge.emulators.shopify.server import EmulatorServer as ShopifyEmulator
from returnbridge.emulators.tiktok.server import EmulatorServer as TikTokEmulator
from returnbridge.sync.runtime import Runtime

from .full_run import Run, full_run, settings


def run_on(db_url: str, var_dir: Path, servers: tuple[TikTokEmulator, ShopifyEmulator]) -> Run:
    runtime = Runtime.from_settings(settings(db_url, servers[0], var_dir))
    try:
        return full_run(runtime, *servers)
    finally:
        runtime.close()


@pytest.fixture
def run(db_url: str, tmp_path: Path, servers: tuple[TikTokEmulator, ShopifyEmulator]) -> Run:
    return run_on(db_url, tmp_path / "var", servers)


def every_cell(db_url: str) -> list[tuple[str, str]]:
    """(table.column, the cell as text) for every non-empty cell of every table."""
    engine = make_engine(db_url)
    cells = []
    try:
        with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                result = connection.execute(text(f'SELECT * FROM "{table.name}"'))
                for row in result.mappings():
                    for column, value in row.items():
                        if value is not None:
                            shown = value if isinstance(value, str) else json.dumps(value, default=str)
                            cells.append((f"{table.name}.{column}", shown))
    finally:
        engine.dispose()
    return cells


def test_no_secret_is_in_any_database_cell_after_a_full_run(run: Run, db_url: str) -> None:
    cells = every_cell(db_url)
    assert len(cells) > 200, "the run stored too little to prove anything"
    found = {name: [where for where, cell in cells if value in cell] for name, value in run.secrets.items()}
    assert {name: where for name, where in found.items() if where} == {}


def test_the_sqlite_file_holds_no_secret_in_its_bytes(
    tmp_path: Path, servers: tuple[TikTokEmulator, ShopifyEmulator],
) -> None:
    # SQLite only: its whole database is one file (plus journal) whose bytes can be read as they lie on disk.
    path = tmp_path / "returnbridge.sqlite3"
    upgrade(f"sqlite:///{path}")
    run = run_on(f"sqlite:///{path}", tmp_path / "var", servers)
    files = [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-journal")]
    raw = b"".join(path.read_bytes() for path in files if path.exists())
    assert len(raw) > 10_000
    assert [name for name, value in run.secrets.items() if value.encode() in raw] == []


def test_stored_tokens_and_credentials_open_only_with_the_secret_key(run: Run) -> None:
    with transaction(run.runtime.sessions) as session:
        account = session.scalars(select(TikTokAccount)).one()
        store = session.scalars(select(Store)).one()
        sealed = [account.access_token_encrypted, account.refresh_token_encrypted, store.credentials_encrypted]
    opened = [run.runtime.box.decrypt(value) for value in sealed]
    tokens = {name.split(" #")[0]: value for name, value in run.secrets.items()}
    assert opened[0] == tokens["refreshed access token"] and opened[1] == tokens["refreshed refresh token"]
    assert tokens["store token"] in opened[2]
    for value in sealed:
        with pytest.raises(SecretDecryptionError):
            SecretBox("another-secret-key").decrypt(value)
