"""Units sold (from TikTok's Search Orders) and the per-account cursor of that pull."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from returnbridge.db.models import OrderLineSold, OrderSyncState

_UPDATED = ("buyer_user_id", "order_status", "seller_sku", "product_id", "product_name", "order_create_time",
            "order_update_time")


class OrdersSoldRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def state(self, account_id: int) -> OrderSyncState:
        state = self.session.get(OrderSyncState, account_id, with_for_update=True)
        if state is None:
            state = OrderSyncState(account_id=account_id, last_error="")
            self.session.add(state)
            self.session.flush()
        return state

    def upsert_lines(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or refresh units by (account, line item id); an order seen again (status change) updates its
        lines instead of counting them twice."""
        if not rows:
            return
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(OrderLineSold).values(list(rows))
        statement = statement.on_conflict_do_update(
            index_elements=["account_id", "line_item_id"],
            set_={name: getattr(statement.excluded, name) for name in _UPDATED},
        )
        self.session.execute(statement)

    def buyer_of(self, account_id: int, order_id: str) -> str | None:
        return self.session.scalars(
            select(OrderLineSold.buyer_user_id).where(
                OrderLineSold.account_id == account_id, OrderLineSold.order_id == order_id
            ).limit(1)
        ).first()
