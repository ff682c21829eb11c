"""``/account``: the signed-in user's own page, where they change their password."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from returnbridge.db.engine import transaction
from returnbridge.errors import UserFacingError
from returnbridge.sync.runtime import Runtime
from returnbridge.users.passwords import MIN_LENGTH
from returnbridge.users.service import change_own_password
from returnbridge.web.auth import SignedInUser, current_user
from returnbridge.web.auth.client import is_https
from returnbridge.web.pages import render


def account_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["account"], include_in_schema=False)

    @router.get("/account")
    def show_account(request: Request, user: SignedInUser = Depends(current_user)) -> Response:
        return render(request, "account.html", {"error": "", "min_length": MIN_LENGTH})

    @router.post("/account/password")
    async def change_password(
        request: Request,
        current_password: str = Form(""),
        new_password: str = Form(""),
        confirm_password: str = Form(""),
        user: SignedInUser = Depends(current_user),
    ) -> Response:
        def change() -> None:
            with transaction(runtime.sessions) as session:
                change_own_password(session, user.id, current_password, new_password, confirm_password,
                                    keep_session=user.session_id)

        try:
            await run_in_threadpool(change)
        except UserFacingError as refused:
            message = str(refused)
            return render(request, "account.html", {"error": message[:1].upper() + message[1:] + ".",
                                                    "min_length": MIN_LENGTH}, status_code=400)
        response = RedirectResponse("/account", status_code=303)
        request.app.state.flasher.add(request, response, "Your password is changed. Other browsers signed in as "
                                      "you were signed out.", secure=is_https(request, runtime.settings))
        return response

    return router
