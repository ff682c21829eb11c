"""`returnbridge sync`, `serve` and `worker`: pulling in the foreground, and running the product."""

from __future__ import annotations

import logging
import threading
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from returnbridge.domain.row_ids import row_id
from returnbridge.errors import UserFacingError

out = Console(soft_wrap=True)


def _runtime(*, migrate: bool):  # type: ignore[no-untyped-def]
    from returnbridge.config import get_settings
    from returnbridge.db.migrate import is_up_to_date, upgrade
    from returnbridge.sync.runtime import Runtime

    settings = get_settings()
    url = settings.effective_database_url
    if migrate:
        upgrade(url)
    elif not is_up_to_date(url):
        raise UserFacingError("the database schema is not up to date: run `returnbridge migrate` first")
    return Runtime.from_settings(settings)


def _accounts(runtime, account: str | None) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    from returnbridge.db.engine import transaction
    from returnbridge.db.repositories.accounts import AccountRepository

    with transaction(runtime.sessions) as session:
        repo = AccountRepository(session, runtime.box)
        if account is None:
            found = repo.list_active()
            if not found:
                raise UserFacingError("no active TikTok shop is connected: run `returnbridge accounts connect`")
            return [(a.id, a.shop_name or a.shop_id) for a in found]
        match = repo.by_shop_id(account) or (repo.get(number) if (number := row_id(account)) is not None else None)
        if match is None:
            raise UserFacingError(f"no TikTok account {account!r}: see `returnbridge accounts list`")
        return [(match.id, match.shop_name or match.shop_id)]


def _pull_with_progress(runtime, account_id: int, name: str, full: bool):  # type: ignore[no-untyped-def]
    from returnbridge.sync import ingest
    from returnbridge.sync.locks import ShopBusy, lease, shop_lease_name

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out, transient=True) as progress:
        bars: dict[str, int] = {}

        def report(stream: str, received: int, total: int | None) -> None:
            if stream not in bars:
                bars[stream] = progress.add_task(f"{name}: {stream}", total=total)
            progress.update(bars[stream], completed=received, total=max(total or 0, received) or None)

        try:
            with lease(runtime, shop_lease_name(account_id)) as held:
                return ingest.pull_account(runtime, account_id, full=full, progress=report, after_page=held.renew)
        except ShopBusy:
            raise UserFacingError(f"{name}: a worker is pulling this shop right now; try again in a minute") from None


def sync(
    account: Annotated[str | None, typer.Option(help="Account id or TikTok shop id (default: all active).")] = None,
    full: Annotated[bool, typer.Option(help="Re-read the whole history window, not from the cursor.")] = False,
) -> None:
    """Pull returns and cancellations from TikTok now, in the foreground, with progress."""
    import time

    runtime = _runtime(migrate=True)
    try:
        table = Table("shop", "stream", "received", "new", "status changes", "stale", "quarantined", "seconds")
        for account_id, name in _accounts(runtime, account):
            started = time.monotonic()
            results = _pull_with_progress(runtime, account_id, name, full)
            seconds = f"{time.monotonic() - started:.1f}"
            for result in results:
                o = result.outcome
                table.add_row(name, result.stream, str(o.received), str(o.created), str(o.status_changes),
                              str(o.stale), str(o.quarantined), seconds)
        out.print(table)
    finally:
        runtime.close()


def worker(
    workers: Annotated[int | None, typer.Option(min=1, help="Job threads (default: QUEUE_WORKERS).")] = None,
) -> None:
    """Run a job consumer alone (for deployments with several machines; `serve` includes one)."""
    from returnbridge.sync.jobs import Jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines would log token URLs
    runtime = _runtime(migrate=False)
    try:
        jobs = Jobs(runtime)
        out.print(f"Worker started: {type(jobs.huey).__name__}, {workers or runtime.settings.queue_workers} threads")
        jobs.consumer(workers=workers).run()
    finally:
        runtime.close()


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8600,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Web only (jobs in `worker`).")] = False,
    workers: Annotated[int | None, typer.Option(min=1, help="Job threads of the built-in worker.")] = None,
) -> None:
    """Run the product: web (back-office, webhooks, OAuth), and unless --no-worker the job consumer and schedule."""
    import uvicorn

    from returnbridge.sync.jobs import Jobs
    from returnbridge.web.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    runtime = _runtime(migrate=True)
    try:
        jobs = Jobs(runtime)
        # "Sync Returns" runs go through the queue like every pull: to this process's consumer, or with
        # --no-worker to the `worker` processes that deployment runs.
        app = create_app(runtime, on_webhook=lambda inbox_id: jobs.process_webhook(inbox_id),
                         on_sync_run=lambda run_id: jobs.sync_run(run_id),
                         on_mirror=lambda store_id: jobs.mirror(store_id))
        out.print(f"ReturnBridge on http://{host}:{port}  (queue: {type(jobs.huey).__name__})")
        if no_worker:
            uvicorn.run(app, host=host, port=port, log_level="warning")
            return
        # The consumer owns the main thread (it handles SIGINT/SIGTERM); the web server runs beside it.
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        web = threading.Thread(target=server.run, name="web", daemon=True)
        web.start()
        jobs.sweep()  # start pulling at once rather than at the scheduler's first minute
        try:
            jobs.consumer(workers=workers).run()
        finally:
            server.should_exit = True
            web.join(timeout=10)
    finally:
        runtime.close()
