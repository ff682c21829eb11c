"""One-time messages shown on the next page ("Password changed."), carried in a short-lived signed cookie.

Signed so that nobody can plant a message (say, "call this number") in a user's browser from a sibling domain.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

FLASH_COOKIE = "rb_flash"


@dataclass(frozen=True)
class Flash:
    kind: str  # "info", "success" or "error": the CSS class
    text: str


class Flasher:
    def __init__(self, secret_key: str) -> None:
        self._key = hashlib.sha256(b"returnbridge/flash/v1\x00" + secret_key.encode("utf-8")).digest()

    def add(self, request: Request, response: Response, text: str, kind: str = "success", *, secure: bool) -> None:
        messages = [*self._read(request), Flash(kind, text)]
        payload = base64.urlsafe_b64encode(json.dumps([[m.kind, m.text] for m in messages]).encode()).decode()
        response.set_cookie(FLASH_COOKIE, f"{payload}.{self._sign(payload)}", max_age=300, path="/", httponly=True,
                            samesite="lax", secure=secure)

    def take(self, request: Request, response: Response) -> list[Flash]:
        """The pending messages; they are cleared on ``response`` so they show once."""
        messages = self._read(request)
        if FLASH_COOKIE in request.cookies:
            response.delete_cookie(FLASH_COOKIE, path="/")
        return messages

    def _read(self, request: Request) -> list[Flash]:
        raw = request.cookies.get(FLASH_COOKIE, "")
        payload, _, signature = raw.rpartition(".")
        if not payload or not hmac.compare_digest(self._sign(payload).encode(), signature.encode("utf-8", "replace")):
            return []
        try:
            return [Flash(str(kind), str(text)) for kind, text in json.loads(base64.urlsafe_b64decode(payload))]
        except (ValueError, TypeError):
            return []

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()
