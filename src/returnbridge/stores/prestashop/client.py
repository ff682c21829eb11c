"""A small PrestaShop webservice client over httpx: the webservice key as the HTTP Basic user name (empty
password), JSON answers (``output_format=JSON``), XML request bodies (what every PrestaShop version accepts).

Reads are retried on timeouts and 5xx; writes are not (no idempotency keys on the webservice): an unclear write
raises ``TransientStoreError`` and the adapter searches the order for our key before trying again.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from returnbridge.stores.adapter import PermanentStoreError, TransientStoreError

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def check_transport_security(base_url: str) -> None:
    parts = urlsplit(base_url)
    if parts.scheme == "https" or (parts.scheme == "http" and (parts.hostname or "") in LOCAL_HOSTS):
        return
    raise PermanentStoreError(f"{base_url}: the webservice key is only sent over HTTPS")


def to_xml(resource: str, fields: dict[str, Any]) -> bytes:
    root = ET.Element("prestashop")
    _fill(ET.SubElement(root, resource), fields)
    return ET.tostring(root, encoding="utf-8")


def _fill(parent: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _fill(ET.SubElement(parent, key), inner)
    elif isinstance(value, list):
        for tag, inner in value:  # (element name, content) pairs: associations hold named rows
            _fill(ET.SubElement(parent, tag), inner)
    else:
        parent.text = str(value)


class PrestaShopClient:
    def __init__(self, base_url: str, key: str, *, timeout: float = 20.0, max_retries: int = 4,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        check_transport_security(base_url)
        self.api = f"{base_url.rstrip('/')}/api"
        self.max_retries = max_retries
        self._sleep = sleep
        self._http = httpx.Client(timeout=timeout, transport=transport, auth=(key, ""))

    def close(self) -> None:
        self._http.close()

    def list(self, resource: str, filters: dict[str, str], *, sort: str = "") -> list[dict[str, Any]]:
        params = {f"filter[{k}]": f"[{v}]" for k, v in filters.items()}
        params.update(display="full", output_format="JSON")
        if sort:
            params["sort"] = sort
        body = self._send("GET", f"/{resource}", params=params, write=False)
        return list(body.get(resource) or []) if isinstance(body, dict) else []  # an empty list comes as []

    def get(self, resource: str, resource_id: str) -> dict[str, Any]:
        body = self._send("GET", f"/{resource}/{resource_id}", params={"output_format": "JSON"}, write=False)
        return next(iter(body.values())) if isinstance(body, dict) and body else {}

    def create(self, resource: str, singular: str, fields: dict[str, Any]) -> dict[str, Any]:
        body = self._send("POST", f"/{resource}", params={"output_format": "JSON"}, content=to_xml(singular, fields),
                          write=True)
        return body.get(singular) or {}

    def update(self, resource: str, singular: str, resource_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        body = self._send("PUT", f"/{resource}/{resource_id}", params={"output_format": "JSON"},
                          content=to_xml(singular, fields), write=True)
        return body.get(singular) or {}

    def _send(self, method: str, path: str, *, params: dict[str, str], content: bytes | None = None,
              write: bool) -> Any:
        what = f"PrestaShop {method} {path}"
        problem = ""
        for attempt in range(self.max_retries + 1):
            try:
                response = self._http.request(method, f"{self.api}{path}", params=params, content=content,
                                              headers={"Content-Type": "text/xml"} if content else None)
            except httpx.TransportError as exc:
                problem = exc.__class__.__name__
                if write and not isinstance(exc, httpx.ConnectError):
                    raise TransientStoreError(f"{what}: {problem}; outcome unknown") from exc
                self._sleep(min(0.25 * 2**attempt, 8.0))
                continue
            status = response.status_code
            if status < 400:
                return response.json()
            message = _errors(response)
            if status >= 500:
                problem = f"HTTP {status}"
                if write:
                    raise TransientStoreError(f"{what} answered HTTP {status}; outcome unknown")
                self._sleep(min(0.25 * 2**attempt, 8.0))
                continue
            if status == 401:
                raise PermanentStoreError(f"{what}: PrestaShop refused the webservice key ({message})")
            raise PermanentStoreError(f"{what} refused: {message} (HTTP {status})")
        raise TransientStoreError(f"{what} still failing after {self.max_retries + 1} tries: {problem}")


def _errors(response: httpx.Response) -> str:
    try:
        body = response.json()
        return "; ".join(f"{e.get('message')} (code {e.get('code')})" for e in body.get("errors") or [])[:500]
    except (ValueError, AttributeError):
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError:
            return response.text[:300]
        return "; ".join(f"{(e.findtext('message') or '').strip()} (code {(e.findtext('code') or '').strip()})"
                         for e in root.iter("error"))[:500]
