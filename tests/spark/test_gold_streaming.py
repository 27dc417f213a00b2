"""The reference brief's streaming gold table and change-feed consumer, on the hand-made input.

gold_hourly_metrics (update mode) and its append-mode twin run beside the reference pipeline;
a second run brings late data: only the affected windows change, data behind the watermark is
counted, never silently lost.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import medallion
from medallion.demo.orders import (
    declare_customer_changes,
    declare_hourly_metrics,
    declare_orders_pipeline,
)
from tests.spark.conftest import write_json_lines
from tests.spark.test_orders_pipeline import CUSTOMERS, FILE_1, FILE_2

pytestmark = [pytest.mark.spark, pytest.mark.slow]

LATE_FILE = [
    {"order_id": 13, "customer_id": 10, "amount": 30, "status": "completed",
     "order_date": "2024-01-05T07:30:00", "region": "US"},  # a new window, still open
    {"order_id": 14, "customer_id": 10, "amount": 10, "status": "completed",
     "order_date": "2024-01-05T08:45:00", "region": "US"},  # updates an open window
    {"order_id": 15, "customer_id": 11, "amount": 5, "status": "completed",
     "order_date": "2024-01-02T09:30:00", "region": "EU"},  # its window closed: late
    {"order_id": 16, "customer_id": 11, "amount": 1, "status": "pending",
     "order_date": "2024-01-05T09:10:00", "region": "EU"},
]


def hour(day: int, h: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(2024, 1, day, h)
    return start, start + dt.timedelta(hours=1)


def metrics(result: Any, table: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in result.read(table).orderBy("hour_start", "region").collect()]


def test_hourly_metrics_and_customer_changes(raw: Path, run_pipeline: Any,
                                             medallion_spark: Any) -> None:
    write_json_lines(raw / "orders", "part-1.json", FILE_1)
    write_json_lines(raw / "orders", "part-2.json", FILE_2)
    medallion_spark.createDataFrame(
        CUSTOMERS, "customer_id BIGINT, customer_name STRING, customer_segment STRING"
    ).coalesce(1).write.parquet((raw / "customers").as_uri())
    with medallion.Pipeline("orders") as p:
        declare_orders_pipeline(str(raw))
        declare_hourly_metrics(change_data_feed=True)
        declare_hourly_metrics("gold_hourly_final", output_mode="append")
        declare_customer_changes()

    first = run_pipeline(p)
    d = Decimal
    on_time = [
        (*hour(1, 10), "US", "completed", 1, d("100.50")),
        (*hour(1, 11), "EU", "pending", 1, d("20.00")),
        (*hour(2, 9), "EU", "completed", 1, d("75.25")),
        (*hour(2, 18), "US", "completed", 1, d("40.00")),
        (*hour(2, 20), "EU", "completed", 1, d("60.10")),
        (*hour(5, 8), "US", "completed", 1, d("19.50")),
    ]
    assert metrics(first, "gold_hourly_metrics") == on_time
    assert dict(first.read("gold_hourly_metrics").dtypes) == {
        "hour_start": "timestamp", "hour_end": "timestamp", "region": "string",
        "status": "string", "order_count": "bigint", "total_amount": "decimal(20,2)"}
    # append mode: a window is written once the watermark (latest event - 1 hour) closes it
    assert metrics(first, "gold_hourly_final") == on_time[:5]
    assert first["gold_hourly_metrics"].rows_late == 0

    # -- customer_changes: silver_customers' change data feed, streamed -------------------
    version = medallion_spark.sql(
        "DESCRIBE HISTORY medallion_db.silver_customers LIMIT 1").first().version
    changes = first.read("customer_changes").select(
        "customer_id", "customer_name", "_change_type", "_commit_version")
    assert sorted(map(tuple, changes.collect())) == [
        (10, "Ada", "insert", version), (11, "Bob", "insert", version),
        (12, "Cy", "insert", version)]
    assert {"_commit_timestamp", "customer_segment"} <= set(first.read(
        "customer_changes").columns)

    # -- late data ----------------------------------------------------------------------------
    before = medallion_spark.sql(
        "DESCRIBE HISTORY medallion_db.gold_hourly_metrics LIMIT 1").first().version
    write_json_lines(raw / "orders", "part-3.json", LATE_FILE)
    second = run_pipeline(p)
    hourly = second["gold_hourly_metrics"]
    assert (hourly.rows_in, hourly.rows_late, hourly.num_upserted_rows) == (4, 1, 3)
    assert "1 late row(s) past the watermark, not aggregated" in second.summary()
    assert metrics(second, "gold_hourly_metrics") == sorted([
        *on_time[:5],
        (*hour(5, 7), "US", "completed", 1, d("30.00")),
        (*hour(5, 8), "US", "completed", 2, d("29.50")),
        (*hour(5, 9), "EU", "pending", 1, d("1.00")),
    ])
    # only the affected windows changed: one MERGE, visible in the change data feed
    touched = second.spark.read.format("delta").option("readChangeFeed", "true").option(
        "startingVersion", before + 1).load(str(second.warehouse / "medallion_db" /
                                                "gold_hourly_metrics"))
    assert sorted((r.hour_start.hour, r._change_type) for r in touched.collect()) == [
        (7, "insert"), (8, "update_postimage"), (8, "update_preimage"), (9, "insert")]
    final = second["gold_hourly_final"]
    assert (final.rows_late, final.rows_written) == (1, 1)
    assert metrics(second, "gold_hourly_final") == sorted([
        *on_time[:5], (*hour(5, 7), "US", "completed", 1, d("30.00"))])
    assert second["customer_changes"].rows_written == 0
    assert second["silver_customers"].status == "up_to_date"
