"""A small product catalog per shop: products, SKUs, seller SKUs and prices in the shop's currency."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .ids import IdCodec, IdKind

# name, seller-SKU stem, variant axis values, US price in cents
_TEMPLATES: tuple[tuple[str, str, tuple[str, ...], int], ...] = (
    ("Cotton Crew T-Shirt", "TS", ("Black, S", "Black, M", "White, M", "White, L"), 1499),
    ("High-Waist Yoga Leggings", "LG", ("Black, S", "Navy, M", "Olive, L"), 2899),
    ("Wireless Earbuds Pro", "EB", ("Black", "White"), 3999),
    ("Stainless Steel Water Bottle 750ml", "WB", ("Sage", "Sand", "Black"), 1899),
    ("LED Desk Lamp with USB Port", "DL", ("White", "Black"), 2499),
    ("Vitamin C Brightening Serum 30ml", "VC", ("30ml",), 1799),
    ("Silicone Phone Case", "PC", ("iPhone 15, Pink", "iPhone 15, Clear", "Galaxy S24, Black"), 1299),
    ("Running Sneakers", "RS", ("Grey, 40", "Grey, 42", "Black, 26", "Black, 44"), 5999),
    ("Ceramic Coffee Mug Set (4 pcs)", "MG", ("Speckled", "Matte Black"), 3299),
    ("Mini Bluetooth Speaker", "SP", ("Blue", "Red", "Black"), 2799),
    ("Hair Claw Clips (6 pcs)", "HC", ("Neutral", "Pastel"), 999),
    ("Matte Liquid Lipstick", "LP", ("Ruby", "Nude", "Berry"), 1199),
    ("Bamboo Cutting Board", "CB", ("Medium", "Large"), 2199),
    ("Memory Foam Pillow", "PL", ("Standard", "King"), 3499),
)

# Rough exchange rate to US cents (basis points) and the rounding step in minor units for "shelf" prices.
_PRICE_RULES: dict[str, tuple[int, int]] = {
    "USD": (10_000, 1),
    "GBP": (8_000, 1),
    "MYR": (46_000, 10),
    "IDR": (1_550_000, 500),
    "VND": (25_000_000, 1000),
}


@dataclass(frozen=True)
class Variant:
    sku_id: str
    sku_name: str
    seller_sku: str
    price: int  # minor units


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    variants: tuple[Variant, ...]


def shelf_price(us_cents: int, currency: str) -> int:
    rate, step = _PRICE_RULES.get(currency, (10_000, 1))
    raw = us_cents * rate // 10_000
    if step > 1:
        return max(step, (raw // step) * step)
    # x.99-style prices for two-decimal currencies
    return max(99, (raw // 100) * 100 + 99) if raw >= 100 else raw


def build_catalog(codec: IdCodec, slot: int, currency: str, seed: int) -> tuple[Product, ...]:
    rng = random.Random(seed * 7_919 + slot * 104_729 + 11)
    templates = list(_TEMPLATES)
    rng.shuffle(templates)
    products = []
    sku_row = 0
    for product_row, (name, stem, variants, us_cents) in enumerate(templates[:10]):
        built = []
        for label in variants:
            code = "-".join(part.strip().upper().replace(" ", "")[:3] for part in label.split(","))
            price = shelf_price(us_cents + rng.choice((0, 0, 100, 200, -100)), currency)
            built.append(Variant(codec.make(IdKind.SKU, slot, sku_row), label, f"{stem}-{code}", price))
            sku_row += 1
        products.append(Product(codec.make(IdKind.PRODUCT, slot, product_row), name, tuple(built)))
    return tuple(products)
