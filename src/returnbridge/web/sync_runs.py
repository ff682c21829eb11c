"""Sync Returns from the browser: ``POST /sync`` starts a pull, ``GET /sync/{id}/events`` streams its progress
(server-sent events) and ``GET /sync/{id}`` shows the summary.

``POST /sync`` (agent or admin; form or ``window.returnbridge.fetch``) takes an optional ``account_id`` (one shop;
all active shops without it). Asked for JSON (``Accept: application/json``) it answers 202
``{"run_id", "reused", "events_url", "summary_url"}``; a plain form post is redirected (303) to the summary page,
which follows the progress itself. While a run for the same shops is running, the same run is answered with
``reused: true``.

The stream sends ``event: progress`` about every 250 ms while the run is running and one ``event: summary`` when it
has ended, then closes. Both carry the JSON of ``RunView.as_event()``: ``run_id``, ``state`` (running, done,
failed), ``received``, ``total`` (TikTok's announced count, null until known), ``created``, ``percent`` (null
while unknown), ``seconds``, ``shops`` (per shop: ``account_id``, ``name``, ``region``, ``state``, ``received``,
``total``, ``created``, ``status_changes``, ``error``) and ``error``. ``static/sync.js`` is the client.

Where the pull runs: handed to the job queue when this process has a consumer (``serve``), otherwise on a thread
of this web process. Either way progress is in the database, so any web process can stream it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from returnbridge.domain.row_ids import row_id
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.sync_runs import PROGRESS_EVERY, NothingToSync, RunView, execute_run, run_view, start_run
from returnbridge.web.auth import SignedInUser, can_decide, current_user
from returnbridge.web.moments import duration, when
from returnbridge.web.pages import render

log = logging.getLogger(__name__)

# An open stream is cut after this long (the browser reconnects by itself if the run is still going).
STREAM_LIMIT_SECONDS = 30 * 60


class SyncRunner:
    """Starts the pull of a recorded run: through ``hand_over`` (the job queue) if given, else on a thread."""

    def __init__(self, runtime: Runtime, hand_over: Callable[[int], None] | None = None) -> None:
        self.runtime = runtime
        self.hand_over = hand_over
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self, run_id: int) -> None:
        if self.hand_over is not None:
            self.hand_over(run_id)
            return
        thread = threading.Thread(target=self._run, args=(run_id,), name=f"sync-run-{run_id}", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _run(self, run_id: int) -> None:
        try:
            execute_run(self.runtime, run_id)
        except Exception:  # execute_run records shop failures itself; this is a database outage or a bug
            log.exception("Sync Returns run %s stopped", run_id)

    def close(self, timeout: float = 30.0) -> None:
        """Wait for runs on threads of this process (their progress would otherwise stop mid-way)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0.0))


def sync_router(runtime: Runtime, runner: SyncRunner) -> APIRouter:
    router = APIRouter(tags=["sync"], include_in_schema=False)

    @router.post("/sync")
    async def start(
        request: Request, account_id: str = Form(""), user: SignedInUser = Depends(can_decide)
    ) -> Response:
        wants_json = "application/json" in request.headers.get("accept", "")
        chosen: int | None = None
        if account_id.strip():
            chosen = row_id(account_id)
            if chosen is None:
                return _refused(request, wants_json, 400, "The shop to sync is not a shop number.")
        try:
            started = await run_in_threadpool(start_run, runtime, started_by=user.email, account_id=chosen)
        except NothingToSync as nothing:
            return _refused(request, wants_json, 409, str(nothing))
        if not started.reused:
            await run_in_threadpool(runner.start, started.run_id)
        if wants_json:
            return JSONResponse(
                {"run_id": started.run_id, "reused": started.reused,
                 "events_url": f"/sync/{started.run_id}/events", "summary_url": f"/sync/{started.run_id}"},
                status_code=202,
            )
        return RedirectResponse(f"/sync/{started.run_id}", status_code=303)

    @router.get("/sync/{run_id}")
    async def summary(request: Request, run_id: int, user: SignedInUser = Depends(current_user)) -> Response:
        view = await run_in_threadpool(run_view, runtime, run_id)
        if view is None:
            return render(request, "error.html", {"title": "No such sync",
                                                  "message": f"There is no sync number {run_id}."},
                          status_code=404)
        return render(request, "sync_run.html", {"run": view, "when": when, "duration": duration})

    @router.get("/sync/{run_id}/events")
    async def events(request: Request, run_id: int, user: SignedInUser = Depends(current_user)) -> Response:
        first = await run_in_threadpool(run_view, runtime, run_id)
        if first is None:
            return JSONResponse({"detail": f"There is no sync number {run_id}."}, status_code=404)
        return StreamingResponse(
            _stream(request, runtime, run_id, first),
            media_type="text/event-stream",
            # no-transform and X-Accel-Buffering: a proxy that buffers would hold every event until the end.
            headers={"cache-control": "no-store, no-transform", "x-accel-buffering": "no"},
        )

    return router


async def _stream(request: Request, runtime: Runtime, run_id: int, view: RunView) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    started = time.monotonic()
    while True:
        if view.finished:
            yield _event("summary", view)
            return
        yield _event("progress", view)
        if time.monotonic() - started > STREAM_LIMIT_SECONDS or await request.is_disconnected():
            return
        await asyncio.sleep(PROGRESS_EVERY)
        fresh = await run_in_threadpool(run_view, runtime, run_id)
        if fresh is None:  # deleted meanwhile; nothing more to say
            return
        view = fresh


def _event(name: str, view: RunView) -> str:
    # One line of JSON: a newline inside ``data:`` would split the event.
    return f"event: {name}\ndata: {json.dumps(view.as_event(), separators=(',', ':'))}\n\n"


def _refused(request: Request, wants_json: bool, status: int, message: str) -> Response:
    if wants_json:
        return JSONResponse({"detail": message}, status_code=status)
    return render(request, "error.html", {"title": "Nothing was synced", "message": message}, status_code=status)
