"""The job queue (Huey): what runs in the background, and the schedule that keeps every shop current.

``SqliteHuey`` in ``var/`` by default (one machine, nothing to install); ``RedisHuey`` when ``RETURNBRIDGE_REDIS_URL``
is set (many machines). The database is the source of truth and the queue only wakes workers up: the periodic
``schedule`` job finds again anything a lost job would have done (pending webhooks, unfinished decisions, returns
whose records are due, shops due for a pull), so a job lost with a crashed worker or a flushed queue costs a
minute at most, never data.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import AccountStatus, Case, OrderSyncState, SyncState, TikTokAccount
from returnbridge.db.repositories import leases
from returnbridge.sync import app_settings, ingest
from returnbridge.sync.app_settings import AppSettings
from returnbridge.sync.locks import ShopBusy, lease, shop_lease_name
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.tokens import AccountUnavailable

log = logging.getLogger(__name__)

# A webhook whose job was lost is picked up by the sweep after this long (its own job normally runs in ~0.1 s).
WEBHOOK_SWEEP_AFTER = timedelta(seconds=30)
DECISION_SWEEP_AFTER = timedelta(minutes=2)
# Units sold feed return rates, which nobody reads by the minute: one Search Orders pull per shop an hour is plenty.
ORDERS_EVERY = timedelta(hours=1)


def make_huey(runtime: Runtime, *, immediate: bool = False) -> Huey:
    settings = runtime.settings
    if settings.redis_url:
        return RedisHuey(settings.queue_name, url=settings.redis_url, immediate=immediate, results=False)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    filename = str((settings.var_dir / "queue.sqlite3").resolve())
    return SqliteHuey(settings.queue_name, filename=filename, immediate=immediate, results=False)


class Jobs:
    """The tasks of one process, bound to its runtime. Enqueue with ``jobs.pull(account_id)`` and so on."""

    def __init__(self, runtime: Runtime, huey: Huey | None = None) -> None:
        self.runtime = runtime
        self.huey = huey if huey is not None else make_huey(runtime)
        h = self.huey

        self.pull: Any = h.task(name="pull_shop")(self._pull)
        self.process_webhook: Any = h.task(name="process_webhook")(self._process_webhook)
        self.fetch_records: Any = h.task(name="fetch_records")(self._fetch_records)
        self.retry_decisions: Any = h.task(name="retry_decisions")(self._retry_decisions)
        self.refresh_tokens: Any = h.task(name="refresh_tokens")(self._refresh_tokens)
        self.mirror: Any = h.task(name="mirror_store")(self._mirror)
        self.sync_run: Any = h.task(name="sync_run")(self._sync_run)
        self.apply_rules: Any = h.task(name="apply_rules")(self._apply_rules)
        self.pull_orders: Any = h.task(name="pull_orders")(self._pull_orders)
        self.send_digest: Any = h.task(name="send_digest")(self._send_digest)
        self.schedule: Any = h.periodic_task(_every_minute, name="schedule")(self._schedule)

    # --- tasks -------------------------------------------------------------------------------------------------

    def _pull(self, account_id: int, full: bool = False) -> str:
        """Pull one shop under its lease; a shop already being pulled elsewhere is skipped, not queued twice."""
        try:
            with lease(self.runtime, shop_lease_name(account_id)) as held:
                ingest.pull_account(self.runtime, account_id, full=full, after_page=held.renew)
        except ShopBusy:
            log.info("shop %s is already being pulled elsewhere; skipped", account_id)
            return "busy"
        except AccountUnavailable as unavailable:
            log.warning("not pulling account %s: %s", account_id, unavailable)
            return "unavailable"
        self.fetch_records(account_id)
        self._enqueue_mirrors()
        self.apply_rules()  # after the pages are committed, never inside the ingest transaction
        return "pulled"

    def _sync_run(self, run_id: int) -> str:
        """A merchant's "Sync Returns" press (see ``sync.sync_runs``); records follow in their own job."""
        from returnbridge.sync.sync_runs import execute_run

        outcome = execute_run(self.runtime, run_id, after_shop=self.fetch_records)
        self._enqueue_mirrors()
        return outcome

    def _process_webhook(self, inbox_id: int) -> None:
        from returnbridge.sync.webhooks import process_webhook

        if process_webhook(self.runtime, inbox_id) == "done":
            # A refreshed request may have planned store effects: mirror them now, not at the next minute's sweep.
            self._enqueue_mirrors()
        self.apply_rules()

    def _fetch_records(self, account_id: int) -> int:
        from returnbridge.sync.records import fetch_due_records

        merged = 0
        if not self._app_settings().fetch_records:
            return 0
        try:
            with lease(self.runtime, f"records:{account_id}"):
                # Batches until nothing is due, so a first sync's returns all get their history in one job.
                while True:
                    batch = fetch_due_records(self.runtime, account_id, limit=50)
                    merged += batch
                    if batch == 0:
                        break
        except ShopBusy:
            return 0
        except AccountUnavailable as unavailable:
            log.warning("not fetching records of account %s: %s", account_id, unavailable)
        return merged

    def _retry_decisions(self) -> None:
        from returnbridge.sync.decisions import DecisionService

        DecisionService(self.runtime).retry_unfinished(older_than=DECISION_SWEEP_AFTER)

    def _refresh_tokens(self) -> None:
        from returnbridge.sync.upkeep import refresh_expiring_tokens

        refresh_expiring_tokens(self.runtime)

    def _mirror(self, store_id: int) -> str:
        """Mirror one store's due effects; a store already being mirrored elsewhere is skipped."""
        from returnbridge.sync.mirror import mirror_store

        report = mirror_store(self.runtime, store_id)
        return "busy" if report.busy else "mirrored"

    def _apply_rules(self) -> int:
        """One pass of the enabled rules. Under a lease so two workers do not evaluate the same cases at once
        (the UNIQUE run row would stop a second action anyway; the lease saves the wasted work)."""
        from returnbridge.sync.rules import apply_rules

        try:
            with lease(self.runtime, "rules"):
                return len(apply_rules(self.runtime))
        except ShopBusy:
            return 0

    def _pull_orders(self, account_id: int) -> int:
        from returnbridge.sync.orders_sold import pull_orders

        try:
            with lease(self.runtime, f"orders:{account_id}"):
                return pull_orders(self.runtime, account_id)
        except ShopBusy:
            return 0
        except AccountUnavailable as unavailable:
            log.warning("not pulling the orders of account %s: %s", account_id, unavailable)
            return 0

    def _send_digest(self) -> None:
        from returnbridge.sync.notifications import send_digest_if_due

        send_digest_if_due(self.runtime)

    def _enqueue_mirrors(self, now: datetime | None = None) -> list[int]:
        from returnbridge.sync.mirror import stores_due

        due = stores_due(self.runtime, now)
        for store_id in due:
            self.mirror(store_id)
        return due

    def _schedule(self) -> None:
        # Every consumer runs the periodic scheduler; a lease that is never released but lapses before the next
        # minute makes one sweep per minute across all machines.
        with transaction(self.runtime.sessions) as session:
            mine = leases.try_acquire(
                session, "schedule", f"sweep:{id(self)}", now=datetime.now(UTC), ttl=timedelta(seconds=50)
            )
        if mine:
            self.sweep()

    # --- the schedule ------------------------------------------------------------------------------------------

    def sweep(self, *, now: datetime | None = None) -> dict[str, int]:
        """Enqueue what is due: shop pulls, lost webhooks, records, decisions, token refreshes. Safe to run often."""
        from returnbridge.sync.webhooks import pending_webhooks

        now = now or datetime.now(UTC)
        # The interval chosen on the Settings page wins over RETURNBRIDGE_SYNC_INTERVAL_MINUTES.
        interval = timedelta(minutes=self._app_settings().sync_interval_minutes)
        with transaction(self.runtime.sessions) as session:
            due_pulls = list(session.scalars(
                select(TikTokAccount.id).where(TikTokAccount.status == AccountStatus.ACTIVE.value).where(
                    ~select(SyncState.account_id).where(
                        SyncState.account_id == TikTokAccount.id,
                        SyncState.last_poll_started_at.is_not(None),
                        SyncState.last_poll_started_at > now - interval,
                    ).exists()
                ).order_by(TikTokAccount.id)
            ))
            webhooks = pending_webhooks(session, now - WEBHOOK_SWEEP_AFTER)
            orders_due = list(session.scalars(
                select(TikTokAccount.id).where(TikTokAccount.status == AccountStatus.ACTIVE.value).where(
                    ~select(OrderSyncState.account_id).where(
                        OrderSyncState.account_id == TikTokAccount.id,
                        OrderSyncState.last_ok_at.is_not(None),
                        OrderSyncState.last_ok_at > now - ORDERS_EVERY,
                    ).exists()
                ).order_by(TikTokAccount.id)
            ))
            records = list(session.scalars(
                select(Case.account_id).join(TikTokAccount, TikTokAccount.id == Case.account_id).where(
                    Case.records_due.is_(True), TikTokAccount.status == AccountStatus.ACTIVE.value
                ).distinct()
            ))
        for account_id in due_pulls:
            self.pull(account_id)
        for inbox_id in webhooks:
            self.process_webhook(inbox_id)
        for account_id in records:
            if account_id not in due_pulls:  # a pull enqueues its own records job when it ends
                self.fetch_records(account_id)
        self.retry_decisions()
        self.refresh_tokens()
        mirrors = self._enqueue_mirrors(now)
        for account_id in orders_due:
            self.pull_orders(account_id)
        self.apply_rules()
        self.send_digest()
        return {"pulls": len(due_pulls), "webhooks": len(webhooks), "records": len(records), "mirrors": len(mirrors),
                "orders": len(orders_due)}

    def _app_settings(self) -> AppSettings:
        with transaction(self.runtime.sessions) as session:
            return app_settings.load(session, self.runtime.settings)

    def consumer(self, *, workers: int | None = None, periodic: bool = True) -> Any:
        """A consumer polling briskly: a webhook's change should be in the database within a second or two."""
        return self.huey.create_consumer(
            workers=workers or self.runtime.settings.queue_workers,
            worker_type="thread",
            periodic=periodic,
            initial_delay=0.05,
            backoff=1.3,
            max_delay=0.25,
            check_worker_health=True,
        )


def _every_minute(_moment: datetime) -> bool:
    return True


