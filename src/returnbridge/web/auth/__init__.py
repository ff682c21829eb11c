"""Back-office sign-in: sessions, roles, CSRF, login throttling, security headers.

Use in a router::

    from returnbridge.web.auth import SignedInUser, admin_only, can_decide, current_user, require_role

    @router.get("/things")
    def things(request: Request, user: SignedInUser = Depends(current_user)) -> Response: ...

    @router.post("/things/{id}/approve")
    def approve(..., user: SignedInUser = Depends(can_decide)) -> Response: ...   # agent or admin; CSRF checked
"""

from returnbridge.web.auth.guards import (
    CSRF_FIELD,
    CSRF_HEADER,
    Forbidden,
    NotSignedIn,
    admin_only,
    can_decide,
    current_user,
    next_after_sign_in,
    require_role,
    signed_in,
)
from returnbridge.web.auth.public import PUBLIC_MOUNTS, PUBLIC_PATHS
from returnbridge.web.auth.sessions import SESSION_COOKIE, SessionStore, SignedInUser

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "PUBLIC_MOUNTS",
    "PUBLIC_PATHS",
    "SESSION_COOKIE",
    "Forbidden",
    "NotSignedIn",
    "SessionStore",
    "SignedInUser",
    "admin_only",
    "can_decide",
    "current_user",
    "next_after_sign_in",
    "require_role",
    "signed_in",
]
