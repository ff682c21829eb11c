"""Back-office users and the record of sign-in attempts (the per-address limit is counted from it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from returnbridge.db.models import LoginAttempt, User, utcnow


def normalise_email(email: str) -> str:
    return email.strip().lower()


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, email: str, password_hash: str, role: str) -> User:
        user = User(email=normalise_email(email), password_hash=password_hash, role=role, active=True,
                    failed_logins=0)
        self.session.add(user)
        self.session.flush()
        return user

    def get(self, user_id: int, *, for_update: bool = False) -> User | None:
        stmt = select(User).where(User.id == user_id)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def by_email(self, email: str, *, for_update: bool = False) -> User | None:
        stmt = select(User).where(User.email == normalise_email(email))
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).first()

    def list_all(self) -> list[User]:
        return list(self.session.scalars(select(User).order_by(User.email)))

    def count_active_admins(self) -> int:
        stmt = select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True))
        return int(self.session.scalar(stmt) or 0)

    def record_failure(self, user_id: int, *, max_failures: int, locked_until: datetime) -> User | None:
        """Count one more failed sign-in in the row (atomically, so parallel guesses all count) and lock the
        account when the count reaches ``max_failures``; the count starts again after a lockout."""
        self.session.execute(
            update(User).where(User.id == user_id).values(failed_logins=User.failed_logins + 1)
        )
        user = self.get(user_id, for_update=True)
        if user is None:
            return None
        self.session.refresh(user)
        if user.failed_logins >= max_failures:
            user.locked_until = locked_until
            user.failed_logins = 0
            self.session.flush()
        return user

    def record_success(self, user: User, at: datetime) -> None:
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = at
        self.session.flush()


class LoginAttemptRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, ip: str, email: str, succeeded: bool, at: datetime | None = None) -> None:
        self.session.add(LoginAttempt(ip=ip, email=normalise_email(email)[:254], succeeded=succeeded,
                                      attempted_at=at or utcnow()))
        self.session.flush()

    def failures_since(self, ip: str, since: datetime) -> tuple[int, datetime | None]:
        """How many failed attempts came from ``ip`` since ``since``, and when the oldest of them was."""
        stmt = select(func.count(), func.min(LoginAttempt.attempted_at)).where(
            LoginAttempt.ip == ip, LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at >= since
        )
        count, oldest = self.session.execute(stmt).one()
        if oldest is not None and oldest.tzinfo is None:  # func.min loses the column type on SQLite
            from datetime import UTC

            oldest = oldest.replace(tzinfo=UTC)
        return int(count or 0), oldest

    def forget_before(self, before: datetime) -> int:
        """Drop attempts older than any window still counts, so the table stays small."""
        result = self.session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < before))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
