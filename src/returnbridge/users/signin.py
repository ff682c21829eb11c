"""Signing in with an e-mail and a password, with two limits against guessing:

- per account: ``login_max_failures`` wrong passwords in a row lock it for ``login_lockout_minutes``;
- per network address: ``login_ip_max_failures`` failed attempts within ``login_lockout_minutes`` block the
  address for the rest of that window, whatever accounts it tries.

Both are counted in the database, so they hold across every web process sharing it. The argon2 verification runs
outside any transaction: on SQLite a transaction holds the write lock, which the webhook intake must not wait for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from returnbridge.config import Settings
from returnbridge.db.engine import transaction
from returnbridge.db.models import utcnow
from returnbridge.db.repositories.users import LoginAttemptRepository, UserRepository
from returnbridge.domain.roles import Role
from returnbridge.users.passwords import hash_password, needs_rehash, verify_password

WRONG_CREDENTIALS = "Wrong e-mail or password."


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    email: str
    role: Role


class SignInRefused(Exception):
    """Why a sign-in failed, in words for the person at the form; ``status_code`` for the page."""

    def __init__(self, message: str, status_code: int = 401, until: datetime | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.until = until


def sign_in(sessions: sessionmaker[Session], settings: Settings, email: str, password: str, ip: str,
            *, now: datetime | None = None) -> SignedIn:
    now = now or utcnow()
    window = timedelta(minutes=settings.login_lockout_minutes)
    with transaction(sessions) as session:
        failures, oldest = LoginAttemptRepository(session).failures_since(ip, now - window)
        if failures >= settings.login_ip_max_failures and oldest is not None:
            until = oldest + window
            raise SignInRefused(
                f"Too many failed sign-ins from your network. Try again after {_when(until, now)}.", 429, until
            )
        user = UserRepository(session).by_email(email)
        if user is not None and user.locked_until is not None and user.locked_until > now:
            until = user.locked_until
            raise SignInRefused(
                f"This account is locked after {settings.login_max_failures} failed sign-ins. "
                f"Try again after {_when(until, now)}, or ask an admin to reset the password.", 429, until,
            )
        stored = (user.id, user.password_hash, user.active) if user is not None else None

    matches = verify_password(stored[1] if stored else None, password)

    # The refusal is raised after the commit: raising inside ``transaction`` would roll back the very failure
    # being counted.
    refusal: SignInRefused | None = None
    with transaction(sessions) as session:
        attempts = LoginAttemptRepository(session)
        users = UserRepository(session)
        attempts.add(ip, email, succeeded=matches, at=now)
        user = users.get(stored[0], for_update=True) if stored is not None else None
        if user is None:
            refusal = SignInRefused(WRONG_CREDENTIALS)
        elif not matches:
            users.record_failure(user.id, max_failures=settings.login_max_failures, locked_until=now + window)
            if user.locked_until is not None and user.locked_until > now:
                refusal = SignInRefused(
                    f"{WRONG_CREDENTIALS} The account is now locked after {settings.login_max_failures} failed "
                    f"sign-ins. Try again after {_when(user.locked_until, now)}.", 429, user.locked_until,
                )
            else:
                refusal = SignInRefused(WRONG_CREDENTIALS)
        elif not user.active:
            refusal = SignInRefused("This account is disabled. Ask an admin to enable it.", 403)
        else:
            if needs_rehash(user.password_hash):
                # The parameters were raised since this password was set: upgrade the hash while we have it.
                user.password_hash = hash_password(password)
            users.record_success(user, now)
            attempts.forget_before(now - window - timedelta(days=1))
            result = SignedIn(user.id, user.email, Role(user.role))
    if refusal is not None:
        raise refusal
    return result


def _when(until: datetime, now: datetime) -> str:
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    return f"{until:%H:%M} UTC (in {minutes} minute{'s' if minutes != 1 else ''})"
