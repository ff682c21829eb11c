"""Security headers on every response (HTML pages, JSON and static files alike).

The CSP allows only this origin's own files: no inline script, no inline style, no framing. Pages therefore keep
all CSS in ``app.css`` and all behaviour in ``app.js`` (no ``style=``, ``onclick=`` or ``<script>`` bodies).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()"),
)
HSTS = ("strict-transport-security", "max-age=31536000")


class SecurityHeaders:
    """Pure ASGI middleware (not ``BaseHTTPMiddleware``, which would buffer streamed responses)."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        # HSTS only when the public URL is HTTPS: sent over plain HTTP it would lock a local setup out.
        self.headers = [(k.encode(), v.encode()) for k, v in (*SECURITY_HEADERS, *((HSTS,) if https else ()))]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((k, v) for k, v in self.headers if k not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)
