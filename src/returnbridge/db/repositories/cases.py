"""Writing TikTok requests into ``cases`` a page at a time, and reading them back for the sync.

One page is a handful of statements whatever its size: one read of what we already hold, one multi-row upsert of the
cases, one of their lines, one of timeline events (``db.bulk``: written straight to the driver, because SQLAlchemy's
per-row parameter processing cost more than the database's own work). The upsert refuses data older than what is
stored (invariant 1), in SQL, so two pulls racing on the same shop, or a webhook refresh racing a pull, can never move a
case backwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, and_, func, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from returnbridge.db.bulk import Upsert
from returnbridge.db.models import Case, CaseLine, QuarantinedRecord, SyncState, TimelineEvent


@dataclass(frozen=True, slots=True)
class HeldCase:
    """What we hold of a case before a page is written: enough to tell what changed."""

    id: int
    tiktok_status: str
    arbitration_status: str
    tiktok_update_time: datetime | None
    needs_action: bool
    seller_deadline: datetime | None


def _insert(session: Session, model: type[Any]) -> Insert:
    # On the Table, not the mapped class: an ORM bulk insert goes row by row through the unit of work, while a Core
    # insert with a list of rows becomes one multi-row statement ("insertmanyvalues").
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model.__table__)


_CASE_KEY = ("account_id", "kind", "tiktok_id")

# An update only lands when it is not older than what is stored (invariant 1); the two flags only ever turn on here.
_CASE_UPSERT = Upsert(
    Case.__table__,  # type: ignore[arg-type]
    conflict=_CASE_KEY,
    keep=frozenset({"id", "created_at"}),
    update_sql=(
        ("records_due", "{table}.records_due OR excluded.records_due"),
        ("decided_by_tiktok", "{table}.decided_by_tiktok OR excluded.decided_by_tiktok"),
        # The first moment a case was seen Refunded stays while it is; leaving Refunded clears it. Writing it here
        # spares SQLite's trigger a second UPDATE of each newly refunded case (migration 0012).
        ("refunded_at", "CASE WHEN excluded.store_status = 'Refunded' "
                        "THEN coalesce({table}.refunded_at, excluded.refunded_at) END"),
    ),
    where="{table}.tiktok_update_time IS NULL OR excluded.tiktok_update_time >= {table}.tiktok_update_time",
    returning=("tiktok_id", "id"),
)
_LINE_UPSERT = Upsert(CaseLine.__table__, conflict=("case_id", "tiktok_line_id"))  # type: ignore[arg-type]
_EVENT_INSERT = Upsert(
    TimelineEvent.__table__, conflict=("case_id", "dedupe_key"), do_nothing=True  # type: ignore[arg-type]
)


_HELD_COLUMNS = (Case.tiktok_id, Case.id, Case.tiktok_status, Case.arbitration_status, Case.tiktok_update_time,
                 Case.needs_action, Case.seller_deadline)
_HELD_POSTGRES = (
    f"SELECT {', '.join(c.name for c in _HELD_COLUMNS)} FROM cases"
    " WHERE account_id = %b AND kind = %b AND tiktok_id = ANY(%b::text[])"
)


class CaseStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def held(self, account_id: int, kind: str, tiktok_ids: Sequence[str]) -> dict[str, HeldCase]:
        if not tiktok_ids:
            return {}
        connection = self.session.connection()
        if connection.dialect.name == "postgresql":
            # ``= ANY(array)``: one parameter instead of an IN list of 50, so psycopg parses the statement once,
            # and no server-side prepared plan (psycopg prepares after 5 runs) that was made while the table was
            # small and went on scanning it as it grew.
            dbapi = connection.connection.dbapi_connection
            assert dbapi is not None
            with dbapi.cursor() as cursor:
                cursor.execute(_HELD_POSTGRES, (account_id, kind, list(tiktok_ids)), prepare=False)
                return {row[0]: HeldCase(*row[1:]) for row in cursor}
        stmt = select(*_HELD_COLUMNS).where(Case.account_id == account_id, Case.kind == kind,
                                            Case.tiktok_id.in_(tiktok_ids))
        return {row[0]: HeldCase(*row[1:]) for row in self.session.execute(stmt)}

    def upsert(self, rows: list[dict[str, Any]], now: datetime) -> dict[str, int]:
        """Insert or update the cases; gives the id of each case actually written, by TikTok id.

        A row whose ``tiktok_update_time`` is older than the stored one is not written (and not returned). The
        records-due and decided-by-TikTok flags only ever turn on here; other code turns them off.
        """
        if not rows:
            return {}
        for row in rows:
            row["created_at"] = now
            row["updated_at"] = now
        return dict(_CASE_UPSERT.run(self.session, rows))  # type: ignore[arg-type]

    def upsert_lines(self, lines: list[dict[str, Any]]) -> None:
        _LINE_UPSERT.run(self.session, lines)

    def add_events(self, events: Iterable[dict[str, Any]]) -> None:
        """Append timeline events; one already there (same case and dedupe key) is left as it is."""
        _EVENT_INSERT.run(self.session, list(events))

    def refresh_statistics(self) -> None:
        """Let PostgreSQL's planner see how big the tables have grown. Until the first ANALYZE it has no statistics
        for a table that filled during a first sync, and it reads the held-cases lookup by scanning the whole
        account's index range instead of seeking each id: a page cost 3 ms at the start of a 60,000-return sync and
        70 ms at its end. Autovacuum would get there, but only after minutes. SQLite plans by the unique index."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("ANALYZE cases, case_lines, timeline_events"))

    def quarantine(self, account_id: int | None, source: str, tiktok_id: str, payload: str, error: str) -> None:
        self.session.add(
            QuarantinedRecord(account_id=account_id, source=source, tiktok_id=tiktok_id, payload=payload, error=error)
        )

    def case_key(self, case_id: int) -> tuple[int, str, str] | None:
        row = self.session.execute(
            select(Case.account_id, Case.kind, Case.tiktok_id).where(Case.id == case_id)
        ).first()
        return (row[0], row[1], row[2]) if row is not None else None

    def ids_by_key(self, keys: Sequence[tuple[int, str, str]]) -> dict[tuple[int, str, str], int]:
        if not keys:
            return {}
        stmt = select(Case.account_id, Case.kind, Case.tiktok_id, Case.id).where(
            tuple_(Case.account_id, Case.kind, Case.tiktok_id).in_(list(keys))
        )
        return {(a, k, t): i for a, k, t, i in self.session.execute(stmt)}

    def count_changed_since(
        self, account_id: int, kind: str, since: datetime, created_from: datetime, created_to: datetime
    ) -> int:
        """Cases of one stream updated (as we hold them) at or after ``since`` and created in ``[created_from,
        created_to)``: our side of the pull's count check."""
        account: Any = Case.account_id
        if self.session.get_bind().dialect.name == "sqlite" and created_from.timestamp() > 0:
            # SQLite, without statistics, reads this from the (account, update time) index: every case the account
            # changed since ``since`` (all of them after a first sync), for each window of the check. For a window
            # with a lower bound, ``+ 0`` keeps it off that index, so it reads the window's range of the
            # creation-time index instead; the first, unbounded count stays on it (few rows on a later pull).
            account = Case.account_id + 0
        return int(self.session.scalar(
            select(func.count()).select_from(Case).where(
                account == account_id, Case.kind == kind, Case.tiktok_update_time >= since,
                Case.tiktok_create_time >= created_from, Case.tiktok_create_time < created_to,
            )
        ) or 0)

    def count(self, account_id: int | None = None) -> int:
        stmt = select(func.count()).select_from(Case)
        if account_id is not None:
            stmt = stmt.where(and_(Case.account_id == account_id))
        return int(self.session.scalar(stmt) or 0)


class SyncStateStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, account_id: int, stream: str, *, for_update: bool = False) -> SyncState:
        """The stream's state row, created on first use (concurrent creators do not collide)."""
        self.session.execute(
            _insert(self.session, SyncState)
            .values(account_id=account_id, stream=stream, backfill_done=False, last_error="", consecutive_failures=0)
            .on_conflict_do_nothing(index_elements=["account_id", "stream"])
        )
        stmt = select(SyncState).where(SyncState.account_id == account_id, SyncState.stream == stream)
        if for_update:
            stmt = stmt.with_for_update()
        state = self.session.scalars(stmt).one()
        return state
