"""Who holds a shop's OAuth tokens: the ``TokenSource`` protocol and an in-memory implementation."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from .models import TokenSet

if TYPE_CHECKING:
    from .client import TikTokClient


class TokenSource(Protocol):
    """The current tokens of one shop, and the way to renew them.

    ``refresh(stale)`` must be safe under concurrency: if the stored access token already differs from
    ``stale`` someone else refreshed in between, and the stored tokens are returned without another refresh
    (a second refresh could burn a rotated refresh token). The new tokens are persisted before returning.
    """

    def current(self) -> TokenSet: ...

    def refresh(self, stale: TokenSet) -> TokenSet: ...


class MemoryTokenSource:
    """Holds one shop's ``TokenSet`` in memory and refreshes it through the client.

    ``on_refreshed(new)`` is called after each refresh so the caller can persist the new pair; TikTok may
    rotate the refresh token, so the newest one must always be stored.
    """

    def __init__(
        self,
        client: TikTokClient,
        tokens: TokenSet,
        on_refreshed: Callable[[TokenSet], None] | None = None,
    ) -> None:
        self._client = client
        self._tokens = tokens
        self._on_refreshed = on_refreshed
        self._lock = threading.Lock()

    def current(self) -> TokenSet:
        with self._lock:
            return self._tokens

    def refresh(self, stale: TokenSet) -> TokenSet:
        with self._lock:
            if self._tokens.access_token != stale.access_token:
                return self._tokens
            fresh = self._client.refresh_access_token(self._tokens.refresh_token)
            self._tokens = fresh
            if self._on_refreshed is not None:
                self._on_refreshed(fresh)
            return fresh
