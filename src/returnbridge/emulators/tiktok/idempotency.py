"""Replay of write calls that carry an ``idempotency_key`` (contract §6, emulator choice).

Within 24 business hours, the same key on the same (app, shop, path) with the same body replays the stored
response byte for byte (request_id included); the same key with a different body is a 25001001 error. The body is
compared after JSON canonicalisation, so a retry that re-serialises the same object with other spacing or key
order still counts as "the same body".
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import orjson

from .clock import Clock
from .errors import ApiError

RETENTION_SECONDS = 24 * 3600
MISMATCH_CODE = 25001001


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    body_digest: bytes
    stored_at: int


def body_digest(body: dict) -> bytes:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).digest()


class IdempotencyStore:
    def __init__(self, clock: Clock, max_entries: int = 100_000) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str, str, str], StoredResponse] = OrderedDict()

    def lookup(self, key: tuple[str, str, str, str], body: dict) -> StoredResponse | None:
        """The stored response to replay, None when the call must run; raises on a reused key with another body."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock.now() - entry.stored_at >= RETENTION_SECONDS:
            del self._entries[key]
            return None
        if entry.body_digest != body_digest(body):
            raise ApiError(
                MISMATCH_CODE,
                "Invalid request parameter. The idempotency_key was already used with a different request body.",
            )
        return entry

    def store(self, key: tuple[str, str, str, str], body: dict, status: int, response: bytes) -> None:
        self._entries[key] = StoredResponse(status, response, body_digest(body), self._clock.now())
        # Oldest first out: a bound on memory for long benchmark runs that send a fresh key per call.
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
