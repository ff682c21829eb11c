"""Every cookie the back-office sets (session, sign-in form token, flash message, TikTok connection nonce) is
HttpOnly and SameSite=Lax, and Secure whenever the browser is on HTTPS: a public URL on https, or a trusted proxy's
``X-Forwarded-Proto: https``. An untrusted client claiming HTTPS is not believed."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from returnbridge.sync.runtime import Runtime
from returnbridge.web.app import create_app
from returnbridge.web.auth import SESSION_COOKIE
from returnbridge.web.auth.routes import LOGIN_CSRF_COOKIE
from returnbridge.web.connect import COOKIE_NAME as CONNECT_COOKIE
from returnbridge.web.flash import FLASH_COOKIE

from ..web.signing_in import PASSWORD, add_user, csrf_token_in

TIKTOK_APP = {"tiktok_app_key": "k", "tiktok_app_secret": "s", "tiktok_service_id": "svc"}


def set_cookies(response: httpx.Response) -> list[tuple[str, set[str]]]:
    """(cookie name, its attributes lower-cased: ``httponly``, ``secure``, ``samesite=lax``, ...) per Set-Cookie."""
    cookies = []
    for header in response.headers.get_list("set-cookie"):
        name_value, *attributes = (part.strip().lower() for part in header.split(";"))
        cookies.append((name_value.split("=", 1)[0], {attribute.split("=")[0] if attribute.startswith(
            ("max-age", "expires", "path")) else attribute for attribute in attributes}))
    return cookies


def behind_tls_proxy(app: ASGIApp) -> ASGIApp:
    """The app as a TLS-terminating proxy forwards to it: the browser is on https, the app sees plain http."""

    async def forwarded(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "scheme": "http"} if scope["type"] == "http" else scope, receive, send)

    return forwarded


def every_cookie(runtime: Runtime, base_url: str, headers: dict[str, str],
                 proxy: bool) -> list[tuple[str, set[str]]]:
    """Sign in, start a TikTok connection and sign out: every cookie set (or deleted) on the way."""
    add_user(runtime, "admin@example.com", "admin")
    app = create_app(runtime, on_webhook=lambda _id: None)
    seen: list[tuple[str, set[str]]] = []
    with TestClient(behind_tls_proxy(app) if proxy else app, base_url=base_url, headers=headers) as client:
        form = client.get("/login")
        seen += set_cookies(form)
        signed_in = client.post("/login", follow_redirects=False, data={
            "email": "admin@example.com", "password": PASSWORD, "csrf_token": csrf_token_in(form.text)})
        assert signed_in.status_code == 303, signed_in.text
        seen += set_cookies(signed_in)
        seen += set_cookies(client.get("/connect/tiktok", follow_redirects=False))
        seen += set_cookies(client.post("/logout", follow_redirects=False,
                                        data={"csrf_token": csrf_token_in(client.get("/account").text)}))
    assert {LOGIN_CSRF_COOKIE, SESSION_COOKIE, CONNECT_COOKIE, FLASH_COOKIE} <= {name for name, _ in seen}, seen
    return seen


HTTPS_PROXY = {"X-Forwarded-Proto": "https"}


@pytest.mark.parametrize(("public_url", "trusted", "proxy", "secure"), [
    ("http://127.0.0.1:8600", False, False, False),
    ("https://returns.example.com", False, False, True),
    ("http://127.0.0.1:8600", True, True, True),
    # The proxy's header is ignored unless trusted: then every client could claim HTTPS (and another address).
    ("http://127.0.0.1:8600", False, True, False),
], ids=["plain-http", "https-public-url", "trusted-proxy-https", "untrusted-forwarded-proto"])
def test_every_cookie_is_httponly_samesite_lax_and_secure_exactly_when_on_https(
    make_runtime: Callable[..., Runtime], public_url: str, trusted: bool, proxy: bool, secure: bool,
) -> None:
    runtime = make_runtime(public_url=public_url, trust_proxy_headers=trusted, **TIKTOK_APP)
    base_url = "http://testserver" if public_url.startswith("http:") and not proxy else "https://returns.example.com"
    for name, attributes in every_cookie(runtime, base_url, HTTPS_PROXY if proxy else {}, proxy):
        assert "httponly" in attributes, name
        assert "samesite=lax" in attributes, name
        assert ("secure" in attributes) is secure, (name, attributes)
