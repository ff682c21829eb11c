"""Login rate limiting and lockout, beyond ``tests/web/test_sign_in.py`` (an account locks after repeated failures
and refuses even the right password; one address is limited across web processes): the limits cannot be dodged by
changing the e-mail's case or by forging ``X-Forwarded-For``, and a lockout ends when its time is up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from returnbridge.db.models import utcnow
from returnbridge.sync.runtime import Runtime
from returnbridge.users.signin import SignInRefused, sign_in
from returnbridge.web.app import create_app

from ..web.conftest import IP_MAX_FAILURES, MAX_FAILURES
from ..web.signing_in import PASSWORD, add_user, csrf_token_in

WRONG = "not the password at all"


def post_login(client: TestClient, email: str, password: str, **headers: str) -> int:
    token = csrf_token_in(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       headers=headers, follow_redirects=False).status_code


def test_changing_the_emails_case_does_not_reset_the_accounts_count(client: TestClient, runtime: Runtime) -> None:
    add_user(runtime, "ana@example.com", "agent")
    spellings = ["ana@example.com", "ANA@example.com", "Ana@Example.com", " ana@example.com "]
    for attempt in range(MAX_FAILURES):
        post_login(client, spellings[attempt % len(spellings)], WRONG)
    assert post_login(client, "ana@example.com", PASSWORD) == 429


def test_a_forged_forwarded_for_does_not_escape_the_address_limit(client: TestClient, runtime: Runtime) -> None:
    # No trusted proxy (the default): X-Forwarded-For is whatever the client wrote, so it must not count.
    add_user(runtime, "ana@example.com", "agent")
    for attempt in range(IP_MAX_FAILURES):
        post_login(client, f"guess{attempt}@example.com", WRONG, **{"X-Forwarded-For": f"203.0.113.{attempt}"})
    assert post_login(client, "ana@example.com", PASSWORD, **{"X-Forwarded-For": "198.51.100.7"}) == 429


def test_behind_a_trusted_proxy_only_the_hop_the_proxy_added_counts(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(trust_proxy_headers=True)
    add_user(runtime, "ana@example.com", "agent")
    with TestClient(create_app(runtime, on_webhook=lambda _id: None)) as client:
        for attempt in range(IP_MAX_FAILURES):
            # The client makes up a first hop each time; the proxy appends the real address last.
            forwarded = f"203.0.113.{attempt}, 192.0.2.10"
            post_login(client, f"guess{attempt}@example.com", WRONG, **{"X-Forwarded-For": forwarded})
        assert post_login(client, "ana@example.com", PASSWORD, **{"X-Forwarded-For": "1.2.3.4, 192.0.2.10"}) == 429
        # Another real address is not blocked by 192.0.2.10's failures.
        assert post_login(client, "ana@example.com", PASSWORD, **{"X-Forwarded-For": "192.0.2.11"}) == 303


def test_an_account_lockout_ends_when_its_time_is_up(runtime: Runtime) -> None:
    add_user(runtime, "ana@example.com", "agent")
    start = utcnow()
    for attempt in range(MAX_FAILURES):
        with pytest.raises(SignInRefused):
            sign_in(runtime.sessions, runtime.settings, "ana@example.com", WRONG, f"192.0.2.{attempt}", now=start)
    with pytest.raises(SignInRefused) as locked:
        sign_in(runtime.sessions, runtime.settings, "ana@example.com", PASSWORD, "192.0.2.99",
                now=start + timedelta(minutes=14))
    assert locked.value.status_code == 429
    later = start + timedelta(minutes=runtime.settings.login_lockout_minutes, seconds=1)
    assert sign_in(runtime.sessions, runtime.settings, "ana@example.com", PASSWORD, "192.0.2.99", now=later).email \
        == "ana@example.com"
