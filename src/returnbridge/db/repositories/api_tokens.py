"""Personal API tokens. Like web sessions, only the SHA-256 of a token is stored and looked up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from returnbridge.db.models import ApiToken, User


class ApiTokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *, user_id: int, name: str, token_hash: str, prefix: str, now: datetime) -> ApiToken:
        row = ApiToken(user_id=user_id, name=name, token_hash=token_hash, prefix=prefix, created_at=now)
        self.session.add(row)
        self.session.flush()
        return row

    def find(self, token_hash: str) -> tuple[ApiToken, User] | None:
        stmt = select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == token_hash)
        found = self.session.execute(stmt).first()
        return (found[0], found[1]) if found is not None else None

    def for_user(self, user_id: int) -> list[ApiToken]:
        stmt = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc(), ApiToken.id)
        return list(self.session.scalars(stmt))

    def revoke(self, *, token_id: int, user_id: int, now: datetime) -> bool:
        """Revoke one of the user's own tokens; False when it is not theirs or already revoked."""
        stmt = (
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return bool(self.session.execute(stmt).rowcount)  # type: ignore[attr-defined]
