# The reference brief's bronze notebook, unchanged except for two things:
#   - `import dlt` became `import medallion.dlt as dlt`;
#   - the /mnt/... paths became local folders (data/...).
# Run the three notebooks locally:  medallion run bronze_layer.py silver_layer.py gold_layer.py
import medallion.dlt as dlt
from pyspark.sql.functions import *

# Streaming ingestion with Auto Loader
@dlt.table(
    name="bronze_orders",
    comment="Raw orders data ingested from cloud storage",
    table_properties={
        "quality": "bronze",
        "pipelines.autoOptimize.zOrderCols": "order_id"
    }
)
def bronze_orders():
    return (
        spark.readStream
            .format("cloudFiles")
            .option("cloudFiles.format", "json")
            .option("cloudFiles.schemaLocation", "data/schema/orders")
            .option("cloudFiles.inferColumnTypes", "true")
            .load("data/raw/orders/")
            .withColumn("ingestion_timestamp", current_timestamp())
            .withColumn("source_file", input_file_name())
    )

# Batch ingestion for reference data
@dlt.table(
    name="bronze_customers",
    comment="Raw customer reference data"
)
def bronze_customers():
    return (
        spark.read
            .format("parquet")
            .load("data/raw/customers/")
            .withColumn("ingestion_timestamp", current_timestamp())
    )
