"""Which store effects a case calls for, and writing them into the outbox in the caller's transaction.

``due_effects`` is pure: from a case (its TikTok status, type, amounts and units) and a store's settings, the list of
effects that are due now. ``plan_effects`` runs it for the cases a transaction just changed and inserts the rows
with deterministic idempotency keys, so planning the same case twice (a re-pull, a webhook, a backfill) plans each
effect once, and the effect exists exactly when the case change that calls for it is committed.

The rules, in the merchant's words:
- a return (units that physically come back) is recorded once TikTok has accepted it, in both "record" and
  "informational" modes; refund-only requests and cancellations have no store-side return;
- a refund is recorded once TikTok shows it paid ("Refunded"), only in "record" mode, for TikTok's amounts as sent;
- with auto-restock, returned units are restocked when the package is approved or when the refund completes
  (setting). A cancellation before shipment puts its units back through the refund itself ("cancel" restock), so
  it gets no separate restock effect: one path per unit. Refund-only and partial-refund cases restock nothing
  (the buyer keeps the item).
- a returnless refund (TikTok's ``can_buyer_keep_item``: the merchant let the buyer keep the item, or the buyer
  kept it with a partial refund) gets its refund but no store return and no restock: no parcel comes back.
- when TikTok rejects a return (the request, or the received package) or the buyer cancels it after the store-side
  return was planned, the store return is ended ("return_cancel"), once. It is planned only when a return effect
  exists for the case in that store: a request rejected before TikTok accepted it never reached the store. A
  return still pending at that moment is created and then ended, so the store's history shows both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from returnbridge.db.models import Case, CaseLine, Store, utcnow
from returnbridge.db.repositories.store_effects import PENDING, StoreEffectRepository
from returnbridge.domain.statuses import LEGACY_STATUSES, CaseKind, StoreStatus, classify
from returnbridge.stores import registry
from returnbridge.stores.adapter import RefundAmounts
from returnbridge.stores.settings import MirroringMode, RestockTrigger, StoreSettings

KEY_VERSION = "v1"
RETURN_AND_REFUND = "RETURN_AND_REFUND"
# TikTok has accepted the return: the buyer ships (or shipped) it, or it is already through.
_RETURN_ACCEPTED = frozenset({"AWAITING_BUYER_SHIP", "BUYER_SHIPPED_ITEM", "RETURN_OR_REFUND_REQUEST_SUCCESS",
                              "RETURN_OR_REFUND_REQUEST_COMPLETE"})
_PACKAGE_APPROVED = frozenset({"RETURN_OR_REFUND_REQUEST_SUCCESS", "RETURN_OR_REFUND_REQUEST_COMPLETE"})
_REFUND_COMPLETED = frozenset({"RETURN_OR_REFUND_REQUEST_COMPLETE"})
# TikTok ended the return: rejected (the request or the received package) or cancelled (buyer, TikTok, appeal lost).
_ENDED = frozenset({StoreStatus.REJECTED, StoreStatus.CANCELLED})
_LEGACY_BY_NAME = {name: modern for name, modern in LEGACY_STATUSES.values()}


@dataclass(frozen=True)
class PlannedEffect:
    kind: str
    currency: str
    amount: Decimal | None
    payload: dict[str, Any]


def effect_key(store_id: int, case_id: int, kind: str) -> str:
    """Deterministic: the same effect of the same case in the same store always has this key."""
    return f"rb-{store_id}-{case_id}-{kind}-{KEY_VERSION}"


def modern_status(kind: str, raw: str) -> str:
    """A legacy numeric or named status as its 202309 name (planning reads only those)."""
    if raw.isascii() and raw.isdigit() and int(raw) in LEGACY_STATUSES:  # "²".isdigit(), yet int("²") fails
        return LEGACY_STATUSES[int(raw)][1]
    return _LEGACY_BY_NAME.get(raw.upper(), raw)


def units_of(lines: Sequence[CaseLine]) -> list[dict[str, Any]]:
    """TikTok sends one line per unit: grouped by SKU, in first-seen order."""
    counts = Counter(line.seller_sku for line in lines)
    return [{"sku": sku, "quantity": n} for sku, n in counts.items()]


def refund_amounts(case: Case) -> RefundAmounts | None:
    """TikTok's breakdown, copied field for field; None when TikTok sent no refund total (the effect is held)."""
    if case.refund_total is None:
        return None
    return RefundAmounts(
        currency=case.currency, total=case.refund_total, subtotal=case.refund_subtotal,
        shipping=case.refund_shipping_fee, tax=case.refund_tax, retail_delivery_fee=case.retail_delivery_fee,
        buyer_service_fee=case.buyer_service_fee, platform_discount=case.product_platform_discount,
        shipping_platform_discount=case.shipping_fee_platform_discount,
    )


def _currency_problem(case: Case, lines: Sequence[CaseLine]) -> str:
    currencies = {line.currency for line in lines if line.currency} | ({case.currency} if case.currency else set())
    if len(currencies) > 1:
        return f"TikTok sent amounts in more than one currency ({', '.join(sorted(currencies))})"
    return ""


def due_effects(case: Case, lines: Sequence[CaseLine], settings: StoreSettings, *,
                restock_through_refund: bool = False) -> list[PlannedEffect]:
    """The effects this case calls for in a store with ``settings`` (pure; no I/O).

    ``restock_through_refund``: the platform restocks only inside the refund record (Magento's credit memo), so
    returned units are restocked by the refund when auto-restock is on and no restock effect is planned (one path
    per unit; the restock trigger is then always the refund).
    """
    if not settings.enabled or not settings.covers(case.account_id):
        return []
    kind = CaseKind(case.kind)
    status = modern_status(case.kind, case.tiktok_status)
    refunded = classify(kind, case.tiktok_status).store_status is StoreStatus.REFUNDED
    record = settings.mirroring is MirroringMode.RECORD
    units = units_of(lines)
    common = {"tiktok_id": case.tiktok_id, "tiktok_order_id": case.order_id, "case_kind": case.kind,
              "type": case.type, "reason": case.reason_name or case.reason_text,
              "currency_problem": _currency_problem(case, lines)}
    partial = case.partial_refund_amount is not None
    # A returnless refund (the merchant let the buyer keep the item, or the buyer took a partial refund and kept
    # it): no parcel comes back, so the store gets no return and no unit goes back on the shelf. A return planned
    # before (a partial refund offered after the parcel arrived) stays planned; planning never removes an effect.
    kept = kind is CaseKind.RETURN and bool((case.raw or {}).get("can_buyer_keep_item") is True)
    returns_units = kind is CaseKind.RETURN and case.type == RETURN_AND_REFUND
    planned: list[PlannedEffect] = []
    if returns_units and status in _RETURN_ACCEPTED and not kept:
        planned.append(PlannedEffect("return", case.currency, None, {**common, "units": units}))
    if record and refunded:
        amounts = refund_amounts(case)
        cancel_restock = kind is CaseKind.CANCELLATION and settings.auto_restock
        refund_restocks = cancel_restock or (restock_through_refund and settings.auto_restock and returns_units
                                             and not partial and not kept)
        planned.append(PlannedEffect("refund", case.currency, case.refund_total, {
            **common,
            "amounts": amounts.to_json() if amounts is not None else None,
            # A partial refund is money only: the buyer keeps the units, so no line is marked refunded.
            "units": [] if partial else units,
            "restock_through_refund": refund_restocks,
        }))
    if returns_units and classify(kind, case.tiktok_status).store_status in _ENDED:
        # Kept by ``plan_effects`` only where a return effect exists (see the module docstring).
        rejected = classify(kind, case.tiktok_status).store_status is StoreStatus.REJECTED
        planned.append(PlannedEffect("return_cancel", case.currency, None, {**common, "rejected": rejected}))
    if settings.auto_restock and returns_units and not partial and not kept and not restock_through_refund:
        approved = settings.restock_trigger is RestockTrigger.PACKAGE_APPROVED
        if status in (_PACKAGE_APPROVED if approved else _REFUND_COMPLETED):
            planned.append(PlannedEffect("restock", case.currency, None, {**common, "units": units}))
    return planned


def plan_effects(session: Session, case_ids: Sequence[int], *, stores: Sequence[Store] | None = None) -> int:
    """Write the due effects of these cases into the outbox, in the caller's transaction; gives how many are new.

    Costs one small query when no store has mirroring on (the common case while a merchant tries the product).
    """
    if not case_ids:
        return 0
    repo = StoreEffectRepository(session)
    targets = list(stores) if stores is not None else repo.enabled_stores()
    if not targets:
        return 0
    settings = [(store, StoreSettings.model_validate(store.settings or {}), _restocks_in_refund(store))
                for store in targets]
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for case, lines in repo.cases_with_lines(case_ids):
        for store, store_settings, in_refund in settings:
            for effect in due_effects(case, lines, store_settings, restock_through_refund=in_refund):
                rows.append(_row(store.id, case.id, effect, now))
    cancels = [row for row in rows if row["kind"] == "return_cancel"]
    if cancels:
        # Only a return that was planned can be ended; the others never reached (and never will reach) the store.
        returns = {effect_key(row["store_id"], row["case_id"], "return"): row for row in cancels}
        existing = repo.existing_keys(list(returns))
        dropped = {id(row) for key, row in returns.items() if key not in existing}
        rows = [row for row in rows if id(row) not in dropped]
    return repo.insert_planned(rows)


def _restocks_in_refund(store: Store) -> bool:
    try:
        return registry.platform(store.platform).restock_through_refund
    except KeyError:
        return False


def _row(store_id: int, case_id: int, effect: PlannedEffect, now: datetime) -> dict[str, Any]:
    return {
        "case_id": case_id, "store_id": store_id, "kind": effect.kind,
        "idempotency_key": effect_key(store_id, case_id, effect.kind), "state": PENDING, "attempts": 0,
        "next_attempt_at": now, "last_error": "", "held_reason": "", "store_record_id": "", "store_record_url": "",
        "currency": effect.currency, "amount": effect.amount, "recorded_amount": None, "payload": effect.payload,
        "request": {}, "created_at": now, "updated_at": now, "done_at": None,
    }


def backfill(session: Session, store: Store, *, batch: int = 1000) -> int:
    """Plan the effects already due for every existing case (mirroring turned on later); gives how many are new.

    Runs in the caller's transaction; effects that exist are left alone.
    """
    repo = StoreEffectRepository(session)
    store_settings = StoreSettings.model_validate(store.settings or {})
    if not store_settings.enabled:
        return 0
    created, after = 0, 0
    while True:
        ids = repo.case_ids_for_accounts(store_settings.account_ids or None, after, batch)
        if not ids:
            return created
        created += plan_effects(session, ids, stores=[store])
        after = ids[-1]
