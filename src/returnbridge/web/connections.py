"""``/connections``: the TikTok shops ReturnBridge works for and how their sync is doing (the health panel).

Every signed-in user may look (an agent or viewer asked "why is this case stale?" needs the answer); agents and
admins may sync a shop now; only admins connect, reconnect or disconnect shops.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from returnbridge.db.engine import transaction
from returnbridge.domain.roles import Role
from returnbridge.sync.accounts import AccountNotFound, disconnect_account
from returnbridge.sync.connections import ShopConnection, shop_connections
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.sync_runs import recent_runs
from returnbridge.web.auth import SignedInUser, admin_only, current_user
from returnbridge.web.auth.client import is_https
from returnbridge.web.connect import START_PATH
from returnbridge.web.moments import ago, duration, when
from returnbridge.web.pages import render


def connections_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["connections"], include_in_schema=False)

    def read() -> tuple[list[ShopConnection], datetime]:
        now = datetime.now(UTC)
        with transaction(runtime.sessions) as session:
            return shop_connections(session, now=now), now

    @router.get("/connections")
    async def show(request: Request, user: SignedInUser = Depends(current_user)) -> Response:
        shops, now = await run_in_threadpool(read)
        runs = await run_in_threadpool(recent_runs, runtime, 5)
        return render(request, "connections.html", {
            "shops": shops, "now": now, "runs": runs, "connect_path": START_PATH,
            "is_admin": user.can(Role.ADMIN), "can_sync": user.can(Role.AGENT),
            "any_active": any(shop.status == "active" for shop in shops),
            "when": when, "ago": ago, "duration": duration,
        })

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
