"""What is particular to Magento, against its emulator over real HTTP, on SQLite and PostgreSQL: MSI returning a unit
to the source it shipped from, TikTok's total copied through the credit memo's adjustments, the qty-0 money-only
credit memo, Magento's validation message, each order lookup, the settings Magento cannot honour, and ending a
return as an order comment exactly once. Every path, crash, race and reconciliation common to all platforms is in
the store scenario suite (tests/integration/store_scenarios); token renewal is in test_magento_client.py."""

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
from returnbridge.emulators.magento.server import EmulatorServer
from returnbridge.stores.adapter import (
    PermanentStoreError,
    ReturnCancelRequest,
    ReturnRequest,
    TransientStoreError,
    Units,
)
from returnbridge.stores.magento import MagentoAdapter, MagentoClient, MagentoCredentials
from returnbridge.stores.settings import LookupStrategy
from returnbridge.sync import stores as store_service
from returnbridge.sync.ingest import store_page
from returnbridge.sync.mirror import mirror_store
from returnbridge.sync.runtime import Runtime

NOW = 1_790_000_000
COMPLETE = "RETURN_OR_REFUND_REQUEST_COMPLETE"
SUCCESS = "RETURN_OR_REFUND_REQUEST_SUCCESS"


@pytest.fixture(scope="module")
def magento() -> Iterator[EmulatorServer]:
    with EmulatorServer(seed_orders=0) as server:
        yield server


class Site:
    """One fresh emulated Magento installation, driven and read back through the control API."""

    def __init__(self, server: EmulatorServer, currency: str = "USD", **options: Any) -> None:
        self.http = httpx.Client(base_url=f"{server.base_url}/_emulator", timeout=10)
        self.name = f"m{uuid.uuid4().hex[:10]}"
        info = self.call("POST", "/sites", {"name": self.name, "currency": currency, "username": "rb",
                                            "password": "secret-1", "sources": ["default", "warehouse"],
                                            **options})
        self.rest_url = info["rest_url"]

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def order(self, tiktok_order_id: str, skus: dict[str, int], **options: Any) -> dict[str, Any]:
        lines = [{"sku": sku, "qty": n, "price": "22.00"} for sku, n in skus.items()]
        return self.call("POST", f"/sites/{self.name}/orders", {
            "tiktok_order_id": tiktok_order_id, "lines": lines, "shipping": "3.99", "tax_rate": "0.07", **options})

    def memos(self) -> list[dict[str, Any]]:
        return self.call("GET", f"/sites/{self.name}/creditmemos")["creditmemos"]

    def return_comments(self) -> list[str]:
        orders = self.call("GET", f"/sites/{self.name}/orders")["orders"]
        return [h["comment"] for o in orders for h in o["status_histories"] if "-return-" in h["comment"]]

    def stock(self) -> dict[str, Any]:
        return self.call("GET", f"/sites/{self.name}/stock")

    def quantity(self, sku: str, source: str = "default") -> Decimal:
        return next(Decimal(str(r["quantity"])) for r in self.stock()["source_items"]
                    if (r["sku"], r["source_code"]) == (sku, source))

    def fault(self, kind: str, match: str, **extra: Any) -> None:
        self.call("POST", "/faults", {"kind": kind, "match": match, "site": self.name, **extra})


@pytest.fixture
def site(magento: EmulatorServer) -> Iterator[Site]:
    s = Site(magento)
    yield s
    s.call("DELETE", "/faults")
    s.http.close()


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(_env_file=None, database_url=db_url, secret_key="magento-mirror-test",  # type: ignore[call-arg]
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


def connect(runtime: Runtime, site: Site, **settings: Any) -> int:
    credentials = MagentoCredentials("admin", username="rb", password="secret-1")
    return store_service.add_magento_store(runtime, url=site.rest_url, credentials=credentials,
                                           settings={"mirroring": "record", **settings}).id


def tiktok(return_id: str, order_id: str, status: str, *, type_: str = "RETURN_AND_REFUND",
           skus: tuple[str, ...] = ("RB-001",), total: str = "27.53", kind: str = "return",
           update: int = NOW, **extra: Any) -> dict[str, Any]:
    id_key, lines_key, line_id = ("return_id", "return_line_items", "return_line_item_id") if kind == "return" \
        else ("cancel_id", "cancel_line_items", "cancel_line_item_id")
    return {
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


def ingest(runtime: Runtime, account_id: int, *items: dict[str, Any], kind: CaseKind = CaseKind.RETURN) -> None:
    with transaction(runtime.sessions) as session:
        store_page(session, account_id, kind, list(items), source="poll")


def states(runtime: Runtime) -> dict[str, str]:
    with transaction(runtime.sessions) as session:
        return {e.kind: e.state for e in session.scalars(select(StoreEffect).order_by(StoreEffect.id))}


def effect(runtime: Runtime, kind: str) -> StoreEffect:
    with transaction(runtime.sessions) as session:
        return session.scalars(select(StoreEffect).where(StoreEffect.kind == kind)).one()


def all_due_now(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        for row in session.scalars(select(StoreEffect)):
            row.next_attempt_at = utcnow()


# --- each path --------------------------------------------------------------------------------------------------


def test_return_and_refund_with_restock_puts_the_unit_back_on_its_shipping_source(
    runtime: Runtime, account_id: int, site: Site
) -> None:
    store_id = connect(runtime, site, auto_restock=True, restock_trigger="package_approved")
    site.order("T1", {"RB-001": 1}, source_code="warehouse")
    before = site.quantity("RB-001", "warehouse")
    ingest(runtime, account_id, tiktok("R1", "T1", SUCCESS))
    mirror_store(runtime, store_id)
    # Magento restocks only inside the credit memo: nothing moves until the refund, and no restock effect exists.
    assert states(runtime) == {"return": "done"} and site.quantity("RB-001", "warehouse") == before
    [comment] = site.return_comments()
    assert f"rb-{store_id}-1-return-v1" in comment and "1 × RB-001" in comment
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, update=NOW + 60))
    mirror_store(runtime, store_id)
    assert states(runtime) == {"return": "done", "refund": "done"}
    [memo] = site.memos()
    assert [i["extension_attributes"]["back_to_stock"] for i in memo["items"]] == [True]
    assert site.quantity("RB-001", "warehouse") == before + 1
    assert [(m["kind"], m["source_code"], m["qty"]) for m in site.stock()["movements"]] == [
        ("source_return", "warehouse", 1)]


def test_partial_refund_is_money_only_with_every_item_at_qty_zero(
    runtime: Runtime, account_id: int, site: Site
) -> None:
    store_id = connect(runtime, site, auto_restock=True)
    site.order("T1", {"RB-001": 1})
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, type_="REFUND", total="5.00",
                                       partial_refund={"currency": "USD", "amount": "5.00"}))
    mirror_store(runtime, store_id)
    [memo] = site.memos()
    assert Decimal(str(memo["grand_total"])) == Decimal("5.00") and [i["qty"] for i in memo["items"]] == [0]
    # TikTok's shipping component as sent; the rest of its total is the adjustment, never a recomputed amount.
    assert (Decimal(str(memo["shipping_amount"])), Decimal(str(memo["adjustment_positive"]))) == (
        Decimal("3.99"), Decimal("1.01"))
    assert effect(runtime, "refund").recorded_amount == Decimal("5.00")


def test_magentos_validation_message_holds_the_refund(runtime: Runtime, account_id: int, site: Site) -> None:
    store_id = connect(runtime, site)
    site.order("T1", {"RB-001": 1}, invoice=False)  # never invoiced, so never paid in Magento
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, type_="REFUND", total="5.00",
                                       partial_refund={"currency": "USD", "amount": "5.00"}))
    mirror_store(runtime, store_id)
    held = effect(runtime, "refund")
    assert held.state == "held" and "We can't create creditmemo for the order." in held.held_reason


@pytest.mark.parametrize(("id_field", "strategy"), [
    ("increment_id", {"kind": "increment_id"}),
    ("ext_order_id", {"kind": "ext_order_id"}),
    ("tiktok_order_id", {"kind": "order_field", "key": "tiktok_order_id"}),
])
def test_each_lookup_strategy_finds_the_order_and_caches_the_match(
    runtime: Runtime, account_id: int, site: Site, id_field: str, strategy: dict[str, Any]
) -> None:
    store_id = connect(runtime, site, order_lookup=[{"kind": "name", "prefix": "TT-"}, strategy])
    order = site.order("576460752303423488", {"RB-001": 1}, id_field=id_field)
    ingest(runtime, account_id, tiktok("R1", "576460752303423488", COMPLETE))
    mirror_store(runtime, store_id)
    assert states(runtime) == {"return": "done", "refund": "done"}
    with transaction(runtime.sessions) as session:
        match = session.scalars(select(StoreOrderMatch)).one()
    assert (match.store_order_id, match.source) == (str(order["entity_id"]), "lookup")


def test_settings_magento_cannot_honour_are_refused(runtime: Runtime, site: Site) -> None:
    with pytest.raises(store_service.StoreServiceError, match="not available on magento"):
        connect(runtime, site, order_lookup=[{"kind": "tag"}])
    with pytest.raises(store_service.StoreServiceError, match="shipped from"):
        connect(runtime, site, auto_restock=True, restock_location="chosen", restock_location_id="warehouse")


@pytest.mark.parametrize(("total", "positive", "negative"), [
    ("27.53", "0", "0"),  # TikTok's total is Magento's own: 22.00 + 1.54 tax + 3.99 shipping
    ("30.00", "2.47", "0"),  # TikTok refunded more (its fees): the difference is the adjustment refund
    ("20.00", "0", "7.53"),  # less (a price difference): the adjustment fee
])
def test_the_credit_memo_total_is_tiktoks_through_the_adjustments_and_the_customer_is_not_notified(
    runtime: Runtime, account_id: int, site: Site, total: str, positive: str, negative: str
) -> None:
    store_id = connect(runtime, site)
    site.order("T1", {"RB-001": 2})  # room for a credit memo above one unit's own total (Magento caps at paid)
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, type_="REFUND", total=total))
    mirror_store(runtime, store_id)
    [memo] = site.memos()
    assert Decimal(str(memo["grand_total"])) == Decimal(total)
    assert (Decimal(str(memo["adjustment_positive"])), Decimal(str(memo["adjustment_negative"]))) == (
        Decimal(positive), Decimal(negative))
    assert [(i["sku"], i["qty"]) for i in memo["items"]] == [("RB-001", 1)]
    [comment] = memo["comments"]
    assert f"rb-{store_id}-1-refund-v1" in comment["comment"]
    assert (comment["is_customer_notified"], comment["is_visible_on_front"]) == (0, 0)
    assert effect(runtime, "refund").recorded_amount == Decimal(total)


# --- ending a return ------------------------------------------------------------------------------------------------


def adapter_with_return(site: Site, return_key: str) -> tuple[MagentoAdapter, ReturnRequest]:
    adapter = MagentoAdapter(MagentoClient(site.rest_url, MagentoCredentials("admin", username="rb",
                                                                             password="secret-1")))
    site.order("T1", {"RB-001": 2})
    order = adapter.find_order("T1", LookupStrategy(kind="name"))
    assert order is not None
    request = ReturnRequest(order, (Units("RB-001", 1),), return_key, f"ReturnBridge {return_key} · TikTok return R1")
    return adapter, request


def ending_comments(site: Site) -> list[dict[str, Any]]:
    orders = site.call("GET", f"/sites/{site.name}/orders")["orders"]
    return [h for o in orders for h in o["status_histories"] if "-return_cancel-" in h["comment"]]


def test_ending_a_return_whose_answer_was_lost_adopts_the_comment_magento_kept(site: Site) -> None:
    adapter, ret = adapter_with_return(site, "rb-1-1-return-v1")
    created = adapter.create_return(ret)
    cancel = ReturnCancelRequest(ret.order, ret.key, "rb-1-1-return_cancel-v1",
                                 "ReturnBridge rb-1-1-return_cancel-v1 · TikTok return R1 rejected on TikTok",
                                 rejected=True)
    site.fault("commit_then_error", "order_comment")
    with pytest.raises(TransientStoreError):
        adapter.cancel_return(cancel)
    [written] = ending_comments(site)
    assert "return ended: rejected by TikTok" in written["comment"]
    assert (written["is_customer_notified"], written["is_visible_on_front"]) == (0, 0)
    # The retry (and any later repeat) finds our key and writes nothing.
    for _ in range(2):
        again = adapter.cancel_return(cancel)
        assert (again.record_id, again.detail["changed"]) == (created.record_id, False)
        assert again.detail["ended_by"] == f"order-comment-{written['entity_id']}"
    assert len(ending_comments(site)) == 1
    # The ending comment names the return by its comment id, so the return's key still finds the return alone.
    assert [r.record_id for r in adapter.find_effects(ret.order, "return", ret.key)] == [created.record_id]


def test_ending_a_return_writes_once_when_magento_answers(site: Site) -> None:
    adapter, ret = adapter_with_return(site, "rb-1-1-return-v1")
    created = adapter.create_return(ret)
    cancel = ReturnCancelRequest(ret.order, ret.key, "rb-1-1-return_cancel-v1",
                                 "ReturnBridge rb-1-1-return_cancel-v1 · TikTok return R1 cancelled on TikTok",
                                 rejected=False)
    first = adapter.cancel_return(cancel)
    assert (first.record_id, first.detail["changed"]) == (created.record_id, True)
    assert "return ended: cancelled by TikTok" in first.detail["comment"]
    assert adapter.cancel_return(cancel).detail["changed"] is False
    assert len(ending_comments(site)) == 1


def test_ending_a_return_magento_never_recorded_is_refused(site: Site) -> None:
    adapter, ret = adapter_with_return(site, "rb-1-1-return-v1")
    cancel = ReturnCancelRequest(ret.order, ret.key, "rb-1-1-return_cancel-v1", "ReturnBridge rb-1-1-return_cancel-v1",
                                 rejected=True)
    with pytest.raises(PermanentStoreError, match="there is no return to end"):
        adapter.cancel_return(cancel)
    assert ending_comments(site) == []
