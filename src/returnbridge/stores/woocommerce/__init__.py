"""WooCommerce REST API v3: the client (consumer-key auth, retries, WP errors) and the ``StoreAdapter`` on it."""

from returnbridge.stores.woocommerce.adapter import WooCommerceAdapter
from returnbridge.stores.woocommerce.client import WooCommerceClient

__all__ = ["WooCommerceAdapter", "WooCommerceClient"]
