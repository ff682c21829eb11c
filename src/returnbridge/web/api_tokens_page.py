"""``/account/tokens``: the signed-in user's personal API tokens: create one (shown once), list, revoke.

A token acts as its owner with the owner's role, so every role may have them (a viewer's token only reads)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from returnbridge.db.engine import transaction
from returnbridge.errors import UserFacingError
from returnbridge.sync.runtime import Runtime
from returnbridge.users.api_tokens import MAX_NAME, issue_token, list_tokens, revoke_token
from returnbridge.web.auth import SignedInUser, current_user
from returnbridge.web.auth.client import is_https
from returnbridge.web.pages import render

T = TypeVar("T")


def api_tokens_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["account"], include_in_schema=False)

    async def in_transaction(work: Callable[..., T], *args: Any) -> T:
        def run() -> T:
            with transaction(runtime.sessions) as session:
                return work(session, *args)

        return await run_in_threadpool(run)

    async def page(request: Request, user: SignedInUser, *, status_code: int = 200, **context: Any) -> Response:
        tokens = await in_transaction(list_tokens, user.id)
        values = {"tokens": tokens, "created": None, "error": "", "name": "", "max_name": MAX_NAME, **context}
        return render(request, "api_tokens.html", values, status_code=status_code)

    @router.get("/account/tokens")
    async def show_tokens(request: Request, user: SignedInUser = Depends(current_user)) -> Response:
        return await page(request, user)

    @router.post("/account/tokens")
    async def create_token(request: Request, name: str = Form(""),
                           user: SignedInUser = Depends(current_user)) -> Response:
        try:
            token, summary = await in_transaction(issue_token, user.id, name)
        except UserFacingError as refused:
            return await page(request, user, status_code=400, error=_sentence(refused), name=name)
        # Rendered, not redirected: the token must not travel in a cookie or a URL.
        return await page(request, user, created={"token": token, "name": summary.name})

    @router.post("/account/tokens/{token_id}/revoke")
    async def revoke(request: Request, token_id: int, user: SignedInUser = Depends(current_user)) -> Response:
        try:
            await in_transaction(revoke_token, user.id, token_id)
        except UserFacingError as refused:
            return await page(request, user, status_code=400, error=_sentence(refused))
        response = RedirectResponse("/account/tokens", status_code=303)
        request.app.state.flasher.add(request, response, "The token is revoked: it no longer works.",
                                      secure=is_https(request, runtime.settings))
        return response

    return router


def _sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
