"""DB → store: the mirror job performs a store's pending effects, exactly once each.

What it guarantees (ARCHITECTURE.md invariant 2):
- One worker per store at a time: the run holds a lease named after the store (``store:<id>``).
- For one case the effects go in order: return, then refund, then restock. A later one waits while an earlier one
  is not done, and is held with "Waiting for ..." while the earlier one is held (a retry of that one releases it).
- Before every store call the effect is marked ``in_progress`` with ``attempts + 1`` in its own committed
  transaction. An effect that was attempted before (a crash, a timeout, an unclear answer) is first searched for on
  the store by our idempotency key and adopted when found; refunds and restocks also carry ``@idempotent``, so a
  repeat of the very same call is answered with the original record.
- Transient failures are retried with exponential backoff (``next_attempt_at``) and give up as ``failed`` after
  ``MAX_ATTEMPTS``; permanent ones (order not found, currency mismatch, a validation error from the store) are
  ``held`` with the reason. Every outcome appends a timeline event on the case (actor "system") with the link to
  the store record. A failure never stops the run: the next effect is tried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from returnbridge.db.engine import transaction
from returnbridge.db.models import StoreEffect, utcnow
from returnbridge.db.repositories.store_effects import (
    DONE,
    DUE_STATES,
    FAILED,
    HELD,
    IN_PROGRESS,
    KIND_ORDER,
    PENDING,
    StoreEffectRepository,
)
from returnbridge.db.repositories.stores import StoreRepository
from returnbridge.domain.currencies import minor_units
from returnbridge.stores.adapter import (
    EffectResult,
    OrderNotFound,
    PermanentStoreError,
    RefundAmounts,
    RefundRequest,
    RestockRequest,
    ReturnCancelRequest,
    ReturnRequest,
    StoreAdapter,
    StoreError,
    StoreOrder,
    Units,
)
from returnbridge.stores.order_lookup import CachedMatch, find_store_order
from returnbridge.stores.recent import Recent
from returnbridge.stores.settings import RestockLocation, StoreSettings
from returnbridge.sync.locks import ShopBusy, lease
from returnbridge.sync.mirror_plan import effect_key
from returnbridge.sync.stores import WAITING_PREFIX, StoreNotFound, adapter_for

if TYPE_CHECKING:
    from returnbridge.sync.runtime import Runtime

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
BATCH = 100


def store_lease_name(store_id: int) -> str:
    return f"store:{store_id}"


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 1 h."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


@dataclass
class MirrorReport:
    store_id: int
    done: int = 0
    adopted: int = 0
    held: int = 0
    retrying: int = 0
    failed: int = 0
    busy: bool = False
    effect_seconds: list[float] = field(default_factory=list)

    @property
    def performed(self) -> int:
        return self.done + self.adopted


@dataclass(frozen=True)
class _Claim:
    effect_id: int
    case_id: int
    kind: str
    key: str
    attempted_before: bool
    payload: dict[str, Any]
    request: dict[str, Any]
    currency: str
    amount: Decimal | None


class _Hold(Exception):
    """The effect cannot be mirrored as things are: hold it with this reason."""


# Test seam: called after the store answered and before the outcome is committed (crash tests kill here).
AfterStoreCall = Callable[[int, str, EffectResult], None]


class Mirror:
    def __init__(self, runtime: Runtime, store_id: int, adapter: StoreAdapter | None = None,
                 *, after_store_call: AfterStoreCall | None = None) -> None:
        self.runtime = runtime
        self.store_id = store_id
        self._adapter = adapter
        self._after_store_call = after_store_call
        with transaction(runtime.sessions) as session:
            store = StoreRepository(session).get(store_id)
            if store is None:
                raise StoreNotFound(f"store {store_id} does not exist")
            session.expunge(store)
        self.store = store
        self.settings = StoreSettings.model_validate(store.settings or {})
        # Store orders read in this run, by TikTok order id: a case's return, refund and restock read the order
        # once. A refund changes refundable quantities, so it drops its order from here.
        self._orders: Recent[str, StoreOrder] = Recent()

    @property
    def adapter(self) -> StoreAdapter:
        if self._adapter is None:
            self._adapter = adapter_for(self.runtime, self.store)
        return self._adapter

    def close(self) -> None:
        client = getattr(self._adapter, "client", None)
        if client is not None and hasattr(client, "close"):
            client.close()

    # --- the run -----------------------------------------------------------------------------------------------

    def run(self, *, limit: int | None = None, now: Callable[[], datetime] = utcnow) -> MirrorReport:
        """Perform every due effect of the store (at most ``limit``) under the store's lease."""
        report = MirrorReport(self.store_id)
        try:
            with lease(self.runtime, store_lease_name(self.store_id)) as held:
                seen: set[int] = set()
                still_due: set[int] = set()
                while limit is None or len(seen) < limit:
                    batch = self._due(now(), seen, still_due)
                    if not batch:
                        break
                    for effect_id in batch:
                        if limit is not None and len(seen) >= limit:
                            break
                        seen.add(effect_id)
                        self._perform(effect_id, report)
                        held.renew()
        except ShopBusy:
            report.busy = True
        return report

    def _due(self, now: datetime, seen: set[int], still_due: set[int]) -> list[int]:
        """Due effects in order, without those whose earlier effect (same case) is not done yet.

        An effect performed in this run normally stops being due (done, held, or retrying later), so the read asks
        for one batch more than the performed effects that came back due last time (``still_due``), not for every
        effect seen so far: that made a run of 20,000 effects read quadratically many rows."""
        with transaction(self.runtime.sessions) as session:
            repo = StoreEffectRepository(session)
            wanted = BATCH + len(still_due)
            while True:
                due = repo.due(self.store_id, now, wanted)
                effects = [e for e in due if e.id not in seen][:BATCH]
                if effects or len(due) < wanted:
                    break
                wanted += BATCH  # the window held only effects already performed in this run
            still_due.clear()
            still_due.update(e.id for e in due if e.id in seen)
            states = repo.states_for_cases(self.store_id, (e.case_id for e in effects))
            ready = []
            for effect in effects:
                earlier = [(kind, state) for kind, state in states.get(effect.case_id, [])
                           if KIND_ORDER[kind] < KIND_ORDER[effect.kind] and state != DONE]
                blocking = [(kind, state) for kind, state in earlier if state in (HELD, FAILED)]
                if blocking:
                    kind, state = blocking[0]
                    effect.state = HELD
                    effect.held_reason = f"{WAITING_PREFIX}{kind} of this case, which is {state}"
                    effect.updated_at = utcnow()
                    repo.add_event(effect, actor="system", actor_name="", outcome=HELD, text=effect.held_reason)
                elif not earlier:
                    ready.append(effect.id)
            return ready

    # --- one effect --------------------------------------------------------------------------------------------

    def _perform(self, effect_id: int, report: MirrorReport) -> None:
        started = utcnow()
        claim = self._claim(effect_id)
        if claim is None:
            return
        try:
            order = self._order(claim)
            self._check(claim, order)
            result = self._adopt(claim, order) if claim.attempted_before else None
            adopted = result is not None
            if result is None:
                result = self._call(claim, order)
            if self._after_store_call is not None:
                self._after_store_call(effect_id, claim.kind, result)
        except _Hold as hold:
            self._forget_order(claim)
            self._hold(claim, str(hold))
            report.held += 1
            return
        except StoreError as error:
            self._forget_order(claim)
            if error.retryable:
                gave_up = self._retry_later(claim, error.message)
                report.failed += gave_up
                report.retrying += not gave_up
            else:
                self._hold(claim, error.message)
                report.held += 1
            return
        except Exception as bug:  # never stop the run (invariant 5): the reason is on the case for a person
            log.exception("store effect %s failed unexpectedly", effect_id)
            self._hold(claim, f"unexpected error: {bug.__class__.__name__}: {bug}")
            report.held += 1
            return
        if claim.kind == "refund":
            self._forget_order(claim)
        self._done(claim, order, result, adopted)
        report.adopted += adopted
        report.done += not adopted
        report.effect_seconds.append((utcnow() - started).total_seconds())

    def _forget_order(self, claim: _Claim) -> None:
        self._orders.pop(str(claim.payload.get("tiktok_order_id") or ""), None)

    def _claim(self, effect_id: int) -> _Claim | None:
        """Commit ``in_progress`` and ``attempts + 1`` before the store is called."""
        with transaction(self.runtime.sessions) as session:
            effect = StoreEffectRepository(session).get(effect_id, for_update=True)
            if effect is None or effect.state not in DUE_STATES or effect.store_id != self.store_id:
                return None
            attempted = effect.attempts > 0 or effect.state == IN_PROGRESS
            if not effect.request:
                # Frozen at the first attempt: a retry sends exactly the same thing (Shopify's @idempotent refuses
                # the same key with other parameters), even if the merchant changed settings meanwhile.
                effect.request = self._request_settings()
            effect.state = IN_PROGRESS
            effect.attempts += 1
            effect.updated_at = utcnow()
            return _Claim(effect.id, effect.case_id, effect.kind, effect.idempotency_key, attempted,
                          dict(effect.payload or {}), dict(effect.request), effect.currency, effect.amount)

    def _request_settings(self) -> dict[str, Any]:
        s = self.settings
        return {"restock_location": s.restock_location.value, "restock_location_id": s.restock_location_id}

    def _order(self, claim: _Claim) -> StoreOrder:
        tiktok_order_id = str(claim.payload.get("tiktok_order_id") or "")
        if not tiktok_order_id:
            raise _Hold("TikTok sent no order id for this case, so the store order cannot be found")
        known = self._orders.get(tiktok_order_id)
        if known is not None:
            return known
        with transaction(self.runtime.sessions) as session:
            match = StoreRepository(session).match(self.store_id, tiktok_order_id)
            cached = CachedMatch(match.store_order_id, match.source) if match is not None else None

        def remember(order: StoreOrder, strategy: str) -> None:
            with transaction(self.runtime.sessions) as session:
                StoreRepository(session).save_match(self.store_id, tiktok_order_id, order.id, order.name,
                                                    source="lookup", strategy=strategy)

        def forget() -> None:
            with transaction(self.runtime.sessions) as session:
                StoreRepository(session).forget_match(self.store_id, tiktok_order_id)

        found = find_store_order(self.adapter, self.settings, tiktok_order_id, cached=cached, remember=remember,
                                 forget=forget)
        if found is None:
            tried = ", ".join(s.label() for s in self.settings.order_lookup) or "no strategy configured"
            raise OrderNotFound(f"no store order found for TikTok order {tiktok_order_id} (tried: local map, {tried})")
        self._orders[tiktok_order_id] = found.order
        return found.order

    def _check(self, claim: _Claim, order: StoreOrder) -> None:
        problem = claim.payload.get("currency_problem") or ""
        if problem:
            raise _Hold(f"{problem}; amounts are never converted")
        if claim.kind == "refund" and claim.currency and order.currency and order.currency != claim.currency:
            raise _Hold(f"store order {order.name} is in {order.currency}, TikTok refunded in {claim.currency}; "
                        "amounts are never converted")
        if claim.kind == "refund":
            amounts = claim.payload.get("amounts")
            if not amounts:
                raise _Hold("TikTok sent no refund total for this case")
            total = Decimal(amounts["total"])
            # A currency without minor units: an amount with decimals in it cannot be what TikTok paid.
            if minor_units(claim.currency) == 0 and total != total.to_integral_value():
                raise _Hold(f"TikTok's refund total {amounts['total']} has decimals, which {claim.currency} "
                            "does not have")

    def _adopt(self, claim: _Claim, order: StoreOrder) -> EffectResult | None:
        found = self.adapter.find_effects(order, claim.kind, claim.key)
        if len(found) > 1:
            log.error("store effect %s: %d store records carry key %s", claim.effect_id, len(found), claim.key)
        return found[0] if found else None

    def _call(self, claim: _Claim, order: StoreOrder) -> EffectResult:
        payload = claim.payload
        units = tuple(Units(str(u["sku"]), int(u["quantity"])) for u in payload.get("units") or [])
        tiktok_id = payload.get("tiktok_id", "")
        if claim.kind == "return":
            reason = str(payload.get("reason") or "")
            note = f"ReturnBridge {claim.key} · TikTok return {tiktok_id}" + (f" · {reason}" if reason else "")
            return self.adapter.create_return(ReturnRequest(order, units, claim.key, note[:255]))
        if claim.kind == "refund":
            amounts = RefundAmounts.from_json(payload["amounts"])
            return self.adapter.record_refund(RefundRequest(
                order, amounts, claim.key, refund_note(claim.key, tiktok_id, amounts), units,
                restock=bool(payload.get("restock_through_refund")), restock_location_id=self._fixed_location(claim),
            ))
        if claim.kind == "restock":
            policy = claim.request.get("restock_location", RestockLocation.DEFAULT.value)
            return self.adapter.restock(RestockRequest(
                order, units, self._fixed_location(claim) or "", policy == RestockLocation.FULFILLED_FROM.value,
                claim.key,
            ))
        if claim.kind == "return_cancel":
            rejected = bool(payload.get("rejected"))
            why = "rejected on TikTok" if rejected else "cancelled on TikTok"
            note = f"ReturnBridge {claim.key} · TikTok return {tiktok_id} {why}"
            # A platform adapter written before ``return_cancel`` existed has no such method: hold the effect with
            # the reason instead of failing with an AttributeError on a person's case.
            cancel = getattr(self.adapter, "cancel_return", None)
            if not callable(cancel):
                raise _Hold(f"{self.store.platform} stores cannot end a store return yet; end the return in the "
                            "store by hand")
            return cancel(ReturnCancelRequest(
                order, effect_key(self.store_id, claim.case_id, "return"), claim.key, note[:500], rejected))
        raise PermanentStoreError(f"unknown effect kind {claim.kind!r}")

    @staticmethod
    def _fixed_location(claim: _Claim) -> str:
        if claim.request.get("restock_location") == RestockLocation.CHOSEN.value:
            return str(claim.request.get("restock_location_id") or "")
        return ""

    # --- outcomes ----------------------------------------------------------------------------------------------

    def _done(self, claim: _Claim, order: StoreOrder, result: EffectResult, adopted: bool) -> None:
        with transaction(self.runtime.sessions) as session:
            repo = StoreEffectRepository(session)
            effect = repo.get(claim.effect_id, for_update=True)
            if effect is None:
                return
            effect.state = DONE
            effect.store_record_id = result.record_id
            effect.store_record_url = result.url or order.url
            if result.amount is not None:
                effect.recorded_amount = result.amount.amount
            effect.last_error = ""
            effect.held_reason = ""
            effect.done_at = utcnow()
            effect.updated_at = effect.done_at
            effect.payload = {**(effect.payload or {}), "store_order_id": order.id, "store_order_name": order.name}
            repo.add_event(effect, actor="system", actor_name="", outcome="adopted" if adopted else DONE,
                           text=_done_text(effect, order, adopted))

    def _hold(self, claim: _Claim, reason: str) -> None:
        with transaction(self.runtime.sessions) as session:
            repo = StoreEffectRepository(session)
            effect = repo.get(claim.effect_id, for_update=True)
            if effect is None:
                return
            effect.state = HELD
            effect.held_reason = reason[:2000]
            effect.updated_at = utcnow()
            repo.add_event(effect, actor="system", actor_name="", outcome=HELD,
                           text=f"{effect.kind.capitalize()} not mirrored, held: {reason}"[:2000])

    def _retry_later(self, claim: _Claim, message: str) -> bool:
        """Back to pending with a backoff, or failed after MAX_ATTEMPTS; True when it gave up."""
        with transaction(self.runtime.sessions) as session:
            repo = StoreEffectRepository(session)
            effect = repo.get(claim.effect_id, for_update=True)
            if effect is None:
                return False
            effect.last_error = message[:2000]
            effect.updated_at = utcnow()
            if effect.attempts >= MAX_ATTEMPTS:
                effect.state = FAILED
                repo.add_event(effect, actor="system", actor_name="", outcome=FAILED,
                               text=f"{effect.kind.capitalize()} not mirrored after {effect.attempts} attempts: "
                                    f"{message}"[:2000])
                return True
            effect.state = PENDING
            effect.next_attempt_at = utcnow() + backoff(effect.attempts)
            repo.add_event(effect, actor="system", actor_name="", outcome="retrying",
                           text=f"{effect.kind.capitalize()} not mirrored yet ({message}); retried automatically"
                                [:2000])
            return False



def shown(amount: Decimal, currency: str) -> str:
    """An amount with its currency's minor units ("22.00", "1500", "1.235"); never drops a digit TikTok sent."""
    exponent = Decimal(1).scaleb(-minor_units(currency))
    quantized = amount.quantize(exponent)
    return format(quantized if quantized == amount else amount, "f")


def refund_note(key: str, tiktok_id: str, amounts: RefundAmounts) -> str:
    """The refund's note: our key (how a retry finds it) and TikTok's breakdown as sent, for the finance team."""
    cur = amounts.currency
    parts = [f"{name} {shown(value, cur)}" for name, value in (
        ("subtotal", amounts.subtotal), ("shipping", amounts.shipping), ("tax", amounts.tax),
        ("retail delivery fee", amounts.retail_delivery_fee), ("buyer service fee", amounts.buyer_service_fee),
    ) if value is not None]
    discounts = [v for v in (amounts.platform_discount, amounts.shipping_platform_discount) if v]
    text = (f"ReturnBridge {key} · refunded on TikTok (return {tiktok_id}), recorded only: "
            f"{shown(amounts.total, cur)} {cur}")
    if parts:
        text += f" ({', '.join(parts)})"
    if discounts:
        text += f" · TikTok-funded discount {shown(sum(discounts, Decimal(0)), cur)} {cur} not refunded here"
    return text


def _done_text(effect: StoreEffect, order: StoreOrder, adopted: bool) -> str:
    what = {"return": "Return created", "refund": "Refund recorded", "restock": "Units restocked",
            "return_cancel": "Return ended (rejected or cancelled on TikTok)"}[effect.kind]
    if effect.kind == "refund" and effect.recorded_amount is not None:
        what += f" ({shown(effect.recorded_amount, effect.currency)} {effect.currency})"
    text = f"{what} in the store on order {order.name}"
    return text + " (found by our key after an unclear attempt, not created again)" if adopted else text


def mirror_store(runtime: Runtime, store_id: int, *, adapter: StoreAdapter | None = None,
                 limit: int | None = None) -> MirrorReport:
    """Perform the store's due effects now (the job and `returnbridge stores mirror`)."""
    mirror = Mirror(runtime, store_id, adapter)
    try:
        return mirror.run(limit=limit)
    finally:
        mirror.close()


def stores_due(runtime: Runtime, now: datetime | None = None) -> list[int]:
    with transaction(runtime.sessions) as session:
        return StoreEffectRepository(session).stores_with_due(now or utcnow())
