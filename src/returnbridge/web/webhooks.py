"""``POST /webhooks/tiktok``: verify, store once, acknowledge (contract §5.1).

TikTok counts only an HTTP 200 within 3 seconds as delivered, and expects 401 with an empty body when the
signature fails. The route is a plain Starlette endpoint (no FastAPI parameter parsing or validation): it is the
hottest path of the web process, and it needs the raw bytes anyway because the signature covers them exactly.

Answers, all with an empty body except the 503s:
- 401: ``Authorization`` missing or not the HMAC of app_key + body; nothing is stored.
- 413: body over ``MAX_BODY_BYTES`` (TikTok's are well under 1 KiB); nothing is stored.
- 200: stored (new), already stored (duplicate ``tts_notification_id``), or signed but unparseable (quarantined,
  see ``returnbridge.sync.webhooks`` for why that is a 200).
- 503: the TikTok app credentials are not configured, or the database is unreachable; TikTok retries later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import APIRouter
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from returnbridge.sync.runtime import Runtime
from returnbridge.sync.webhooks import Received, WebhookIntake
from returnbridge.tiktok import verify_webhook

log = logging.getLogger(__name__)

PATH = "/webhooks/tiktok"
MAX_BODY_BYTES = 1 << 20


class _TooLarge(Exception):
    pass


def webhook_router(runtime: Runtime, on_webhook: Callable[[int], None]) -> APIRouter:
    """The receiver; ``on_webhook(inbox_id)`` runs after a new notification is committed (never for a duplicate)."""
    intake = WebhookIntake(runtime.engine)
    app_key = runtime.settings.tiktok_app_key
    app_secret = runtime.settings.tiktok_app_secret

    def store(body: bytes) -> Received:
        received = intake.receive(body)
        if received.inbox_id is not None:
            try:
                on_webhook(received.inbox_id)
            except Exception:
                # Stored and committed: the sweep of pending rows processes it even though the wake-up failed.
                log.exception("could not enqueue webhook %s; the sweep will pick it up", received.inbox_id)
        return received

    async def receive_tiktok_webhook(request: Request) -> Response:
        if not app_key or not app_secret:
            # With no secret every signature would "verify" against an empty key: refuse instead.
            log.error("TikTok webhook refused: RETURNBRIDGE_TIKTOK_APP_KEY/APP_SECRET are not configured")
            return PlainTextResponse("TikTok app credentials are not configured", status_code=503)
        try:
            body = await _read_body(request)
        except _TooLarge:
            return Response(status_code=413)
        if not verify_webhook(app_key, app_secret, body, request.headers.get("authorization")):
            log.info("refused a TikTok webhook with a missing or wrong signature")
            return Response(status_code=401)
        try:
            await run_in_threadpool(store, body)
        except SQLAlchemyError as failure:
            log.error("could not store a TikTok webhook: %s", failure)
            return PlainTextResponse("the database is unavailable", status_code=503)
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
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)
