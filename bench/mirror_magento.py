"""Mirroring completed TikTok cases into the Magento emulator (its own process, zero latency): effects per second,
p95 per effect, requests per effect, and a duplicate check read back from the emulator.

Each case is a completed return-and-refund with auto-restock. On Magento that is two effects: the return (an order
comment) and the refund (an offline credit memo that also returns the unit to stock); the restock has no effect of
its own there, so the stock movements are counted too (one per case, none twice).

    python bench/mirror_magento.py [--cases 10000]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections import Counter

import httpx

from mirror_setup import bench_runtime, order_id, p95_ms, store_cases
from returnbridge.emulators.magento.server import EmulatorServer
from returnbridge.stores.magento import MagentoAdapter, MagentoClient, MagentoCredentials
from returnbridge.sync import stores as store_service
from returnbridge.sync.mirror import mirror_store

KEY = re.compile(r"rb-\d+-\d+-\w+-v1")




def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer(seed_orders=0, subprocess=True) as magento:
        control = httpx.Client(base_url=f"{magento.base_url}/_emulator", timeout=120)
        control.post("/sites", json={"name": "bench", "username": "bench", "password": "bench-pw",
                                     "stock": {"RB-001": args.cases + 100}}).raise_for_status()
        for start in range(0, args.cases, 1000):
            control.post("/sites/bench/orders", json={"orders": [{
                "tiktok_order_id": order_id(i), "lines": [{"sku": "RB-001", "qty": 1, "price": "22.00"}],
                "shipping": "3.99", "tax_rate": "0.07"} for i in range(start, min(start + 1000, args.cases))]}
            ).raise_for_status()
        rest_url = f"{magento.base_url}/stores/bench/rest/default"

        runtime, account_id = bench_runtime(tmp)
        credentials = MagentoCredentials("admin", username="bench", password="bench-pw")
        store_id = store_service.add_magento_store(
            runtime, url=rest_url, credentials=credentials,
            settings={"mirroring": "record", "auto_restock": True}).id
        store_cases(runtime, account_id, args.cases, per_page=500, platform_discount=True)

        client = MagentoClient(rest_url, credentials)
        adapter = MagentoAdapter(client, magento.base_url)
        started = time.perf_counter()
        report = mirror_store(runtime, store_id, adapter=adapter)
        elapsed = time.perf_counter() - started

        orders = control.get("/sites/bench/orders").json()["orders"]
        memos = control.get("/sites/bench/creditmemos").json()["creditmemos"]
        movements = control.get("/sites/bench/stock").json()["movements"]
        keys: Counter[str] = Counter()
        for order in orders:
            for history in order["status_histories"]:
                keys.update(KEY.findall(history["comment"])[:1])
        for memo in memos:
            for comment in memo["comments"]:
                keys.update(KEY.findall(comment["comment"])[:1])
        restocked_per_order = Counter(m["order_id"] for m in movements)
        effects = report.performed
        print(json.dumps({
            "platform": "magento",
            "cases": args.cases,
            "effects": effects,
            "held": report.held, "retrying": report.retrying, "failed": report.failed,
            "seconds": round(elapsed, 2),
            "effects_per_second": round(effects / elapsed, 2),
            "p95_ms_per_effect": p95_ms(report.effect_seconds),
            "requests_per_effect": round(client.requests / max(effects, 1), 2),
            "admin_tokens_issued": client.tokens_issued,
            "store_records": {"return_comments": sum(1 for k in keys if "-return-" in k),
                              "credit_memos": len(memos), "stock_movements": len(movements)},
            "duplicates": sum(1 for n in keys.values() if n > 1) + sum(1 for n in restocked_per_order.values()
                                                                       if n > 1),
        }, indent=2))
        client.close()
        runtime.close()


if __name__ == "__main__":
    main()
