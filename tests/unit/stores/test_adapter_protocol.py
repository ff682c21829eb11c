"""Every platform the service can build an adapter for implements every ``StoreAdapter`` method, so the mirror job
never calls a method an adapter lacks (a new protocol method, like ``cancel_return``, must reach every platform)."""

from __future__ import annotations

import inspect

import pytest

from returnbridge.stores import registry
from returnbridge.stores.adapter import StoreAdapter
from returnbridge.stores.magento import MagentoAdapter
from returnbridge.stores.prestashop import PrestaShopAdapter
from returnbridge.stores.shopify import ShopifyAdapter
from returnbridge.stores.woocommerce import WooCommerceAdapter

CLASSES = {cls.platform: cls for cls in (ShopifyAdapter, MagentoAdapter, WooCommerceAdapter, PrestaShopAdapter)}
METHODS = sorted(name for name, value in vars(StoreAdapter).items()
                 if inspect.isfunction(value) and not name.startswith("_"))


def test_the_protocol_lists_the_effect_methods() -> None:
    assert {"find_order", "get_order", "create_return", "record_refund", "restock", "cancel_return",
            "find_effects"} <= set(METHODS)


def test_every_registered_platform_has_an_adapter_class_here() -> None:
    assert set(registry.names()) == set(CLASSES)


@pytest.mark.parametrize("platform", sorted(CLASSES))
@pytest.mark.parametrize("method", METHODS)
def test_each_adapter_implements_each_protocol_method(platform: str, method: str) -> None:
    implementation = getattr(CLASSES[platform], method, None)
    assert callable(implementation), f"{platform} adapter has no {method}"
    protocol = inspect.signature(getattr(StoreAdapter, method))
    assert list(inspect.signature(implementation).parameters) == list(protocol.parameters)
