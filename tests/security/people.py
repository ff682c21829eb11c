"""Signed-in people for the checklist tests: a session cookie with its CSRF token, and a personal API token."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from fastapi.testclient import TestClient

from returnbridge.db.engine import transaction
from returnbridge.domain.roles import Role
from returnbridge.sync.runtime import Runtime
from returnbridge.users.api_tokens import issue_token
from returnbridge.web.auth import SESSION_COOKIE, SessionStore

from ..web.signing_in import add_user
from .routes import Action


@dataclass(frozen=True)
class Person:
    user_id: int
    role: Role
    bearer: str

    def session(self, runtime: Runtime) -> tuple[str, str]:
        """A new browser session: (cookie token, its CSRF token). New each time, so signing out ends only one."""
        store = SessionStore(runtime.sessions, runtime.settings)
        token = store.start(self.user_id, ip="127.0.0.1", user_agent="checklist")
        found = store.find(token)
        assert found is not None
        return token, found.csrf_token


def person(runtime: Runtime, role: Role) -> Person:
    user = add_user(runtime, f"{role.value}-checklist@example.com", role)
    with transaction(runtime.sessions) as session:
        bearer, _ = issue_token(session, user.id, "checklist")
    return Person(user.id, role, bearer)


def as_browser(client: TestClient, runtime: Runtime, who: Person, action: Action, *,
               csrf: str | None = "session") -> httpx.Response:
    """``action`` from a signed-in browser: the session cookie and, on writes, the form's ``csrf_token`` field
    (``csrf="session"`` the right one, ``None`` none, anything else that value)."""
    cookie, token = who.session(runtime)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    data = None
    if action.changes_state:
        given = token if csrf == "session" else csrf
        data = {"csrf_token": given} if given is not None else {"field": "value"}
    try:
        return client.request(action.method, action.url, data=data, follow_redirects=False)
    finally:
        client.cookies.clear()


def with_bearer(client: TestClient, token: str, action: Action) -> httpx.Response:
    """``action`` from a script: ``Authorization: Bearer`` and no cookie."""
    client.cookies.clear()
    return client.request(action.method, action.url, headers={"Authorization": f"Bearer {token}"},
                          json={} if action.changes_state else None, follow_redirects=False)
