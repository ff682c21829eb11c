"""WooCommerce-specific mirroring checks over real HTTP, on SQLite and PostgreSQL: the refund body WooCommerce gets
(both auth styles), restock rules, WooCommerce's refusals and the meta lookup. Every platform-neutral path (each
effect, exactly once under crashes and lost answers, two workers, reconciliation, ended returns) is in the scenario
suite, ``tests/integration/store_scenarios``."""

from __future__ import annotations

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
from returnbridge.emulators.woocommerce.server import EmulatorServer
from returnbridge.sync import stores as store_service
from returnbridge.sync.ingest import store_page
from returnbridge.sync.mirror import mirror_store
from returnbridge.sync.runtime import Runtime

NOW = 1_790_000_000
COMPLETE = "RETURN_OR_REFUND_REQUEST_COMPLETE"
SUCCESS = "RETURN_OR_REFUND_REQUEST_SUCCESS"
META_KEY = "_tiktok_order_id"


@pytest.fixture(scope="module")
def woo_server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


class Site:
    """The emulator's site, reset for each test and read back through the control API."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=f"{server.base_url}/_emulator", timeout=10)
        self.call("POST", "/reset")

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def order(self, tiktok_order_id: str, skus: dict[str, int], **options: Any) -> dict[str, Any]:
        lines = [{"sku": sku, "quantity": n, "price": "22.00"} for sku, n in skus.items()]
        return self.call("POST", "/orders", {"tiktok_order_id": tiktok_order_id, "meta_key": META_KEY,
                                             "lines": lines, "shipping": "3.99", "tax_rate": "0.07", **options})

    def refunds(self) -> list[dict[str, Any]]:
        return self.call("GET", "/refunds")["refunds"]

    def return_notes(self) -> list[dict[str, Any]]:
        return [n for n in self.call("GET", "/notes")["notes"] if n["author"] != "system"]

    def stock(self, sku: str) -> int:
        return next(p["stock_quantity"] for p in self.call("GET", "/products")["products"] if p["sku"] == sku)

    def fault(self, kind: str, match: str, **extra: Any) -> None:
        self.call("POST", "/faults", {"kind": kind, "match": match, **extra})


@pytest.fixture
def site(woo_server: EmulatorServer) -> Iterator[Site]:
    s = Site(woo_server)
    yield s
    s.call("DELETE", "/faults")
    s.http.close()


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(_env_file=None, database_url=db_url, secret_key="woo-mirror-test",  # type: ignore[call-arg]
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


def connect(runtime: Runtime, site: Site, auth: str = "basic", **settings: Any) -> int:
    return store_service.add_woocommerce_store(
        runtime, url=site.server.base_url, consumer_key=site.server.consumer_key,
        consumer_secret=site.server.consumer_secret, auth=auth,
        settings={"mirroring": "record", "order_lookup": [{"kind": "meta", "key": META_KEY}], **settings},
    ).id


def tiktok(return_id: str, order_id: str, status: str, *, type_: str = "RETURN_AND_REFUND",
           skus: tuple[str, ...] = ("RB-001",), total: str = "27.53", kind: str = "return",
           update: int = NOW, currency: str = "USD", **extra: Any) -> dict[str, Any]:
    id_key, lines_key, line_id = ("return_id", "return_line_items", "return_line_item_id") if kind == "return" \
        else ("cancel_id", "cancel_line_items", "cancel_line_item_id")
    return {
        id_key: return_id, "order_id": order_id, ("return_type" if kind == "return" else "cancel_type"): type_,
        ("return_status" if kind == "return" else "cancel_status"): status,
        "create_time": NOW - 1000, "update_time": update,
        "refund_amount": {"currency": currency, "refund_total": total, "refund_subtotal": "22.00",
                          "refund_shipping_fee": "3.99", "refund_tax": "1.54"},
        "discount_amount": [{"currency": currency, "product_platform_discount": "4.00"}],
        lines_key: [{line_id: f"{return_id}-{i}", "seller_sku": sku, "refund_amount": {"currency": currency}}
                    for i, sku in enumerate(skus)],
        **extra,
    }


def ingest(runtime: Runtime, account_id: int, *items: dict[str, Any], kind: CaseKind = CaseKind.RETURN) -> None:
    with transaction(runtime.sessions) as session:
        store_page(session, account_id, kind, list(items), source="poll")


def states(runtime: Runtime) -> dict[str, str]:
    with transaction(runtime.sessions) as session:
        return {e.kind: e.state for e in session.scalars(select(StoreEffect).order_by(StoreEffect.id))}


def effect(runtime: Runtime, kind: str) -> StoreEffect:
    with transaction(runtime.sessions) as session:
        return session.scalars(select(StoreEffect).where(StoreEffect.kind == kind)).one()


# --- WooCommerce specifics ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["basic", "query"])
def test_refund_only_records_tiktoks_total_without_gateway_or_restock(
    runtime: Runtime, account_id: int, site: Site, auth: str
) -> None:
    store_id = connect(runtime, site, auth=auth, auto_restock=True)
    site.order("T1", {"RB-001": 1})
    before = site.stock("RB-001")
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, type_="REFUND"))
    report = mirror_store(runtime, store_id)
    assert report.done == 1 and states(runtime) == {"refund": "done"}
    [refund] = site.refunds()
    assert refund["amount"] == "27.53" and refund["refunded_payment"] is False
    assert f"rb-{store_id}-1-refund-v1" in refund["reason"]
    assert "TikTok-funded discount 4.00 USD not refunded" in refund["reason"]
    [line] = refund["line_items"]
    assert (line["quantity"], line["total"], [t["total"] for t in line["taxes"]]) == (-1, "-22.00", ["-1.54"])
    assert [s["total"] for s in refund["shipping_lines"]] == ["-3.99"]
    assert site.return_notes() == [] and site.stock("RB-001") == before
    assert effect(runtime, "refund").recorded_amount == Decimal("27.53")
    requests = site.call("GET", "/requests")["requests"]
    assert {r["auth"] for r in requests if r["route"] == "refunds.create"} == {auth}


def test_restock_does_nothing_where_the_order_never_reduced_stock(runtime: Runtime, account_id: int,
                                                                   site: Site) -> None:
    store_id = connect(runtime, site, auto_restock=True)
    site.order("T1", {"RB-001": 1}, reduced_stock=False)
    before = site.stock("RB-001")
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE))
    mirror_store(runtime, store_id)
    assert states(runtime) == {"return": "done", "refund": "done"}
    assert site.stock("RB-001") == before


def test_informational_mode_plans_no_restock_because_woocommerce_restocks_only_with_a_refund(
    runtime: Runtime, account_id: int, site: Site
) -> None:
    store_id = connect(runtime, site, mirroring="informational", auto_restock=True)
    site.order("T1", {"RB-001": 1})
    before = site.stock("RB-001")
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE))
    mirror_store(runtime, store_id)
    with transaction(runtime.sessions) as session:
        kinds = sorted(session.scalars(select(StoreEffect.kind)))
    assert kinds == ["return"] and site.stock("RB-001") == before


def test_refund_above_what_the_order_can_refund_is_held_with_woocommerces_message(
    runtime: Runtime, account_id: int, site: Site
) -> None:
    store_id = connect(runtime, site)
    site.order("T1", {"RB-001": 1})
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, type_="REFUND", total="99.00"))
    mirror_store(runtime, store_id)
    held = effect(runtime, "refund")
    assert held.state == "held" and "Invalid refund amount." in held.held_reason
    assert "woocommerce_rest_cannot_create_order_refund" in held.held_reason


def test_meta_lookup_scans_past_the_first_page_and_caches_the_match(runtime: Runtime, account_id: int,
                                                                     site: Site) -> None:
    store_id = connect(runtime, site)
    target = site.order("T-OLD", {"RB-001": 1}, date_created="2026-01-01T00:00:00+00:00")
    for i in range(120):
        site.order(f"T-NEW-{i}", {"RB-001": 1})
    ingest(runtime, account_id, tiktok("R1", "T-OLD", COMPLETE, type_="REFUND"))
    mirror_store(runtime, store_id)
    assert states(runtime) == {"refund": "done"}
    with transaction(runtime.sessions) as session:
        match = session.scalars(select(StoreOrderMatch)).one()
    assert (match.store_order_id, match.source) == (str(target["id"]), "lookup")


def test_meta_lookup_is_bounded_by_scan_pages(runtime: Runtime, account_id: int, site: Site) -> None:
    store_id = connect(runtime, site, order_lookup=[{"kind": "meta", "key": META_KEY, "scan_pages": 1}])
    site.order("T-OLD", {"RB-001": 1}, date_created="2026-01-01T00:00:00+00:00")
    for i in range(100):
        site.order(f"T-NEW-{i}", {"RB-001": 1})
    ingest(runtime, account_id, tiktok("R1", "T-OLD", COMPLETE, type_="REFUND"))
    mirror_store(runtime, store_id)
    assert effect(runtime, "refund").state == "held"
    listed = [r for r in site.call("GET", "/requests")["requests"] if r["route"] == "orders.list"]
    assert len(listed) == 1

