"""The app's routes as the checklist tests see them: every (method, path) with a concrete URL, and who may use it.

``MINIMUM_ROLE`` is the role rule of every action, written out once. A route added without an entry here fails
``test_roles.py``: whoever adds it must decide, in this list, who may use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import FastAPI

from returnbridge.domain.roles import Role
from returnbridge.web.auth import PUBLIC_MOUNTS, PUBLIC_PATHS
from returnbridge.web.route_table import route_table

VIEWER, AGENT, ADMIN = Role.VIEWER, Role.AGENT, Role.ADMIN
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

MINIMUM_ROLE: dict[tuple[str, str], Role] = {
    # signing out, one's own account and one's own API tokens: everyone signed in
    ("POST", "/logout"): VIEWER,
    ("GET", "/account"): VIEWER,
    ("POST", "/account/password"): VIEWER,
    ("GET", "/account/tokens"): VIEWER,
    ("POST", "/account/tokens"): VIEWER,
    ("POST", "/account/tokens/{token_id}/revoke"): VIEWER,
    ("GET", "/"): VIEWER,
    ("GET", "/api/me"): VIEWER,
    ("GET", "/api/openapi.json"): VIEWER,
    # reading: everyone signed in
    ("GET", "/returns"): VIEWER,
    ("GET", "/returns/export.{fmt}"): VIEWER,
    ("GET", "/api/v1/cases"): VIEWER,
    ("GET", "/connections"): VIEWER,
    ("GET", "/settings"): VIEWER,
    ("GET", "/sync/{run_id}"): VIEWER,
    ("GET", "/sync/{run_id}/events"): VIEWER,
    ("GET", "/cases/{case_id}"): VIEWER,
    ("GET", "/api/v1/cases/{case_id}"): VIEWER,
    ("GET", "/api/v1/cases/{case_id}/reject-reasons"): VIEWER,
    ("GET", "/analytics"): VIEWER,
    ("GET", "/analytics/{metric}.csv"): VIEWER,
    ("GET", "/api/v1/analytics"): VIEWER,
    ("GET", "/api/v1/analytics/{metric}"): VIEWER,
    ("GET", "/reconciliation"): VIEWER,
    ("GET", "/reconciliation.csv"): VIEWER,
    # working cases and the store mirror: agents
    ("POST", "/sync"): AGENT,
    ("POST", "/cases/bulk"): AGENT,
    ("POST", "/cases/{case_id}/decide"): AGENT,
    ("POST", "/cases/{case_id}/notes"): AGENT,
    ("POST", "/cases/{case_id}/resync"): AGENT,
    ("POST", "/cases/{case_id}/effects/{effect_id}/retry"): AGENT,
    ("POST", "/api/v1/cases/{case_id}/decisions"): AGENT,
    ("POST", "/api/v1/cases/bulk-decisions"): AGENT,
    ("POST", "/api/v1/cases/{case_id}/notes"): AGENT,
    ("POST", "/api/v1/cases/{case_id}/refresh"): AGENT,
    ("POST", "/connections/stores/{store_id}/mirror"): AGENT,
    ("POST", "/connections/stores/effects/{effect_id}/retry"): AGENT,
    ("POST", "/reconciliation/effects/{effect_id}/retry"): AGENT,
    # people, connections, settings, rules and notifications: admins
    ("GET", "/connect/tiktok"): ADMIN,
    ("GET", "/users"): ADMIN,
    ("POST", "/users"): ADMIN,
    ("POST", "/users/{user_id}/role"): ADMIN,
    ("POST", "/users/{user_id}/active"): ADMIN,
    ("POST", "/users/{user_id}/password"): ADMIN,
    ("POST", "/connections/stores"): ADMIN,
    ("POST", "/connections/stores/{store_id}/settings"): ADMIN,
    ("POST", "/connections/{account_id}/disconnect"): ADMIN,
    ("POST", "/settings"): ADMIN,
    ("GET", "/rules"): ADMIN,
    ("POST", "/rules"): ADMIN,
    ("POST", "/rules/{rule_id}/dry-run"): ADMIN,
    ("POST", "/rules/{rule_id}/enabled"): ADMIN,
    ("POST", "/rules/{rule_id}/delete"): ADMIN,
    ("POST", "/rules/review/{run_id}/done"): ADMIN,
    ("GET", "/api/v1/rules"): ADMIN,
    ("POST", "/api/v1/rules"): ADMIN,
    ("POST", "/api/v1/rules/dry-run"): ADMIN,
    ("GET", "/api/v1/rules/{rule_id}"): ADMIN,
    ("PUT", "/api/v1/rules/{rule_id}"): ADMIN,
    ("DELETE", "/api/v1/rules/{rule_id}"): ADMIN,
    ("POST", "/api/v1/rules/{rule_id}/dry-run"): ADMIN,
    ("GET", "/notifications"): ADMIN,
    ("POST", "/notifications"): ADMIN,
    ("POST", "/notifications/test"): ADMIN,
}
# Values for path parameters that are not ids (an id is "999999", which exists nowhere).
_NAMED = {"fmt": "csv", "metric": "overview"}


@dataclass(frozen=True)
class Action:
    method: str
    path: str  # as declared, e.g. /cases/{case_id}/decide
    url: str  # concrete, e.g. /cases/999999/decide

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    @property
    def changes_state(self) -> bool:
        return self.method not in SAFE_METHODS


def concrete(path: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda match: _NAMED.get(match.group(1), "999999"), path)


def protected_actions(app: FastAPI) -> list[Action]:
    """Every (method, route) outside the public list; HEAD is GET's twin and left out."""
    return [Action(method, entry.path, concrete(entry.path))
            for entry in route_table(app)
            if entry.path not in PUBLIC_PATHS and entry.path not in PUBLIC_MOUNTS
            for method in sorted(entry.methods - {"HEAD"})]
