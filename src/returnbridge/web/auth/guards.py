"""Who may reach a route: ``current_user`` (any signed-in user) and ``require_role(minimum)``.

Both also check the CSRF token on every request that is not GET/HEAD/OPTIONS, so a route that requires a user
cannot forget it. The token is the session's ``csrf_secret``; it may come as
- the ``csrf_token`` field of an HTML form (``{% include "csrf.html" %}``), or
- the ``X-CSRF-Token`` header, which is what JSON API writes must send (``app.js`` reads it from the page's
  ``<meta name="csrf-token">``). There is no same-origin fallback: a write without the token is refused.

Refusals: not signed in → 303 to ``/login?next=...`` for pages, 401 JSON for ``/api/``; wrong role or bad CSRF
token → 403 page or JSON.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from returnbridge.domain.roles import Role
from returnbridge.web.auth.api_tokens import ApiTokenStore, bearer_token
from returnbridge.web.auth.client import is_api, is_https
from returnbridge.web.auth.sessions import SESSION_COOKIE, SessionStore, SignedInUser, same_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


class NotSignedIn(Exception):
    """No valid session or API token: the sign-in page (pages) or 401 (API)."""

    def __init__(self, message: str = "Sign in first.", *, forget_cookie: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.forget_cookie = forget_cookie  # a bad API token says nothing about the browser's session cookie


class Forbidden(Exception):
    """Signed in, but not allowed: 403."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def current_user(request: Request) -> SignedInUser:
    """The signed-in user (also put on ``request.state.user`` for templates); checks CSRF on writes."""
    user: SignedInUser | None = getattr(request.state, "user", None)
    if user is None:
        bearer = bearer_token(request) if is_api(request) else None
        if bearer is not None:
            tokens: ApiTokenStore = request.app.state.api_token_store
            user = await run_in_threadpool(tokens.find, bearer) if bearer else None
            if user is None:
                raise NotSignedIn("This API token is not valid: it is unknown, revoked, or its user is disabled.",
                                  forget_cookie=False)
        else:
            token = request.cookies.get(SESSION_COOKIE)
            store: SessionStore = request.app.state.session_store
            user = await run_in_threadpool(store.find, token) if token else None
            if user is None:
                raise NotSignedIn()
        request.state.user = user
    # Only cookie sessions need the CSRF token: a bearer token is never sent by the browser on its own.
    if (request.method not in SAFE_METHODS and user.api_token_id is None
            and not getattr(request.state, "csrf_checked", False)):
        await _check_csrf(request, user)
        request.state.csrf_checked = True
    return user


def require_role(minimum: Role | str) -> Callable[[Request], Awaitable[SignedInUser]]:
    """A dependency: the signed-in user if their role is ``minimum`` or higher, else 403."""
    needed = Role(minimum)

    async def dependency(request: Request) -> SignedInUser:
        user = await current_user(request)
        if not user.can(needed):
            raise Forbidden(f"This needs the {needed.label.lower()} role; you are signed in as "
                            f"{user.role.label.lower()}.")
        return user

    dependency.__name__ = f"require_{needed.value}"
    return dependency


# Ready-made dependencies for the three levels, e.g. ``user: SignedInUser = Depends(can_decide)``.
signed_in = current_user
can_decide = require_role(Role.AGENT)
admin_only = require_role(Role.ADMIN)


async def _check_csrf(request: Request, user: SignedInUser) -> None:
    given = request.headers.get(CSRF_HEADER)
    if not given:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            # Starlette caches the parsed form on the request, so the endpoint's Form() fields still see it.
            field = (await request.form()).get(CSRF_FIELD)
            given = field if isinstance(field, str) else None
    if not same_token(user.csrf_token, given):
        raise Forbidden("This form has expired or did not come from ReturnBridge. Reload the page and try again.")


def next_after_sign_in(value: str | None) -> str:
    """``value`` if it is a path on this site, else ``/``: the sign-in page must not send anyone elsewhere."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(char) < 0x20 or char == "\x7f" for char in value):
        return "/"
    return value


async def not_signed_in_handler(request: Request, error: Exception) -> Response:
    if is_api(request):
        message = error.message if isinstance(error, NotSignedIn) else "Sign in first."
        response: Response = JSONResponse({"detail": message}, status_code=401,
                                          headers={"www-authenticate": "Bearer"})
    else:
        target = "/login"
        if request.method in SAFE_METHODS and request.url.path != "/":
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target += "?next=" + quote(path, safe="")
        response = RedirectResponse(target, status_code=303)
    forget = not isinstance(error, NotSignedIn) or error.forget_cookie
    if forget and SESSION_COOKIE in request.cookies:  # an expired or unknown session: forget it
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                               secure=is_https(request, request.app.state.runtime.settings))
    return response


async def forbidden_handler(request: Request, error: Exception) -> Response:
    message = error.message if isinstance(error, Forbidden) else "Not allowed."
    if is_api(request):
        return JSONResponse({"detail": message}, status_code=403)
    from returnbridge.web.pages import render

    return render(request, "error.html", {"title": "Not allowed", "message": message}, status_code=403)
