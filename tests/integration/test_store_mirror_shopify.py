"""Shopify specifics of mirroring, against the Shopify emulator over real HTTP, on SQLite and PostgreSQL: what the
refund, return and adjustment carry (note, gateway, restock type, reference URI), the lookup strategies, a 502 after
Shopify committed. Every path, crash, race and reconciliation runs for every platform in ``store_scenarios/``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from returnbridge.config import Settings
from returnbridge.db.engine import transaction
from returnbridge.db.models import StoreEffect, StoreOrderMatch, TikTokAccount, utcnow
from returnbridge.domain.statuses import CaseKind
from returnbridge.emulators.shopify.server import EmulatorServer
from returnbridge.sync import stores as store_service
from returnbridge.sync.ingest import store_page
from returnbridge.sync.mirror import mirror_store
from returnbridge.sync.runtime import Runtime

NOW = 1_790_000_000
COMPLETE = "RETURN_OR_REFUND_REQUEST_COMPLETE"
SUCCESS = "RETURN_OR_REFUND_REQUEST_SUCCESS"


@pytest.fixture(scope="module")
def shopify() -> Iterator[EmulatorServer]:
    with EmulatorServer(seed_orders=0) as server:
        yield server


class Shop:
    """One fresh emulator store, driven and read back through the control API."""

    def __init__(self, server: EmulatorServer, currency: str = "USD") -> None:
        self.http = httpx.Client(base_url=f"{server.base_url}/_emulator", timeout=10)
        self.domain = f"t{uuid.uuid4().hex[:10]}.myshopify.com"
        self.token = f"shpat_{uuid.uuid4().hex}"
        summary = self.call("POST", "/stores", {"domain": self.domain, "token": self.token, "currency": currency,
                                                "orders": 0})
        self.locations = [loc["id"] for loc in summary["locations"]]
        self.variants = {v["sku"]: v for v in summary["variants"]}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def order(self, tiktok_order_id: str, skus: dict[str, int], **options: Any) -> dict[str, Any]:
        lines = [{"sku": sku, "quantity": n, "price": "22.00"} for sku, n in skus.items()]
        return self.call("POST", f"/stores/{self.domain}/orders", {
            "tiktok_order_id": tiktok_order_id, "lines": lines, "shipping": "3.99", "tax_rate": "0.07", **options})

    def returns(self) -> list[dict[str, Any]]:
        return self.call("GET", f"/stores/{self.domain}/returns")["returns"]

    def refunds(self) -> list[dict[str, Any]]:
        return self.call("GET", f"/stores/{self.domain}/refunds")["refunds"]

    def adjustments(self) -> list[dict[str, Any]]:
        """Restocks made through inventoryAdjustQuantities (not those a refund's restock type caused)."""
        return [a for a in self.call("GET", f"/stores/{self.domain}/adjustments")["adjustments"]
                if a["source"] == "inventoryAdjustQuantities"]

    def refund_restocks(self) -> list[dict[str, Any]]:
        return [a for a in self.call("GET", f"/stores/{self.domain}/adjustments")["adjustments"]
                if a["source"] == "refundCreate"]

    def available(self, sku: str, location: str) -> int:
        item = self.variants[sku]["inventory_item_id"]
        for level in self.call("GET", f"/stores/{self.domain}/inventory")["levels"]:
            if level["inventory_item_id"] == item and level["location_id"] == location:
                return int(level["quantities"]["available"])
        raise AssertionError("not stocked there")

    def fault(self, kind: str, match: str, **extra: Any) -> None:
        self.call("POST", "/faults", {"kind": kind, "match": match, "store": self.domain, **extra})


@pytest.fixture
def shop(shopify: EmulatorServer) -> Iterator[Shop]:
    s = Shop(shopify)
    yield s
    s.call("DELETE", "/faults")
    s.http.close()


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(_env_file=None, database_url=db_url, secret_key="shopify-mirror-test",  # type: ignore[call-arg]
                        var_dir=tmp_path / "var")
    rt = Runtime.from_settings(settings)
    yield rt
    rt.close()


@pytest.fixture
def account_id(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        account = TikTokAccount(shop_id="S1", shop_cipher="C1", access_token_encrypted="x",
                                refresh_token_encrypted="y", access_token_expires_at=utcnow(),
                                refresh_token_expires_at=utcnow())
        session.add(account)
        session.flush()
        return account.id


def connect(runtime: Runtime, shopify: EmulatorServer, shop: Shop, **settings: Any) -> int:
    return store_service.add_shopify_store(runtime, domain=shopify.base_url, access_token=shop.token,
                                           settings={"mirroring": "record", **settings}).id


def tiktok(return_id: str, order_id: str, status: str, *, type_: str = "RETURN_AND_REFUND",
           skus: tuple[str, ...] = ("RB-001",), total: str = "27.53", kind: str = "return",
           update: int = NOW, **extra: Any) -> dict[str, Any]:
    id_key, lines_key, line_id = ("return_id", "return_line_items", "return_line_item_id") if kind == "return" \
        else ("cancel_id", "cancel_line_items", "cancel_line_item_id")
    item = {
        id_key: return_id, "order_id": order_id, ("return_type" if kind == "return" else "cancel_type"): type_,
        ("return_status" if kind == "return" else "cancel_status"): status,
        "create_time": NOW - 1000, "update_time": update,
        "refund_amount": {"currency": "USD", "refund_total": total, "refund_subtotal": "22.00",
                          "refund_shipping_fee": "3.99", "refund_tax": "1.54"},
        "discount_amount": [{"currency": "USD", "product_platform_discount": "4.00"}],
        lines_key: [{line_id: f"{return_id}-{i}", "seller_sku": sku, "refund_amount": {"currency": "USD"}}
                    for i, sku in enumerate(skus)],
        **extra,
    }
    return item


def ingest(runtime: Runtime, account_id: int, *items: dict[str, Any], kind: CaseKind = CaseKind.RETURN) -> None:
    with transaction(runtime.sessions) as session:
        store_page(session, account_id, kind, list(items), source="poll")


def states(runtime: Runtime) -> dict[str, str]:
    with transaction(runtime.sessions) as session:
        return {e.kind: e.state for e in session.scalars(select(StoreEffect).order_by(StoreEffect.id))}


def effect(runtime: Runtime, kind: str) -> StoreEffect:
    with transaction(runtime.sessions) as session:
        return session.scalars(select(StoreEffect).where(StoreEffect.kind == kind)).one()


# --- each path --------------------------------------------------------------------------------------------------


def test_refund_only_records_tiktoks_total_as_settled_without_restock(
    runtime: Runtime, account_id: int, shopify: EmulatorServer, shop: Shop
) -> None:
    store_id = connect(runtime, shopify, shop, auto_restock=True)
    shop.order("T1", {"RB-001": 1})
    before = shop.available("RB-001", shop.locations[0])
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, type_="REFUND"))
    report = mirror_store(runtime, store_id)
    assert report.done == 1 and states(runtime) == {"refund": "done"}
    [refund] = shop.refunds()
    assert refund["total_refunded"] == "27.53" and refund["shipping_refunded"] == "3.99"
    assert f"rb-{store_id}-" in refund["note"] and "TikTok-funded discount 4.00 USD not refunded" in refund["note"]
    assert [t["gateway"] for t in refund["transactions"]] == ["manual"]
    assert [li["restock_type"] for li in refund["line_items"]] == ["NO_RESTOCK"]
    assert shop.returns() == [] and shop.adjustments() == []
    assert shop.available("RB-001", shop.locations[0]) == before
    assert effect(runtime, "refund").recorded_amount == Decimal("27.53")


def test_return_and_refund_with_restock_on_package_approval(
    runtime: Runtime, account_id: int, shopify: EmulatorServer, shop: Shop
) -> None:
    store_id = connect(runtime, shopify, shop, auto_restock=True, restock_trigger="package_approved",
                       restock_location="fulfilled_from")
    shop.order("T1", {"RB-001": 1})
    before = shop.available("RB-001", shop.locations[0])
    ingest(runtime, account_id, tiktok("R1", "T1", SUCCESS))
    mirror_store(runtime, store_id)
    assert states(runtime) == {"return": "done", "restock": "done"}
    assert shop.available("RB-001", shop.locations[0]) == before + 1
    [adjustment] = shop.adjustments()
    assert adjustment["reference_document_uri"] == f"gid://returnbridge/StoreEffect/rb-{store_id}-1-restock-v1"
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, update=NOW + 60))
    mirror_store(runtime, store_id)
    assert states(runtime) == {"return": "done", "restock": "done", "refund": "done"}
    [ret] = shop.returns()
    assert ret["status"] == "OPEN" and f"rb-{store_id}-1-return-v1" in ret["line_items"][0]["return_reason_note"]
    assert len(shop.refunds()) == 1
    assert shop.available("RB-001", shop.locations[0]) == before + 1  # restocked through one path only


def test_cancellation_before_shipment_refunds_and_restocks_through_the_refund(
    runtime: Runtime, account_id: int, shopify: EmulatorServer, shop: Shop
) -> None:
    store_id = connect(runtime, shopify, shop, auto_restock=True)
    shop.order("T1", {"RB-001": 2}, fulfilled=False)
    ingest(runtime, account_id, tiktok("C1", "T1", "CANCELLATION_REQUEST_COMPLETE", kind="cancellation",
                                       type_="BUYER_CANCEL", skus=("RB-001", "RB-001")), kind=CaseKind.CANCELLATION)
    mirror_store(runtime, store_id)
    assert states(runtime) == {"refund": "done"}
    [refund] = shop.refunds()
    assert [(li["restock_type"], li["quantity"]) for li in refund["line_items"]] == [("CANCEL", 2)]
    assert shop.returns() == [] and shop.adjustments() == []  # one restock path: the refund's
    assert [c["delta"] for a in shop.refund_restocks() for c in a["changes"] if c["name"] == "available"] == [2]


@pytest.mark.parametrize(("style", "strategy"), [
    ({"style": "name", "prefix": "TT-"}, {"kind": "name", "prefix": "TT-"}),
    ({"style": "tag", "tag_prefix": "tiktok-"}, {"kind": "tag", "prefix": "tiktok-"}),
    ({"style": "custom_attribute"},
     {"kind": "note_attribute", "key": "TikTok Order Number", "scan_query": "tag:TikTok"}),
    ({"style": "source_identifier"}, {"kind": "source_identifier"}),
    ({"style": "metafield"}, {"kind": "metafield", "namespace": "tiktok", "key": "order_id"}),
])
def test_each_lookup_strategy_finds_the_order_and_caches_the_match(
    runtime: Runtime, account_id: int, shopify: EmulatorServer, shop: Shop, style: dict[str, Any],
    strategy: dict[str, Any]
) -> None:
    store_id = connect(runtime, shopify, shop, order_lookup=[{"kind": "name"}, strategy])
    order = shop.order("576460752303423488", {"RB-001": 1}, **style)
    ingest(runtime, account_id, tiktok("R1", "576460752303423488", COMPLETE))
    mirror_store(runtime, store_id)
    assert states(runtime) == {"return": "done", "refund": "done"}
    with transaction(runtime.sessions) as session:
        match = session.scalars(select(StoreOrderMatch)).one()
    assert (match.store_order_id, match.source) == (order["id"], "lookup")


# --- exactly once ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mutation", ["returnCreate", "refundCreate", "inventoryAdjustQuantities"])
def test_shopify_committed_but_the_answer_was_lost_each_effect_exists_once(
    runtime: Runtime, account_id: int, shopify: EmulatorServer, shop: Shop, mutation: str
) -> None:
    store_id = connect(runtime, shopify, shop, auto_restock=True)
    shop.order("T1", {"RB-001": 1})
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE))
    shop.fault("commit_then_error", mutation)
    mirror_store(runtime, store_id)
    with transaction(runtime.sessions) as session:  # what backed off is due again now
        for row in session.scalars(select(StoreEffect)):
            row.next_attempt_at = utcnow()
    mirror_store(runtime, store_id)
    assert states(runtime) == {"return": "done", "refund": "done", "restock": "done"}
    assert (len(shop.returns()), len(shop.refunds()), len(shop.adjustments())) == (1, 1, 1)


def test_two_emulator_shops_behind_one_url_are_two_stores_and_neither_is_added_twice(
    runtime: Runtime, shopify: EmulatorServer
) -> None:
    first, second = Shop(shopify), Shop(shopify)
    a = store_service.add_shopify_store(runtime, domain=shopify.base_url, access_token=first.token)
    b = store_service.add_shopify_store(runtime, domain=shopify.base_url, access_token=second.token)
    assert (a.base_url, b.base_url) == (shopify.base_url, shopify.base_url)
    assert (a.shop_domain, b.shop_domain) == (first.domain, second.domain)  # as the emulator reports them
    with pytest.raises(store_service.StoreServiceError, match="already added"):
        store_service.add_shopify_store(runtime, domain=shopify.base_url, access_token=first.token)
    with pytest.raises(store_service.StoreServiceError, match="belongs to"):
        store_service.add_shopify_store(runtime, domain=shopify.base_url, access_token=first.token,
                                        shop_domain="other.myshopify.com")
    with pytest.raises(store_service.StoreServiceError, match="does not match"):
        store_service.add_shopify_store(runtime, domain="acme.myshopify.com", access_token="shpat_x",
                                        shop_domain="other.myshopify.com")
    first.http.close()
    second.http.close()
