"""Running the emulator: ``run`` (blocking, for the CLI) and ``EmulatorServer`` (tests, benchmarks).

``EmulatorServer`` serves from a background thread by default (``server.world`` is then reachable);
``subprocess=True`` runs ``python -m returnbridge.emulators.magento`` in a child process, where everything goes
through HTTP. ``base_url`` is the default installation's origin: its REST root is ``{base_url}/rest/default``
(``rest_url``); other installations made through the control API live under ``{base_url}/stores/{name}``.
"""

from __future__ import annotations

import uvicorn

from ..hosting import HostedApp, public_host, uvicorn_config
from .app import EmulatorApp
from .world import DEFAULT_INTEGRATION_TOKEN, DEFAULT_USER, World


def run(*, host: str = "127.0.0.1", port: int, seed: int = 42, seed_orders: int = 12, latency_ms: int = 0) -> None:
    """Serve until interrupted; prints one line with the REST root, the credentials and the control API."""
    app = EmulatorApp(seed=seed, seed_orders=seed_orders, latency_ms=latency_ms)
    base_url = f"http://{public_host(host)}:{port}"
    app.set_base_url(base_url)
    print(f"Magento 2 REST emulator on {base_url}/rest/default/V1/ (admin {DEFAULT_USER[0]} / {DEFAULT_USER[1]}, "
          f"integration token {DEFAULT_INTEGRATION_TOKEN}); control API: {base_url}/_emulator/ "
          "(docs/emulator-magento.md)", flush=True)
    uvicorn.Server(uvicorn_config(app, host, port, fast=True)).run()


class EmulatorServer(HostedApp):
    """A running Magento emulator for the duration of a ``with`` block; ``port=0`` picks a free port."""

    title = "Magento"
    module = "returnbridge.emulators.magento"
    fast = True

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, seed: int = 42, seed_orders: int = 0,
                 latency_ms: int = 0, subprocess: bool = False, startup_timeout: float = 60.0) -> None:
        super().__init__(host=host, port=port, subprocess=subprocess, startup_timeout=startup_timeout)
        self.seed, self.seed_orders, self.latency_ms = seed, seed_orders, latency_ms
        self.emulator: EmulatorApp | None = None

    def build(self) -> EmulatorApp:
        return EmulatorApp(seed=self.seed, seed_orders=self.seed_orders, latency_ms=self.latency_ms)

    def arguments(self) -> list[str]:
        return ["--seed", str(self.seed), "--seed-orders", str(self.seed_orders), "--latency-ms",
                str(self.latency_ms)]

    @property
    def world(self) -> World | None:
        return self.emulator.world if self.emulator is not None else None

    @property
    def rest_url(self) -> str:
        return f"{self.base_url}/rest/default"
