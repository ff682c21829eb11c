"""Running the emulator: ``run`` (blocking, for the CLI) and ``EmulatorServer`` (tests, demo, benchmarks).

``EmulatorServer`` serves from a background thread by default (``server.emulator`` is then reachable);
``subprocess=True`` runs ``python -m returnbridge.emulators.woocommerce`` in a child process, for load generation.
"""

from __future__ import annotations

import uvicorn

from ..hosting import HostedEmulator, public_host, uvicorn_config
from .app import DEFAULT_KEY, DEFAULT_SECRET, WooEmulator


def run(*, host: str = "127.0.0.1", port: int, consumer_key: str = DEFAULT_KEY,
        consumer_secret: str = DEFAULT_SECRET, latency_ms: int = 0) -> None:
    emulator = WooEmulator(consumer_key=consumer_key, consumer_secret=consumer_secret, latency_ms=latency_ms)
    shown = public_host(host)
    print(f"WooCommerce REST v3 emulator on http://{shown}:{port}/wp-json/wc/v3/ (consumer key {consumer_key}); "
          f"control API: http://{shown}:{port}/_emulator/ (docs/emulator-woocommerce.md)", flush=True)
    uvicorn.Server(uvicorn_config(emulator.app, host, port)).run()


class EmulatorServer(HostedEmulator):
    """A running WooCommerce emulator for a ``with`` block; ``port=0`` picks a free port. ``base_url`` is the site
    origin: the API is ``{base_url}/wp-json/wc/v3/``, the control API ``{base_url}/_emulator/``."""

    title = "WooCommerce"
    module = "returnbridge.emulators.woocommerce"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, consumer_key: str = DEFAULT_KEY,
                 consumer_secret: str = DEFAULT_SECRET, latency_ms: int = 0, subprocess: bool = False) -> None:
        super().__init__(host=host, port=port, subprocess=subprocess)
        self.consumer_key, self.consumer_secret = consumer_key, consumer_secret
        self.latency_ms = latency_ms
        self.emulator: WooEmulator | None = None

    def build(self) -> WooEmulator:
        return WooEmulator(consumer_key=self.consumer_key, consumer_secret=self.consumer_secret,
                           latency_ms=self.latency_ms)

    def arguments(self) -> list[str]:
        return ["--consumer-key", self.consumer_key, "--consumer-secret", self.consumer_secret,
                "--latency-ms", str(self.latency_ms)]
