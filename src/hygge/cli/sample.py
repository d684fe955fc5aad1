"""Deterministic sample data for `hygge init`: a small shop of customers, products, orders."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

CUSTOMERS = 500
PRODUCTS = 120
ORDERS = 4_000
_FIRST = ["Ada", "Bo", "Chen", "Dana", "Emil", "Freja", "Gus", "Hana", "Ivo", "Jo", "Kaja", "Lars"]
_LAST = ["Berg", "Dahl", "Holm", "Lund", "Moe", "Nyg\u00e5rd", "Str\u00f8m", "Vik"]
_CITIES = ["Aarhus", "Bergen", "Copenhagen", "Oslo", "Malm\u00f6", "Odense", "Troms\u00f8"]
_THINGS = ["blanket", "candle", "mug", "lamp", "sock", "book", "teapot", "cushion"]
_START = datetime(2026, 1, 1, tzinfo=UTC)


def customers(rng: random.Random) -> pl.DataFrame:
    ids = range(1, CUSTOMERS + 1)
    return pl.DataFrame(
        {
            "customer_id": list(ids),
            "name": [f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in ids],
            "city": [rng.choice(_CITIES) for _ in ids],
            "signed_up": [(_START - timedelta(days=rng.randrange(900))).date() for _ in ids],
        }
    )


def products(rng: random.Random) -> pl.DataFrame:
    ids = range(1, PRODUCTS + 1)
    return pl.DataFrame(
        {
            "product_id": list(ids),
            "name": [
                f"{rng.choice(['cosy', 'warm', 'soft', 'calm'])} {rng.choice(_THINGS)}" for _ in ids
            ],
            "price": [round(rng.uniform(2, 120), 2) for _ in ids],
            "in_stock": [rng.random() > 0.1 for _ in ids],
        }
    )


def orders(rng: random.Random) -> pl.DataFrame:
    ids = range(1, ORDERS + 1)
    placed = [_START + timedelta(minutes=rng.randrange(60 * 24 * 90)) for _ in ids]
    return pl.DataFrame(
        {
            "order_id": list(ids),
            "customer_id": [rng.randrange(1, CUSTOMERS + 1) for _ in ids],
            "product_id": [rng.randrange(1, PRODUCTS + 1) for _ in ids],
            "quantity": [rng.randrange(1, 5) for _ in ids],
            "status": [rng.choice(["placed", "paid", "shipped", "returned"]) for _ in ids],
            "updated_at": [t + timedelta(hours=rng.randrange(72)) for t in placed],
        }
    ).sort("updated_at")


def write_sample(data_dir: Path, seed: int = 7) -> list[Path]:
    """Write the shop's source files under data_dir; the same seed gives the same bytes."""
    rng = random.Random(seed)
    written = []
    crm = data_dir / "crm"
    crm.mkdir(parents=True, exist_ok=True)
    customers(rng).write_csv(crm / "customers.csv")
    written.append(crm / "customers.csv")
    shop = data_dir / "shop"
    (shop / "orders").mkdir(parents=True, exist_ok=True)
    products(rng).write_parquet(shop / "products.parquet")
    written.append(shop / "products.parquet")
    all_orders = orders(rng)
    for (month,), part in all_orders.group_by(pl.col("updated_at").dt.month(), maintain_order=True):
        path = shop / "orders" / f"2026-{month:02d}.parquet"
        part.write_parquet(path)
        written.append(path)
    return written
