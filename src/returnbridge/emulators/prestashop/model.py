"""The shop's state for the webservice subset of store-apis.md D.1: orders with their order details, currencies,
credit slips (``order_slip`` with ``order_slip_details``), ``stock_availables`` and order ``messages``.

What the real webservice does and this models: creating an ``order_slip`` writes the record only (no stock
re-increment, no order state change, no e-mail: the back-office refund logic does not run, D.1); a
``stock_availables`` PUT sets an absolute quantity; ``messages`` are free text attached to an order.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

SIX = Decimal("0.000001")


def amount(value: Decimal) -> str:
    """PrestaShop prints decimals with six places ("27.530000")."""
    return format(value.quantize(SIX, ROUND_HALF_UP), "f")


def ps_date(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


class PsError(Exception):
    """A webservice error: ``code`` (PrestaShop's number), ``message``, HTTP ``status``."""

    def __init__(self, code: int, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Detail:
    id: int
    id_order: int
    product_id: int
    reference: str
    name: str
    quantity: int
    unit_price_tax_excl: Decimal
    unit_price_tax_incl: Decimal
    quantity_refunded: int = 0

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "id_order": str(self.id_order), "product_id": str(self.product_id),
                "product_attribute_id": "0", "product_name": self.name, "product_reference": self.reference,
                "product_quantity": str(self.quantity), "product_quantity_refunded": str(self.quantity_refunded),
                "unit_price_tax_excl": amount(self.unit_price_tax_excl),
                "unit_price_tax_incl": amount(self.unit_price_tax_incl),
                "total_price_tax_excl": amount(self.unit_price_tax_excl * self.quantity),
                "total_price_tax_incl": amount(self.unit_price_tax_incl * self.quantity)}


@dataclass
class Order:
    id: int
    reference: str
    id_customer: int
    id_currency: int
    shipping_tax_incl: Decimal
    details: list[Detail]
    created: datetime
    fields: dict[str, str] = field(default_factory=dict)  # other filterable fields a connector may fill

    @property
    def total_products_tax_excl(self) -> Decimal:
        return sum((d.unit_price_tax_excl * d.quantity for d in self.details), Decimal(0))

    @property
    def total_products_tax_incl(self) -> Decimal:
        return sum((d.unit_price_tax_incl * d.quantity for d in self.details), Decimal(0))

    def json(self) -> dict[str, Any]:
        paid = self.total_products_tax_incl + self.shipping_tax_incl
        return {
            "id": self.id, "reference": self.reference, "id_customer": str(self.id_customer),
            "id_currency": str(self.id_currency), "id_lang": "1", "id_shop": "1", "current_state": "2",
            "module": "tiktokshop", "payment": "TikTok Shop", "date_add": ps_date(self.created),
            "total_paid": amount(paid), "total_paid_tax_incl": amount(paid), "total_paid_real": amount(paid),
            "total_products": amount(self.total_products_tax_excl),
            "total_products_wt": amount(self.total_products_tax_incl),
            "total_shipping": amount(self.shipping_tax_incl), "total_shipping_tax_incl": amount(self.shipping_tax_incl),
            "conversion_rate": "1.000000", **self.fields,
            "associations": {"order_rows": [
                {"id": str(d.id), "product_id": str(d.product_id), "product_attribute_id": "0",
                 "product_quantity": str(d.quantity), "product_name": d.name, "product_reference": d.reference,
                 "unit_price_tax_incl": amount(d.unit_price_tax_incl),
                 "unit_price_tax_excl": amount(d.unit_price_tax_excl)} for d in self.details]},
        }


@dataclass
class Slip:
    id: int
    fields: dict[str, str]
    details: list[dict[str, str]]
    created: datetime

    def json(self) -> dict[str, Any]:
        return {"id": self.id, **self.fields, "date_add": ps_date(self.created), "date_upd": ps_date(self.created),
                "associations": {"order_slip_details": self.details}}


@dataclass
class StockAvailable:
    id: int
    id_product: int
    quantity: int

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "id_product": str(self.id_product), "id_product_attribute": "0", "id_shop": "1",
                "id_shop_group": "0", "quantity": str(self.quantity), "depends_on_stock": "0", "out_of_stock": "2",
                "location": ""}


@dataclass
class Message:
    id: int
    id_order: int
    message: str
    private: bool
    created: datetime

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "id_cart": "0", "id_order": str(self.id_order), "id_customer": "0",
                "id_employee": "1", "message": self.message, "private": "1" if self.private else "0",
                "date_add": ps_date(self.created)}


SLIP_REQUIRED = ("id_customer", "id_order")
SLIP_FIELDS = ("id_customer", "id_order", "conversion_rate", "total_products_tax_excl", "total_products_tax_incl",
               "total_shipping_tax_excl", "total_shipping_tax_incl", "amount", "shipping_cost",
               "shipping_cost_amount", "partial", "order_slip_type")


def _decimal(value: Any, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise PsError(91, f"Validation error: \"{name}\" is invalid", 400) from None


class Shop:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        self.orders: dict[int, Order] = {}
        self.slips: dict[int, Slip] = {}
        self.stock: dict[int, StockAvailable] = {}
        self.products: dict[str, int] = {}  # reference → id_product
        self.messages: dict[int, Message] = {}
        self.messages_by_order: dict[int, list[Message]] = {}
        self.slips_by_order: dict[int, list[Slip]] = {}
        self.currencies = {1: "EUR", 2: "USD", 3: "GBP"}
        self.stock_changes: list[dict[str, Any]] = []
        self._ids = {"order": 0, "detail": 0, "slip": 0, "stock": 0, "product": 0, "message": 0}

    def _next(self, name: str) -> int:
        self._ids[name] += 1
        return self._ids[name]

    def _product(self, reference: str, stock: int) -> int:
        if reference not in self.products:
            product_id = self._next("product")
            self.products[reference] = product_id
            sa = StockAvailable(self._next("stock"), product_id, stock)
            self.stock[sa.id] = sa
        return self.products[reference]

    def create_order(self, spec: dict[str, Any]) -> Order:
        currency = str(spec.get("currency", "USD"))
        id_currency = next((i for i, iso in self.currencies.items() if iso == currency), None)
        if id_currency is None:
            id_currency = max(self.currencies) + 1
            self.currencies[id_currency] = currency
        order_id = self._next("order")
        rate = Decimal(str(spec.get("tax_rate", "0")))
        details = []
        for line in spec.get("lines") or [{"sku": "RB-001", "quantity": 1}]:
            price = Decimal(str(line.get("price", "22.00")))
            product_id = self._product(str(line["sku"]), int(line.get("stock", 100)))
            quantity = int(line.get("quantity", 1))
            # A connector that imports orders usually lets PrestaShop take the units out of stock.
            if spec.get("reduced_stock", True):
                sa = next(s for s in self.stock.values() if s.id_product == product_id)
                sa.quantity -= quantity
            sku = str(line["sku"])
            details.append(Detail(self._next("detail"), order_id, product_id, sku, f"Product {sku}", quantity, price,
                                  (price * (1 + rate)).quantize(SIX, ROUND_HALF_UP)))
        reference = str(spec.get("reference") or f"RB{order_id:07d}")
        order = Order(order_id, reference, int(spec.get("id_customer", 7)), id_currency,
                      Decimal(str(spec.get("shipping", "0"))), details, datetime.now(UTC),
                      {k: str(v) for k, v in (spec.get("fields") or {}).items()})
        self.orders[order_id] = order
        return order

    def create_slip(self, data: dict[str, Any]) -> Slip:
        for name in SLIP_REQUIRED:
            if not str(data.get(name) or "").strip():
                raise PsError(41, f"Validation error: \"{name}\" is required", 400)
        order = self.orders.get(int(str(data["id_order"])) if str(data["id_order"]).isdigit() else -1)
        if order is None:
            raise PsError(91, "Validation error: \"id_order\" is invalid", 400)
        fields = {}
        for name in SLIP_FIELDS:
            if name in data and not isinstance(data[name], dict | list):
                value = str(data[name])
                if name.startswith(("total_", "amount", "shipping_cost_amount", "conversion")):
                    value = amount(_decimal(value, name))
                fields[name] = value
        fields.setdefault("conversion_rate", "1.000000")
        details = []
        raw_details = (data.get("associations") or {}).get("order_slip_details") or []
        for raw in raw_details:
            detail = next((d for d in order.details if str(d.id) == str(raw.get("id_order_detail"))), None)
            if detail is None:
                raise PsError(91, "Validation error: \"id_order_detail\" is invalid", 400)
            quantity = int(str(raw.get("product_quantity") or 0))
            details.append({"id_order_detail": str(detail.id), "product_quantity": str(quantity),
                            "amount_tax_excl": amount(_decimal(raw.get("amount_tax_excl") or 0, "amount_tax_excl")),
                            "amount_tax_incl": amount(_decimal(raw.get("amount_tax_incl") or 0, "amount_tax_incl"))})
            detail.quantity_refunded += quantity
        slip = Slip(self._next("slip"), fields, details, datetime.now(UTC))
        self.slips[slip.id] = slip
        self.slips_by_order.setdefault(order.id, []).append(slip)
        return slip

    def update_stock(self, stock_id: int, data: dict[str, Any]) -> StockAvailable:
        sa = self.stock.get(stock_id)
        if sa is None:
            raise PsError(87, f"Unable to update resource: id {stock_id} not found", 404)
        if str(data.get("id") or stock_id) != str(stock_id):
            raise PsError(90, "id is invalid", 400)
        if "quantity" not in data:
            raise PsError(41, "Validation error: \"quantity\" is required", 400)
        before = sa.quantity
        sa.quantity = int(str(data["quantity"]))
        self.stock_changes.append({"id_stock_available": sa.id, "id_product": sa.id_product, "from": before,
                                   "to": sa.quantity})
        return sa

    def add_message(self, data: dict[str, Any]) -> Message:
        text = str(data.get("message") or "")
        if not text:
            raise PsError(41, "Validation error: \"message\" is required", 400)
        order_id = int(str(data.get("id_order") or 0))
        if order_id not in self.orders:
            raise PsError(91, "Validation error: \"id_order\" is invalid", 400)
        message = Message(self._next("message"), order_id, text, str(data.get("private", "1")) == "1",
                          datetime.now(UTC))
        self.messages[message.id] = message
        self.messages_by_order.setdefault(order_id, []).append(message)
        return message

    def resources(self, name: str) -> dict[int, Any]:
        if name == "orders":
            return self.orders
        if name == "order_details":
            return {d.id: d for o in self.orders.values() for d in o.details}
        if name == "order_slip":
            return self.slips
        if name == "stock_availables":
            return self.stock
        if name == "messages":
            return self.messages
        if name == "currencies":
            return {i: _Currency(i, iso) for i, iso in self.currencies.items()}
        raise PsError(22, f"Resource of type \"{name}\" does not exists. Did you mean: \"orders\"?", 400)


@dataclass
class _Currency:
    id: int
    iso_code: str

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "iso_code": self.iso_code, "name": self.iso_code, "conversion_rate": "1.000000"}
