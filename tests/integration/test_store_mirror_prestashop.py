"""PrestaShop-specific mirroring checks over real HTTP, on SQLite and PostgreSQL: the credit slip and messages the
webservice gets, lookup by another orders field, an interrupted restock whose stock moved meanwhile. Every
platform-neutral path (each effect, exactly once under crashes and lost answers, two workers, reconciliation, ended
returns) is in the scenario suite, ``tests/integration/store_scenarios``."""

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
from returnbridge.db.models import StoreEffect, TikTokAccount, utcnow
from returnbridge.domain.statuses import CaseKind
from returnbridge.emulators.prestashop.server import EmulatorServer
from returnbridge.sync import stores as store_service
from returnbridge.sync.ingest import store_page
from returnbridge.sync.mirror import mirror_store
from returnbridge.sync.runtime import Runtime

from .test_store_mirror_woocommerce import COMPLETE, tiktok


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


def test_partial_refund_is_a_partial_slip_without_lines(runtime: Runtime, account_id: int, shop: Shop) -> None:
    store_id = connect(runtime, shop, auto_restock=True)
    shop.order("T1", {"RB-001": 1})
    ingest(runtime, account_id, tiktok("R1", "T1", COMPLETE, type_="REFUND", total="5.00",
                                       partial_refund={"currency": "USD", "amount": "5.00"}))
    mirror_store(runtime, store_id)
    [slip] = shop.slips()
    assert (slip["amount"], slip["partial"], slip["associations"]["order_slip_details"]) == ("5.000000", "1", [])


def test_lookup_by_another_orders_field(runtime: Runtime, account_id: int, shop: Shop) -> None:
    store_id = connect(runtime, shop, order_lookup=[{"kind": "name"}, {"kind": "field", "key": "id_cart"}])
    shop.order("XKBKNABJK", {"RB-001": 1}, fields={"id_cart": "576460752303423488"})
    ingest(runtime, account_id, tiktok("R1", "576460752303423488", COMPLETE, type_="REFUND"))
    mirror_store(runtime, store_id)
    assert states(runtime) == {"refund": "done"}


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

