# Databricks notebook source
# MAGIC %md
# MAGIC # Orders: the reference medallion pipeline
# MAGIC
# MAGIC Add this notebook to a Lakeflow Declarative Pipeline (target schema `medallion_db`) whose
# MAGIC environment installs `medallion` (`%pip install medallion` or a wheel in the bundle).
# MAGIC Set the pipeline configuration `raw_path` to the folder holding `orders/` and
# MAGIC `customers/`. The same definitions run locally with `medallion run` (see pipeline.py).

# COMMAND ----------

import medallion
from medallion import Join, Rule, agg

raw = spark.conf.get("raw_path", "/Volumes/main/default/raw")  # noqa: F821 - Databricks global

# COMMAND ----------

# MAGIC %md ## Bronze

# COMMAND ----------

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

# COMMAND ----------

# MAGIC %md ## Silver

# COMMAND ----------

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

# COMMAND ----------

# MAGIC %md ## Gold

# COMMAND ----------

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
