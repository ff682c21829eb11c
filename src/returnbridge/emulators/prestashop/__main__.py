"""``python -m returnbridge.emulators.prestashop``, mirroring ``returnbridge emulator prestashop``."""

from __future__ import annotations

import argparse

from .app import DEFAULT_KEY
from .server import run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m returnbridge.emulators.prestashop",
                                     description="PrestaShop webservice emulator (orders, order_slip, stock)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", default=DEFAULT_KEY, help="the webservice key")
    args = parser.parse_args(argv)
    run(host=args.host, port=args.port, key=args.key)


if __name__ == "__main__":
    main()
