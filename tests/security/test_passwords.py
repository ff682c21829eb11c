"""Passwords are hashed with argon2id, at no weaker parameters than argon2-cffi's recommended ones, whichever way
they are set (an admin creates a user, an admin resets a password, a user changes their own); the clear password is
in no column of the user's row. (Rehashing weaker stored hashes at sign-in: ``tests/web/test_sign_in.py``.)"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

from returnbridge.db.engine import transaction
from returnbridge.db.models import User
from returnbridge.sync.runtime import Runtime

from ..web.signing_in import PASSWORD, add_user, csrf_token_in, sign_in_as

RECOMMENDED = PasswordHasher()


def stored(runtime: Runtime, email: str) -> User:
    with transaction(runtime.sessions) as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        session.expunge(user)
        return user


def assert_argon2id(user: User, password: str) -> None:
    match = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+",
                         user.password_hash)
    assert match, user.password_hash
    memory, time_cost, parallelism = map(int, match.groups())
    assert memory >= RECOMMENDED.memory_cost and time_cost >= RECOMMENDED.time_cost
    assert parallelism >= 1
    assert RECOMMENDED.verify(user.password_hash, password)
    row = {column.name: getattr(user, column.key) for column in User.__table__.columns}  # type: ignore[attr-defined]
    assert not [name for name, value in row.items() if isinstance(value, str) and password in value]


def generated_password(html: str) -> str:
    match = re.search(r"<code[^>]*>([A-Za-z0-9_-]{20})</code>", html)
    assert match, "the generated password is not on the page"
    return match.group(1)


def test_a_user_made_by_the_service_gets_an_argon2id_hash(runtime: Runtime) -> None:
    add_user(runtime, "ana@example.com", "agent", password=PASSWORD)
    assert_argon2id(stored(runtime, "ana@example.com"), PASSWORD)


def test_a_user_an_admin_creates_on_the_page_gets_an_argon2id_hash(client: TestClient, runtime: Runtime) -> None:
    admin = sign_in_as(client, runtime, "admin")
    chosen = "a chosen passphrase for bo"
    created = client.post("/users", data={"email": "bo@example.com", "role": "viewer", "password": chosen,
                                          "csrf_token": admin.csrf_token})
    assert created.status_code == 200
    assert_argon2id(stored(runtime, "bo@example.com"), chosen)


def test_a_password_an_admin_resets_gets_an_argon2id_hash(client: TestClient, runtime: Runtime) -> None:
    admin = sign_in_as(client, runtime, "admin")
    bo = add_user(runtime, "bo@example.com", "viewer")
    page = client.post(f"/users/{bo.id}/password", data={"csrf_token": admin.csrf_token})
    assert page.status_code == 200
    assert_argon2id(stored(runtime, "bo@example.com"), generated_password(page.text))


def test_a_password_a_user_changes_gets_an_argon2id_hash(client: TestClient, runtime: Runtime) -> None:
    me = sign_in_as(client, runtime, "viewer")
    new = "my own new passphrase 42"
    token = csrf_token_in(client.get("/account").text)
    assert token == me.csrf_token
    changed = client.post("/account/password", data={"current_password": PASSWORD, "new_password": new,
                                                     "confirm_password": new, "csrf_token": token})
    assert changed.status_code == 200
    assert_argon2id(stored(runtime, me.email), new)
