"""How large a request the back-office reads: evidence uploads up to TikTok's own limits, everything else small.

Starlette spools multipart files to disk and FastAPI reads JSON bodies into memory without any cap, and the CSRF
check parses a form before the route's own checks run; so without this, one signed-in request could make the server
store gigabytes before ``evidence_upload`` ever counted a byte. The limit is checked on ``Content-Length`` before
anything is read, and on the bytes actually received for a body sent without one (chunked).

The TikTok webhook endpoint is left to its own, stricter limit (``web.webhooks``).
"""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from returnbridge.sync.decisions import MAX_IMAGE_BYTES, MAX_IMAGES

# Forms, settings, rules, notes, bulk selections: far below this.
MAX_BODY_BYTES = 2 * 1024 * 1024
# Six 5 MB images, base64-encoded in a JSON decision (4/3 larger than a multipart form), plus the other fields.
MAX_EVIDENCE_BODY_BYTES = MAX_IMAGES * MAX_IMAGE_BYTES * 4 // 3 + 1024 * 1024
# The routes that take evidence images.
EVIDENCE_ROUTES = re.compile(r"^/(cases/[^/]+/decide|api/v1/cases/[^/]+/decisions)$")
OWN_LIMIT_PREFIXES = ("/webhooks/",)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request is larger than {limit // (1024 * 1024)} MB, more than this page takes.")


def body_limit(path: str) -> int:
    return MAX_EVIDENCE_BODY_BYTES if EVIDENCE_ROUTES.match(path) else MAX_BODY_BYTES


class UploadLimits:
    """Pure ASGI middleware: a 413 for a body over the route's limit, before or while it is received."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(OWN_LIMIT_PREFIXES):
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def noting_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, noting_send)
        except BodyTooLarge:
            # Raised inside a form or JSON parser that did not turn it into a response itself.
            if started:
                raise
            await _too_large(limit)(scope, receive, send)


def _too_large(limit: int) -> PlainTextResponse:
    return PlainTextResponse(BodyTooLarge(limit).detail, status_code=413, headers={"connection": "close"})
