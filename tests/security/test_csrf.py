"""CSRF on every form and every cookie-authenticated write: each POST/PUT/PATCH/DELETE route, sent by a signed-in
admin's browser without the session's token or with a wrong one, is refused with 403 before the route runs; and
every POST form of the templates carries the token."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from returnbridge.domain.roles import Role
from returnbridge.sync.runtime import Runtime
from returnbridge.web.auth import SESSION_COOKIE
from returnbridge.web.pages import TEMPLATES_DIR

from .people import as_browser, person
from .routes import protected_actions

EXPIRED = "This form has expired or did not come from ReturnBridge"


@pytest.mark.parametrize("token", [None, "", "not-the-sessions-token"])
def test_every_page_write_without_the_sessions_token_is_refused(
    app: FastAPI, client: TestClient, runtime: Runtime, token: str | None,
) -> None:
    admin = person(runtime, Role.ADMIN)
    writes = [action for action in protected_actions(app) if action.changes_state and not action.is_api]
    assert len(writes) >= 25
    for action in writes:
        response = as_browser(client, runtime, admin, action, csrf=token)
        assert response.status_code == 403 and EXPIRED in response.text, (action, response.status_code)


@pytest.mark.parametrize("header", [None, "not-the-sessions-token"])
def test_every_api_write_from_a_browser_session_needs_the_csrf_header(
    app: FastAPI, client: TestClient, runtime: Runtime, header: str | None,
) -> None:
    admin = person(runtime, Role.ADMIN)
    writes = [action for action in protected_actions(app) if action.changes_state and action.is_api]
    assert len(writes) >= 8
    for action in writes:
        cookie, _ = admin.session(runtime)
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, cookie)
        response = client.request(action.method, action.url, json={},
                                  headers={"X-CSRF-Token": header} if header is not None else {})
        assert response.status_code == 403 and EXPIRED in response.json()["detail"], (action, response.status_code)


def test_the_session_token_in_the_header_is_accepted_for_a_json_write(client: TestClient, runtime: Runtime) -> None:
    # The counterpart of the refusals above: the same request with the right header passes the check.
    cookie, token = person(runtime, Role.AGENT).session(runtime)
    client.cookies.set(SESSION_COOKIE, cookie)
    response = client.post("/api/v1/cases/999999/notes", json={"text": "hello"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 404


def test_every_post_form_in_the_templates_carries_the_csrf_token() -> None:
    forms = []
    for template in sorted(TEMPLATES_DIR.glob("*.html")):
        html = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<form\b[^>]*>(.*?)</form>", html, re.DOTALL | re.IGNORECASE):
            opening = match.group(0)[: match.group(0).index(">") + 1].lower()
            if 'method="post"' in opening:
                forms.append((template.name, match.group(1)))
    assert len(forms) >= 25
    missing = [name for name, body in forms if '{% include "csrf.html" %}' not in body]
    assert missing == []
