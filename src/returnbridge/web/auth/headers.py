"""Security headers on every response (HTML pages, JSON and static files alike).

The CSP allows only this origin's own files: no inline script, no inline style, no framing. Pages therefore keep
all CSS in ``app.css`` and all behaviour in ``app.js`` (no ``style=``, ``onclick=`` or ``<script>`` bodies).
Images are the exception: product photos and buyer evidence come from TikTok's CDNs, whose host names vary by region
and over time, so any HTTPS image is allowed (an image cannot run script); a plain-HTTP TikTok base (the emulator,
the demo) is added by name.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_CSP_TEMPLATE = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:{extra_img}; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
CONTENT_SECURITY_POLICY = _CSP_TEMPLATE.format(extra_img="")


def content_security_policy(extra_img_sources: tuple[str, ...] = ()) -> str:
    return _CSP_TEMPLATE.format(extra_img="".join(f" {source}" for source in extra_img_sources))

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

    def __init__(self, app: ASGIApp, *, https: bool, extra_img_sources: tuple[str, ...] = ()) -> None:
        self.app = app
        headers = [(k, content_security_policy(extra_img_sources) if k == "content-security-policy" else v)
                   for k, v in SECURITY_HEADERS]
        # HSTS only when the public URL is HTTPS: sent over plain HTTP it would lock a local setup out.
        self.headers = [(k.encode(), v.encode()) for k, v in (*headers, *((HSTS,) if https else ()))]

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
