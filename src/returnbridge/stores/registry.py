"""The store platforms ReturnBridge mirrors into, by ``stores.platform``: how to build an adapter from a store's
URL and decrypted credentials, and what the platform can do (which the planner and the settings check read).

A platform is added with one ``register`` call; nothing else dispatches on the platform name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from returnbridge.stores.adapter import StoreAdapter
from returnbridge.stores.settings import RestockLocation


@dataclass(frozen=True)
class Platform:
    name: str
    build: Callable[[str, str], StoreAdapter]  # (stores.base_url, decrypted credentials) → adapter
    lookup_kinds: frozenset[str]
    # True where the platform can put units back in stock only inside the refund record (Magento's credit memo):
    # then no restock effect is planned and the refund restocks the returned units when auto-restock is on.
    restock_through_refund: bool = False
    restock_locations: frozenset[RestockLocation] = frozenset(RestockLocation)


_PLATFORMS: dict[str, Platform] = {}


def register(platform: Platform) -> None:
    _PLATFORMS[platform.name] = platform


def platform(name: str) -> Platform:
    """The registered platform; ``KeyError`` for one ReturnBridge does not support."""
    return _PLATFORMS[name]


def names() -> list[str]:
    return sorted(_PLATFORMS)


def _shopify(base_url: str, credentials: str) -> StoreAdapter:
    from returnbridge.stores.shopify import ShopifyAdapter, ShopifyClient

    return ShopifyAdapter(ShopifyClient(base_url, credentials), base_url)


def _magento(base_url: str, credentials: str) -> StoreAdapter:
    from returnbridge.stores.magento import MagentoAdapter, MagentoClient, MagentoCredentials

    # base_url is the REST root of one store view, e.g. https://shop.example.com/rest/default
    origin = base_url.split("/rest/", 1)[0]
    return MagentoAdapter(MagentoClient(base_url, MagentoCredentials.from_secret(credentials)), f"{origin}/admin")


def _woocommerce(base_url: str, credentials: str) -> StoreAdapter:
    import json

    from returnbridge.stores.woocommerce import WooCommerceAdapter, WooCommerceClient

    keys = json.loads(credentials)
    client = WooCommerceClient(base_url, keys["consumer_key"], keys["consumer_secret"], auth=keys.get("auth", "basic"))
    return WooCommerceAdapter(client, base_url)


def _prestashop(base_url: str, key: str) -> StoreAdapter:
    from returnbridge.stores.prestashop import PrestaShopAdapter, PrestaShopClient

    return PrestaShopAdapter(PrestaShopClient(base_url, key), base_url)


register(Platform("shopify", _shopify,
                  frozenset({"name", "tag", "note_attribute", "source_identifier", "metafield"})))
register(Platform("magento", _magento, frozenset({"name", "increment_id", "ext_order_id", "order_field"}),
                  restock_through_refund=True,
                  # MSI returns shipped units to the source their shipment came from; the credit memo API has no
                  # source argument, so a chosen location cannot be honoured.
                  restock_locations=frozenset({RestockLocation.DEFAULT, RestockLocation.FULFILLED_FROM})))
# One stock per product: the default location and the one a line shipped from are that stock; a chosen location
# cannot be honoured.
_ONE_STOCK = frozenset({RestockLocation.DEFAULT, RestockLocation.FULFILLED_FROM})
# WooCommerce puts units back only through the refund's ``api_restock`` (exactly once; a stock write sets an absolute
# number with no key).
register(Platform("woocommerce", _woocommerce, frozenset({"name", "meta"}), restock_through_refund=True,
                  restock_locations=_ONE_STOCK))
# PrestaShop keeps one stock per shop and product (``stock_availables``).
register(Platform("prestashop", _prestashop, frozenset({"name", "field"}), restock_locations=_ONE_STOCK))
