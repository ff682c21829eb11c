"""``python -m returnbridge.emulators.shopify``: the emulator's own command line, mirroring
``returnbridge emulator shopify``."""

from __future__ import annotations

import argparse

from .seed import DEFAULT_DOMAIN, DEFAULT_TOKEN
from .server import run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m returnbridge.emulators.shopify",
                                     description="Shopify Admin GraphQL API (2026-04) emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="access token of the seeded store")
    parser.add_argument("--domain", default=DEFAULT_DOMAIN, help="domain of the seeded store")
    parser.add_argument("--seed", type=int, default=42, help="seed of the deterministic data generator")
    parser.add_argument("--seed-orders", type=int, default=12, help="orders seeded in the default store")
    parser.add_argument("--maximum-available", type=float, default=2000.0, help="cost bucket size per store")
    parser.add_argument("--restore-rate", type=float, default=100.0, help="cost points restored per second")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every GraphQL answer")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="probability of an injected failure")
    args = parser.parse_args(argv)
    run(host=args.host, port=args.port, token=args.token, domain=args.domain, seed=args.seed,
        seed_orders=args.seed_orders, maximum_available=args.maximum_available, restore_rate=args.restore_rate,
        latency_ms=args.latency_ms, fault_rate=args.fault_rate)


if __name__ == "__main__":
    main()
