"""Mirroring completed TikTok cases into the WooCommerce or PrestaShop emulator (its own process, zero latency):
effects per second and a duplicate check read back from the emulator.

Each case is a completed return-and-refund with auto-restock on a one-unit order. WooCommerce: a return note and a
refund that restocks (2 effects); PrestaShop: a return message, a credit slip and a stock write (3 effects). Orders
are matched through the local order map (what a lookup caches after the first effect of a case), so the figure is
the effects' own cost, not the meta scan's.

    python bench/mirror_stores.py --platform woocommerce|prestashop [--cases 10000]
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections import Counter
from typing import Any

import httpx

from mirror_setup import bench_runtime, order_id, p95_ms, store_cases
from returnbridge.db.engine import transaction
from returnbridge.db.repositories.stores import StoreRepository
from returnbridge.sync import stores as store_service
from returnbridge.sync.mirror import mirror_store

KEY = re.compile(r"rb-\d+-\d+-(?:return|refund|restock)-v1")




def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--platform", choices=("woocommerce", "prestashop"), required=True)
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args()
    if args.platform == "woocommerce":
        from returnbridge.emulators.woocommerce.server import EmulatorServer as WooServer

        server: Any = WooServer(subprocess=True)
    else:
        from returnbridge.emulators.prestashop.server import EmulatorServer as PsServer

        server = PsServer(subprocess=True)
    with tempfile.TemporaryDirectory() as tmp, server:
        control = httpx.Client(base_url=f"{server.base_url}/_emulator", timeout=30)
        order_ids = []
        for i in range(args.cases):
            spec = {"tiktok_order_id": order_id(i), "reference": order_id(i), "shipping": "3.99",
                    "tax_rate": "0.07", "lines": [{"sku": "RB-001", "quantity": 1, "price": "22.00",
                                                   "stock": 1_000_000}]}
            order_ids.append(str(control.post("/orders", json=spec).json()["id"]))
        runtime, account_id = bench_runtime(tmp)
        settings = {"mirroring": "record", "auto_restock": True}
        if args.platform == "woocommerce":
            store_id = store_service.add_woocommerce_store(
                runtime, url=server.base_url, consumer_key=server.consumer_key,
                consumer_secret=server.consumer_secret, settings=settings).id
        else:
            store_id = store_service.add_prestashop_store(runtime, url=server.base_url, webservice_key=server.key,
                                                          settings=settings).id
        with transaction(runtime.sessions) as session:
            repo = StoreRepository(session)
            for i, store_order_id in enumerate(order_ids):
                repo.save_match(store_id, order_id(i), store_order_id, "", source="manual", strategy="manual")
        store_cases(runtime, account_id, args.cases, per_page=500)

        started = time.perf_counter()
        report = mirror_store(runtime, store_id)
        elapsed = time.perf_counter() - started

        keys: Counter[str] = Counter()
        if args.platform == "woocommerce":
            for refund in control.get("/refunds").json()["refunds"]:
                keys.update(KEY.findall(refund["reason"])[:1])
            for note in control.get("/notes").json()["notes"]:
                keys.update(KEY.findall(note["note"])[:1])
            records = {"refunds": len(control.get("/refunds").json()["refunds"])}
        else:
            state = control.get("/state").json()
            # Each effect leaves one message that says it is done: the return message, a slip link, "restocked".
            done = [m["message"] for m in state["messages"] if "-return-v1" in m["message"]
                    or " recorded " in m["message"] or m["message"].endswith(": restocked")]
            for message in done:
                keys.update(KEY.findall(message)[:1])
            records = {"order_slips": len(state["slips"]), "stock_writes": len(state["stock_changes"])}
        effects = report.performed
        print(json.dumps({
            "platform": args.platform, "cases": args.cases, "effects": effects, "held": report.held,
            "retrying": report.retrying, "failed": report.failed, "seconds": round(elapsed, 2),
            "effects_per_second": round(effects / elapsed, 1),
            "p95_ms_per_effect": p95_ms(report.effect_seconds),
            "store_records": records, "keys_seen": len(keys),
            "duplicates": sum(1 for n in keys.values() if n > 1),
        }, indent=2))
        runtime.close()


if __name__ == "__main__":
    main()
