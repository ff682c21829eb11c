"""``Authorization: Bearer rb_...`` on ``/api/`` requests: a personal API token standing for its user.

Bearer requests need no CSRF token: a browser never adds an ``Authorization`` header to a request another site
makes it send, which is exactly the forgery CSRF tokens stop for cookies.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from returnbridge.db.engine import transaction
from returnbridge.users.api_tokens import token_holder
from returnbridge.web.auth.sessions import SignedInUser


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None when there is no such header."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


class ApiTokenStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def find(self, token: str) -> SignedInUser | None:
        with transaction(self._sessions) as session:
            holder = token_holder(session, token)
        if holder is None:
            return None
        return SignedInUser(holder.user_id, holder.email, holder.role, session_id=0, csrf_token="",
                            api_token_id=holder.token_id)
