"""Everything the emulator keeps for one shop: its catalog and its order/return/cancellation tables."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from .catalog import Product
from .model import OrderTable, RequestTable, Shop


class ShopBook:
    def __init__(self, shop: Shop, slot: int, catalog: tuple[Product, ...]) -> None:
        self.shop = shop
        self.slot = slot
        self.market = shop.region
        self.currency = shop.currency
        self.catalog = catalog
        self.orders = OrderTable()
        self.returns = RequestTable()
        self.cancels = RequestTable()
        self.buyers = 0  # size of the buyer population seeded orders draw from
        self.batches = 0  # seeding calls so far (each gets its own random stream)
        self.cycles: dict[str, int] = {}  # round-robin position per reason list, so every reason shows up
        self.combined: dict[int, str] = {}  # return row → combined_return_id
        self.combined_count = 0
        self.search_cache: OrderedDict[Any, Any] = OrderedDict()

    def next_in_cycle(self, key: str, size: int) -> int:
        position = self.cycles.get(key, 0)
        self.cycles[key] = position + 1
        return position % size
