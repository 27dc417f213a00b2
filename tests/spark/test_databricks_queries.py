"""The query functions the Databricks backend registers compute the local runner's tables.

No workspace is reachable, so the functions recorded by the ``dp``/``dlt`` fakes are run on the
local session, against the tables a local run produced: Auto Loader reads go through the local
``cloudFiles`` translation, streaming functions run once to a memory sink, and the native
expectations recorded for each dataset are applied the way Databricks applies them (drop rows
that are not TRUE, fail on any row a fail rule rejects).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality

import medallion
from medallion.backends import databricks, declarative
from medallion.backends.databricks import DatabricksBackend
from medallion.backends.local.notebook import NotebookSpark
from medallion.demo.orders import declare_orders_pipeline
from tests.contracts.recording import RecordingApi
from tests.spark.conftest import write_json_lines
from tests.spark.test_orders_pipeline import CUSTOMERS, FILE_1, FILE_2

pytestmark = [pytest.mark.spark, pytest.mark.slow]

RUN_TIME_COLUMNS = ("ingestion_timestamp", "_quarantined_at")
_queries = itertools.count()


def comparable(df: Any) -> Any:
    from pyspark.sql import functions as F

    df = df.drop(*[c for c in RUN_TIME_COLUMNS if c in df.columns])
    if "_source_row" in df.columns:
        df = df.withColumn("_source_row", F.regexp_replace(
            "_source_row", r'"ingestion_timestamp":"[^"]*",?', ""))
    return df


def materialize(spark: Any, df: Any, checkpoints: Path) -> Any:
    """A batch DataFrame as is; a stream run once (availableNow) into a memory table."""
    if not df.isStreaming:
        return df
    name = f"databricks_query_{next(_queries)}"
    query = (df.writeStream.format("memory").queryName(name)
             .option("checkpointLocation", str(checkpoints / name))
             .trigger(availableNow=True).start())
    query.awaitTermination()
    return spark.table(name)


def apply_expectations(df: Any, expectations: dict[str, dict[str, str]]) -> Any:
    """What Databricks does with expect_all*: fail, then drop (a NULL result is a violation)."""
    from pyspark.sql import functions as F

    def ok(condition: str) -> Any:
        return F.coalesce(F.expr(condition), F.lit(False))

    for condition in expectations.get("expect_all_or_fail", {}).values():
        assert df.where(~ok(condition)).count() == 0, condition
    for condition in expectations.get("expect_all_or_drop", {}).values():
        df = df.where(ok(condition))
    return df


@pytest.fixture
def local_tables(raw: Path, medallion_spark: Any, run_pipeline: Any) -> Path:
    write_json_lines(raw / "orders", "part-1.json", FILE_1)
    write_json_lines(raw / "orders", "part-2.json", FILE_2)
    medallion_spark.createDataFrame(
        CUSTOMERS, "customer_id BIGINT, customer_name STRING, customer_segment STRING"
    ).coalesce(1).write.parquet((raw / "customers").as_uri())
    with medallion.Pipeline("orders") as pipeline:
        declare_orders_pipeline(str(raw))
    run_pipeline(pipeline)
    return raw


def test_registered_queries_compute_the_local_tables(
    local_tables: Path, medallion_spark: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    spark = medallion_spark
    # The runtime's `spark`: the local session, with Auto Loader translated to a file stream.
    monkeypatch.setattr(declarative, "active_session", NotebookSpark)
    monkeypatch.setattr(databricks, "active_session", NotebookSpark)
    spark.catalog.setCurrentDatabase("medallion_db")  # a pipeline's target schema
    try:
        for flavour in ("dp", "dlt"):
            api = RecordingApi(flavour, reader=lambda name, stream: (
                spark.readStream.table(name) if stream else spark.read.table(name)))
            pipeline = medallion.Pipeline("orders")
            pipeline.attach(DatabricksBackend(pipeline, api=api, flavour=flavour))
            with pipeline:
                declare_orders_pipeline(str(local_tables))
            assert len(api.functions) == 8
            for name, query in api.functions.items():
                rows = apply_expectations(
                    materialize(spark, query(), tmp_path / flavour), api.expectations(name))
                expected = spark.table(f"medallion_db.{name}")
                assert rows.columns == expected.columns, (flavour, name)
                assert_df_equality(comparable(rows), comparable(expected),
                                   ignore_row_order=True, ignore_nullable=True)
            if flavour == "dlt":  # pipeline datasets are read through dlt.read / read_stream
                reads = sorted((c.api, c.args[0]) for c in api.calls
                               if c.api in ("read", "read_stream"))
                assert reads == [
                    ("read", "bronze_customers"), ("read", "silver_customers"),
                    ("read", "silver_orders"), ("read", "silver_orders_enriched"),
                    ("read", "silver_orders_enriched"),
                    ("read_stream", "bronze_orders"), ("read_stream", "bronze_orders"),
                ]
    finally:
        spark.catalog.setCurrentDatabase("default")


def test_windowed_append_gold_emits_only_closed_windows(
    medallion_spark: Any, tmp_path: Path
) -> None:
    """The streaming aggregation a Databricks streaming table runs for append-mode gold."""
    from medallion.core.gold import aggregate_stream
    from medallion.specs import GoldSpec

    spark = medallion_spark
    source = (tmp_path / "events").as_uri()
    spark.createDataFrame(
        [("2024-01-01 10:05:00", 1), ("2024-01-01 10:20:00", 2), ("2024-01-01 11:10:00", 4),
         ("2024-01-01 12:30:00", 8)], "ts STRING, v INT",
    ).selectExpr("CAST(ts AS TIMESTAMP) AS ts", "v").write.format("delta").save(source)
    spec = GoldSpec(name="per_hour", source="events", incremental=True, output_mode="append",
                    window=medallion.TimeWindow(column="ts", duration="1 hour"),
                    watermark="10 minutes", having="total > 0",
                    aggregations=[medallion.agg.sum("v", alias="total")])
    rows = materialize(spark, aggregate_stream(spark.readStream.format("delta").load(source),
                                               spec), tmp_path)
    assert rows.columns == ["window_start", "window_end", "total"]
    # the watermark ends at 12:20: the 12:00 window is still open, so not emitted yet
    assert sorted((str(r.window_start), r.total) for r in rows.collect()) == [
        ("2024-01-01 10:00:00", 3), ("2024-01-01 11:00:00", 4)]
