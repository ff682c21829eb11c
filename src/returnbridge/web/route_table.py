"""Every route of the app with its full path, whichever way it was registered.

Since FastAPI 0.13x ``app.routes`` keeps an included router as one entry (``_IncludedRouter``) instead of copying
its routes in, so walking ``app.routes`` alone misses most pages; ``iter_route_contexts`` expands them.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.routing import BaseRoute
from starlette.types import ASGIApp

try:
    from fastapi.routing import iter_route_contexts
except ImportError:  # older FastAPI copied included routes into app.routes
    iter_route_contexts = None


@dataclass(frozen=True)
class RouteEntry:
    path: str
    methods: frozenset[str]  # empty for a mount
    route: BaseRoute


def route_table(app: ASGIApp) -> list[RouteEntry]:
    routes = list(app.routes)  # type: ignore[attr-defined]
    contexts = iter_route_contexts(routes) if iter_route_contexts is not None else routes
    return [
        RouteEntry(str(getattr(entry, "path", "") or ""), frozenset(getattr(entry, "methods", None) or ()),
                   getattr(entry, "original_route", entry))
        for entry in contexts
    ]
