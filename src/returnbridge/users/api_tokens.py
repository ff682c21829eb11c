"""Personal API tokens: issue (the token is shown once), list, revoke, and recognise one on a request.

A token is ``rb_`` followed by 43 random URL-safe characters (256 bits). Only its SHA-256 is stored, so neither a
database copy nor a backup can be used to call the API; the first characters are kept to tell tokens apart.
A token acts as its user with the user's *current* role: demoting or disabling the user applies to it at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from returnbridge.db.models import ApiToken, utcnow
from returnbridge.db.repositories.api_tokens import ApiTokenRepository
from returnbridge.db.repositories.users import UserRepository
from returnbridge.domain.roles import Role
from returnbridge.errors import UserFacingError

TOKEN_PREFIX = "rb_"
PREFIX_SHOWN = 10  # "rb_" and 7 random characters: enough to tell a user's tokens apart, useless to guess with
MAX_NAME = 100
# last_used_at is a hint for the owner, not an audit log: writing it on every request would make every API read a
# database write (and on SQLite take the write lock).
_TOUCH_EVERY = timedelta(minutes=1)


class ApiTokenError(UserFacingError):
    """A token request that cannot be done (no name, unknown user, not your token)."""


@dataclass(frozen=True)
class ApiTokenSummary:
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class TokenHolder:
    """Who a valid bearer token belongs to."""

    token_id: int
    user_id: int
    email: str
    role: Role


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _summary(row: ApiToken) -> ApiTokenSummary:
    return ApiTokenSummary(row.id, row.name, row.prefix, row.created_at, row.last_used_at, row.revoked_at)


def issue_token(session: Session, user_id: int, name: str, *, now: datetime | None = None
                ) -> tuple[str, ApiTokenSummary]:
    """A new token for the user; the clear token is returned here and never again."""
    name = " ".join(name.split())
    if not name:
        raise ApiTokenError("give the token a name, such as the script or service that will use it")
    if len(name) > MAX_NAME:
        raise ApiTokenError(f"the token name is {len(name)} characters; at most {MAX_NAME}")
    user = UserRepository(session).get(user_id)
    if user is None:
        raise ApiTokenError(f"user {user_id} does not exist")
    if not user.active:
        raise ApiTokenError(f"{user.email} is disabled and cannot have API tokens")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiTokenRepository(session).add(user_id=user_id, name=name, token_hash=hash_token(token),
                                          prefix=token[:PREFIX_SHOWN], now=now or utcnow())
    return token, _summary(row)


def list_tokens(session: Session, user_id: int) -> list[ApiTokenSummary]:
    return [_summary(row) for row in ApiTokenRepository(session).for_user(user_id)]


def revoke_token(session: Session, user_id: int, token_id: int, *, now: datetime | None = None) -> None:
    if not ApiTokenRepository(session).revoke(token_id=token_id, user_id=user_id, now=now or utcnow()):
        raise ApiTokenError("that token is not one of yours, or it is already revoked")


def token_holder(session: Session, token: str, *, now: datetime | None = None) -> TokenHolder | None:
    """The user a bearer token stands for, or None when it is unknown, revoked, or its user is disabled."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    found = ApiTokenRepository(session).find(hash_token(token))
    if found is None:
        return None
    row, user = found
    if row.revoked_at is not None or not user.active:
        return None
    now = now or utcnow()
    if row.last_used_at is None or now - row.last_used_at >= _TOUCH_EVERY:
        row.last_used_at = now
    return TokenHolder(row.id, user.id, user.email, Role(user.role))
