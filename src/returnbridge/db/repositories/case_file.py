"""Everything about one case for the case page and the API: the case, its shop, its lines, its whole timeline, the
decision still on its way (if any); and internal notes, which are timeline events written by a user."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from returnbridge.db.models import Case, CaseLine, Decision, TikTokAccount, TimelineEvent
from returnbridge.db.repositories.decisions import UNFINISHED_STATES

NOTE_KIND = "note"


@dataclass(frozen=True)
class CaseFile:
    case: Case
    account: TikTokAccount | None
    lines: list[CaseLine]
    timeline: list[TimelineEvent]  # oldest first
    decision_on_its_way: Decision | None


class CaseFileRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def load(self, case_id: int) -> CaseFile | None:
        case = self.session.get(Case, case_id)
        if case is None:
            return None
        lines = self.session.scalars(select(CaseLine).where(CaseLine.case_id == case_id).order_by(CaseLine.id))
        events = self.session.scalars(
            select(TimelineEvent).where(TimelineEvent.case_id == case_id).order_by(TimelineEvent.at, TimelineEvent.id)
        )
        busy = self.session.scalars(
            select(Decision).where(Decision.case_id == case_id, Decision.state.in_(UNFINISHED_STATES))
            .order_by(Decision.id).limit(1)
        ).first()
        return CaseFile(case, self.session.get(TikTokAccount, case.account_id), list(lines), list(events), busy)

    def exists(self, case_id: int) -> bool:
        return self.session.scalar(select(Case.id).where(Case.id == case_id)) is not None

    def add_note(self, *, case_id: int, author: str, text: str, at: datetime) -> TimelineEvent:
        event = TimelineEvent(case_id=case_id, at=at, actor="merchant", actor_name=author, kind=NOTE_KIND,
                              detail={"text": text}, dedupe_key=f"note:{uuid.uuid4().hex}")
        self.session.add(event)
        self.session.flush()
        return event
