"""Finding the store order of a TikTok order: the local map (and cache) first, then each configured strategy.

Every TikTok→store order connector writes the TikTok order id somewhere else (order name with a prefix, a tag, a
note attribute, the source identifier, a metafield), so the strategies are per-store settings, tried in order. The
first strategy that finds exactly one order wins and the match is cached, so a case's three effects and every retry
cost one lookup, not one each. A miss is not cached: the order may simply not have been imported yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from returnbridge.stores.adapter import StoreAdapter, StoreOrder
from returnbridge.stores.settings import StoreSettings


@dataclass(frozen=True)
class CachedMatch:
    store_order_id: str
    source: str  # manual | lookup


@dataclass(frozen=True)
class FoundOrder:
    order: StoreOrder
    strategy: str  # "manual", "cache" or the strategy label that found it


def find_store_order(
    adapter: StoreAdapter,
    settings: StoreSettings,
    tiktok_order_id: str,
    *,
    cached: CachedMatch | None,
    remember: Callable[[StoreOrder, str], None],
    forget: Callable[[], None],
) -> FoundOrder | None:
    """The store order for ``tiktok_order_id``, or None when no strategy finds it.

    ``remember`` stores a new lookup match; ``forget`` drops a cached one whose order no longer exists.
    """
    if cached is not None:
        order = adapter.get_order(cached.store_order_id)
        if order is not None:
            return FoundOrder(order, "manual" if cached.source == "manual" else "cache")
        forget()  # the order was deleted or the id is stale: look it up again
    for strategy in settings.order_lookup:
        order = adapter.find_order(tiktok_order_id, strategy)
        if order is not None:
            remember(order, strategy.label())
            return FoundOrder(order, strategy.label())
    return None
