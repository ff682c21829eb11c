"""What we may believe about the browser's connection: its address and whether it came over HTTPS.

``X-Forwarded-*`` headers are believed only with ``trust_proxy_headers`` (behind a proxy that overwrites them);
otherwise any client could claim HTTPS or another address and slip past the per-address sign-in limit.
"""

from __future__ import annotations

from starlette.requests import Request

from returnbridge.config import Settings


def client_ip(request: Request, settings: Settings) -> str:
    if settings.trust_proxy_headers:
        forwarded = request.headers.get("x-forwarded-for", "")
        # The last hop is the one our proxy appended; earlier entries are whatever the client sent.
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1][:64]
    return (request.client.host if request.client else "unknown")[:64]


def is_https(request: Request, settings: Settings) -> bool:
    if settings.public_url.startswith("https://") or request.url.scheme == "https":
        return True
    if settings.trust_proxy_headers:
        return request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower() == "https"
    return False


def is_api(request: Request) -> bool:
    """JSON API requests get JSON errors (401/403) instead of a redirect to the sign-in page."""
    return request.url.path.startswith("/api/")
