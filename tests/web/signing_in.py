"""Helpers for tests that need a signed-in browser: a user in the database and a session cookie for it.

``sign_in_as`` opens the session directly (no argon2 round, no form), so tests about something else stay fast;
the sign-in form itself is tested in ``test_sign_in.py`` and in the browser tests. ``add_user`` stores a hash made
once per password and process: an argon2id hash at the recommended parameters costs a quarter of a second of CPU,
and a few hundred tests add users. Creating users through the product (rules, hashing) is tested on its own, in
``test_users_cli.py``, ``test_roles.py`` and ``tests/security/test_passwords.py``.
"""

from __future__ import annotations

import functools
import re

import httpx

from returnbridge.db.engine import transaction
from returnbridge.db.repositories.users import UserRepository
from returnbridge.domain.roles import Role
from returnbridge.sync.runtime import Runtime
from returnbridge.users.passwords import check_rules, hash_password
from returnbridge.users.service import UserSummary, summary
from returnbridge.web.auth import SESSION_COOKIE, SessionStore, SignedInUser

PASSWORD = "correct horse battery staple"


@functools.cache
def password_hash_of(password: str) -> str:
    """A real argon2id hash of ``password`` (it signs in through the form), made once per test process."""
    return hash_password(password)


def add_user(runtime: Runtime, email: str, role: Role | str = Role.ADMIN, password: str = PASSWORD) -> UserSummary:
    check_rules(password)  # a user no one could create through the product is no fixture for a test
    with transaction(runtime.sessions) as session:
        return summary(UserRepository(session).add(email, password_hash_of(password), Role(role).value))


def sign_in_as(client: httpx.Client, runtime: Runtime, role: Role | str = Role.ADMIN,
               email: str | None = None) -> SignedInUser:
    """Create a user with ``role`` and put a session cookie for them into ``client``."""
    user = add_user(runtime, email or f"{Role(role).value}@example.com", role)
    store = SessionStore(runtime.sessions, runtime.settings)
    token = store.start(user.id, ip="127.0.0.1", user_agent="tests")
    client.cookies.set(SESSION_COOKIE, token)
    found = store.find(token)
    assert found is not None
    return found


def csrf_token_in(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)
