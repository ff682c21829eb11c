"""`returnbridge stores ...` configured through RETURNBRIDGE_* variables, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from returnbridge.commands.stores import stores_app
from returnbridge.config import get_settings
from returnbridge.db.engine import transaction
from returnbridge.db.migrate import upgrade
from returnbridge.db.models import Store, StoreEffect
from returnbridge.sync.runtime import Runtime

TOKEN = "shpat_very_secret_token"


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RETURNBRIDGE_DATABASE_URL", db_url)
    monkeypatch.setenv("RETURNBRIDGE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("RETURNBRIDGE_SECRET_KEY", "cli-test-secret-key")
    monkeypatch.setenv("COLUMNS", "250")
    upgrade(db_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def invoke(cli: CliRunner, *args: str, input: str | None = None, code: int = 0) -> Any:
    result = cli.invoke(stores_app, list(args), input=input)
    assert result.exit_code == code, result.output
    return result


def test_add_shopify_reads_the_token_from_stdin_and_never_prints_or_stores_it_in_clear(cli: CliRunner) -> None:
    result = invoke(cli, "add-shopify", "--domain", "acme.myshopify.com", "--token-stdin", "--mirroring", "record",
                    "--lookup", "name:prefix=TT-", "--lookup", "note_attribute:key=TikTok Order Number",
                    input=TOKEN + "\n")
    assert "Store 1 added" in result.stdout and TOKEN not in result.stdout
    runtime = Runtime.from_settings(get_settings())
    try:
        with transaction(runtime.sessions) as session:
            store = session.scalars(select(Store)).one()
            assert TOKEN not in store.credentials_encrypted
            assert store.settings["order_lookup"] == [
                {"kind": "name", "prefix": "TT-", "suffix": "", "key": "", "namespace": "", "scan_query": "",
                 "scan_pages": 10},
                {"kind": "note_attribute", "prefix": "", "suffix": "", "key": "TikTok Order Number", "namespace": "",
                 "scan_query": "", "scan_pages": 10},
            ]
    finally:
        runtime.close()
    [listed] = json.loads(invoke(cli, "list", "--json").stdout)
    assert listed["base_url"] == "https://acme.myshopify.com" and TOKEN not in json.dumps(listed)


def test_add_shopify_without_token_stdin_is_refused(cli: CliRunner) -> None:
    result = cli.invoke(stores_app, ["add-shopify", "--domain", "acme.myshopify.com"])
    assert result.exit_code != 0
    assert "--token-stdin" in str(result.exception)


def test_settings_are_validated_and_shown(cli: CliRunner) -> None:
    invoke(cli, "add-shopify", "--domain", "acme.myshopify.com", "--token-stdin", input=TOKEN)
    shown = invoke(cli, "settings", "1", "--auto-restock", "--restock-trigger", "package_approved").stdout
    assert '"auto_restock": true' in shown and '"restock_trigger": "package_approved"' in shown
    bad = cli.invoke(stores_app, ["settings", "1", "--restock-location", "chosen"])
    assert bad.exit_code != 0 and "restock_location_id" in str(bad.exception)


def test_reconcile_with_nothing_refunded_exits_zero_and_retry_of_unknown_effect_is_refused(cli: CliRunner) -> None:
    invoke(cli, "add-shopify", "--domain", "acme.myshopify.com", "--token-stdin", "--mirroring", "record",
           input=TOKEN)
    report = json.loads(invoke(cli, "reconcile", "--json").stdout)
    assert report == {"rows": [], "by_status": {}, "totals": []}
    missing = cli.invoke(stores_app, ["retry", "99"])
    assert missing.exit_code != 0 and "does not exist" in str(missing.exception)
    runtime = Runtime.from_settings(get_settings())
    try:
        with transaction(runtime.sessions) as session:
            assert session.scalars(select(StoreEffect)).all() == []
    finally:
        runtime.close()


def test_remove_deletes_the_store_and_says_what_it_deleted(cli: CliRunner) -> None:
    invoke(cli, "add-shopify", "--domain", "acme.myshopify.com", "--token-stdin", input=TOKEN)
    help_text = invoke(cli, "remove", "--help").stdout
    assert "--force" in help_text and "timeline" in help_text
    out = invoke(cli, "remove", "1").stdout
    assert "Store 1 removed" in out and "0 effect(s)" in out
    assert json.loads(invoke(cli, "list", "--json").stdout) == []
    again = cli.invoke(stores_app, ["remove", "1"])
    assert again.exit_code != 0 and "does not exist" in str(again.exception)
