"""Mirroring into the PrestaShop webservice emulator over real HTTP, on SQLite and PostgreSQL: each path of
issue 5, lookup by reference and by another field, a lost answer and a crash between PrestaShop's commit and ours
(found again through our private order messages), two workers at once, reconciliation."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from returnbridge.config import Settings
from returnbridge.db.engine import transaction
from returnbridge.db.models import StoreEffect, TikTokAccount, utcnow
from returnbridge.domain.statuses import CaseKind
from returnbridge.emulators.prestashop.server import EmulatorServer
from returnbridge.stores.adapter import EffectResult
from returnbridge.sync import stores as store_service
from returnbridge.sync.ingest import store_page
from returnbridge.sync.mirror import Mirror, mirror_store
from returnbridge.sync.reconcile import MATCHED, reconcile
from returnbridge.sync.runtime import Runtime

from .test_store_mirror_woocommerce import COMPLETE, SUCCESS, tiktok


@pytest.fixture(scope="module")
def ps_server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


class Shop:
    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=f"{server.base_url}/_emulator", timeout=10)
        self.call("POST", "/reset")

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def order(self, reference: str, skus: dict[str, int], **options: Any) -> dict[str, Any]:
        lines = [{"sku": sku, "quantity": n, "price": "22.00"} for sku, n in skus.items()]
        return self.call("POST", "/orders", {"reference": reference, "lines": lines, "shipping": "3.99",
                                             "tax_rate": "0.07", **options})

    def state(self) -> dict[str, Any]:
        return self.call("GET", "/state")

    def slips(self) -> list[dict[str, Any]]:
        return self.state()["slips"]

    def return_messages(self) -> list[dict[str, Any]]:
        return [m for m in self.state()["messages"] if "-return-v1" in m["message"]]

    def stock(self, sku: str) -> int:
        state = self.state()
        product = state["products"][sku]
        return next(int(s["quantity"]) for s in state["stock"] if s["id_product"] == str(product))

    def fault(self, kind: str, match: str) -> None:
        self.call("POST", "/faults", {"kind": kind, "match": match})


@pytest.fixture
def shop(ps_server: EmulatorServer) -> Iterator[Shop]:
    s = Shop(ps_server)
    yield s
    s.call("DELETE", "/faults")
    s.http.close()


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(_env_file=None, database_url=db_url, secret_key="ps-mirror-test",  # type: ignore[call-arg]
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


def connect(runtime: Runtime, shop: Shop, **settings: Any) -> int:
    return store_service.add_prestashop_store(runtime, url=shop.server.base_url, webservice_key=shop.server.key,
                                              settings={"mirroring": "record", **settings}).id


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


def test_refund_only_records_a_credit_slip_with_tiktoks_amounts(runtime: Runtime, account_id: int,
                                                                shop: Shop) -> None:
    store_id = connect(runtime, shop, auto_restock=True)
    shop.order("T1", {"RB-001": 1})
    before = shop.stock("RB-001")
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, type_="REFUND"))
    mirror_store(runtime, store_id)
    assert states(runtime) == {"refund": "done"}
    [slip] = shop.slips()
    assert (slip["amount"], slip["total_products_tax_excl"], slip["total_products_tax_incl"],
            slip["total_shipping_tax_incl"]) == ("27.530000", "22.000000", "23.540000", "3.990000")
    assert slip["associations"]["order_slip_details"] == [
        {"id_order_detail": "1", "product_quantity": "1", "amount_tax_excl": "22.000000",
         "amount_tax_incl": "23.540000"}]
    messages = [m["message"] for m in shop.state()["messages"]]
    assert any(f"rb-{store_id}-1-refund-v1: credit slip {slip['id']} recorded" in m for m in messages)
    assert all(m["private"] == "1" for m in shop.state()["messages"])
    assert shop.stock("RB-001") == before
    assert effect(runtime, "refund").recorded_amount == Decimal("27.53")


def test_return_and_refund_with_restock_on_package_approval(runtime: Runtime, account_id: int, shop: Shop) -> None:
    store_id = connect(runtime, shop, auto_restock=True, restock_trigger="package_approved")
    shop.order("T1", {"RB-001": 1})
    before = shop.stock("RB-001")
    ingest(runtime, account_id, tiktok("R1", "T1", SUCCESS))
    mirror_store(runtime, store_id)
    assert states(runtime) == {"return": "done", "restock": "done"}
    assert shop.stock("RB-001") == before + 1 and len(shop.return_messages()) == 1
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, update=1_790_000_060))
    mirror_store(runtime, store_id)
    assert states(runtime) == {"return": "done", "restock": "done", "refund": "done"}
    assert len(shop.slips()) == 1 and shop.stock("RB-001") == before + 1


def test_no_restock_when_auto_restock_is_off(runtime: Runtime, account_id: int, shop: Shop) -> None:
    store_id = connect(runtime, shop)
    shop.order("T1", {"RB-001": 1})
    before = shop.stock("RB-001")
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE))
    mirror_store(runtime, store_id)
    assert states(runtime) == {"return": "done", "refund": "done"}
    assert shop.stock("RB-001") == before and shop.state()["stock_changes"] == []


def test_informational_mode_records_the_return_and_no_credit_slip(runtime: Runtime, account_id: int,
                                                                  shop: Shop) -> None:
    store_id = connect(runtime, shop, mirroring="informational")
    shop.order("T1", {"RB-001": 1})
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE))
    mirror_store(runtime, store_id)
    assert len(shop.return_messages()) == 1 and shop.slips() == []


def test_partial_refund_is_a_partial_slip_without_lines(runtime: Runtime, account_id: int, shop: Shop) -> None:
    store_id = connect(runtime, shop, auto_restock=True)
    shop.order("T1", {"RB-001": 1})
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, type_="REFUND", total="5.00",
                                       partial_refund={"currency": "USD", "amount": "5.00"}))
    mirror_store(runtime, store_id)
    [slip] = shop.slips()
    assert (slip["amount"], slip["partial"], slip["associations"]["order_slip_details"]) == ("5.000000", "1", [])


def test_cancellation_before_shipment_records_the_slip_and_no_stock_write(runtime: Runtime, account_id: int,
                                                                         shop: Shop) -> None:
    store_id = connect(runtime, shop, auto_restock=True)
    shop.order("T1", {"RB-001": 2})
    ingest(runtime, account_id, tiktok("C1", "T1", "CANCELLATION_REQUEST_COMPLETE", kind="cancellation",
                                       type_="BUYER_CANCEL", skus=("RB-001", "RB-001"), total="51.07"),
           kind=CaseKind.CANCELLATION)
    mirror_store(runtime, store_id)
    assert states(runtime) == {"refund": "done"}
    [slip] = shop.slips()
    assert [d["product_quantity"] for d in slip["associations"]["order_slip_details"]] == ["2"]
    # PrestaShop cancels an order (and puts its units back) through its order state, not through a slip.
    assert shop.return_messages() == [] and shop.state()["stock_changes"] == []


def test_multi_unit_partial_return_restocks_only_the_returned_units(runtime: Runtime, account_id: int,
                                                                    shop: Shop) -> None:
    store_id = connect(runtime, shop, auto_restock=True)
    shop.order("T1", {"RB-001": 3, "RB-002": 1})
    before = shop.stock("RB-001"), shop.stock("RB-002")
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, skus=("RB-001", "RB-001"), total="50.55"))
    mirror_store(runtime, store_id)
    [slip] = shop.slips()
    assert [d["product_quantity"] for d in slip["associations"]["order_slip_details"]] == ["2"]
    assert (shop.stock("RB-001"), shop.stock("RB-002")) == (before[0] + 2, before[1])


def test_currency_mismatch_is_held(runtime: Runtime, account_id: int, shop: Shop) -> None:
    store_id = connect(runtime, shop)
    shop.order("T1", {"RB-001": 1}, currency="EUR")
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, type_="REFUND"))
    mirror_store(runtime, store_id)
    held = effect(runtime, "refund")
    assert held.state == "held" and "EUR" in held.held_reason and shop.slips() == []


def test_order_not_found_is_held(runtime: Runtime, account_id: int, shop: Shop) -> None:
    store_id = connect(runtime, shop)
    ingest(runtime, account_id, tiktok("R1", "NOPE", COMPLETE, type_="REFUND"))
    mirror_store(runtime, store_id)
    held = effect(runtime, "refund")
    assert held.state == "held" and "no store order found for TikTok order NOPE" in held.held_reason


def test_lookup_by_another_orders_field(runtime: Runtime, account_id: int, shop: Shop) -> None:
    store_id = connect(runtime, shop, order_lookup=[{"kind": "name"}, {"kind": "field", "key": "id_cart"}])
    shop.order("XKBKNABJK", {"RB-001": 1}, fields={"id_cart": "576460752303423488"})
    ingest(runtime, account_id, tiktok("R1", "576460752303423488", COMPLETE, type_="REFUND"))
    mirror_store(runtime, store_id)
    assert states(runtime) == {"refund": "done"}


@pytest.mark.parametrize("route", ["messages.post", "order_slip.post", "stock_availables.put"])
def test_prestashop_committed_but_the_answer_was_lost_each_effect_exists_once(
    runtime: Runtime, account_id: int, shop: Shop, route: str
) -> None:
    store_id = connect(runtime, shop, auto_restock=True)
    shop.order("T1", {"RB-001": 1})
    before = shop.stock("RB-001")
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE))
    shop.fault("commit_then_error", route)
    mirror_store(runtime, store_id)
    all_due_now(runtime)
    mirror_store(runtime, store_id)
    assert states(runtime) == {"return": "done", "refund": "done", "restock": "done"}
    assert (len(shop.return_messages()), len(shop.slips())) == (1, 1)
    assert shop.stock("RB-001") == before + 1


@pytest.mark.parametrize("kind", ["return", "refund", "restock"])
def test_process_killed_after_prestashop_answered_the_restart_creates_nothing_twice(
    runtime: Runtime, account_id: int, shop: Shop, kind: str
) -> None:
    store_id = connect(runtime, shop, auto_restock=True)
    shop.order("T1", {"RB-001": 1})
    before = shop.stock("RB-001")
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE))

    class Killed(BaseException):
        pass

    def die(_id: int, done: str, _result: EffectResult) -> None:
        if done == kind:
            raise Killed

    with pytest.raises(Killed):
        Mirror(runtime, store_id, after_store_call=die).run()
    mirror_store(runtime, store_id)
    assert states(runtime) == {"return": "done", "refund": "done", "restock": "done"}
    assert (len(shop.return_messages()), len(shop.slips())) == (1, 1)
    assert shop.stock("RB-001") == before + 1


def test_restock_interrupted_while_stock_moved_is_held_not_repeated(runtime: Runtime, account_id: int,
                                                                    shop: Shop) -> None:
    store_id = connect(runtime, shop, auto_restock=True, mirroring="informational")
    shop.order("T1", {"RB-001": 1})
    shop.order("T2", {"RB-001": 1})  # stock 98 after both orders
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE))
    shop.fault("http_error", "stock_availables.put")  # the write fails: stock stays at 98, the intent is written
    mirror_store(runtime, store_id)
    shop.order("T3", {"RB-001": 1})  # a sale in between: 97, neither "before" nor "after"
    all_due_now(runtime)
    mirror_store(runtime, store_id)
    held = effect(runtime, "restock")
    assert held.state == "held" and "stock changed meanwhile" in held.held_reason
    assert shop.stock("RB-001") == 97


def test_two_workers_make_one_of_each(runtime: Runtime, account_id: int, shop: Shop) -> None:
    store_id = connect(runtime, shop, auto_restock=True)
    for i in range(4):
        shop.order(f"T{i}", {"RB-001": 1})
    ingest(runtime, account_id, *[tiktok(f"R{i}", f"T{i}", COMPLETE) for i in range(4)])
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        mirror_store(runtime, store_id)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    mirror_store(runtime, store_id)
    assert (len(shop.return_messages()), len(shop.slips()), len(shop.state()["stock_changes"])) == (4, 4, 4)


def test_reconciliation_reads_the_slips_back_matched(runtime: Runtime, account_id: int, shop: Shop) -> None:
    store_id = connect(runtime, shop)
    for i in range(3):
        shop.order(f"T{i}", {"RB-001": 1})
    ingest(runtime, account_id, *[tiktok(f"R{i}", f"T{i}", COMPLETE, type_="REFUND") for i in range(3)])
    mirror_store(runtime, store_id)
    ledger = reconcile(runtime, store_id=store_id, verify=True)
    assert [r.status for r in ledger.rows] == [MATCHED] * 3
