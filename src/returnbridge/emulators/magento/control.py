"""The ``/_emulator/`` control API: create installations and orders, invoice them, read back credit memos, comments
and stock movements, move a site's clock, expire tokens, inject faults, read the request log, reset."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from . import jsonio
from .faults import Fault
from .world import ControlError

if TYPE_CHECKING:
    from .app import EmulatorApp


def _reply(status: int, body: Any) -> Response:
    return Response(jsonio.dumps(body), status_code=status, media_type="application/json")


def handle(app: EmulatorApp) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            body = jsonio.loads(await request.body()) or {}
        except ValueError:
            return _reply(400, {"error": "the body is not JSON"})
        path = request.path_params["path"].strip("/")
        try:
            with app.world.lock:
                return _reply(200, _dispatch(app, request.method, path, body, dict(request.query_params)))
        except KeyError as missing:
            return _reply(404, {"error": f"not found: {missing}"})
        except (ControlError, ValueError, TypeError) as bad:
            return _reply(400, {"error": str(bad)})

    return endpoint


def _site_json(app: EmulatorApp, name: str) -> dict[str, Any]:
    site = app.world.site(name)
    prefix = "" if name == "default" else f"/stores/{name}"
    return {"name": name, "base_url": f"{app.base_url}{prefix}", "rest_url": f"{app.base_url}{prefix}/rest/default",
            "currency": site.currency, "sources": site.sources, "auto_return": site.auto_return,
            "token_lifetime": site.token_lifetime, "tokens_issued": site.tokens_issued}


def _dispatch(app: EmulatorApp, method: str, path: str, body: dict[str, Any], query: dict[str, str]) -> Any:
    world = app.world
    if (method, path) == ("GET", "health"):
        return {"ok": True}
    if (method, path) == ("POST", "reset"):
        world.reset()
        return {"reset": True}
    if path == "faults":
        if method == "GET":
            return {"faults": world.faults.scripted(), "injected": world.faults.injected}
        if method == "DELETE":
            return {"cleared": world.faults.clear()}
        count = int(body.pop("count", 1))
        world.faults.inject(Fault(**body), count)
        return {"faults": world.faults.scripted()}
    if (method, path) == ("GET", "requests"):
        rows = [r for r in world.requests if r["site"] == query.get("site", r["site"])]
        return {"requests": rows}
    if (method, path) == ("POST", "sites"):
        return _site_json(app, world.add_site(body).name)
    m = re.fullmatch(r"sites/([^/]+)(?:/(.*))?", path)
    if m is None:
        raise KeyError(path)
    site = world.site(m.group(1))
    rest = m.group(2) or ""
    if (method, rest) == ("GET", ""):
        return _site_json(app, site.name)
    if (method, rest) == ("POST", "orders"):
        specs = body.get("orders") if "orders" in body else [body]
        created = [world.create_order(site, spec) for spec in specs]
        return {"orders": [o.as_json() for o in created]} if "orders" in body else created[0].as_json()
    if (method, rest) == ("GET", "orders"):
        return {"orders": [o.as_json() for o in site.orders.values()]}
    om = re.fullmatch(r"orders/(\d+)(?:/(invoice|ship|state))?", rest)
    if om:
        order = site.orders[int(om.group(1))]
        action = om.group(2)
        if method == "POST" and action == "invoice":
            return world.invoice(site, order).as_json()
        if method == "POST" and action == "ship":
            world.ship(site, order, str(body.get("source_code") or site.sources[0]))
        elif method == "POST" and action == "state":
            order.state = order.status = str(body["state"])
        return order.as_json()
    if (method, rest) == ("GET", "creditmemos"):
        return {"creditmemos": [c.as_json(with_comments=True) for c in site.creditmemos.values()]}
    if (method, rest) == ("GET", "stock"):
        return {"source_items": [{"sku": sku, "source_code": source, "quantity": qty}
                                 for (sku, source), qty in sorted(site.stock.items())],
                "reservations": dict(site.reservations), "movements": [mv.as_json() for mv in site.movements]}
    if (method, rest) == ("POST", "clock"):
        site.clock_offset += float(body.get("advance_seconds") or 0)
        return {"now": site.now()}
    if (method, rest) == ("POST", "tokens/expire"):
        expired = len(site.admin_tokens)
        site.admin_tokens.clear()
        return {"expired": expired}
    if (method, rest) == ("POST", "settings"):
        for name in ("auto_return", "bearer_integration", "token_lifetime"):
            if name in body:
                setattr(site, name, type(getattr(site, name))(body[name]))
        return _site_json(app, site.name)
    raise KeyError(path)
