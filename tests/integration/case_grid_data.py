"""TikTok-shaped return and cancellation records for the returns-grid tests, stored through the real ingest path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from returnbridge.db.engine import transaction
from returnbridge.db.models import TikTokAccount
from returnbridge.domain.statuses import CaseKind
from returnbridge.sync.ingest import store_page

T0 = 1_800_000_000  # 2027-01-15, a Friday


def account(session: Session, shop_id: str, name: str, status: str = "active", *, reason: str = "",
            refresh_expires: datetime | None = None) -> int:
    now = datetime.now(UTC)
    row = TikTokAccount(
        shop_id=shop_id, shop_cipher=f"ROW_{shop_id}", shop_name=name, region="US", access_token_encrypted="x",
        refresh_token_encrypted="y", access_token_expires_at=now + timedelta(days=1),
        refresh_token_expires_at=refresh_expires or now + timedelta(days=300), status=status, status_reason=reason,
    )
    session.add(row)
    session.flush()
    return row.id


def a_return(
    return_id: str, *, status: str = "RETURN_OR_REFUND_REQUEST_PENDING", return_type: str = "RETURN_AND_REFUND",
    reason: str = "Wrong size", amount: str | None = "10.00", currency: str = "USD", created: int = T0,
    updated: int | None = None, deadline: int | None = None, skus: tuple[str, ...] = ("SKU-TEE-M",),
    product: str = "Organic Cotton Tee", order_id: str | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "return_id": return_id,
        "order_id": order_id or f"57{return_id}",
        "return_type": return_type,
        "return_status": status,
        "return_reason": reason,
        "return_reason_text": reason,
        "role": "BUYER",
        "create_time": created,
        "update_time": updated or created,
        "return_line_items": [
            {"return_line_item_id": f"{return_id}{n}", "order_line_item_id": f"{return_id}{n}", "seller_sku": sku,
             "product_name": product, "sku_name": "M",
             "refund_amount": {"currency": currency, "refund_total": amount or "0"}}
            for n, sku in enumerate(skus)
        ],
    }
    if amount is not None:
        record["refund_amount"] = {"currency": currency, "refund_total": amount, "refund_subtotal": amount}
    if deadline is not None:
        record["seller_next_action_response"] = [{"action": "SELLER_RESPOND_REQUEST", "deadline": deadline}]
    return record


def a_cancellation(cancel_id: str, *, status: str = "CANCELLATION_REQUEST_PENDING", created: int = T0,
                   deadline: int | None = None, amount: str = "5.00") -> dict[str, Any]:
    record: dict[str, Any] = {
        "cancel_id": cancel_id, "order_id": f"58{cancel_id}", "cancel_type": "BUYER_CANCEL", "cancel_status": status,
        "cancel_reason": "No longer needed", "role": "BUYER", "create_time": created, "update_time": created,
        "refund_amount": {"currency": "USD", "refund_total": amount},
        "cancel_line_items": [{"cancel_line_item_id": f"{cancel_id}0", "seller_sku": "SKU-MUG",
                               "product_name": "Stoneware Mug"}],
    }
    if deadline is not None:
        record["seller_next_action_response"] = [{"action": "SELLER_RESPOND_CANCEL", "deadline": deadline}]
    return record


def store(factory: sessionmaker[Session], account_id: int, returns: list[dict[str, Any]],
          cancellations: list[dict[str, Any]] | None = None) -> None:
    with transaction(factory) as session:
        if returns:
            outcome = store_page(session, account_id, CaseKind.RETURN, returns, source="poll")
            assert outcome.quarantined == 0
        if cancellations:
            outcome = store_page(session, account_id, CaseKind.CANCELLATION, cancellations, source="poll")
            assert outcome.quarantined == 0
