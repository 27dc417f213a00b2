"""medallion's local runner versus hand-written PySpark + Delta on the reference orders pipeline.

Both sides read the same generated input and write the same eight Delta tables (bronze orders
and customers, silver orders with quarantine and dedup, silver customers, the enriched join, the
two gold aggregates). They run alternately in one SparkSession, each on a fresh warehouse, and the
script prints the wall-time ratio medallion/plain per round and its median. Target: <= 1.10.

    python bench/orders_pipeline.py [--rows 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import medallion
from medallion.backends.local import LocalRunner, local_session
from medallion.demo import data
from medallion.demo.orders import declare_orders_pipeline

RULES_OK = {
    "valid_order_id": "order_id IS NOT NULL",
    "valid_amount": "amount > 0 AND amount < 100000",
}


def run_medallion(spark: Any, raw: Path, warehouse: Path) -> None:
    with medallion.Pipeline("bench") as pipeline:
        declare_orders_pipeline(str(raw))
    LocalRunner(warehouse=warehouse, spark=spark).run(pipeline)


def run_plain(spark: Any, raw: Path, warehouse: Path) -> None:
    """The same pipeline as a competent engineer writes it by hand with PySpark and Delta."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    db = "plain_db"
    spark.sql(f"CREATE SCHEMA IF NOT EXISTS {db} LOCATION '{(warehouse / db).as_uri()}'")

    def path(name: str) -> str:
        return (warehouse / db / name).as_uri()

    # bronze_orders: infer the schema once, then an incremental file stream into Delta.
    schema = spark.read.json(str(raw / "orders")).schema
    bronze = (
        spark.readStream.schema(schema).json(str(raw / "orders"))
        .withColumn("ingestion_timestamp", F.current_timestamp())
        .withColumn("source_file", F.col("_metadata.file_path"))
    )
    (bronze.writeStream.format("delta").trigger(availableNow=True)
     .option("checkpointLocation", str(warehouse / "_cp" / "bronze_orders"))
     .start(path("bronze_orders")).awaitTermination())

    # bronze_customers: a snapshot.
    (spark.read.parquet(str(raw / "customers"))
     .withColumn("ingestion_timestamp", F.current_timestamp())
     .write.format("delta").mode("overwrite").save(path("bronze_customers")))

    # silver_orders + quarantine_orders: one foreachBatch writing both tables.
    def silver_batch(batch: Any, batch_id: int) -> None:
        typed = batch.select(
            F.expr("try_cast(order_id AS bigint)").alias("order_id"),
            F.expr("try_cast(customer_id AS bigint)").alias("customer_id"),
            F.expr("try_cast(amount AS decimal(10,2))").alias("amount"),
            "status",
            F.expr("try_cast(order_date AS timestamp)").alias("order_date"),
            "region",
            "ingestion_timestamp",
        )
        checks = {name: F.coalesce(F.expr(cond), F.lit(False)) for name, cond in RULES_OK.items()}
        ok = checks["valid_order_id"] & checks["valid_amount"]
        bad_status = typed.where("NOT coalesce(status IN ('pending','completed','cancelled'), "
                                 "false)").limit(1).count()
        if bad_status:
            raise RuntimeError("valid_status violated")
        (typed.where(ok).dropDuplicates(["order_id"])
         .write.format("delta").mode("append").save(path("silver_orders")))
        reasons = F.filter(F.array(*[F.when(~c, F.lit(n)) for n, c in checks.items()]),
                           lambda x: x.isNotNull())
        (typed.where(~ok).withColumn("_failed_rules", reasons)
         .withColumn("_quarantined_at", F.current_timestamp())
         .write.format("delta").mode("append").save(path("quarantine_orders")))

    (spark.readStream.format("delta").load(path("bronze_orders")).writeStream
     .foreachBatch(silver_batch).trigger(availableNow=True)
     .option("checkpointLocation", str(warehouse / "_cp" / "silver_orders"))
     .start().awaitTermination())

    # silver_customers, enriched, gold.
    customers = (spark.read.format("delta").load(path("bronze_customers"))
                 .withColumn("customer_id", F.expr("try_cast(customer_id AS bigint)")))
    window = Window.partitionBy("customer_id").orderBy(F.col("customer_name"))
    (customers.withColumn("rn", F.row_number().over(window)).where("rn = 1").drop("rn")
     .write.format("delta").mode("overwrite").save(path("silver_customers")))
    orders = spark.read.format("delta").load(path("silver_orders"))
    cust = spark.read.format("delta").load(path("silver_customers")).select(
        "customer_id", "customer_name", "customer_segment")
    (orders.join(cust, "customer_id", "left")
     .write.format("delta").mode("overwrite").save(path("silver_orders_enriched")))
    enriched = spark.read.format("delta").load(path("silver_orders_enriched"))
    completed = enriched.where("status = 'completed'")
    completed.groupBy(F.to_date("order_date").alias("date"), "region").agg(
        F.count("order_id").alias("order_count"), F.sum("amount").alias("total_sales"),
        F.avg("amount").alias("avg_order_value"),
        F.countDistinct("customer_id").alias("unique_customers"),
    ).createOrReplaceTempView("daily")
    spark.sql(f"DROP TABLE IF EXISTS {db}.gold_daily_sales")  # a fresh warehouse each round
    spark.sql(f"CREATE OR REPLACE TABLE {db}.gold_daily_sales USING DELTA CLUSTER BY (date, region)"
              f" LOCATION '{path('gold_daily_sales')}' AS SELECT * FROM daily")
    (completed.groupBy("customer_id", "customer_name", "customer_segment").agg(
        F.count("order_id").alias("total_orders"), F.sum("amount").alias("lifetime_value"),
        F.min("order_date").alias("first_order_date"), F.max("order_date").alias("last_order_date"),
        F.avg("amount").alias("avg_order_value"),
    ).withColumn("customer_tenure_days", F.datediff("last_order_date", "first_order_date"))
     .write.format("delta").mode("overwrite").save(path("gold_customer_ltv")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="medallion-bench-"))
    spark = local_session(app_name="medallion-bench",
                          quiet_startup_log=work / "spark.log")
    print(f"generating {args.rows:,} orders...", flush=True)
    data.generate(spark, work / "raw", args.rows, files=20)

    # One untimed warm-up of each side: JIT, class loading, Delta's first-use costs.
    warm = data.generate(spark, work / "warm-raw", 2000, files=2)
    run_medallion(spark, warm.root, work / "warm-m")
    run_plain(spark, warm.root, work / "warm-p")

    ratios = []
    for n in range(args.rounds):
        times = {}
        for side, fn in (("medallion", run_medallion), ("plain", run_plain))[:: 1 if n % 2 == 0
                                                                              else -1]:
            warehouse = work / f"{side}-{n}"
            start = time.perf_counter()
            fn(spark, work / "raw", warehouse)
            times[side] = time.perf_counter() - start
            shutil.rmtree(warehouse, ignore_errors=True)
        ratio = times["medallion"] / times["plain"]
        ratios.append(ratio)
        print(f"round {n + 1}: medallion {times['medallion']:.1f}s  plain {times['plain']:.1f}s"
              f"  medallion/plain {ratio:.3f}", flush=True)
    print(f"medallion/plain wall-time ratio (median of {args.rounds}): "
          f"{statistics.median(ratios):.3f}  (target <= 1.10; rows {args.rows:,})")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
