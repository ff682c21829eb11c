"""`returnbridge stores ...`: the stores TikTok outcomes are mirrored into, their settings, the mirror run, the
reconciliation ledger and the retry of held effects. Credentials are read from stdin, never from argv."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from returnbridge.errors import UserFacingError

if TYPE_CHECKING:
    from returnbridge.sync.runtime import Runtime

stores_app = typer.Typer(
    help="Stores TikTok outcomes are mirrored into (Shopify, Magento): add, settings, mirror, reconcile, retry.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
StoreOpt = Annotated[int | None, typer.Option("--store", help="Only this store id.")]


def _out() -> Console:
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


def _lookup(spec: str) -> dict[str, Any]:
    """``kind`` or ``kind:field=value,...`` (e.g. ``name:prefix=TT-`` or ``note_attribute:key=TikTok Order``)."""
    kind, _, rest = spec.partition(":")
    strategy: dict[str, Any] = {"kind": kind.strip()}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise UserFacingError(f"--lookup {spec!r}: expected field=value after the kind")
        strategy[name.strip()] = int(value) if name.strip() == "scan_pages" else value
    return strategy


def _settings_changes(
    mirroring: str | None, auto_restock: bool | None, restock_location: str | None, restock_location_id: str | None,
    restock_trigger: str | None, lookup: list[str] | None, account: list[int] | None,
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name, value in (("mirroring", mirroring), ("auto_restock", auto_restock),
                        ("restock_location", restock_location), ("restock_location_id", restock_location_id),
                        ("restock_trigger", restock_trigger)):
        if value is not None:
            changes[name] = value
    if lookup:
        changes["order_lookup"] = [_lookup(spec) for spec in lookup]
    if account:
        changes["account_ids"] = list(account)
    return changes


Mirroring = Annotated[str | None, typer.Option(help="off | record (returns and refunds) | informational (returns).")]
AutoRestock = Annotated[bool | None, typer.Option("--auto-restock/--no-auto-restock", help="Restock returned units.")]
RestockLoc = Annotated[str | None, typer.Option(help="default | fulfilled_from | chosen.")]
RestockLocId = Annotated[str | None, typer.Option(help="Location id for --restock-location chosen.")]
Trigger = Annotated[str | None, typer.Option(help="package_approved | refund_completed.")]
Lookup = Annotated[list[str] | None, typer.Option(
    "--lookup", help="Order lookup strategy, in order (repeat): name[:prefix=..,suffix=..], tag[:prefix=..], "
    "note_attribute:key=.., source_identifier, metafield:namespace=..,key=.. (Shopify); meta:key=.. (WooCommerce); "
    "field:key=.. (PrestaShop); increment_id, ext_order_id, order_field:key=<column> (Magento)")]
Account = Annotated[list[int] | None, typer.Option("--account", help="Only these TikTok account ids (repeat).")]


@stores_app.command("add-shopify")
def add_shopify(
    domain: Annotated[str, typer.Option(help="Shop domain (acme.myshopify.com) or URL.")],
    token_stdin: Annotated[bool, typer.Option("--token-stdin", help="Read the Admin API access token from stdin.")]
    = False,
    name: Annotated[str, typer.Option(help="A name for the store.")] = "",
    shop_domain: Annotated[str, typer.Option(
        help="The shop's myshopify domain when --domain is another URL (the emulator); asked from the store "
             "with the token when left out.")] = "",
    mirroring: Mirroring = None, auto_restock: AutoRestock = None, restock_location: RestockLoc = None,
    restock_location_id: RestockLocId = None, restock_trigger: Trigger = None, lookup: Lookup = None,
    account: Account = None,
) -> None:
    """Add a Shopify store. The token is read from stdin (never an argument: it would be in the shell history)."""
    from returnbridge.sync.stores import add_shopify_store

    if not token_stdin:
        raise UserFacingError("pass --token-stdin and pipe the Admin API access token in (it is never an argument)")
    token = sys.stdin.readline().strip()
    changes = _settings_changes(mirroring, auto_restock, restock_location, restock_location_id, restock_trigger,
                                lookup, account)
    with _runtime() as runtime:
        view = add_shopify_store(runtime, domain=domain, access_token=token, name=name, settings=changes,
                                 shop_domain=shop_domain)
    _out().print(f"Store {view.id} added: {view.name} ({view.base_url}), mirroring {view.settings['mirroring']}")


@stores_app.command("add-woocommerce")
def add_woocommerce(
    url: Annotated[str, typer.Option(help="Site URL (https://shop.example.com).")],
    keys_stdin: Annotated[bool, typer.Option("--keys-stdin", help="Read the consumer key, then the secret, one per "
                                             "line, from stdin.")] = False,
    auth: Annotated[str, typer.Option(help="basic (HTTP Basic over HTTPS) or query (keys in the query string).")]
    = "basic",
    name: Annotated[str, typer.Option(help="A name for the store.")] = "",
    mirroring: Mirroring = None, auto_restock: AutoRestock = None, lookup: Lookup = None, account: Account = None,
) -> None:
    """Add a WooCommerce site (REST API v3). Keys come from stdin, never from arguments."""
    from returnbridge.sync.stores import add_woocommerce_store

    if not keys_stdin:
        raise UserFacingError("pass --keys-stdin and pipe the consumer key and secret in, one per line")
    key, secret = sys.stdin.readline().strip(), sys.stdin.readline().strip()
    changes = _settings_changes(mirroring, auto_restock, None, None, None, lookup, account)
    with _runtime() as runtime:
        view = add_woocommerce_store(runtime, url=url, consumer_key=key, consumer_secret=secret, auth=auth,
                                     name=name, settings=changes)
    _out().print(f"Store {view.id} added: {view.name} ({view.base_url}), mirroring {view.settings['mirroring']}")


@stores_app.command("add-prestashop")
def add_prestashop(
    url: Annotated[str, typer.Option(help="Shop URL (https://shop.example.com).")],
    key_stdin: Annotated[bool, typer.Option("--key-stdin", help="Read the webservice key from stdin.")] = False,
    name: Annotated[str, typer.Option(help="A name for the store.")] = "",
    mirroring: Mirroring = None, auto_restock: AutoRestock = None, restock_trigger: Trigger = None,
    lookup: Lookup = None, account: Account = None,
) -> None:
    """Add a PrestaShop shop (webservice). The key comes from stdin, never from arguments."""
    from returnbridge.sync.stores import add_prestashop_store

    if not key_stdin:
        raise UserFacingError("pass --key-stdin and pipe the webservice key in")
    key = sys.stdin.readline().strip()
    changes = _settings_changes(mirroring, auto_restock, None, None, restock_trigger, lookup, account)
    with _runtime() as runtime:
        view = add_prestashop_store(runtime, url=url, webservice_key=key, name=name, settings=changes)
    _out().print(f"Store {view.id} added: {view.name} ({view.base_url}), mirroring {view.settings['mirroring']}")


@stores_app.command("add-magento")
def add_magento(
    url: Annotated[str, typer.Option(help="Store base URL (https://shop.example.com) or its REST root.")],
    store_code: Annotated[str, typer.Option(help="Store view code in the REST path (/rest/<code>/V1).")] = "default",
    username: Annotated[str, typer.Option(help="Admin user: an admin token is issued and renewed (4 h).")] = "",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the admin password from stdin.")]
    = False,
    token_stdin: Annotated[bool, typer.Option("--token-stdin", help="Read an integration access token from stdin "
                                              "(used as a Bearer token; the store must allow that).")] = False,
    token_lifetime: Annotated[int, typer.Option(help="Admin token lifetime in seconds, as configured in the store.")]
    = 4 * 3600,
    name: Annotated[str, typer.Option(help="A name for the store.")] = "",
    mirroring: Mirroring = None, auto_restock: AutoRestock = None, restock_location: RestockLoc = None,
    restock_trigger: Trigger = None, lookup: Lookup = None, account: Account = None,
) -> None:
    """Add a Magento 2 / Adobe Commerce store. Secrets are read from stdin, never from arguments."""
    from returnbridge.stores.magento import MagentoCredentials
    from returnbridge.sync.stores import add_magento_store

    if password_stdin == token_stdin:
        raise UserFacingError("pass exactly one of --password-stdin (with --username) or --token-stdin")
    secret = sys.stdin.readline().strip()
    try:
        credentials = (MagentoCredentials("admin", username=username, password=secret, token_lifetime=token_lifetime)
                       if password_stdin else MagentoCredentials("integration", token=secret))
    except ValueError as invalid:
        raise UserFacingError(str(invalid)) from None
    changes = _settings_changes(mirroring, auto_restock, restock_location, None, restock_trigger, lookup, account)
    with _runtime() as runtime:
        view = add_magento_store(runtime, url=url, store_code=store_code, credentials=credentials, name=name,
                                 settings=changes)
    _out().print(f"Store {view.id} added: {view.name} ({view.base_url}), mirroring {view.settings['mirroring']}")


@stores_app.command("list")
def list_(as_json: JsonFlag = False) -> None:
    """List stores with their settings and effects by state."""
    from returnbridge.sync.stores import list_stores

    with _runtime() as runtime:
        views = list_stores(runtime)
    if as_json:
        _out().print_json(json.dumps([v.__dict__ for v in views], default=str))
        return
    table = Table("id", "platform", "name", "url", "mirroring", "restock", "effects")
    for v in views:
        s = v.settings
        restock = f"{s.get('restock_trigger')} @ {s.get('restock_location')}" if s.get("auto_restock") else "off"
        effects = ", ".join(f"{k} {n}" for k, n in sorted(v.effects.items())) or "-"
        table.add_row(str(v.id), v.platform, v.name, v.base_url, s.get("mirroring", "off"), restock, effects)
    _out().print(table)


@stores_app.command("remove")
def remove(
    store_id: Annotated[int, typer.Argument(metavar="STORE_ID")],
    force: Annotated[bool, typer.Option("--force", help="Remove even with effects pending or in progress (they are "
                                        "then never performed).")] = False,
) -> None:
    """Remove a store: its credentials, its outbox rows (effects) and cached order matches are deleted; what was
    mirrored stays on each case's timeline. Refused while effects are pending or in progress unless --force.
    Nothing is changed in the store itself."""
    from returnbridge.sync.stores import remove_store

    with _runtime() as runtime:
        removed = remove_store(runtime, store_id, force=force)
    _out().print(f"Store {store_id} removed ({removed.store.name}): {removed.effects_deleted} effect(s) and "
                 f"{removed.matches_deleted} order match(es) deleted; case timelines keep the history.")


@stores_app.command("settings")
def settings(
    store_id: Annotated[int, typer.Argument(metavar="STORE_ID")],
    mirroring: Mirroring = None, auto_restock: AutoRestock = None, restock_location: RestockLoc = None,
    restock_location_id: RestockLocId = None, restock_trigger: Trigger = None, lookup: Lookup = None,
    account: Account = None,
) -> None:
    """Show or change a store's settings; turning mirroring on plans the effects already due for existing cases."""
    from returnbridge.sync.stores import get_store, update_store_settings

    changes = _settings_changes(mirroring, auto_restock, restock_location, restock_location_id, restock_trigger,
                                lookup, account)
    with _runtime() as runtime:
        if changes:
            view, planned = update_store_settings(runtime, store_id, changes)
            _out().print(f"Settings saved; {planned} effect(s) planned for existing cases.")
        else:
            view = get_store(runtime, store_id)
    _out().print_json(json.dumps(view.settings))


@stores_app.command("backfill")
def backfill(store_id: Annotated[int, typer.Argument(metavar="STORE_ID")]) -> None:
    """Plan the effects already due for every existing case (after mirroring was turned on)."""
    from returnbridge.sync.stores import backfill_store

    with _runtime() as runtime:
        planned = backfill_store(runtime, store_id)
    _out().print(f"{planned} effect(s) planned.")


@stores_app.command("map-order")
def map_order(
    store_id: Annotated[int, typer.Argument(metavar="STORE_ID")],
    tiktok_order_id: Annotated[str, typer.Argument(metavar="TIKTOK_ORDER_ID")],
    store_order_id: Annotated[str, typer.Argument(metavar="STORE_ORDER_ID", help="e.g. gid://shopify/Order/1")],
) -> None:
    """The local order map: this TikTok order is that store order (checked before any lookup)."""
    from returnbridge.sync import stores

    with _runtime() as runtime:
        stores.map_order(runtime, store_id, tiktok_order_id, store_order_id)
    _out().print(f"TikTok order {tiktok_order_id} → {store_order_id}")


@stores_app.command("mirror")
def mirror(store: StoreOpt = None, limit: Annotated[int | None, typer.Option(min=1)] = None) -> None:
    """Mirror due effects now, in the foreground (the worker does the same in the background)."""
    from returnbridge.sync.mirror import mirror_store, stores_due

    with _runtime() as runtime:
        targets = [store] if store is not None else stores_due(runtime)
        out = _out()
        if not targets:
            out.print("Nothing due.")
        for store_id in targets:
            report = mirror_store(runtime, store_id, limit=limit)
            if report.busy:
                out.print(f"store {store_id}: being mirrored by another process; skipped")
                continue
            out.print(f"store {store_id}: {report.done} done, {report.adopted} adopted, {report.held} held, "
                      f"{report.retrying} retrying, {report.failed} failed")


@stores_app.command("effects")
def effects(
    store: StoreOpt = None,
    state: Annotated[list[str] | None, typer.Option(help="pending, in_progress, done, held, failed (repeat).")] = None,
    case: Annotated[int | None, typer.Option(help="Only this case id.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List store effects (newest first)."""
    from returnbridge.sync.stores import list_effects

    with _runtime() as runtime:
        views = list_effects(runtime, store_id=store, states=state, case_id=case)
    if as_json:
        _out().print_json(json.dumps([v.__dict__ for v in views], default=str))
        return
    table = Table("id", "case", "store", "kind", "state", "attempts", "record", "reason / error")
    for v in views:
        table.add_row(str(v.id), str(v.case_id), str(v.store_id), v.kind, v.state, str(v.attempts),
                      v.store_record_url or v.store_record_id, v.held_reason or v.last_error)
    _out().print(table)


@stores_app.command("retry")
def retry(effect_id: Annotated[int, typer.Argument(metavar="EFFECT_ID")]) -> None:
    """Queue a held or failed effect again (after fixing its cause); the store is searched for it first."""
    import getpass

    from returnbridge.sync.stores import retry_effect

    with _runtime() as runtime:
        view = retry_effect(runtime, effect_id, actor_name=f"cli:{getpass.getuser()}")
    _out().print(f"Effect {view.id} ({view.kind} of case {view.case_id}) is pending again.")


def reconcile(
    store: StoreOpt = None,
    since: Annotated[datetime | None, typer.Option(help="Only cases TikTok updated since (UTC).")] = None,
    verify: Annotated[bool, typer.Option(help="Read every recorded refund back from the store.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Reconciliation ledger: TikTok refunds vs what the store recorded; exits 1 when anything does not match."""
    from returnbridge.sync.reconcile import reconcile as build

    with _runtime() as runtime:
        ledger = build(runtime, store_id=store, since=since.replace(tzinfo=UTC) if since and not since.tzinfo
                       else since, verify=verify)
    out = _out()
    if as_json:
        out.print_json(json.dumps({
            "rows": [r.__dict__ for r in ledger.rows], "by_status": ledger.by_status(),
            "totals": [t.__dict__ for t in ledger.totals()],
        }, default=str))
    else:
        table = Table("case", "store", "TikTok return", "currency", "TikTok refunded", "store recorded", "status",
                      "note")
        for r in ledger.mismatches:
            table.add_row(str(r.case_id), str(r.store_id), r.tiktok_id, r.currency, _amount(r.tiktok_refunded),
                          _amount(r.store_recorded), r.status, r.note)
        out.print(table)
        totals = Table("currency", "cases", "TikTok refunded", "store recorded")
        for t in ledger.totals():
            totals.add_row(t.currency, str(t.cases), _amount(t.tiktok_refunded), _amount(t.store_recorded))
        out.print(totals)
        out.print(", ".join(f"{k}: {n}" for k, n in sorted(ledger.by_status().items())) or "No refunded cases.")
    if ledger.mismatches:
        raise typer.Exit(1)


def _amount(value: object) -> str:
    return "-" if value is None else str(value)


stores_app.command("reconcile")(reconcile)
