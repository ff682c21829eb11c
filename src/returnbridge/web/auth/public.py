"""The only routes anyone may reach without signing in. Every other route must depend on ``current_user`` (or
``require_role``); ``tests/web/test_route_protection.py`` walks ``app.routes`` and fails on any that does not."""

from __future__ import annotations

PUBLIC_PATHS: frozenset[str] = frozenset({
    "/login",  # the sign-in form itself
    "/healthz",  # load balancers probe it; it says only whether the database answers
    "/webhooks/tiktok",  # TikTok calls it; every request is verified by its signature instead
    "/connect/tiktok/callback",  # TikTok's redirect; protected by the OAuth state bound to the starting browser
})
# Mounted apps (not routes): the stylesheet and script the sign-in page needs.
PUBLIC_MOUNTS: frozenset[str] = frozenset({"/static"})
