"""What a chaos run stands on: a fresh database, the queue, both emulators, connected TikTok shops and a Shopify store
that holds their orders, and the settings every product process of the run shares."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from returnbridge.commands.demo_shopify import DemoShopify
from returnbridge.config import Settings
from returnbridge.db.engine import normalise_url, transaction
from returnbridge.db.migrate import upgrade
from returnbridge.db.repositories.accounts import AccountRepository, ShopIdentity
from returnbridge.emulators.shopify.server import EmulatorServer as ShopifyEmulator
from returnbridge.emulators.tiktok.server import EmulatorServer as TikTokEmulator
from returnbridge.sync import stores as store_service
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.tokens import stored_tokens
from returnbridge.tiktok import TokenSet

APP_KEY = "chaos_app_key"
APP_SECRET = "chaos_app_secret"
SERVICE_ID = "chaos-service"
STORE_DOMAIN = "chaos-goods.myshopify.com"


@dataclass(frozen=True)
class ChaosOptions:
    database: str = "postgres"  # or "sqlite": one product process, killed and restarted
    seed: int = 8
    cases: int = 2000
    shops: int = 4
    workers: int = 3  # `returnbridge worker` processes beside the web process (PostgreSQL only)
    fault_seconds: float = 150.0  # how long cases are opened and faults injected
    converge_timeout: float = 1200.0
    # The product's schedule runs once a minute; the run also sweeps this often, as `serve` does when it starts, so
    # a run of minutes goes through the periodic recovery paths several times.
    sweep_every: float = 10.0
    postgres_url: str = ""
    redis_url: str = ""
    workdir: Path = Path("var/chaos")

    @property
    def single_process(self) -> bool:
        return self.database == "sqlite"


def options_from_env(**overrides: Any) -> ChaosOptions:
    """Service URLs from RETURNBRIDGE_CHAOS_* or else the test suite's RETURNBRIDGE_TEST_* variables."""
    values: dict[str, Any] = {
        "postgres_url": os.environ.get("RETURNBRIDGE_CHAOS_POSTGRES_URL")
        or os.environ.get("RETURNBRIDGE_TEST_POSTGRES_URL", ""),
        "redis_url": os.environ.get("RETURNBRIDGE_CHAOS_REDIS_URL")
        or os.environ.get("RETURNBRIDGE_TEST_REDIS_URL", ""),
    }
    if os.environ.get("RETURNBRIDGE_CHAOS_SEED"):
        values["seed"] = int(os.environ["RETURNBRIDGE_CHAOS_SEED"])
    values.update(overrides)
    return ChaosOptions(**values)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ChaosStore(DemoShopify):
    """The demo's emulated Shopify store, mirroring every connected shop of the run (all in USD)."""

    def __init__(self, server: ShopifyEmulator, account_ids: list[int]) -> None:
        super().__init__(server, account_id=account_ids[0])
        self.domain = STORE_DOMAIN
        self.account_ids = account_ids

    def add_to_returnbridge(self, runtime: Runtime) -> store_service.StoreView:
        from returnbridge.commands.demo_shopify import STORE_SETTINGS

        store = store_service.add_shopify_store(
            runtime, domain=self.server.base_url, access_token=self.token, name="Chaos Goods (Shopify)",
            settings={**STORE_SETTINGS, "account_ids": self.account_ids},
        )
        self.store_id = store.id
        return store


@dataclass
class Shop:
    id: str
    cipher: str
    seller_id: str
    account_id: int


@dataclass
class Environment:
    options: ChaosOptions
    database_url: str = ""
    postgres_name: str = ""
    web_port: int = 0
    tiktok: TikTokEmulator | None = None
    shopify: ShopifyEmulator | None = None
    runtime: Runtime | None = None
    store: ChaosStore | None = None
    shops: list[Shop] = field(default_factory=list)
    tiktok_control: httpx.Client | None = None
    shopify_control: httpx.Client | None = None
    queue_name: str = ""

    # --- lifecycle -----------------------------------------------------------------------------------------------

    def start(self) -> Environment:
        o = self.options
        o.workdir.mkdir(parents=True, exist_ok=True)
        self.database_url = self._create_database()
        upgrade(self.database_url)
        self.web_port = free_port()
        public_url = f"http://127.0.0.1:{self.web_port}"
        self.tiktok = TikTokEmulator(
            app_key=APP_KEY, app_secret=APP_SECRET, service_id=SERVICE_ID, seed=o.seed, seed_returns=0, rps=0,
            webhook_url=f"{public_url}/webhooks/tiktok", subprocess=True,  # its own process: its own CPU
        ).start()
        self.shopify = ShopifyEmulator(seed=o.seed, seed_orders=0).start()
        self.tiktok_control = httpx.Client(base_url=f"{self.tiktok.base_url}/_emulator", timeout=60)
        self.shopify_control = httpx.Client(base_url=f"{self.shopify.base_url}/_emulator", timeout=60)
        # A Shopify Plus store's API limits (1,000 points a second): the standard 100 make the cost bucket, not the
        # faults, the pace of a run of thousands of cases (see the mirroring benchmark in the README).
        self.call_shopify("POST", "/config", {"maximum_available": 10000, "restore_rate": 1000})
        self.queue_name = f"rb-chaos-{uuid.uuid4().hex[:8]}"
        self.runtime = Runtime.from_settings(self.settings())
        self._connect_shops()
        self.store = ChaosStore(self.shopify, [s.account_id for s in self.shops])
        self.store.create_store()
        self.store.add_to_returnbridge(self.runtime)
        return self

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
        if self.runtime is not None:
            self.runtime.close()
        for client in (self.tiktok_control, self.shopify_control):
            if client is not None:
                client.close()
        for server in (self.tiktok, self.shopify):
            if server is not None:
                server.stop()
        if self.options.redis_url and not self.options.single_process:
            import redis

            connection = redis.Redis.from_url(self.options.redis_url)
            keys = list(connection.scan_iter(f"*{self.queue_name}*"))
            if keys:
                connection.delete(*keys)
            connection.close()
        if self.postgres_name:
            admin = create_engine(normalise_url(self.options.postgres_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.postgres_name}" WITH (FORCE)'))
            admin.dispose()

    def _create_database(self) -> str:
        o = self.options
        if o.single_process:
            path = (o.workdir / f"chaos-{o.seed}.sqlite3").resolve()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return f"sqlite:///{path}"
        if not o.postgres_url or not o.redis_url:
            raise SystemExit("the PostgreSQL chaos run needs RETURNBRIDGE_TEST_POSTGRES_URL and "
                             "RETURNBRIDGE_TEST_REDIS_URL (or RETURNBRIDGE_CHAOS_POSTGRES_URL / _REDIS_URL)")
        self.postgres_name = f"rb_chaos_{uuid.uuid4().hex[:10]}"
        admin = create_engine(normalise_url(o.postgres_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.postgres_name}"'))
        admin.dispose()
        url = make_url(normalise_url(o.postgres_url)).set(database=self.postgres_name)
        return url.render_as_string(hide_password=False)

    # --- settings shared by every process of the run -------------------------------------------------------------

    def settings(self) -> Settings:
        assert self.tiktok is not None
        o = self.options
        values: dict[str, Any] = {
            "var_dir": (o.workdir / "var").resolve(),
            "database_url": self.database_url,
            "redis_url": None if o.single_process else o.redis_url,
            "queue_name": self.queue_name,
            "secret_key": "chaos-run-secret-key",
            "tiktok_app_key": APP_KEY,
            "tiktok_app_secret": APP_SECRET,
            "tiktok_service_id": SERVICE_ID,
            "tiktok_api_base": self.tiktok.base_url,
            "tiktok_auth_base": self.tiktok.base_url,
            "tiktok_authorize_url": f"{self.tiktok.base_url}/open/authorize",
            "tiktok_rate_per_second": 1000.0,
            "tiktok_subscribe_webhooks": False,  # the emulator's default URL already points at our receiver
            "public_url": f"http://127.0.0.1:{self.web_port}",
            "sync_interval_minutes": 1,
            "queue_workers": 4,
        }
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    def process_env(self) -> dict[str, str]:
        """The environment of the run's `returnbridge` processes (nothing RETURNBRIDGE_ inherited)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RETURNBRIDGE_")}
        for name, value in self.settings().model_dump().items():
            if value is None:
                continue
            env[f"RETURNBRIDGE_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
        return env

    # --- shops ---------------------------------------------------------------------------------------------------

    def call_tiktok(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        assert self.tiktok_control is not None
        response = self.tiktok_control.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    def call_shopify(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        assert self.shopify_control is not None
        response = self.shopify_control.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    def _connect_shops(self) -> None:
        assert self.runtime is not None
        for number in range(self.options.shops):
            # A seller per shop, so an expired token touches one shop, as it would for a real merchant's seller.
            shop = self.call_tiktok("POST", "/shops", {"region": "US", "currency": "USD",
                                                       "name": f"Chaos shop {number}"})
            tokens = TokenSet.model_validate(self.call_tiktok("POST", "/auth/token", {"shop_id": shop["id"]}))
            with transaction(self.runtime.sessions) as session:
                account = AccountRepository(session, self.runtime.box).connect(
                    ShopIdentity(shop_id=shop["id"], shop_cipher=shop["cipher"], shop_name=shop["name"],
                                 region="US"),
                    stored_tokens(tokens),
                )
                self.shops.append(Shop(shop["id"], shop["cipher"], shop["seller_id"], account.id))
