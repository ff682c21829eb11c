"""Units sold, pulled incrementally from TikTok's Search Orders: the denominator of return rates (analytics) and
the buyer of each order (rules on a buyer's earlier returns).

Per account, a cursor (the highest order ``update_time`` stored) moves only in the transaction that stores the
page it comes from, so a failed pull resumes where it stopped; pages overlap by a few minutes because TikTok's
search index lags its writes. Unpaid orders are skipped: they are not sales.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from returnbridge.db.engine import transaction
from returnbridge.db.repositories.orders_sold import OrdersSoldRepository
from returnbridge.tiktok import OrderFilters

if TYPE_CHECKING:
    from returnbridge.sync.runtime import Runtime

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=5)
NOT_SOLD = frozenset({"UNPAID"})


def _moment(value: Any) -> datetime | None:
    # ASCII digits only ("²".isdigit() is True, int("²") raises), and a time past year 9999 is no time.
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit()):
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def order_lines(account_id: int, order: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored units of one order as TikTok sent it (one line item is one unit)."""
    status = str(order.get("status") or "")
    if status in NOT_SOLD or not order.get("id"):
        return []
    rows = []
    for line in order.get("line_items") or []:
        if not isinstance(line, dict) or not line.get("id"):
            continue
        rows.append({
            "account_id": account_id,
            "order_id": str(order["id"]),
            "line_item_id": str(line["id"]),
            "buyer_user_id": str(order.get("user_id") or ""),
            "order_status": status[:32],
            "seller_sku": str(line.get("seller_sku") or "")[:255],
            "product_id": str(line.get("product_id") or "")[:64],
            "product_name": str(line.get("product_name") or ""),
            "order_create_time": _moment(order.get("create_time")),
            "order_update_time": _moment(order.get("update_time")),
        })
    return rows


def pull_orders(runtime: Runtime, account_id: int, *, now: datetime | None = None) -> int:
    """Store the units of orders changed since the cursor; gives how many units were written."""
    now = now or datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        cursor = OrdersSoldRepository(session).state(account_id).cursor
    since = (cursor - OVERLAP) if cursor else now - timedelta(days=runtime.settings.sync_backfill_days)
    shop = runtime.shop_client(account_id)
    written = 0
    try:
        for page in shop.iter_raw_order_pages(OrderFilters(update_time_ge=int(since.timestamp()))):
            rows: list[dict[str, Any]] = []
            newest = cursor
            for order in page.items:
                if not isinstance(order, dict):
                    continue
                rows.extend(order_lines(account_id, order))
                changed = _moment(order.get("update_time"))
                if changed is not None and (newest is None or changed > newest):
                    newest = changed
            with transaction(runtime.sessions) as session:
                repo = OrdersSoldRepository(session)
                repo.upsert_lines(rows)
                state = repo.state(account_id)
                if newest is not None and (state.cursor is None or newest > state.cursor):
                    state.cursor = newest
            cursor = newest
            written += len(rows)
    except Exception as error:
        with transaction(runtime.sessions) as session:
            OrdersSoldRepository(session).state(account_id).last_error = f"{type(error).__name__}: {error}"[:2000]
        raise
    with transaction(runtime.sessions) as session:
        state = OrdersSoldRepository(session).state(account_id)
        state.last_ok_at, state.last_error = now, ""
    log.info("pulled the units sold of account %s: %d written", account_id, written)
    return written
