"""A bounded memory of recently read store orders.

A mirror run reads an order for a case's return, again for its refund and its restock; keeping the last few hundred
saves those reads. Unbounded, the memory of a run through a backlog of 100,000 cases would grow with every order it
ever touched, so the oldest is forgotten once ``capacity`` is reached (cases of one order are mirrored together)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

RECENT_ORDERS = 512


class Recent(Generic[K, V]):
    def __init__(self, capacity: int = RECENT_ORDERS) -> None:
        self.capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def pop(self, key: K, default: V | None = None) -> V | None:
        return self._items.pop(key, default)
