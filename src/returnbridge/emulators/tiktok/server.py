"""Running the emulator: ``run`` (blocking, for the CLI) and ``EmulatorServer`` (tests, demo, benchmarks).

``EmulatorServer`` serves from a background thread of the calling process by default, which lets a test reach
``server.world`` directly. A load generator in the same process would fight that thread for the GIL, so
benchmarks pass ``subprocess=True``: the emulator then runs as ``python -m returnbridge.emulators.tiktok`` in a
child process, ``world`` is None, and everything goes through the HTTP and control APIs.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess as sp
import sys
import tempfile
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn

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


def _uvicorn_config(app: EmulatorApp, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level="warning",
        access_log=False,
        # Keep-alive longer than any benchmark pause; the client decides when to close.
        timeout_keep_alive=30,
    )


def _public_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


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
    base_url = f"http://{_public_host(host)}:{port}"
    app.set_base_url(base_url)
    print(
        f"TikTok Shop emulator on {base_url} (app_key {app_key}); "
        f"control API: {base_url}/_emulator/ (GET it for the list; docs/emulator-tiktok.md)",
        flush=True,
    )
    uvicorn.Server(_uvicorn_config(app, host, port)).run()


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class EmulatorServer:
    """A running emulator for the duration of a ``with`` block.

    ``port=0`` picks a free port. In thread mode the listening socket is bound before the thread starts, so
    ``base_url`` is known at once; in subprocess mode a free port is chosen and handed to the child.
    """

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
        self.host = host
        self.port = port
        self.app_key = app_key
        self.app_secret = app_secret
        self.service_id = service_id
        self.subprocess = subprocess
        self.startup_timeout = startup_timeout
        self._options: dict[str, Any] = {
            "app_key": app_key, "app_secret": app_secret, "service_id": service_id, "redirect_url": redirect_url,
            "seed_returns": seed_returns, "seed": seed, "webhook_url": webhook_url, "rps": rps,
            "latency_ms": latency_ms, "fault_rate": fault_rate, "time_scale": time_scale,
        }
        self.world: World | None = None
        self.app: EmulatorApp | None = None
        self.base_url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._process: sp.Popen[bytes] | None = None
        self._stderr: Any = None

    # --- lifecycle -------------------------------------------------------------------------------------------------

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> EmulatorServer:
        if self.subprocess:
            self._start_process()
        else:
            self._start_thread()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(15)
            self._server = None
            self._thread = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except sp.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
            self._process = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _start_thread(self) -> None:
        self.world, self.app = _build(**self._options)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = int(sock.getsockname()[1])
        self.base_url = f"http://{_public_host(self.host)}:{self.port}"
        self.app.set_base_url(self.base_url)
        self._server = uvicorn.Server(_uvicorn_config(self.app, self.host, self.port))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="tiktok-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the TikTok emulator did not start")
            time.sleep(0.01)

    def _start_process(self) -> None:
        if self.port == 0:
            self.port = _free_port(self.host)
        self.base_url = f"http://{_public_host(self.host)}:{self.port}"
        options = self._options
        command = [
            sys.executable, "-m", "returnbridge.emulators.tiktok",
            "--host", self.host, "--port", str(self.port),
            "--app-key", options["app_key"], "--app-secret", options["app_secret"],
            "--service-id", options["service_id"],
            "--seed-returns", str(options["seed_returns"]), "--seed", str(options["seed"]),
            "--rps", str(options["rps"]), "--latency-ms", str(options["latency_ms"]),
            "--fault-rate", str(options["fault_rate"]), "--time-scale", str(options["time_scale"]),
        ]
        if options["webhook_url"]:
            command += ["--webhook-url", options["webhook_url"]]
        if options["redirect_url"]:
            command += ["--redirect-url", options["redirect_url"]]
        # Kept open for the child's lifetime (closed in stop()), so a failed start can show its traceback.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self._process = sp.Popen(command, stdout=sp.DEVNULL, stderr=self._stderr, env={**os.environ})
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(f"the TikTok emulator exited early:\n{self._stderr_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.base_url}/_emulator/health").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    tail = self._stderr_tail()
                    self.stop()
                    raise RuntimeError(f"the TikTok emulator did not answer in time:\n{tail}")
                time.sleep(0.05)

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")[-4000:]
