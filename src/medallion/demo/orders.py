"""The reference orders pipeline, declared with medallion's factories.

bronze_orders (JSON, incremental) and bronze_customers (parquet snapshot) → silver_orders (casts,
rules, quarantine_orders, dedup, change data feed) and silver_customers → silver_orders_enriched
(left join) → gold_daily_sales (clustered by date, region) and gold_customer_ltv.
:func:`declare_hourly_metrics` and :func:`declare_customer_changes` add the brief's streaming
gold table and its change-data-feed consumer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import medallion
from medallion import Join, ReadContext, Rule, TimeWindow, agg

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

ORDER_RULES = (
    Rule(name="valid_order_id", condition="order_id IS NOT NULL", action="drop"),
    Rule(name="valid_amount", condition="amount > 0 AND amount < 100000", action="drop"),
    Rule(
        name="valid_status",
        condition="status IN ('pending', 'completed', 'cancelled')",
        action="fail",
    ),
    Rule(name="valid_customer", condition="customer_id IS NOT NULL", action="warn"),
)


def declare_orders_pipeline(raw: str) -> None:
    """Declare the reference pipeline; ``raw`` is the folder holding orders/ and customers/."""
    medallion.bronze_autoloader(
        name="bronze_orders",
        comment="Raw orders data ingested from cloud storage",
        path=f"{raw}/orders",
        format="json",
        infer_column_types=True,
        metadata_columns={"ingestion_timestamp": "ingestion_time", "source_file": "file_path"},
        table_properties={"quality": "bronze"},
    )
    medallion.bronze_batch(
        name="bronze_customers",
        comment="Raw customer reference data",
        path=f"{raw}/customers",
        format="parquet",
        metadata_columns={"ingestion_timestamp": "ingestion_time"},
    )
    medallion.silver_with_rules(
        name="silver_orders",
        comment="Cleaned and validated orders",
        source="bronze_orders",
        casts={
            "order_id": "bigint",
            "customer_id": "bigint",
            "amount": "decimal(10,2)",
            "order_date": "timestamp",
        },
        select=["order_id", "customer_id", "amount", "status", "order_date", "region",
                "ingestion_timestamp"],
        rules=ORDER_RULES,
        quarantine="quarantine_orders",
        malformed_records=True,  # unparseable lines go to quarantine, not to the rules
        dedup_keys=["order_id"],
        change_data_feed=True,
        table_properties={"quality": "silver"},
    )
    medallion.silver_with_rules(
        name="silver_customers",
        comment="Customer reference data, one row per customer",
        source="bronze_customers",
        casts={"customer_id": "bigint"},
        dedup_keys=["customer_id"],
        change_data_feed=True,
    )
    medallion.silver_with_rules(
        name="silver_orders_enriched",
        comment="Orders enriched with customer information",
        source="silver_orders",
        incremental=False,
        joins=[Join(table="silver_customers", on=["customer_id"], how="left",
                    columns=["customer_name", "customer_segment"])],
    )
    medallion.gold_aggregate(
        name="gold_daily_sales",
        comment="Daily sales metrics by region",
        source="silver_orders_enriched",
        filter="status = 'completed'",
        group_by=["to_date(order_date) AS date", "region"],
        aggregations=[
            agg.count("order_id", alias="order_count"),
            agg.sum("amount", alias="total_sales"),
            agg.avg("amount", alias="avg_order_value"),
            agg.count_distinct("customer_id", alias="unique_customers"),
        ],
        cluster_by=["date", "region"],
        table_properties={"quality": "gold"},
    )
    medallion.gold_aggregate(
        name="gold_customer_ltv",
        comment="Customer lifetime value metrics",
        source="silver_orders_enriched",
        filter="status = 'completed'",
        group_by=["customer_id", "customer_name", "customer_segment"],
        aggregations=[
            agg.count("order_id", alias="total_orders"),
            agg.sum("amount", alias="lifetime_value"),
            agg.min("order_date", alias="first_order_date"),
            agg.max("order_date", alias="last_order_date"),
            agg.avg("amount", alias="avg_order_value"),
        ],
        derived={"customer_tenure_days": "datediff(last_order_date, first_order_date)"},
    )


def declare_hourly_metrics(name: str = "gold_hourly_metrics", *, output_mode: str = "update",
                           change_data_feed: bool = False) -> None:
    """The reference brief's gold_hourly_metrics: a streaming, windowed aggregate.

    One-hour tumbling windows on ``order_date``, a one-hour watermark, by region and status.
    Rows arriving after the watermark closed their window are counted in ``rows_late``.
    """
    medallion.gold_aggregate(
        name=name,
        change_data_feed=change_data_feed,
        comment="Hourly streaming metrics",
        source="silver_orders",
        group_by=["region", "status"],
        window=TimeWindow(column="order_date", duration="1 hour", start="hour_start",
                          end="hour_end"),
        watermark="1 hour",
        incremental=True,
        output_mode=output_mode,
        aggregations=[
            agg.count("order_id", alias="order_count"),
            agg.sum("amount", alias="total_amount"),
        ],
    )


def declare_customer_changes() -> None:
    """The reference brief's customer_changes: silver_customers' change data feed, streamed."""

    @medallion.table(incremental=True, comment="Row-level changes of silver_customers")
    def customer_changes(ctx: ReadContext) -> DataFrame:
        return ctx.read_change_stream("silver_customers", starting_version=0)
