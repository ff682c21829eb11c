"""What a merchant does to a case from the back-office or the JSON API: read it, decide it (alone or in bulk), add an
internal note, re-sync it from TikTok. One place, so the pages and the API cannot drift apart.

Decisions go through ``sync.decisions.DecisionService`` (which owns every rule about what a case allows); this
module only adds who is acting and turns outcomes into sentences. Everything here blocks on the database or TikTok:
callers run it in a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from returnbridge.db.engine import transaction
from returnbridge.db.models import utcnow
from returnbridge.db.repositories.case_file import CaseFileRepository
from returnbridge.domain.statuses import CaseKind, classify
from returnbridge.errors import UserFacingError
from returnbridge.sync.decisions import (
    REFUSED,
    CaseNotFound,
    DecisionOutcome,
    DecisionParams,
    DecisionService,
)
from returnbridge.sync.runtime import Runtime
from returnbridge.tiktok import RejectReason, TikTokError
from returnbridge.web.auth import SignedInUser
from returnbridge.web.case_detail import CaseDetail, EventView, case_detail, event_view

MAX_NOTE_CHARS = 5000
MERCHANT = "merchant"


class NoteRefused(UserFacingError):
    http_status: ClassVar[int] = 422


class ResyncFailed(UserFacingError):
    """TikTok could not be read (down, refused, account disconnected): nothing changed."""

    http_status: ClassVar[int] = 503


@dataclass(frozen=True)
class ResyncResult:
    case_id: int
    found: bool  # False when TikTok no longer lists the request
    tiktok_status: str
    store_status: str
    message: str


def outcome_kind(outcome: DecisionOutcome) -> str:
    """The flash style of an outcome: success, error (refused or failed) or info (still on its way)."""
    if outcome.ok:
        return "success"
    return "info" if outcome.unfinished else "error"


def outcome_sentence(outcome: DecisionOutcome) -> str:
    text = outcome.message.strip()
    if outcome.state == REFUSED:
        return f"Case {outcome.case_id}: not sent — {text}"
    return f"Case {outcome.case_id}: {text}"


class CaseActions:
    def __init__(self, runtime: Runtime, decisions: DecisionService | None = None) -> None:
        self.runtime = runtime
        self.decisions = decisions or DecisionService(runtime)

    def detail(self, case_id: int) -> CaseDetail:
        with transaction(self.runtime.sessions) as session:
            found = CaseFileRepository(session).load(case_id)
            if found is None:
                raise CaseNotFound(f"case {case_id} does not exist")
            return case_detail(found)

    def reject_reasons(self, case_id: int) -> list[RejectReason]:
        return self.decisions.reject_reasons(case_id)

    def decide(self, case_id: int, action: str, params: DecisionParams, user: SignedInUser,
               idempotency_key: str | None = None) -> DecisionOutcome:
        """Raises ``DecisionRefused`` when nothing was sent; otherwise the outcome (done, failed, on its way)."""
        return self.decisions.decide(case_id, action, params, actor=MERCHANT, actor_name=user.email,
                                     idempotency_key=idempotency_key)

    def decide_many(self, case_ids: Sequence[int], action: str, params: DecisionParams,
                    user: SignedInUser) -> list[DecisionOutcome]:
        """One outcome per case, refusals included (state ``refused``); raises only for an unknown action or
        wrong parameters, which would refuse every case alike."""
        return self.decisions.decide_many(case_ids, action, params, actor=MERCHANT, actor_name=user.email)

    def add_note(self, case_id: int, text: str, user: SignedInUser) -> EventView:
        text = text.strip()
        if not text:
            raise NoteRefused("the note is empty")
        if len(text) > MAX_NOTE_CHARS:
            raise NoteRefused(f"the note is {len(text)} characters; at most {MAX_NOTE_CHARS}")
        with transaction(self.runtime.sessions) as session:
            notes = CaseFileRepository(session)
            if not notes.exists(case_id):
                raise CaseNotFound(f"case {case_id} does not exist")
            return event_view(notes.add_note(case_id=case_id, author=user.email, text=text, at=utcnow()))

    def resync(self, case_id: int) -> ResyncResult:
        """Read the case again from TikTok now (``sync.ingest.refresh_case``) and say what it shows."""
        from returnbridge.sync.ingest import refresh_case

        with transaction(self.runtime.sessions) as session:
            if not CaseFileRepository(session).exists(case_id):
                raise CaseNotFound(f"case {case_id} does not exist")
        try:
            found = refresh_case(self.runtime, case_id, source="resync")
        except TikTokError as error:
            raise ResyncFailed(f"TikTok could not be read: {error.message} (code {error.code}); nothing changed") \
                from error
        except UserFacingError as error:
            raise ResyncFailed(f"TikTok could not be read: {error}; nothing changed") from error
        detail = self.detail(case_id)
        if found is None:
            return ResyncResult(case_id, False, detail.tiktok_status, detail.store_status,
                                f"TikTok no longer lists request {detail.tiktok_id}; the case is kept as it was.")
        shown = classify(CaseKind(detail.kind), detail.tiktok_status).store_status.value
        return ResyncResult(case_id, True, detail.tiktok_status, detail.store_status,
                            f"Re-synced from TikTok: {detail.tiktok_status or 'no status'} ({shown}).")
