"""``/notifications`` (admins): digest settings (SMTP, chat webhook, schedule, threshold), "Send test", and the log of
every attempt so a failure to notify is visible."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from returnbridge.sync import notifications
from returnbridge.sync.runtime import Runtime
from returnbridge.web.auth import SignedInUser, admin_only
from returnbridge.web.auth.client import is_https
from returnbridge.web.pages import render


def notifications_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def page(request: Request, *, status_code: int = 200, **context: Any) -> Response:
        values = {
            "settings": await run_in_threadpool(notifications.read_settings, runtime),
            "entries": await run_in_threadpool(notifications.recent_log, runtime),
            "error": "", **context,
        }
        return render(request, "notifications.html", values, status_code=status_code)

    def back(request: Request, message: str, kind: str = "success") -> Response:
        response = RedirectResponse("/notifications", status_code=303)
        request.app.state.flasher.add(request, response, message, kind,
                                      secure=is_https(request, runtime.settings))
        return response

    @router.get("/notifications")
    async def show(request: Request, user: SignedInUser = Depends(admin_only)) -> Response:
        return await page(request)

    @router.post("/notifications")
    async def save(request: Request, user: SignedInUser = Depends(admin_only)) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        try:
            await run_in_threadpool(notifications.save_settings, runtime, form)
        except notifications.InvalidNotificationSettings as invalid:
            return await page(request, status_code=400, error=str(invalid))
        return back(request, "Notification settings saved.")

    @router.post("/notifications/test")
    async def test(request: Request, user: SignedInUser = Depends(admin_only)) -> Response:
        results = await run_in_threadpool(notifications.send_test, runtime)
        failed = [r for r in results if not r.ok]
        if failed:
            return back(request, "Test not delivered: " + "; ".join(f"{r.channel}: {r.detail}" for r in failed),
                        "error")
        return back(request, "Test sent by " + " and ".join(r.channel for r in results) + ".")

    return router
