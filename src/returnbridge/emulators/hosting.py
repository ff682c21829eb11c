"""Serving an emulator's ASGI app for a ``with`` block: on a thread of this process (the emulator's state is then
reachable in-process) or as a child process (for load generation). Hosting only; what each platform does is in its
own package, which keeps every emulator an independent reading of its platform's documentation."""

from __future__ import annotations

import contextlib
import socket
import subprocess as sp
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any, Self

import httpx
import uvicorn


def uvicorn_config(app: Any, host: str, port: int, *, fast: bool = False, lifespan: str = "off") -> uvicorn.Config:
    """``fast`` serves with uvloop and httptools, for emulators that benchmarks load hard."""
    extra: dict[str, Any] = {"loop": "uvloop", "http": "httptools"} if fast else {}
    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, timeout_keep_alive=30,
                          lifespan=lifespan, **extra)


def public_host(host: str) -> str:
    """The address a client dials for a server bound to ``host`` (a wildcard bind is reached on loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


class HostedEmulator(ABC):
    """Subclasses name the emulator (``title``, ``module``) and say how to build it (``build``) and how to start it
    as ``python -m <module>`` (``arguments``). ``port=0`` picks a free port; ``base_url`` is set once started, and
    ``addressed`` runs then (before the first request) for emulators that print their own URLs."""

    title = "emulator"
    module = ""
    fast = False  # uvloop + httptools
    lifespan = "off"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, subprocess: bool = False,
                 startup_timeout: float = 60.0) -> None:
        self.host, self.port = host, port
        self.subprocess = subprocess
        self.startup_timeout = startup_timeout
        self.emulator: Any = None
        self.base_url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._process: sp.Popen[bytes] | None = None
        self._stderr: Any = None

    @abstractmethod
    def build(self) -> Any:
        """The emulator object; its ``app`` attribute is the ASGI app."""

    @abstractmethod
    def arguments(self) -> list[str]:
        """Command-line options for ``python -m <module>`` besides ``--host`` and ``--port``."""

    def asgi_app(self) -> Any:
        return self.emulator.app

    def addressed(self) -> None:
        """Runs once ``base_url`` is known, in thread mode, before the emulator serves; most need nothing then."""
        return None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> Self:
        if self.subprocess:
            self._start_process()
            return self
        self.emulator = self.build()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = int(sock.getsockname()[1])
        self.base_url = f"http://{public_host(self.host)}:{self.port}"
        self.addressed()
        config = uvicorn_config(self.asgi_app(), self.host, self.port, fast=self.fast, lifespan=self.lifespan)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"{self.module.rsplit('.', 1)[-1]}-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the {self.title} emulator did not start")
            time.sleep(0.01)
        return self

    def _start_process(self) -> None:
        if self.port == 0:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((self.host, 0))
                self.port = int(probe.getsockname()[1])
        self.base_url = f"http://{public_host(self.host)}:{self.port}"
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - open for the child's lifetime, shown if it fails
        self._process = sp.Popen([sys.executable, "-m", self.module, "--host", self.host, "--port", str(self.port),
                                  *self.arguments()], stdout=sp.DEVNULL, stderr=self._stderr)
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(f"the {self.title} emulator exited early:\n{self._stderr_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.base_url}/_emulator/health").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    tail = self._stderr_tail()
                    self.stop()
                    raise RuntimeError(f"the {self.title} emulator did not answer in time:\n{tail}")
                time.sleep(0.05)

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return str(self._stderr.read().decode("utf-8", "replace")[-4000:])

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
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


class HostedApp(HostedEmulator):
    """An emulator whose built object is the ASGI app itself and learns its own URL (``set_base_url``), for the
    links and webhooks it writes."""

    def asgi_app(self) -> Any:
        return self.emulator

    def addressed(self) -> None:
        if self.emulator is not None:
            self.emulator.set_base_url(self.base_url)

    @property
    def app(self) -> Any:
        return self.emulator
