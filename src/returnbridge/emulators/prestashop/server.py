"""Running the emulator: ``run`` (blocking, for the CLI) and ``EmulatorServer`` (tests, demo, benchmarks).

``EmulatorServer`` serves from a background thread by default (``server.emulator`` is then reachable);
``subprocess=True`` runs ``python -m returnbridge.emulators.prestashop`` in a child process, for load generation.
"""

from __future__ import annotations

import uvicorn

from ..hosting import HostedEmulator, public_host, uvicorn_config
from .app import DEFAULT_KEY, PrestaEmulator


def run(*, host: str = "127.0.0.1", port: int, key: str = DEFAULT_KEY) -> None:
    emulator = PrestaEmulator(key=key)
    shown = public_host(host)
    print(f"PrestaShop webservice emulator on http://{shown}:{port}/api/ (webservice key {key}); "
          f"control API: http://{shown}:{port}/_emulator/ (docs/emulator-prestashop.md)", flush=True)
    uvicorn.Server(uvicorn_config(emulator.app, host, port)).run()


class EmulatorServer(HostedEmulator):
    """A running PrestaShop emulator for a ``with`` block; ``port=0`` picks a free port. ``base_url`` is the site
    origin: the API is ``{base_url}/api/``, the control API ``{base_url}/_emulator/``."""

    title = "PrestaShop"
    module = "returnbridge.emulators.prestashop"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, key: str = DEFAULT_KEY,
                 subprocess: bool = False) -> None:
        super().__init__(host=host, port=port, subprocess=subprocess)
        self.key = key
        self.emulator: PrestaEmulator | None = None

    def build(self) -> PrestaEmulator:
        return PrestaEmulator(key=self.key)

    def arguments(self) -> list[str]:
        return ["--key", self.key]
