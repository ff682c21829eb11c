"""Mirroring completed TikTok cases into the Shopify emulator (its own process, zero latency, default cost bucket
2,000 points restored at 100/s): effects per second, p95 per effect, the share of what the bucket allows, THROTTLED
answers, and a duplicate check read back from the emulator.

Each case is a completed return-and-refund with auto-restock, so three effects: return, refund, restock. The bucket
allows ``restore_rate / points per effect`` effects per second once its initial 2,000 points are spent; the ratio
printed is the points actually charged over what the bucket could give in the run (``max + restore × seconds``),
so it is not flattered by the initial burst.

    python bench/mirror.py [--cases 200]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter

import httpx

from mirror_setup import bench_runtime, order_id, p95_ms, store_cases
from returnbridge.emulators.shopify.server import EmulatorServer
from returnbridge.stores.shopify import ShopifyAdapter, ShopifyClient
from returnbridge.sync import stores as store_service
from returnbridge.sync.mirror import mirror_store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer(seed_orders=0, subprocess=True) as shopify:
        control = httpx.Client(base_url=f"{shopify.base_url}/_emulator", timeout=30)
        config = control.get("/config").json()
        domain = shopify.domain
        for i in range(args.cases):
            control.post(f"/stores/{domain}/orders", json={
                "tiktok_order_id": order_id(i), "lines": [{"sku": "RB-001", "quantity": 1, "price": "22.00"}],
                "shipping": "3.99", "tax_rate": "0.07"}).raise_for_status()
        # Seeding went around the bucket (control API); start the run from a full bucket.
        control.post(f"/stores/{domain}/throttle", json={"currently_available": config["maximum_available"]})

        runtime, account_id = bench_runtime(tmp)
        store_id = store_service.add_shopify_store(
            runtime, domain=shopify.base_url, access_token=shopify.token,
            settings={"mirroring": "record", "auto_restock": True, "restock_trigger": "refund_completed"}).id
        store_cases(runtime, account_id, args.cases, per_page=200, platform_discount=True)

        client = ShopifyClient(shopify.base_url, shopify.token)
        adapter = ShopifyAdapter(client, shopify.base_url)
        started = time.perf_counter()
        report = mirror_store(runtime, store_id, adapter=adapter)
        elapsed = time.perf_counter() - started

        state = control.get(f"/stores/{domain}/state").json()
        keys = Counter()
        for ret in state["returns"]:
            keys.update({li["return_reason_note"].split(" ")[1] for li in ret["line_items"]})
        for refund in state["refunds"]:
            keys[refund["note"].split(" ")[1]] += 1
        for adjustment in state["adjustments"]:
            if adjustment["source"] == "inventoryAdjustQuantities":
                keys[adjustment["reference_document_uri"].rsplit("/", 1)[-1]] += 1
        throttled = sum(1 for r in control.get("/requests").json()["requests"] if r.get("fault") == "throttled"
                        or "THROTTLED" in json.dumps(r))
        effects = report.performed
        restore, maximum = float(config["restore_rate"]), float(config["maximum_available"])
        allowed_points = maximum + restore * elapsed
        print(json.dumps({
            "cases": args.cases,
            "effects": effects,
            "held": report.held, "retrying": report.retrying, "failed": report.failed,
            "seconds": round(elapsed, 2),
            "effects_per_second": round(effects / elapsed, 2),
            "p95_ms_per_effect": p95_ms(report.effect_seconds),
            "points_per_effect": round(client.points_used / max(effects, 1), 1),
            "bucket": {"maximum_available": maximum, "restore_rate": restore},
            "steady_state_effects_per_second_allowed": round(restore / (client.points_used / max(effects, 1)), 2),
            "share_of_bucket_used": round(client.points_used / allowed_points, 3),
            "throttled_responses": client.throttled_responses,
            "throttled_in_emulator_log": throttled,
            "store_records": {"returns": len(state["returns"]), "refunds": len(state["refunds"]),
                              "restocks": sum(1 for a in state["adjustments"]
                                              if a["source"] == "inventoryAdjustQuantities")},
            "duplicates": sum(1 for n in keys.values() if n > 1),
            "requests": client.requests,
        }, indent=2))
        client.close()
        runtime.close()


if __name__ == "__main__":
    main()
