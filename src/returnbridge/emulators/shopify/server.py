"""Running the emulator: ``run`` (blocking, for the CLI) and ``EmulatorServer`` (tests, demo, benchmarks).

Like the TikTok emulator, ``EmulatorServer`` serves from a background thread by default (``server.world`` and
``server.app`` are then reachable); ``subprocess=True`` runs ``python -m returnbridge.emulators.shopify`` in a child
process for load generation, where everything goes through HTTP.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess as sp
import sys
import tempfile
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from .app import EmulatorApp
from .seed import DEFAULT_DOMAIN, DEFAULT_TOKEN
from .world import World


def _config(app: EmulatorApp, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, loop="uvloop", http="httptools", lifespan="on",
                          log_level="warning", access_log=False, timeout_keep_alive=30)


def _public_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def run(*, host: str = "127.0.0.1", port: int, token: str = DEFAULT_TOKEN, domain: str = DEFAULT_DOMAIN,
        seed: int = 42, seed_orders: int = 12, maximum_available: float = 2000.0, restore_rate: float = 100.0,
        latency_ms: int = 0, fault_rate: float = 0.0) -> None:
    """Serve until interrupted; prints one line with the GraphQL URL, the token and the control API."""
    app = EmulatorApp(seed=seed, token=token, domain=domain, seed_orders=seed_orders,
                      maximum_available=maximum_available, restore_rate=restore_rate, latency_ms=latency_ms,
                      fault_rate=fault_rate)
    base_url = f"http://{_public_host(host)}:{port}"
    app.set_base_url(base_url)
    print(f"Shopify Admin GraphQL emulator on {base_url}/admin/api/2026-04/graphql.json "
          f"(store {domain}, X-Shopify-Access-Token: {token}); control API: {base_url}/_emulator/ "
          "(docs/emulator-shopify.md)", flush=True)
    uvicorn.Server(_config(app, host, port)).run()


class EmulatorServer:
    """A running Shopify emulator for the duration of a ``with`` block; ``port=0`` picks a free port.

    ``base_url`` is the shop origin: the GraphQL endpoint is ``{base_url}/admin/api/2026-04/graphql.json``
    (``graphql_url``) and the control API ``{base_url}/_emulator/``.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, token: str = DEFAULT_TOKEN,
                 domain: str = DEFAULT_DOMAIN, seed: int = 42, seed_orders: int = 12,
                 maximum_available: float = 2000.0, restore_rate: float = 100.0, latency_ms: int = 0,
                 fault_rate: float = 0.0, subprocess: bool = False, startup_timeout: float = 60.0) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.domain = domain
        self.subprocess = subprocess
        self.startup_timeout = startup_timeout
        self._options: dict[str, Any] = {
            "token": token, "domain": domain, "seed": seed, "seed_orders": seed_orders,
            "maximum_available": maximum_available, "restore_rate": restore_rate, "latency_ms": latency_ms,
            "fault_rate": fault_rate,
        }
        self.app: EmulatorApp | None = None
        self.base_url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._process: sp.Popen[bytes] | None = None
        self._stderr: Any = None

    @property
    def world(self) -> World | None:
        return self.app.world if self.app is not None else None

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/admin/api/2026-04/graphql.json"

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
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
        self.app = EmulatorApp(**self._options)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = int(sock.getsockname()[1])
        self.base_url = f"http://{_public_host(self.host)}:{self.port}"
        self.app.set_base_url(self.base_url)
        self._server = uvicorn.Server(_config(self.app, self.host, self.port))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="shopify-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the Shopify emulator did not start")
            time.sleep(0.01)

    def _start_process(self) -> None:
        if self.port == 0:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((self.host, 0))
                self.port = int(probe.getsockname()[1])
        self.base_url = f"http://{_public_host(self.host)}:{self.port}"
        o = self._options
        command = [sys.executable, "-m", "returnbridge.emulators.shopify", "--host", self.host,
                   "--port", str(self.port), "--token", o["token"], "--domain", o["domain"], "--seed", str(o["seed"]),
                   "--seed-orders", str(o["seed_orders"]), "--maximum-available", str(o["maximum_available"]),
                   "--restore-rate", str(o["restore_rate"]), "--latency-ms", str(o["latency_ms"]),
                   "--fault-rate", str(o["fault_rate"])]
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - open for the child's lifetime
        self._process = sp.Popen(command, stdout=sp.DEVNULL, stderr=self._stderr)
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(f"the Shopify emulator exited early:\n{self._stderr_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.base_url}/_emulator/health").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    tail = self._stderr_tail()
                    self.stop()
                    raise RuntimeError(f"the Shopify emulator did not answer in time:\n{tail}")
                time.sleep(0.05)

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")[-4000:]
