"""``python -m returnbridge.emulators.tiktok``: the emulator's own command line, mirroring
``returnbridge emulator tiktok``."""

from __future__ import annotations

import argparse

from .server import run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m returnbridge.emulators.tiktok",
                                     description="TikTok Shop Partner API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--app-key", required=True)
    parser.add_argument("--app-secret", required=True)
    parser.add_argument("--service-id", default="emulator-service")
    parser.add_argument("--redirect-url", default=None, help="where the consent page sends code and state")
    parser.add_argument("--seed-returns", type=int, default=0, help="returns seeded at start-up")
    parser.add_argument("--seed", type=int, default=42, help="seed of the deterministic data generator")
    parser.add_argument("--webhook-url", default=None, help="default webhook address for every shop")
    parser.add_argument("--rps", type=float, default=50.0, help="requests/s per (app, shop, API); 0 = unlimited")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every open-API answer")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="probability of an injected failure")
    parser.add_argument("--time-scale", type=float, default=1.0, help="business seconds per real second")
    args = parser.parse_args(argv)
    run(
        host=args.host,
        port=args.port,
        app_key=args.app_key,
        app_secret=args.app_secret,
        service_id=args.service_id,
        redirect_url=args.redirect_url,
        seed_returns=args.seed_returns,
        seed=args.seed,
        webhook_url=args.webhook_url,
        rps=args.rps,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        time_scale=args.time_scale,
    )


if __name__ == "__main__":
    main()
