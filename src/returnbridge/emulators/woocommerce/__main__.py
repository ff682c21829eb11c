"""``python -m returnbridge.emulators.woocommerce``, mirroring ``returnbridge emulator woocommerce``."""

from __future__ import annotations

import argparse

from .app import DEFAULT_KEY, DEFAULT_SECRET
from .server import run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m returnbridge.emulators.woocommerce",
                                     description="WooCommerce REST API v3 emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--consumer-key", default=DEFAULT_KEY)
    parser.add_argument("--consumer-secret", default=DEFAULT_SECRET)
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args(argv)
    run(host=args.host, port=args.port, consumer_key=args.consumer_key, consumer_secret=args.consumer_secret,
        latency_ms=args.latency_ms)


if __name__ == "__main__":
    main()
