"""The REST routes (``/rest[/{store_code}]/V1/...``), each a plain function of (site, match, query, body) under the
world lock. Auth and the error shape are the app's; these only read and write the site."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import search
from .errors import BAD_SIGN_IN, MagentoError, bad_request, not_found
from .model import Comment, Site
from .refunds import refund_order

Handler = Callable[[Site, re.Match[str], list[tuple[str, str]], Any], Any]
ORDER_COLUMNS = frozenset({"entity_id", "increment_id", "ext_order_id", "state", "status", "order_currency_code",
                           "grand_total", "created_at"})


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    resource: str | None  # ACL resource; None: anonymous (the token endpoint)


def admin_token(site: Site, _m: re.Match[str], _q: list[tuple[str, str]], body: Any) -> str:
    if not isinstance(body, dict) or not body.get("username") or not body.get("password"):
        raise bad_request('"%1" is required. Enter and try again.', ["username" if not isinstance(body, dict) or
                                                                      not body.get("username") else "password"])
    if site.admins.get(str(body["username"])) != str(body["password"]):
        raise MagentoError(401, BAD_SIGN_IN)
    return site.issue_admin_token(str(body["username"]))


def _listing(rows: list[dict[str, Any]], criteria: search.SearchCriteria, columns: frozenset[str] | None,
             view: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    known = (lambda name: True) if columns is None else (lambda name: name in columns)
    page, total = search.apply(rows, criteria, known=known)
    return {"items": [view(r) for r in page], "search_criteria": criteria.as_json(), "total_count": total}


def search_orders(site: Site, _m: re.Match[str], query: list[tuple[str, str]], _b: Any) -> dict[str, Any]:
    criteria = search.parse(query)
    columns = ORDER_COLUMNS | site.extra_columns
    equality = criteria.equality()
    if equality and equality[0] == "increment_id":  # indexed, as in MySQL
        ids = [site.by_increment[equality[1]]] if equality[1] in site.by_increment else []
    elif equality and equality[0] == "ext_order_id":
        ids = list(site.by_ext.get(equality[1], []))
    else:
        ids = list(site.orders)
    rows = [site.orders[i].row() for i in ids]
    return _listing(rows, criteria, frozenset(columns), lambda r: site.orders[r["entity_id"]].as_json())


def get_order(site: Site, m: re.Match[str], _q: list[tuple[str, str]], _b: Any) -> dict[str, Any]:
    order = site.orders.get(int(m.group(1)))
    if order is None:
        raise not_found()
    return order.as_json()


def add_order_comment(site: Site, m: re.Match[str], _q: list[tuple[str, str]], body: Any) -> bool:
    order = site.orders.get(int(m.group(1)))
    if order is None:
        raise not_found()
    history = body.get("statusHistory") if isinstance(body, dict) else None
    if not isinstance(history, dict):
        raise bad_request('"%1" is required. Enter and try again.', ["statusHistory"])
    text = str(history.get("comment") or "")
    order.comments.append(Comment(site.next_id("order_comment"), order.entity_id, text, site.timestamp(),
                                  int(bool(history.get("is_customer_notified"))),
                                  int(bool(history.get("is_visible_on_front"))), history.get("status") or order.status))
    return True


def search_invoices(site: Site, _m: re.Match[str], query: list[tuple[str, str]], _b: Any) -> dict[str, Any]:
    rows = [{"entity_id": i.entity_id, "order_id": i.order_id, "increment_id": i.increment_id, "state": 2,
             "created_at": i.created_at} for i in site.invoices.values()]
    return _listing(rows, search.parse(query), None, lambda r: site.invoices[r["entity_id"]].as_json())


def get_invoice(site: Site, m: re.Match[str], _q: list[tuple[str, str]], _b: Any) -> dict[str, Any]:
    invoice = site.invoices.get(int(m.group(1)))
    if invoice is None:
        raise not_found()
    return invoice.as_json()


def refund(site: Site, m: re.Match[str], _q: list[tuple[str, str]], body: Any) -> int:
    return refund_order(site, int(m.group(1)), body)


def search_creditmemos(site: Site, _m: re.Match[str], query: list[tuple[str, str]], _b: Any) -> dict[str, Any]:
    criteria = search.parse(query)
    equality = criteria.equality()
    ids = site.memos_by_order.get(int(equality[1]), []) if equality and equality[0] == "order_id" and \
        equality[1].isdigit() else list(site.creditmemos)
    rows = [site.creditmemos[i].row() for i in ids]
    return _listing(rows, criteria, None, lambda r: site.creditmemos[r["entity_id"]].as_json())


def get_creditmemo(site: Site, m: re.Match[str], _q: list[tuple[str, str]], _b: Any) -> dict[str, Any]:
    memo = site.creditmemos.get(int(m.group(1)))
    if memo is None:
        raise not_found()
    return memo.as_json()


def creditmemo_comments(site: Site, m: re.Match[str], _q: list[tuple[str, str]], _b: Any) -> dict[str, Any]:
    memo = site.creditmemos.get(int(m.group(1)))
    if memo is None:
        raise not_found()
    items = [c.as_json("creditmemo") for c in memo.comments]
    return {"items": items, "search_criteria": {"filter_groups": []}, "total_count": len(items)}


def source_items(site: Site, _m: re.Match[str], query: list[tuple[str, str]], _b: Any) -> dict[str, Any]:
    rows = [{"sku": sku, "source_code": source, "quantity": qty, "status": 1 if qty > 0 else 0}
            for (sku, source), qty in sorted(site.stock.items())]
    columns = frozenset({"sku", "source_code", "quantity", "status"})
    return _listing(rows, search.parse(query), columns, lambda r: r)


def _route(name: str, method: str, path: str, handler: Handler, resource: str | None) -> Route:
    return Route(name, method, re.compile(f"^{path}$"), handler, resource)


ROUTES = (
    _route("admin_token", "POST", r"integration/admin/token", admin_token, None),
    _route("search_orders", "GET", r"orders", search_orders, "Magento_Sales::actions_view"),
    _route("get_order", "GET", r"orders/(\d+)", get_order, "Magento_Sales::actions_view"),
    _route("order_comment", "POST", r"orders/(\d+)/comments", add_order_comment, "Magento_Sales::comment"),
    _route("search_invoices", "GET", r"invoices", search_invoices, "Magento_Sales::sales_invoice"),
    _route("get_invoice", "GET", r"invoices/(\d+)", get_invoice, "Magento_Sales::sales_invoice"),
    _route("refund", "POST", r"order/(\d+)/refund", refund, "Magento_Sales::sales_creditmemo"),
    _route("search_creditmemos", "GET", r"creditmemos", search_creditmemos, "Magento_Sales::sales_creditmemo"),
    _route("get_creditmemo", "GET", r"creditmemo/(\d+)", get_creditmemo, "Magento_Sales::sales_creditmemo"),
    _route("creditmemo_comments", "GET", r"creditmemo/(\d+)/comments", creditmemo_comments,
           "Magento_Sales::sales_creditmemo"),
    _route("source_items", "GET", r"inventory/source-items", source_items, "Magento_InventoryApi::source"),
)


def find_route(method: str, path: str) -> tuple[Route, re.Match[str]] | None:
    """The route for ``path`` (after ``/V1/``); a known path with another method is Magento's 404 too."""
    for route in ROUTES:
        if route.method == method:
            m = route.pattern.match(path)
            if m:
                return route, m
    return None
