"""Decisions sent to TikTok, the cases they act on, and the timeline events they leave behind.

The service (``sync.decisions``) owns the workflow; this module only reads and writes rows and never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from returnbridge.db.models import Case, Decision, TimelineEvent, utcnow
from returnbridge.domain.row_ids import row_id

PENDING, SENT, DONE, FAILED = "pending", "sent", "done", "failed"
UNFINISHED_STATES = (PENDING, SENT)


class DecisionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- cases -----------------------------------------------------------------------------------------------

    def case(self, case_id: int, *, for_update: bool = False) -> Case | None:
        stmt = select(Case).where(Case.id == case_id)
        if for_update:
            # Serialises two decisions on the same case (PostgreSQL); SQLite's BEGIN IMMEDIATE already does.
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def case_ids_for(self, refs: Sequence[str]) -> dict[str, int | None]:
        """Each reference (a TikTok return/cancellation id, or our case id) → our case id, None when unknown.

        TikTok ids are looked up first: they are 18–19 digit strings that never collide with our small ids.
        """
        found: dict[str, int | None] = {}
        by_tiktok = {
            tiktok_id: case_id
            for tiktok_id, case_id in self.session.execute(
                select(Case.tiktok_id, Case.id).where(Case.tiktok_id.in_(list(refs)))
            )
        }
        numeric = [number for ref in refs if ref not in by_tiktok and (number := row_id(ref)) is not None]
        own = set(self.session.scalars(select(Case.id).where(Case.id.in_(numeric)))) if numeric else set()
        for ref in refs:
            if ref in by_tiktok:
                found[ref] = by_tiktok[ref]
            elif row_id(ref) in own:
                found[ref] = row_id(ref)
            else:
                found[ref] = None
        return found

    # --- decisions -------------------------------------------------------------------------------------------

    def get(self, decision_id: int, *, for_update: bool = False) -> Decision | None:
        stmt = select(Decision).where(Decision.id == decision_id)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def by_key(self, idempotency_key: str) -> Decision | None:
        return self.session.scalars(select(Decision).where(Decision.idempotency_key == idempotency_key)).first()

    def unfinished_for_case(self, case_id: int) -> Decision | None:
        stmt = (
            select(Decision)
            .where(Decision.case_id == case_id, Decision.state.in_(UNFINISHED_STATES))
            .order_by(Decision.id)
        )
        return self.session.scalars(stmt).first()

    def for_case(self, case_id: int) -> list[Decision]:
        return list(self.session.scalars(select(Decision).where(Decision.case_id == case_id).order_by(Decision.id)))

    def add(
        self,
        *,
        case_id: int,
        action: str,
        params: dict[str, Any],
        idempotency_key: str,
        actor: str,
        actor_name: str,
    ) -> Decision:
        decision = Decision(
            case_id=case_id,
            action=action,
            params=params,
            idempotency_key=idempotency_key,
            actor=actor,
            actor_name=actor_name,
            state=PENDING,
            attempts=0,
            created_at=utcnow(),
        )
        self.session.add(decision)
        self.session.flush()
        return decision

    def mark_sent(self, decision: Decision, at: datetime) -> None:
        decision.state = SENT
        decision.attempts += 1
        decision.sent_at = at
        self.session.flush()

    def finish(
        self, decision: Decision, state: str, result: str, at: datetime, error_code: int | None = None
    ) -> None:
        decision.state = state
        decision.result = result
        decision.error_code = error_code
        decision.finished_at = at
        self.session.flush()

    def note_unfinished(self, decision: Decision, result: str, error_code: int | None) -> None:
        """Keep the decision for the sweep, with why the last attempt did not finish."""
        decision.result = result
        decision.error_code = error_code
        self.session.flush()

    def due_for_retry(self, cutoff: datetime, limit: int) -> list[int]:
        """Unfinished decisions last touched at or before ``cutoff``, oldest first."""
        last_touched = func.coalesce(Decision.sent_at, Decision.created_at)
        stmt = (
            select(Decision.id)
            .where(Decision.state.in_(UNFINISHED_STATES), last_touched <= cutoff)
            .order_by(Decision.created_at, Decision.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    # --- timeline --------------------------------------------------------------------------------------------

    def append_event(
        self,
        *,
        case_id: int,
        at: datetime,
        actor: str,
        actor_name: str,
        kind: str,
        detail: dict[str, Any],
        dedupe_key: str,
        from_status: str = "",
        to_status: str = "",
    ) -> bool:
        """Append a timeline event unless one with the same ``dedupe_key`` exists; True when it was added.

        Insert-or-ignore on the unique (case_id, dedupe_key): a duplicate must not abort the transaction that
        records the decision's outcome.
        """
        values = {
            "case_id": case_id,
            "at": at,
            "actor": actor,
            "actor_name": actor_name,
            "kind": kind,
            "from_status": from_status,
            "to_status": to_status,
            "detail": detail,
            "dedupe_key": dedupe_key,
        }
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(TimelineEvent).values(**values).on_conflict_do_nothing(
                index_elements=["case_id", "dedupe_key"]
            )
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(TimelineEvent).values(**values).on_conflict_do_nothing(
                index_elements=["case_id", "dedupe_key"]
            )
        else:  # pragma: no cover - only the two supported dialects exist
            exists = self.session.scalars(
                select(TimelineEvent.id).where(
                    TimelineEvent.case_id == case_id, TimelineEvent.dedupe_key == dedupe_key
                )
            ).first()
            if exists is not None:
                return False
            self.session.add(TimelineEvent(**values))
            self.session.flush()
            return True
        return bool(self.session.execute(stmt).rowcount)

    def decision_events(self, case_id: int) -> list[TimelineEvent]:
        stmt = (
            select(TimelineEvent)
            .where(TimelineEvent.case_id == case_id, TimelineEvent.kind == "decision")
            .order_by(TimelineEvent.at, TimelineEvent.id)
        )
        return list(self.session.scalars(stmt))

