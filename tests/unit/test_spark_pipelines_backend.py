"""The spark-pipelines backend registers through the real open-source pyspark.pipelines API."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import medallion
import medallion.backends
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
    medallion.backends._implicit.clear()
    yield
    medallion.backends._implicit.clear()


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
