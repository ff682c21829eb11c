"""Merchant rules: saved, dry-run over past cases, and applied to new or changed cases by a job.

What applying guarantees:

- Rules are tried in priority order (lower first, ties by id); for each case the **first** enabled rule whose
  conditions match is the only one considered.
- A rule acts only on cases awaiting the merchant (``needs_action``) that changed since the rule was switched on,
  so enabling a rule does not sweep through history; the dry run is how a merchant sees what it would have done.
- A rule acts on a case **exactly once**: a ``rule_runs`` row, UNIQUE (rule, case), is committed before the action;
  the decision goes through ``DecisionService`` with the idempotency key ``rule-<rule>-case-<case>``, so a run whose
  process died after the claim is finished later with the same key, and TikTok sees one decision.
- Every action is a normal decision (actor "rule", the rule's name, in the timeline) and is refused, not forced,
  when it does not fit the case's current state. "Route to review" sends nothing: the run is the review queue entry
  (outcome ``review``, listed on the rules page) and the case's timeline gets a note.

The job runs after each pull and webhook is committed (never inside the ingest transaction) and on the schedule.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, Rule, utcnow
from returnbridge.db.repositories.rules import MatchedCase, MatchTotal, RuleRepository
from returnbridge.domain.currencies import ZERO_DECIMAL, minor_units
from returnbridge.domain.rules import ActionKind, RuleAction, RuleSpec, parse_conditions, parse_rule, partial_amount
from returnbridge.domain.rules import spec_json as rule_json
from returnbridge.errors import UserFacingError
from returnbridge.sync.decisions import DecisionAction, DecisionRefused, DecisionService

if TYPE_CHECKING:
    from returnbridge.sync.runtime import Runtime

log = logging.getLogger(__name__)

DRY_RUN_LIST = 100
APPLY_BATCH = 500
# A claim left unfinished this long belongs to a process that died; its decision is sent with the same key.
STALE_CLAIM_AFTER = timedelta(minutes=5)


class RuleNotFound(UserFacingError):
    http_status: ClassVar[int] = 404


@dataclass(frozen=True)
class RuleView:
    id: int
    name: str
    priority: int
    enabled: bool
    conditions: dict[str, Any]
    action: dict[str, Any]
    action_text: str
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "priority": self.priority, "enabled": self.enabled,
            "conditions": self.conditions, "action": self.action, "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(), "created_by": self.created_by, "updated_by": self.updated_by,
        }


def _view(rule: Rule) -> RuleView:
    action = RuleAction.model_validate(rule.action)
    return RuleView(rule.id, rule.name, rule.priority, rule.enabled, dict(rule.conditions or {}), dict(rule.action),
                    action.describe(), rule.created_at, rule.updated_at, rule.created_by, rule.updated_by)


# --- editing ---------------------------------------------------------------------------------------------------


def list_rules(runtime: Runtime) -> list[RuleView]:
    with transaction(runtime.sessions) as session:
        return [_view(r) for r in RuleRepository(session).all()]


def get_rule(runtime: Runtime, rule_id: int) -> RuleView:
    with transaction(runtime.sessions) as session:
        rule = RuleRepository(session).get(rule_id)
        if rule is None:
            raise RuleNotFound(f"there is no rule {rule_id}")
        return _view(rule)


def _apply_spec(rule: Rule, spec: RuleSpec, by: str) -> None:
    data = rule_json(spec)
    data.pop("enabled", None)
    enabled = bool(rule.enabled) if spec.enabled is None else spec.enabled
    if enabled and not rule.enabled:
        rule.enabled_at = utcnow()
    rule.name, rule.priority, rule.enabled = spec.name, spec.priority, enabled
    rule.conditions, rule.action = data.get("conditions", {}), data["action"]
    rule.updated_by = by


def create_rule(runtime: Runtime, data: Any, *, by: str) -> RuleView:
    """A new rule from JSON; ``RuleInvalid`` (every problem listed) when it does not validate."""
    spec = parse_rule(data)
    with transaction(runtime.sessions) as session:
        rule = Rule(created_by=by, enabled=False)
        _apply_spec(rule, spec, by)
        return _view(RuleRepository(session).add(rule))


def update_rule(runtime: Runtime, rule_id: int, data: Any, *, by: str) -> RuleView:
    spec = parse_rule(data)
    with transaction(runtime.sessions) as session:
        repo = RuleRepository(session)
        rule = repo.get(rule_id)
        if rule is None:
            raise RuleNotFound(f"there is no rule {rule_id}")
        _apply_spec(rule, spec, by)
        session.flush()
        return _view(rule)


def set_enabled(runtime: Runtime, rule_id: int, enabled: bool, *, by: str) -> RuleView:
    with transaction(runtime.sessions) as session:
        rule = RuleRepository(session).get(rule_id)
        if rule is None:
            raise RuleNotFound(f"there is no rule {rule_id}")
        if enabled and not rule.enabled:
            rule.enabled_at = utcnow()
        rule.enabled = enabled
        rule.updated_by = by
        session.flush()
        return _view(rule)


def delete_rule(runtime: Runtime, rule_id: int) -> None:
    with transaction(runtime.sessions) as session:
        repo = RuleRepository(session)
        rule = repo.get(rule_id)
        if rule is None:
            raise RuleNotFound(f"there is no rule {rule_id}")
        repo.delete(rule)


# --- dry run ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRunCase:
    case: MatchedCase
    would: str  # what the rule would do, in words
    offered: Decimal | None  # the partial refund it would offer


@dataclass(frozen=True)
class DryRun:
    action: RuleAction
    totals: list[MatchTotal]
    cases: list[DryRunCase]

    @property
    def matched(self) -> int:
        return sum(t.cases for t in self.totals)

    @property
    def actionable(self) -> int:
        return sum(t.actionable for t in self.totals)

    def as_json(self) -> dict[str, Any]:
        def text(amount: Decimal | None) -> str | None:
            return None if amount is None else format(amount, "f")

        return {
            "action": self.action.describe(),
            "matched": self.matched,
            "actionable_now": self.actionable,
            "totals": [
                {"currency": t.currency, "cases": t.cases, "actionable_now": t.actionable,
                 "refund_total": text(t.refund_total), "offered_total": text(t.offered_total)}
                for t in self.totals
            ],
            "cases": [
                {"case_id": c.case.id, "tiktok_id": c.case.tiktok_id, "order_id": c.case.order_id,
                 "type": c.case.type, "status": c.case.tiktok_status, "reason": c.case.reason_name,
                 "currency": c.case.currency, "refund_total": text(c.case.refund_total),
                 "awaiting_merchant": c.case.needs_action, "would": c.would, "offered": text(c.offered)}
                for c in self.cases
            ],
        }


def _places(currency: str) -> int:
    return minor_units(currency)


def dry_run(
    runtime: Runtime, data: Any, *, since: datetime | None = None, until: datetime | None = None,
    limit: int = DRY_RUN_LIST,
) -> DryRun:
    """What a rule (saved or not: ``data`` is its JSON, or just ``conditions`` and ``action``) would have done over
    past cases created in [since, until): totals per currency (never summed across currencies) and the latest
    ``limit`` matches. It ignores other rules and changes nothing."""
    if isinstance(data, dict) and "name" not in data:
        data = {**data, "name": "dry run"}
    spec = parse_rule(data)
    conditions = parse_conditions(rule_json(spec).get("conditions", {}))
    percent = spec.action.percent if spec.action.kind is ActionKind.PARTIAL_REFUND else None
    with transaction(runtime.sessions) as session:
        repo = RuleRepository(session)
        totals = repo.match_totals(conditions, since=since, until=until, percent=percent,
                                   zero_decimal=ZERO_DECIMAL)
        cases = repo.matching_cases(conditions, since=since, until=until, limit=limit)
    listed = []
    for matched in cases:
        offered = None
        if percent is not None and matched.refund_total is not None:
            offered = partial_amount(matched.refund_total, percent, _places(matched.currency))
        listed.append(DryRunCase(matched, spec.action.describe(), offered))
    return DryRun(spec.action, totals, listed)


def dry_run_saved(runtime: Runtime, rule_id: int, **options: Any) -> DryRun:
    view = get_rule(runtime, rule_id)
    return dry_run(runtime, {"name": view.name, "conditions": view.conditions, "action": view.action}, **options)


# --- applying --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleOutcome:
    rule_id: int
    case_id: int
    outcome: str  # done, failed, sent, pending, refused, review
    message: str
    decision_id: int | None = None


def decision_for(action: RuleAction, kind: str, tiktok_status: str) -> DecisionAction | None:
    """The decision a rule's action is for this case: the request, the received package or the cancellation."""
    if action.kind is ActionKind.REVIEW:
        return None
    if action.kind is ActionKind.PARTIAL_REFUND:
        return DecisionAction.OFFER_PARTIAL_REFUND
    approve = action.kind is ActionKind.APPROVE
    if kind == "cancellation":
        return DecisionAction.APPROVE_CANCELLATION if approve else DecisionAction.REJECT_CANCELLATION
    if tiktok_status == "BUYER_SHIPPED_ITEM":
        return DecisionAction.APPROVE_PACKAGE if approve else DecisionAction.REJECT_PACKAGE
    return DecisionAction.APPROVE_REQUEST if approve else DecisionAction.REJECT_REQUEST


def rule_key(rule_id: int, case_id: int) -> str:
    return f"rule-{rule_id}-case-{case_id}"


class RuleEngine:
    """Applies the enabled rules; ``decisions`` is injectable (tests pass one with a recording re-pull)."""

    def __init__(self, runtime: Runtime, decisions: DecisionService | None = None) -> None:
        self.runtime = runtime
        self.decisions = decisions or DecisionService(runtime)

    def apply(self, case_ids: Sequence[int] | None = None, *, limit: int = APPLY_BATCH) -> list[RuleOutcome]:
        """One pass: every case awaiting the merchant that changed since its first matching rule was switched on
        (optionally only ``case_ids``) gets that rule's action, once. Returns what was done in this pass."""
        outcomes = self._finish_stale()
        with transaction(self.runtime.sessions) as session:
            repo = RuleRepository(session)
            rules = [(r.id, r.name, r.enabled_at or r.updated_at, r.conditions, r.action) for r in repo.enabled()]
            if not rules:
                return outcomes
            earliest = min(enabled_at for _, _, enabled_at, _, _ in rules)
            winner: dict[int, int] = {}  # case id -> index of its first matching rule
            for index, (_, _, _, conditions, _) in enumerate(rules):
                for case_id in repo.candidates(parse_conditions(conditions), changed_since=earliest,
                                               case_ids=case_ids, limit=limit):
                    winner.setdefault(case_id, index)
            due: list[tuple[int, int]] = []
            by_rule: dict[int, list[int]] = {}
            for case_id, index in winner.items():
                by_rule.setdefault(index, []).append(case_id)
            for index, ids in by_rule.items():
                rule_id, _, enabled_at, _, _ = rules[index]
                done = repo.has_run(rule_id, ids)
                changed = {
                    cid for cid, updated in session.execute(
                        select(Case.id, Case.updated_at).where(Case.id.in_(ids))
                    ) if updated >= enabled_at
                }
                due.extend((index, cid) for cid in sorted(ids) if cid not in done and cid in changed)
        for index, case_id in due:
            rule_id, name, _, _, action = rules[index]
            outcome = self._act(rule_id, name, RuleAction.model_validate(action), case_id)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _finish_stale(self) -> list[RuleOutcome]:
        with transaction(self.runtime.sessions) as session:
            repo = RuleRepository(session)
            stale = [(r.id, r.rule_id, r.case_id) for r in repo.stale_claims(utcnow() - STALE_CLAIM_AFTER)]
            rules = {r.id: r for r in repo.all()}
            found = {rid: (rules[rid].name, rules[rid].action) for _, rid, _ in stale if rid in rules}
        outcomes = []
        for run_id, rule_id, case_id in stale:
            if rule_id in found:
                name, action = found[rule_id]
                outcomes.append(self._perform(run_id, rule_id, name, RuleAction.model_validate(action), case_id))
        return outcomes

    def _act(self, rule_id: int, name: str, action: RuleAction, case_id: int) -> RuleOutcome | None:
        with transaction(self.runtime.sessions) as session:
            case = session.get(Case, case_id)
            if case is None:
                return None
            decision = decision_for(action, case.kind, case.tiktok_status)
            run = RuleRepository(session).claim(rule_id, case_id, decision.value if decision else action.kind.value)
            if run is None:
                return None  # another worker claimed it first: it acts, not us
            run_id = run.id
        return self._perform(run_id, rule_id, name, action, case_id)

    def _perform(self, run_id: int, rule_id: int, name: str, action: RuleAction, case_id: int) -> RuleOutcome:
        try:
            outcome = self._decide(rule_id, name, action, case_id)
        except DecisionRefused as refused:
            outcome = RuleOutcome(rule_id, case_id, "refused", str(refused))
        except Exception as error:  # a rule must never take the worker down; the run shows what went wrong
            log.exception("rule %s on case %s failed", rule_id, case_id)
            outcome = RuleOutcome(rule_id, case_id, "failed", f"{type(error).__name__}: {error}")
        with transaction(self.runtime.sessions) as session:
            RuleRepository(session).finish(run_id, outcome.outcome, outcome.message, outcome.decision_id)
        log.info("rule %s on case %s: %s %s", rule_id, case_id, outcome.outcome, outcome.message)
        return outcome

    def _decide(self, rule_id: int, name: str, action: RuleAction, case_id: int) -> RuleOutcome:
        with transaction(self.runtime.sessions) as session:
            case = session.get(Case, case_id)
            if case is None:
                return RuleOutcome(rule_id, case_id, "refused", "the case no longer exists")
            kind, status, currency, total = case.kind, case.tiktok_status, case.currency, case.refund_total
            if action.kind is ActionKind.REVIEW:
                RuleRepository(session).add_event(
                    case_id, name, f"Routed to the review queue by rule {name!r}", f"rule-review:{rule_id}",
                    {"review": True, "rule_id": rule_id},
                )
                return RuleOutcome(rule_id, case_id, "review", "routed to the review queue")
        decision = decision_for(action, kind, status)
        assert decision is not None
        params: dict[str, Any] = {}
        if action.kind is ActionKind.REJECT:
            params = {"reason": action.reason, "comment": action.comment or None}
        elif action.kind is ActionKind.PARTIAL_REFUND:
            if total is None or not currency or action.percent is None:
                return RuleOutcome(rule_id, case_id, "refused", "the refund total of the case is not known yet")
            amount = partial_amount(total, action.percent, _places(currency))
            params = {"amount": format(amount, "f"), "currency": currency}
        result = self.decisions.decide(case_id, decision, params, actor="rule", actor_name=name,
                                       idempotency_key=rule_key(rule_id, case_id))
        return RuleOutcome(rule_id, case_id, result.state, result.message, result.decision_id)


def apply_rules(runtime: Runtime, case_ids: Sequence[int] | None = None,
                decisions: DecisionService | None = None) -> list[RuleOutcome]:
    return RuleEngine(runtime, decisions).apply(case_ids)


def review_queue(runtime: Runtime, limit: int = 200) -> list[dict[str, Any]]:
    with transaction(runtime.sessions) as session:
        return [
            {"run_id": run.id, "rule": name, "case_id": run.case_id, "tiktok_id": tiktok_id, "status": status,
             "at": run.at}
            for run, name, tiktok_id, status in RuleRepository(session).runs(outcome="review", limit=limit)
        ]


def recent_runs(runtime: Runtime, limit: int = 50) -> list[dict[str, Any]]:
    with transaction(runtime.sessions) as session:
        return [
            {"run_id": run.id, "rule": name, "case_id": run.case_id, "tiktok_id": tiktok_id, "action": run.action,
             "outcome": run.outcome, "message": run.message, "at": run.at}
            for run, name, tiktok_id, _ in RuleRepository(session).runs(limit=limit)
        ]


def mark_reviewed(runtime: Runtime, run_id: int) -> bool:
    with transaction(runtime.sessions) as session:
        return RuleRepository(session).clear_review(run_id)

