"""The Shopify platform driver: the Shopify emulator in this process, read back through its control API."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from returnbridge.emulators.shopify.server import EmulatorServer
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

# Our effect kind → the mutation that performs it (the emulator's faults match on root fields).
MUTATIONS = {"return": "returnCreate", "refund": "refundCreate", "restock": "inventoryAdjustQuantities",
             "return_cancel": "returnCancel"}
_FAULTS = {Fault.COMMIT_THEN_DROP: {"kind": "drop", "commit": True}}
_STATUSES = {"OPEN": "open", "CLOSED": "closed", "CANCELED": "cancelled", "DECLINED": "declined",
             "REQUESTED": "requested"}
# Tracked SKUs the emulator stocks at its first two locations (even-numbered products, see its seed).
SKUS = ("RB-002", "RB-004")


@dataclass(frozen=True)
class ShopHandle:
    domain: str
    token: str
    sku_by_item: dict[str, str]  # inventory item GID → sku


class ShopifyDriver:
    platform = "shopify"
    capabilities = frozenset({Capability.RETURNS, Capability.LOCATIONS, Capability.RETURN_CANCEL,
                              Capability.RESTOCK})

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

    @property
    def server(self) -> EmulatorServer:
        assert self._server is not None, "start() first"
        return self._server

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        assert self._http is not None, "start() first"
        response = self._http.request(method, path, json=body)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    # --- stores and orders -------------------------------------------------------------------------------------

    def add_store(self, runtime: Runtime, *, currency: str = "USD") -> ScenarioStore:
        domain = f"t{uuid.uuid4().hex[:12]}.myshopify.com"
        token = f"shpat_{uuid.uuid4().hex}"
        summary = self.call("POST", "/stores", {"domain": domain, "token": token, "currency": currency,
                                                "orders": 0})
        view = store_service.add_shopify_store(runtime, domain=self.server.base_url, access_token=token)
        items = {v["inventory_item_id"]: v["sku"] for v in summary["variants"]}
        return ScenarioStore(store_id=view.id, currency=currency, skus=SKUS,
                             locations=tuple(loc["id"] for loc in summary["locations"][:2]),
                             native=ShopHandle(domain, token, items))

    def seed_order(self, store: ScenarioStore, tiktok_order_id: str, lines: Sequence[OrderLine], *,
                   shipping: Decimal = Decimal("3.99"), fulfilled: bool = True, location: str = "") -> str:
        body: dict[str, Any] = {
            "tiktok_order_id": tiktok_order_id, "style": "name", "shipping": str(shipping), "tax_rate": "0.07",
            "fulfilled": fulfilled,
            "lines": [{"sku": line.sku, "quantity": line.quantity, "price": str(line.price)} for line in lines],
        }
        if location:
            body["location_id"] = location
        return str(self.call("POST", f"/stores/{_shop(store).domain}/orders", body)["id"])

    # --- read back ---------------------------------------------------------------------------------------------

    def _skus_by_line(self, store: ScenarioStore) -> dict[str, str]:
        orders = self.call("GET", f"/stores/{_shop(store).domain}/orders")["orders"]
        return {li["id"]: li["sku"] for order in orders for li in order["line_items"]}

    def returns(self, store: ScenarioStore) -> list[ReturnRecord]:
        orders = self.call("GET", f"/stores/{_shop(store).domain}/orders")["orders"]
        sku_by_fli = {fl["id"]: li["sku"] for order in orders for f in order["fulfillments"]
                      for fl in f["line_items"] for li in order["line_items"] if li["id"] == fl["line_item_id"]}
        records = []
        for ret in self.call("GET", f"/stores/{_shop(store).domain}/returns")["returns"]:
            units: Counter[str] = Counter()
            for line in ret["line_items"]:
                units[sku_by_fli[line["fulfillment_line_item_id"]]] += int(line["quantity"])
            records.append(ReturnRecord(ret["id"], ret["order_id"], _STATUSES[ret["status"]], dict(units),
                                        " ".join(li["return_reason_note"] for li in ret["line_items"])))
        return records

    def refunds(self, store: ScenarioStore) -> list[RefundRecord]:
        sku_by_line = self._skus_by_line(store)
        records = []
        for refund in self.call("GET", f"/stores/{_shop(store).domain}/refunds")["refunds"]:
            units: Counter[str] = Counter()
            restocked: Counter[str] = Counter()
            for line in refund["line_items"]:
                units[sku_by_line[line["line_item_id"]]] += int(line["quantity"])
                if line["restocked"]:
                    restocked[sku_by_line[line["line_item_id"]]] += int(line["quantity"])
            records.append(RefundRecord(
                refund["id"], refund["order_id"], refund["currency"], Decimal(refund["total_refunded"]),
                Decimal(refund["shipping_refunded"]), dict(units), dict(restocked), refund["note"],
            ))
        return records

    def restocks(self, store: ScenarioStore) -> list[RestockRecord]:
        handle = _shop(store)
        records = []
        for group in self.call("GET", f"/stores/{handle.domain}/adjustments")["adjustments"]:
            if group["source"] != "inventoryAdjustQuantities":
                continue  # a refund's own restock is on its RefundRecord, not a restock effect
            changes = [c for c in group["changes"] if c["name"] == "available"]
            units = Counter({handle.sku_by_item[c["inventory_item_id"]]: 0 for c in changes})
            for change in changes:
                units[handle.sku_by_item[change["inventory_item_id"]]] += int(change["delta"])
            locations = {c["location_id"] for c in changes}
            records.append(RestockRecord(group["id"], dict(units), ",".join(sorted(locations)),
                                         group["reference_document_uri"] or ""))
        return records

    def available(self, store: ScenarioStore, sku: str, location: str = "") -> int:
        location = location or store.locations[0]
        for level in self.call("GET", f"/stores/{_shop(store).domain}/inventory")["levels"]:
            if level["sku"] == sku and level["location_id"] == location:
                return int(level["quantities"]["available"])
        raise AssertionError(f"{sku} is not stocked at {location}")

    # --- faults ------------------------------------------------------------------------------------------------

    def inject(self, store: ScenarioStore, fault: Fault, effect_kind: str, *, count: int = 1) -> None:
        self.call("POST", "/faults", {**_FAULTS[fault], "match": MUTATIONS[effect_kind],
                                      "store": _shop(store).domain, "count": count})

    def clear_faults(self, store: ScenarioStore) -> None:
        self.call("DELETE", "/faults")


def _shop(store: ScenarioStore) -> ShopHandle:
    handle = store.native
    assert isinstance(handle, ShopHandle)
    return handle
