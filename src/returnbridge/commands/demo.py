"""`returnbridge demo`: the whole product on one machine, with an emulated TikTok Shop that keeps buyers busy.

What it does, in order:
1. a fresh SQLite database and queue under ``<var_dir>/demo/`` (the emulated shops live in memory, so data from an
   earlier demo would point at shops and tokens that no longer exist);
2. the TikTok Shop emulator on a free port, in this process, sending webhooks to our ``/webhooks/tiktok``;
3. about 2,000 returns and cancellations in every state, seeded in the seller's US and GB shops;
4. both shops connected through the real OAuth path: an authorization code exchanged by ``connect_with_auth_code``;
5. an admin user (generated password unless ``--password``);
6. the product as ``serve`` runs it: web on 127.0.0.1:``--port``, the job consumer and the scheduler;
7. a first Sync Returns run;
8. the Shopify emulator on a free port, in this process, with a store holding the US shop's orders as a
   TikTok→Shopify connector imports them (named ``TT-<order id>``), added to ReturnBridge with mirroring on
   ("record returns and refunds", auto-restock where the line shipped from); the mirror job then works through the
   existing cases in the job consumer (``demo_shopify``);
9. emulated buyers opening, shipping and withdrawing requests every few seconds; those changes reach us by webhook,
   and every new US order is put in the Shopify store first, so new cases mirror too.
Ctrl+C stops everything.

Lives with the commands because it imports the emulator, which only the command line and the tests may do.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from rich.console import Console
from sqlalchemy import func, select

from returnbridge.commands.demo_shopify import DemoShopify
from returnbridge.config import Settings, get_settings
from returnbridge.db.engine import transaction
from returnbridge.db.migrate import upgrade
from returnbridge.db.models import Case
from returnbridge.domain.roles import Role
from returnbridge.emulators.shopify.server import EmulatorServer as ShopifyEmulator
from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.errors import UserFacingError
from returnbridge.sync import stores as store_service
from returnbridge.sync.accounts import ConnectedShop, connect_with_auth_code
from returnbridge.sync.jobs import Jobs
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.sync_runs import execute_run, start_run
from returnbridge.users.service import create_user
from returnbridge.web.app import create_app

log = logging.getLogger(__name__)
out = Console(soft_wrap=True)

APP_KEY = "demo_app_key"
APP_SECRET = "demo_app_secret"
SERVICE_ID = "demo-service"
ADMIN_EMAIL = "admin@example.com"
# The emulator's first seller owns exactly the US and the GB shop, so one authorization connects both.
DEMO_REGIONS = ("US", "GB")
SHARE_CANCELLATIONS = 0.2


@dataclass(frozen=True)
class DemoOptions:
    port: int = 8600
    password: str | None = None
    cases: int = 2000
    activity_seconds: float = 3.0
    seed: int = 42


def run_demo(options: DemoOptions) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    base = get_settings()
    demo_dir = (base.var_dir / "demo").resolve()
    _fresh(demo_dir)
    public_url = f"http://127.0.0.1:{options.port}"
    out.print("[bold]ReturnBridge demo[/bold]: starting the TikTok Shop emulator …")
    with EmulatorServer(
        app_key=APP_KEY, app_secret=APP_SECRET, service_id=SERVICE_ID, seed=options.seed, seed_returns=0,
        webhook_url=f"{public_url}/webhooks/tiktok", redirect_url=f"{public_url}/connect/tiktok/callback", rps=0,
    ) as emulator, ShopifyEmulator(seed=options.seed, seed_orders=0) as shopify_emulator:
        settings = _settings(base, demo_dir, emulator.base_url, public_url)
        upgrade(settings.effective_database_url)
        control = httpx.Client(base_url=f"{emulator.base_url}/_emulator", timeout=60)
        runtime = Runtime.from_settings(settings)
        shopify: DemoShopify | None = None
        try:
            shops = _seed(control, options.cases)
            connected = _connect(runtime, control, shops)
            us_shop = next(shop for shop in connected if shop.region == "US")
            shopify = DemoShopify(shopify_emulator, account_id=us_shop.account_id)
            password = options.password or secrets.token_urlsafe(12)
            with transaction(runtime.sessions) as session:
                create_user(session, ADMIN_EMAIL, Role.ADMIN, password)
            _serve(runtime, options, emulator.base_url, control, password, shopify)
        finally:
            control.close()
            if shopify is not None:
                shopify.close()
            runtime.close()
    out.print("Demo stopped.")


def _fresh(demo_dir: Path) -> None:
    demo_dir.mkdir(parents=True, exist_ok=True)
    for name in ("returnbridge.sqlite3", "queue.sqlite3"):
        for suffix in ("", "-wal", "-shm", "-journal"):
            (demo_dir / f"{name}{suffix}").unlink(missing_ok=True)


def _settings(base: Settings, demo_dir: Path, emulator_url: str, public_url: str) -> Settings:
    # Everything that could point the demo at real services is overridden: it must run on a machine with no
    # network and never touch a production database or queue configured in the environment.
    return base.model_copy(update={
        "var_dir": demo_dir,
        "database_url": f"sqlite:///{demo_dir / 'returnbridge.sqlite3'}",
        "redis_url": None,
        "queue_name": "returnbridge-demo",
        "tiktok_app_key": APP_KEY,
        "tiktok_app_secret": APP_SECRET,
        "tiktok_service_id": SERVICE_ID,
        "tiktok_api_base": emulator_url,
        "tiktok_auth_base": emulator_url,
        "tiktok_authorize_url": f"{emulator_url}/open/authorize",
        "tiktok_rate_per_second": 1000.0,
        "public_url": public_url,
    })


def _call(control: httpx.Client, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    response = control.request(method, path, json=body)
    if response.status_code >= 400:
        raise UserFacingError(f"the TikTok emulator refused {method} {path}: {response.text[:300]}")
    return response.json()


def _seed(control: httpx.Client, cases: int) -> list[dict[str, Any]]:
    shops = [shop for shop in _call(control, "GET", "/shops")["shops"] if shop["region"] in DEMO_REGIONS]
    per_shop = max(cases // len(shops), 1)
    cancellations = int(per_shop * SHARE_CANCELLATIONS)
    for shop in shops:
        _call(control, "POST", "/seed", {"shop_id": shop["id"], "returns": per_shop - cancellations,
                                         "cancellations": cancellations})
    out.print(f"Seeded {per_shop * len(shops)} returns and cancellations in "
              + ", ".join(f"{shop['name']} ({shop['region']})" for shop in shops))
    return shops


def _connect(runtime: Runtime, control: httpx.Client, shops: list[dict[str, Any]]) -> list[ConnectedShop]:
    # The code the consent page would put on the redirect; exchanged exactly as the OAuth callback does.
    code = _call(control, "POST", "/auth/code", {"shop_id": shops[0]["id"]})["code"]
    connected = connect_with_auth_code(runtime, code)
    out.print("Connected through OAuth: " + ", ".join(f"{shop.shop_name} ({shop.region})" for shop in connected))
    return connected


def _serve(runtime: Runtime, options: DemoOptions, emulator_url: str, control: httpx.Client, password: str,
           shopify: DemoShopify) -> None:
    jobs = Jobs(runtime)
    app = create_app(runtime, on_webhook=lambda inbox_id: jobs.process_webhook(inbox_id),
                     on_sync_run=lambda run_id: jobs.sync_run(run_id),
                     on_mirror=lambda store_id: jobs.mirror(store_id))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=options.port, log_level="warning"))
    web = threading.Thread(target=server.run, name="web", daemon=True)
    web.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not web.is_alive() or time.monotonic() > deadline:
            raise UserFacingError(f"the web server could not start on 127.0.0.1:{options.port} (port in use?)")
        time.sleep(0.05)
    buyers = BuyerActivity(runtime, control, interval=options.activity_seconds, seed=options.seed, shopify=shopify)
    try:
        _first_sync(runtime, jobs)
        _connect_store(runtime, jobs, shopify)
        buyers.start()
        url = f"http://127.0.0.1:{options.port}"
        out.print()
        out.print(f"[bold green]ReturnBridge is running:[/bold green] {url}")
        out.print(f"  Sign in as:  {ADMIN_EMAIL}")
        out.print(f"  Password:    {password}")
        out.print(f"  TikTok Shop emulator: {emulator_url}/_emulator/  "
                  f"(buyers act every {options.activity_seconds:g} s)")
        out.print(f"  Shopify emulator:     {shopify.server.base_url}/_emulator/  (store {shopify.domain}, "
                  f"mirroring the US shop: returns and refunds, auto-restock)")
        out.print("  Stop with Ctrl+C.", highlight=False)
        # The consumer owns the main thread (it handles SIGINT/SIGTERM), as in `serve`.
        jobs.consumer().run()
    finally:
        buyers.stop()
        server.should_exit = True
        web.join(timeout=10)


def _first_sync(runtime: Runtime, jobs: Jobs) -> None:
    # Run here rather than queued, so the printed URL leads to a full grid; it is an ordinary Sync Returns run
    # that shows on the Connections page.
    started = start_run(runtime, started_by="demo")
    out.print("First sync of both shops …")
    began = time.monotonic()
    state = execute_run(runtime, started.run_id, after_shop=jobs.fetch_records)
    with transaction(runtime.sessions) as session:
        held = session.scalar(select(func.count()).select_from(Case))
    out.print(f"First sync {state} in {time.monotonic() - began:.1f} s: {held} cases")


def _connect_store(runtime: Runtime, jobs: Jobs, shopify: DemoShopify) -> None:
    # After the first sync, so the store can be given every order the cases reference before mirroring starts;
    # adding the store with mirroring on plans the effects of the existing cases, and the queued mirror job
    # performs them in the consumer, as it would for a merchant.
    shopify.create_store()
    began = time.monotonic()
    copied = shopify.copy_orders(runtime)
    store = shopify.add_to_returnbridge(runtime)
    jobs.mirror(store.id)
    planned = sum(store_service.get_store(runtime, store.id).effects.values())
    out.print(f"Shopify store {shopify.domain}: {copied} orders copied from the US shop in "
              f"{time.monotonic() - began:.1f} s; {planned} store effects planned, mirroring in the background")


class BuyerActivity:
    """Emulated buyers, every ``interval`` seconds: a new return or cancellation, a parcel shipped, or a request
    withdrawn. Acts through the emulator's control API, picking targets from what ReturnBridge holds (so a
    return a merchant approved in the back-office is what a buyer then ships)."""

    def __init__(self, runtime: Runtime, control: httpx.Client, *, interval: float, seed: int,
                 shopify: DemoShopify | None = None) -> None:
        self.runtime = runtime
        self.shopify = shopify
        self.control = control
        self.interval = interval
        self.random = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="demo-buyers", daemon=True)
        shops = [shop for shop in _call(control, "GET", "/shops")["shops"] if shop["region"] in DEMO_REGIONS]
        self.shop_ids = [shop["id"] for shop in shops]
        self.us_shop_id = next((shop["id"] for shop in shops if shop["region"] == "US"), "")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.act()
            except Exception as error:  # one refused action (the request moved on meanwhile) must not stop buyers
                log.info("demo buyer action skipped: %s", error)

    def act(self) -> str:
        """One buyer action; gives what was done."""
        roll = self.random.random()
        shop_id = self.random.choice(self.shop_ids)
        if roll < 0.45:
            kind = self.random.choice(("REFUND", "RETURN_AND_REFUND", "RETURN_AND_REFUND"))
            self._new_order(shop_id, _call(self.control, "POST", "/returns", {"shop_id": shop_id, "return_type": kind}))
            return "new return"
        if roll < 0.6:
            self._new_order(shop_id, _call(self.control, "POST", "/cancellations", {"shop_id": shop_id}))
            return "new cancellation"
        if roll < 0.85:
            target = self._held("AWAITING_BUYER_SHIP")
            if target is not None:
                _call(self.control, "POST", f"/returns/{target}/ship", {})
                return "parcel shipped"
        target = self._held("RETURN_OR_REFUND_REQUEST_PENDING", "CANCELLATION_REQUEST_PENDING")
        if target is not None:
            _call(self.control, "POST", f"/requests/{target}/withdraw", {})
            return "request withdrawn"
        return "nothing"

    def _new_order(self, shop_id: str, request: dict[str, Any]) -> None:
        # The emulated buyer's request comes with a new TikTok order; a connector would have imported it into the
        # Shopify store when it was placed, so the demo copies it now (the store mirrors the US shop only).
        if self.shopify is not None and shop_id == self.us_shop_id:
            self.shopify.after_request(self.runtime, request)

    def _held(self, *statuses: str) -> str | None:
        with transaction(self.runtime.sessions) as session:
            ids = list(session.scalars(
                select(Case.tiktok_id).where(Case.tiktok_status.in_(statuses)).order_by(Case.id.desc()).limit(50)
            ))
        return self.random.choice(ids) if ids else None
