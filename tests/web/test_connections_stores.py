"""The Stores section of the Connections page over HTTP, on SQLite and PostgreSQL, with the Shopify emulator over
real HTTP: the section and its counts, adding a store (the token never comes back), per-store settings and their
validation, retrying a held effect, Mirror now, and who may do what."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from returnbridge.config import Settings
from returnbridge.db.engine import transaction
from returnbridge.db.models import Store, StoreEffect, TikTokAccount, utcnow
from returnbridge.domain.roles import Role
from returnbridge.emulators.shopify.server import EmulatorServer
from returnbridge.sync import stores as store_service
from returnbridge.sync.mirror import mirror_store
from returnbridge.sync.runtime import Runtime
from returnbridge.web.app import create_app

from ..integration.test_store_mirror_shopify import COMPLETE, Shop, ingest, tiktok
from .signing_in import csrf_token_in, sign_in_as


@pytest.fixture(scope="module")
def shopify() -> Iterator[EmulatorServer]:
    with EmulatorServer(seed_orders=0) as server:
        yield server


@pytest.fixture
def shop(shopify: EmulatorServer) -> Iterator[Shop]:
    s = Shop(shopify)
    yield s
    s.http.close()


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(_env_file=None, database_url=db_url, secret_key="stores-web-test",  # type: ignore[call-arg]
                        var_dir=tmp_path / "var")
    rt = Runtime.from_settings(settings)
    yield rt
    rt.close()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime, on_webhook=lambda _id: None)) as test_client:
        yield test_client


@pytest.fixture
def account_id(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        account = TikTokAccount(shop_id="S1", shop_cipher="C1", access_token_encrypted="x",
                                refresh_token_encrypted="y", access_token_expires_at=utcnow(),
                                refresh_token_expires_at=utcnow())
        session.add(account)
        session.flush()
        return account.id


def add_store(runtime: Runtime, shopify: EmulatorServer, shop: Shop, **settings: object) -> int:
    return store_service.add_shopify_store(runtime, domain=shopify.base_url, access_token=shop.token,
                                           name="Acme Shopify", settings=settings).id


def count_in(html: str, store_id: int, state: str) -> int:
    section = html[html.index(f'data-store-id="{store_id}"'):]
    found = re.search(rf'data-state="{state}"><strong>(\d+)</strong>', section)
    assert found, f"no {state} count"
    return int(found.group(1))


def effect_states(runtime: Runtime) -> dict[str, str]:
    with transaction(runtime.sessions) as session:
        return {e.kind: e.state for e in session.scalars(select(StoreEffect).order_by(StoreEffect.id))}


def settings_form(token: str, **fields: str) -> dict[str, str]:
    form = {"csrf_token": token, "mirroring": "record", "restock_location": "default",
            "restock_trigger": "refund_completed", "restock_location_id": "", "lookup_0_kind": "name"}
    form.update(fields)
    return form


def stored_settings(runtime: Runtime, store_id: int) -> dict[str, object]:
    with transaction(runtime.sessions) as session:
        store = session.get(Store, store_id)
        assert store is not None
        return dict(store.settings)


# --- the section ------------------------------------------------------------------------------------------------


def test_the_section_shows_each_store_its_settings_counts_and_held_effects(
    client: TestClient, runtime: Runtime, account_id: int, shopify: EmulatorServer, shop: Shop
) -> None:
    sign_in_as(client, runtime, Role.VIEWER)
    assert "No store is added yet" in client.get("/connections").text
    store_id = add_store(runtime, shopify, shop, mirroring="record", auto_restock=True,
                         restock_location="fulfilled_from", restock_trigger="package_approved")
    shop.order("T1", {"RB-001": 1})
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, type_="REFUND"),
           tiktok("R2", "T-MISSING", COMPLETE, type_="REFUND"))
    mirror_store(runtime, store_id)

    html = client.get("/connections").text
    assert html.count("data-store-id=") == 1
    assert "Acme Shopify" in html and "Record returns and refunds" in html
    assert shopify.base_url.split("://", 1)[1] in html
    assert "at the location the line was fulfilled from, when the received package is approved" in html
    assert count_in(html, store_id, "done") == 1 and count_in(html, store_id, "held") == 1
    assert count_in(html, store_id, "pending") == 0 and count_in(html, store_id, "failed") == 0
    assert "Admin API access token set; last worked" in html
    assert "no store order found for TikTok order T-MISSING" in html
    assert shop.token not in html


# --- adding a store ---------------------------------------------------------------------------------------------


def test_an_admin_adds_a_store_and_the_token_is_never_shown(
    client: TestClient, runtime: Runtime, shopify: EmulatorServer, shop: Shop
) -> None:
    sign_in_as(client, runtime, Role.ADMIN)
    token = csrf_token_in(client.get("/connections").text)
    added = client.post("/connections/stores", data={"csrf_token": token, "domain": shopify.base_url,
                                                     "access_token": shop.token, "name": "Acme <Shopify>"},
                        follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"].startswith("/connections#store-")
    assert shop.token not in added.text
    html = client.get("/connections").text
    assert "Store Acme &lt;Shopify&gt; added" in html and "Acme &lt;Shopify&gt;" in html
    assert "<Shopify>" not in html and shop.token not in html
    assert "not used successfully yet" in html and 'data-mirroring="off"' in html
    [store] = store_service.list_stores(runtime)
    assert store.base_url == shopify.base_url and store.settings["mirroring"] == "off"

    again = client.post("/connections/stores", data={"csrf_token": token, "domain": shopify.base_url,
                                                     "access_token": shop.token, "name": ""})
    assert again.status_code == 400 and "is already added" in again.text and shop.token not in again.text


@pytest.mark.parametrize("domain, message", [
    ("not a domain", "the shop domain must look like acme.myshopify.com"),
    ("", "the shop domain is required"),
    ("https://acme.myshopify.com/admin?x=1", "the shop domain must look like acme.myshopify.com"),
])
def test_a_bad_domain_is_refused_with_its_message(client: TestClient, runtime: Runtime, domain: str,
                                                  message: str) -> None:
    sign_in_as(client, runtime, Role.ADMIN)
    token = csrf_token_in(client.get("/connections").text)
    secret = "shpat_never_echo_this_0123456789"
    refused = client.post("/connections/stores", data={"csrf_token": token, "domain": domain,
                                                       "access_token": secret, "name": "Mine"})
    assert refused.status_code == 400
    assert message in refused.text and "data-add-error" in refused.text
    assert secret not in refused.text
    assert 'value="Mine"' in refused.text  # what was typed comes back, except the token
    assert store_service.list_stores(runtime) == []


def test_an_empty_token_is_refused(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, Role.ADMIN)
    token = csrf_token_in(client.get("/connections").text)
    refused = client.post("/connections/stores", data={"csrf_token": token, "domain": "acme.myshopify.com",
                                                       "access_token": "  ", "name": ""})
    assert refused.status_code == 400 and "access token is empty" in refused.text


# --- settings ---------------------------------------------------------------------------------------------------


def test_saving_settings_turns_mirroring_on_and_says_how_many_effects_were_planned(
    client: TestClient, runtime: Runtime, account_id: int, shopify: EmulatorServer, shop: Shop
) -> None:
    store_id = add_store(runtime, shopify, shop)
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, type_="REFUND"),
           tiktok("R2", "T2", COMPLETE, type_="REFUND"))
    assert effect_states(runtime) == {}  # mirroring is off: nothing planned
    sign_in_as(client, runtime, Role.ADMIN)
    token = csrf_token_in(client.get("/connections").text)
    saved = client.post(f"/connections/stores/{store_id}/settings", follow_redirects=False, data=settings_form(
        token, auto_restock="1", restock_location="fulfilled_from", restock_trigger="package_approved",
        lookup_0_kind="name", lookup_0_prefix="TT-", lookup_1_kind="note_attribute",
        lookup_1_key="TikTok Order Number"))
    assert saved.status_code == 303
    html = client.get("/connections").text
    assert "Settings of Acme Shopify saved. 2 store effects planned for existing cases." in html
    assert count_in(html, store_id, "pending") == 2
    settings = stored_settings(runtime, store_id)
    assert settings["mirroring"] == "record" and settings["auto_restock"] is True
    assert settings["restock_location"] == "fulfilled_from" and settings["restock_trigger"] == "package_approved"
    assert [(s["kind"], s["prefix"], s["key"]) for s in settings["order_lookup"]] == [  # type: ignore[union-attr]
        ("name", "TT-", ""), ("note_attribute", "", "TikTok Order Number")]
    assert "name:prefix=TT-" in html and 'value="TikTok Order Number"' in html


@pytest.mark.parametrize("fields, field_name, message", [
    ({"restock_location": "chosen"}, "restock_location_id", "restock_location 'chosen' needs restock_location_id"),
    ({"lookup_0_kind": "note_attribute"}, "lookup_0", "a note_attribute lookup needs the attribute key"),
    ({"lookup_0_kind": "metafield", "lookup_0_namespace": "tiktok"}, "lookup_0",
     "a metafield lookup needs namespace and key"),
    ({"mirroring": "everything"}, "mirroring", "Input should be 'off', 'record' or 'informational'"),
    ({"lookup_0_kind": "", "lookup_2_kind": "guess"}, "lookup_2_kind", "Input should be 'name'"),
])
def test_invalid_settings_are_shown_per_field_and_nothing_is_saved(
    client: TestClient, runtime: Runtime, shopify: EmulatorServer, shop: Shop, fields: dict[str, str],
    field_name: str, message: str
) -> None:
    store_id = add_store(runtime, shopify, shop)
    before = stored_settings(runtime, store_id)
    sign_in_as(client, runtime, Role.ADMIN)
    token = csrf_token_in(client.get("/connections").text)
    refused = client.post(f"/connections/stores/{store_id}/settings", data=settings_form(token, **fields))
    assert refused.status_code == 400
    assert "Nothing was saved" in refused.text
    error = re.search(r'<p class="field-error"[^>]*>([^<]*)</p>', refused.text[refused.text.index(
        'class="store-settings" open'):])
    assert error and message in error.group(1).replace("&#39;", "'"), refused.text
    if field_name.startswith("lookup_"):
        assert f'data-error-for="{field_name}"' in refused.text
    assert stored_settings(runtime, store_id) == before


def test_settings_of_a_store_that_does_not_exist_are_404(client: TestClient, runtime: Runtime) -> None:
    sign_in_as(client, runtime, Role.ADMIN)
    token = csrf_token_in(client.get("/connections").text)
    missing = client.post("/connections/stores/999/settings", data=settings_form(token))
    assert missing.status_code == 404 and "store 999 does not exist" in missing.text


# --- retry and mirror now ----------------------------------------------------------------------------------------


def test_an_agent_retries_a_held_effect_and_mirrors_the_store_now(
    client: TestClient, runtime: Runtime, account_id: int, shopify: EmulatorServer, shop: Shop
) -> None:
    store_id = add_store(runtime, shopify, shop, mirroring="record")
    ingest(runtime, account_id, tiktok("R1", "T7", COMPLETE, type_="REFUND"))
    mirror_store(runtime, store_id)
    assert effect_states(runtime) == {"refund": "held"}  # the order is not in the store (yet)
    with transaction(runtime.sessions) as session:
        effect_id = session.scalars(select(StoreEffect.id)).one()

    sign_in_as(client, runtime, Role.AGENT)
    page = client.get("/connections").text
    assert f"/connections/stores/effects/{effect_id}/retry" in page
    assert "/connections/stores\"" not in page and "/settings\" class=\"stacked" not in page  # admin-only forms
    token = csrf_token_in(page)
    shop.order("T7", {"RB-001": 1})  # the merchant's connector imported the order meanwhile
    retried = client.post(f"/connections/stores/effects/{effect_id}/retry", data={"csrf_token": token},
                          follow_redirects=False)
    assert retried.status_code == 303
    assert effect_states(runtime) == {"refund": "pending"}
    assert "is queued again" in client.get("/connections").text

    again = client.post(f"/connections/stores/effects/{effect_id}/retry", data={"csrf_token": token})
    assert again.status_code == 200 and "only held or failed effects are retried by hand" in again.text

    mirrored = client.post(f"/connections/stores/{store_id}/mirror", data={"csrf_token": token},
                           follow_redirects=False)
    assert mirrored.status_code == 303
    deadline = time.monotonic() + 30
    while effect_states(runtime) != {"refund": "done"}:  # without a queue the run is on a thread of the app
        assert time.monotonic() < deadline, effect_states(runtime)
        time.sleep(0.1)
    assert len(shop.refunds()) == 1


def test_mirror_now_is_handed_to_the_queue_when_the_app_has_one(
    runtime: Runtime, shopify: EmulatorServer, shop: Shop
) -> None:
    store_id = add_store(runtime, shopify, shop, mirroring="record")
    handed: list[int] = []
    with TestClient(create_app(runtime, on_webhook=lambda _id: None, on_mirror=handed.append)) as client:
        sign_in_as(client, runtime, Role.ADMIN)
        token = csrf_token_in(client.get("/connections").text)
        assert client.post(f"/connections/stores/{store_id}/mirror", data={"csrf_token": token},
                           follow_redirects=False).status_code == 303
        assert client.post("/connections/stores/999/mirror", data={"csrf_token": token}).status_code == 404
    assert handed == [store_id]


# --- who may do what ---------------------------------------------------------------------------------------------


def test_a_viewer_sees_the_stores_but_no_forms_and_every_post_is_403(
    client: TestClient, runtime: Runtime, account_id: int, shopify: EmulatorServer, shop: Shop
) -> None:
    store_id = add_store(runtime, shopify, shop, mirroring="record")
    ingest(runtime, account_id, tiktok("R1", "T8", COMPLETE, type_="REFUND"))
    mirror_store(runtime, store_id)  # held: order not found
    with transaction(runtime.sessions) as session:
        effect_id = session.scalars(select(StoreEffect.id)).one()
    sign_in_as(client, runtime, Role.VIEWER)
    page = client.get("/connections").text
    assert f'data-store-id="{store_id}"' in page and "no store order found" in page
    assert "/connections/stores" not in page  # no add, settings, mirror or retry form
    token = csrf_token_in(page)
    for path, data in (("/connections/stores", {"domain": "x.myshopify.com", "access_token": "t"}),
                       (f"/connections/stores/{store_id}/settings", settings_form(token)),
                       (f"/connections/stores/{store_id}/mirror", {}),
                       (f"/connections/stores/effects/{effect_id}/retry", {})):
        refused = client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)
        assert refused.status_code == 403, path
    assert effect_states(runtime) == {"refund": "held"}
    assert len(store_service.list_stores(runtime)) == 1


def test_an_agent_may_not_add_stores_or_change_settings(
    client: TestClient, runtime: Runtime, shopify: EmulatorServer, shop: Shop
) -> None:
    store_id = add_store(runtime, shopify, shop)
    sign_in_as(client, runtime, Role.AGENT)
    token = csrf_token_in(client.get("/connections").text)
    assert client.post("/connections/stores", data={"csrf_token": token, "domain": "x.myshopify.com",
                                                    "access_token": "t"}).status_code == 403
    assert client.post(f"/connections/stores/{store_id}/settings",
                       data=settings_form(token)).status_code == 403
    assert stored_settings(runtime, store_id)["mirroring"] == "off"


def test_posts_without_the_csrf_token_are_refused(
    client: TestClient, runtime: Runtime, shopify: EmulatorServer, shop: Shop
) -> None:
    store_id = add_store(runtime, shopify, shop)
    sign_in_as(client, runtime, Role.ADMIN)
    added = client.post("/connections/stores", data={"domain": "acme.myshopify.com", "access_token": "shpat_x"})
    assert added.status_code == 403
    changed = client.post(f"/connections/stores/{store_id}/settings",
                          data={**settings_form("wrong-token"), "mirroring": "record"})
    assert changed.status_code == 403
    assert client.post(f"/connections/stores/{store_id}/mirror", data={}).status_code == 403
    assert len(store_service.list_stores(runtime)) == 1
    assert stored_settings(runtime, store_id)["mirroring"] == "off"
