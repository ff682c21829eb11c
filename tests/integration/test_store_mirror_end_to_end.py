"""The whole chain over real HTTP, on SQLite and PostgreSQL: a request moves through its states on the TikTok emulator
(the buyer's and TikTok's steps through its control API, the merchant's through TikTok's open API), our pull or
webhook refresh stores each change and plans its store effects in the same commit, the mirror job performs them in
the Shopify emulator, and each effect is there once with TikTok's exact amounts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from returnbridge.domain.statuses import CaseKind
from returnbridge.emulators.shopify.server import EmulatorServer as ShopifyEmulator
from returnbridge.sync import stores as store_service
from returnbridge.sync.ingest import pull_account, refresh_request
from returnbridge.sync.mirror import mirror_store
from returnbridge.sync.reconcile import MATCHED, reconcile
from returnbridge.sync.runtime import Runtime

from .conftest import Control, connect_shop, fresh_shop


@pytest.fixture(scope="module")
def shopify() -> Iterator[ShopifyEmulator]:
    with ShopifyEmulator(seed_orders=0) as server:
        yield server


class Shop:
    """A Shopify emulator store carrying the TikTok shop's SKUs, read back through the control API."""

    def __init__(self, server: ShopifyEmulator, skus: dict[str, Decimal]) -> None:
        self.http = httpx.Client(base_url=f"{server.base_url}/_emulator", timeout=10)
        self.domain = f"e{uuid.uuid4().hex[:10]}.myshopify.com"
        self.token = f"shpat_{uuid.uuid4().hex}"
        summary = self.call("POST", "/stores", {
            "domain": self.domain, "token": self.token, "orders": 0, "products": 2,
            "catalog": [{"sku": sku, "price": str(price)} for sku, price in skus.items()]})
        self.main = summary["locations"][0]["id"]

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def order_for(self, request: dict[str, Any], *, fulfilled: bool = True) -> None:
        """The store order TikTok's connector made for the request's order (name = TikTok order id)."""
        lines = request.get("return_line_items") or request.get("cancel_line_items") or []
        amounts = request["refund_amount"]
        self.call("POST", f"/stores/{self.domain}/orders", {
            "tiktok_order_id": request["order_id"], "style": "name", "fulfilled": fulfilled, "tax_rate": "0.10",
            "shipping": str(Decimal(amounts["refund_shipping_fee"]) + 5),
            "lines": [{"sku": line["seller_sku"], "quantity": 1, "price": line["refund_amount"]["refund_subtotal"]}
                      for line in lines]})

    def returns(self) -> list[dict[str, Any]]:
        return self.call("GET", f"/stores/{self.domain}/returns")["returns"]

    def refunds(self) -> list[dict[str, Any]]:
        return self.call("GET", f"/stores/{self.domain}/refunds")["refunds"]

    def restocks(self) -> list[dict[str, Any]]:
        return [a for a in self.call("GET", f"/stores/{self.domain}/adjustments")["adjustments"]
                if a["source"] == "inventoryAdjustQuantities"]

    def available(self, sku: str) -> int:
        levels = self.call("GET", f"/stores/{self.domain}/inventory")["levels"]
        return next(int(lv["quantities"]["available"]) for lv in levels
                    if lv["sku"] == sku and lv["location_id"] == self.main)


class Chain:
    def __init__(self, runtime: Runtime, control: Control, shopify: ShopifyEmulator) -> None:
        self.runtime, self.control, self.shopify = runtime, control, shopify
        self.tiktok_shop = fresh_shop(control, returns=0)
        self.account_id = connect_shop(runtime, control, self.tiktok_shop)

    def connect_store(self, request: dict[str, Any], **settings: Any) -> Shop:
        lines = request.get("return_line_items") or request.get("cancel_line_items") or []
        shop = Shop(self.shopify, {line["seller_sku"]: Decimal(line["refund_amount"]["refund_subtotal"])
                                   for line in lines})
        self.store_id = store_service.add_shopify_store(
            self.runtime, domain=self.shopify.base_url, access_token=shop.token,
            settings={"mirroring": "record", **settings}).id
        return shop

    def later(self) -> None:
        # Each change gets a later update_time than the one before (an equal one is not newer).
        self.control("POST", "/clock/advance", {"seconds": 60})

    def pull(self) -> None:
        pull_account(self.runtime, self.account_id)

    def webhook_refresh(self, kind: CaseKind, tiktok_id: str) -> None:
        assert refresh_request(self.runtime, self.account_id, kind, tiktok_id, source="webhook") is not None

    def mirror(self) -> None:
        report = mirror_store(self.runtime, self.store_id)
        assert report.held == report.failed == report.retrying == 0, report

    def refund_paid(self, request_id: str) -> dict[str, Any]:
        """TikTok pays the refund (it may already have, on its own schedule once the clock moved on)."""
        request = self.control.request(request_id)
        if (request.get("return_status") or request.get("cancel_status", "")).endswith("_COMPLETE"):
            return request
        self.control("POST", f"/requests/{request_id}/complete_refund", {})
        return self.control.request(request_id)

    @property
    def tiktok(self) -> Any:
        return self.runtime.shop_client(self.account_id)


@pytest.fixture
def chain(runtime: Runtime, control: Control, shopify: ShopifyEmulator) -> Chain:
    return Chain(runtime, control, shopify)


def test_return_and_refund_restocked_on_package_approval(chain: Chain) -> None:
    request = chain.control.new_return(chain.tiktok_shop["id"], "RETURN_AND_REFUND", units=1)
    rid, [line] = request["return_id"], request["return_line_items"]
    shop = chain.connect_store(request, auto_restock=True, restock_trigger="package_approved",
                               restock_location="fulfilled_from")
    shop.order_for(request)
    before = shop.available(line["seller_sku"])

    chain.pull()  # requested: nothing for the store yet
    chain.mirror()
    assert shop.returns() == []

    chain.later()
    chain.tiktok.approve_return(rid, decision="APPROVE_RETURN")
    chain.pull()
    chain.mirror()
    [ret] = shop.returns()
    assert ret["status"] == "OPEN" and [li["quantity"] for li in ret["line_items"]] == [1]

    chain.later()
    chain.control("POST", f"/returns/{rid}/ship", {"tracking_number": "1Z999AA10123456784"})
    chain.later()
    chain.tiktok.approve_return(rid, decision="APPROVE_RECEIVED_PACKAGE")
    chain.webhook_refresh(CaseKind.RETURN, rid)
    chain.mirror()
    assert shop.available(line["seller_sku"]) == before + 1 and len(shop.restocks()) == 1
    assert shop.refunds() == []  # TikTok has not paid yet

    chain.later()
    paid = chain.refund_paid(rid)
    chain.pull()
    chain.mirror()
    assert paid["return_status"] == "RETURN_OR_REFUND_REQUEST_COMPLETE"
    [refund] = shop.refunds()
    assert Decimal(refund["total_refunded"]) == Decimal(paid["refund_amount"]["refund_total"])
    assert Decimal(refund["shipping_refunded"]) == Decimal(paid["refund_amount"]["refund_shipping_fee"])
    assert [li["restock_type"] for li in refund["line_items"]] == ["NO_RESTOCK"]

    chain.pull()  # seen again: nothing new anywhere
    chain.webhook_refresh(CaseKind.RETURN, rid)
    chain.mirror()
    assert (len(shop.returns()), len(shop.refunds()), len(shop.restocks())) == (1, 1, 1)
    assert shop.available(line["seller_sku"]) == before + 1
    ledger = reconcile(chain.runtime, store_id=chain.store_id, verify=True)
    assert [row.status for row in ledger.rows] == [MATCHED]


def test_refund_only(chain: Chain) -> None:
    request = chain.control.new_return(chain.tiktok_shop["id"], "REFUND", units=1)
    rid, [line] = request["return_id"], request["return_line_items"]
    shop = chain.connect_store(request, auto_restock=True)
    shop.order_for(request)
    before = shop.available(line["seller_sku"])
    chain.later()
    chain.tiktok.approve_return(rid, decision="APPROVE_REFUND")
    chain.later()
    paid = chain.refund_paid(rid)
    chain.webhook_refresh(CaseKind.RETURN, rid)
    chain.mirror()
    chain.pull()
    chain.mirror()
    [refund] = shop.refunds()
    assert Decimal(refund["total_refunded"]) == Decimal(paid["refund_amount"]["refund_total"])
    assert [li["restock_type"] for li in refund["line_items"]] == ["NO_RESTOCK"]
    assert shop.returns() == [] and shop.restocks() == [] and shop.available(line["seller_sku"]) == before


def test_cancellation_before_shipment(chain: Chain) -> None:
    request = chain.control.new_cancellation(chain.tiktok_shop["id"])
    cid, lines = request["cancel_id"], request["cancel_line_items"]
    shop = chain.connect_store(request, auto_restock=True)
    shop.order_for(request, fulfilled=False)
    sku = lines[0]["seller_sku"]
    before = shop.available(sku)
    chain.later()
    chain.tiktok.approve_cancellation(cid)
    chain.later()
    settled = chain.refund_paid(cid)
    assert settled["cancel_status"] == "CANCELLATION_REQUEST_COMPLETE"
    chain.pull()
    chain.mirror()
    chain.webhook_refresh(CaseKind.CANCELLATION, cid)
    chain.mirror()
    [refund] = shop.refunds()
    assert Decimal(refund["total_refunded"]) == Decimal(settled["refund_amount"]["refund_total"])
    assert {li["restock_type"] for li in refund["line_items"]} == {"CANCEL"}
    assert sum(li["quantity"] for li in refund["line_items"]) == len(lines)
    assert shop.returns() == [] and shop.restocks() == []  # restocked through the refund only
    assert shop.available(sku) == before + sum(1 for line in lines if line["seller_sku"] == sku)
