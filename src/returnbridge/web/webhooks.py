"""``POST /webhooks/tiktok``: verify, store once, acknowledge (contract §5.1).

TikTok counts only an HTTP 200 within 3 seconds as delivered, and expects 401 with an empty body when the
signature fails. The route is a plain Starlette endpoint (no FastAPI parameter parsing or validation): it is the
hottest path of the web process, and it needs the raw bytes anyway because the signature covers them exactly.

Answers, all with an empty body except the 503s:
- 401: ``Authorization`` missing or not the HMAC of app_key + body; nothing is stored.
- 413: body over ``MAX_BODY_BYTES`` (TikTok's are well under 1 KiB); nothing is stored.
- 408: the body took over ``BODY_SECONDS`` to arrive (a slow-loris); nothing is stored.
- 200: stored (new), already stored (duplicate ``tts_notification_id``), or signed but unparseable (quarantined,
  see ``returnbridge.sync.webhooks`` for why that is a 200).
- 503: the TikTok app credentials are not configured, or the database is unreachable; TikTok retries later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from returnbridge.sync.runtime import Runtime
from returnbridge.sync.webhooks import Received, WebhookIntake
from returnbridge.tiktok import verify_webhook

log = logging.getLogger(__name__)

PATH = "/webhooks/tiktok"
MAX_BODY_BYTES = 1 << 20
# TikTok sends its sub-KiB body at once and gives up on an answer after 3 s; a client still sending after this long
# is a slow-loris, not TikTok, and gets 408 so it does not hold a connection (and its buffers) for ever.
BODY_SECONDS = 10.0


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass


class WebhookWaker:
    """Calls ``on_webhook(inbox_id)`` on its own thread, in arrival order, after the row is committed.

    The acknowledgement does not wait for it: TikTok's 3-second budget must not depend on the job queue (a Redis
    reconnect, or SqliteHuey writers queueing on its file lock, measured at several hundred milliseconds under
    load when done inline). A wake-up that never happens (queue full, process killed) costs only time: the row is
    ``pending`` in the database, and the sweep enqueues it.
    """

    def __init__(self, on_webhook: Callable[[int], None], *, capacity: int = 100_000) -> None:
        self._on_webhook = on_webhook
        self._queue: queue.Queue[int | None] = queue.Queue(capacity)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def wake(self, inbox_id: int) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="webhook-waker", daemon=True)
                    self._thread.start()
        try:
            self._queue.put_nowait(inbox_id)
        except queue.Full:
            log.warning("webhook wake-up queue is full; webhook %s waits for the sweep", inbox_id)

    def join(self) -> None:
        """Block until every wake-up handed over so far has been delivered (tests, shutdown)."""
        self._queue.join()

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (up to ``timeout`` seconds) and stop the thread."""
        thread = self._thread
        if thread is None:
            return
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return  # the daemon thread dies with the process; the sweep enqueues what it did not
        thread.join(timeout)

    def _run(self) -> None:
        while True:
            inbox_id = self._queue.get()
            try:
                if inbox_id is None:
                    return
                self._on_webhook(inbox_id)
            except Exception:
                log.exception("could not enqueue webhook %s; the sweep will pick it up", inbox_id)
            finally:
                self._queue.task_done()


class IntakeWriter:
    """One thread stores the webhooks, taking everything that arrived during the previous commit as one batch.

    Compared with a thread-pool call per request, it commits once per batch instead of once per webhook, and
    only one thread ever writes, so requests never contend for the database lock; the event loop only awaits a
    future.
    """

    def __init__(self, intake: WebhookIntake) -> None:
        self._intake = intake
        self._queue: queue.SimpleQueue[tuple[bytes, asyncio.AbstractEventLoop, asyncio.Future[Received]] | None]
        self._queue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def store(self, body: bytes) -> Received:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Received] = loop.create_future()
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="webhook-intake", daemon=True)
                    self._thread.start()
        self._queue.put((body, loop, future))
        return await future

    def close(self, timeout: float = 5.0) -> None:
        """Store what is queued and stop the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < WebhookIntake.MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(item)
            try:
                outcomes = self._store(batch)
            except BaseException as failure:  # never leave a request waiting on a future nobody settles
                outcomes = [failure] * len(batch)
            for (_body, loop, future), outcome in zip(batch, outcomes, strict=True):
                with contextlib.suppress(RuntimeError):  # that request's event loop is already closed
                    loop.call_soon_threadsafe(_settle, future, outcome)

    def _store(self, batch: list[tuple[bytes, Any, Any]]) -> list[Received | BaseException]:
        try:
            return list(self._intake.receive_many([body for body, _, _ in batch]))
        except Exception as failure:
            if len(batch) == 1:
                return [failure]
        # One bad row must not fail its neighbours: store them one by one to find it.
        outcomes: list[Received | BaseException] = []
        for body, _, _ in batch:
            try:
                outcomes.append(self._intake.receive(body))
            except Exception as failure:
                outcomes.append(failure)
        return outcomes


def _settle(future: asyncio.Future[Received], outcome: Received | BaseException) -> None:
    if future.cancelled():  # the client went away; the webhook is stored all the same
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def webhook_router(runtime: Runtime, writer: IntakeWriter, waker: WebhookWaker) -> APIRouter:
    """The receiver; ``waker`` learns the id of each new notification once it is committed (never a duplicate's)."""
    app_key = runtime.settings.tiktok_app_key
    app_secret = runtime.settings.tiktok_app_secret

    async def receive_tiktok_webhook(request: Request) -> Response:
        if not app_key or not app_secret:
            # With no secret every signature would "verify" against an empty key: refuse instead.
            log.error("TikTok webhook refused: RETURNBRIDGE_TIKTOK_APP_KEY/APP_SECRET are not configured")
            return PlainTextResponse("TikTok app credentials are not configured", status_code=503)
        try:
            body = await _read_body(request)
        except _TooLarge:
            return Response(status_code=413)
        except _TooSlow:
            return Response(status_code=408, headers={"connection": "close"})
        if not verify_webhook(app_key, app_secret, body, request.headers.get("authorization")):
            log.info("refused a TikTok webhook with a missing or wrong signature")
            return Response(status_code=401)
        try:
            received = await writer.store(body)
        except SQLAlchemyError as failure:
            log.error("could not store a TikTok webhook: %s", failure)
            return PlainTextResponse("the database is unavailable", status_code=503)
        if received.inbox_id is not None:
            waker.wake(received.inbox_id)
        return Response(status_code=200)

    router = APIRouter()
    router.add_route(PATH, receive_tiktok_webhook, methods=["POST"], include_in_schema=False)
    return router


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_SECONDS):
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise _TooLarge
                chunks.append(chunk)
    except TimeoutError:
        raise _TooSlow from None
    return b"".join(chunks)
