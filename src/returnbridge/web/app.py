"""The web process: one FastAPI app, one router module per concern (webhooks, shop connection, sign-in, account,
users, later the rest of the back-office and the JSON API).

Every route requires a signed-in user except those in ``web.auth.public.PUBLIC_PATHS``.

``create_app`` takes a ready ``Runtime`` (settings, database, TikTok client) instead of building one, so the
``serve`` command, the tests and the benchmark decide how the process is wired, and ``on_webhook`` is how the job
layer learns that a new webhook was committed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from returnbridge import __version__
from returnbridge.errors import UserFacingError
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.webhooks import WebhookIntake
from returnbridge.web.account import account_router
from returnbridge.web.analytics import analytics_router
from returnbridge.web.api.cases import cases_api_router
from returnbridge.web.api_tokens_page import api_tokens_router
from returnbridge.web.auth import Forbidden, NotSignedIn, SessionStore, SignedInUser, current_user
from returnbridge.web.auth.api_tokens import ApiTokenStore
from returnbridge.web.auth.guards import forbidden_handler, not_signed_in_handler
from returnbridge.web.auth.headers import SecurityHeaders
from returnbridge.web.auth.routes import auth_router
from returnbridge.web.bulk_decisions import bulk_router
from returnbridge.web.case_actions import CaseActions
from returnbridge.web.case_page import case_page_router
from returnbridge.web.cases_api import case_list_api_router
from returnbridge.web.connect import connect_router
from returnbridge.web.connections import connections_router
from returnbridge.web.flash import Flasher
from returnbridge.web.notifications import notifications_router
from returnbridge.web.pages import STATIC_DIR
from returnbridge.web.reconciliation import reconciliation_router
from returnbridge.web.returns import returns_router
from returnbridge.web.rules import rules_router
from returnbridge.web.settings_page import settings_router
from returnbridge.web.stores import MirrorRunner
from returnbridge.web.sync_runs import SyncRunner, sync_router
from returnbridge.web.team import team_router
from returnbridge.web.upload_limits import UploadLimits
from returnbridge.web.webhooks import IntakeWriter, WebhookWaker, webhook_router


def create_app(
    runtime: Runtime, *, on_webhook: Callable[[int], None], on_sync_run: Callable[[int], None] | None = None,
    on_mirror: Callable[[int], None] | None = None,
) -> FastAPI:
    """The ASGI app; ``on_webhook(inbox_id)`` is called once per new webhook, after its row is committed, on a
    thread of its own (``app.state.webhook_waker.join()`` waits for the calls handed over so far).

    ``on_sync_run(run_id)`` hands a "Sync Returns" run to the job queue; without it (no consumer in this process)
    the run is pulled on a thread of the web process. ``on_mirror(store_id)`` does the same for a store's "Mirror
    now"."""
    writer = IntakeWriter(WebhookIntake(runtime.engine))
    waker = WebhookWaker(on_webhook)
    sync_runner = SyncRunner(runtime, on_sync_run)
    mirror_runner = MirrorRunner(runtime, on_mirror)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        # Hand the last wake-ups to the queue before the process goes; the sweep covers any that do not make it.
        await run_in_threadpool(writer.close)
        await run_in_threadpool(waker.close)
        await run_in_threadpool(sync_runner.close)
        await run_in_threadpool(mirror_runner.join)

    # No built-in /docs, /redoc or /openapi.json: they would be public, and Swagger UI loads from a CDN that the
    # CSP refuses. The description is served to signed-in users at /api/openapi.json instead.
    app = FastAPI(title="ReturnBridge", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.runtime = runtime
    app.state.webhook_waker = waker
    store = SessionStore(runtime.sessions, runtime.settings)
    app.state.session_store = store
    app.state.api_token_store = ApiTokenStore(runtime.sessions)
    app.state.flasher = Flasher(runtime.settings.resolved_secret_key())
    # Added before SecurityHeaders, so that one is outermost and its headers are on a 413 too.
    app.add_middleware(UploadLimits)
    app.add_middleware(SecurityHeaders, https=runtime.settings.public_url.startswith("https://"),
                       extra_img_sources=_plain_http_image_origins(runtime))
    app.add_exception_handler(NotSignedIn, not_signed_in_handler)
    app.add_exception_handler(Forbidden, forbidden_handler)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(webhook_router(runtime, writer, waker))
    app.include_router(connect_router(runtime))
    app.include_router(auth_router(runtime, store))
    app.include_router(account_router(runtime))
    app.include_router(team_router(runtime))
    app.include_router(returns_router(runtime))
    # The list (GET /api/v1/cases) before the case routes under /api/v1/cases/{case_id}.
    app.include_router(case_list_api_router(runtime))
    app.include_router(connections_router(runtime, mirror_runner))
    app.include_router(settings_router(runtime))
    app.include_router(sync_router(runtime, sync_runner))
    case_actions = CaseActions(runtime)
    app.include_router(bulk_router(case_actions))  # before /cases/{case_id}/...: "bulk" is not a case id
    app.include_router(case_page_router(runtime, case_actions))
    app.include_router(cases_api_router(case_actions))
    app.include_router(api_tokens_router(runtime))
    app.include_router(rules_router(runtime))
    app.include_router(analytics_router(runtime))
    app.include_router(reconciliation_router(runtime))
    app.include_router(notifications_router(runtime))

    @app.get("/", include_in_schema=False)
    def home(_user: SignedInUser = Depends(current_user)) -> RedirectResponse:
        # The returns grid is the back-office's front page.
        return RedirectResponse("/returns", status_code=303)

    @app.get("/api/me", tags=["account"], summary="The signed-in user")
    def me(user: SignedInUser = Depends(current_user)) -> dict[str, Any]:
        return {"id": user.id, "email": user.email, "role": user.role.value}

    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi(_user: SignedInUser = Depends(current_user)) -> JSONResponse:
        return JSONResponse(app.openapi())

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


def _plain_http_image_origins(runtime: Runtime) -> tuple[str, ...]:
    """The TikTok base when it is plain HTTP (the emulator): its product and evidence images must show too."""
    parts = urlsplit(runtime.settings.tiktok_api_base)
    return (f"{parts.scheme}://{parts.netloc}",) if parts.scheme == "http" and parts.netloc else ()


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
