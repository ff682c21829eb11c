"""TikTok's return records (buyer notes, evidence images and videos, each party's steps) merged into the timeline.

Ingest only marks a return ``records_due`` when it is new or changed; the records are fetched here, later, so a first
sync of 100,000 returns is not held up by 100,000 record calls. Merging is idempotent: each record gets a dedupe key
computed from what it says, so fetching the same records again adds nothing.

No database transaction is open while TikTok is called: on SQLite a transaction holds the write lock, and a slow
record call must not stall ingest. So the case's ``tiktok_update_time`` is read before the call and compared after
it; when ingest changed the case in between, the flag stays on and the next run fetches the newer records.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, TimelineEvent
from returnbridge.errors import UserFacingError
from returnbridge.sync.tokens import AccountUnavailable
from returnbridge.tiktok import ShopClient
from returnbridge.tiktok.envelope import AnyData, Envelope
from returnbridge.tiktok.errors import InvalidCredentials, NotFound, RateLimited, TikTokError
from returnbridge.tiktok.models import ReturnRecord
from returnbridge.tiktok.transport import UnexpectedResponse

if TYPE_CHECKING:
    from returnbridge.sync.runtime import Runtime

log = logging.getLogger(__name__)

RECORD_KIND = "tiktok_record"
_ACTORS = {"BUYER": "buyer", "SELLER": "seller"}  # SYSTEM, OPERATOR, PLATFORM and anything new: TikTok's doing
_TEXT_FIELDS = ("event", "description", "reason_text", "note")
_KNOWN_FIELDS = frozenset({"role", "create_time", "images", "videos", *_TEXT_FIELDS})
_RECORDS_PATH = "/return_refund/202309/returns/{return_id}/records"


class CaseNotFound(UserFacingError):
    """The case does not exist (any more)."""


class NotAReturn(UserFacingError):
    """Only returns have TikTok records; cancellations do not."""


@dataclass(frozen=True, slots=True)
class _CaseSnapshot:
    account_id: int
    tiktok_id: str
    tiktok_update_time: datetime | None
    fallback_at: datetime


# --- reading records --------------------------------------------------------------------------------------------


def _as_json(record: object) -> object:
    """The record as plain JSON values: what TikTok sent, whatever its shape."""
    if isinstance(record, ReturnRecord):
        return record.model_dump(mode="json", exclude_unset=True)
    return record


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]  # the spec says object[]; one bare object is still evidence worth keeping


def _text(value: object) -> object:
    # Buyer text is stored as sent (escaped when rendered); only an absent value becomes "".
    return "" if value is None else value


def _utc(value: object) -> datetime | None:
    """A Unix-seconds ``create_time`` (int or digit string) as UTC; None when absent or unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int | float) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _sort_key(record: object) -> float:
    if isinstance(record, Mapping):
        at = _utc(record.get("create_time"))
        return at.timestamp() if at is not None else 0.0
    return 0.0


def _actor(role: object) -> str:
    if isinstance(role, str):
        return _ACTORS.get(role.strip().upper(), "tiktok")
    return "tiktok"


def _storable(value: object) -> object:
    """``value`` with what the JSON column cannot encode made encodable: an integer beyond 64 bits, a string with
    a lone surrogate, or a type JSON does not have. Only used when a record fails to encode as it is."""
    if isinstance(value, Mapping):
        return {str(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(item) for item in value]
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else str(value)
    return repr(value)


def _encodable(value: object) -> object:
    try:
        orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return _storable(value)
    return value


def _digest(material: object) -> str:
    encoded = orjson.dumps(_encodable(material), option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(encoded).hexdigest()


def _key_material(record: object) -> object:
    """What identifies a record across fetches. Media URLs are left out on purpose: CDN links are signed and
    change from one fetch to the next, which would make the same record look new each time; their count stays."""
    if not isinstance(record, Mapping):
        return ["unreadable", record]
    role = record.get("role")
    return [
        record.get("create_time"),
        role.strip().upper() if isinstance(role, str) else role,
        *(record.get(name) for name in _TEXT_FIELDS),
        len(_as_list(record.get("images"))),
        len(_as_list(record.get("videos"))),
    ]


def record_events(case_id: int, records: Sequence[object], fallback_at: datetime) -> list[dict[str, Any]]:
    """Timeline rows for TikTok's records, oldest first, each with a dedupe key stable across re-fetches.

    Never fails on odd input: a record that is not an object is kept verbatim under ``detail["record"]``; missing
    fields become ""/[]; an unknown role is TikTok's doing, with the raw role kept in the detail.
    """
    plain = sorted((_encodable(_as_json(record)) for record in records), key=_sort_key)
    seen: dict[str, int] = {}
    rows = []
    for record in plain:
        base = _digest(_key_material(record))
        # Two identical records (same second, same words) are both kept: the n-th copy gets its own key.
        occurrence = seen.get(base, 0)
        seen[base] = occurrence + 1
        dedupe_key = f"record:{base}" if occurrence == 0 else f"record:{base}:{occurrence}"
        if isinstance(record, Mapping):
            detail: dict[str, Any] = {name: _text(record.get(name)) for name in _TEXT_FIELDS}
            detail["role"] = _text(record.get("role"))
            detail["images"] = _as_list(record.get("images"))
            detail["videos"] = _as_list(record.get("videos"))
            extra = {key: value for key, value in record.items() if key not in _KNOWN_FIELDS}
            if extra:
                detail["extra"] = extra
            actor = _actor(record.get("role"))
            at = _utc(record.get("create_time")) or fallback_at
        else:
            detail = {"record": record, "unreadable": "the record is not an object"}
            actor, at = "tiktok", fallback_at
        rows.append(
            {
                "case_id": case_id,
                "at": at,
                "actor": actor,
                "kind": RECORD_KIND,
                "detail": detail,
                "dedupe_key": dedupe_key,
            }
        )
    return rows


def fetch_records(shop: ShopClient, return_id: str) -> list[object]:
    """Get Return Records; when the answer does not fit the documented shape (a record that is not an object, a
    list where text was expected), the same records are fetched again as plain JSON so nothing sent is lost."""
    try:
        return list(shop.get_return_records(return_id))
    except UnexpectedResponse as unexpected:
        log.warning("records of return %s do not match the documented shape; keeping them as sent: %s",
                    return_id, unexpected)
    # ShopClient has no public raw variant of this call (yet): the same signed call, read as untyped JSON.
    envelope = shop._call("GET", _RECORDS_PATH, Envelope[AnyData], path_params={"return_id": return_id},
                          query={"locale": "en-US"})
    data = envelope.data.model_extra if envelope.data is not None else None
    return _as_list((data or {}).get("records"))


# --- writing ------------------------------------------------------------------------------------------------------


def _insert_events(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert the rows; one whose (case, dedupe key) is already there is skipped. Gives the number inserted."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(TimelineEvent)
    stmt = (
        insert.values(rows)
        .on_conflict_do_nothing(index_elements=["case_id", "dedupe_key"])
        .returning(TimelineEvent.id)
    )
    return len(session.execute(stmt).all())


def _snapshot(runtime: Runtime, case_id: int) -> _CaseSnapshot:
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        if case is None:
            raise CaseNotFound(f"case {case_id} does not exist")
        if case.kind != "return":
            raise NotAReturn(f"case {case_id} is a {case.kind}: only returns have TikTok records")
        return _CaseSnapshot(
            account_id=case.account_id,
            tiktok_id=case.tiktok_id,
            tiktok_update_time=case.tiktok_update_time,
            fallback_at=case.tiktok_update_time or case.tiktok_create_time or datetime.now(UTC),
        )


def _locked_case(session: Session, case_id: int) -> Case | None:
    return session.scalars(select(Case).where(Case.id == case_id).with_for_update()).first()


def _settle(case: Case, seen: _CaseSnapshot, now: datetime, *, synced: bool) -> bool:
    """Turn the flag off unless ingest changed the case while we were fetching. True when it was turned off."""
    if case.tiktok_update_time != seen.tiktok_update_time:
        log.info("return %s changed while its records were fetched; it stays due", seen.tiktok_id)
        return False
    case.records_due = False
    if synced:
        case.records_synced_at = now
    return True


def _merge(runtime: Runtime, shop: ShopClient, case_id: int, seen: _CaseSnapshot) -> int:
    records = fetch_records(shop, seen.tiktok_id)
    rows = record_events(case_id, records, seen.fallback_at)
    with transaction(runtime.sessions) as session:
        case = _locked_case(session, case_id)
        if case is None:  # deleted (account removed) while we fetched: nothing to merge into
            return 0
        added = _insert_events(session, rows)
        _settle(case, seen, datetime.now(UTC), synced=True)
        return added


def merge_return_records(runtime: Runtime, case_id: int) -> int:
    """Fetch the return's TikTok records and append the ones the timeline does not have yet.

    Gives the number of timeline events added (0 when all were there already). Clears ``records_due`` and stamps
    ``records_synced_at`` unless the case's ``tiktok_update_time`` changed during the fetch. TikTok errors are
    raised to the caller, with the case still due.
    """
    seen = _snapshot(runtime, case_id)
    return _merge(runtime, runtime.shop_client(seen.account_id), case_id, seen)


def _note_not_found(runtime: Runtime, case_id: int, seen: _CaseSnapshot, error: NotFound) -> None:
    """TikTok no longer knows the return: stop asking, and say so on the timeline."""
    with transaction(runtime.sessions) as session:
        case = _locked_case(session, case_id)
        if case is None:
            return
        stamp = seen.tiktok_update_time.isoformat() if seen.tiktok_update_time else "never"
        _insert_events(
            session,
            [
                {
                    "case_id": case_id,
                    "at": datetime.now(UTC),
                    "actor": "system",
                    "kind": "note",
                    "detail": {
                        "message": "TikTok answered that this return does not exist, so its records (buyer notes, "
                        "images, videos) could not be fetched",
                        "code": error.code,
                        "tiktok_message": error.message,
                    },
                    "dedupe_key": f"records_not_found:{stamp}",
                }
            ],
        )
        _settle(case, seen, datetime.now(UTC), synced=False)


def _due_case_ids(runtime: Runtime, account_id: int, limit: int) -> list[int]:
    with transaction(runtime.sessions) as session:
        stmt = (
            select(Case.id)
            .where(Case.account_id == account_id, Case.kind == "return", Case.records_due.is_(True))
            # Cases waiting for the merchant first, the most urgent deadline first: their evidence is needed now.
            .order_by(Case.needs_action.desc(), Case.seller_deadline.asc().nulls_last(), Case.id)
            .limit(limit)
        )
        return list(session.scalars(stmt))


def fetch_due_records(runtime: Runtime, account_id: int, *, limit: int = 50) -> int:
    """Merge the records of up to ``limit`` of the account's due returns; gives how many were merged.

    A TikTok error on one return is logged and that return stays due for the next run, except "not found", which
    clears the flag with a timeline note. A rate limit or refused credentials stop the run (every other return would
    fail the same way); an expired or disabled account raises ``AccountUnavailable``.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    case_ids = _due_case_ids(runtime, account_id, limit)
    if not case_ids:
        return 0
    shop = runtime.shop_client(account_id)
    merged = failed = 0
    for case_id in case_ids:
        try:
            seen = _snapshot(runtime, case_id)
        except (CaseNotFound, NotAReturn):
            continue  # deleted since it was listed
        try:
            _merge(runtime, shop, case_id, seen)
        except NotFound as gone:
            log.warning("case %s: TikTok does not know this return any more: %s", case_id, gone)
            _note_not_found(runtime, case_id, seen, gone)
        except AccountUnavailable:
            raise
        except (RateLimited, InvalidCredentials) as stop:
            failed += 1
            log.warning("account %s: record fetch stopped after %s merged: %s", account_id, merged, stop)
            break
        except TikTokError as error:
            failed += 1
            log.warning("case %s: records not fetched, will retry on the next run: %s", case_id, error)
        else:
            merged += 1
    if failed:
        log.info("account %s: records merged for %s returns, %s failed", account_id, merged, failed)
    return merged
