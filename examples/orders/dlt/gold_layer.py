# The reference brief's gold notebook, with `import medallion.dlt as dlt` and one fix that
# medallion demands: the brief's "delta.enableLiquidClustering"/"delta.clusterBy" table
# properties are not Delta settings and cluster nothing (medallion refuses them and names
# cluster_by), so gold_daily_sales declares real liquid clustering with cluster_by instead.
# (pyspark 4 no longer exports countDistinct through `import *`: imported by name, as any
# Spark 4 runtime needs.) Input: the tables of silver_layer.py.
import medallion.dlt as dlt
from pyspark.sql.functions import *
from pyspark.sql.functions import countDistinct

# Daily sales metrics
@dlt.table(
    name="gold_daily_sales",
    comment="Daily sales metrics by region",
    table_properties={
        "quality": "gold"
    },
    cluster_by=["date", "region"]
)
def gold_daily_sales():
    return (
        dlt.read("silver_orders_enriched")
            .where("status = 'completed'")
            .groupBy(
                to_date("order_date").alias("date"),
                "region"
            )
            .agg(
                count("order_id").alias("order_count"),
                sum("amount").alias("total_sales"),
                avg("amount").alias("avg_order_value"),
                countDistinct("customer_id").alias("unique_customers")
            )
    )

# Customer lifetime value
@dlt.table(
    name="gold_customer_ltv",
    comment="Customer lifetime value metrics"
)
def gold_customer_ltv():
    return (
        dlt.read("silver_orders_enriched")
            .where("status = 'completed'")
            .groupBy("customer_id", "customer_name", "customer_segment")
            .agg(
                count("order_id").alias("total_orders"),
                sum("amount").alias("lifetime_value"),
                min("order_date").alias("first_order_date"),
                max("order_date").alias("last_order_date"),
                avg("amount").alias("avg_order_value"),
                datediff(max("order_date"), min("order_date")).alias("customer_tenure_days")
            )
    )

# Real-time streaming aggregation
@dlt.table(
    name="gold_hourly_metrics",
    comment="Hourly streaming metrics"
)
def gold_hourly_metrics():
    return (
        dlt.read_stream("silver_orders")
            .withWatermark("order_date", "1 hour")
            .groupBy(
                window("order_date", "1 hour").alias("hour_window"),
                "region",
                "status"
            )
            .agg(
                count("order_id").alias("order_count"),
                sum("amount").alias("total_amount")
            )
            .select(
                col("hour_window.start").alias("hour_start"),
                col("hour_window.end").alias("hour_end"),
                "region",
                "status",
                "order_count",
                "total_amount"
            )
    )
