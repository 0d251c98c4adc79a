#!/usr/bin/env python3
"""Deterministic generator of realistic "orders" NDJSON for the gluepipe-etl benchmark.

Each record (about 400 bytes) has ids, amounts with some nulls, enums, ISO-8601 timestamps with
and without offsets, a tag array, a nested address and an array of line items. The same
--rows and --seed always give the same bytes.

    bench/gen_orders.py --rows 1000000 --out orders.json
"""
import argparse
import json
import random

STATUSES = ["new", "paid", "shipped", "delivered", "cancelled", "returned"]
CHANNELS = ["web", "app", "store", "partner"]
CURRENCIES = ["EUR", "USD", "GBP", "NOK", "JPY"]
TAGS = ["gift", "priority", "bulk", "promo", "b2b", "first-order", "fragile", "express"]
CITIES = [("Oslo", "NO"), ("Berlin", "DE"), ("Lyon", "FR"), ("Kraków", "PL"), ("São Paulo", "BR"),
          ("Osaka", "JP"), ("Austin", "US"), ("Leeds", "GB"), ("Zürich", "CH"), ("Malmö", "SE")]
STREETS = ["Main St", "Karl Johans gate", "Rue de la République", "ul. Floriańska", "Hauptstraße",
           "Avenida Paulista", "High Street", "Storgatan"]
OFFSETS = ["Z", "+00:00", "+01:00", "+02:00", "-05:00", "+09:00", ""]


def record(rng, i):
    day = 1 + i % 28
    month = 1 + (i // 28) % 12
    hour, minute, second = rng.randrange(24), rng.randrange(60), rng.randrange(60)
    micros = rng.randrange(1_000_000)
    created = f"2024-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{micros:06d}{rng.choice(OFFSETS)}"
    city, country = rng.choice(CITIES)
    items = []
    for _ in range(rng.randint(1, 3)):
        items.append({
            "sku": f"SKU-{rng.randrange(100000):05d}",
            "qty": rng.randint(1, 5),
            "unit_price": round(rng.uniform(1, 250), 2),
        })
    amount = round(sum(it["qty"] * it["unit_price"] for it in items), 2)
    return {
        "order_id": 10_000_000 + i,
        "customer_id": rng.randrange(1, 500_000),
        "status": rng.choice(STATUSES),
        "channel": rng.choice(CHANNELS),
        "currency": rng.choice(CURRENCIES),
        "amount": None if rng.random() < 0.05 else amount,
        "discount": None if rng.random() < 0.6 else round(rng.uniform(0, 30), 2),
        "created_at": created,
        "order_date": f"2024-{month:02d}-{day:02d}",
        "is_gift": rng.random() < 0.1,
        "tags": rng.sample(TAGS, rng.randint(0, 3)),
        "address": {
            "street": f"{rng.randint(1, 300)} {rng.choice(STREETS)}",
            "city": city,
            "zip": f"{rng.randrange(100000):05d}",
            "country": country,
            "geo": {"lat": round(rng.uniform(-60, 70), 5), "lon": round(rng.uniform(-120, 150), 5)},
        },
        "items": items,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with open(args.out, "w", encoding="utf-8") as f:
        for i in range(args.rows):
            f.write(json.dumps(record(rng, i), ensure_ascii=False, separators=(",", ":")))
            f.write("\n")


if __name__ == "__main__":
    main()
