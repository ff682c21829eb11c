"""Sync Returns: a merchant-started pull of every active shop (or one), with its progress kept in ``sync_runs``.

``start_run`` records the run (or hands back the one already running for those shops, so two clicks make one
pull); ``execute_run`` does the pulling, in a job or a background thread, and writes progress at most every
``PROGRESS_EVERY`` seconds, so any web process can stream it to the browser with ``run_view``.

A shop that the scheduler (or a worker) is pulling right now is waited for, then pulled from the cursor the other
pull left: the merchant asked for "now", and the shop lease keeps the two pulls from running at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from returnbridge.db.engine import transaction
from returnbridge.db.repositories import sync_runs
from returnbridge.db.repositories.accounts import AccountRepository
from returnbridge.errors import UserFacingError
from returnbridge.sync import ingest
from returnbridge.sync.locks import DEFAULT_TTL, ShopBusy, lease, shop_lease_name
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.tokens import AccountUnavailable

log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.25  # seconds between progress writes (and between the events the browser receives)
# A run whose puller has been silent this long died with its process (the puller beats at least every few
# seconds, also while it waits for a shop's lease).
HEARTBEAT_TIMEOUT = timedelta(minutes=3)
# Longer than a lease's lifetime: a shop whose previous holder died becomes free within that time.
WAIT_FOR_SHOP_SECONDS = DEFAULT_TTL.total_seconds() + 30
RUNNING, DONE, FAILED = "running", "done", "failed"


class NothingToSync(UserFacingError):
    """No active shop (or the chosen shop is not active): nothing can be pulled."""


@dataclass(frozen=True)
class RunStart:
    run_id: int
    reused: bool  # a run for these shops was already running; no new one was made


@dataclass(frozen=True)
class RunView:
    """A run as the progress stream and the summary page show it."""

    run_id: int
    state: str
    started_by: str
    received: int
    total: int | None
    created: int
    shops: list[dict[str, Any]]
    started_at: datetime
    finished_at: datetime | None
    error: str

    @property
    def finished(self) -> bool:
        return self.state != RUNNING

    @property
    def percent(self) -> int | None:
        """Share of TikTok's announced total received so far, or None while no total is known."""
        if self.state == DONE:
            return 100
        if not self.total:
            return None
        return min(99, self.received * 100 // self.total)

    @property
    def seconds(self) -> float:
        end = self.finished_at or datetime.now(UTC)
        return max((end - self.started_at).total_seconds(), 0.0)

    def as_event(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "state": self.state,
            "received": self.received,
            "total": self.total,
            "created": self.created,
            "percent": self.percent,
            "seconds": round(self.seconds, 1),
            "shops": self.shops,
            "error": self.error,
        }


def start_run(runtime: Runtime, *, started_by: str, account_id: int | None = None) -> RunStart:
    """Record a run for every active shop (or the one ``account_id``), or give the running one that covers them."""
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        sync_runs.abandon_dead(session, silent_since=now - HEARTBEAT_TIMEOUT)
        repo = AccountRepository(session, runtime.box)
        if account_id is None:
            accounts = repo.list_active()
            if not accounts:
                raise NothingToSync("No active TikTok shop is connected: connect or reconnect a shop first.")
        else:
            account = repo.get(account_id)
            if account is None:
                raise NothingToSync(f"There is no TikTok shop number {account_id}.")
            if account.status != "active":
                raise NothingToSync(
                    f"{account.shop_name or account.shop_id} is {account.status}: reconnect it before syncing."
                )
            accounts = [account]
        wanted = [account.id for account in accounts]
        for running in sync_runs.live_running(session, alive_after=now - HEARTBEAT_TIMEOUT):
            if set(wanted) <= set(running.account_ids):
                return RunStart(running.id, reused=True)
        shops = [_shop_entry(account.id, account.shop_name or account.shop_id, account.region) for account in accounts]
        run = sync_runs.create(session, started_by=started_by, account_ids=wanted, shops=shops)
        return RunStart(run.id, reused=False)


def run_view(runtime: Runtime, run_id: int) -> RunView | None:
    with transaction(runtime.sessions) as session:
        run = sync_runs.get(session, run_id)
        if run is None:
            return None
        return RunView(
            run_id=run.id, state=run.state, started_by=run.started_by, received=run.received, total=run.total,
            created=run.created, shops=[dict(shop) for shop in run.shops], started_at=run.started_at,
            finished_at=run.finished_at, error=run.error,
        )


def recent_runs(runtime: Runtime, limit: int = 5) -> list[RunView]:
    with transaction(runtime.sessions) as session:
        ids = [run.id for run in sync_runs.recent(session, limit)]
    return [view for view in (run_view(runtime, run_id) for run_id in ids) if view is not None]


def execute_run(runtime: Runtime, run_id: int, *, after_shop: Callable[[int], None] | None = None) -> str:
    """Pull each shop of the run in turn and record how it went; gives the final state.

    ``after_shop(account_id)`` runs after a shop was pulled (the job layer fetches its records then). A failure in
    one shop is recorded with the reason and the next shop is still pulled. Never raises for a shop's failure.
    """
    progress = _Progress(runtime, run_id)
    view = run_view(runtime, run_id)
    if view is None or view.finished:
        return view.state if view is not None else FAILED
    for index, shop in enumerate(view.shops):
        account_id = int(shop["account_id"])
        try:
            results = _pull_when_free(runtime, account_id, progress, index)
        except ShopBusy:
            progress.shop_ended(index, "busy", "Another pull of this shop did not finish in time; try again.")
            continue
        except AccountUnavailable as unavailable:
            progress.shop_ended(index, "unavailable", str(unavailable))
            continue
        except Exception as error:  # one shop's failure (TikTok down, a bug) must not stop the others
            log.exception("Sync Returns run %s: shop %s failed", run_id, account_id)
            progress.shop_ended(index, FAILED, f"{type(error).__name__}: {error}"[:500])
            continue
        created = sum(result.outcome.created for result in results)
        changes = sum(result.outcome.status_changes for result in results)
        progress.shop_ended(index, DONE, "", created=created, status_changes=changes)
        if after_shop is not None:
            try:
                after_shop(account_id)
            except Exception:  # a queue hiccup: the scheduler's sweep finds the due records anyway
                log.exception("could not hand over the records fetch of account %s", account_id)
    return progress.finish()


def _pull_when_free(runtime: Runtime, account_id: int, progress: _Progress, index: int) -> list[ingest.StreamResult]:
    deadline = time.monotonic() + WAIT_FOR_SHOP_SECONDS
    while True:
        try:
            with lease(runtime, shop_lease_name(account_id)) as held:
                progress.shop_started(index)

                def report(stream: str, received: int, total: int | None) -> None:
                    progress.stream_progress(index, stream, received, total)

                return ingest.pull_account(runtime, account_id, progress=report, after_page=held.renew)
        except ShopBusy:
            if time.monotonic() > deadline:
                raise
            progress.waiting(index)
            time.sleep(0.5)


def _shop_entry(account_id: int, name: str, region: str) -> dict[str, Any]:
    return {"account_id": account_id, "name": name, "region": region, "state": "waiting", "received": 0,
            "total": None, "created": 0, "status_changes": 0, "error": ""}


class _Progress:
    """The run's numbers in memory, written to its row at most every ``PROGRESS_EVERY`` seconds."""

    def __init__(self, runtime: Runtime, run_id: int) -> None:
        self.runtime = runtime
        self.run_id = run_id
        view = run_view(runtime, run_id)
        self.shops: list[dict[str, Any]] = view.shops if view is not None else []
        # (shop index, stream) -> (received, TikTok's total)
        self.streams: dict[tuple[int, str], tuple[int, int | None]] = {}
        self.written_at = 0.0

    def shop_started(self, index: int) -> None:
        self.shops[index]["state"] = "pulling"
        self._write(force=True)

    def waiting(self, index: int) -> None:
        self.shops[index]["state"] = "waiting for another pull of this shop"
        self._write(force=time.monotonic() - self.written_at > 2)

    def stream_progress(self, index: int, stream: str, received: int, total: int | None) -> None:
        self.streams[(index, stream)] = (received, total)
        shop_streams = [value for (i, _), value in self.streams.items() if i == index]
        self.shops[index]["received"] = sum(r for r, _ in shop_streams)
        totals = [t for _, t in shop_streams]
        self.shops[index]["total"] = sum(t for t in totals if t is not None) if any(totals) else None
        self._write()

    def shop_ended(self, index: int, state: str, error: str, *, created: int = 0, status_changes: int = 0) -> None:
        shop = self.shops[index]
        shop.update(state=state, error=error, created=created, status_changes=status_changes)
        if state == DONE and shop["total"] is not None:
            shop["total"] = max(shop["total"], shop["received"])
        self._write(force=True)

    def finish(self) -> str:
        failed = [shop for shop in self.shops if shop["state"] != DONE]
        state = FAILED if failed else DONE
        error = "; ".join(f"{shop['name']}: {shop['error']}" for shop in failed)
        self._write(force=True, state=state, error=error)
        return state

    def _write(self, *, force: bool = False, state: str = RUNNING, error: str = "") -> None:
        now = time.monotonic()
        if not force and now - self.written_at < PROGRESS_EVERY:
            return
        self.written_at = now
        received = sum(shop["received"] for shop in self.shops)
        totals = [shop["total"] for shop in self.shops if shop["total"] is not None]
        with transaction(self.runtime.sessions) as session:
            run = sync_runs.get(session, self.run_id, for_update=True)
            if run is None:
                return
            run.received = received
            run.total = max(sum(totals), received) if totals else None
            run.created = sum(shop["created"] for shop in self.shops)
            # A new list, so SQLAlchemy sees the JSON column change.
            run.shops = [dict(shop) for shop in self.shops]
            run.heartbeat_at = datetime.now(UTC)
            if state != RUNNING:
                run.state = state
                run.error = error
                run.finished_at = datetime.now(UTC)
