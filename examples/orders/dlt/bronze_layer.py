# The reference brief's bronze notebook, changed only where Databricks itself demands it:
#   - `import dlt` became `import medallion.dlt as dlt` (on Databricks keep `import dlt`);
#   - the input folder is the pipeline configuration `raw_path` (Databricks: set it in the
#     pipeline's configuration to a volume holding orders/ and customers/). Locally it defaults
#     to examples/orders/raw, the sample input made by the demo's generator (300 orders with
#     bad rows, 30 customers); `medallion demo` writes more into <warehouse>/_demo_input;
#   - the file name comes from `_metadata.file_path`: Unity Catalog and serverless reject
#     `input_file_name()`;
#   - no `cloudFiles.schemaLocation`: a pipeline manages the schema location of its streams.
# Run the three notebooks locally, from the repository root:
#   medallion run examples/orders/dlt/bronze_layer.py examples/orders/dlt/silver_layer.py \
#       examples/orders/dlt/gold_layer.py [--conf raw_path=DIR]
import medallion.dlt as dlt
from pyspark.sql.functions import *

raw_path = spark.conf.get("raw_path", "examples/orders/raw")

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
            .option("cloudFiles.inferColumnTypes", "true")
            .load(f"{raw_path}/orders/")
            .withColumn("ingestion_timestamp", current_timestamp())
            .withColumn("source_file", col("_metadata.file_path"))
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
            .load(f"{raw_path}/customers/")
            .withColumn("ingestion_timestamp", current_timestamp())
    )
