"""Benchmark: Search Returns pages per second from the TikTok emulator.

Starts the emulator as a child process (so the load generator does not share a GIL with it), seeds 100,000
returns into one shop through the control API, then pages through all of them with a bare signed httpx loop
(one keep-alive client, page_size 50, sorted by update_time) several times. Prints one JSON object:
``{"pages_per_s_median": ..., "runs": [...], "returns": ..., "page_size": 50}``.

    .venv/bin/python bench/emulator_search_pages.py [--returns 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import statistics
import time
from urllib.parse import urlencode

import httpx
import orjson

from returnbridge.emulators.tiktok.server import EmulatorServer

PATH = "/return_refund/202309/returns/search"
PAGE_SIZE = 50


def sign(secret: str, path: str, query: dict[str, str], body: bytes) -> str:
    pieces = "".join(f"{k}{query[k]}" for k in sorted(query))
    message = f"{secret}{path}{pieces}".encode() + body + secret.encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def page_through(client: httpx.Client, server: EmulatorServer, cipher: str, token: str) -> tuple[int, int, float]:
    """One full pass; returns (pages, total_count, seconds)."""
    body = b"{}"
    headers = {"content-type": "application/json", "x-tts-access-token": token}
    page_token = ""
    pages = 0
    total = 0
    started = time.perf_counter()
    while True:
        query = {
            "app_key": server.app_key,
            "timestamp": str(int(time.time())),
            "shop_cipher": cipher,
            "page_size": str(PAGE_SIZE),
            "sort_field": "update_time",
            "sort_order": "ASC",
        }
        if page_token:
            query["page_token"] = page_token
        query["sign"] = sign(server.app_secret, PATH, query, body)
        response = client.post(f"{server.base_url}{PATH}?{urlencode(query)}", content=body, headers=headers)
        envelope = orjson.loads(response.content)
        if envelope["code"] != 0:
            raise RuntimeError(f"page {pages + 1}: {envelope['code']} {envelope['message']}")
        data = envelope["data"]
        pages += 1
        total = data["total_count"]
        page_token = data.get("next_page_token") or ""
        if not page_token:
            break
    return pages, total, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    with EmulatorServer(subprocess=True, rps=0) as server, httpx.Client(timeout=30.0) as client:
        control = f"{server.base_url}/_emulator"
        shop = client.get(f"{control}/shops").json()["shops"][0]
        seeded = client.post(f"{control}/seed", json={"shop_id": shop["id"], "returns": args.returns}, timeout=300)
        seeded.raise_for_status()
        token = client.post(f"{control}/auth/token", json={"shop_id": shop["id"]}).json()["access_token"]
        # The first pass is reported apart: it sorts the shop once and encodes every record for the first time.
        cold_pages, _, cold_seconds = page_through(client, server, shop["cipher"], token)
        runs = []
        total = 0
        for _ in range(args.runs):
            pages, total, seconds = page_through(client, server, shop["cipher"], token)
            runs.append({"pages": pages, "seconds": round(seconds, 3), "pages_per_s": round(pages / seconds, 1)})
    print(
        json.dumps(
            {
                "pages_per_s_median": statistics.median(r["pages_per_s"] for r in runs),
                "runs": runs,
                "returns": total,
                "page_size": PAGE_SIZE,
                "seed_seconds": seeded.json().get("seconds"),
                "cold_run": {"pages": cold_pages, "seconds": round(cold_seconds, 3),
                             "pages_per_s": round(cold_pages / cold_seconds, 1)},
            }
        )
    )


if __name__ == "__main__":
    main()
