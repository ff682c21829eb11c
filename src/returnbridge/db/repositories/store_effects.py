"""The ``store_effects`` outbox: planned effects, the mirror's claims and outcomes, and what reconciliation reads.

Only rows are read and written here; ``sync.mirror`` owns the workflow and the transactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from returnbridge.db.models import Case, CaseLine, Store, StoreEffect, TimelineEvent, utcnow

PENDING, IN_PROGRESS, DONE, HELD, FAILED = "pending", "in_progress", "done", "held", "failed"
DUE_STATES = (PENDING, IN_PROGRESS)
# A return is cancelled only after it was created (and after anything else the case called for).
KIND_ORDER = {"return": 0, "refund": 1, "restock": 2, "return_cancel": 3}
_KIND_RANK = sql_case(KIND_ORDER, value=StoreEffect.kind, else_=9)


class StoreEffectRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- planning --------------------------------------------------------------------------------------------

    def cases_with_lines(self, case_ids: Sequence[int]) -> list[tuple[Case, list[CaseLine]]]:
        if not case_ids:
            return []
        cases = list(self.session.scalars(select(Case).where(Case.id.in_(list(case_ids))).order_by(Case.id)))
        lines: dict[int, list[CaseLine]] = {}
        for line in self.session.scalars(select(CaseLine).where(CaseLine.case_id.in_([c.id for c in cases]))
                                         .order_by(CaseLine.id)):
            lines.setdefault(line.case_id, []).append(line)
        return [(c, lines.get(c.id, [])) for c in cases]

    def enabled_stores(self) -> list[Store]:
        # Settings are JSON, so "enabled" is decided in Python; the table holds a handful of rows.
        return [s for s in self.session.scalars(select(Store).order_by(Store.id))
                if (s.settings or {}).get("mirroring", "off") != "off"]

    def case_ids_for_accounts(self, account_ids: Sequence[int] | None, after_id: int, limit: int) -> list[int]:
        stmt = select(Case.id).where(Case.id > after_id).order_by(Case.id).limit(limit)
        if account_ids:
            stmt = stmt.where(Case.account_id.in_(list(account_ids)))
        return list(self.session.scalars(stmt))

    def existing_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        return set(self.session.scalars(select(StoreEffect.idempotency_key)
                                        .where(StoreEffect.idempotency_key.in_(list(keys)))))

    def insert_planned(self, rows: list[dict[str, Any]]) -> int:
        """Insert effects; one whose key exists already is left as it is (planning twice plans once)."""
        if not rows:
            return 0
        dialect = self.session.get_bind().dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(StoreEffect.__table__)
        stmt = insert.on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(StoreEffect.id)
        return len(self.session.connection().execute(stmt, rows).fetchall())

    # --- the mirror --------------------------------------------------------------------------------------------

    def due(self, store_id: int, now: datetime, limit: int) -> list[StoreEffect]:
        stmt = (
            select(StoreEffect)
            .where(StoreEffect.store_id == store_id, StoreEffect.state.in_(DUE_STATES),
                   StoreEffect.next_attempt_at <= now)
            .order_by(StoreEffect.case_id, _KIND_RANK, StoreEffect.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def states_for_cases(self, store_id: int, case_ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
        """(kind, state) of every effect of these cases in this store."""
        found: dict[int, list[tuple[str, str]]] = {}
        ids = list(set(case_ids))
        if not ids:
            return found
        stmt = select(StoreEffect.case_id, StoreEffect.kind, StoreEffect.state).where(
            StoreEffect.store_id == store_id, StoreEffect.case_id.in_(ids))
        for case_id, kind, state in self.session.execute(stmt):
            found.setdefault(case_id, []).append((kind, state))
        return found

    def get(self, effect_id: int, *, for_update: bool = False) -> StoreEffect | None:
        stmt = select(StoreEffect).where(StoreEffect.id == effect_id)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def case(self, case_id: int) -> Case | None:
        return self.session.get(Case, case_id)

    def stores_with_due(self, now: datetime) -> list[int]:
        stmt = select(StoreEffect.store_id).where(
            StoreEffect.state.in_(DUE_STATES), StoreEffect.next_attempt_at <= now).distinct()
        return sorted(self.session.scalars(stmt))

    def counts(self, store_id: int | None = None) -> dict[str, int]:
        stmt = select(StoreEffect.state, func.count()).group_by(StoreEffect.state)
        if store_id is not None:
            stmt = stmt.where(StoreEffect.store_id == store_id)
        return {state: int(n) for state, n in self.session.execute(stmt)}

    def listing(self, *, store_id: int | None = None, states: Sequence[str] | None = None,
                case_id: int | None = None, limit: int = 200) -> list[StoreEffect]:
        stmt = select(StoreEffect).order_by(StoreEffect.id.desc()).limit(limit)
        if store_id is not None:
            stmt = stmt.where(StoreEffect.store_id == store_id)
        if states:
            stmt = stmt.where(StoreEffect.state.in_(list(states)))
        if case_id is not None:
            stmt = stmt.where(StoreEffect.case_id == case_id)
        return list(self.session.scalars(stmt))

    def add_event(self, effect: StoreEffect, *, actor: str, actor_name: str, outcome: str, text: str) -> None:
        """A store-effect entry on the case timeline, with the link to the store record when there is one."""
        dialect = self.session.get_bind().dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(TimelineEvent.__table__)
        self.session.execute(insert.values(
            case_id=effect.case_id, at=utcnow(), actor=actor, actor_name=actor_name, kind="store_effect",
            from_status="", to_status=outcome,
            detail={"effect_id": effect.id, "store_id": effect.store_id, "effect": effect.kind, "outcome": outcome,
                    "text": text, "store_record_id": effect.store_record_id, "url": effect.store_record_url,
                    "attempts": effect.attempts, "idempotency_key": effect.idempotency_key},
            dedupe_key=f"effect:{effect.id}:{outcome}:{effect.attempts}:{utcnow().timestamp():.6f}"[:128],
        ).on_conflict_do_nothing(index_elements=["case_id", "dedupe_key"]))

    # --- reconciliation ------------------------------------------------------------------------------------------

    def refunded_cases(self, *, account_ids: Sequence[int] | None, since: datetime | None) -> list[Case]:
        """Cases TikTok shows refunded (store status "Refunded"), oldest first."""
        stmt = select(Case).where(Case.store_status == "Refunded").order_by(Case.id)
        if account_ids:
            stmt = stmt.where(Case.account_id.in_(list(account_ids)))
        if since is not None:
            stmt = stmt.where(Case.tiktok_update_time >= since)
        return list(self.session.scalars(stmt))

    def refund_effects(self, store_id: int, case_ids: Sequence[int]) -> dict[int, StoreEffect]:
        if not case_ids:
            return {}
        stmt = select(StoreEffect).where(StoreEffect.store_id == store_id, StoreEffect.kind == "refund",
                                         StoreEffect.case_id.in_(list(case_ids)))
        return {e.case_id: e for e in self.session.scalars(stmt)}
