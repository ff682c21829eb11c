"""Password hashing with argon2id (argon2-cffi's current recommended parameters) and the password rules."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from returnbridge.errors import UserFacingError

MIN_LENGTH = 12
# Long enough for any passphrase; the cap keeps one request from making the server hash megabytes.
MAX_LENGTH = 1024

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a wrong address takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("returnbridge-timing-equaliser")


class WeakPassword(UserFacingError):
    """The new password breaks the rules; the message says which."""


def check_rules(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password must have at most {MAX_LENGTH} characters")
    if not password.strip():
        raise WeakPassword("the password cannot be only spaces")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; ``None`` (unknown user) still spends the time of one verification."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the stored hash was made with other parameters than today's (rehashed at the next sign-in)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def generate_password() -> str:
    # 20 URL-safe characters (120 bits): easy to paste, impossible to guess.
    return secrets.token_urlsafe(15)
