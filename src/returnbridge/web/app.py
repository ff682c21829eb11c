"""The web process: one FastAPI app, one router module per concern (webhooks, shop connection, later the back-office
and the JSON API).

``create_app`` takes a ready ``Runtime`` (settings, database, TikTok client) instead of building one, so the
``serve`` command, the tests and the benchmark decide how the process is wired, and ``on_webhook`` is how the job
layer learns that a new webhook was committed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from returnbridge import __version__
from returnbridge.errors import UserFacingError
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.webhooks import WebhookIntake
from returnbridge.web.connect import connect_router
from returnbridge.web.webhooks import IntakeWriter, WebhookWaker, webhook_router


def create_app(runtime: Runtime, *, on_webhook: Callable[[int], None]) -> FastAPI:
    """The ASGI app; ``on_webhook(inbox_id)`` is called once per new webhook, after its row is committed, on a
    thread of its own (``app.state.webhook_waker.join()`` waits for the calls handed over so far)."""
    writer = IntakeWriter(WebhookIntake(runtime.engine))
    waker = WebhookWaker(on_webhook)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        # Hand the last wake-ups to the queue before the process goes; the sweep covers any that do not make it.
        await run_in_threadpool(writer.close)
        await run_in_threadpool(waker.close)

    app = FastAPI(title="ReturnBridge", version=__version__, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.webhook_waker = waker
    app.include_router(webhook_router(runtime, writer, waker))
    app.include_router(connect_router(runtime))

    @app.exception_handler(UserFacingError)
    async def user_facing_error(_request: Request, error: UserFacingError) -> JSONResponse:
        # Something the operator can fix: a 4xx with the message, never a 500 with a traceback.
        return JSONResponse({"detail": str(error)}, status_code=400)

    @app.get("/healthz", tags=["health"], summary="Whether this process can reach its database")
    async def healthz() -> JSONResponse:
        try:
            await run_in_threadpool(_ping, runtime)
        except SQLAlchemyError as failure:
            reason = str(getattr(failure, "orig", None) or failure).strip().splitlines()[0]
            return JSONResponse({"status": "unavailable", "database": reason}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    return app


def _ping(runtime: Runtime) -> None:
    # A plain DBAPI cursor: on SQLite every SQLAlchemy transaction begins IMMEDIATE (takes the write lock), which a
    # health check must not do to the webhook intake. ``engine.connect()`` still wraps connection errors.
    with runtime.engine.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute("SELECT 1")
            cursor.fetchall()
        finally:
            cursor.close()
