"""CSRF on every write (form field or X-CSRF-Token header), security headers on every response, escaped text."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import User
from returnbridge.sync.runtime import Runtime
from returnbridge.web.auth.headers import CONTENT_SECURITY_POLICY

from .signing_in import add_user, csrf_token_in, sign_in_as

NEW_USER = {"email": "new@example.com", "role": "viewer", "password": ""}


def emails(runtime: Runtime) -> set[str]:
    with transaction(runtime.sessions) as session:
        return set(session.scalars(select(User.email)))


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_a_form_without_the_right_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, runtime: Runtime, token: str | None,
) -> None:
    sign_in_as(client, runtime, "admin")
    data = NEW_USER if token is None else {**NEW_USER, "csrf_token": token}
    response = client.post("/users", data=data)
    assert response.status_code == 403 and "expired" in response.text
    assert "new@example.com" not in emails(runtime)


def test_a_form_with_the_session_token_is_accepted(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, "admin")
    token = csrf_token_in(client.get("/users").text)
    assert client.post("/users", data={**NEW_USER, "csrf_token": token}).status_code == 200
    assert "new@example.com" in emails(runtime)


def test_another_sessions_token_is_refused(client: TestClient, runtime: Runtime) -> None:
    other = sign_in_as(client, runtime, "viewer")
    sign_in_as(client, runtime, "admin")
    response = client.post("/users", data={**NEW_USER, "csrf_token": other.csrf_token})
    assert response.status_code == 403


def test_json_writes_need_the_csrf_header(client: TestClient, runtime: Runtime) -> None:
    user = sign_in_as(client, runtime, "agent")
    assert client.post("/logout", json={}, follow_redirects=False).status_code == 403
    assert client.post("/logout", headers={"X-CSRF-Token": "nope"}, follow_redirects=False).status_code == 403
    accepted = client.post("/logout", headers={"X-CSRF-Token": user.csrf_token}, follow_redirects=False)
    assert accepted.status_code == 303


def test_the_page_carries_the_csrf_token_for_scripts(client: TestClient, runtime: Runtime) -> None:
    user = sign_in_as(client, runtime, "viewer")
    assert f'<meta name="csrf-token" content="{user.csrf_token}">' in client.get("/account").text


@pytest.mark.parametrize("path", ["/login", "/healthz", "/static/app.js", "/account", "/api/me"])
def test_security_headers_are_on_every_response(client: TestClient, runtime: Runtime, path: str) -> None:
    sign_in_as(client, runtime, "viewer")
    headers = client.get(path, follow_redirects=False).headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in headers  # plain-HTTP setup: HSTS would lock it out


def test_pages_have_no_inline_script_or_style(client: TestClient, runtime: Runtime) -> None:
    pages = [client.get("/login").text]
    sign_in_as(client, runtime, "admin")
    pages += [client.get(path).text for path in ("/account", "/users")]
    for html in map(str.lower, pages):
        assert "</html>" in html
        assert "<style" not in html and " style=" not in html and " onclick=" not in html
        assert "<script>" not in html and "<script src=" in html


def test_private_pages_are_not_cached(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, "viewer")
    assert client.get("/account").headers["cache-control"] == "no-store"


def test_hostile_text_is_escaped(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, "admin")
    add_user(runtime, "<script>alert(1)</script>@evil.example", "viewer")
    html = client.get("/users").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;@evil.example" in html
