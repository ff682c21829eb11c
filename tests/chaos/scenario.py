"""The people in a chaos run: buyers open returns and cancellations on TikTok and ship parcels, TikTok pays refunds,
and the merchant approves and rejects through our decision service, as the back-office does.

Each case follows one path, picked by the seeded random generator. A step waits until our database shows the state
the previous step left on TikTok: the merchant decides what the back-office shows, and buyers and TikTok act hours
later in real life, by which time every state has synced (a state that lives shorter than one poll is another test).
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case
from returnbridge.db.repositories.decisions import UNFINISHED_STATES
from returnbridge.sync.decisions import DecisionRefused, DecisionService

from .environment import Environment, Shop

log = logging.getLogger(__name__)

MERCHANT, BUYER, PLATFORM = "merchant", "buyer", "platform"
COMPLETE = "_COMPLETE"  # RETURN_OR_REFUND_REQUEST_COMPLETE, CANCELLATION_REQUEST_COMPLETE: the refund is paid


@dataclass(frozen=True)
class CasePath:
    name: str
    kind: str  # "return" or "cancellation"
    return_type: str
    steps: tuple[tuple[str, str], ...]
    weight: int


PATHS: tuple[CasePath, ...] = (
    CasePath("refunded_return", "return", "RETURN_AND_REFUND", (
        (MERCHANT, "approve_request"), (BUYER, "ship"), (MERCHANT, "approve_package"), (PLATFORM, "complete_refund"),
    ), 35),
    CasePath("refund_only", "return", "REFUND", ((MERCHANT, "approve_request"), (PLATFORM, "complete_refund")), 15),
    CasePath("rejected_return", "return", "RETURN_AND_REFUND", ((MERCHANT, "reject_request"),), 10),
    CasePath("withdrawn_return", "return", "RETURN_AND_REFUND", ((MERCHANT, "approve_request"), (BUYER, "withdraw")),
             10),
    # The buyer keeps the item: refunded without a parcel coming back.
    CasePath("kept_item_refund", "return", "RETURN_AND_REFUND", (
        (MERCHANT, "refund_keep_item"), (PLATFORM, "complete_refund"),
    ), 5),
    CasePath("partial_refund", "return", "RETURN_AND_REFUND", (
        (MERCHANT, "offer_partial_refund"), (BUYER, "accept_partial_refund"), (PLATFORM, "complete_refund"),
    ), 5),
    CasePath("approved_cancellation", "cancellation", "", (
        (MERCHANT, "approve_cancellation"), (PLATFORM, "complete_refund"),
    ), 20),
    CasePath("rejected_cancellation", "cancellation", "", ((MERCHANT, "reject_cancellation"),), 10),
)
# A merchant who sees a refusal (the page was stale) or TikTok's "no" tries again a few times, then leaves the case.
MAX_TRIES = 5
# An unanswered decision is left to the product's own sweep; the merchant looks at TikTok again this often.
RECHECK_SECONDS = 5.0


@dataclass
class ChaosCase:
    tiktok_id: str
    path: CasePath
    shop: Shop
    units: int
    tiktok_status: str
    history: list[str] = field(default_factory=list)
    step: int = 0
    tries: int = 0
    waiting_since: float | None = None
    gave_up: str = ""
    observed_at: float = 0.0  # when the run last read the case from TikTok while waiting for our database
    partial_amount: str = ""  # what the merchant offers on a partial refund path: half of TikTok's total

    @property
    def finished(self) -> bool:
        return self.step >= len(self.path.steps) or bool(self.gave_up)

    @property
    def next_step(self) -> tuple[str, str]:
        return self.path.steps[self.step]

    def moved_to(self, status: str) -> None:
        self.tiktok_status = status
        self.history.append(status)


def request_status(request: dict[str, Any]) -> str:
    return str(request.get("return_status") or request.get("cancel_status") or "")


class Scenario:
    def __init__(self, env: Environment, rng: random.Random, *, threads: int = 4) -> None:
        assert env.runtime is not None
        self.env = env
        self.rng = rng
        self.service = DecisionService(env.runtime)
        self.cases: dict[str, ChaosCase] = {}
        self.counts: Counter[str] = Counter()
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="people")

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    # --- buyers open requests ------------------------------------------------------------------------------------

    def open_case(self) -> None:
        path = self.rng.choices(PATHS, weights=[p.weight for p in PATHS])[0]
        shop = self.rng.choice(self.env.shops)
        units = self.rng.choice((1, 1, 1, 2, 3))
        if path.kind == "return":
            request = self.env.call_tiktok("POST", "/returns", {"shop_id": shop.id, "return_type": path.return_type,
                                                                "units": units})
            tiktok_id = str(request["return_id"])
        else:
            request = self.env.call_tiktok("POST", "/cancellations", {"shop_id": shop.id, "units": units})
            tiktok_id = str(request["cancel_id"])
        assert self.env.store is not None and self.env.runtime is not None
        # The order reached the store when it was sold (a TikTok→Shopify order connector's job, not ours).
        self.env.store.ensure_order(str(request["order_id"]), _units(request),
                                    fulfilled=path.kind == "return")
        case = ChaosCase(tiktok_id, path, shop, units, request_status(request), partial_amount=_partial(request))
        case.history.append(case.tiktok_status)
        self.cases[tiktok_id] = case
        self.counts[f"opened_{path.name}"] += 1

    # --- everyone else acts --------------------------------------------------------------------------------------

    @property
    def active(self) -> list[ChaosCase]:
        return [c for c in self.cases.values() if not c.finished]

    def tick(self, *, merchant_away: bool) -> None:
        """One round: every case whose last state our database shows takes its next step (in parallel)."""
        statuses = self._stored_statuses()
        if statuses is None:
            return
        ready = []
        now = time.monotonic()
        for case in self.active:
            if case.waiting_since is not None:
                if now - case.waiting_since >= RECHECK_SECONDS:
                    ready.append((self._recheck, case, 0))
                continue
            stored = statuses.get(case.tiktok_id)
            if stored is None or stored[1] != case.tiktok_status:
                # The product has not caught up yet, or TikTok moved on by itself (it completes a refund on its
                # own schedule): look at TikTok again now and then.
                if now - case.observed_at >= RECHECK_SECONDS:
                    ready.append((self._observe, case, 0))
                continue
            actor, _ = case.next_step
            if actor == MERCHANT and merchant_away:
                continue
            ready.append((self._decide if actor == MERCHANT else self._act, case, stored[0]))
        futures = [self.pool.submit(self._guarded, fn, case, case_id) for fn, case, case_id in ready]
        for future in futures:
            future.result()

    def _guarded(self, fn: Any, case: ChaosCase, case_id: int) -> None:
        try:
            fn(case, case_id)
        except Exception as error:  # a database outage, a lost connection: the person tries again next round
            self.counts["people_errors"] += 1
            log.info("case %s: %s: %s", case.tiktok_id, error.__class__.__name__, error)

    def _stored_statuses(self) -> dict[str, tuple[int, str]] | None:
        assert self.env.runtime is not None
        try:
            with transaction(self.env.runtime.sessions) as session:
                rows = session.execute(select(Case.tiktok_id, Case.id, Case.tiktok_status))
                return {tiktok_id: (case_id, status) for tiktok_id, case_id, status in rows}
        except Exception as error:  # the database is "restarting": the back-office shows an error page
            self.counts["back_office_unavailable"] += 1
            log.info("statuses unavailable: %s", error.__class__.__name__)
            return None

    def _decide(self, case: ChaosCase, case_id: int) -> None:
        _, action = case.next_step
        params: dict[str, Any] | None = None
        if action.startswith("reject"):
            reasons = self.service.reject_reasons(case_id)
            params = {"reason": reasons[0].name}
        elif action == "offer_partial_refund":
            params = {"amount": case.partial_amount}
        # The key of one click: a page reloaded after an error sends the same click again, not a second decision.
        key = f"chaos-{case.tiktok_id}-{case.step}-{case.tries}"
        try:
            outcome = self.service.decide(case_id, action, params, actor="merchant", actor_name="Chaos merchant",
                                          idempotency_key=key)
        except DecisionRefused as refused:
            self.counts["decisions_refused"] += 1
            self._try_again(case, f"refused: {refused}")
            return
        self.counts[f"decisions_{outcome.state}"] += 1
        if outcome.state in UNFINISHED_STATES:
            case.waiting_since = time.monotonic()  # TikTok did not answer: the product's sweep sends it again
            return
        if outcome.state != "done":
            self._try_again(case, f"TikTok refused: {outcome.message}")
            return
        self._advance(case, self._tiktok_status(case))

    def _try_again(self, case: ChaosCase, why: str) -> None:
        case.tries += 1
        if case.tries >= MAX_TRIES:
            case.gave_up = why
            self.counts["cases_given_up"] += 1

    def _recheck(self, case: ChaosCase, _case_id: int) -> None:
        status = self._tiktok_status(case)
        if status != case.tiktok_status:
            case.waiting_since = None
            self._advance(case, status)
        else:
            case.waiting_since = time.monotonic()

    def _observe(self, case: ChaosCase, _case_id: int) -> None:
        case.observed_at = time.monotonic()
        status = self._tiktok_status(case)
        if status != case.tiktok_status:
            case.moved_to(status)
            self.counts["moved_on_by_tiktok"] += 1

    def _act(self, case: ChaosCase, _case_id: int) -> None:
        _, action = case.next_step
        if action == "complete_refund" and case.tiktok_status.endswith(COMPLETE):
            self._advance(case, case.tiktok_status)  # TikTok paid it on its own already
            return
        path = {"ship": f"/returns/{case.tiktok_id}/ship", "withdraw": f"/requests/{case.tiktok_id}/withdraw",
                "complete_refund": f"/requests/{case.tiktok_id}/complete_refund",
                "accept_partial_refund": f"/returns/{case.tiktok_id}/partial_refund_response"}[action]
        body = {"accept": True} if action == "accept_partial_refund" else {}
        try:
            answer = self.env.call_tiktok("POST", path, body)
        except httpx.HTTPStatusError as refused:
            status = self._tiktok_status(case)
            if action == "complete_refund" and status.endswith(COMPLETE):
                self.counts["completed_by_tiktok_first"] += 1
                self._advance(case, status)
                return
            self.counts[f"{action}_refused_by_tiktok"] += 1
            case.gave_up = f"{action}: {refused.response.text[:200]}"
            return
        self.counts[action] += 1
        self._advance(case, request_status(answer))

    def _advance(self, case: ChaosCase, status: str) -> None:
        case.moved_to(status)
        case.step += 1
        case.tries = 0

    def _tiktok_status(self, case: ChaosCase) -> str:
        return request_status(self.env.call_tiktok("GET", f"/requests/{case.tiktok_id}"))


def _partial(request: dict[str, Any]) -> str:
    total = Decimal(str((request.get("refund_amount") or {}).get("refund_total") or "0"))
    return str((total / 2).quantize(Decimal("0.01")))


def _units(request: dict[str, Any]) -> list[Any]:
    from returnbridge.commands.demo_shopify import units_of_request

    return units_of_request(request)
