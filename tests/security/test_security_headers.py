"""Security headers on every response (pages, JSON, static files, errors, refusals), a CSP that allows no inline
script or style and no framing, and templates (and every page as served) that need none: no ``<script>`` bodies, no
``on*=`` handlers, no ``style`` attributes or elements, no ``javascript:`` URLs."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from returnbridge.sync.runtime import Runtime
from returnbridge.web.auth.headers import CONTENT_SECURITY_POLICY
from returnbridge.web.pages import TEMPLATES_DIR

from ..web.signing_in import sign_in_as
from .routes import protected_actions

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}
# Inline behaviour or styling that a CSP without 'unsafe-inline' would block (and that would hide an injection).
INLINE = {
    "script element with a body": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "event handler attribute": re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE),
    "style attribute": re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE),
    "style element": re.compile(r"<style\b", re.IGNORECASE),
    "javascript: URL": re.compile(r"(href|src|action)\s*=\s*[\"']?\s*javascript:", re.IGNORECASE),
}


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in filter(None, (part.strip() for part in policy.split(";"))):
        name, *values = directive.split()
        parsed[name] = values
    return parsed


def inline_parts(html: str) -> list[str]:
    return [what for what, pattern in INLINE.items() if pattern.search(html)]


def test_the_csp_allows_only_our_own_script_and_style_and_no_framing() -> None:
    policy = directives(CONTENT_SECURITY_POLICY)
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY and "unsafe-eval" not in CONTENT_SECURITY_POLICY


def test_every_get_route_answers_with_the_security_headers_signed_in_or_not(
    app: FastAPI, client: TestClient, runtime: Runtime,
) -> None:
    reads = [action for action in protected_actions(app) if not action.changes_state]
    urls = ["/login", "/healthz", "/static/app.css", "/static/app.js", "/no-such-page", "/api/no-such-thing"]
    responses = [client.get(url, follow_redirects=False) for url in urls]
    responses += [client.get(action.url, follow_redirects=False) for action in reads]  # anonymous: 303 or 401
    sign_in_as(client, runtime, "admin")
    responses += [client.get(action.url, follow_redirects=False) for action in reads]
    responses += [client.post("/users", data={})]  # a 403 refusal (no CSRF token)
    assert len(reads) >= 25 and len(responses) == 2 * len(reads) + len(urls) + 1
    for response in responses:
        headers = response.headers
        assert directives(headers["content-security-policy"])["script-src"] == ["'self'"], response.url
        assert "frame-ancestors 'none'" in headers["content-security-policy"], response.url
        assert {name: headers.get(name) for name in EXPECTED} == EXPECTED, (response.url, response.status_code)


def test_no_template_has_inline_script_handlers_or_styles() -> None:
    templates = sorted(TEMPLATES_DIR.glob("*.html"))
    assert len(templates) >= 15
    found = {template.name: inline_parts(template.read_text(encoding="utf-8")) for template in templates}
    assert {name: parts for name, parts in found.items() if parts} == {}


@pytest.mark.parametrize("html", [
    "<script>alert(1)</script>", '<a href="#" onclick="x()">', '<p style="color:red">', "<style>p{}</style>",
    '<a href="javascript:alert(1)">', "<SCRIPT type=module>go()</SCRIPT>", "<img src=x onerror=alert(1)>",
])
def test_the_template_scan_catches_each_kind_of_inline_code(html: str) -> None:
    assert inline_parts(html)


def test_the_template_scan_lets_a_script_file_through() -> None:
    assert inline_parts('<script src="/static/app.js?v=1" defer></script><a href="/returns">x</a>') == []


def test_no_page_as_served_has_inline_script_handlers_or_styles(
    app: FastAPI, client: TestClient, runtime: Runtime,
) -> None:
    # The pages as rendered, including HTML built in Python (the TikTok connection's messages) and error pages.
    pages = [client.get("/login").text, client.get("/connect/tiktok/callback").text]
    sign_in_as(client, runtime, "admin")
    for action in protected_actions(app):
        if not action.changes_state and not action.is_api:
            response = client.get(action.url, follow_redirects=False)
            if response.headers.get("content-type", "").startswith("text/html"):
                pages.append(response.text)
    assert len(pages) >= 12
    assert [parts for parts in map(inline_parts, pages) if parts] == []
