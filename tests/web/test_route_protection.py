"""Every route needs a signed-in user except the few listed in PUBLIC_PATHS: walks the app's route table, so a
page added later without ``current_user``/``require_role`` fails here."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from returnbridge.web.auth import PUBLIC_MOUNTS, PUBLIC_PATHS
from returnbridge.web.route_table import route_table


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_outside_the_public_list_refuses_an_anonymous_request(app: FastAPI, client: TestClient) -> None:
    checked = []
    for entry in route_table(app):
        if entry.path in PUBLIC_PATHS or entry.path in PUBLIC_MOUNTS:
            continue
        assert entry.methods, f"{entry.path} is a mount that is not in PUBLIC_MOUNTS"
        for method in sorted(entry.methods - {"HEAD"}):
            response = client.request(method, _concrete(entry.path), follow_redirects=False)
            if entry.path.startswith("/api/"):
                assert response.status_code == 401, (method, entry.path, response.status_code)
                assert response.json() == {"detail": "Sign in first."}
            else:
                assert response.status_code == 303, (method, entry.path, response.status_code)
                assert response.headers["location"].startswith("/login"), (method, entry.path)
            checked.append((method, entry.path))
    assert ("GET", "/users") in checked and ("POST", "/logout") in checked and ("GET", "/api/me") in checked
    assert ("GET", "/connect/tiktok") in checked  # starting an OAuth connection is not public


def test_every_public_path_is_a_real_route(app: FastAPI) -> None:
    paths = {entry.path for entry in route_table(app)}
    assert paths >= PUBLIC_PATHS
    assert paths >= PUBLIC_MOUNTS


def test_a_page_redirects_to_sign_in_with_the_page_to_come_back_to(client: TestClient) -> None:
    response = client.get("/users?sort=email", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fusers%3Fsort%3Demail"


def test_fastapi_docs_are_not_served_publicly(client: TestClient) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path, follow_redirects=False).status_code == 404
    assert client.get("/api/openapi.json").status_code == 401


def test_health_and_static_files_stay_public(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    css = client.get("/static/app.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
