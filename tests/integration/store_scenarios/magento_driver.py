"""The Magento 2 platform driver: the Magento emulator in this process, one installation (site) per test, read back
through its control API.

What Magento records (store-apis.md part B, ``stores.magento``): a return is an order comment carrying our key and
the returned units (Magento Open Source has no RMA API), and its end is one more comment; a refund is an offline
credit memo; stock goes back only inside the credit memo (``return_to_stock_items``), onto the source the shipment
came from. Hence no ``LOCATIONS`` (a restock cannot target a chosen source) and no ``RESTOCK`` (no restock of its
own, so ``restocks`` reads only stock movements that no credit memo made, which must stay empty).
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from returnbridge.emulators.magento.server import EmulatorServer
from returnbridge.stores.magento import MagentoCredentials
from returnbridge.sync import stores as store_service
from returnbridge.sync.runtime import Runtime

from .drivers import (
    Capability,
    Fault,
    OrderLine,
    RefundRecord,
    RestockRecord,
    ReturnRecord,
    ScenarioStore,
)

# Our effect kind → the emulator's route that performs it (its faults match on route names). Magento has no restock
# call of its own, so "restock" has no route and injecting a fault for it is a test bug.
ROUTES = {"return": "order_comment", "refund": "refund", "return_cancel": "order_comment"}
# The write runs and stays, then Magento's answer is lost (HTTP 502 instead of it): the caller cannot know.
_FAULTS = {Fault.COMMIT_THEN_DROP: {"kind": "commit_then_error"}}
SKUS = ("RB-001", "RB-002")  # stocked on every source of a new site (the emulator's seed SKUs)
SOURCES = ("default", "warehouse")
USERNAME, PASSWORD = "rb", "secret-1"
# What the adapter writes: "<note with rb-…-return-v1> · returned: 2 × RB-001, 1 × RB-002", and for the end
# "<note with rb-…-return_cancel-v1> · return ended: rejected by TikTok (return comment 7)".
_RETURN_KEY = re.compile(r"rb-\d+-\d+-return-v\d+")
_CANCEL_KEY = re.compile(r"rb-\d+-\d+-return_cancel-v\d+")
_UNITS = re.compile(r"(\d+) × (\S+?)(?:,|$)")
_ENDED = re.compile(r"return ended: (rejected|cancelled) by TikTok \(return comment (\d+)\)")


@dataclass(frozen=True)
class SiteHandle:
    name: str
    rest_url: str


class MagentoDriver:
    platform = "magento"
    # No restock effect of its own (stock goes back only inside the credit memo), which restocks a refund's units.
    capabilities = frozenset({Capability.RETURNS, Capability.RETURN_CANCEL, Capability.REFUND_RESTOCK})

    def __init__(self) -> None:
        self._server: EmulatorServer | None = None
        self._http: httpx.Client | None = None

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._server = EmulatorServer(seed_orders=0)
        self._server.__enter__()
        self._http = httpx.Client(base_url=f"{self._server.base_url}/_emulator", timeout=10)

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
        if self._server is not None:
            self._server.__exit__(None, None, None)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        assert self._http is not None, "start() first"
        response = self._http.request(method, path, json=body)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    # --- stores and orders -------------------------------------------------------------------------------------

    def add_store(self, runtime: Runtime, *, currency: str = "USD") -> ScenarioStore:
        name = f"m{uuid.uuid4().hex[:10]}"
        info = self.call("POST", "/sites", {"name": name, "currency": currency, "username": USERNAME,
                                            "password": PASSWORD, "sources": list(SOURCES)})
        view = store_service.add_magento_store(
            runtime, url=info["rest_url"], credentials=MagentoCredentials("admin", username=USERNAME,
                                                                          password=PASSWORD))
        return ScenarioStore(store_id=view.id, currency=currency, skus=SKUS, locations=SOURCES,
                             native=SiteHandle(name, info["rest_url"]))

    def seed_order(self, store: ScenarioStore, tiktok_order_id: str, lines: Sequence[OrderLine], *,
                   shipping: Decimal = Decimal("3.99"), fulfilled: bool = True, location: str = "") -> str:
        # The TikTok connectors for Magento put TikTok's order id in the increment id (the default lookup).
        body: dict[str, Any] = {
            "tiktok_order_id": tiktok_order_id, "shipping": str(shipping), "tax_rate": "0.07", "ship": fulfilled,
            "lines": [{"sku": line.sku, "qty": line.quantity, "price": str(line.price)} for line in lines],
        }
        if location:
            body["source_code"] = location
        return str(self.call("POST", f"/sites/{_site(store).name}/orders", body)["entity_id"])

    # --- read back ---------------------------------------------------------------------------------------------

    def returns(self, store: ScenarioStore) -> list[ReturnRecord]:
        records = []
        for order in self.call("GET", f"/sites/{_site(store).name}/orders")["orders"]:
            comments = order["status_histories"]
            ended = {}
            for c in comments:
                m = _ENDED.search(c["comment"])
                if m and _CANCEL_KEY.search(c["comment"]):
                    ended[int(m.group(2))] = "declined" if m.group(1) == "rejected" else "cancelled"
            for c in sorted(comments, key=lambda c: int(c["entity_id"])):
                if not _RETURN_KEY.search(c["comment"]):
                    continue
                units: Counter[str] = Counter()
                listed = c["comment"].rsplit("returned: ", 1)
                for qty, sku in _UNITS.findall(listed[1] if len(listed) == 2 else ""):
                    units[sku] += int(qty)
                record_id = f"order-comment-{c['entity_id']}"
                status = ended.get(int(c["entity_id"]), "open")
                # Like Shopify's, the adapter names the return it ended (the return comment) as the ending record.
                records.append(ReturnRecord(record_id, str(order["entity_id"]), status, dict(units), c["comment"],
                                            ended_by=record_id if status != "open" else ""))
        return records

    def refunds(self, store: ScenarioStore) -> list[RefundRecord]:
        records = []
        for memo in self.call("GET", f"/sites/{_site(store).name}/creditmemos")["creditmemos"]:
            units: Counter[str] = Counter()
            restocked: Counter[str] = Counter()
            for item in memo["items"]:
                qty = int(Decimal(str(item["qty"])))
                if qty:
                    units[item["sku"]] += qty
                    if item["extension_attributes"]["back_to_stock"]:
                        restocked[item["sku"]] += qty
            records.append(RefundRecord(
                str(memo["entity_id"]), str(memo["order_id"]), memo["order_currency_code"],
                Decimal(str(memo["grand_total"])), Decimal(str(memo["shipping_amount"])), dict(units),
                dict(restocked), " ".join(c["comment"] for c in memo["comments"]),
            ))
        return records

    def restocks(self, store: ScenarioStore) -> list[RestockRecord]:
        # Every stock movement Magento makes for a return belongs to a credit memo (on its RefundRecord); one
        # without a credit memo would be a restock apart from the refund, which Magento's API cannot make.
        movements = self.call("GET", f"/sites/{_site(store).name}/stock")["movements"]
        return [RestockRecord(str(m["id"]), {m["sku"]: int(Decimal(str(m["qty"])))}, m["source_code"])
                for m in movements if not m.get("creditmemo_id")]

    def available(self, store: ScenarioStore, sku: str, location: str = "") -> int:
        # Salable: the source's quantity less the units reserved by orders not shipped yet (MSI reservations are
        # per stock, and each site has one stock).
        location = location or store.locations[0]
        stock = self.call("GET", f"/sites/{_site(store).name}/stock")
        for row in stock["source_items"]:
            if (row["sku"], row["source_code"]) == (sku, location):
                reserved = Decimal(str(stock["reservations"].get(sku, 0)))
                return int(Decimal(str(row["quantity"])) - reserved)
        raise AssertionError(f"{sku} is not stocked at {location}")

    # --- faults ------------------------------------------------------------------------------------------------

    def inject(self, store: ScenarioStore, fault: Fault, effect_kind: str, *, count: int = 1) -> None:
        if effect_kind not in ROUTES:
            raise AssertionError(f"Magento makes no store call of its own for {effect_kind!r}")
        self.call("POST", "/faults", {**_FAULTS[fault], "match": ROUTES[effect_kind], "site": _site(store).name,
                                      "count": count})

    def clear_faults(self, store: ScenarioStore) -> None:
        self.call("DELETE", "/faults")


def _site(store: ScenarioStore) -> SiteHandle:
    handle = store.native
    assert isinstance(handle, SiteHandle)
    return handle
