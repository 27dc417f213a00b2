# The reference brief's silver notebook (plus its silver_customers table from the Change Data
# Feed section), with `import medallion.dlt as dlt` and one fix: the casts are `try_cast`, as
# medallion's silver_with_rules casts. The brief's ANSI casts fail the whole update on the
# demo's own data (an amount of '88.7x'; Spark 4 and serverless run ANSI mode); try_cast makes
# it NULL, so the valid_amount rule drops the row and quarantine_orders keeps it, as intended.
# Input: the tables of bronze_layer.py.
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
                expr("try_cast(order_id AS BIGINT)").alias("order_id"),
                expr("try_cast(customer_id AS BIGINT)").alias("customer_id"),
                expr("try_cast(amount AS DECIMAL(10,2))").alias("amount"),
                col("status"),
                expr("try_cast(order_date AS TIMESTAMP)").alias("order_date"),
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
    # bronze's amount is text when a file holds a non-number: compare its try_cast value
    amount = expr("try_cast(amount AS DECIMAL(10,2))")
    return (
        dlt.read_stream("bronze_orders")
            .where(
                col("order_id").isNull() | amount.isNull() | (amount <= 0) |
                (amount >= 100000) | ~col("status").isin("pending", "completed", "cancelled")
            )
            .withColumn("quarantine_reason",
                when(col("order_id").isNull(), "missing_order_id")
                .when(col("amount").isNull(), "missing_amount")
                .when(amount.isNull(), "invalid_amount_not_a_number")
                .when(amount <= 0, "invalid_amount_negative")
                .when(amount >= 100000, "invalid_amount_too_high")
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
