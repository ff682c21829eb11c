"""Role rules for every action: viewer reads, agent also works cases and the store mirror, admin also manages people,
connections, settings, rules and notifications. ``routes.MINIMUM_ROLE`` writes the rule of every route down; these
tests hold the app to it, for browsers (cookie and CSRF token) and scripts (API token) alike."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from returnbridge.domain.roles import Role
from returnbridge.sync.runtime import Runtime

from .people import as_browser, person, with_bearer
from .routes import MINIMUM_ROLE, protected_actions


def test_every_route_has_a_written_role_rule(app: FastAPI) -> None:
    assert {(action.method, action.path) for action in protected_actions(app)} == set(MINIMUM_ROLE)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.AGENT])
def test_every_action_above_a_role_is_refused_to_it_with_a_valid_csrf_token(
    app: FastAPI, client: TestClient, runtime: Runtime, role: Role,
) -> None:
    who = person(runtime, role)
    above = [action for action in protected_actions(app) if not role.allows(MINIMUM_ROLE[action.method, action.path])]
    assert above
    for action in above:
        response = with_bearer(client, who.bearer, action) if action.is_api else as_browser(client, runtime, who,
                                                                                            action)
        assert response.status_code == 403, (role, action, response.status_code)
        needed = MINIMUM_ROLE[action.method, action.path].label.lower()
        assert f"needs the {needed} role" in response.text, (role, action)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.AGENT, Role.ADMIN])
def test_every_action_is_open_to_the_role_its_rule_names(
    app: FastAPI, client: TestClient, runtime: Runtime, role: Role,
) -> None:
    who = person(runtime, role)
    own = [action for action in protected_actions(app) if MINIMUM_ROLE[action.method, action.path] == role]
    assert own
    for action in own:
        response = with_bearer(client, who.bearer, action) if action.is_api else as_browser(client, runtime, who,
                                                                                            action)
        # The ids in the URLs exist nowhere, so 404 or a refusal of the empty form is expected; a 403 is not.
        assert response.status_code not in (401, 403), (action, response.status_code, response.text[:300])
        # These tests configure no TikTok app, which starting a connection says with a 503 page.
        unconfigured = action.path == "/connect/tiktok" and "TikTok is not configured" in response.text
        assert response.status_code < 500 or unconfigured, (action, response.text[:300])
