"""Roles: admin (everything), agent (decide cases), viewer (read only); the users page and starting a TikTok
connection are for admins; the last admin cannot be removed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import User, WebSession
from returnbridge.sync.runtime import Runtime

from .signing_in import PASSWORD, add_user, csrf_token_in, sign_in_as


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_only_admins_open_the_users_page(client: TestClient, runtime: Runtime, role: str) -> None:
    sign_in_as(client, runtime, role)
    response = client.get("/users")
    assert response.status_code == 403
    assert "needs the admin role" in response.text and f"signed in as {role}" in response.text


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_only_admins_change_users_even_with_a_valid_csrf_token(
    client: TestClient, runtime: Runtime, role: str,
) -> None:
    user = sign_in_as(client, runtime, role)
    response = client.post(f"/users/{user.id}/role", data={"role": "admin", "csrf_token": user.csrf_token})
    assert response.status_code == 403
    with transaction(runtime.sessions) as session:
        assert session.get(User, user.id).role == role  # type: ignore[union-attr]


def test_only_admins_start_a_tiktok_connection(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, "agent")
    assert client.get("/connect/tiktok", follow_redirects=False).status_code == 403


def test_admins_see_the_users_link_and_others_do_not(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, "viewer")
    assert 'href="/users"' not in client.get("/account").text
    sign_in_as(client, runtime, "admin")
    assert 'href="/users"' in client.get("/account").text


def test_an_admin_creates_a_user_with_a_generated_password_shown_once(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, "admin")
    token = csrf_token_in(client.get("/users").text)
    page = client.post("/users", data={"email": "New@Example.com", "role": "agent", "password": "",
                                       "csrf_token": token})
    assert page.status_code == 200 and "shown only this once" in page.text
    with transaction(runtime.sessions) as session:
        created = session.scalars(select(User).where(User.email == "new@example.com")).one()
        assert created.role == "agent" and created.password_hash.startswith("$argon2id$")
    assert "shown only this once" not in client.get("/users").text


def test_a_duplicate_email_is_refused_with_a_message(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, "admin")
    token = csrf_token_in(client.get("/users").text)
    response = client.post("/users", data={"email": "ADMIN@example.com", "role": "viewer", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 400 and "already exists" in response.text


def test_disabling_a_user_signs_them_out_everywhere(client: TestClient, runtime: Runtime) -> None:
    with TestClient(client.app) as other_browser:
        victim = sign_in_as(other_browser, runtime, "agent")
        admin = sign_in_as(client, runtime, "admin")
        response = client.post(f"/users/{victim.id}/active", data={"active": "0", "csrf_token": admin.csrf_token},
                               follow_redirects=False)
        assert response.status_code == 303
        assert other_browser.get("/api/me").status_code == 401
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(WebSession).where(WebSession.user_id == victim.id)).all() == []


def test_the_last_admin_cannot_demote_or_disable_themselves(client: TestClient, runtime: Runtime) -> None:
    admin = sign_in_as(client, runtime, "admin")
    for path, data in ((f"/users/{admin.id}/role", {"role": "viewer"}), (f"/users/{admin.id}/active", {"active": "0"})):
        response = client.post(path, data={**data, "csrf_token": admin.csrf_token})
        assert response.status_code == 400 and "last active admin" in response.text
    add_user(runtime, "second@example.com", "admin")
    response = client.post(f"/users/{admin.id}/role", data={"role": "viewer", "csrf_token": admin.csrf_token},
                           follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/users").status_code == 403  # the role change applies at once


def test_changing_your_own_password_keeps_this_session_and_ends_the_others(
    client: TestClient, runtime: Runtime,
) -> None:
    with TestClient(client.app) as other_browser:
        me = sign_in_as(client, runtime, "viewer")
        from returnbridge.web.auth import SESSION_COOKIE, SessionStore

        other_browser.cookies.set(SESSION_COOKIE, SessionStore(runtime.sessions, runtime.settings).start(
            me.id, ip="127.0.0.1", user_agent="phone"))
        new = "a brand new passphrase"
        wrong = client.post("/account/password", data={"current_password": "nope", "new_password": new,
                                                       "confirm_password": new, "csrf_token": me.csrf_token})
        assert wrong.status_code == 400 and "current password is not right" in wrong.text
        response = client.post("/account/password", data={
            "current_password": PASSWORD, "new_password": new, "confirm_password": new, "csrf_token": me.csrf_token,
        })
        assert response.status_code == 200 and "Your password is changed" in response.text
        assert client.get("/api/me").status_code == 200
        assert other_browser.get("/api/me").status_code == 401
