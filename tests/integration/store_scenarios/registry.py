"""The platform drivers the store scenario suite runs over. Add a platform by listing its driver class here."""

from __future__ import annotations

from .drivers import PlatformDriver
from .magento_driver import MagentoDriver
from .prestashop_driver import PrestaShopDriver
from .shopify_driver import ShopifyDriver
from .woocommerce_driver import WooCommerceDriver

DRIVERS: tuple[type[PlatformDriver], ...] = (
    ShopifyDriver,
    WooCommerceDriver,
    PrestaShopDriver,
    MagentoDriver,
)
