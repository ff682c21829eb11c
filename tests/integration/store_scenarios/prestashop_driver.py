"""The PrestaShop platform driver: one webservice emulator (a shop) per scenario store, in this process, read back
through its control API and, for orders and currencies, through the webservice itself.

What PrestaShop records, and so what the scenarios judge (docs/store-mirroring.md, "Platforms"):
- RETURNS: merchandise returns are not a webservice resource; the adapter's return is a private order message
  carrying our key and the units, which is what ``returns`` reads back. RETURN_CANCEL: the end is a second private
  message naming that message.
- RESTOCK_EFFECT: ``stock_availables`` writes, read back from the shop's stock history (one record per stock row
  written). No REFUND_RESTOCK: a credit slip created through the webservice changes no stock.
- No LOCATIONS: one stock per shop and product.
- A credit slip has no text field: ``RefundRecord.note`` is the private messages that name the slip ("credit slip N
  recorded") or, when the answer to the slip was lost, the intent message written before it ("credit slip for X
  after slip M"), which is what a merchant (and the adapter's retry) reads.

A lost answer (``Fault.COMMIT_THEN_DROP``) is the emulator's ``commit_then_error``: the write is applied and the
answer is a 502, which a client cannot tell from a write that did not happen.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from returnbridge.emulators.prestashop.server import EmulatorServer
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

SKUS = ("RB-001", "RB-002")
# Our effect kind → the webservice call that performs it (the emulator's faults match on "resource.method").
ROUTES = {"return": "messages.post", "refund": "order_slip.post", "restock": "stock_availables.put",
          "return_cancel": "messages.post"}
_FAULTS = {Fault.COMMIT_THEN_DROP: "commit_then_error"}
_UNITS = re.compile(r"(\d+) × (\S+)")
_ENDED = re.compile(r"return ended: (rejected|cancelled) by TikTok \(return message (\d+)\)")
_LINK = re.compile(r"credit slip (\d+) recorded")
_INTENT = re.compile(r"credit slip for ([0-9.]+) after slip (\d+)")


@dataclass(frozen=True)
class ShopHandle:
    server: EmulatorServer
    control: httpx.Client
    webservice: httpx.Client

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.control.request(method, path, json=body)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def get(self, resource: str, resource_id: str) -> dict[str, Any]:
        response = self.webservice.get(f"/{resource}/{resource_id}", params={"output_format": "JSON"})
        assert response.status_code == 200, f"{resource}/{resource_id}: {response.status_code} {response.text}"
        return next(iter(response.json().values()))


class PrestaShopDriver:
    platform = "prestashop"
    capabilities = frozenset({Capability.RETURNS, Capability.RETURN_CANCEL, Capability.RESTOCK_EFFECT})

    def __init__(self) -> None:
        self._shops: list[ShopHandle] = []

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Shops start with their stores (one PrestaShop shop is one store)."""

    def stop(self) -> None:
        for shop in self._shops:
            shop.control.close()
            shop.webservice.close()
        # One emulator per store, and stopping one waits for a tick of its server's loop: a module's few dozen are
        # stopped side by side instead of one after another (seconds at the end of the module).
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda shop: shop.server.stop(), self._shops))
        self._shops.clear()

    # --- stores and orders -------------------------------------------------------------------------------------

    def add_store(self, runtime: Runtime, *, currency: str = "USD") -> ScenarioStore:
        server = EmulatorServer().start()
        shop = ShopHandle(server, httpx.Client(base_url=f"{server.base_url}/_emulator", timeout=10),
                          httpx.Client(base_url=f"{server.base_url}/api", auth=(server.key, ""), timeout=10))
        self._shops.append(shop)
        # The TikTok module for PrestaShop imports the TikTok order id as the order reference.
        view = store_service.add_prestashop_store(runtime, url=server.base_url, webservice_key=server.key,
                                                  settings={"order_lookup": [{"kind": "name"}]})
        return ScenarioStore(store_id=view.id, currency=currency, skus=SKUS, locations=("",), native=shop)

    def seed_order(self, store: ScenarioStore, tiktok_order_id: str, lines: Sequence[OrderLine], *,
                   shipping: Decimal = Decimal("3.99"), fulfilled: bool = True, location: str = "") -> str:
        # PrestaShop takes the units out of stock when the order is validated, shipped or not.
        order = _shop(store).call("POST", "/orders", {
            "reference": tiktok_order_id, "currency": store.currency, "shipping": str(shipping), "tax_rate": "0.07",
            "lines": [{"sku": line.sku, "quantity": line.quantity, "price": str(line.price)} for line in lines],
        })
        return str(order["id"])

    # --- read back ---------------------------------------------------------------------------------------------

    def returns(self, store: ScenarioStore) -> list[ReturnRecord]:
        messages = _shop(store).call("GET", "/state")["messages"]
        ended = {int(m.group(2)): (m.group(1), msg["id"]) for msg in messages
                 if (m := _ENDED.search(msg["message"]))}
        records = []
        for msg in messages:
            if msg["private"] != "1" or "returned units:" not in msg["message"] or _ENDED.search(msg["message"]):
                continue
            units: Counter[str] = Counter()
            for quantity, sku in _UNITS.findall(msg["message"].split("returned units:", 1)[1]):
                units[sku] += int(quantity)
            why, by = ended.get(int(msg["id"]), ("", ""))
            status = {"rejected": "declined", "cancelled": "cancelled"}.get(why, "open")
            records.append(ReturnRecord(f"message:{msg['id']}", msg["id_order"], status, dict(units), msg["message"],
                                        ended_by=f"message:{by}" if by else ""))
        return records

    def refunds(self, store: ScenarioStore) -> list[RefundRecord]:
        shop = _shop(store)
        state = shop.call("GET", "/state")
        records = []
        orders: dict[str, dict[str, Any]] = {}
        for slip in state["slips"]:
            order_id = slip["id_order"]
            if order_id not in orders:
                orders[order_id] = shop.get("orders", order_id)
            order = orders[order_id]
            sku_by_row = {str(r["id"]): r["product_reference"] for r in order["associations"]["order_rows"]}
            units: Counter[str] = Counter()
            for detail in slip["associations"]["order_slip_details"]:
                units[sku_by_row[detail["id_order_detail"]]] += int(detail["product_quantity"])
            currency = shop.get("currencies", order["id_currency"])["iso_code"]
            records.append(RefundRecord(
                str(slip["id"]), order_id, currency, Decimal(slip["amount"]),
                Decimal(slip.get("total_shipping_tax_incl") or "0"), dict(units), {},
                _slip_note(slip, [m for m in state["messages"] if m["id_order"] == order_id]),
            ))
        return records

    def restocks(self, store: ScenarioStore) -> list[RestockRecord]:
        state = _shop(store).call("GET", "/state")
        sku_by_product = {str(product_id): sku for sku, product_id in state["products"].items()}
        return [RestockRecord(f"stock_change:{i}", {sku_by_product[str(c["id_product"])]: c["to"] - c["from"]},
                              "", f"stock_available {c['id_stock_available']}")
                for i, c in enumerate(state["stock_changes"])]

    def available(self, store: ScenarioStore, sku: str, location: str = "") -> int:
        state = _shop(store).call("GET", "/state")
        product_id = state["products"].get(sku)
        for row in state["stock"]:
            if product_id is not None and row["id_product"] == str(product_id):
                return int(row["quantity"])
        raise AssertionError(f"{sku} is not a product of this shop")

    # --- faults ------------------------------------------------------------------------------------------------

    def inject(self, store: ScenarioStore, fault: Fault, effect_kind: str, *, count: int = 1) -> None:
        _shop(store).call("POST", "/faults", {"kind": _FAULTS[fault], "match": ROUTES[effect_kind], "count": count})

    def clear_faults(self, store: ScenarioStore) -> None:
        _shop(store).call("DELETE", "/faults")


def _slip_note(slip: dict[str, Any], messages: list[dict[str, Any]]) -> str:
    """The messages that name this slip; else the intent written before it, for the same total (a lost answer)."""
    linked = [m["message"] for m in messages if (link := _LINK.search(m["message"])) and int(link[1]) == slip["id"]]
    if linked:
        return "\n".join(linked)
    return "\n".join(m["message"] for m in messages if (intent := _INTENT.search(m["message"]))
                     and int(intent[2]) < int(slip["id"]) and Decimal(intent[1]) == Decimal(slip["amount"]))


def _shop(store: ScenarioStore) -> ShopHandle:
    handle = store.native
    assert isinstance(handle, ShopHandle)
    return handle
