"""Client paging speed: typed models vs a bare fetch + json.loads loop, over the same pages, in one run.

Starts the TikTok emulator as a separate process (so it does not share our GIL), seeds 100,000 returns into one
shop, then alternates runs of (a) a bare signed httpx loop that only fetches and json.loads each Search Returns
page and (b) ``ShopClient.iter_return_pages`` parsing into pydantic models. Rate limits are lifted on both sides:
this measures the client's own overhead, not TikTok's quota. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import httpx

from returnbridge.emulators.tiktok.server import EmulatorServer
from returnbridge.tiktok import MemoryTokenSource, TikTokClient
from returnbridge.tiktok.models import TokenSet
from returnbridge.tiktok.signing import sign_request

# 202602: the version the sync uses, because 202309 hides EXCHANGE requests (contract §3.1, §4.1).
VERSION = "202602"
PATH = f"/return_refund/{VERSION}/returns/search"


def bare_loop(base_url: str, app_key: str, app_secret: str, cipher: str, token: str) -> tuple[int, float]:
    body = b"{}"
    count = 0
    started = time.perf_counter()
    with httpx.Client(base_url=base_url, timeout=60) as http:
        page_token = ""
        while True:
            query = {
                "app_key": app_key,
                "shop_cipher": cipher,
                "timestamp": str(int(time.time())),
                "page_size": "50",
                "sort_field": "update_time",
                "sort_order": "ASC",
            }
            if page_token:
                query["page_token"] = page_token
            query["sign"] = sign_request(app_secret, PATH, query, body)
            response = http.post(
                PATH,
                params=query,
                content=body,
                headers={"content-type": "application/json", "x-tts-access-token": token},
            )
            data = json.loads(response.content)["data"]
            count += len(data["return_orders"])
            page_token = data.get("next_page_token") or ""
            if not page_token:
                break
    return count, time.perf_counter() - started


def client_loop(client: TikTokClient, cipher: str, tokens: TokenSet) -> tuple[int, float]:
    shop = client.shop(cipher, MemoryTokenSource(client, tokens))
    count = 0
    started = time.perf_counter()
    for page in shop.iter_return_pages(page_size=50, sort_field="update_time", sort_order="ASC", version=VERSION):
        count += len(page.return_orders)
    return count, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--returns", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with EmulatorServer(subprocess=True, rps=1_000_000, seed_returns=0) as emulator:
        control = httpx.Client(base_url=f"{emulator.base_url}/_emulator", timeout=600)
        shop = control.get("/shops").json()["shops"][0]
        seeded = control.post("/seed", json={"shop_id": shop["id"], "returns": args.returns}).json()
        tokens = TokenSet.model_validate(control.post("/auth/token", json={"shop_id": shop["id"]}).json())
        client = TikTokClient(
            app_key=emulator.app_key,
            app_secret=emulator.app_secret,
            api_base=emulator.base_url,
            auth_base=emulator.base_url,
            rate_per_second=1_000_000,
        )
        bare_load(emulator, shop["cipher"], tokens)  # warm the emulator's result cache and the connection
        bare_rates, client_rates, total = [], [], 0
        for _ in range(args.runs):
            total, seconds = bare_loop(
                emulator.base_url, emulator.app_key, emulator.app_secret, shop["cipher"], tokens.access_token
            )
            bare_rates.append(total / seconds)
            client_total, seconds = client_loop(client, shop["cipher"], tokens)
            assert client_total == total, (client_total, total)
            client_rates.append(client_total / seconds)
        client.close()
    bare, typed = statistics.median(bare_rates), statistics.median(client_rates)
    print(
        json.dumps(
            {
                "benchmark": "client_paging",
                "returns": total,
                "seed_seconds": seeded.get("seconds"),
                "page_size": 50,
                "api_version": VERSION,
                "bare_returns_per_s_median": round(bare),
                "client_returns_per_s_median": round(typed),
                "client_to_bare_ratio": round(typed / bare, 3),
                "target_ratio": 0.70,
                "bare_runs": [round(r) for r in bare_rates],
                "client_runs": [round(r) for r in client_rates],
            },
            indent=2,
        )
    )


def bare_load(emulator: EmulatorServer, cipher: str, tokens: TokenSet) -> None:
    bare_loop(emulator.base_url, emulator.app_key, emulator.app_secret, cipher, tokens.access_token)


if __name__ == "__main__":
    main()
