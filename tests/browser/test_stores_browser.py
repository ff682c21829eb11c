"""In Chromium: an admin adds a Shopify store (the emulator, over real HTTP) on the Connections page, sees a wrong
setting refused on the form, then turns mirroring and auto-restock on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from returnbridge.emulators.shopify.server import EmulatorServer
from returnbridge.sync import stores as store_service

from .conftest import LiveServer, sign_in


@pytest.fixture(scope="module")
def shopify() -> Iterator[EmulatorServer]:
    with EmulatorServer(seed_orders=0) as server:
        yield server


def test_admin_adds_a_shopify_store_and_changes_its_settings(  # type: ignore[no-untyped-def]
    page, server: LiveServer, shopify: EmulatorServer
) -> None:
    token = f"shpat_{uuid.uuid4().hex}"
    created = httpx.post(f"{shopify.base_url}/_emulator/stores",
                         json={"domain": f"b{uuid.uuid4().hex[:8]}.myshopify.com", "token": token, "orders": 0})
    assert created.status_code == 200
    returns_center = created.json()["locations"][1]["id"]
    sign_in(page, server.add_user("stores-admin@example.com", "admin"), path="/connections")

    page.get_by_text("Add a Shopify store").click()
    page.get_by_label("Shop domain").fill(shopify.base_url)
    page.get_by_label("Admin API access token").fill(token)
    page.get_by_label("Name (optional)").fill("Browser Shopify")
    page.get_by_role("button", name="Add store").click()
    expect(page.locator(".flash-success")).to_contain_text("Store Browser Shopify added")
    store = page.locator("article.store", has_text="Browser Shopify")
    expect(store.locator("[data-mirroring]")).to_have_text("Off")
    assert token not in page.content()

    store.get_by_text("Settings of Browser Shopify").click()
    store.get_by_label("Mirroring").select_option("record")
    store.get_by_label("Put returned units back in stock").check()
    store.get_by_label("Restock at").select_option("chosen")
    store.get_by_role("button", name="Save store settings").click()
    store = page.locator("article.store", has_text="Browser Shopify")
    expect(store.locator("[data-error-for=restock_location_id]")).to_contain_text("needs restock_location_id")
    expect(store.get_by_label("Mirroring")).to_have_value("record")  # what was chosen is kept

    store.get_by_label("Chosen location id").fill(returns_center)
    store.get_by_label("Restock", exact=True).select_option("package_approved")
    store.get_by_role("button", name="Save store settings").click()
    expect(page.locator(".flash-success")).to_contain_text("Settings of Browser Shopify saved.")
    store = page.locator("article.store", has_text="Browser Shopify")
    expect(store.locator("[data-mirroring]")).to_have_text("Record returns and refunds")
    expect(store.locator("[data-restock]")).to_contain_text(
        f"on: at location {returns_center}, when the received package is approved")
    [saved] = [s for s in store_service.list_stores(server.runtime) if s.name == "Browser Shopify"]
    assert saved.settings["mirroring"] == "record" and saved.settings["restock_location_id"] == returns_center
