"""The WooCommerce platform driver: one WooCommerce emulator (a site) per scenario store, in this process, read back
through its control API.

What WooCommerce records, and so what the scenarios judge (docs/store-mirroring.md, "Platforms"):
- RETURNS: core WooCommerce has no returns API; the adapter's return is a private order note carrying our key and the
  units, which is what ``returns`` reads back. RETURN_CANCEL: the end is a second private note naming that note.
- No RESTOCK_EFFECT: the only exactly-once stock write is the refund's ``api_restock``, so returned units go back with
  the recorded refund (``RefundRecord.restocked_units``, from the site's stock history) and ``restocks`` holds only
  direct product stock writes, which the adapter never makes. REFUND_RESTOCK: yes, the same ``api_restock``.
- No LOCATIONS: WooCommerce keeps one stock quantity per product.

A lost answer (``Fault.COMMIT_THEN_DROP``) is the emulator's ``commit_then_error``: the write is applied and the
answer is a 502 with WordPress's critical-error body, which a client cannot tell from a write that did not happen.
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

from returnbridge.emulators.woocommerce.server import EmulatorServer
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

META_KEY = "_tiktok_order_id"  # where the TikTok connector for WooCommerce writes the TikTok order id
SKUS = ("RB-001", "RB-002")
# Our effect kind → the REST route that performs it (the emulator's faults match on route names).
ROUTES = {"return": "notes.create", "refund": "refunds.create", "return_cancel": "notes.create"}
_FAULTS = {Fault.COMMIT_THEN_DROP: "commit_then_error"}
_UNITS = re.compile(r"(\d+) × (\S+)")
_ENDED = re.compile(r"Return ended: (rejected|cancelled) by TikTok \(return note #(\d+)\)")


@dataclass(frozen=True)
class SiteHandle:
    server: EmulatorServer
    control: httpx.Client

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.control.request(method, path, json=body)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()


class WooCommerceDriver:
    platform = "woocommerce"
    capabilities = frozenset({Capability.RETURNS, Capability.RETURN_CANCEL, Capability.REFUND_RESTOCK})

    def __init__(self) -> None:
        self._sites: list[SiteHandle] = []

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Sites start with their stores (one WooCommerce site is one store)."""

    def stop(self) -> None:
        for site in self._sites:
            site.control.close()
        # One emulator per store, and stopping one waits for a tick of its server's loop: a module's few dozen are
        # stopped side by side instead of one after another (seconds at the end of the module).
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda site: site.server.stop(), self._sites))
        self._sites.clear()

    # --- stores and orders -------------------------------------------------------------------------------------

    def add_store(self, runtime: Runtime, *, currency: str = "USD") -> ScenarioStore:
        server = EmulatorServer().start()
        site = SiteHandle(server, httpx.Client(base_url=f"{server.base_url}/_emulator", timeout=10))
        self._sites.append(site)
        view = store_service.add_woocommerce_store(
            runtime, url=server.base_url, consumer_key=server.consumer_key, consumer_secret=server.consumer_secret,
            settings={"order_lookup": [{"kind": "meta", "key": META_KEY}]})
        return ScenarioStore(store_id=view.id, currency=currency, skus=SKUS, locations=("",), native=site)

    def seed_order(self, store: ScenarioStore, tiktok_order_id: str, lines: Sequence[OrderLine], *,
                   shipping: Decimal = Decimal("3.99"), fulfilled: bool = True, location: str = "") -> str:
        # Paid orders reduce stock in WooCommerce whether shipped or not; "completed" is WooCommerce's shipped.
        order = _site(store).call("POST", "/orders", {
            "tiktok_order_id": tiktok_order_id, "meta_key": META_KEY, "currency": store.currency,
            "status": "completed" if fulfilled else "processing", "payment_method": "tiktok",
            "shipping": str(shipping), "tax_rate": "0.07",
            "lines": [{"sku": line.sku, "quantity": line.quantity, "price": str(line.price)} for line in lines],
        })
        return str(order["id"])

    # --- read back ---------------------------------------------------------------------------------------------

    def returns(self, store: ScenarioStore) -> list[ReturnRecord]:
        notes = [n for n in _site(store).call("GET", "/notes")["notes"] if n["author"] != "system"]
        ended = {int(m.group(2)): (m.group(1), n["id"]) for n in notes if (m := _ENDED.search(n["note"]))}
        records = []
        for note in notes:
            if note["customer_note"] or "Returned units:" not in note["note"] or _ENDED.search(note["note"]):
                continue
            units: Counter[str] = Counter()
            for quantity, sku in _UNITS.findall(note["note"].split("Returned units:", 1)[1]):
                units[sku] += int(quantity)
            why, by = ended.get(int(note["id"]), ("", ""))
            status = {"rejected": "declined", "cancelled": "cancelled"}.get(why, "open")
            records.append(ReturnRecord(f"note:{note['id']}", str(note["order_id"]), status, dict(units),
                                        note["note"], ended_by=f"note:{by}" if by else ""))
        return records

    def refunds(self, store: ScenarioStore) -> list[RefundRecord]:
        site = _site(store)
        restocked: dict[int, Counter[str]] = {}
        for change in site.call("GET", "/products")["stock_changes"]:
            if change.get("source") == "api_restock":
                restocked.setdefault(change["refund_id"], Counter())[change["sku"]] += change["to"] - change["from"]
        currencies: dict[int, str] = {}
        records = []
        for refund in site.call("GET", "/refunds")["refunds"]:
            order_id = refund["order_id"]
            if order_id not in currencies:
                currencies[order_id] = site.call("GET", f"/orders/{order_id}")["currency"]
            units: Counter[str] = Counter()
            for line in refund["line_items"]:
                units[line["sku"]] += -int(line["quantity"])
            shipping = sum((-Decimal(line["total"]) for line in refund["shipping_lines"]), Decimal(0))
            records.append(RefundRecord(
                str(refund["id"]), str(order_id), currencies[order_id], Decimal(refund["amount"]), shipping,
                dict(units), dict(restocked.get(refund["id"], {})), refund["reason"],
            ))
        return records

    def restocks(self, store: ScenarioStore) -> list[RestockRecord]:
        # Direct stock writes (PUT /products/{id}); a refund's own restock is on its RefundRecord.
        return [RestockRecord(f"stock_change:{i}", {c["sku"]: int(c["to"]) - int(c["from"] or 0)}, "")
                for i, c in enumerate(_site(store).call("GET", "/products")["stock_changes"])
                if c.get("source") == "products.update"]

    def available(self, store: ScenarioStore, sku: str, location: str = "") -> int:
        for product in _site(store).call("GET", "/products")["products"]:
            if product["sku"] == sku:
                return int(product["stock_quantity"])
        raise AssertionError(f"{sku} is not a product of this site")

    # --- faults ------------------------------------------------------------------------------------------------

    def inject(self, store: ScenarioStore, fault: Fault, effect_kind: str, *, count: int = 1) -> None:
        if effect_kind not in ROUTES:
            raise ValueError(f"WooCommerce performs no {effect_kind} call of its own")
        _site(store).call("POST", "/faults", {"kind": _FAULTS[fault], "match": ROUTES[effect_kind], "count": count})

    def clear_faults(self, store: ScenarioStore) -> None:
        _site(store).call("DELETE", "/faults")


def _site(store: ScenarioStore) -> SiteHandle:
    handle = store.native
    assert isinstance(handle, SiteHandle)
    return handle
