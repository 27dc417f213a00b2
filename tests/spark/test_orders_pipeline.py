"""The reference orders pipeline end to end, on a small hand-made input, every table exact."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality

import medallion
from medallion.demo.orders import declare_orders_pipeline
from tests.spark.conftest import write_json_lines

pytestmark = [pytest.mark.spark, pytest.mark.slow]

FILE_1 = [
    {"order_id": 1, "customer_id": 10, "amount": 100.50, "status": "completed",
     "order_date": "2024-01-01T10:00:00", "region": "US"},
    {"order_id": 2, "customer_id": 11, "amount": 20.00, "status": "pending",
     "order_date": "2024-01-01T11:30:00", "region": "EU"},
    {"order_id": None, "customer_id": 10, "amount": 5.0, "status": "completed",
     "order_date": "2024-01-01T12:00:00", "region": "US"},
    {"order_id": 4, "customer_id": 12, "amount": -3.0, "status": "completed",
     "order_date": "2024-01-01T13:00:00", "region": "ASIA"},
    {"order_id": 5, "customer_id": None, "amount": 250000, "status": "cancelled",
     "order_date": "2024-01-01T14:00:00", "region": "US"},
    {"order_id": 6, "customer_id": 10, "amount": "12.3x", "status": "completed",
     "order_date": "2024-01-01T15:00:00", "region": "US"},
]
FILE_2 = [
    FILE_1[0],  # re-sent: a duplicate order_id
    {"order_id": 8, "customer_id": 99, "amount": 75.25, "status": "completed",
     "order_date": "2024-01-02T09:15:00", "region": "EU"},
    {"order_id": 9, "customer_id": None, "amount": 40, "status": "completed",
     "order_date": "2024-01-02T18:00:00", "region": "US"},
    {"order_id": 10, "customer_id": 11, "amount": 60.10, "status": "completed",
     "order_date": "2024-01-02T20:00:00", "region": "EU"},
    {"order_id": None, "customer_id": None, "amount": None, "status": "pending",
     "order_date": "2024-01-03T08:00:00", "region": "EU"},
    {"order_id": 12, "customer_id": 10, "amount": 19.5, "status": "completed",
     "order_date": "2024-01-05T08:00:00", "region": "US"},
]
CUSTOMERS = [
    (10, "Ada", "consumer"),
    (11, "Bob", "corporate"),
    (12, "Cy", "small_business"),
    (10, "Ada", "consumer"),  # a duplicate row in the reference data
]


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def d(text: str) -> Decimal:
    return Decimal(text)


@pytest.fixture
def orders_input(raw: Path, medallion_spark: Any) -> Path:
    write_json_lines(raw / "orders", "part-1.json", FILE_1)
    write_json_lines(raw / "orders", "part-2.json", FILE_2)
    medallion_spark.createDataFrame(
        CUSTOMERS, "customer_id BIGINT, customer_name STRING, customer_segment STRING"
    ).coalesce(1).write.parquet((raw / "customers").as_uri())
    return raw


@pytest.fixture
def pipeline(orders_input: Path) -> medallion.Pipeline:
    with medallion.Pipeline("orders") as p:
        declare_orders_pipeline(str(orders_input))
    return p


SILVER_SCHEMA = (
    "order_id BIGINT, customer_id BIGINT, amount DECIMAL(10,2), status STRING, "
    "order_date TIMESTAMP, region STRING"
)


def test_orders_pipeline_end_to_end(pipeline: medallion.Pipeline, run_pipeline: Any,
                                    medallion_spark: Any) -> None:
    spark = medallion_spark
    result = run_pipeline(pipeline)

    # -- bronze: every input record, as landed, with its source file -------------------------
    bronze = result.read("bronze_orders")
    assert bronze.count() == 12
    assert bronze.columns == [
        "amount", "customer_id", "order_date", "order_id", "region", "status",
        "_rescued_data", "_corrupt_record", "ingestion_timestamp", "source_file",
    ]
    # every value fits the inferred schema and every line parses: nothing rescued or corrupt
    assert bronze.where("_rescued_data IS NOT NULL OR _corrupt_record IS NOT NULL").count() == 0
    files = {r.source_file.rsplit("/", 1)[-1] for r in bronze.select("source_file").collect()}
    assert files == {"part-1.json", "part-2.json"}
    assert dict(bronze.dtypes)["amount"] == "string"  # "12.3x" makes the column a string
    assert bronze.where("ingestion_timestamp IS NULL").count() == 0

    # -- silver_orders: typed, valid, one row per order_id -----------------------------------
    expected_silver = spark.createDataFrame(
        [
            (1, 10, d("100.50"), "completed", ts("2024-01-01T10:00:00"), "US"),
            (2, 11, d("20.00"), "pending", ts("2024-01-01T11:30:00"), "EU"),
            (8, 99, d("75.25"), "completed", ts("2024-01-02T09:15:00"), "EU"),
            (9, None, d("40.00"), "completed", ts("2024-01-02T18:00:00"), "US"),
            (10, 11, d("60.10"), "completed", ts("2024-01-02T20:00:00"), "EU"),
            (12, 10, d("19.50"), "completed", ts("2024-01-05T08:00:00"), "US"),
        ],
        SILVER_SCHEMA,
    )
    silver = result.read("silver_orders")
    assert silver.columns == [*expected_silver.columns, "ingestion_timestamp"]
    assert_df_equality(silver.drop("ingestion_timestamp"), expected_silver,
                       ignore_row_order=True, ignore_nullable=True)

    # -- quarantine: each row failing a drop rule, with ALL the rules it failed ----------------
    quarantine = result.read("quarantine_orders").selectExpr(
        "order_id", "amount", "_failed_rules",
        "get_json_object(_source_row, '$.amount') AS raw_amount",
    )
    expected_quarantine = spark.createDataFrame(
        [
            (None, d("5.00"), ["valid_order_id"], "5.0"),
            (4, d("-3.00"), ["valid_amount"], "-3.0"),
            (5, d("250000.00"), ["valid_amount", "valid_customer"], "250000"),
            (6, None, ["valid_amount"], "12.3x"),  # the cast failure is kept, not lost
            (None, None, ["valid_order_id", "valid_amount", "valid_customer"], None),
        ],
        "order_id BIGINT, amount DECIMAL(10,2), _failed_rules ARRAY<STRING>, raw_amount STRING",
    )
    assert_df_equality(quarantine, expected_quarantine, ignore_row_order=True,
                       ignore_nullable=True)
    assert result.read("quarantine_orders").where("_quarantined_at IS NULL").count() == 0

    # -- the run's accounting: silver + quarantine + duplicates = bronze ----------------------
    s = result["silver_orders"]
    assert (s.rows_in, s.rows_written, s.rows_dropped, s.rows_quarantined,
            s.duplicates_removed) == (12, 6, 5, 5, 1)
    assert [(e.name, e.action, e.passed, e.failed) for e in s.expectations] == [
        ("valid_order_id", "drop", 10, 2),
        ("valid_amount", "drop", 8, 4),
        ("valid_status", "fail", 12, 0),
        ("valid_customer", "warn", 9, 3),
    ]

    # -- silver_customers: deduplicated reference data ----------------------------------------
    customers = result.read("silver_customers").select("customer_id", "customer_name",
                                                       "customer_segment")
    assert sorted(map(tuple, customers.collect())) == [
        (10, "Ada", "consumer"), (11, "Bob", "corporate"), (12, "Cy", "small_business"),
    ]

    # -- enrichment: a left join, unknown customers kept with NULL names ----------------------
    enriched = result.read("silver_orders_enriched").select(
        "order_id", "customer_id", "customer_name", "customer_segment")
    assert sorted(map(tuple, enriched.collect()), key=lambda r: r[0]) == [
        (1, 10, "Ada", "consumer"),
        (2, 11, "Bob", "corporate"),
        (8, 99, None, None),
        (9, None, None, None),
        (10, 11, "Bob", "corporate"),
        (12, 10, "Ada", "consumer"),
    ]

    # -- gold ----------------------------------------------------------------------------------
    expected_daily = spark.createDataFrame(
        [
            (dt.date(2024, 1, 1), "US", 1, d("100.50"), d("100.500000"), 1),
            (dt.date(2024, 1, 2), "EU", 2, d("135.35"), d("67.675000"), 2),
            (dt.date(2024, 1, 2), "US", 1, d("40.00"), d("40.000000"), 0),
            (dt.date(2024, 1, 5), "US", 1, d("19.50"), d("19.500000"), 1),
        ],
        "date DATE, region STRING, order_count BIGINT, total_sales DECIMAL(20,2), "
        "avg_order_value DECIMAL(14,6), unique_customers BIGINT",
    )
    assert_df_equality(result.read("gold_daily_sales"), expected_daily, ignore_row_order=True,
                       ignore_nullable=True)
    detail = spark.sql("DESCRIBE DETAIL medallion_db.gold_daily_sales").first()
    assert detail.clusteringColumns == ["date", "region"]
    assert detail.properties == {"quality": "gold", "medallion.pipeline": "orders"}

    expected_ltv = spark.createDataFrame(
        [
            (10, "Ada", "consumer", 2, d("120.00"), ts("2024-01-01T10:00:00"),
             ts("2024-01-05T08:00:00"), d("60.000000"), 4),
            (11, "Bob", "corporate", 1, d("60.10"), ts("2024-01-02T20:00:00"),
             ts("2024-01-02T20:00:00"), d("60.100000"), 0),
            (99, None, None, 1, d("75.25"), ts("2024-01-02T09:15:00"),
             ts("2024-01-02T09:15:00"), d("75.250000"), 0),
            (None, None, None, 1, d("40.00"), ts("2024-01-02T18:00:00"),
             ts("2024-01-02T18:00:00"), d("40.000000"), 0),
        ],
        "customer_id BIGINT, customer_name STRING, customer_segment STRING, total_orders BIGINT, "
        "lifetime_value DECIMAL(20,2), first_order_date TIMESTAMP, last_order_date TIMESTAMP, "
        "avg_order_value DECIMAL(14,6), customer_tenure_days INT",
    )
    assert_df_equality(result.read("gold_customer_ltv"), expected_ltv, ignore_row_order=True,
                       ignore_nullable=True)

    # -- Delta features and catalog ------------------------------------------------------------
    silver_detail = spark.sql("DESCRIBE DETAIL medallion_db.silver_orders").first()
    assert silver_detail.properties == {"delta.enableChangeDataFeed": "true",
                                        "quality": "silver", "medallion.pipeline": "orders"}
    assert spark.table("medallion_db.silver_orders").count() == 6

    # -- a rerun without new input writes nothing ---------------------------------------------
    versions = {name: _version(spark, name) for name in result.tables}
    versions["quarantine_orders"] = _version(spark, "quarantine_orders")
    again = run_pipeline(pipeline)
    assert {name: t.rows_written for name, t in again.tables.items()} == dict.fromkeys(
        result.tables, 0)
    after = {name: _version(spark, name) for name in versions}
    assert after == versions

    # -- new input: only the new rows flow, and a late duplicate is not inserted again --------
    write_json_lines(Path(pipeline["bronze_orders"].spec.path), "part-3.json", [
        FILE_1[1],  # order 2 again
        {"order_id": 13, "customer_id": 12, "amount": 30, "status": "completed",
         "order_date": "2024-01-05T09:00:00", "region": "ASIA"},
    ])
    third = run_pipeline(pipeline)
    t = third["silver_orders"]
    assert (t.rows_in, t.rows_written, t.rows_dropped, t.duplicates_removed) == (2, 1, 0, 1)
    assert third["bronze_orders"].rows_written == 2
    assert third["bronze_customers"].status == "up_to_date"
    assert result.read("silver_orders").count() == 7
    assert result.read("gold_daily_sales").where("date = DATE'2024-01-05'").select(
        "region", "order_count").orderBy("region").collect() == [("ASIA", 1), ("US", 1)]


def _version(spark: Any, table: str) -> int:
    return spark.sql(f"DESCRIBE HISTORY medallion_db.{table} LIMIT 1").first().version
