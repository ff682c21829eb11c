"""The platform drivers the store scenario suite runs over. Add a platform by listing its driver class here."""

from __future__ import annotations

from .drivers import PlatformDriver
from .magento_driver import MagentoDriver
from .shopify_driver import ShopifyDriver

DRIVERS: tuple[type[PlatformDriver], ...] = (
    ShopifyDriver,
    MagentoDriver,
)
