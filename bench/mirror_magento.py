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
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from returnbridge.config import Settings
from returnbridge.db.engine import transaction
from returnbridge.db.migrate import upgrade
from returnbridge.db.models import TikTokAccount, utcnow
from returnbridge.domain.statuses import CaseKind
from returnbridge.emulators.magento.server import EmulatorServer
from returnbridge.stores.magento import MagentoAdapter, MagentoClient, MagentoCredentials
from returnbridge.sync import stores as store_service
from returnbridge.sync.ingest import store_page
from returnbridge.sync.mirror import mirror_store
from returnbridge.sync.runtime import Runtime

NOW = 1_790_000_000
KEY = re.compile(r"rb-\d+-\d+-\w+-v1")


def tiktok_case(i: int) -> dict[str, Any]:
    return {
        "return_id": f"BR{i}", "order_id": f"5764{i:014d}", "return_type": "RETURN_AND_REFUND",
        "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE", "create_time": NOW - 3600, "update_time": NOW,
        "refund_amount": {"currency": "USD", "refund_total": "27.53", "refund_subtotal": "22.00",
                          "refund_shipping_fee": "3.99", "refund_tax": "1.54"},
        "discount_amount": [{"currency": "USD", "product_platform_discount": "4.00"}],
        "return_line_items": [{"return_line_item_id": f"BR{i}-0", "seller_sku": "RB-001",
                               "refund_amount": {"currency": "USD"}}],
    }


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
                "tiktok_order_id": f"5764{i:014d}", "lines": [{"sku": "RB-001", "qty": 1, "price": "22.00"}],
                "shipping": "3.99", "tax_rate": "0.07"} for i in range(start, min(start + 1000, args.cases))]}
            ).raise_for_status()
        rest_url = f"{magento.base_url}/stores/bench/rest/default"

        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade(url)
        runtime = Runtime.from_settings(Settings(_env_file=None, database_url=url, secret_key="bench",  # type: ignore[call-arg]
                                                 var_dir=Path(tmp) / "var"))
        with transaction(runtime.sessions) as session:
            account = TikTokAccount(shop_id="B1", shop_cipher="C", access_token_encrypted="x",
                                    refresh_token_encrypted="y", access_token_expires_at=utcnow(),
                                    refresh_token_expires_at=utcnow())
            session.add(account)
            session.flush()
            account_id = account.id
        credentials = MagentoCredentials("admin", username="bench", password="bench-pw")
        store_id = store_service.add_magento_store(
            runtime, url=rest_url, credentials=credentials,
            settings={"mirroring": "record", "auto_restock": True}).id
        for start in range(0, args.cases, 500):
            with transaction(runtime.sessions) as session:
                store_page(session, account_id, CaseKind.RETURN,
                           [tiktok_case(i) for i in range(start, min(start + 500, args.cases))], source="bench")

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
            "p95_ms_per_effect": round(statistics.quantiles(report.effect_seconds, n=20)[18] * 1000, 1)
            if len(report.effect_seconds) >= 20 else None,
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
