"""Authentication on every page and API route. ``tests/web/test_route_protection.py`` sends every route of the
route table an anonymous request; these add what it does not prove: that the route table is complete, that every
protected route depends on a sign-in guard (so the refusal cannot come from the route body by luck), and how API
routes treat bearer tokens (unknown, revoked, of a disabled user, valid) and pages treat them (not at all)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import update

from returnbridge.db.engine import transaction
from returnbridge.db.models import User
from returnbridge.domain.roles import Role
from returnbridge.sync.runtime import Runtime
from returnbridge.users.api_tokens import revoke_token, token_holder
from returnbridge.web.auth import current_user
from returnbridge.web.auth.guards import __name__ as GUARDS_MODULE
from returnbridge.web.route_table import route_table

from .people import person, with_bearer
from .routes import protected_actions


def guards_of(route: APIRoute) -> list[str]:
    found: list[str] = []

    def walk(dependant: object) -> None:
        for sub in getattr(dependant, "dependencies", []):
            call = sub.call
            if call is current_user or (getattr(call, "__module__", "") == GUARDS_MODULE
                                        and getattr(call, "__name__", "").startswith("require_")):
                found.append(call.__name__)
            walk(sub)

    walk(route.dependant)
    return found


def test_every_protected_route_depends_on_a_sign_in_guard(app: FastAPI) -> None:
    routes = {entry.path: entry.route for entry in route_table(app)}
    unguarded = sorted({action.path for action in protected_actions(app)
                        if not isinstance(routes[action.path], APIRoute) or not guards_of(routes[action.path])})
    assert unguarded == []
    assert len(protected_actions(app)) >= 60


def test_the_route_table_holds_every_route_of_the_api_description(app: FastAPI) -> None:
    # Two independent listings of the app: FastAPI's OpenAPI document and our route table walk.
    described = {(method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item}
    listed = {(method, entry.path) for entry in route_table(app) for method in entry.methods}
    assert described and described <= listed


@pytest.mark.parametrize("token", ["rb_unknown0000000000000000000000", "not-even-our-format", ""])
def test_every_api_route_refuses_a_token_that_is_not_ours(app: FastAPI, client: TestClient, token: str) -> None:
    api = [action for action in protected_actions(app) if action.is_api]
    assert len(api) >= 15
    for action in api:
        response = with_bearer(client, token, action)
        assert response.status_code == 401, (action, response.status_code)
        if token:
            assert "not valid" in response.json()["detail"], action


def test_every_api_route_refuses_a_revoked_token(app: FastAPI, client: TestClient, runtime: Runtime) -> None:
    admin = person(runtime, Role.ADMIN)
    with transaction(runtime.sessions) as session:
        holder = token_holder(session, admin.bearer)
        assert holder is not None
        revoke_token(session, admin.user_id, holder.token_id)
    for action in (action for action in protected_actions(app) if action.is_api):
        assert with_bearer(client, admin.bearer, action).status_code == 401, action


def test_every_api_route_refuses_the_token_of_a_disabled_user(
    app: FastAPI, client: TestClient, runtime: Runtime,
) -> None:
    admin = person(runtime, Role.ADMIN)
    with transaction(runtime.sessions) as session:
        session.execute(update(User).where(User.id == admin.user_id).values(active=False))
    for action in (action for action in protected_actions(app) if action.is_api):
        assert with_bearer(client, admin.bearer, action).status_code == 401, action


def test_every_api_route_lets_a_valid_token_through_the_sign_in_check(
    app: FastAPI, client: TestClient, runtime: Runtime,
) -> None:
    admin = person(runtime, Role.ADMIN)
    for action in (action for action in protected_actions(app) if action.is_api):
        response = with_bearer(client, admin.bearer, action)
        assert response.status_code not in (401, 403), (action, response.status_code, response.text[:200])
        assert response.status_code < 500, (action, response.text[:300])


def test_a_bearer_token_opens_no_page(app: FastAPI, client: TestClient, runtime: Runtime) -> None:
    # Pages are for browsers with a session; a token stands for its user on /api/ only.
    admin = person(runtime, Role.ADMIN)
    pages = [action for action in protected_actions(app) if not action.is_api]
    assert len(pages) >= 40
    for action in pages:
        response = with_bearer(client, admin.bearer, action)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), action
