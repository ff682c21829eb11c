"""Running the emulator: ``run`` (blocking, for the CLI) and ``EmulatorServer`` (tests, demo, benchmarks).

Like the TikTok emulator, ``EmulatorServer`` serves from a background thread by default (``server.world`` and
``server.app`` are then reachable); ``subprocess=True`` runs ``python -m returnbridge.emulators.shopify`` in a child
process for load generation, where everything goes through HTTP.
"""

from __future__ import annotations

from typing import Any

import uvicorn

from ..hosting import HostedApp, public_host, uvicorn_config
from .app import EmulatorApp
from .seed import DEFAULT_DOMAIN, DEFAULT_TOKEN
from .world import World


def run(*, host: str = "127.0.0.1", port: int, token: str = DEFAULT_TOKEN, domain: str = DEFAULT_DOMAIN,
        seed: int = 42, seed_orders: int = 12, maximum_available: float = 2000.0, restore_rate: float = 100.0,
        latency_ms: int = 0, fault_rate: float = 0.0) -> None:
    """Serve until interrupted; prints one line with the GraphQL URL, the token and the control API."""
    app = EmulatorApp(seed=seed, token=token, domain=domain, seed_orders=seed_orders,
                      maximum_available=maximum_available, restore_rate=restore_rate, latency_ms=latency_ms,
                      fault_rate=fault_rate)
    base_url = f"http://{public_host(host)}:{port}"
    app.set_base_url(base_url)
    print(f"Shopify Admin GraphQL emulator on {base_url}/admin/api/2026-04/graphql.json "
          f"(store {domain}, X-Shopify-Access-Token: {token}); control API: {base_url}/_emulator/ "
          "(docs/emulator-shopify.md)", flush=True)
    uvicorn.Server(uvicorn_config(app, host, port, fast=True, lifespan="on")).run()


class EmulatorServer(HostedApp):
    """A running Shopify emulator for the duration of a ``with`` block; ``port=0`` picks a free port.

    ``base_url`` is the shop origin: the GraphQL endpoint is ``{base_url}/admin/api/2026-04/graphql.json``
    (``graphql_url``) and the control API ``{base_url}/_emulator/``.
    """

    title = "Shopify"
    module = "returnbridge.emulators.shopify"
    fast = True
    lifespan = "on"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, token: str = DEFAULT_TOKEN,
                 domain: str = DEFAULT_DOMAIN, seed: int = 42, seed_orders: int = 12,
                 maximum_available: float = 2000.0, restore_rate: float = 100.0, latency_ms: int = 0,
                 fault_rate: float = 0.0, subprocess: bool = False, startup_timeout: float = 60.0) -> None:
        super().__init__(host=host, port=port, subprocess=subprocess, startup_timeout=startup_timeout)
        self.token = token
        self.domain = domain
        self._options: dict[str, Any] = {
            "token": token, "domain": domain, "seed": seed, "seed_orders": seed_orders,
            "maximum_available": maximum_available, "restore_rate": restore_rate, "latency_ms": latency_ms,
            "fault_rate": fault_rate,
        }
        self.emulator: EmulatorApp | None = None

    def build(self) -> EmulatorApp:
        return EmulatorApp(**self._options)

    def arguments(self) -> list[str]:
        o = self._options
        return ["--token", o["token"], "--domain", o["domain"], "--seed", str(o["seed"]),
                "--seed-orders", str(o["seed_orders"]), "--maximum-available", str(o["maximum_available"]),
                "--restore-rate", str(o["restore_rate"]), "--latency-ms", str(o["latency_ms"]),
                "--fault-rate", str(o["fault_rate"])]

    @property
    def world(self) -> World | None:
        return self.emulator.world if self.emulator is not None else None

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/admin/api/2026-04/graphql.json"
