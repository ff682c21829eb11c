"""One full run of the product with every secret it handles, shared by the "never logged" and "encrypted at rest"
checks: an admin signs in with a password, makes a personal API token and uses it, connects a TikTok shop through
the emulator's OAuth consent, the shop is synced, a signed webhook arrives and is processed, the access token is
refreshed, a Shopify store is added with its token through the page, its effects are mirrored, and a case is decided
from its page.

Both emulators run as child processes, so their own request handling (which sees every secret by design) is not in
our process's logs; everything ReturnBridge itself logs is.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select

from returnbridge.config import Settings
from returnbridge.db.engine import transaction
from returnbridge.db.models import Case, TikTokAccount
from returnbridge.emulators.shopify.server import EmulatorServer as ShopifyEmulator
from returnbridge.emulators.tiktok.server import EmulatorServer as TikTokEmulator
from returnbridge.sync.ingest import pull_account, refresh_case
from returnbridge.sync.mirror import mirror_store
from returnbridge.sync.runtime import Runtime
from returnbridge.sync.upkeep import refresh_expiring_tokens
from returnbridge.sync.webhooks import process_webhook
from returnbridge.tiktok import webhook_signature
from returnbridge.web.app import create_app
from returnbridge.web.auth import SESSION_COOKIE

from ..contract.conftest import Control
from ..web.signing_in import add_user, csrf_token_in

# Distinctive values, so a hit in a log line or a database cell cannot be a coincidence.
APP_KEY = "sec_app_key_6c1f"
APP_SECRET = "sec-app-secret-5b9e7d0c2a41f3"
SECRET_KEY = "sec-secret-key-0f8e2d6b4a19c7"
PASSWORD = "admin passphrase 7Qx!v2#Lm9"
CALLBACK = "http://testserver/connect/tiktok/callback"


@dataclass
class Run:
    runtime: Runtime
    secrets: dict[str, str] = field(default_factory=dict)

    def keep(self, name: str, value: str | None) -> None:
        assert value, f"the run did not produce a {name}"
        self.secrets[f"{name} #{len(self.secrets)}"] = value


def emulators() -> Iterator[tuple[TikTokEmulator, ShopifyEmulator]]:
    with TikTokEmulator(app_key=APP_KEY, app_secret=APP_SECRET, service_id="sec-service", seed_returns=0, rps=0,
                        subprocess=True) as tiktok, ShopifyEmulator(seed_orders=0, subprocess=True) as shopify:
        yield tiktok, shopify


def settings(db_url: str, tiktok: TikTokEmulator, var_dir: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, var_dir=var_dir, database_url=db_url, secret_key=SECRET_KEY, tiktok_app_key=APP_KEY,
        tiktok_app_secret=APP_SECRET, tiktok_service_id=tiktok.service_id, tiktok_api_base=tiktok.base_url,
        tiktok_auth_base=tiktok.base_url, tiktok_authorize_url=f"{tiktok.base_url}/open/authorize",
        tiktok_rate_per_second=1000.0, tiktok_subscribe_webhooks=False,
    )


def current_tokens(run: Run) -> tuple[str, str]:
    with transaction(run.runtime.sessions) as session:
        account = session.scalars(select(TikTokAccount)).one()
        return (run.runtime.box.decrypt(account.access_token_encrypted),
                run.runtime.box.decrypt(account.refresh_token_encrypted))


def full_run(runtime: Runtime, tiktok: TikTokEmulator, shopify: ShopifyEmulator) -> Run:
    run = Run(runtime)
    run.keep("app secret", APP_SECRET)
    run.keep("secret key", SECRET_KEY)
    run.keep("password", PASSWORD)
    control = Control(tiktok.base_url)
    webhooks: list[int] = []
    app = create_app(runtime, on_webhook=webhooks.append)
    control("POST", "/config", {"redirect_url": CALLBACK})
    try:
        with TestClient(app) as browser:
            _sign_in(run, browser)
            _api_token(run, browser)
            shop = _connect_tiktok(run, browser, control)
            account_id = _sync(run, control, shop)
            _webhook(run, browser, app, webhooks, shop)
            _refresh_tokens(run)
            request = control.new_return(shop["id"], "REFUND")
            store_id = _add_shopify_store(run, browser, shopify, request)
            _decide(run, browser, control, request, account_id)
            _mirror(run, control, request, account_id, store_id)
            browser.post("/logout", data={"csrf_token": _csrf(browser, "/account")}, follow_redirects=False)
    finally:
        control("POST", "/config", {"redirect_url": None})
        control.http.close()
    return run


def _csrf(browser: TestClient, page: str) -> str:
    return csrf_token_in(browser.get(page).text)


def _sign_in(run: Run, browser: TestClient) -> None:
    add_user(run.runtime, "admin@example.com", "admin", password=PASSWORD)
    form_token = csrf_token_in(browser.get("/login").text)
    wrong = browser.post("/login", data={"email": "admin@example.com", "password": PASSWORD[::-1],
                                         "csrf_token": form_token})
    assert wrong.status_code == 401
    run.keep("wrong password", PASSWORD[::-1])
    form_token = csrf_token_in(wrong.text)
    signed_in = browser.post("/login", data={"email": "admin@example.com", "password": PASSWORD,
                                             "csrf_token": form_token}, follow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text
    run.keep("session cookie", browser.cookies.get(SESSION_COOKIE))


def _api_token(run: Run, browser: TestClient) -> None:
    page = browser.post("/account/tokens", data={"csrf_token": _csrf(browser, "/account/tokens"), "name": "script"})
    match = re.search(r'<code id="new-token">(rb_[A-Za-z0-9_-]+)</code>', page.text)
    assert page.status_code == 200 and match, page.text
    run.keep("API token", match.group(1))
    with TestClient(browser.app) as script:
        assert script.get("/api/me", headers={"Authorization": f"Bearer {match.group(1)}"}).status_code == 200


def _connect_tiktok(run: Run, browser: TestClient, control: Control) -> dict[str, str]:
    shop = control("POST", "/shops", {"region": "US", "currency": "USD", "name": "Security shop"})
    consent_url = browser.get("/connect/tiktok", follow_redirects=False).headers["location"]
    page = httpx.get(consent_url)
    fields = {name: unescape(value)
              for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)}
    fields.update(seller_id=shop["seller_id"], decision="authorize")
    callback = httpx.post(consent_url.split("?")[0], data=fields).headers["location"]
    run.keep("auth code", parse_qs(urlsplit(callback).query)["code"][0])
    connected = browser.get(callback)
    assert connected.status_code == 200 and "connected" in connected.text, connected.text
    access, refresh = current_tokens(run)
    run.keep("access token", access)
    run.keep("refresh token", refresh)
    return shop


def _sync(run: Run, control: Control, shop: dict[str, str]) -> int:
    control("POST", "/seed", {"shop_id": shop["id"], "returns": 4, "cancellations": 1})
    with transaction(run.runtime.sessions) as session:
        account_id = session.scalars(select(TikTokAccount.id)).one()
    pull_account(run.runtime, account_id)
    return account_id


def _webhook(run: Run, browser: TestClient, app: object, webhooks: list[int], shop: dict[str, str]) -> None:
    with transaction(run.runtime.sessions) as session:
        tiktok_id = session.scalars(select(Case.tiktok_id).where(Case.kind != "cancellation").limit(1)).one()
    body = orjson.dumps({
        "type": 12, "tts_notification_id": str(uuid.uuid4().int)[:19], "shop_id": shop["id"],
        "timestamp": int(time.time()),
        "data": {"return_id": tiktok_id, "return_status": "RETURN_OR_REFUND_REQUEST_PENDING",
                 "order_id": "576000000000000001", "update_time": int(time.time())},
    })
    answer = browser.post("/webhooks/tiktok", content=body, headers={
        "Authorization": webhook_signature(APP_KEY, APP_SECRET, body), "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    app.state.webhook_waker.join()  # type: ignore[attr-defined]
    assert webhooks, "the webhook was not handed over"
    for inbox_id in webhooks:
        process_webhook(run.runtime, inbox_id)


def _refresh_tokens(run: Run) -> None:
    assert refresh_expiring_tokens(run.runtime, within=timedelta(days=3650)), "no token was refreshed"
    access, refresh = current_tokens(run)
    run.keep("refreshed access token", access)
    run.keep("refreshed refresh token", refresh)


def _add_shopify_store(run: Run, browser: TestClient, shopify: ShopifyEmulator, request: dict[str, Any]) -> int:
    lines = request.get("return_line_items") or []
    store_http = httpx.Client(base_url=f"{shopify.base_url}/_emulator", timeout=10)
    domain, token = f"s{uuid.uuid4().hex[:10]}.myshopify.com", f"shpat_{uuid.uuid4().hex}"
    run.keep("store token", token)
    made = store_http.post("/stores", json={"domain": domain, "token": token, "orders": 0, "products": 1, "catalog": [
        {"sku": line["seller_sku"], "price": line["refund_amount"]["refund_subtotal"]} for line in lines]})
    assert made.status_code == 200, made.text
    # Shipping and tax leave room for TikTok's refund of them, as the end-to-end mirror test's orders do.
    ordered = store_http.post(f"/stores/{domain}/orders", json={
        "tiktok_order_id": request["order_id"], "style": "name", "fulfilled": True, "tax_rate": "0.10",
        "shipping": str(Decimal(request["refund_amount"]["refund_shipping_fee"]) + 5),
        "lines": [{"sku": line["seller_sku"], "quantity": 1, "price": line["refund_amount"]["refund_subtotal"]}
                  for line in lines]})
    assert ordered.status_code == 200, ordered.text
    store_http.close()
    token_field = _csrf(browser, "/connections")
    added = browser.post("/connections/stores", follow_redirects=False, data={
        "csrf_token": token_field, "domain": shopify.base_url, "access_token": token, "name": "Security store"})
    assert added.status_code == 303, added.text
    store_id = int(added.headers["location"].rsplit("-", 1)[1])
    saved = browser.post(f"/connections/stores/{store_id}/settings", follow_redirects=False, data={
        "csrf_token": token_field, "mirroring": "record", "restock_location": "default",
        "restock_trigger": "refund_completed", "restock_location_id": "", "lookup_0_kind": "name"})
    assert saved.status_code == 303, saved.text
    return store_id


def _decide(run: Run, browser: TestClient, control: Control, request: dict[str, Any], account_id: int) -> None:
    pull_account(run.runtime, account_id)
    with transaction(run.runtime.sessions) as session:
        case_id = session.scalars(select(Case.id).where(Case.tiktok_id == request["return_id"])).one()
    refresh_case(run.runtime, case_id)
    page = browser.post(f"/cases/{case_id}/decide", data={"csrf_token": _csrf(browser, f"/cases/{case_id}"),
                                                          "action": "approve_request"})
    assert page.status_code == 200 and "TikTok accepted" in page.text, page.text


def _mirror(run: Run, control: Control, request: dict[str, Any], account_id: int, store_id: int) -> None:
    if not control.request(request["return_id"])["return_status"].endswith("_COMPLETE"):
        control("POST", f"/requests/{request['return_id']}/complete_refund", {})
    pull_account(run.runtime, account_id)
    report = mirror_store(run.runtime, store_id)
    assert report.done >= 1 and report.failed == 0, report  # the seeded cases have no store order: held
