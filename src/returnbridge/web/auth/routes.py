"""``/login`` and ``/logout``.

The sign-in form has no session to take a CSRF token from, so it uses a double-submit token: a random value both
in an HttpOnly cookie and in the form, which must match (another site can make a browser post the form but can
neither read nor set that cookie). This stops "login CSRF", signing a victim into the attacker's account.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from returnbridge.sync.runtime import Runtime
from returnbridge.users.signin import SignInRefused, sign_in
from returnbridge.web.auth.client import client_ip, is_https
from returnbridge.web.auth.guards import current_user, next_after_sign_in
from returnbridge.web.auth.sessions import SESSION_COOKIE, SessionStore, SignedInUser, same_token
from returnbridge.web.pages import render

LOGIN_CSRF_COOKIE = "rb_login_csrf"


def auth_router(runtime: Runtime, store: SessionStore) -> APIRouter:
    settings = runtime.settings
    router = APIRouter(tags=["sign-in"], include_in_schema=False)

    def login_page(request: Request, *, next_path: str, email: str = "", error: str = "",
                   status_code: int = 200) -> Response:
        token = secrets.token_urlsafe(32)
        response = render(request, "login.html", {"next": next_path, "email": email, "error": error},
                          status_code=status_code, csrf_token=token)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path="/login", httponly=True, samesite="lax",
                            secure=is_https(request, settings))
        return response

    @router.get("/login")
    async def show_login(request: Request, next: str = "/") -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        if token and await run_in_threadpool(store.find, token) is not None:
            return RedirectResponse(next_after_sign_in(next), status_code=303)
        return login_page(request, next_path=next_after_sign_in(next))

    @router.post("/login")
    async def submit_login(
        request: Request,
        email: str = Form(""),
        password: str = Form(""),
        csrf_token: str = Form(""),
        next: str = Form("/"),
    ) -> Response:
        next_path = next_after_sign_in(next)
        if not same_token(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
            return login_page(request, next_path=next_path, email=email, status_code=400,
                              error="The sign-in form expired. Please try again.")
        if not email.strip() or not password:
            return login_page(request, next_path=next_path, email=email, status_code=400,
                              error="Enter your e-mail address and your password.")
        ip = client_ip(request, settings)
        try:
            user = await run_in_threadpool(sign_in, runtime.sessions, settings, email, password, ip)
        except SignInRefused as refused:
            return login_page(request, next_path=next_path, email=email, error=refused.message,
                              status_code=refused.status_code)
        session_token = await run_in_threadpool(
            store.start, user.user_id, ip=ip, user_agent=request.headers.get("user-agent", "")
        )
        response = RedirectResponse(next_path, status_code=303)
        response.set_cookie(SESSION_COOKIE, session_token, max_age=store.max_age_seconds, path="/", httponly=True,
                            samesite="lax", secure=is_https(request, settings))
        # Deleted with the attributes it was set with: a cookie that is sometimes sent without them is one a test
        # (and a scanner) cannot tell from a careless one.
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login", httponly=True, samesite="lax",
                               secure=is_https(request, settings))
        return response

    @router.post("/logout")
    async def logout(request: Request, user: SignedInUser = Depends(current_user)) -> Response:
        await run_in_threadpool(store.end, user.session_id)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                               secure=is_https(request, settings))
        request.app.state.flasher.add(request, response, "You are signed out.", "info",
                                      secure=is_https(request, settings))
        return response

    return router
