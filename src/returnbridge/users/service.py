"""Managing back-office users: create, list, change role, disable/enable, reset or change a password.

Every function takes the SQLAlchemy session of the caller's transaction and never commits (the request or the CLI
command does, once). Signing a user out everywhere is part of disabling them and of every password change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from returnbridge.db.models import User
from returnbridge.db.repositories.users import UserRepository, normalise_email
from returnbridge.db.repositories.web_sessions import WebSessionRepository
from returnbridge.domain.roles import Role, parse_role
from returnbridge.errors import UserFacingError
from returnbridge.users.passwords import check_rules, hash_password, verify_password

# Deliberately loose: one @, something on both sides, a dot in the domain. The address is a login name here,
# not a mailbox we send to, so stricter rules would only refuse real addresses.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserError(UserFacingError):
    """A user-management request that cannot be done (unknown user, duplicate e-mail, last admin, ...)."""


@dataclass(frozen=True)
class UserSummary:
    id: int
    email: str
    role: Role
    active: bool
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None


def summary(user: User) -> UserSummary:
    return UserSummary(user.id, user.email, Role(user.role), user.active, user.locked_until, user.created_at,
                       user.last_login_at)


def create_user(session: Session, email: str, role: Role | str, password: str) -> UserSummary:
    email = normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 254:
        raise UserError(f"{email!r} is not an e-mail address")
    role = _role(role)
    check_rules(password)
    users = UserRepository(session)
    if users.by_email(email) is not None:
        raise UserError(f"a user with the e-mail {email} already exists")
    return summary(users.add(email, hash_password(password), role.value))


def list_users(session: Session) -> list[UserSummary]:
    return [summary(user) for user in UserRepository(session).list_all()]


def find_user(session: Session, who: str | int) -> User:
    """A user by id or e-mail; ``UserError`` if there is none."""
    users = UserRepository(session)
    user = users.get(who, for_update=True) if isinstance(who, int) else users.by_email(who, for_update=True)
    if user is None:
        raise UserError(f"no user {who!r}")
    return user


def set_role(session: Session, who: str | int, role: Role | str) -> UserSummary:
    user = find_user(session, who)
    role = _role(role)
    if user.role == Role.ADMIN and role != Role.ADMIN and user.active:
        _keep_an_admin(session, f"{user.email} is the last active admin; make another user admin first")
    user.role = role.value
    session.flush()
    return summary(user)


def set_active(session: Session, who: str | int, active: bool) -> UserSummary:
    user = find_user(session, who)
    if not active and user.active:
        if user.role == Role.ADMIN:
            _keep_an_admin(session, f"{user.email} is the last active admin; make another user admin first")
        WebSessionRepository(session).remove_for_user(user.id)
    user.active = active
    session.flush()
    return summary(user)


def reset_password(session: Session, who: str | int, password: str) -> UserSummary:
    """An admin sets a new password: the lockout is lifted and every session of the user ends."""
    user = find_user(session, who)
    check_rules(password)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    WebSessionRepository(session).remove_for_user(user.id)
    session.flush()
    return summary(user)


def change_own_password(session: Session, user_id: int, current: str, new: str, confirm: str, *,
                        keep_session: int | None) -> None:
    """The signed-in user changes their password; their other sessions (other browsers) are signed out."""
    user = find_user(session, user_id)
    if not verify_password(user.password_hash, current):
        raise UserError("the current password is not right")
    if new != confirm:
        raise UserError("the new password and its confirmation differ")
    if new == current:
        raise UserError("the new password must differ from the current one")
    check_rules(new)
    user.password_hash = hash_password(new)
    WebSessionRepository(session).remove_for_user(user.id, keep=keep_session)
    session.flush()


def _role(role: Role | str) -> Role:
    try:
        return role if isinstance(role, Role) else parse_role(role)
    except ValueError as bad:
        raise UserError(str(bad)) from None


def _keep_an_admin(session: Session, message: str) -> None:
    # Nobody could manage users any more (except from the CLI); refuse rather than lock the shop out of its own app.
    if UserRepository(session).count_active_admins() <= 1:
        raise UserError(message)
