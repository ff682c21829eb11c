"""Deterministic stores: the same seed gives the same locations, catalog, stock, orders and ids.

Orders carry a TikTok order id stored in one of the ways third-party connectors use (store-apis.md A.2), so every
order-lookup strategy has something to find: the order name (with prefix/suffix), a tag, a note attribute
(``customAttributes``), ``sourceIdentifier``, an order metafield, or the note.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from .model import Metafield, Order
from .world import Store, World

LOOKUP_STYLES = ("name", "tag", "custom_attribute", "source_identifier", "metafield", "note")
DEFAULT_DOMAIN = "returnbridge-emulator.myshopify.com"
DEFAULT_TOKEN = "shpat_emulator_token"
DEFAULT_ATTRIBUTE_KEY = "TikTok Order Number"
DEFAULT_METAFIELD = ("tiktok", "order_id")
# Seeded records are dated back from this fixed moment so that two runs with one seed are identical.
SEED_EPOCH = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def seed_store(world: World, *, domain: str, token: str, name: str | None = None, currency: str = "USD",
               seed: int = 42, products: int = 8, orders: int = 12) -> Store:
    rng = random.Random(f"{seed}:{domain}")
    store = world.add_store(domain=domain, name=name or domain.split(".")[0].replace("-", " ").title(),
                            token=token, currency=currency)
    main = store.add_location("Main warehouse")
    returns_center = store.add_location("Returns center")
    store.add_location("Pop-up store")
    for number in range(1, products + 1):
        sizes = ("S", "M") if number % 3 == 0 else ("Default Title",)
        product = store.add_product(f"Product {number:02d}", [
            (size, f"RB-{number:03d}" + ("" if size == "Default Title" else f"-{size}"),
             Decimal(rng.randrange(999, 9999)) / 100, number != products)  # the last product is untracked
            for size in sizes
        ])
        for variant_id in product.variant_ids:
            item_id = store.variants[variant_id].inventory_item_id
            store.stock(item_id, main.id, rng.randrange(20, 120), SEED_EPOCH)
            if number % 2 == 0:
                store.stock(item_id, returns_center.id, rng.randrange(0, 10), SEED_EPOCH)
    for index in range(orders):
        style = LOOKUP_STYLES[index % len(LOOKUP_STYLES)]
        tiktok_id = str(576_460_000_000_000_000 + rng.randrange(10**12))
        variants = sorted(store.variants.values(), key=lambda v: v.id)
        picked = rng.sample(variants, k=min(len(variants), 1 + index % 3))
        add_tiktok_order(store, tiktok_id, style=style, created_at=SEED_EPOCH - timedelta(hours=7 * (orders - index)),
                         lines=[{"variant_id": v.id, "quantity": 1 + rng.randrange(3)} for v in picked],
                         shipping=Decimal("4.99"), tax_rate=Decimal("0.08"))
    return store


def add_tiktok_order(
    store: Store,
    tiktok_order_id: str,
    *,
    style: str = "name",
    lines: list[dict[str, Any]] | None = None,
    created_at: datetime | None = None,
    prefix: str = "",
    suffix: str = "",
    tag_prefix: str = "",
    attribute_key: str = DEFAULT_ATTRIBUTE_KEY,
    metafield: tuple[str, str] = DEFAULT_METAFIELD,
    metafield_filterable: bool = True,
    source_name: str = "tiktok",
    extra_tags: list[str] | None = None,
    shipping: Decimal = Decimal("0"),
    tax_rate: Decimal = Decimal("0"),
    gateway: str = "manual",
    fulfilled: bool = True,
    location_id: int | None = None,
) -> Order:
    """An order for a TikTok order id, stored the way ``style`` says.

    ``lines``: ``{"variant_id" | "sku", "quantity", "price"?}`` or ``{"title", "quantity", "price"}`` for a custom
    item; default one unit of the first variant.
    """
    if style not in LOOKUP_STYLES:
        raise ValueError(f"style must be one of {', '.join(LOOKUP_STYLES)}")
    resolved = []
    for line in lines or [{"variant_id": min(store.variants), "quantity": 1}]:
        variant = None
        if line.get("variant_id") is not None:
            variant = store.variants[int(line["variant_id"])]
        elif line.get("sku") is not None:
            variant = store.variant_by_sku(str(line["sku"]))
            if variant is None:
                raise KeyError(f"sku {line['sku']}")
        price = Decimal(str(line["price"])) if line.get("price") is not None else (variant.price if variant
                                                                                    else Decimal("10.00"))
        title = line.get("title") or (store.products[variant.product_id].title if variant else "Custom item")
        quantity = int(line.get("quantity", 1))
        if quantity < 1:
            raise ValueError("quantity must be at least 1")
        resolved.append((variant, quantity, price, title))
    tags = ["TikTok", *(extra_tags or [])]
    options: dict[str, Any] = {}
    if style == "name":
        options["name"] = f"{prefix}{tiktok_order_id}{suffix}"
    elif style == "tag":
        tags.append(f"{tag_prefix}{tiktok_order_id}")
    elif style == "custom_attribute":
        options["custom_attributes"] = [(attribute_key, tiktok_order_id)]
    elif style == "source_identifier":
        options["source_identifier"] = tiktok_order_id
    elif style == "metafield":
        options["metafields"] = [Metafield(metafield[0], metafield[1], tiktok_order_id)]
        if metafield_filterable:
            store.filterable_metafields.add(metafield)
    else:
        options["note"] = f"TikTok order ID: {tiktok_order_id}"
    return store.add_order(
        lines=resolved, created_at=created_at or store.world.now(), tags=tags, source_name=source_name,
        email=f"buyer-{tiktok_order_id[-6:]}@scs.tiktokw.us", shipping=shipping, tax_rate=tax_rate,
        gateway=gateway, fulfilled=fulfilled, location_id=location_id, **options,
    )
