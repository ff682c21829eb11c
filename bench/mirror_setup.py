"""What the store-mirror benchmarks share: completed TikTok returns stored like a sync stores them, in a fresh SQLite
database with one TikTok account, and the p95 of the mirror's effect times. Each benchmark adds its own store."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from returnbridge.config import Settings
from returnbridge.db.engine import transaction
from returnbridge.db.migrate import upgrade
from returnbridge.db.models import TikTokAccount, utcnow
from returnbridge.domain.statuses import CaseKind
from returnbridge.sync.ingest import store_page
from returnbridge.sync.runtime import Runtime

NOW = 1_790_000_000


def order_id(i: int) -> str:
    """The TikTok order of case ``i`` (the store order the emulator is seeded with carries it)."""
    return f"5764{i:014d}"


def tiktok_case(i: int, *, platform_discount: bool = False) -> dict[str, Any]:
    """A completed return-and-refund of one unit of RB-001 (22.00 + 3.99 shipping + 1.54 tax)."""
    case: dict[str, Any] = {
        "return_id": f"BR{i}", "order_id": order_id(i), "return_type": "RETURN_AND_REFUND",
        "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE", "create_time": NOW - 3600, "update_time": NOW,
        "refund_amount": {"currency": "USD", "refund_total": "27.53", "refund_subtotal": "22.00",
                          "refund_shipping_fee": "3.99", "refund_tax": "1.54"},
        "return_line_items": [{"return_line_item_id": f"BR{i}-0", "seller_sku": "RB-001",
                               "refund_amount": {"currency": "USD"}}],
    }
    if platform_discount:
        case["discount_amount"] = [{"currency": "USD", "product_platform_discount": "4.00"}]
    return case


def bench_runtime(tmp: str) -> tuple[Runtime, int]:
    """A migrated SQLite database under ``tmp`` and its runtime, with one TikTok account (its id)."""
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
        return runtime, account.id


def store_cases(runtime: Runtime, account_id: int, count: int, *, per_page: int = 500,
                platform_discount: bool = False) -> None:
    """Cases 0..count-1 stored as pages of a sync (their store effects are planned in the same transactions)."""
    for start in range(0, count, per_page):
        with transaction(runtime.sessions) as session:
            store_page(session, account_id, CaseKind.RETURN,
                       [tiktok_case(i, platform_discount=platform_discount)
                        for i in range(start, min(start + per_page, count))], source="bench")


def p95_ms(seconds: list[float]) -> float | None:
    return round(statistics.quantiles(seconds, n=20)[18] * 1000, 1) if len(seconds) >= 20 else None
