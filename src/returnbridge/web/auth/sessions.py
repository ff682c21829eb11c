"""Browser sessions: a random token in an HttpOnly cookie, its SHA-256 in ``web_sessions``.

Expiry slides: each use moves it ``session_idle_minutes`` ahead (written at most once a minute, to spare the
database a write per page), but never past ``session_max_hours`` after sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from returnbridge.config import Settings
from returnbridge.db.engine import transaction
from returnbridge.db.models import utcnow
from returnbridge.db.repositories.web_sessions import WebSessionRepository
from returnbridge.domain.roles import Role

SESSION_COOKIE = "rb_session"
_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class SignedInUser:
    """The person behind a request: what templates show and role checks read."""

    id: int
    email: str
    role: Role
    session_id: int  # 0 when signed in by an API token
    csrf_token: str
    api_token_id: int | None = None  # set when the request carried a personal API token instead of a cookie

    def can(self, minimum: Role | str) -> bool:
        return self.role.allows(Role(minimum))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_token(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode("utf-8", "replace"))


class SessionStore:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self._sessions = sessions
        self._idle = timedelta(minutes=settings.session_idle_minutes)
        self._max = timedelta(hours=settings.session_max_hours)

    @property
    def max_age_seconds(self) -> int:
        return int(self._max.total_seconds())

    def start(self, user_id: int, *, ip: str, user_agent: str, now: datetime | None = None) -> str:
        """A new session for ``user_id``; returns the token for the cookie (shown nowhere else)."""
        now = now or utcnow()
        token = secrets.token_urlsafe(32)
        with transaction(self._sessions) as session:
            repo = WebSessionRepository(session)
            repo.add(token_hash=token_hash(token), user_id=user_id, csrf_secret=secrets.token_urlsafe(32), now=now,
                     expires_at=min(now + self._idle, now + self._max), ip=ip, user_agent=user_agent)
            repo.remove_expired(now)  # housekeeping, once per sign-in
        return token

    def find(self, token: str, *, now: datetime | None = None) -> SignedInUser | None:
        """The signed-in user for a cookie token, or None if it is unknown, expired, or the user is disabled."""
        now = now or utcnow()
        with transaction(self._sessions) as session:
            repo = WebSessionRepository(session)
            found = repo.find(token_hash(token))
            if found is None:
                return None
            row, user = found
            if row.expires_at <= now or not user.active:
                repo.remove(row.id)
                return None
            if now - row.last_seen_at >= _TOUCH_EVERY:
                row.last_seen_at = now
                row.expires_at = min(now + self._idle, row.created_at + self._max)
            return SignedInUser(user.id, user.email, Role(user.role), row.id, row.csrf_secret)

    def end(self, session_id: int) -> None:
        with transaction(self._sessions) as session:
            WebSessionRepository(session).remove(session_id)
