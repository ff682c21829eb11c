"""``/users`` (admins only): who can sign in, with which role; create, disable or enable, change role, and reset a
password. A generated password is shown once, on the page that created it, and never stored in clear."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from returnbridge.db.engine import transaction
from returnbridge.db.models import utcnow
from returnbridge.domain.roles import Role
from returnbridge.errors import UserFacingError
from returnbridge.sync.runtime import Runtime
from returnbridge.users.passwords import MIN_LENGTH, generate_password
from returnbridge.users.service import UserSummary, create_user, list_users, reset_password, set_active, set_role
from returnbridge.web.auth import SignedInUser, admin_only
from returnbridge.web.auth.client import is_https
from returnbridge.web.pages import render

T = TypeVar("T")


def team_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["users"], include_in_schema=False)

    async def in_transaction(work: Callable[..., T], *args: Any) -> T:
        def run() -> T:
            with transaction(runtime.sessions) as session:
                return work(session, *args)

        return await run_in_threadpool(run)

    async def page(request: Request, *, status_code: int = 200, **context: Any) -> Response:
        users = await in_transaction(list_users)
        values = {"users": users, "roles": list(Role), "error": "", "form": {"email": "", "role": "agent"},
                  "created": None, "min_length": MIN_LENGTH, "now": utcnow(), **context}
        return render(request, "users.html", values, status_code=status_code)

    def done(request: Request, message: str) -> Response:
        response = RedirectResponse("/users", status_code=303)
        request.app.state.flasher.add(request, response, message, secure=is_https(request, runtime.settings))
        return response

    @router.get("/users")
    async def show_users(request: Request, user: SignedInUser = Depends(admin_only)) -> Response:
        return await page(request)

    @router.post("/users")
    async def add_user(
        request: Request,
        email: str = Form(""),
        role: str = Form(""),
        password: str = Form(""),
        user: SignedInUser = Depends(admin_only),
    ) -> Response:
        generated = not password
        initial = password or generate_password()
        try:
            created = await in_transaction(create_user, email, role, initial)
        except UserFacingError as refused:
            return await page(request, status_code=400, error=_sentence(refused),
                              form={"email": email, "role": role})
        if generated:
            # Rendered rather than redirected: the generated password must not travel in a cookie or a URL.
            return await page(request, created={"email": created.email, "password": initial, "reset": False})
        return done(request, f"{created.email} can now sign in as {created.role.label.lower()}.")

    @router.post("/users/{user_id}/role")
    async def change_role(
        request: Request, user_id: int, role: str = Form(""), user: SignedInUser = Depends(admin_only)
    ) -> Response:
        return await _change(request, lambda: in_transaction(set_role, user_id, role),
                             lambda changed: f"{changed.email} is now {changed.role.label.lower()}.")

    @router.post("/users/{user_id}/active")
    async def change_active(
        request: Request, user_id: int, active: str = Form(""), user: SignedInUser = Depends(admin_only)
    ) -> Response:
        enable = active == "1"
        return await _change(
            request, lambda: in_transaction(set_active, user_id, enable),
            lambda changed: f"{changed.email} is {'enabled' if enable else 'disabled and signed out everywhere'}.",
        )

    @router.post("/users/{user_id}/password")
    async def new_password(request: Request, user_id: int, user: SignedInUser = Depends(admin_only)) -> Response:
        password = generate_password()
        try:
            changed = await in_transaction(reset_password, user_id, password)
        except UserFacingError as refused:
            return await page(request, status_code=400, error=_sentence(refused))
        return await page(request, created={"email": changed.email, "password": password, "reset": True})

    async def _change(request: Request, work: Callable[[], Any], message: Callable[[UserSummary], str]) -> Response:
        try:
            changed = await work()
        except UserFacingError as refused:
            return await page(request, status_code=400, error=_sentence(refused))
        return done(request, message(changed))

    return router


def _sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
