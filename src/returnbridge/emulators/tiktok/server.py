"""Running the emulator: ``run`` (blocking, for the CLI) and ``EmulatorServer`` (tests, demo, benchmarks).

``EmulatorServer`` serves from a background thread of the calling process by default, which lets a test reach
``server.world`` directly. A load generator in the same process would fight that thread for the GIL, so
benchmarks pass ``subprocess=True``: the emulator then runs as ``python -m returnbridge.emulators.tiktok`` in a
child process, ``world`` is None, and everything goes through the HTTP and control APIs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import uvicorn

from ..hosting import HostedApp, public_host, uvicorn_config
from .app import EmulatorApp, create_app
from .clock import Clock

if TYPE_CHECKING:
    from .world import World

DEFAULT_APP_KEY = "emulator-app-key"
DEFAULT_APP_SECRET = "emulator-app-secret"


def _build(
    *,
    app_key: str,
    app_secret: str,
    service_id: str,
    redirect_url: str | None,
    seed_returns: int,
    seed: int,
    webhook_url: str | None,
    rps: float,
    latency_ms: int,
    fault_rate: float,
    time_scale: float,
) -> tuple[World, EmulatorApp]:
    from .world import World

    world = World(seed=seed, seed_returns=seed_returns, clock=Clock(time_scale=time_scale))
    app = create_app(
        world,
        app_key=app_key,
        app_secret=app_secret,
        service_id=service_id,
        redirect_url=redirect_url,
        webhook_url=webhook_url,
        rps=rps,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        seed=seed,
    )
    return world, app


def run(
    *,
    host: str = "127.0.0.1",
    port: int,
    app_key: str,
    app_secret: str,
    service_id: str = "emulator-service",
    redirect_url: str | None = None,
    seed_returns: int = 0,
    seed: int = 42,
    webhook_url: str | None = None,
    rps: float = 50.0,
    latency_ms: int = 0,
    fault_rate: float = 0.0,
    time_scale: float = 1.0,
) -> None:
    """Serve until interrupted. Prints one line with the base URL, the app key and where the control API is."""
    _, app = _build(
        app_key=app_key, app_secret=app_secret, service_id=service_id, redirect_url=redirect_url,
        seed_returns=seed_returns, seed=seed, webhook_url=webhook_url, rps=rps, latency_ms=latency_ms,
        fault_rate=fault_rate, time_scale=time_scale,
    )
    base_url = f"http://{public_host(host)}:{port}"
    app.set_base_url(base_url)
    print(
        f"TikTok Shop emulator on {base_url} (app_key {app_key}); "
        f"control API: {base_url}/_emulator/ (GET it for the list; docs/emulator-tiktok.md)",
        flush=True,
    )
    uvicorn.Server(uvicorn_config(app, host, port, fast=True, lifespan="on")).run()


class EmulatorServer(HostedApp):
    """A running emulator for the duration of a ``with`` block.

    ``port=0`` picks a free port. In thread mode the listening socket is bound before the thread starts, so
    ``base_url`` is known at once; in subprocess mode a free port is chosen and handed to the child.
    """

    title = "TikTok"
    module = "returnbridge.emulators.tiktok"
    fast = True
    lifespan = "on"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        app_key: str = DEFAULT_APP_KEY,
        app_secret: str = DEFAULT_APP_SECRET,
        service_id: str = "emulator-service",
        redirect_url: str | None = None,
        seed_returns: int = 0,
        seed: int = 42,
        webhook_url: str | None = None,
        rps: float = 50.0,
        latency_ms: int = 0,
        fault_rate: float = 0.0,
        time_scale: float = 1.0,
        subprocess: bool = False,
        startup_timeout: float = 120.0,
    ) -> None:
        super().__init__(host=host, port=port, subprocess=subprocess, startup_timeout=startup_timeout)
        self.app_key = app_key
        self.app_secret = app_secret
        self.service_id = service_id
        self._options: dict[str, Any] = {
            "app_key": app_key, "app_secret": app_secret, "service_id": service_id, "redirect_url": redirect_url,
            "seed_returns": seed_returns, "seed": seed, "webhook_url": webhook_url, "rps": rps,
            "latency_ms": latency_ms, "fault_rate": fault_rate, "time_scale": time_scale,
        }
        self.world: World | None = None
        self.emulator: EmulatorApp | None = None

    def build(self) -> EmulatorApp:
        self.world, app = _build(**self._options)
        return app

    def arguments(self) -> list[str]:
        options = self._options
        arguments = [
            "--app-key", options["app_key"], "--app-secret", options["app_secret"],
            "--service-id", options["service_id"],
            "--seed-returns", str(options["seed_returns"]), "--seed", str(options["seed"]),
            "--rps", str(options["rps"]), "--latency-ms", str(options["latency_ms"]),
            "--fault-rate", str(options["fault_rate"]), "--time-scale", str(options["time_scale"]),
        ]
        if options["webhook_url"]:
            arguments += ["--webhook-url", options["webhook_url"]]
        if options["redirect_url"]:
            arguments += ["--redirect-url", options["redirect_url"]]
        return arguments
