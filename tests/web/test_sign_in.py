"""Signing in through the form: sessions, argon2 hashes, lockout per account and per address (shared by every
web process through the database), safe redirects and cookie flags."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import User, WebSession
from returnbridge.sync.runtime import Runtime
from returnbridge.users.signin import WRONG_CREDENTIALS
from returnbridge.web.app import create_app

from .conftest import IP_MAX_FAILURES, MAX_FAILURES
from .signing_in import PASSWORD, add_user, csrf_token_in


def post_login(client: TestClient, email: str, password: str, next_path: str = "/", **headers: str):  # type: ignore[no-untyped-def]
    token = csrf_token_in(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token, "next": next_path},
                       headers=headers, follow_redirects=False)


def stored_user(runtime: Runtime, email: str) -> User:
    with transaction(runtime.sessions) as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        session.expunge(user)
        return user


def test_signing_in_opens_a_session_and_returns_to_the_page_asked_for(client: TestClient, runtime: Runtime) -> None:
    add_user(runtime, "ana@example.com", "agent")
    response = post_login(client, "Ana@Example.com", PASSWORD, "/account")
    assert response.status_code == 303 and response.headers["location"] == "/account"
    me = client.get("/api/me").json()
    assert (me["email"], me["role"]) == ("ana@example.com", "agent")
    with transaction(runtime.sessions) as session:
        [row] = session.scalars(select(WebSession)).all()
        token = client.cookies.get("rb_session")
        assert token and row.token_hash != token and len(row.token_hash) == 64  # only a SHA-256 is stored
    assert stored_user(runtime, "ana@example.com").last_login_at is not None


def test_a_wrong_password_says_so_without_telling_which_part_was_wrong(client: TestClient, runtime: Runtime) -> None:
    add_user(runtime, "ana@example.com", "agent")
    wrong_password = post_login(client, "ana@example.com", "not the password")
    unknown_email = post_login(client, "nobody@example.com", PASSWORD)
    for response in (wrong_password, unknown_email):
        assert response.status_code == 401
        assert WRONG_CREDENTIALS in response.text
    assert "rb_session" not in client.cookies


def test_an_account_locks_after_repeated_failures_and_shows_until_when(client: TestClient, runtime: Runtime) -> None:
    add_user(runtime, "ana@example.com", "agent")
    for _ in range(MAX_FAILURES - 1):
        assert post_login(client, "ana@example.com", "guess guess guess").status_code == 401
    locking = post_login(client, "ana@example.com", "guess guess guess")
    assert locking.status_code == 429 and "now locked" in locking.text and "UTC (in 15 minutes)" in locking.text
    # Even the right password is refused while the lock lasts.
    refused = post_login(client, "ana@example.com", PASSWORD)
    assert refused.status_code == 429 and "This account is locked" in refused.text
    assert stored_user(runtime, "ana@example.com").locked_until is not None


def test_failures_from_one_address_are_limited_across_web_processes_sharing_the_database(
    make_runtime: Callable[..., Runtime],
) -> None:
    first, second = make_runtime(), make_runtime()
    add_user(first, "ana@example.com", "agent")
    with TestClient(create_app(first, on_webhook=lambda _id: None)) as one, \
            TestClient(create_app(second, on_webhook=lambda _id: None)) as two:
        # Different (unknown) accounts each time, so no account lock is involved: only the address counts.
        for attempt in range(IP_MAX_FAILURES):
            client = one if attempt % 2 else two
            assert post_login(client, f"guess{attempt}@example.com", "whatever whatever").status_code == 401
        blocked = post_login(one, "ana@example.com", PASSWORD)
        assert blocked.status_code == 429 and "from your network" in blocked.text
        assert post_login(two, "ana@example.com", PASSWORD).status_code == 429


def test_passwords_are_stored_as_argon2id_and_rehashed_when_the_parameters_change(
    client: TestClient, runtime: Runtime,
) -> None:
    add_user(runtime, "ana@example.com", "agent")
    assert stored_user(runtime, "ana@example.com").password_hash.startswith("$argon2id$")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with transaction(runtime.sessions) as session:
        session.scalars(select(User)).one().password_hash = weak
    assert post_login(client, "ana@example.com", PASSWORD).status_code == 303
    upgraded = stored_user(runtime, "ana@example.com").password_hash
    assert upgraded != weak and upgraded.startswith("$argon2id$") and "m=8192" not in upgraded


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "http:/x",
                                    "javascript:alert(1)"])
def test_sign_in_never_redirects_to_another_site(client: TestClient, runtime: Runtime, target: str) -> None:
    add_user(runtime, "ana@example.com", "agent")
    response = post_login(client, "ana@example.com", PASSWORD, target)
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_a_disabled_user_cannot_sign_in(client: TestClient, runtime: Runtime) -> None:
    add_user(runtime, "admin@example.com", "admin")
    add_user(runtime, "ana@example.com", "agent")
    with transaction(runtime.sessions) as session:
        session.scalars(select(User).where(User.email == "ana@example.com")).one().active = False
    response = post_login(client, "ana@example.com", PASSWORD)
    assert response.status_code == 403 and "disabled" in response.text


def test_the_sign_in_form_without_its_token_is_refused(client: TestClient, runtime: Runtime) -> None:
    add_user(runtime, "ana@example.com", "agent")
    client.get("/login")
    response = client.post("/login", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": "forged"},
                           follow_redirects=False)
    assert response.status_code == 400 and "expired" in response.text
    assert "rb_session" not in client.cookies


def test_session_cookie_is_httponly_and_samesite_lax_and_not_secure_over_plain_http(
    client: TestClient, runtime: Runtime,
) -> None:
    add_user(runtime, "ana@example.com", "agent")
    cookie = post_login(client, "ana@example.com", PASSWORD).headers["set-cookie"].lower()
    assert "rb_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie.split("rb_session=")[1].split(",")[0]


def test_session_cookie_is_secure_when_the_public_url_is_https(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(public_url="https://returns.example.com")
    add_user(runtime, "ana@example.com", "agent")
    with TestClient(create_app(runtime, on_webhook=lambda _id: None), base_url="https://returns.example.com") as client:
        response = post_login(client, "ana@example.com", PASSWORD)
    session_cookie = response.headers["set-cookie"].lower().split("rb_session=")[1].split(",")[0]
    assert "secure" in session_cookie and "httponly" in session_cookie
    assert response.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.parametrize(("trusted", "secure"), [(True, True), (False, False)])
def test_forwarded_proto_marks_cookies_secure_only_when_the_proxy_is_trusted(
    make_runtime: Callable[..., Runtime], trusted: bool, secure: bool,
) -> None:
    runtime = make_runtime(trust_proxy_headers=trusted)
    add_user(runtime, "ana@example.com", "agent")
    with TestClient(create_app(runtime, on_webhook=lambda _id: None)) as client:
        response = post_login(client, "ana@example.com", PASSWORD, **{"X-Forwarded-Proto": "https"})
    session_cookie = response.headers["set-cookie"].lower().split("rb_session=")[1].split(",")[0]
    assert ("secure" in session_cookie) is secure


def test_signing_out_ends_the_session_in_the_database(client: TestClient, runtime: Runtime, app: FastAPI) -> None:
    add_user(runtime, "ana@example.com", "agent")
    post_login(client, "ana@example.com", PASSWORD)
    token = csrf_token_in(client.get("/account").text)
    old_cookie = client.cookies.get("rb_session")
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(WebSession)).all() == []
    client.cookies.set("rb_session", old_cookie or "")
    assert client.get("/api/me").status_code == 401  # the old cookie is worthless now
