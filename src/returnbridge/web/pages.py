"""Rendering back-office pages: one Jinja2 environment (autoescape on), one layout, one ``render`` function.

Every page extends ``base.html`` and fills ``{% block title %}`` and ``{% block content %}``. ``render`` adds
``user`` (a ``SignedInUser`` or None), ``csrf_token``, ``flashes`` and ``nav`` to the context; forms include
``{% include "csrf.html" %}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from returnbridge import __version__
from returnbridge.domain.roles import Role
from returnbridge.web.route_table import route_table

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

# autoescape=True for every template, whatever its extension: all text is escaped unless marked safe in code.
environment = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    minimum: Role


# The main navigation. An item shows only once a page is registered at its path (so a route added by another
# part of the app appears by itself) and only to roles allowed to open it.
NAVIGATION: tuple[NavItem, ...] = (
    NavItem("Returns & refunds", "/returns", Role.VIEWER),
    NavItem("Analytics", "/analytics", Role.VIEWER),
    NavItem("Reconciliation", "/reconciliation", Role.VIEWER),
    NavItem("Rules", "/rules", Role.ADMIN),
    NavItem("Connections", "/connections", Role.VIEWER),
    NavItem("Settings", "/settings", Role.VIEWER),
    NavItem("Notifications", "/notifications", Role.ADMIN),
    NavItem("Users", "/users", Role.ADMIN),
)


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200, csrf_token: str | None = None) -> HTMLResponse:
    """The page ``template`` in the layout. ``csrf_token`` overrides the session's (only the sign-in page,
    which has no session yet, needs that)."""
    user = getattr(request.state, "user", None)
    response = HTMLResponse("", status_code=status_code)
    flasher = getattr(request.app.state, "flasher", None)
    values: dict[str, Any] = {
        "request": request,
        "user": user,
        "csrf_token": csrf_token if csrf_token is not None else (user.csrf_token if user else ""),
        "flashes": flasher.take(request, response) if flasher is not None else [],
        "nav": _navigation(request, user),
        "current_path": request.url.path,
        "version": __version__,
        **(context or {}),
    }
    response.body = environment.get_template(template).render(values).encode("utf-8")
    response.headers["content-length"] = str(len(response.body))
    # Pages show private data: never keep them in a shared or back/forward cache after sign-out.
    response.headers["cache-control"] = "no-store"
    return response


def _navigation(request: Request, user: Any) -> list[NavItem]:
    if user is None:
        return []
    pages = {entry.path for entry in route_table(request.app) if "GET" in entry.methods}
    return [item for item in NAVIGATION if item.path in pages and user.can(item.minimum)]
