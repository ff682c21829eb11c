"""PrestaShop webservice: the client (key auth, JSON answers, XML bodies) and the ``StoreAdapter`` on it."""

from returnbridge.stores.prestashop.adapter import PrestaShopAdapter
from returnbridge.stores.prestashop.client import PrestaShopClient

__all__ = ["PrestaShopAdapter", "PrestaShopClient"]
