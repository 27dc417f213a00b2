"""Deterministic sample orders and customers, with a realistic share of bad rows.

Orders are JSON lines (the way they land in cloud storage); customers are one parquet file. The
same ``rows`` and ``seed`` always produce byte-identical orders files.

Bad orders, by share: 2% no order_id, 2% negative amount, 1% amount >= 100000, 0.5% amount that
is not a number ("12.3x"), 1.5% customer unknown to the customer table, 1% no customer_id, and
3% re-sent copies of an earlier order (duplicate order_id). Every status is valid: an invalid one
would fail the run (valid_status is a fail rule).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

STATUSES = ("completed", "completed", "completed", "pending", "cancelled")
REGIONS = ("US", "EU", "ASIA")
SEGMENTS = ("consumer", "corporate", "small_business")
BASE_DATE = datetime(2024, 1, 1)


@dataclass(frozen=True)
class DemoInput:
    """Where the sample data was written."""

    root: Path
    rows: int
    customers: int

    @property
    def orders(self) -> Path:
        """Folder of the orders JSON files."""
        return self.root / "orders"

    @property
    def customer_dir(self) -> Path:
        """Folder of the customers parquet file."""
        return self.root / "customers"


def customer_count(rows: int) -> int:
    """How many customers go with ``rows`` orders."""
    return max(10, min(100_000, rows // 10))


def order_records(rows: int, *, seed: int = 7, first_id: int = 1) -> list[dict[str, Any]]:
    """The sample orders as dicts, bad rows included."""
    rng = random.Random(seed)
    customers = customer_count(rows)
    records: list[dict[str, Any]] = []
    for i in range(rows):
        if records and rng.random() < 0.03:
            records.append(dict(records[rng.randrange(len(records))]))
            continue
        order_id: int | None = first_id + i
        customer_id: int | None = rng.randint(1, customers)
        amount: float | str = round(rng.uniform(10, 1000), 2)
        roll = rng.random()
        if roll < 0.02:
            order_id = None
        elif roll < 0.04:
            amount = -round(rng.uniform(1, 500), 2)
        elif roll < 0.05:
            amount = round(rng.uniform(100_000, 900_000), 2)
        elif roll < 0.055:
            amount = f"{round(rng.uniform(10, 99), 1)}x"
        elif roll < 0.07:
            customer_id = customers + rng.randint(1, 1000)
        elif roll < 0.08:
            customer_id = None
        when = BASE_DATE + timedelta(seconds=rng.randrange(365 * 24 * 3600))
        records.append(
            {
                "order_id": order_id,
                "customer_id": customer_id,
                "amount": amount,
                "status": rng.choice(STATUSES),
                "order_date": when.isoformat(),
                "region": rng.choice(REGIONS),
            }
        )
    return records


def write_orders(folder: Path, records: list[dict[str, Any]], *, files: int = 4,
                 prefix: str = "orders") -> list[Path]:
    """Write ``records`` as JSON lines split over ``files`` files; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    files = max(1, min(files, len(records) or 1))
    size = -(-len(records) // files)
    paths = []
    for n in range(files):
        chunk = records[n * size : (n + 1) * size]
        path = folder / f"{prefix}-{n:04d}.json"
        tmp = path.with_name("." + path.name + ".tmp")
        with tmp.open("w") as out:
            for record in chunk:
                out.write(json.dumps(record) + "\n")
        tmp.replace(path)  # appear complete, never half-written, to the file stream
        paths.append(path)
    return paths


def customer_records(count: int, *, seed: int = 11) -> list[dict[str, Any]]:
    """The sample customers."""
    rng = random.Random(seed)
    return [
        {
            "customer_id": cid,
            "customer_name": f"Customer {cid:05d}",
            "customer_segment": rng.choice(SEGMENTS),
            "home_region": rng.choice(REGIONS),
        }
        for cid in range(1, count + 1)
    ]


def write_customers(spark: SparkSession, folder: Path, records: list[dict[str, Any]]) -> None:
    """Write the customers as one parquet file (through Spark: pyarrow is not required)."""
    schema = "customer_id BIGINT, customer_name STRING, customer_segment STRING, home_region STRING"
    rows = [tuple(r[k] for k in ("customer_id", "customer_name", "customer_segment",
                                  "home_region")) for r in records]
    spark.createDataFrame(rows, schema).coalesce(1).write.mode("overwrite").parquet(
        folder.as_uri()
    )


def generate(spark: SparkSession, root: Path, rows: int, *, files: int = 4,
             seed: int = 7) -> DemoInput:
    """Write the sample orders and customers under ``root``; return where they are."""
    data = DemoInput(root, rows, customer_count(rows))
    write_orders(data.orders, order_records(rows, seed=seed), files=files)
    write_customers(spark, data.customer_dir, customer_records(data.customers))
    return data
