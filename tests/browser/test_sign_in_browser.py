"""The back-office in a real browser: signing in and out, lockout, roles, own password, adding a user, and the
layout at phone width."""

from __future__ import annotations

import re
from itertools import count

import pytest
from playwright.sync_api import Page, expect

from ..web.signing_in import PASSWORD
from .conftest import MAX_FAILURES, LiveServer, sign_in

_numbers = count(1)


def unique(role: str) -> str:
    # One server per module: every test signs in as users of its own, so lockouts do not leak between tests.
    return f"{role}{next(_numbers)}@example.com"


def test_signing_in_brings_the_user_to_the_page_they_asked_for(page: Page, server: LiveServer) -> None:
    email = server.add_user(unique("agent"), "agent")
    sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.locator(".signed-in")).to_contain_text(email)
    expect(page.locator(".signed-in")).to_contain_text("Agent")


def test_a_wrong_password_shows_a_clear_message(page: Page, server: LiveServer) -> None:
    email = server.add_user(unique("agent"), "agent")
    sign_in(page, email, "not my password at all")
    expect(page.get_by_role("alert")).to_have_text("Wrong e-mail or password.")
    expect(page.get_by_label("E-mail")).to_have_value(email)


def test_repeated_failures_lock_the_account_and_say_until_when(page: Page, server: LiveServer) -> None:
    email = server.add_user(unique("agent"), "agent")
    for _ in range(MAX_FAILURES):
        sign_in(page, email, "guessing guessing")
    expect(page.get_by_role("alert")).to_contain_text("locked")
    expect(page.get_by_role("alert")).to_contain_text(re.compile(r"Try again after \d\d:\d\d UTC"))
    sign_in(page, email)  # the right password does not help while locked
    expect(page.get_by_role("alert")).to_contain_text("This account is locked")


def test_signing_out_ends_the_session(page: Page, server: LiveServer) -> None:
    sign_in(page, server.add_user(unique("viewer"), "viewer"))
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Faccount$"))


def test_a_viewer_sees_no_admin_navigation_and_cannot_open_the_users_page(page: Page, server: LiveServer) -> None:
    sign_in(page, server.add_user(unique("viewer"), "viewer"))
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Users")).to_have_count(0)
    response = page.goto("/users")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_a_user_changes_their_own_password_and_signs_in_with_it(page: Page, server: LiveServer) -> None:
    email = server.add_user(unique("viewer"), "viewer")
    sign_in(page, email)
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password (at least").fill("my new long passphrase")
    page.get_by_label("New password again").fill("my new long passphrase")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is changed")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, email, PASSWORD)
    expect(page.get_by_role("alert")).to_have_text("Wrong e-mail or password.")
    sign_in(page, email, "my new long passphrase")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()


def test_an_admin_adds_a_user_who_can_then_sign_in(page: Page, server: LiveServer, browser) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, server.add_user(unique("admin"), "admin"), path="/users")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Users")).to_be_visible()
    newcomer = unique("newcomer")
    page.get_by_label("E-mail").fill(newcomer)
    page.get_by_label("Role", exact=True).select_option("agent")
    page.get_by_role("button", name="Add user").click()
    expect(page.locator(".created-password")).to_contain_text(newcomer)
    password = page.locator("#generated-password").inner_text().strip()
    expect(page.get_by_role("row").filter(has_text=newcomer)).to_contain_text("Active")

    other = browser.new_context(base_url=page.url.split("/users")[0])
    try:
        newcomer_page = other.new_page()
        sign_in(newcomer_page, newcomer, password)
        expect(newcomer_page.locator(".signed-in")).to_contain_text("Agent")
    finally:
        other.close()


def test_disabling_a_user_asks_for_confirmation_first(page: Page, server: LiveServer) -> None:
    sign_in(page, server.add_user(unique("admin"), "admin"), path="/users")
    target = server.add_user(unique("viewer"), "viewer")
    page.reload()
    row = page.get_by_role("row").filter(has_text=target)
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="Disable").click()
    expect(row).to_contain_text("Active")  # dismissed: nothing happened
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status")).to_contain_text(f"{target} is disabled")
    expect(page.get_by_role("row").filter(has_text=target)).to_contain_text("Disabled")


def test_scripts_send_the_csrf_token_from_the_page(page: Page, server: LiveServer) -> None:
    sign_in(page, server.add_user(unique("viewer"), "viewer"))
    without = page.evaluate("fetch('/logout', {method: 'POST'}).then(r => r.status)")
    assert without == 403
    with_token = page.evaluate("window.returnbridge.fetch('/logout', {method: 'POST'}).then(r => r.url)")
    assert with_token.endswith("/login")
    assert page.evaluate("fetch('/api/me').then(r => r.status)") == 401


@pytest.mark.parametrize("width", [375, 1280])
def test_login_and_users_pages_fit_the_screen_without_sideways_scrolling(
    browser, server: LiveServer, width: int,  # type: ignore[no-untyped-def]
) -> None:
    context = browser.new_context(base_url=server.base_url, viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        page.goto("/login")
        assert _overflow(page) == 0
        for index in range(3):
            server.add_user(f"a-rather-long-address-{width}-{index}@returns-department.example.com", "agent")
        sign_in(page, server.add_user(unique("admin"), "admin"), path="/users")
        expect(page.get_by_role("heading", name="Users")).to_be_visible()
        assert _overflow(page) == 0
        page.goto("/account")
        assert _overflow(page) == 0
    finally:
        context.close()


def _overflow(page: Page) -> int:
    """How many pixels the page is wider than the screen (0 = no horizontal scroll)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))
