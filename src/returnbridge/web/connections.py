"""``/connections``: the TikTok shops ReturnBridge works for and how their sync is doing (the health panel), and
the stores it mirrors into (``web.stores``).

Every signed-in user may look (an agent or viewer asked "why is this case stale?" needs the answer); agents and
admins may sync a shop now, retry a held store effect or mirror a store now; only admins connect, reconnect or
disconnect shops, add stores and change their settings.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from returnbridge.db.engine import transaction
from returnbridge.domain.roles import Role
from returnbridge.sync import stores as store_service
from returnbridge.sync.accounts import AccountNotFound, disconnect_account
from returnbridge.sync.connections import ShopConnection, shop_connections
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.sync_runs import recent_runs
from returnbridge.web import stores as stores_page
from returnbridge.web.auth import SignedInUser, admin_only, can_decide, current_user
from returnbridge.web.auth.client import is_https
from returnbridge.web.connect import START_PATH
from returnbridge.web.moments import ago, duration, when
from returnbridge.web.pages import render

log = logging.getLogger(__name__)


def connections_router(runtime: Runtime, mirror_runner: stores_page.MirrorRunner | None = None) -> APIRouter:
    router = APIRouter(tags=["connections"], include_in_schema=False)
    mirrors = mirror_runner or stores_page.MirrorRunner(runtime)

    def read() -> tuple[list[ShopConnection], datetime]:
        now = datetime.now(UTC)
        with transaction(runtime.sessions) as session:
            return shop_connections(session, now=now), now

    async def page(request: Request, user: SignedInUser, *, status_code: int = 200,
                   add_form: dict[str, str] | None = None, add_error: str = "",
                   submitted: dict[int, tuple[dict[str, str], dict[str, str]]] | None = None,
                   page_error: str = "") -> Response:
        shops, now = await run_in_threadpool(read)
        runs = await run_in_threadpool(recent_runs, runtime, 5)
        stores = await run_in_threadpool(lambda: stores_page.store_cards(runtime, submitted=submitted))
        return render(request, "connections.html", {
            "shops": shops, "now": now, "runs": runs, "connect_path": START_PATH,
            "is_admin": user.can(Role.ADMIN), "can_sync": user.can(Role.AGENT),
            "any_active": any(shop.status == "active" for shop in shops),
            "when": when, "ago": ago, "duration": duration,
            "stores": stores, "add_form": add_form or {}, "add_error": add_error, "page_error": page_error,
            "state_labels": stores_page.STATE_LABELS, "mirroring_choices": stores_page.MIRRORING_CHOICES,
            "location_choices": stores_page.LOCATION_CHOICES, "trigger_choices": stores_page.TRIGGER_CHOICES,
            "lookup_choices": stores_page.LOOKUP_CHOICES,
        }, status_code=status_code)

    def back(request: Request, text: str, *, anchor: str = "stores", kind: str = "success") -> Response:
        response = RedirectResponse(f"/connections#{anchor}", status_code=303)
        request.app.state.flasher.add(request, response, text, kind,
                                      secure=is_https(request, runtime.settings))
        return response

    @router.get("/connections")
    async def show(request: Request, user: SignedInUser = Depends(current_user)) -> Response:
        return await page(request, user)

    @router.post("/connections/stores")
    async def add_store(request: Request, user: SignedInUser = Depends(admin_only)) -> Response:
        submitted = await request.form()
        form = {name: str(submitted.get(name, "")).strip() for name in stores_page.ADD_FIELDS}
        token = str(submitted.get("access_token", ""))
        try:
            form["domain"] = stores_page.check_domain(form["domain"])
            store = await run_in_threadpool(
                lambda: store_service.add_shopify_store(runtime, domain=form["domain"], access_token=token,
                                                        name=form["name"])
            )
        except store_service.StoreServiceError as refused:
            # Shown with the domain and name as typed; the token field comes back empty on purpose.
            return await page(request, user, status_code=400, add_form=form, add_error=str(refused))
        log.info("store %s (%s) added by %s", store.id, store.base_url, user.email)
        return back(request, f"Store {store.name} added. Mirroring is off until you turn it on in its settings.",
                    anchor=f"store-{store.id}")

    @router.post("/connections/stores/{store_id}/settings")
    async def change_settings(request: Request, store_id: int, user: SignedInUser = Depends(admin_only)) -> Response:
        submitted = await request.form()
        form = {name: str(value) for name, value in submitted.items() if name != "csrf_token"}
        try:
            current = await run_in_threadpool(store_service.get_store, runtime, store_id)
            changes = stores_page.parse_settings_form(form, current.settings)
            store, planned = await run_in_threadpool(store_service.update_store_settings, runtime, store_id, changes)
        except stores_page.InvalidStoreForm as invalid:
            return await page(request, user, status_code=400, submitted={store_id: (form, invalid.errors)})
        except store_service.StoreServiceError as refused:
            return await page(request, user, status_code=refused.http_status if refused.http_status == 404 else 400,
                              page_error=str(refused))
        log.info("settings of store %s changed by %s", store_id, user.email)
        text = f"Settings of {store.name} saved."
        if planned:
            text += f" {planned} store effect{'s' if planned != 1 else ''} planned for existing cases."
        return back(request, text, anchor=f"store-{store_id}")

    @router.post("/connections/stores/{store_id}/mirror")
    async def mirror_now(request: Request, store_id: int, _user: SignedInUser = Depends(can_decide)) -> Response:
        try:
            store = await run_in_threadpool(store_service.get_store, runtime, store_id)
        except store_service.StoreNotFound as missing:
            return render(request, "error.html", {"title": "No such store", "message": str(missing)},
                          status_code=404)
        await run_in_threadpool(mirrors.start, store_id)
        return back(request, f"Mirroring {store.name} now: due effects are performed in the background.",
                    anchor=f"store-{store_id}")

    @router.post("/connections/stores/effects/{effect_id}/retry")
    async def retry(request: Request, effect_id: int, user: SignedInUser = Depends(can_decide)) -> Response:
        try:
            effect = await run_in_threadpool(
                lambda: store_service.retry_effect(runtime, effect_id, actor_name=user.email)
            )
        except store_service.StoreServiceError as refused:
            return back(request, str(refused), kind="error")
        return back(request, f"The {effect.kind} of case {effect.case_id} is queued again; the next mirror run "
                    "performs it.", anchor=f"store-{effect.store_id}")

    @router.post("/connections/{account_id}/disconnect")
    async def disconnect(request: Request, account_id: int, user: SignedInUser = Depends(admin_only)) -> Response:
        try:
            summary = await run_in_threadpool(
                disconnect_account, runtime, str(account_id), reason=f"Disconnected by {user.email}"
            )
        except AccountNotFound as missing:
            return render(request, "error.html", {"title": "No such shop", "message": str(missing)},
                          status_code=404)
        response = RedirectResponse("/connections", status_code=303)
        request.app.state.flasher.add(
            request, response,
            f"{summary.shop_name or summary.shop_id} is disconnected: it is no longer synced. "
            "Reconnect it to sync it again.",
            secure=is_https(request, runtime.settings),
        )
        return response

    return router
