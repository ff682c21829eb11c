"""TikTok → database: the incremental pull of each shop, and the refresh of single requests after a webhook or a
decision. Both end in ``store_page``, one transaction per page of TikTok's answer.

The pull asks Search Returns / Search Cancellations for everything updated since the stream's cursor minus an
overlap window (TikTok's index may show a write late), sorted by ``update_time`` ascending. The cursor moves in the
same transaction as the page it comes from, so a process that dies at any line resumes from the last committed page:
nothing is skipped, and what is read twice is written once (the upsert is idempotent and refuses older data).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from returnbridge.db.bulk import JsonText
from returnbridge.db.engine import transaction
from returnbridge.db.repositories.cases import CaseStore, HeldCase, SyncStateStore
from returnbridge.domain.statuses import CaseKind, StoreStatus
from returnbridge.sync.mapping import BadRecord, CaseValues, case_values, utc
from returnbridge.sync.mirror_plan import plan_effects
from returnbridge.sync.runtime import Runtime
from returnbridge.tiktok import CancellationFilters, RawPage, ReturnFilters, ShopClient

log = logging.getLogger(__name__)

# The most records one write of the pull commits (and the most it keeps queued for the next): large enough that a
# first sync, where writing is the slower side, commits rarely; small enough that SQLite's write lock is held for
# well under a second at a time (webhook jobs and decisions wait for it) and memory stays a few tens of MB.
MAX_WRITE_RECORDS = 3_000
# After a pull, a creation-time window in which TikTok counts more requests than we hold is read again page by page
# once it holds this many requests or fewer; a larger one is halved first (see ``_read_what_paging_skipped``). Two
# pages: halving once more costs two counts, reading a larger window again costs pages and writes.
REREAD_WINDOW_RECORDS = 100
# Rounds of that count check in one pull, and the end of the creation times it counts (2106: past any of them).
COUNT_CHECK_ROUNDS = 3
_OPEN_END = 2**32 - 1
# New cases in one pull after which the database's planner statistics are refreshed (once per pull).
REFRESH_STATISTICS_AFTER = 2_000
STREAMS: dict[str, CaseKind] = {"returns": CaseKind.RETURN, "cancellations": CaseKind.CANCELLATION}
STREAM_OF: dict[CaseKind, str] = {kind: stream for stream, kind in STREAMS.items()}
# Statuses a request reaches when TikTok approves it on its own at the seller's deadline.
_APPROVED = frozenset({StoreStatus.ACCEPTED.value, StoreStatus.REFUNDED.value, StoreStatus.PENDING.value,
                       StoreStatus.REPLACED.value})


@dataclass
class PageOutcome:
    received: int = 0
    written: int = 0
    created: int = 0
    status_changes: int = 0
    stale: int = 0
    quarantined: int = 0
    max_update_ts: int | None = None
    case_ids: list[int] = field(default_factory=list)

    def add(self, other: PageOutcome) -> None:
        self.received += other.received
        self.written += other.written
        self.created += other.created
        self.status_changes += other.status_changes
        self.stale += other.stale
        self.quarantined += other.quarantined
        if other.max_update_ts is not None and (self.max_update_ts is None or other.max_update_ts > self.max_update_ts):
            self.max_update_ts = other.max_update_ts


def _auto_decided(prev: HeldCase, row: dict[str, Any]) -> bool:
    """TikTok moved a request on by itself: it was waiting for the seller and passed its deadline."""
    return (
        prev.needs_action
        and prev.seller_deadline is not None
        and row["tiktok_status"] != prev.tiktok_status
        and row["tiktok_update_time"] is not None
        and row["tiktok_update_time"] >= prev.seller_deadline
        and row["store_status"] in _APPROVED
    )


def _events(case_id: int, prev: HeldCase | None, row: dict[str, Any], source: str, auto: bool) -> list[dict[str, Any]]:
    at = row["tiktok_update_time"] or row["tiktok_create_time"] or datetime.now(UTC)
    stamp = int(at.timestamp())
    events: list[dict[str, Any]] = []
    status = row["tiktok_status"]
    if prev is None or prev.tiktok_status != status:
        detail: dict[str, Any] = {"source": source, "store_status": row["store_status"]}
        if prev is None:
            detail["first_seen"] = True
        if auto:
            detail["auto_approved_at_deadline"] = True
        if not row["status_known"]:
            detail["unknown_status"] = True
        events.append({
            "case_id": case_id, "at": at, "actor": "tiktok", "actor_name": "", "kind": "status_change",
            "from_status": prev.tiktok_status if prev is not None else "", "to_status": status, "detail": detail,
            "dedupe_key": f"status:{status}:{stamp}"[:128],
        })
    arbitration = row["arbitration_status"]
    if arbitration and (prev is None or prev.arbitration_status != arbitration):
        events.append({
            "case_id": case_id, "at": at, "actor": "tiktok", "actor_name": "", "kind": "arbitration",
            "from_status": prev.arbitration_status if prev is not None else "", "to_status": arbitration,
            "detail": {"source": source}, "dedupe_key": f"arbitration:{arbitration}:{stamp}"[:128],
        })
    return events


@dataclass
class PreparedPage:
    """A page of TikTok records read into row values, before any database work: the part of storing a page that
    needs no connection, so a pull can prepare the next page while the previous one is being written."""

    kind: CaseKind
    account_id: int
    latest: dict[str, CaseValues]
    bad: list[tuple[str, str, str]]  # tiktok id, payload, reason
    received: int
    max_update_ts: int | None


def prepare_page(account_id: int, kind: CaseKind, items: Iterable[Any]) -> PreparedPage:
    latest: dict[str, CaseValues] = {}
    bad: list[tuple[str, str, str]] = []
    received = 0
    max_update_ts: int | None = None
    for item in items:
        received += 1
        try:
            values = case_values(kind, account_id, item)
        except BadRecord as error:
            bad.append((error.tiktok_id, orjson.dumps(item, option=orjson.OPT_NON_STR_KEYS).decode(), str(error)))
            continue
        values.row["raw"] = JsonText.of(item)  # serialised here, off the writer's thread (see ``PageWriter``)
        if values.update_ts is not None and (max_update_ts is None or values.update_ts > max_update_ts):
            max_update_ts = values.update_ts
        # The same request twice in one answer: keep the newer (one statement may not update a row twice).
        prior = latest.get(values.tiktok_id)
        if prior is None or (values.update_ts or 0) >= (prior.update_ts or 0):
            latest[values.tiktok_id] = values
    return PreparedPage(kind, account_id, latest, bad, received, max_update_ts)


def merged(pages: list[PreparedPage]) -> PreparedPage:
    """Pages of one stream and account as one: a request in several keeps its newest version, as within a page."""
    if len(pages) == 1:
        return pages[0]
    latest: dict[str, CaseValues] = {}
    bad: list[tuple[str, str, str]] = []
    received = 0
    max_update_ts: int | None = None
    for page in pages:
        for tiktok_id, values in page.latest.items():
            prior = latest.get(tiktok_id)
            if prior is None or (values.update_ts or 0) >= (prior.update_ts or 0):
                latest[tiktok_id] = values
        bad += page.bad
        received += page.received
        if page.max_update_ts is not None and (max_update_ts is None or page.max_update_ts > max_update_ts):
            max_update_ts = page.max_update_ts
    return PreparedPage(pages[0].kind, pages[0].account_id, latest, bad, received, max_update_ts)


def store_page(
    session: Any, account_id: int, kind: CaseKind, items: Iterable[Any], *, source: str, now: datetime | None = None
) -> PageOutcome:
    """Store one page of TikTok records (plain JSON objects) for an account, inside the caller's transaction."""
    return store_prepared(session, prepare_page(account_id, kind, items), source=source, now=now)


def store_prepared(session: Any, page: PreparedPage, *, source: str, now: datetime | None = None) -> PageOutcome:
    now = now or datetime.now(UTC)
    store = CaseStore(session)
    account_id, kind, latest = page.account_id, page.kind, page.latest
    outcome = PageOutcome(received=page.received, quarantined=len(page.bad), max_update_ts=page.max_update_ts)
    for tiktok_id, payload, reason in page.bad:
        store.quarantine(account_id, STREAM_OF[kind], tiktok_id, payload, reason)
        log.warning("quarantined a %s record of account %s: %s", kind.value, account_id, reason)
    if not latest:
        return outcome
    held = store.held(account_id, kind.value, list(latest))
    rows: list[dict[str, Any]] = []
    auto: set[str] = set()
    for tiktok_id, values in latest.items():
        prev = held.get(tiktok_id)
        row = values.row
        # Records are (re)fetched by a job for a return that is new or changed since we last saw it.
        row["records_due"] = kind is CaseKind.RETURN and (
            prev is None or prev.tiktok_update_time != row["tiktok_update_time"]
        )
        if prev is not None and _auto_decided(prev, row):
            row["decided_by_tiktok"] = True
            auto.add(tiktok_id)
        rows.append(row)
    written = store.upsert(rows, now)
    outcome.written = len(written)
    outcome.stale = len(latest) - len(written)
    lines: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for tiktok_id, case_id in written.items():
        values = latest[tiktok_id]
        prev = held.get(tiktok_id)
        if prev is None:
            outcome.created += 1
        for line in values.lines:
            line["case_id"] = case_id
            lines.append(line)
        case_events = _events(case_id, prev, values.row, source, tiktok_id in auto)
        outcome.status_changes += sum(1 for e in case_events if e["kind"] == "status_change")
        events.extend(case_events)
        outcome.case_ids.append(case_id)
    store.upsert_lines(lines)
    store.add_events(events)
    plan_effects(session, outcome.case_ids)  # store effects the changes call for, in this same transaction
    return outcome


# --- the pull ------------------------------------------------------------------------------------------------


@dataclass
class StreamResult:
    account_id: int
    stream: str
    since: datetime
    pages: int = 0
    outcome: PageOutcome = field(default_factory=PageOutcome)
    reread_windows: int = 0  # windows the count check found short and read again


ProgressFn = Callable[[str, int, int | None], None]  # stream, records received so far, TikTok's total if known


def _pages(shop: ShopClient, kind: CaseKind, since: int, created: tuple[int, int] | None = None) -> Iterable[RawPage]:
    """Everything updated since ``since`` (Unix seconds), optionally only what was created in ``[low, high)``."""
    low, high = created if created is not None else (None, None)
    if kind is CaseKind.RETURN:
        return shop.iter_raw_return_pages(
            ReturnFilters(update_time_ge=since, create_time_ge=low, create_time_lt=high))
    return shop.iter_raw_cancellation_pages(
        CancellationFilters(update_time_ge=since, create_time_ge=low, create_time_lt=high))


def _tiktok_count(shop: ShopClient, kind: CaseKind, since: int, low: int, high: int) -> int:
    if kind is CaseKind.RETURN:
        return shop.count_returns(ReturnFilters(update_time_ge=since, create_time_ge=low, create_time_lt=high))
    return shop.count_cancellations(
        CancellationFilters(update_time_ge=since, create_time_ge=low, create_time_lt=high))


def _read_what_paging_skipped(
    runtime: Runtime, account_id: int, kind: CaseKind, shop: ShopClient, since: int, result: StreamResult
) -> None:
    """The pull's count check, once its pages are in: what TikTok counts as updated since ``since`` is held against
    what we hold, by creation time, and the short parts are read again.

    TikTok's page token may be a position in the sorted answer (the contract leaves it open, and the emulator's is):
    a request that changes while the pull pages moves behind the rest, every later one moves up a place, and the one
    at the next page's edge is never read. A request's creation time never changes, so per creation-time window
    the counts differ by exactly what we lack: a request we hold in the window (at a version updated since
    ``since``) is in TikTok's count for the same window, since update times only move forward. (Counted by update
    time instead, a request read before it changed is counted in one window by us and in another by TikTok, and
    can hide a skipped one.) Where TikTok has more, the window is halved until the short parts are small enough to
    read again whole. Requests that appear while the check runs can make another round, up to
    ``COUNT_CHECK_ROUNDS``; the next pull reads whatever is still newer. A pull that missed nothing costs one
    search and one count of ours."""
    for _ in range(COUNT_CHECK_ROUNDS):
        if not _reread_short_windows(runtime, account_id, kind, shop, since, result):
            return


def _reread_short_windows(
    runtime: Runtime, account_id: int, kind: CaseKind, shop: ShopClient, since: int, result: StreamResult
) -> bool:
    """One round of the count check; True when it read anything again."""
    reread = False
    updated_since = datetime.fromtimestamp(since, UTC)
    windows = [(0, _OPEN_END)]
    while windows:
        low, high = windows.pop()
        theirs = _tiktok_count(shop, kind, since, low, high)
        with transaction(runtime.sessions) as session:
            ours = CaseStore(session).count_changed_since(
                account_id, kind.value, updated_since, datetime.fromtimestamp(low, UTC),
                datetime.fromtimestamp(high, UTC),
            )
        if theirs <= ours:
            continue
        if theirs > REREAD_WINDOW_RECORDS and high - low > 1:
            middle = (low + high) // 2
            windows += [(middle, high), (low, middle)]
            continue
        log.info("count check: TikTok has %d %s updated since %d and created in [%d, %d) of account %s, we hold "
                 "%d; reading them again", theirs, kind.value, since, low, high, account_id, ours)
        result.reread_windows += 1
        reread = True
        for raw in _pages(shop, kind, since, (low, high)):
            with transaction(runtime.sessions) as session:
                result.outcome.add(store_page(session, account_id, kind, raw.items, source="poll"))
    return reread


class PageWriter:
    """Writes the pull's prepared pages on a thread of its own, in order, while the pull fetches and prepares the
    next: SQLite does its work with the interpreter lock released, so the two overlap.

    Each write takes every page queued since the previous one (group commit): when TikTok answers slower than we
    write, a page is committed as soon as it arrives; when writing is the slower side, the queue grows and the next
    transaction is larger, which is where a commit's cost goes down (an index page dirtied by many cases is
    written to the log once). ``max_records`` bounds a transaction and the queue (``submit`` waits while that many
    records are queued), so memory stays bounded and a crash loses at most one transaction, which the next pull
    reads again. A failed write surfaces at the next ``submit`` or at ``finish``."""

    def __init__(self, write: Callable[[list[PreparedPage]], None], max_records: int = MAX_WRITE_RECORDS) -> None:
        self._write = write
        self._max_records = max_records
        self._changed = threading.Condition()
        self._queue: list[PreparedPage] = []
        self._queued = 0  # records in the queue
        self._closing = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="returnbridge-page-writer", daemon=True)
        self._thread.start()

    def submit(self, page: PreparedPage) -> None:
        with self._changed:
            while self._error is None and self._queue and self._queued >= self._max_records:
                self._changed.wait()
            self._raise_failure()
            self._queue.append(page)
            self._queued += page.received
            self._changed.notify_all()

    def finish(self) -> None:
        """Wait until every queued page is written; raises what a write raised."""
        self._close(drop_queue=False)
        with self._changed:
            self._raise_failure()

    def abandon(self) -> None:
        """After a failure: drop what is queued and let a write in flight end (committed or rolled back)."""
        self._close(drop_queue=True)

    def _close(self, *, drop_queue: bool) -> None:
        with self._changed:
            self._closing = True
            if drop_queue:
                self._queue, self._queued = [], 0
            self._changed.notify_all()
        self._thread.join()

    def _raise_failure(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _next_batch(self) -> list[PreparedPage]:
        with self._changed:
            while not self._queue and not self._closing:
                self._changed.wait()
            batch: list[PreparedPage] = []
            records = 0
            while self._queue and (not batch or records + self._queue[0].received <= self._max_records):
                page = self._queue.pop(0)
                batch.append(page)
                records += page.received
            self._queued -= records
            self._changed.notify_all()
            return batch

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if not batch:
                return
            try:
                self._write(batch)
            except BaseException as error:  # handed to the pull's thread, which stops submitting
                with self._changed:
                    self._error = error
                    self._queue, self._queued = [], 0
                    self._changed.notify_all()
                return


def _record_failure(runtime: Runtime, account_id: int, stream: str, error: BaseException) -> None:
    message = f"{type(error).__name__}: {error}"[:2000]
    with transaction(runtime.sessions) as session:
        state = SyncStateStore(session).get(account_id, stream, for_update=True)
        state.last_error = message
        state.last_error_at = datetime.now(UTC)
        state.consecutive_failures = (state.consecutive_failures or 0) + 1


def pull_stream(
    runtime: Runtime,
    account_id: int,
    stream: str,
    *,
    full: bool = False,
    shop: ShopClient | None = None,
    progress: ProgressFn | None = None,
    after_page: Callable[[], None] | None = None,
) -> StreamResult:
    """Pull one stream of one account up to now. ``after_page`` runs after each committed page (lease renewal)."""
    kind = STREAMS[stream]
    settings = runtime.settings
    started = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        state = SyncStateStore(session).get(account_id, stream, for_update=True)
        state.last_poll_started_at = started
        cursor = state.cursor
    horizon = started - timedelta(days=settings.sync_backfill_days)
    if full or cursor is None:
        since = horizon
    else:
        since = max(cursor - timedelta(seconds=settings.sync_overlap_seconds), horizon)
    result = StreamResult(account_id, stream, since)

    def write(batch: list[PreparedPage]) -> None:
        # Only here is anything written: no transaction stays open while the next page is fetched or a token
        # refreshed. The cursor is in the same transaction, so a crash loses at most this batch, which the next
        # pull reads again. The batch's pages are stored as one (one lookup, one upsert per table, one commit).
        with transaction(runtime.sessions) as session:
            created_before = result.outcome.created
            result.outcome.add(store_prepared(session, merged(batch), source="poll"))
            result.pages += len(batch)
            if created_before < REFRESH_STATISTICS_AFTER <= result.outcome.created:
                CaseStore(session).refresh_statistics()
            if result.outcome.max_update_ts is not None:
                state = SyncStateStore(session).get(account_id, stream, for_update=True)
                reached = utc(result.outcome.max_update_ts)
                if state.cursor is None or (reached is not None and reached > state.cursor):
                    state.cursor = reached
        if after_page is not None:
            after_page()

    writer = PageWriter(write, MAX_WRITE_RECORDS)
    try:
        shop = shop or runtime.shop_client(account_id)
        seen = 0
        for raw in _pages(shop, kind, int(since.timestamp())):
            writer.submit(prepare_page(account_id, kind, raw.items))
            seen += len(raw.items)
            if progress is not None:
                progress(stream, seen, raw.total_count)
        writer.finish()
        if result.outcome.max_update_ts is not None:
            _read_what_paging_skipped(runtime, account_id, kind, shop, int(since.timestamp()), result)
    except BaseException as error:
        writer.abandon()
        _record_failure(runtime, account_id, stream, error)
        raise
    with transaction(runtime.sessions) as session:
        state = SyncStateStore(session).get(account_id, stream, for_update=True)
        state.backfill_done = True
        state.last_poll_ok_at = datetime.now(UTC)
        state.last_error = ""
        state.consecutive_failures = 0
    log.info(
        "pulled %s of account %s: %d pages, %d received, %d new, %d status changes, %d stale, %d quarantined",
        stream, account_id, result.pages, result.outcome.received, result.outcome.created,
        result.outcome.status_changes, result.outcome.stale, result.outcome.quarantined,
    )
    return result


def pull_account(
    runtime: Runtime,
    account_id: int,
    *,
    full: bool = False,
    streams: Iterable[str] = ("returns", "cancellations"),
    progress: ProgressFn | None = None,
    after_page: Callable[[], None] | None = None,
) -> list[StreamResult]:
    """Pull every stream of one account (the caller holds the shop's lease)."""
    shop = runtime.shop_client(account_id)
    return [
        pull_stream(runtime, account_id, stream, full=full, shop=shop, progress=progress, after_page=after_page)
        for stream in streams
    ]


# --- single requests -------------------------------------------------------------------------------------------


def refresh_request(
    runtime: Runtime, account_id: int, kind: CaseKind, tiktok_id: str, *, source: str = "webhook"
) -> int | None:
    """Read one request from TikTok and store it; gives its case id (None when TikTok does not know it)."""
    shop = runtime.shop_client(account_id)
    if kind is CaseKind.RETURN:
        pages = shop.iter_raw_return_pages(ReturnFilters(return_ids=[tiktok_id]))
    else:
        pages = shop.iter_raw_cancellation_pages(CancellationFilters(cancel_ids=[tiktok_id]))
    page = next(iter(pages), None)
    items = [] if page is None else [item for item in page.items if _matches(item, kind, tiktok_id)]
    if not items:
        log.warning("TikTok has no %s %s for account %s", kind.value, tiktok_id, account_id)
        return None
    with transaction(runtime.sessions) as session:
        store_page(session, account_id, kind, items, source=source)
        held = CaseStore(session).held(account_id, kind.value, [tiktok_id])
    case = held.get(tiktok_id)
    return case.id if case is not None else None


def _matches(item: Any, kind: CaseKind, tiktok_id: str) -> bool:
    if not isinstance(item, dict):
        return True  # let store_page quarantine it
    key = "return_id" if kind is CaseKind.RETURN else "cancel_id"
    return str(item.get(key, "")) == tiktok_id


def refresh_case(runtime: Runtime, case_id: int, *, source: str = "decision") -> int | None:
    """Re-read a case we hold from TikTok (after a decision, or when the merchant opens it)."""
    with transaction(runtime.sessions) as session:
        key = CaseStore(session).case_key(case_id)
    if key is None:
        return None
    account_id, kind, tiktok_id = key
    return refresh_request(runtime, account_id, CaseKind(kind), tiktok_id, source=source)
