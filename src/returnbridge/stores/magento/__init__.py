"""Magento 2 / Adobe Commerce REST: the client (admin or integration token, retries, typed errors) and the
``StoreAdapter`` built on it."""

from returnbridge.stores.magento.adapter import LOOKUP_KINDS, MagentoAdapter
from returnbridge.stores.magento.client import MagentoClient, MagentoCredentials

__all__ = ["LOOKUP_KINDS", "MagentoAdapter", "MagentoClient", "MagentoCredentials"]
