"""The emulator's HTTP surface: ``/api/{resource}`` (webservice key auth, XML by default, JSON with
``output_format=JSON``, ``filter[field]=[value]``, ``display=full``) and ``/_emulator/`` (control).

Errors are PrestaShop's: ``<prestashop><errors><error><code/><message/></error></errors></prestashop>`` or, in
JSON, ``{"errors":[{"code","message"}]}``. Request bodies are XML (``<prestashop><order_slip>...``), as the
webservice documents; a JSON body is accepted too (``io_format=JSON`` in recent versions).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import xml.etree.ElementTree as ET
from collections import deque
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from .model import PsError, Shop

DEFAULT_KEY = "PSWEBSERVICEEMULATORKEY00000000A"
SINGULAR = {"orders": "order", "order_details": "order_detail", "order_slip": "order_slip",
            "stock_availables": "stock_available", "messages": "message", "currencies": "currency"}
WRITABLE = {("POST", "order_slip"), ("POST", "messages"), ("PUT", "stock_availables")}
XLINK = "http://www.w3.org/1999/xlink"
# http_error: answered before anything runs; timeout: answered 504 after ``delay_ms`` (with ``commit`` the request
# runs first); commit_then_error: runs, then answers ``http_status`` (502) instead: the lost answer.
FAULT_KINDS = ("http_error", "timeout", "commit_then_error")


def _to_xml(parent: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "id" and parent.tag != "prestashop" and not isinstance(inner, dict):
                child = ET.SubElement(parent, "id")
                child.text = str(inner)
                continue
            child = ET.SubElement(parent, key)
            _to_xml(child, inner)
    elif isinstance(value, list):
        singular = {"order_rows": "order_row", "order_slip_details": "order_slip_detail"}.get(parent.tag,
                                                                                           parent.tag[:-1])
        for inner in value:
            _to_xml(ET.SubElement(parent, singular), inner)
    else:
        parent.text = "" if value is None else str(value)


def _from_xml(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return (element.text or "").strip()
    if element.tag in ("order_slip_details", "order_rows", "associations") and element.tag != "associations":
        return [_from_xml(c) for c in children]
    return {c.tag: _from_xml(c) for c in children}


class PrestaEmulator:
    def __init__(self, *, key: str = DEFAULT_KEY) -> None:
        self.shop = Shop()
        self.key = key
        self.faults: list[dict[str, Any]] = []
        self.requests: deque[dict[str, Any]] = deque(maxlen=5000)
        self._lock = threading.Lock()
        self.app = FastAPI(title="PrestaShop webservice emulator", openapi_url=None, docs_url=None, redoc_url=None)
        self._routes()

    def _answer(self, request: Request, status: int, body: Any) -> Response:
        if request.query_params.get("output_format", "XML").upper() == "JSON":
            return JSONResponse(body, status_code=status)
        root = ET.Element("prestashop", {"xmlns:xlink": XLINK})
        _to_xml(root, body)
        text = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root)
        return Response(text, status_code=status, media_type="text/xml")

    def _error(self, request: Request, error: PsError) -> Response:
        response = self._answer(request, error.status, {"errors": [{"code": error.code, "message": error.message}]})
        if error.status == 401:
            response.headers["WWW-Authenticate"] = 'Basic realm="Welcome to PrestaShop Webservice, please enter the ' \
                                                   'authentication key as the login. No password required."'
        return response

    def _auth(self, request: Request) -> None:
        key = request.query_params.get("ws_key")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                key = base64.b64decode(header[6:]).decode().partition(":")[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        if not key:
            raise PsError(17, "Authentication key is empty", 401)
        if key != self.key:
            raise PsError(18, "Invalid authentication key", 401)

    def _fault(self, route: str) -> dict[str, Any] | None:
        with self._lock:
            for fault in self.faults:
                if fault.get("match") in (None, route):
                    fault["remaining"] -= 1
                    if fault["remaining"] <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    async def _body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if raw.lstrip().startswith(b"{"):
            data = json.loads(raw)
            return next(iter(data.values())) if len(data) == 1 and isinstance(next(iter(data.values())), dict) \
                else data
        try:
            root = ET.fromstring(raw)
        except ET.ParseError:
            raise PsError(127, "XML error : Start tag expected, '<' not found", 400) from None
        children = list(root)
        if not children:
            raise PsError(127, "XML error : no resource element", 400)
        data = _from_xml(children[0])
        if isinstance(data, dict) and isinstance(data.get("associations"), dict):
            data["associations"] = {k: v if isinstance(v, list) else [] for k, v in data["associations"].items()}
        return data if isinstance(data, dict) else {}

    def _candidates(self, resource: str, request: Request) -> list[Any]:
        """Narrow by ``id_order`` through the shop's per-order index (the database's index, in effect)."""
        order = request.query_params.get("filter[id_order]", "").strip("[]")
        if order.isdigit() and resource in ("messages", "order_slip"):
            by_order = self.shop.messages_by_order if resource == "messages" else self.shop.slips_by_order
            return list(by_order.get(int(order), []))
        return list(self.shop.resources(resource).values())

    def _list(self, request: Request, resource: str) -> Response:
        items = self._candidates(resource, request)
        for name, raw in request.query_params.items():
            if not (name.startswith("filter[") and name.endswith("]")):
                continue
            field = name[7:-1]
            wanted = set(raw.strip("[]").split("|"))
            items = [i for i in items if str(i.json().get(field, "\x00")) in wanted]
        full = request.query_params.get("display") == "full"
        rows = [i.json() if full else {"id": i.json()["id"]} for i in items]
        if request.query_params.get("output_format", "XML").upper() == "JSON" and not rows:
            return JSONResponse([])  # PrestaShop answers an empty list as [], not {"orders": []}
        return self._answer(request, 200, {resource: rows})

    def _routes(self) -> None:
        app, shop = self.app, self.shop

        @app.api_route("/api/{resource}", methods=["GET", "POST"])
        @app.api_route("/api/{resource}/{resource_id}", methods=["GET", "PUT"])
        async def api(request: Request, resource: str, resource_id: str | None = None) -> Response:
            route = f"{resource}.{request.method.lower()}"
            entry: dict[str, Any] = {"method": request.method, "route": route, "status": None}
            try:
                self._auth(request)
                if resource not in SINGULAR:
                    shop.resources(resource)
                if request.method in ("POST", "PUT") and (request.method, resource) not in WRITABLE:
                    raise PsError(23, f"Method {request.method} is not allowed for resource {resource}", 405)
                body = await self._body(request) if request.method in ("POST", "PUT") else {}
                fault = self._fault(route)
                if fault is not None and fault["kind"] == "http_error":
                    raise PsError(0, "Internal Server Error", int(fault.get("http_status") or 500))
                if fault is not None and fault["kind"] == "timeout" and not fault.get("commit"):
                    # The shop never got to it (a proxy gave up first): nothing is written.
                    await asyncio.sleep(int(fault.get("delay_ms") or 30_000) / 1000)
                    raise PsError(0, "Gateway Timeout", int(fault.get("http_status") or 504))
                with shop.lock:
                    response = self._run(request, resource, resource_id, body)
                if fault is not None and fault["kind"] == "timeout":  # written, then too slow to answer
                    await asyncio.sleep(int(fault.get("delay_ms") or 30_000) / 1000)
                    raise PsError(0, "Gateway Timeout", int(fault.get("http_status") or 504))
                if fault is not None:  # commit_then_error: done, answer lost
                    raise PsError(0, "Bad Gateway", int(fault.get("http_status") or 502))
            except PsError as error:
                entry["status"] = error.status
                self._log(entry)
                return self._error(request, error)
            entry["status"] = response.status_code
            self._log(entry)
            return response

        self._control()

    def _run(self, request: Request, resource: str, resource_id: str | None, body: dict[str, Any]) -> Response:
        shop = self.shop
        if request.method == "GET" and resource_id is None:
            return self._list(request, resource)
        if request.method == "GET":
            item = shop.resources(resource).get(int(resource_id)) if str(resource_id).isdigit() else None
            if item is None:
                raise PsError(87, f"Id(s) not exists: {resource_id}", 404)
            return self._answer(request, 200, {SINGULAR[resource]: item.json()})
        if resource == "order_slip":
            return self._answer(request, 201, {"order_slip": shop.create_slip(body).json()})
        if resource == "messages":
            return self._answer(request, 201, {"message": shop.add_message(body).json()})
        stock_id = int(resource_id) if str(resource_id).isdigit() else -1
        return self._answer(request, 200, {"stock_available": shop.update_stock(stock_id, body).json()})

    def _log(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)

    def _control(self) -> None:
        app, shop = self.app, self.shop

        @app.get("/_emulator/health")
        def health() -> dict[str, Any]:
            return {"ok": True}

        @app.post("/_emulator/reset")
        def reset() -> dict[str, Any]:
            with shop.lock:
                shop.reset()
            with self._lock:
                self.faults.clear()
                self.requests.clear()
            return {"ok": True}

        @app.post("/_emulator/orders")
        async def create_order(request: Request) -> JSONResponse:
            spec = await request.json()
            with shop.lock:
                return JSONResponse(shop.create_order(spec).json())

        @app.get("/_emulator/state")
        def state() -> dict[str, Any]:
            with shop.lock:
                return {"slips": [s.json() for s in shop.slips.values()],
                        "messages": [m.json() for m in shop.messages.values()],
                        "stock": [s.json() for s in shop.stock.values()], "products": dict(shop.products),
                        "stock_changes": list(shop.stock_changes)}

        @app.post("/_emulator/faults")
        async def add_fault(request: Request) -> Any:
            spec = await request.json()
            if spec.get("kind") not in FAULT_KINDS:
                return JSONResponse({"error": f"kind must be one of {', '.join(FAULT_KINDS)}"}, status_code=400)
            with self._lock:
                self.faults.append({**spec, "remaining": int(spec.get("count", 1))})
                return {"faults": list(self.faults)}

        @app.delete("/_emulator/faults")
        def clear_faults() -> dict[str, Any]:
            with self._lock:
                n = len(self.faults)
                self.faults.clear()
            return {"cleared": n}

        @app.get("/_emulator/requests")
        def requests_log() -> dict[str, Any]:
            with self._lock:
                return {"requests": list(self.requests)}
