"""Shopify Admin GraphQL: the client (throttling, retries, typed errors) and the ``StoreAdapter`` built on it."""

from returnbridge.stores.shopify.adapter import ShopifyAdapter
from returnbridge.stores.shopify.client import API_VERSION, ShopifyClient

__all__ = ["API_VERSION", "ShopifyAdapter", "ShopifyClient"]
