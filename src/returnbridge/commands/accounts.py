"""`returnbridge accounts connect | list | disconnect`: the TikTok shops ReturnBridge works for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from returnbridge.errors import UserFacingError

if TYPE_CHECKING:
    from returnbridge.sync.accounts import AccountSummary
    from returnbridge.sync.runtime import Runtime

accounts_app = typer.Typer(
    help="Connect, list and disconnect TikTok shops.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)



def _out() -> Console:
    # Made per command so the terminal width (COLUMNS) is read when the command runs; soft_wrap keeps shop ids
    # and reasons on one line so they can be copied.
    return Console(soft_wrap=True)


@contextmanager
def _runtime() -> Iterator[Runtime]:
    from returnbridge.config import get_settings
    from returnbridge.db.migrate import is_up_to_date
    from returnbridge.sync.runtime import Runtime

    settings = get_settings()
    if not is_up_to_date(settings.effective_database_url):
        raise UserFacingError("the database schema is not up to date: run `returnbridge migrate` first")
    runtime = Runtime.from_settings(settings)
    try:
        yield runtime
    finally:
        runtime.close()


@accounts_app.command("connect")
def connect(
    auth_code: Annotated[
        str,
        typer.Option(
            "--auth-code",
            help="The `code` TikTok put on the redirect after the seller authorized the app (single-use, 30 min).",
        ),
    ],
) -> None:
    """Connect every shop a seller authorized, from the authorization code of the consent redirect."""
    from returnbridge.sync.accounts import connect_with_auth_code

    with _runtime() as runtime:
        shops = connect_with_auth_code(runtime, auth_code)
    out = _out()
    for shop in shops:
        verb = "Reconnected" if shop.reconnected else "Connected"
        out.print(
            f"{verb} {shop.shop_name or shop.shop_id} (shop id {shop.shop_id}, region {shop.region or '?'}) "
            f"as account {shop.account_id}"
        )
        if shop.webhook_problem:
            out.print(f"[yellow]warning:[/yellow] {escape(shop.webhook_problem)}; changes arrive by polling only")
    missing = sorted({scope for shop in shops for scope in shop.missing_scopes})
    if missing:
        out.print(f"[yellow]warning:[/yellow] the seller did not grant {', '.join(missing)}; authorize again with them")


@accounts_app.command("list")
def list_accounts(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per shop, for scripts.")] = False,
) -> None:
    """Every connected shop: region, status and why, token expiry, last poll and last webhook."""
    from returnbridge.sync.accounts import list_accounts as summaries

    with _runtime() as runtime:
        accounts = summaries(runtime)
    if as_json:
        typer.echo(json.dumps([_as_dict(account) for account in accounts], indent=2))
        return
    out = _out()
    if not accounts:
        out.print("No TikTok shop is connected. Connect one with `returnbridge accounts connect --auth-code CODE`.")
        return
    table = Table("account", "shop", "shop id", "region", "status", "reason", "token expires", "last poll",
                  "last webhook")
    for account in accounts:
        table.add_row(
            str(account.account_id),
            account.shop_name,
            account.shop_id,
            account.region,
            account.status,
            account.status_reason,
            _when(account.access_token_expires_at),
            _when(account.last_poll_ok_at),
            _when(account.last_webhook_at),
        )
    out.print(table)


@accounts_app.command("disconnect")
def disconnect(
    account: Annotated[str, typer.Argument(help="Account number (see `accounts list`) or TikTok shop id.")],
) -> None:
    """Stop syncing a shop (marks it disabled; connecting it again re-enables it)."""
    from returnbridge.sync.accounts import disconnect_account

    with _runtime() as runtime:
        summary = disconnect_account(runtime, account)
    _out().print(f"Disconnected {summary.shop_name or summary.shop_id} (account {summary.account_id}): it is no longer "
              "synced. The seller can also remove the app in TikTok Seller Center.")


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment is not None else "never"


def _as_dict(account: AccountSummary) -> dict[str, object]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {
        "account_id": account.account_id,
        "shop_id": account.shop_id,
        "shop_name": account.shop_name,
        "region": account.region,
        "status": account.status,
        "status_reason": account.status_reason,
        "access_token_expires_at": iso(account.access_token_expires_at),
        "refresh_token_expires_at": iso(account.refresh_token_expires_at),
        "authorization_expires_at": iso(account.authorization_expires_at),
        "last_poll_ok_at": iso(account.last_poll_ok_at),
        "last_webhook_at": iso(account.last_webhook_at),
    }
