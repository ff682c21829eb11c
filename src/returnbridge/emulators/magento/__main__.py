"""``python -m returnbridge.emulators.magento``: the emulator's own command line, mirroring
``returnbridge emulator magento``."""

from __future__ import annotations

import argparse

from .server import run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m returnbridge.emulators.magento",
                                     description="Magento 2 / Adobe Commerce REST emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", type=int, default=42, help="seed of the deterministic data generator")
    parser.add_argument("--seed-orders", type=int, default=12, help="orders seeded in the default installation")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every REST answer")
    args = parser.parse_args(argv)
    run(host=args.host, port=args.port, seed=args.seed, seed_orders=args.seed_orders, latency_ms=args.latency_ms)


if __name__ == "__main__":
    main()
