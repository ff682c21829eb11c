"""Running the emulator: ``run`` (blocking, for the CLI) and ``EmulatorServer`` (tests, benchmarks).

``EmulatorServer`` serves from a background thread by default (``server.world`` is then reachable);
``subprocess=True`` runs ``python -m returnbridge.emulators.magento`` in a child process, where everything goes
through HTTP. ``base_url`` is the default installation's origin: its REST root is ``{base_url}/rest/default``
(``rest_url``); other installations made through the control API live under ``{base_url}/stores/{name}``.
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
from .world import DEFAULT_INTEGRATION_TOKEN, DEFAULT_USER, World


def _config(app: EmulatorApp, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, loop="uvloop", http="httptools", lifespan="off",
                          log_level="warning", access_log=False, timeout_keep_alive=30)


def _public_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def run(*, host: str = "127.0.0.1", port: int, seed: int = 42, seed_orders: int = 12, latency_ms: int = 0) -> None:
    """Serve until interrupted; prints one line with the REST root, the credentials and the control API."""
    app = EmulatorApp(seed=seed, seed_orders=seed_orders, latency_ms=latency_ms)
    base_url = f"http://{_public_host(host)}:{port}"
    app.set_base_url(base_url)
    print(f"Magento 2 REST emulator on {base_url}/rest/default/V1/ (admin {DEFAULT_USER[0]} / {DEFAULT_USER[1]}, "
          f"integration token {DEFAULT_INTEGRATION_TOKEN}); control API: {base_url}/_emulator/ "
          "(docs/emulator-magento.md)", flush=True)
    uvicorn.Server(_config(app, host, port)).run()


class EmulatorServer:
    """A running Magento emulator for the duration of a ``with`` block; ``port=0`` picks a free port."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, seed: int = 42, seed_orders: int = 0,
                 latency_ms: int = 0, subprocess: bool = False, startup_timeout: float = 60.0) -> None:
        self.host = host
        self.port = port
        self.subprocess = subprocess
        self.startup_timeout = startup_timeout
        self._options: dict[str, Any] = {"seed": seed, "seed_orders": seed_orders, "latency_ms": latency_ms}
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
    def rest_url(self) -> str:
        return f"{self.base_url}/rest/default"

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
                                        name="magento-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the Magento emulator did not start")
            time.sleep(0.01)

    def _start_process(self) -> None:
        if self.port == 0:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((self.host, 0))
                self.port = int(probe.getsockname()[1])
        self.base_url = f"http://{_public_host(self.host)}:{self.port}"
        o = self._options
        command = [sys.executable, "-m", "returnbridge.emulators.magento", "--host", self.host, "--port",
                   str(self.port), "--seed", str(o["seed"]), "--seed-orders", str(o["seed_orders"]),
                   "--latency-ms", str(o["latency_ms"])]
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - open for the child's lifetime
        self._process = sp.Popen(command, stdout=sp.DEVNULL, stderr=self._stderr)
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(f"the Magento emulator exited early:\n{self._stderr_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.base_url}/_emulator/health").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    tail = self._stderr_tail()
                    self.stop()
                    raise RuntimeError(f"the Magento emulator did not answer in time:\n{tail}")
                time.sleep(0.05)

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")[-4000:]
