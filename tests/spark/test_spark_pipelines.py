"""The reference pipeline under Apache Spark's `spark-pipelines run` equals the local runner's.

The pipeline is the reference orders pipeline plus a silver streaming table, a streaming
table written by two append flows and an AUTO CDC target
(tests/spark/orders_flows_pipeline.py). One test, two `spark-pipelines run`s (each starts its
own Spark Connect server: slow): the first on the reference input, the second after new files
arrive (late and tied change events among them), proving that a generated project runs again
(no LOCATION_ALREADY_EXISTS) and stays equal to the local runner, table by table.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality

from medallion.backends.local import LocalRunner
from medallion.backends.spark_pipelines.project import init_spark_pipeline
from medallion.loader import load_pipeline
from tests.contracts.recording import open_source_pipelines
from tests.spark.conftest import write_json_lines
from tests.spark.test_orders_pipeline import CUSTOMERS, FILE_1, FILE_2

pytestmark = [
    pytest.mark.spark, pytest.mark.slow,
    # `spark-pipelines` and pyspark.pipelines arrived in Spark 4.1; the 3.5 line has neither.
    pytest.mark.skipif(open_source_pipelines() is None,
                       reason="the spark-pipelines command exists from Spark 4.1 on"),
]

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "tests/spark/orders_flows_pipeline.py"
TABLES = ("bronze_orders", "bronze_customers", "silver_orders", "quarantine_orders",
          "silver_customers", "silver_orders_enriched", "gold_daily_sales", "gold_customer_ltv",
          "bronze_order_updates", "silver_order_stream", "order_activity",
          "orders_current")
#: Columns holding the time of the run that wrote them (they differ between two runs).
RUN_TIME_COLUMNS = ("ingestion_timestamp", "_quarantined_at")
FILE_3 = [
    FILE_1[1],  # order 2 re-sent in a later run
    {"order_id": 13, "customer_id": 12, "amount": 30, "status": "completed",
     "order_date": "2024-01-05T09:00:00", "region": "ASIA"},
    {"order_id": None, "customer_id": 12, "amount": 1, "status": "pending",
     "order_date": "2024-01-06T09:00:00", "region": "EU"},
]
UPDATES_1 = [
    {"order_id": 1, "status": "completed", "amount": 100.5, "seq": 1, "op": "UPSERT"},
    {"order_id": 2, "status": "pending", "amount": 20.0, "seq": 1, "op": "UPSERT"},
    {"order_id": 2, "status": "completed", "amount": 20.0, "seq": 3, "op": "UPSERT"},
    {"order_id": 2, "status": "pending", "amount": 21.0, "seq": 2, "op": "UPSERT"},  # late
    {"order_id": 8, "status": "completed", "amount": 75.25, "seq": 1, "op": "UPSERT"},
    {"order_id": 8, "status": None, "amount": None, "seq": 2, "op": "DELETE"},
    # same key and sequence: the greater hash of the event wins, on both runtimes
    {"order_id": 10, "status": "pending", "amount": 60.1, "seq": 5, "op": "UPSERT"},
    {"order_id": 10, "status": "completed", "amount": 61.0, "seq": 5, "op": "UPSERT"},
]
UPDATES_2 = [
    {"order_id": 1, "status": "cancelled", "amount": 100.5, "seq": 2, "op": "DELETE"},
    {"order_id": 8, "status": "completed", "amount": 80.0, "seq": 2, "op": "UPSERT"},  # loses
    {"order_id": 2, "status": "cancelled", "amount": 20.0, "seq": 0, "op": "UPSERT"},  # late
    {"order_id": 14, "status": "pending", "amount": 5.0, "seq": 1, "op": "UPSERT"},
]


def spark_pipelines_run(project: Any) -> subprocess.CompletedProcess[str]:
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "SPARK_CONF_DIR": str(project.conf_dir),
        "PYSPARK_PYTHON": sys.executable,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    env.pop("MEDALLION_BACKEND", None)
    return subprocess.run(
        [str(bin_dir / "spark-pipelines"), "run", "--spec", str(project.spec)],
        capture_output=True, text=True, env=env, cwd=project.root, timeout=900,
    )


def comparable(df: Any) -> Any:
    """The table without the columns that hold each run's clock."""
    from pyspark.sql import functions as F

    df = df.drop(*[c for c in RUN_TIME_COLUMNS if c in df.columns])
    if "_source_row" in df.columns:  # the quarantined source row, as JSON, holds one too
        df = df.withColumn("_source_row", F.regexp_replace(
            "_source_row", r'"ingestion_timestamp":"[^"]*",?', ""))
    return df


def assert_same_tables(spark: Any, local_wh: Path, oss_wh: Path) -> dict[str, int]:
    counts = {}
    for table in TABLES:
        local = spark.read.format("delta").load(str(local_wh / "medallion_db" / table))
        oss = spark.read.format("delta").load(str(oss_wh / table))
        assert oss.columns == local.columns, table
        assert oss.dtypes == local.dtypes, table
        assert_df_equality(comparable(oss), comparable(local), ignore_row_order=True,
                           ignore_nullable=True)
        counts[table] = oss.count()
    return counts


def test_reference_pipeline_under_spark_pipelines_equals_local(
    tmp_path: Path, medallion_spark: Any
) -> None:
    spark = medallion_spark
    raw = tmp_path / "raw"
    write_json_lines(raw / "orders", "part-1.json", FILE_1)
    write_json_lines(raw / "orders", "part-2.json", FILE_2)
    write_json_lines(raw / "order_updates", "updates-1.json", UPDATES_1)
    spark.createDataFrame(
        CUSTOMERS, "customer_id BIGINT, customer_name STRING, customer_segment STRING"
    ).coalesce(1).write.parquet((raw / "customers").as_uri())
    conf = {"raw": str(raw)}

    local_wh = tmp_path / "local-warehouse"
    runner = LocalRunner(warehouse=local_wh, spark=spark)
    project = init_spark_pipeline(PIPELINE, tmp_path / "project", name="orders",
                                  configuration=conf)

    runner.run(load_pipeline(PIPELINE, configuration=conf))
    first = spark_pipelines_run(project)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "Run is COMPLETED" in first.stdout + first.stderr
    counts = assert_same_tables(spark, local_wh, project.warehouse)
    assert counts == {"bronze_orders": 12, "bronze_customers": 4, "silver_orders": 6,
                      "quarantine_orders": 5, "silver_customers": 3,
                      "silver_orders_enriched": 6, "gold_daily_sales": 4,
                      "gold_customer_ltv": 4, "bronze_order_updates": 8,
                      "silver_order_stream": 10, "order_activity": 18, "orders_current": 3}
    current = spark.read.format("delta").load(str(project.warehouse / "orders_current"))
    assert sorted((r.order_id, r.status, r.seq) for r in current.collect()) == [
        (1, "completed", 1), (2, "completed", 3), (10, "completed", 5)]
    activity = spark.sql(
        f"DESCRIBE DETAIL delta.`{project.warehouse / 'order_activity'}`").first()
    assert activity.partitionColumns == ["channel"]
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{project.warehouse / 'silver_orders'}`").first()
    assert detail.properties == {"delta.enableChangeDataFeed": "true", "quality": "silver"}

    # -- a second run in a new process, with one new file ----------------------------------
    write_json_lines(raw / "orders", "part-3.json", FILE_3)
    write_json_lines(raw / "order_updates", "updates-2.json", UPDATES_2)
    runner.run(load_pipeline(PIPELINE, configuration=conf))
    second = spark_pipelines_run(project)
    output = second.stdout + second.stderr
    assert second.returncode == 0, output[-6000:]
    assert "LOCATION_ALREADY_EXISTS" not in output
    counts = assert_same_tables(spark, local_wh, project.warehouse)
    assert (counts["bronze_orders"], counts["silver_orders"], counts["quarantine_orders"]) == (
        15, 7, 6)
    assert (counts["silver_order_stream"], counts["order_activity"]) == (12, 24)
    current = spark.read.format("delta").load(str(project.warehouse / "orders_current"))
    # order 1 deleted, order 8's late upsert loses to its delete, order 2's late event ignored
    assert sorted((r.order_id, r.status, r.seq) for r in current.collect()) == [
        (2, "completed", 3), (10, "completed", 5), (14, "pending", 1)]
