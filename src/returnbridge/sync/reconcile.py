"""Reconciliation ledger: what TikTok refunded against what each store recorded, per case, with totals by currency.

For every case TikTok shows refunded and every store mirroring that shop in "record" mode, one row:
- ``matched``: the store holds exactly one refund carrying our key, for TikTok's refund total;
- ``missing in store``: no refund recorded (not mirrored yet, held, failed, or planned never);
- ``amount differs``: the store's refund total is not TikTok's;
- ``duplicate in store``: more than one store refund carries our key (only seen with ``verify``).
By default the ledger reads what the mirror recorded from the store's answers; ``verify`` reads each recorded
order's refunds back from the store (one read per order) and judges on that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from returnbridge.db.engine import transaction
from returnbridge.db.repositories.store_effects import StoreEffectRepository
from returnbridge.db.repositories.stores import StoreRepository
from returnbridge.stores.adapter import StoreError, StoreOrder
from returnbridge.stores.settings import MirroringMode, StoreSettings
from returnbridge.sync.mirror_plan import effect_key

if TYPE_CHECKING:
    from returnbridge.stores.adapter import StoreAdapter
    from returnbridge.sync.runtime import Runtime

MATCHED, MISSING, DIFFERS, DUPLICATE = "matched", "missing in store", "amount differs", "duplicate in store"


@dataclass(frozen=True)
class LedgerRow:
    case_id: int
    store_id: int
    tiktok_id: str
    tiktok_order_id: str
    currency: str
    tiktok_refunded: Decimal | None
    store_recorded: Decimal | None
    store_records: int
    status: str
    effect_id: int | None = None
    effect_state: str = ""
    store_record_url: str = ""
    note: str = ""


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    tiktok_refunded: Decimal
    store_recorded: Decimal
    cases: int


@dataclass
class Ledger:
    rows: list[LedgerRow] = field(default_factory=list)

    @property
    def mismatches(self) -> list[LedgerRow]:
        return [r for r in self.rows if r.status != MATCHED]

    def totals(self) -> list[CurrencyTotal]:
        sums: dict[str, list[Decimal | int]] = {}
        for row in self.rows:
            entry = sums.setdefault(row.currency, [Decimal(0), Decimal(0), 0])
            entry[0] += row.tiktok_refunded or 0
            entry[1] += row.store_recorded or 0
            entry[2] += 1
        return [CurrencyTotal(c, Decimal(t), Decimal(s), int(n)) for c, (t, s, n) in sorted(sums.items())]

    def by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts


def reconcile(
    runtime: Runtime, *, store_id: int | None = None, since: datetime | None = None, verify: bool = False,
    adapters: dict[int, StoreAdapter] | None = None,
) -> Ledger:
    """The ledger for one store (or every store mirroring refunds), for cases updated on TikTok since ``since``."""
    ledger = Ledger()
    with transaction(runtime.sessions) as session:
        stores = StoreRepository(session).all()
        session.expunge_all()
    for store in stores:
        if store_id is not None and store.id != store_id:
            continue
        settings = StoreSettings.model_validate(store.settings or {})
        if settings.mirroring is not MirroringMode.RECORD:
            continue
        adapter = None
        if verify:
            from returnbridge.sync.stores import adapter_for

            adapter = (adapters or {}).get(store.id) or adapter_for(runtime, store)
        ledger.rows.extend(_store_rows(runtime, store.id, settings, since, adapter))
    return ledger


def _store_rows(
    runtime: Runtime, store_id: int, settings: StoreSettings, since: datetime | None, adapter: StoreAdapter | None
) -> list[LedgerRow]:
    with transaction(runtime.sessions) as session:
        repo = StoreEffectRepository(session)
        cases = repo.refunded_cases(account_ids=settings.account_ids or None, since=since)
        effects = repo.refund_effects(store_id, [c.id for c in cases])
        facts = [(c.id, c.tiktok_id, c.order_id, c.currency, c.refund_total) for c in cases]
        effect_facts = {}
        for cid, e in effects.items():
            payload = e.payload or {}
            effect_facts[cid] = (e.id, e.state, e.recorded_amount, e.store_record_url, e.held_reason or e.last_error,
                                 payload.get("store_order_id", ""), payload.get("store_order_name", ""))
    rows = []
    for case_id, tiktok_id, order_id, currency, refunded in facts:
        effect = effect_facts.get(case_id)
        if effect is None:
            rows.append(LedgerRow(case_id, store_id, tiktok_id, order_id, currency, refunded, None, 0, MISSING,
                                  note="no refund effect planned"))
            continue
        effect_id, state, recorded, url, why, store_order_id, store_order_name = effect
        records = 1 if state == "done" else 0
        note = "" if state == "done" else f"effect {state}" + (f": {why}" if why else "")
        if adapter is not None and store_order_id:
            try:
                found = adapter.find_effects(StoreOrder(store_order_id, store_order_name, currency), "refund",
                                             effect_key(store_id, case_id, "refund"))
            except StoreError as error:
                note = f"could not read the store back: {error.message}"
            else:
                records = len(found)
                recorded = sum((r.amount.amount for r in found if r.amount is not None), Decimal(0)) if found else None
        status = _status(refunded, recorded, records)
        rows.append(LedgerRow(case_id, store_id, tiktok_id, order_id, currency, refunded, recorded, records, status,
                              effect_id, state, url, note))
    return rows


def _status(refunded: Decimal | None, recorded: Decimal | None, records: int) -> str:
    if records == 0:
        return MISSING
    if records > 1:
        return DUPLICATE
    return MATCHED if recorded is not None and refunded is not None and recorded == refunded else DIFFERS


def mismatches_only(rows: Sequence[LedgerRow]) -> list[LedgerRow]:
    return [r for r in rows if r.status != MATCHED]
