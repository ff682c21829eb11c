"""Running the emulator: ``run`` (blocking, for the CLI) and ``EmulatorServer`` (tests, demo, benchmarks).

``EmulatorServer`` serves from a background thread by default (``server.emulator`` is then reachable);
``subprocess=True`` runs ``python -m returnbridge.emulators.prestashop`` in a child process, for load generation.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess as sp
import sys
import threading
import time
from types import TracebackType

import httpx
import uvicorn

from .app import DEFAULT_KEY, PrestaEmulator


def _config(emulator: PrestaEmulator, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(emulator.app, host=host, port=port, log_level="warning", access_log=False,
                          timeout_keep_alive=30, lifespan="off")


def run(*, host: str = "127.0.0.1", port: int, key: str = DEFAULT_KEY) -> None:
    emulator = PrestaEmulator(key=key)
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    print(f"PrestaShop webservice emulator on http://{shown}:{port}/api/ (webservice key {key}); "
          f"control API: http://{shown}:{port}/_emulator/ (docs/emulator-prestashop.md)", flush=True)
    uvicorn.Server(_config(emulator, host, port)).run()


class EmulatorServer:
    """A running PrestaShop emulator for a ``with`` block; ``port=0`` picks a free port. ``base_url`` is the site
    origin: the API is ``{base_url}/api/``, the control API ``{base_url}/_emulator/``."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, key: str = DEFAULT_KEY,
                 subprocess: bool = False) -> None:
        self.host, self.port = host, port
        self.key = key
        self.subprocess = subprocess
        self.emulator: PrestaEmulator | None = None
        self.base_url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._process: sp.Popen[bytes] | None = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> EmulatorServer:
        if self.subprocess:
            self._start_process()
            return self
        self.emulator = PrestaEmulator(key=self.key)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = int(sock.getsockname()[1])
        self.base_url = f"http://{self.host}:{self.port}"
        self._server = uvicorn.Server(_config(self.emulator, self.host, self.port))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="prestashop-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the PrestaShop emulator did not start")
            time.sleep(0.01)
        return self

    def _start_process(self) -> None:
        if self.port == 0:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((self.host, 0))
                self.port = int(probe.getsockname()[1])
        self.base_url = f"http://{self.host}:{self.port}"
        self._process = sp.Popen([sys.executable, "-m", "returnbridge.emulators.prestashop", "--host", self.host,
                                  "--port", str(self.port), "--key", self.key],
                                 stdout=sp.DEVNULL)
        deadline = time.monotonic() + 30
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError("the PrestaShop emulator exited early")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.base_url}/_emulator/health").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the PrestaShop emulator did not answer in time")
                time.sleep(0.05)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(15)
            self._server = self._thread = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except sp.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
            self._process = None
