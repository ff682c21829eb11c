"""The ``returnbridge`` command line."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from typer.exceptions import TyperException

from returnbridge import __version__
from returnbridge.commands import running
from returnbridge.commands.accounts import accounts_app
from returnbridge.commands.decide import decide_app
from returnbridge.commands.stores import reconcile, stores_app
from returnbridge.commands.users import users_app
from returnbridge.errors import UserFacingError

DEMO_SERVICE_ID = "demo-service"

app = typer.Typer(
    name="returnbridge",
    help="TikTok Shop returns, refunds and cancellations, mirrored into your store.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
emulator_app = typer.Typer(help="Run a local platform emulator (for the demo, tests and benchmarks).")
app.add_typer(emulator_app, name="emulator")
app.add_typer(accounts_app, name="accounts", help="Connect, list and disconnect TikTok shops.")
app.add_typer(decide_app, name="decide", help="Decide requests on TikTok: approve, reject, partial refund, ...")
app.add_typer(stores_app, name="stores", help="Mirror TikTok outcomes into your store: add, settings, mirror, retry.")
app.command("reconcile")(reconcile)
app.add_typer(users_app, name="users", help="Create and manage back-office users (admin, agent, viewer).")
app.command()(running.sync)
app.command()(running.serve)
app.command()(running.worker)

# soft_wrap: URLs and paths must stay on one line so they can be copied.
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (also done automatically by `serve` and `demo`)."""
    from returnbridge.config import get_settings
    from returnbridge.db.migrate import upgrade

    settings = get_settings()
    url = settings.effective_database_url
    upgrade(url)
    out.print(f"Database is up to date: {_redacted(url)}")


@emulator_app.command("tiktok")
def emulator_tiktok(
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1).")] = 8601,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    app_key: Annotated[str, typer.Option(help="The app key clients sign with.")] = "demo_app_key",
    app_secret: Annotated[str, typer.Option(help="The app secret clients sign with.")] = "demo_app_secret",
    service_id: Annotated[str, typer.Option(help="The app's service id (consent page links).")] = DEMO_SERVICE_ID,
    seed_returns: Annotated[int, typer.Option(min=0, help="How many returns to seed.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed for the generated data (same seed, same data).")] = 42,
    webhook_url: Annotated[str | None, typer.Option(help="Where to send signed webhooks.")] = None,
    redirect_url: Annotated[str | None, typer.Option(help="OAuth redirect URL after consent.")] = None,
    rps: Annotated[float, typer.Option(min=0.0, help="Rate limit per (shop, API path), requests/s; 0 = off.")] = 50.0,
    latency_ms: Annotated[int, typer.Option(min=0, help="Added latency per request.")] = 0,
    fault_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of requests that fail.")] = 0.0,
    time_scale: Annotated[float, typer.Option(min=0.001, help="How much faster business time runs.")] = 1.0,
) -> None:
    """Run the TikTok Shop emulator (open API, auth host, consent page, control API under /_emulator/)."""
    from returnbridge.emulators.tiktok.server import run

    run(
        host=host, port=port, app_key=app_key, app_secret=app_secret, service_id=service_id, redirect_url=redirect_url,
        seed_returns=seed_returns, seed=seed, webhook_url=webhook_url, rps=rps, latency_ms=latency_ms,
        fault_rate=fault_rate, time_scale=time_scale,
    )


@emulator_app.command("shopify")
def emulator_shopify(
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1).")] = 8602,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    token: Annotated[str, typer.Option(help="Access token of the seeded store.")] = "shpat_emulator_token",
    domain: Annotated[str, typer.Option(help="Domain of the seeded store.")] = "returnbridge-emulator.myshopify.com",
    seed: Annotated[int, typer.Option(help="Seed for the generated data (same seed, same data).")] = 42,
    seed_orders: Annotated[int, typer.Option(min=0, help="Orders seeded in the store.")] = 12,
    restore_rate: Annotated[float, typer.Option(min=0.0, help="Cost points restored per second.")] = 100.0,
    maximum_available: Annotated[float, typer.Option(min=1.0, help="Cost bucket size.")] = 2000.0,
    latency_ms: Annotated[int, typer.Option(min=0, help="Added latency per request.")] = 0,
    fault_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of requests that fail.")] = 0.0,
) -> None:
    """Run the Shopify Admin GraphQL (2026-04) emulator (control API under /_emulator/)."""
    from returnbridge.emulators.shopify.server import run

    run(
        host=host, port=port, token=token, domain=domain, seed=seed, seed_orders=seed_orders,
        restore_rate=restore_rate, maximum_available=maximum_available, latency_ms=latency_ms, fault_rate=fault_rate,
    )


@emulator_app.command("woocommerce")
def emulator_woocommerce(
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1).")] = 8603,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    consumer_key: Annotated[str, typer.Option(help="The consumer key clients use.")] = "ck_emulator_key",
    consumer_secret: Annotated[str, typer.Option(help="The consumer secret.")] = "cs_emulator_secret",
    latency_ms: Annotated[int, typer.Option(min=0, help="Added latency per request.")] = 0,
) -> None:
    """Run the WooCommerce REST API v3 emulator (control API under /_emulator/)."""
    from returnbridge.emulators.woocommerce.server import run

    run(host=host, port=port, consumer_key=consumer_key, consumer_secret=consumer_secret, latency_ms=latency_ms)


@emulator_app.command("prestashop")
def emulator_prestashop(
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1).")] = 8604,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    key: Annotated[str, typer.Option(help="The webservice key.")] = "PSWEBSERVICEEMULATORKEY00000000A",
) -> None:
    """Run the PrestaShop webservice emulator (control API under /_emulator/)."""
    from returnbridge.emulators.prestashop.server import run

    run(host=host, port=port, key=key)


@emulator_app.command("magento")
def emulator_magento(
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1).")] = 8605,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Seed for the generated data (same seed, same data).")] = 42,
    seed_orders: Annotated[int, typer.Option(min=0, help="Orders seeded in the default installation.")] = 12,
    latency_ms: Annotated[int, typer.Option(min=0, help="Added latency per request.")] = 0,
) -> None:
    """Run the Magento 2 REST emulator (REST under /rest/default/V1/, control API under /_emulator/)."""
    from returnbridge.emulators.magento.server import run

    run(host=host, port=port, seed=seed, seed_orders=seed_orders, latency_ms=latency_ms)


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port of the back-office (127.0.0.1).")] = 8600,
    password: Annotated[str | None, typer.Option(help="Admin password (default: generated and printed).")] = None,
    cases: Annotated[int, typer.Option(min=2, help="Returns and cancellations seeded over the two shops.")] = 2000,
    activity_seconds: Annotated[float, typer.Option(min=0.2, help="Seconds between emulated buyer actions.")] = 3.0,
) -> None:
    """Run the whole product on SQLite under ./var/demo/ with an emulated TikTok Shop, two connected shops, demo
    data and busy buyers; prints the URL and the admin's credentials."""
    from returnbridge.commands.demo import DemoOptions, run_demo

    run_demo(DemoOptions(port=port, password=password, cases=cases, activity_seconds=activity_seconds))


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point: known problems become one-line messages; ``RETURNBRIDGE_DEBUG=1`` shows tracebacks."""
    try:
        app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err.print("Aborted.")
        return 130
    except KeyboardInterrupt:
        return 130
    except TyperException as exc:  # usage errors: typer prints them like --help does
        exc.show()
        return exc.exit_code
    except Exception as exc:
        if os.environ.get("RETURNBRIDGE_DEBUG"):
            raise
        err.print(f"[red]error:[/red] {_describe(exc)}")
        return 1
    return 0


def _describe(exc: BaseException) -> str:
    if isinstance(exc, UserFacingError):
        return str(exc)
    from sqlalchemy.exc import OperationalError

    if isinstance(exc, OperationalError):
        return f"cannot reach the database: {str(exc.orig).strip().splitlines()[0]}"
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}: {exc.filename}" if getattr(exc, "filename", None) else str(exc)
    return f"{exc.__class__.__name__}: {exc} (set RETURNBRIDGE_DEBUG=1 for the traceback)"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["app", "main"]
