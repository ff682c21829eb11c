"""Rules, their runs, and rule conditions as SQL: one ``WHERE`` over ``cases`` for a dry run or a live pass.

Conditions are pushed into the database (never a loop over cases in Python) so a dry run over a million cases is
one scan with a ``GROUP BY currency``, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, case, exists, func, literal, select, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from returnbridge.db.models import Case, CaseLine, OrderLineSold, Rule, RuleRun, TimelineEvent, utcnow
from returnbridge.db.money import SCALE
from returnbridge.domain.rules import Conditions

MICRO = int(SCALE)


def _buyer_of(cases: Any) -> Any:
    """The buyer of a case's order, from the units sold (Search Orders); NULL while the order is not pulled."""
    line = aliased(OrderLineSold)
    return (
        select(line.buyer_user_id)
        .where(line.account_id == cases.account_id, line.order_id == cases.order_id, line.buyer_user_id != "")
        .correlate(cases)
        .limit(1)
        .scalar_subquery()
    )


def _earlier_returns(cases: Any) -> Any:
    """How many returns the same buyer opened before this case, on other orders of the same shop."""
    earlier = aliased(Case)
    line = aliased(OrderLineSold)
    buyer_orders = select(line.order_id).where(
        line.account_id == cases.account_id, line.buyer_user_id == _buyer_of(cases)
    ).correlate(cases)
    return (
        select(func.count(earlier.id))
        .where(
            earlier.account_id == cases.account_id,
            earlier.kind == "return",
            earlier.order_id != cases.order_id,
            earlier.tiktok_create_time < cases.tiktok_create_time,
            earlier.order_id.in_(buyer_orders),
        )
        .correlate(cases)
        .scalar_subquery()
    )


def condition_clause(conditions: Conditions, cases: Any = Case) -> ColumnElement[bool]:
    """The conditions as one SQL predicate on ``cases`` (``Case`` or an alias of it)."""
    parts: list[ColumnElement[bool]] = []
    if conditions.types:
        parts.append(cases.type.in_(conditions.types))
    if conditions.reasons:
        parts.append(cases.reason_name.in_(conditions.reasons))
    if conditions.account_ids:
        parts.append(cases.account_id.in_(conditions.account_ids))
    if conditions.statuses:
        parts.append(cases.store_status.in_([s.value for s in conditions.statuses]))
    if conditions.tiktok_statuses:
        parts.append(cases.tiktok_status.in_(conditions.tiktok_statuses))
    if conditions.amount is not None:
        amount = conditions.amount
        parts.append(cases.currency == amount.currency)
        parts.append(cases.refund_total.is_not(None))
        if amount.min is not None:
            parts.append(cases.refund_total >= amount.min)
        if amount.max is not None:
            parts.append(cases.refund_total <= amount.max)
    if conditions.skus:
        parts.append(
            exists().where(CaseLine.case_id == cases.id, CaseLine.seller_sku.in_(conditions.skus))
        )
    if conditions.asks_buyer:
        parts.append(_buyer_of(cases).is_not(None))
        count = _earlier_returns(cases)
        if conditions.earlier_returns_min is not None:
            parts.append(count >= conditions.earlier_returns_min)
        if conditions.earlier_returns_max is not None:
            parts.append(count <= conditions.earlier_returns_max)
    return and_(literal(True), *parts) if parts else literal(True)


@dataclass(frozen=True)
class MatchTotal:
    currency: str
    cases: int
    actionable: int  # matched cases that await the merchant now (the rule could act on them today)
    refund_total: Decimal  # TikTok's refund totals of the matched cases
    offered_total: Decimal | None  # partial refunds the rule would offer, rounded down per case


@dataclass(frozen=True)
class MatchedCase:
    id: int
    account_id: int
    kind: str
    tiktok_id: str
    order_id: str
    type: str
    tiktok_status: str
    store_status: str
    reason_name: str
    currency: str
    refund_total: Decimal | None
    needs_action: bool
    created: datetime | None


def _micros(value: int | None) -> Decimal:
    return Decimal(int(value or 0)).scaleb(-6).normalize() if value else Decimal(0)


class RuleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- rules --------------------------------------------------------------------------------------------------

    def all(self) -> list[Rule]:
        return list(self.session.scalars(select(Rule).order_by(Rule.priority, Rule.id)))

    def enabled(self) -> list[Rule]:
        return list(self.session.scalars(
            select(Rule).where(Rule.enabled.is_(True)).order_by(Rule.priority, Rule.id)
        ))

    def get(self, rule_id: int) -> Rule | None:
        return self.session.get(Rule, rule_id)

    def add(self, rule: Rule) -> Rule:
        self.session.add(rule)
        self.session.flush()
        return rule

    def delete(self, rule: Rule) -> None:
        self.session.delete(rule)
        self.session.flush()

    # --- matching ----------------------------------------------------------------------------------------------

    def match_totals(
        self, conditions: Conditions, *, since: datetime | None, until: datetime | None,
        percent: Decimal | None, zero_decimal: Collection[str],
    ) -> list[MatchTotal]:
        """Per currency: matching cases, how many await the merchant, their refund totals and (for a partial refund)
        what would be offered. One query; amounts are summed as integer millionths, per currency only."""
        where = [condition_clause(conditions)]
        if since is not None:
            where.append(Case.tiktok_create_time >= since)
        if until is not None:
            where.append(Case.tiktok_create_time < until)
        columns: list[Any] = [
            Case.currency,
            func.count(),
            func.coalesce(func.sum(case((Case.needs_action.is_(True), 1), else_=0)), 0),
            func.sum(_raw(Case.refund_total)),
        ]
        if percent is not None:
            # N % of each case's total, rounded down to the currency's unit, in integer arithmetic on both dialects:
            # micros * basis points / 10000, then floored to the unit (1 for zero-decimal currencies, 0.01 else).
            basis_points = int(percent * 100)
            unit = case((Case.currency.in_(list(zero_decimal)), MICRO), else_=MICRO // 100)
            offered = (_raw(Case.refund_total) * basis_points // 10000) // unit * unit
            columns.append(func.sum(offered))
        query = select(*columns).where(*where).group_by(Case.currency).order_by(Case.currency)
        totals = []
        for row in self.session.execute(query):
            offered_total = _micros(row[4]) if percent is not None else None
            totals.append(MatchTotal(row[0] or "", int(row[1]), int(row[2] or 0), _micros(row[3]), offered_total))
        return totals

    def matching_cases(
        self, conditions: Conditions, *, since: datetime | None, until: datetime | None, limit: int
    ) -> list[MatchedCase]:
        where = [condition_clause(conditions)]
        if since is not None:
            where.append(Case.tiktok_create_time >= since)
        if until is not None:
            where.append(Case.tiktok_create_time < until)
        query = (
            select(Case.id, Case.account_id, Case.kind, Case.tiktok_id, Case.order_id, Case.type, Case.tiktok_status,
                   Case.store_status, Case.reason_name, Case.currency, Case.refund_total, Case.needs_action,
                   Case.tiktok_create_time)
            .where(*where).order_by(Case.id.desc()).limit(limit)
        )
        return [MatchedCase(*row) for row in self.session.execute(query)]

    def candidates(self, conditions: Conditions, *, changed_since: datetime, case_ids: Sequence[int] | None = None,
                   limit: int) -> list[int]:
        """Cases awaiting the merchant, changed since ``changed_since``, that meet the conditions."""
        query = select(Case.id).where(
            Case.needs_action.is_(True), Case.updated_at >= changed_since, condition_clause(conditions)
        )
        if case_ids is not None:
            query = query.where(Case.id.in_(list(case_ids)))
        return list(self.session.scalars(query.order_by(Case.id).limit(limit)))

    # --- runs --------------------------------------------------------------------------------------------------

    def has_run(self, rule_id: int, case_ids: Sequence[int]) -> set[int]:
        if not case_ids:
            return set()
        return set(self.session.scalars(
            select(RuleRun.case_id).where(RuleRun.rule_id == rule_id, RuleRun.case_id.in_(list(case_ids)))
        ))

    def claim(self, rule_id: int, case_id: int, action: str) -> RuleRun | None:
        """The run row, or None when this rule already acted on (or claimed) this case: the UNIQUE constraint
        decides, so two workers racing on the same case cannot both act."""
        run = RuleRun(rule_id=rule_id, case_id=case_id, action=action, outcome="claimed", at=utcnow())
        try:
            with self.session.begin_nested():
                self.session.add(run)
                self.session.flush()
        except IntegrityError:
            return None
        return run

    def finish(self, run_id: int, outcome: str, message: str, decision_id: int | None) -> None:
        self.session.execute(
            update(RuleRun).where(RuleRun.id == run_id).values(
                outcome=outcome, message=message[:2000], decision_id=decision_id, at=utcnow()
            )
        )

    def stale_claims(self, older_than: datetime, limit: int = 100) -> list[RuleRun]:
        """Runs claimed but never finished (the process died between the claim and the decision)."""
        return list(self.session.scalars(
            select(RuleRun).where(RuleRun.outcome == "claimed", RuleRun.at < older_than).order_by(RuleRun.id)
            .limit(limit)
        ))

    def runs(self, *, outcome: str | None = None, limit: int = 200) -> list[tuple[RuleRun, str, str, str]]:
        """Recent runs with the rule's name and the case's TikTok id and status (the review queue is
        ``outcome="review"``)."""
        query = (
            select(RuleRun, Rule.name, Case.tiktok_id, Case.tiktok_status)
            .join(Rule, Rule.id == RuleRun.rule_id).join(Case, Case.id == RuleRun.case_id)
        )
        if outcome is not None:
            query = query.where(RuleRun.outcome == outcome)
        return [(r, n, t, s) for r, n, t, s in self.session.execute(query.order_by(RuleRun.id.desc()).limit(limit))]

    def clear_review(self, run_id: int) -> bool:
        result = self.session.execute(
            update(RuleRun).where(RuleRun.id == run_id, RuleRun.outcome == "review").values(outcome="reviewed")
        )
        return bool(getattr(result, "rowcount", 0))

    def add_event(self, case_id: int, rule_name: str, text: str, key: str, detail: dict[str, Any]) -> None:
        self.session.add(TimelineEvent(
            case_id=case_id, at=utcnow(), actor="rule", actor_name=rule_name, kind="note",
            detail={"text": text, **detail}, dedupe_key=key[:128],
        ))


def _raw(column: Any) -> Any:
    """The integer millionths stored in a money column (0 for none), for arithmetic and sums in SQL: the
    ``MicroAmount`` type would turn a result back into Decimal per row, which SUM of a million rows must not do."""
    return func.coalesce(type_coerce(column, BigInteger()), 0)
