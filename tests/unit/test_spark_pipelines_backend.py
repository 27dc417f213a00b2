"""The spark-pipelines backend registers through the real open-source pyspark.pipelines API."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import medallion
import medallion.backends
import medallion.pipeline
from medallion import BackendError
from medallion.backends import in_spark_pipelines, selected_backend
from medallion.backends.spark_pipelines import ClusteringNotAppliedWarning
from tests.contracts.recording import memory_registry, open_source_pipelines

ROOT = Path(__file__).resolve().parents[2]
#: The backend registers into open-source declarative pipelines, which Spark 4.1 introduced; on
#: the 3.5 line it refuses to start (tests/unit/test_spark_project.py checks that error).
pytestmark = pytest.mark.skipif(open_source_pipelines() is None,
                                reason="pyspark.pipelines exists from Spark 4.1 on")


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("MEDALLION_BACKEND", raising=False)
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    medallion.pipeline._implicit.clear()
    yield
    medallion.pipeline._implicit.clear()


@pytest.fixture
def registry() -> Iterator[Any]:
    """What `spark-pipelines run` does while it loads the pipeline's files."""
    from pyspark.pipelines.graph_element_registry import graph_element_registration_context

    reg = memory_registry()
    with graph_element_registration_context(reg):
        yield reg


def summary(reg: Any) -> list[tuple[Any, ...]]:
    return [(type(o).__name__, o.name, o.comment, getattr(o, "table_properties", None))
            for o in reg.outputs]


def view(table: str, mode: str) -> tuple[Any, ...]:
    return ("TemporaryView", f"{table}__medallion_{mode}",
            f"How medallion's tables read {table} (internal)", None)


def test_detection_needs_an_active_registry(registry: Any) -> None:
    assert in_spark_pipelines()
    assert selected_backend() == "spark-pipelines"


def test_not_detected_when_pyspark_pipelines_is_merely_imported() -> None:
    import pyspark.pipelines  # noqa: F401

    assert not in_spark_pipelines()
    assert selected_backend() == "local"


def test_reference_pipeline_file_registers_every_table(
    registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import runpy

    from medallion.backends.spark_pipelines import SparkPipelinesBackend

    inferred: list[str] = []  # a file stream needs its schema before any query function runs
    monkeypatch.setattr(SparkPipelinesBackend, "_infer",
                        staticmethod(lambda decl: inferred.append(decl.name) or "x STRING"))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runpy.run_path(str(ROOT / "examples/orders/pipeline.py"), run_name="__medallion__")
    quarantine = "Rows of silver_orders that failed a drop rule, with the rules they failed"
    assert summary(registry) == [
        ("StreamingTable", "bronze_orders", "Raw orders data ingested from cloud storage",
         {"quality": "bronze"}),
        ("MaterializedView", "bronze_customers", "Raw customer reference data", {}),
        # every read goes through a pipeline view (so Spark Connect never plans it eagerly)
        view("bronze_orders", "read"), view("bronze_orders", "stream"),
        # dedup on a stream cannot be registered through Spark Connect: a materialized view
        ("MaterializedView", "silver_orders", "Cleaned and validated orders",
         {"quality": "silver", "delta.enableChangeDataFeed": "true"}),
        ("StreamingTable", "quarantine_orders", quarantine, {}),
        view("bronze_customers", "read"),
        ("MaterializedView", "silver_customers", "Customer reference data, one row per customer",
         {"delta.enableChangeDataFeed": "true"}),
        view("silver_orders", "read"), view("silver_customers", "read"),
        ("MaterializedView", "silver_orders_enriched",
         "Orders enriched with customer information", {}),
        view("silver_orders_enriched", "read"),
        ("MaterializedView", "gold_daily_sales", "Daily sales metrics by region",
         {"quality": "gold"}),
        ("MaterializedView", "gold_customer_ltv", "Customer lifetime value metrics", {}),
    ]
    tables = [o for o in registry.outputs if type(o).__name__ != "TemporaryView"]
    # open-source pipelines: no format (spark.sql.sources.default decides), no clustering
    assert {o.format for o in tables} == {None}
    assert {tuple(o.cluster_by or ()) for o in tables} == {()}
    assert [str(w.message).split(":")[0] for w in caught
            if issubclass(w.category, ClusteringNotAppliedWarning)] == ["table 'gold_daily_sales'"]
    assert [(f.name, f.target) for f in registry.flows] == [
        (o.name, o.name) for o in registry.outputs]
    assert {f.func.__name__ for f in registry.flows} == {o.name for o in registry.outputs}
    assert inferred == ["bronze_orders"]  # the snapshot (bronze_customers) infers when it runs


def test_a_stream_of_a_view_is_refused(registry: Any) -> None:
    medallion.bronze_batch(name="customers", path="/x")
    with pytest.raises(BackendError, match="streams from 'customers'"):
        medallion.silver_with_rules(name="s", source="customers", incremental=True)


def test_each_registry_gets_its_own_implicit_pipeline() -> None:
    from pyspark.pipelines.graph_element_registry import graph_element_registration_context

    for _ in range(2):  # e.g. `spark-pipelines dry-run` then `run` in one interpreter
        reg = memory_registry()
        with graph_element_registration_context(reg):
            medallion.bronze_batch(name="customers", path="/x")
        assert [o.name for o in reg.outputs] == ["customers"]


def layout(reg: Any) -> list[tuple[Any, ...]]:
    """Tables (no reading views) with their kind, partition columns and properties."""
    return [(type(o).__name__, o.name, o.partition_cols, o.table_properties)
            for o in reg.outputs if type(o).__name__ != "TemporaryView"]


def test_flows_variant_registers_streaming_tables_flows_and_the_cdc_target(
    registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import runpy

    from medallion.backends.spark_pipelines import SparkPipelinesBackend

    monkeypatch.setattr(SparkPipelinesBackend, "_infer", staticmethod(lambda decl: "x STRING"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusteringNotAppliedWarning)
        runpy.run_path(str(ROOT / "tests/spark/orders_flows_pipeline.py"),
                       run_name="__medallion__")
    added = layout(registry)[8:]
    assert added == [
        ("StreamingTable", "bronze_order_updates", None, {}),
        ("StreamingTable", "silver_order_stream", None, {}),
        # create_streaming_table with its partition columns, created by its first flow
        ("StreamingTable", "order_activity", ["channel"], {}),
        # AUTO CDC into Delta: the target is a materialized view folding the change events
        ("MaterializedView", "orders_current", None, {"delta.enableChangeDataFeed": "true"}),
    ]
    flows = [(f.name, f.target) for f in registry.flows]
    assert ("activity_from_orders", "order_activity") in flows
    assert ("activity_from_updates", "order_activity") in flows
    assert ("orders_current", "orders_current") in flows
    cdc_source = [o.name for o in registry.outputs if o.name.startswith("bronze_order_updates__")]
    assert sorted(cdc_source) == ["bronze_order_updates__medallion_read",  # the CDC fold
                                  "bronze_order_updates__medallion_stream"]  # the append flow


def test_partition_cols_reach_every_kind_of_table(registry: Any) -> None:
    medallion.bronze_autoloader(name="events", path="/x", schema="id BIGINT, day STRING",
                                partition_cols=["day"])
    medallion.silver_with_rules(name="clean", source="events", partition_cols=["day"])
    medallion.silver_with_rules(name="latest", source="events", dedup_keys=["id"],
                                partition_cols=["day"])
    assert [(n, p) for _, n, p, _ in layout(registry)] == [
        ("events", ["day"]), ("clean", ["day"]), ("latest", ["day"])]


def test_a_streaming_table_no_flow_writes_is_created_after_the_file_ran(
    registry: Any, tmp_path: Path
) -> None:
    from medallion.backends.spark_pipelines import register_file

    file = tmp_path / "p.py"
    file.write_text("import medallion\n"
                    "medallion.create_streaming_table('later', schema='id BIGINT')\n")
    register_file(file)
    assert [(type(o).__name__, o.name, o.schema) for o in registry.outputs] == [
        ("StreamingTable", "later", "id BIGINT")]


@pytest.mark.parametrize(("kwargs", "keyword"), [
    ({"stored_as_scd_type": 2}, "stored_as_scd_type=2"),
    ({"ignore_null_updates": True}, "ignore_null_updates"),
    ({"apply_as_truncates": "op = 'T'"}, "apply_as_truncates"),
    ({"once": True}, "once=True"),
])
def test_auto_cdc_options_the_runtime_lacks_are_refused_by_name(
    registry: Any, kwargs: dict[str, Any], keyword: str
) -> None:
    medallion.bronze_autoloader(name="changes", path="/x", schema="id BIGINT, seq INT, op STRING")
    medallion.create_streaming_table("current")
    with pytest.raises(BackendError) as err:
        medallion.create_auto_cdc_flow(target="current", source="changes", keys=["id"],
                                       sequence_by="seq", **kwargs)
    assert str(err.value).startswith("AUTO CDC flow 'current' (into 'current')")
    assert f": {keyword} is not supported under spark-pipelines (AUTO CDC runs as SCD type 1" \
        in str(err.value)
    assert str(err.value).endswith(
        f"remove {keyword.split('=')[0]}, or run the pipeline locally or on Databricks. See "
        "docs/spark-pipelines.md")


def test_once_flows_and_snapshot_cdc_are_refused_by_name(registry: Any) -> None:
    medallion.bronze_autoloader(name="changes", path="/x", schema="id BIGINT, seq INT")
    medallion.create_streaming_table("all_changes")
    with pytest.raises(BackendError, match=r"once=True \(a one-time backfill flow\) is not "
                       r"supported under spark-pipelines \(the server refuses one-time flows "
                       r"\(DEFINE_FLOW_ONCE_OPTION_NOT_SUPPORTED\)\)"):
        @medallion.append_flow(target="all_changes", once=True)
        def backfill(ctx: Any) -> Any:
            return ctx.read("changes")
    medallion.create_streaming_table("snap")
    with pytest.raises(BackendError, match="create_auto_cdc_from_snapshot_flow is not supported "
                       "under spark-pipelines"):
        medallion.create_auto_cdc_from_snapshot_flow(target="snap", source="changes",
                                                     keys=["id"])


def test_flow_order_mistakes_are_refused_with_the_fix(registry: Any) -> None:
    medallion.bronze_autoloader(name="changes", path="/x", schema="id BIGINT, seq INT")
    with pytest.raises(BackendError, match="its target 'nowhere' is not declared yet with "
                       "create_streaming_table"):
        @medallion.append_flow(target="nowhere")
        def flow(ctx: Any) -> Any:
            return ctx.read_stream("changes")
    medallion.create_streaming_table("current")
    medallion.silver_with_rules(name="reader", source="current", incremental=True)
    with pytest.raises(BackendError, match="streams from 'current', which is a materialized "
                       "view under spark-pipelines"):
        medallion.create_auto_cdc_flow(target="current", source="changes", keys=["id"],
                                       sequence_by="seq")


def test_watermarked_streaming_gold_is_refused_and_update_mode_is_a_view(registry: Any) -> None:
    from medallion import TimeWindow, agg

    medallion.bronze_autoloader(name="events", path="/x", schema="ts TIMESTAMP, n INT")
    window = {"incremental": True, "watermark": "1 hour",
              "window": TimeWindow(column="ts", duration="1 hour"),
              "aggregations": [agg.sum("n", alias="total")]}
    with pytest.raises(BackendError, match=r'output_mode="append" \(a watermarked streaming '
                       r"aggregation\) is not supported under spark-pipelines \(Spark Connect "
                       "analyses withWatermark"):
        medallion.gold_aggregate(name="hourly", source="events", output_mode="append",
                                 **window)
    medallion.gold_aggregate(name="hourly_now", source="events", output_mode="update", **window)
    assert layout(registry)[-1] == ("MaterializedView", "hourly_now", None, {})
