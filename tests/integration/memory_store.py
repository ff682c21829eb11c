"""An in-memory ``StoreAdapter`` for the mirror's runner tests (ordering, claims, crashes, races, holds).

It keeps what a store would keep and searches it by our key the way the Shopify adapter does; the Shopify adapter
itself is tested over real HTTP against the Shopify emulator. Faults: ``fail`` raises before anything is stored,
``lose_answer`` stores the record and then raises as if the answer was lost on the way back.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from returnbridge.stores.adapter import (
    EffectResult,
    Money,
    RefundRequest,
    RestockRequest,
    ReturnCancelRequest,
    ReturnRequest,
    StoreError,
    StoreOrder,
    StoreOrderLine,
    TransientStoreError,
)
from returnbridge.stores.settings import LookupStrategy


class MemoryStore:
    platform = "memory"

    def __init__(self, currency: str = "USD") -> None:
        self.orders: dict[str, StoreOrder] = {}
        self.by_name: dict[str, str] = {}
        self.records: list[dict[str, Any]] = []
        self.fail: dict[str, StoreError] = {}
        self.lose_answer: set[str] = set()
        self.calls: list[str] = []
        self.currency = currency
        self._lock = threading.Lock()

    def add_order(self, tiktok_order_id: str, skus: dict[str, int], currency: str | None = None) -> StoreOrder:
        n = len(self.orders) + 1
        lines = tuple(
            StoreOrderLine(f"line-{n}-{sku}", sku, qty, qty, f"inv-{sku}", True, ((f"fli-{n}-{sku}", qty, "loc-1"),))
            for sku, qty in skus.items()
        )
        order = StoreOrder(f"order-{n}", tiktok_order_id, currency or self.currency, f"https://store/orders/{n}",
                           lines, f"tx-{n}", "manual")
        self.orders[order.id] = order
        self.by_name[tiktok_order_id] = order.id
        return order

    def find_order(self, tiktok_order_id: str, strategy: LookupStrategy) -> StoreOrder | None:
        self.calls.append("find_order")
        order_id = self.by_name.get(strategy.value(tiktok_order_id)) if strategy.kind == "name" else None
        return self.orders.get(order_id) if order_id else None

    def get_order(self, store_order_id: str) -> StoreOrder | None:
        self.calls.append("get_order")
        return self.orders.get(store_order_id)

    def _store(self, kind: str, order: StoreOrder, key: str, text: str, amount: Decimal | None,
               detail: dict[str, Any]) -> EffectResult:
        self.calls.append(kind)
        if kind in self.fail:
            raise self.fail.pop(kind)
        with self._lock:
            record = {"id": f"{kind}-{len(self.records) + 1}", "kind": kind, "order": order.id, "key": key,
                      "text": text, "amount": amount, **detail}
            self.records.append(record)
        if kind in self.lose_answer:
            self.lose_answer.discard(kind)
            raise TransientStoreError(f"{kind}: connection reset after the store committed")
        return self._result(record, order)

    def _result(self, record: dict[str, Any], order: StoreOrder) -> EffectResult:
        amount = Money(record["amount"], order.currency) if record["amount"] is not None else None
        return EffectResult(record["id"], order.url, amount=amount)

    def create_return(self, request: ReturnRequest) -> EffectResult:
        return self._store("return", request.order, request.key, request.note, None,
                           {"units": [(u.sku, u.quantity) for u in request.units]})

    def record_refund(self, request: RefundRequest) -> EffectResult:
        return self._store("refund", request.order, request.key, request.note, request.amounts.total,
                           {"units": [(u.sku, u.quantity) for u in request.units], "restock": request.restock})

    def restock(self, request: RestockRequest) -> EffectResult:
        return self._store("restock", request.order, request.key, f"gid://returnbridge/StoreEffect/{request.key}",
                           None, {"units": [(u.sku, u.quantity) for u in request.units]})

    def cancel_return(self, request: ReturnCancelRequest) -> EffectResult:
        return self._store("return_cancel", request.order, request.key, request.note, None,
                           {"return_key": request.return_key, "rejected": request.rejected})

    def find_effects(self, order: StoreOrder, kind: str, key: str) -> list[EffectResult]:
        self.calls.append(f"find_{kind}")
        return [self._result(r, order) for r in self.records
                if r["kind"] == kind and r["order"] == order.id and key in r["text"]]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == kind]
