"""``/settings``: the app-wide choices stored in the database (tab labels, sync interval, records fetch).

Everyone signed in can read them (the navigation shows the page to every role); only admins can change them.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from returnbridge.db.engine import transaction
from returnbridge.domain.roles import Role
from returnbridge.sync import app_settings
from returnbridge.sync.app_settings import AppSettings, InvalidSettings
from returnbridge.sync.runtime import Runtime
from returnbridge.web.auth import SignedInUser, admin_only, current_user
from returnbridge.web.auth.client import is_https
from returnbridge.web.pages import render

FIELDS = (app_settings.TAB_LABELS, app_settings.SYNC_INTERVAL, app_settings.FETCH_RECORDS)


def settings_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["settings"], include_in_schema=False)

    def load() -> AppSettings:
        with transaction(runtime.sessions) as session:
            return app_settings.load(session, runtime.settings)

    def save(form: dict[str, str], by: str) -> AppSettings:
        with transaction(runtime.sessions) as session:
            return app_settings.save(session, form, by=by)

    def page(request: Request, user: SignedInUser, form: dict[str, str], errors: dict[str, str],
             status_code: int = 200) -> Response:
        return render(request, "settings.html", {
            "form": form, "errors": errors, "label_sets": app_settings.label_set_choices(),
            "can_change": user.can(Role.ADMIN), "env_interval": runtime.settings.sync_interval_minutes,
            "max_interval": app_settings.MAX_INTERVAL_MINUTES,
        }, status_code=status_code)

    @router.get("/settings")
    async def show(request: Request, user: SignedInUser = Depends(current_user)) -> Response:
        current = await run_in_threadpool(load)
        form = {
            app_settings.TAB_LABELS: current.tab_labels.value,
            app_settings.SYNC_INTERVAL: str(current.sync_interval_minutes),
            app_settings.FETCH_RECORDS: "1" if current.fetch_records else "",
        }
        return page(request, user, form, {})

    @router.post("/settings")
    async def change(request: Request, user: SignedInUser = Depends(admin_only)) -> Response:
        submitted = await request.form()
        form = {name: str(submitted.get(name, "")) for name in FIELDS}
        try:
            await run_in_threadpool(save, form, user.email)
        except InvalidSettings as invalid:
            return page(request, user, form, invalid.errors, status_code=400)
        response = RedirectResponse("/settings", status_code=303)
        request.app.state.flasher.add(request, response, "Settings saved.",
                                      secure=is_https(request, runtime.settings))
        return response

    return router
