"""Mirroring into the Magento emulator over real HTTP, on SQLite and PostgreSQL: each path of issue 4 as it maps to
Magento (order comment for the return, offline credit memo for the refund, restock through the credit memo),
crashes between Magento's commit and ours, two workers at once, admin token renewal, and reconciliation."""

from __future__ import annotations

import threading
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
from returnbridge.stores.adapter import EffectResult
from returnbridge.stores.magento import MagentoCredentials
from returnbridge.sync import stores as store_service
from returnbridge.sync.ingest import store_page
from returnbridge.sync.mirror import Mirror, mirror_store
from returnbridge.sync.reconcile import MATCHED, reconcile
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


def test_refund_only_is_an_offline_credit_memo_for_tiktoks_total_without_restock(
    runtime: Runtime, account_id: int, site: Site
) -> None:
    store_id = connect(runtime, site, auto_restock=True)
    site.order("T1", {"RB-001": 1})
    before = site.quantity("RB-001")
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, type_="REFUND"))
    report = mirror_store(runtime, store_id)
    assert report.done == 1 and states(runtime) == {"refund": "done"}
    [memo] = site.memos()
    assert Decimal(str(memo["grand_total"])) == Decimal("27.53")
    assert Decimal(str(memo["shipping_amount"])) == Decimal("3.99") and memo["adjustment_positive"] == 0
    assert [(i["sku"], i["qty"]) for i in memo["items"]] == [("RB-001", 1)]
    [comment] = memo["comments"]
    assert f"rb-{store_id}-1-refund-v1" in comment["comment"] and comment["is_customer_notified"] == 0
    assert "TikTok-funded discount 4.00 USD not refunded" in comment["comment"]
    assert site.stock()["movements"] == [] and site.quantity("RB-001") == before
    assert site.return_comments() == []
    assert effect(runtime, "refund").recorded_amount == Decimal("27.53")


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


def test_no_restock_when_auto_restock_is_off(runtime: Runtime, account_id: int, site: Site) -> None:
    store_id = connect(runtime, site)
    site.order("T1", {"RB-001": 1})
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE))
    mirror_store(runtime, store_id)
    assert states(runtime) == {"return": "done", "refund": "done"}
    [memo] = site.memos()
    assert [i["extension_attributes"]["back_to_stock"] for i in memo["items"]] == [False]
    assert site.stock()["movements"] == []


def test_informational_mode_records_the_return_comment_and_no_credit_memo(
    runtime: Runtime, account_id: int, site: Site
) -> None:
    store_id = connect(runtime, site, mirroring="informational", auto_restock=True)
    site.order("T1", {"RB-001": 1})
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE))
    mirror_store(runtime, store_id)
    assert states(runtime) == {"return": "done"}
    assert len(site.return_comments()) == 1 and site.memos() == []


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


def test_cancellation_before_shipment_releases_the_reservation_through_the_credit_memo(
    runtime: Runtime, account_id: int, site: Site
) -> None:
    store_id = connect(runtime, site, auto_restock=True)
    site.order("T1", {"RB-001": 2}, ship=False)
    ingest(runtime, account_id, tiktok("C1", "T1", "CANCELLATION_REQUEST_COMPLETE", kind="cancellation",
                                       type_="BUYER_CANCEL", skus=("RB-001", "RB-001"), total="51.07"),
           kind=CaseKind.CANCELLATION)
    mirror_store(runtime, store_id)
    assert states(runtime) == {"refund": "done"}
    [memo] = site.memos()
    assert [(i["qty"], i["extension_attributes"]["back_to_stock"]) for i in memo["items"]] == [(2, True)]
    assert [(m["kind"], m["qty"]) for m in site.stock()["movements"]] == [("reservation_release", 2)]
    assert site.return_comments() == []


def test_multi_unit_partial_return_refunds_and_restocks_only_the_returned_units(
    runtime: Runtime, account_id: int, site: Site
) -> None:
    store_id = connect(runtime, site, auto_restock=True)
    site.order("T1", {"RB-001": 3, "RB-002": 1})
    before = site.quantity("RB-001")
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, skus=("RB-001", "RB-001"), total="51.07"))
    mirror_store(runtime, store_id)
    [memo] = site.memos()
    assert [(i["sku"], i["qty"]) for i in memo["items"] if i["qty"]] == [("RB-001", 2)]
    assert Decimal(str(memo["grand_total"])) == Decimal("51.07")
    assert site.quantity("RB-001") == before + 2 and "2 × RB-001" in site.return_comments()[0]


def test_currency_mismatch_is_held_and_nothing_reaches_the_store(
    runtime: Runtime, account_id: int, magento: EmulatorServer
) -> None:
    eur = Site(magento, currency="EUR")
    store_id = connect(runtime, eur)
    eur.order("T1", {"RB-001": 1})
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, type_="REFUND"))
    mirror_store(runtime, store_id)
    held = effect(runtime, "refund")
    assert held.state == "held" and "EUR" in held.held_reason and "never converted" in held.held_reason
    assert eur.memos() == []


def test_order_not_found_is_held_with_what_was_tried(runtime: Runtime, account_id: int, site: Site) -> None:
    store_id = connect(runtime, site)
    ingest(runtime, account_id, tiktok("R1", "NOPE", COMPLETE, type_="REFUND"))
    mirror_store(runtime, store_id)
    held = effect(runtime, "refund")
    assert held.state == "held" and "no store order found for TikTok order NOPE" in held.held_reason


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


# --- exactly once ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["order_comment", "refund"])
def test_magento_committed_but_the_answer_was_lost_each_effect_exists_once(
    runtime: Runtime, account_id: int, site: Site, route: str
) -> None:
    store_id = connect(runtime, site, auto_restock=True)
    site.order("T1", {"RB-001": 1})
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE))
    site.fault("commit_then_error", route)
    mirror_store(runtime, store_id)
    all_due_now(runtime)
    report = mirror_store(runtime, store_id)
    assert states(runtime) == {"return": "done", "refund": "done"} and report.adopted == 1
    assert (len(site.return_comments()), len(site.memos()), len(site.stock()["movements"])) == (1, 1, 1)


@pytest.mark.parametrize("kind", ["return", "refund"])
def test_process_killed_after_magento_answered_the_restart_creates_nothing_twice(
    runtime: Runtime, account_id: int, site: Site, kind: str
) -> None:
    store_id = connect(runtime, site, auto_restock=True)
    site.order("T1", {"RB-001": 1})
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE))

    class Killed(BaseException):
        pass

    def die(_id: int, done: str, _result: EffectResult) -> None:
        if done == kind:
            raise Killed

    with pytest.raises(Killed):
        Mirror(runtime, store_id, after_store_call=die).run()
    assert effect(runtime, kind).state == "in_progress"
    mirror_store(runtime, store_id)
    assert states(runtime) == {"return": "done", "refund": "done"}
    assert (len(site.return_comments()), len(site.memos()), len(site.stock()["movements"])) == (1, 1, 1)
    assert effect(runtime, "refund").recorded_amount == Decimal("27.53")


def test_two_workers_mirroring_the_same_store_at_once_make_one_of_each(
    runtime: Runtime, account_id: int, site: Site
) -> None:
    store_id = connect(runtime, site, auto_restock=True)
    for i in range(5):
        site.order(f"T{i}", {"RB-001": 1})
    ingest(runtime, account_id, *[tiktok(f"R{i}", f"T{i}", COMPLETE) for i in range(5)])
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        mirror_store(runtime, store_id)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    mirror_store(runtime, store_id)  # whatever the busy worker skipped
    assert (len(site.return_comments()), len(site.memos()), len(site.stock()["movements"])) == (5, 5, 5)


def test_reconciliation_reads_the_credit_memos_back_as_matched(runtime: Runtime, account_id: int,
                                                                site: Site) -> None:
    store_id = connect(runtime, site)
    for i in range(3):
        site.order(f"T{i}", {"RB-001": 1})
    ingest(runtime, account_id, *[tiktok(f"R{i}", f"T{i}", COMPLETE, type_="REFUND") for i in range(3)])
    mirror_store(runtime, store_id)
    ledger = reconcile(runtime, store_id=store_id, verify=True)
    assert [r.status for r in ledger.rows] == [MATCHED] * 3
    [total] = ledger.totals()
    assert (total.tiktok_refunded, total.store_recorded) == (Decimal("82.59"), Decimal("82.59"))
