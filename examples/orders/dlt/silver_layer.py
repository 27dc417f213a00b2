# The reference brief's silver notebook (plus its silver_customers table from the Change Data
# Feed section), unchanged except for `import medallion.dlt as dlt`.
import medallion.dlt as dlt
from pyspark.sql.functions import *

# Silver orders with expectations
@dlt.table(
    name="silver_orders",
    comment="Cleaned and validated orders",
    table_properties={
        "quality": "silver",
        "delta.enableChangeDataFeed": "true"
    }
)
@dlt.expect_or_drop("valid_order_id", "order_id IS NOT NULL")
@dlt.expect_or_drop("valid_amount", "amount > 0 AND amount < 100000")
@dlt.expect_or_fail("valid_status", "status IN ('pending', 'completed', 'cancelled')")
@dlt.expect("valid_customer", "customer_id IS NOT NULL")
def silver_orders():
    return (
        dlt.read_stream("bronze_orders")
            .select(
                col("order_id").cast("long"),
                col("customer_id").cast("long"),
                col("amount").cast("decimal(10,2)"),
                col("status"),
                to_timestamp(col("order_date")).alias("order_date"),
                col("region"),
                col("ingestion_timestamp")
            )
            .dropDuplicates(["order_id"])
    )

# Enriched orders with customer data
@dlt.table(
    name="silver_orders_enriched",
    comment="Orders enriched with customer information"
)
def silver_orders_enriched():
    orders = dlt.read("silver_orders")
    customers = dlt.read("silver_customers")

    return (
        orders.join(customers, "customer_id", "left")
            .select(
                orders["*"],
                customers["customer_name"],
                customers["customer_segment"]
            )
    )

# Quarantine table for failed records
@dlt.table(
    name="quarantine_orders",
    comment="Orders that failed validation rules"
)
def quarantine_orders():
    return (
        dlt.read_stream("bronze_orders")
            .where(
                "order_id IS NULL OR " +
                "amount IS NULL OR amount <= 0 OR amount >= 100000 OR " +
                "status NOT IN ('pending', 'completed', 'cancelled')"
            )
            .withColumn("quarantine_reason",
                when(col("order_id").isNull(), "missing_order_id")
                .when(col("amount").isNull(), "missing_amount")
                .when(col("amount") <= 0, "invalid_amount_negative")
                .when(col("amount") >= 100000, "invalid_amount_too_high")
                .otherwise("invalid_status")
            )
            .withColumn("quarantine_timestamp", current_timestamp())
    )

# From the brief's Change Data Feed section: the customers the enrichment joins
@dlt.table(
    name="silver_customers",
    table_properties={
        "delta.enableChangeDataFeed": "true"
    }
)
def silver_customers():
    return dlt.read("bronze_customers")
