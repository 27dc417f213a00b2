"""The reference orders pipeline, as a pipeline file for `medallion run`.

    medallion run examples/orders/pipeline.py                      # the sample input below
    medallion run examples/orders/pipeline.py --conf raw=/path/to/raw

`raw` must hold orders/ (JSON lines) and customers/ (parquet). By default it is the folder
raw/ next to this file: 300 sample orders (bad rows included) and their 30 customers, made by
the demo's generator (make_sample_input.py). `medallion demo --rows N` generates more into
<warehouse>/_demo_input; `python examples/orders/run_local.py` generates data and runs this
file end to end.
"""

import os

import medallion
from medallion import Join, Rule, agg

raw = medallion.config("raw", os.path.join(os.path.dirname(__file__), "raw"))

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
    rules=[
        Rule(name="valid_order_id", condition="order_id IS NOT NULL", action="drop"),
        Rule(name="valid_amount", condition="amount > 0 AND amount < 100000", action="drop"),
        Rule(name="valid_status", condition="status IN ('pending', 'completed', 'cancelled')",
             action="fail"),
        Rule(name="valid_customer", condition="customer_id IS NOT NULL", action="warn"),
    ],
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
