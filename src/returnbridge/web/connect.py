"""Connecting a TikTok shop from the browser: ``GET /connect/tiktok`` → TikTok consent → ``/connect/tiktok/callback``.

TikTok sends the seller back to the redirect URL registered for the app in Partner Center; register
``<public_url>/connect/tiktok/callback``.

The OAuth ``state`` protects the callback from forged requests (someone making the merchant's browser connect the
attacker's shop). It is ``nonce.issued_at.signature``: HMAC-SHA256 under a key derived from the secret key, valid
for 30 minutes, and bound to the browser that started the flow by a cookie holding the same nonce. The cookie is
cleared by the first callback that passes the check (whether TikTok then accepts the code or not), so a state
cannot be used twice from that browser, and a state copied to another browser is refused. (The auth code itself is
single-use at TikTok as well.)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from html import escape

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from returnbridge.domain.roles import Role
from returnbridge.errors import UserFacingError
from returnbridge.sync.accounts import AuthorizationFailed, ConnectedShop, TikTokUnreachable, connect_with_auth_code
from returnbridge.sync.runtime import Runtime
from returnbridge.web.auth import require_role
from returnbridge.web.auth.client import is_https
from returnbridge.web.pages import render

STATE_TTL_SECONDS = 30 * 60
COOKIE_NAME = "rb_tiktok_connect"
COOKIE_PATH = "/connect/tiktok"
START_PATH = "/connect/tiktok"
CALLBACK_PATH = "/connect/tiktok/callback"


class BadState(UserFacingError):
    """The ``state`` that came back from TikTok is missing, forged, expired or from another browser."""


class ConnectState:
    """Issues and checks OAuth ``state`` values; ``clock`` is injectable so expiry can be tested."""

    def __init__(self, secret_key: str, *, clock: Callable[[], float] = time.time) -> None:
        # Purpose-bound key: the same secret key also encrypts tokens (SecretBox) and must not sign with its raw form.
        self._key = hashlib.sha256(b"returnbridge/connect-state/v1\x00" + secret_key.encode("utf-8")).digest()
        self._clock = clock

    def issue(self) -> tuple[str, str]:
        """A new ``(state, nonce)``; the nonce goes into the browser's cookie."""
        nonce = secrets.token_urlsafe(18)
        payload = f"{nonce}.{int(self._clock())}"
        return f"{payload}.{self._sign(payload)}", nonce

    def verify(self, state: str, cookie_nonce: str | None) -> None:
        """Raise ``BadState`` with the reason unless ``state`` is ours, fresh, and started in this browser."""
        start_again = "Start again from “Connect a TikTok shop”."
        if not state:
            raise BadState(f"TikTok sent the seller back without a state. {start_again}")
        parts = state.split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            raise BadState(f"The state that came back from TikTok is not one this server issued. {start_again}")
        nonce, issued, signature = parts
        if not hmac.compare_digest(self._sign(f"{nonce}.{issued}").encode(), signature.encode("utf-8", "replace")):
            raise BadState(f"The state that came back from TikTok is not one this server issued. {start_again}")
        age = self._clock() - int(issued)
        if age > STATE_TTL_SECONDS or age < -60:
            raise BadState(f"This connection link expired (links are valid for 30 minutes). {start_again}")
        if not cookie_nonce or not hmac.compare_digest(nonce.encode(), cookie_nonce.encode("utf-8", "replace")):
            raise BadState(
                "This connection was started in another browser, or was already completed here. "
                f"{start_again}"
            )

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()


def connect_router(runtime: Runtime, *, clock: Callable[[], float] = time.time) -> APIRouter:
    states = ConnectState(runtime.settings.resolved_secret_key(), clock=clock)
    router = APIRouter(tags=["accounts"])

    # Starting is for admins only; the callback stays public (TikTok's redirect) and is guarded by the state.
    @router.get(START_PATH, response_class=RedirectResponse, status_code=302, summary="Connect a TikTok shop",
                dependencies=[Depends(require_role(Role.ADMIN))])
    def start_connection(request: Request) -> Response:
        """Send the merchant to TikTok's consent page with a fresh state."""
        state, nonce = states.issue()
        try:
            url = runtime.tiktok.authorization_url(state)
        except (UserFacingError, ValueError) as missing:
            return _page(request, 503, "TikTok is not configured", f"<p>{escape(str(missing))}</p>")
        response = RedirectResponse(url, status_code=302)
        # Secure whenever the browser is on HTTPS, like every other cookie, including behind a trusted TLS proxy.
        response.set_cookie(
            COOKIE_NAME, nonce, max_age=STATE_TTL_SECONDS, path=COOKIE_PATH, httponly=True, samesite="lax",
            secure=is_https(request, runtime.settings),
        )
        return response

    @router.get(CALLBACK_PATH, response_class=HTMLResponse, summary="TikTok's redirect after consent")
    def finish_connection(
        request: Request, code: str = "", state: str = "", error: str = ""
    ) -> Response:
        """Check the state, exchange the code, store one account per authorized shop, and list them."""
        if error or not code or code == "null":
            reason = "the seller cancelled the authorization" if error == "auth_denied" else (
                f"TikTok reported {error!r}" if error else "no authorization code came back"
            )
            return _page(request, 400, "No shop was connected", f"<p>{escape(reason.capitalize())}. "
                         f"<a href=\"{START_PATH}\">Try again</a>.</p>")
        try:
            states.verify(state, request.cookies.get(COOKIE_NAME))
        except BadState as bad:
            return _page(request, 400, "This link cannot be used", _retry(str(bad)))
        try:
            shops = connect_with_auth_code(runtime, code)
        except AuthorizationFailed as refused:
            response = _page(request, 400, "TikTok refused the authorization", _retry(str(refused)))
        except TikTokUnreachable as failure:
            response = _page(request, 502, "TikTok did not answer", _retry(str(failure)))
        else:
            response = _page(request, 200, "TikTok shop connected" if len(shops) == 1 else "TikTok shops connected",
                             _connected(shops))
        # A state is spent once it has been checked, whatever TikTok answered: a failed attempt starts again from
        # "Connect a TikTok shop", so no state is ever accepted twice.
        response.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, httponly=True, samesite="lax",
                               secure=is_https(request, runtime.settings))
        return response

    return router


def _retry(message: str) -> str:
    return f'<p>{escape(message)}</p><p><a href="{START_PATH}">Connect a TikTok shop</a></p>'


def _connected(shops: list[ConnectedShop]) -> str:
    rows = "".join(
        "<tr>"
        f"<td>{escape(shop.shop_name or shop.shop_id)}</td>"
        f"<td><code>{escape(shop.shop_id)}</code></td>"
        f"<td>{escape(shop.region)}</td>"
        f"<td>{'reconnected' if shop.reconnected else 'connected'}</td>"
        "</tr>"
        for shop in shops
    )
    warning = ""
    missing = sorted({scope for shop in shops for scope in shop.missing_scopes})
    if missing:
        warning = (
            "<p class=\"warning\">The seller did not grant " + ", ".join(f"<code>{escape(s)}</code>" for s in missing)
            + "; some features will fail until the shop is authorized again with them.</p>"
        )
    for shop in shops:
        if shop.webhook_problem:
            warning += (f"<p class=\"warning\">{escape(shop.webhook_problem)}. Changes of this shop will arrive by "
                        "the regular poll until this is fixed.</p>")
    seller = escape(shops[0].seller_name) if shops and shops[0].seller_name else "the seller"
    return (
        f"<p>ReturnBridge can now read returns, refunds and cancellations of {seller}'s shops below; "
        "the first sync starts shortly.</p>"
        "<table><thead><tr><th>Shop</th><th>Shop id</th><th>Region</th><th></th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{warning}"
    )


def _page(request: Request, status: int, title: str, body: str) -> HTMLResponse:
    # ``body`` is built above with every outside value passed through ``escape``.
    return render(request, "message.html", {"title": title, "body": Markup(body)}, status_code=status)
