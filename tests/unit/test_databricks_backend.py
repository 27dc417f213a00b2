"""The Databricks backend's contract: the exact dp / dlt calls, each bound to the real API."""

from __future__ import annotations

import inspect
import json
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import medallion
import medallion.backends
import medallion.pipeline
from medallion import BackendError, Rule
from medallion.backends import databricks, declarative
from medallion.backends.databricks import DatabricksBackend, autoloader_options, load_api
from medallion.demo.orders import declare_orders_pipeline
from medallion.specs import BronzeSpec, TableSpec
from tests.contracts.recording import (
    HERE,
    PIPELINES_SNAPSHOT,
    RecordingApi,
    live_pipelines_snapshot,
    module_signatures,
    open_source_pipelines,
    snapshot_signatures,
)

ROOT = Path(__file__).resolve().parents[2]
QUARANTINE_COMMENT = "Rows of silver_orders that failed a drop rule, with the rules they failed"
ORDER_EXPECTATIONS = [
    ("expect_all", ({"valid_customer": "customer_id IS NOT NULL"},), {}, "silver_orders"),
    ("expect_all_or_drop", ({"valid_order_id": "order_id IS NOT NULL",
                             "valid_amount": "amount > 0 AND amount < 100000"},), {},
     "silver_orders"),
    ("expect_all_or_fail", ({"valid_status": "status IN ('pending', 'completed', 'cancelled')"},),
     {}, "silver_orders"),
]


def expected_calls(streaming: str, view: str) -> list[tuple[Any, ...]]:
    """The reference pipeline's registrations; ``streaming``/``view``: the decorator names."""
    return [
        (streaming, (), {"name": "bronze_orders",
                         "comment": "Raw orders data ingested from cloud storage",
                         "table_properties": {"quality": "bronze"}}, "bronze_orders"),
        (view, (), {"name": "bronze_customers", "comment": "Raw customer reference data"},
         "bronze_customers"),
        *ORDER_EXPECTATIONS,
        (streaming, (), {"name": "silver_orders", "comment": "Cleaned and validated orders",
                         "table_properties": {"quality": "silver",
                                              "delta.enableChangeDataFeed": "true"}},
         "silver_orders"),
        (streaming, (), {"name": "quarantine_orders", "comment": QUARANTINE_COMMENT},
         "quarantine_orders"),
        (view, (), {"name": "silver_customers",
                    "comment": "Customer reference data, one row per customer",
                    "table_properties": {"delta.enableChangeDataFeed": "true"}},
         "silver_customers"),
        (view, (), {"name": "silver_orders_enriched",
                    "comment": "Orders enriched with customer information"},
         "silver_orders_enriched"),
        (view, (), {"name": "gold_daily_sales", "comment": "Daily sales metrics by region",
                    "table_properties": {"quality": "gold"}, "cluster_by": ["date", "region"]},
         "gold_daily_sales"),
        (view, (), {"name": "gold_customer_ltv", "comment": "Customer lifetime value metrics"},
         "gold_customer_ltv"),
    ]


@pytest.fixture(autouse=True)
def fresh_runtime() -> Iterator[None]:
    medallion.pipeline._implicit.clear()
    yield
    medallion.pipeline._implicit.clear()


@pytest.fixture
def in_databricks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDALLION_BACKEND", "databricks")


class FakeConf:
    def get(self, key: str, default: str | None = None) -> str:
        assert key == "raw_path"
        return "RAW"


class FakeSpark:
    conf = FakeConf()


def run_notebook() -> None:
    """Execute the example notebook at top level, as a Databricks pipeline does."""
    source = (ROOT / "examples/orders/orders_notebook.py").read_text()
    exec(compile(source, "orders_notebook.py", "exec"), {"spark": FakeSpark()})


@pytest.mark.parametrize(
    ("flavour", "streaming", "view"),
    [("dp", "table", "materialized_view"), ("dlt", "table", "table")],
)
def test_reference_notebook_registers_exactly_these_calls(
    in_databricks: None, monkeypatch: pytest.MonkeyPatch, flavour: str, streaming: str, view: str
) -> None:
    api = RecordingApi(flavour)  # type: ignore[arg-type]
    monkeypatch.setattr(databricks, "load_api", lambda: (flavour, api))
    # registering only decorates functions: if any query ran now, it would need a session
    monkeypatch.setattr(declarative, "active_session", _no_spark)
    monkeypatch.setattr(databricks, "active_session", _no_spark)
    run_notebook()  # no `with medallion.Pipeline`: the notebook declares at its top level
    assert [c.key() for c in api.calls] == expected_calls(streaming, view)
    assert sorted(api.functions) == sorted(
        ["bronze_orders", "bronze_customers", "silver_orders", "quarantine_orders",
         "silver_customers", "silver_orders_enriched", "gold_daily_sales", "gold_customer_ltv"])


def _no_spark() -> Any:
    raise AssertionError("a query function ran while the pipeline was being declared")


def test_a_pipeline_context_registers_the_same_calls(monkeypatch: pytest.MonkeyPatch,
                                                     in_databricks: None) -> None:
    api = RecordingApi("dp")
    monkeypatch.setattr(databricks, "load_api", lambda: ("dp", api))
    with medallion.Pipeline("orders"):
        declare_orders_pipeline("RAW")
    assert [c.key() for c in api.calls] == expected_calls("table", "materialized_view")


# -- the fakes really check the APIs ------------------------------------------------------------
def test_a_call_that_does_not_bind_fails() -> None:
    dp = RecordingApi("dp")
    with pytest.raises(TypeError, match="unexpected keyword argument 'nam'"):
        dp.table(nam="x")
    with pytest.raises(TypeError, match="too many positional arguments"):
        dp.expect_all({"a": "x > 0"}, "extra")
    with pytest.raises(TypeError, match="missing a required argument: 'source'"):
        dp.create_auto_cdc_flow(target="t")
    dlt = RecordingApi("dlt")
    # row_filter exists in databricks-dlt 0.3.0 only: a call must bind to both releases
    with pytest.raises(TypeError, match="row_filter"):
        dlt.table(name="x", row_filter="region = 'EU'")
    with pytest.raises(AttributeError):
        _ = dlt.materialized_view  # not part of the legacy dlt API


def test_the_0_2_1_snapshot_matches_the_installed_stub() -> None:
    import dlt as stub

    assert json.loads((HERE / "databricks-dlt-0.2.1.json").read_text())["version"] == "0.2.1"
    live = module_signatures(stub, tuple(stub.__all__))
    snap = snapshot_signatures(HERE / "databricks-dlt-0.2.1.json")

    def shape(sig: inspect.Signature) -> list[tuple[str, Any, bool]]:
        return [(p.name, p.kind, p.default is not p.empty) for p in sig.parameters.values()]

    assert {n: shape(s) for n, s in snap.items()} == {n: shape(live[n]) for n in snap}


@pytest.mark.skipif(open_source_pipelines() is None,
                    reason="no pyspark.pipelines before Spark 4.1, so no function to replay")
def test_a_call_is_replayed_against_open_source_pyspark_pipelines() -> None:
    from pyspark.errors import PySparkTypeError

    dp = RecordingApi("dp")
    # binds, but pyspark's own check refuses a tuple where a list is required
    with pytest.raises(PySparkTypeError, match="cluster_by"):
        dp.table(name="x", cluster_by=("a",))(lambda: None)


@pytest.mark.skipif(open_source_pipelines() is None,
                    reason="no pyspark.pipelines before Spark 4.1: the snapshot stands in for it")
def test_the_pyspark_pipelines_snapshot_matches_the_installed_pyspark() -> None:
    """The Spark 3.5 line checks `dp` calls against this snapshot; it must equal the real API."""
    snapshot = json.loads(PIPELINES_SNAPSHOT.read_text())
    assert snapshot == live_pipelines_snapshot(), (
        "regenerate it: scripts/pipelines-signatures > tests/contracts/pyspark-pipelines-"
        "VERSION.json (and point PIPELINES_SNAPSHOT at it)")


def test_0_3_0_only_adds_parameters() -> None:
    """Why one call shape serves both stub releases: 0.3.0 adds optional parameters only."""
    old = snapshot_signatures(HERE / "databricks-dlt-0.2.1.json")
    new = snapshot_signatures(HERE / "databricks-dlt-0.3.0.json")
    added = {}
    for name, sig in old.items():
        before = list(sig.parameters)
        after = list(new[name].parameters)
        assert after[: len(before)] == before, name
        added.update({name: after[len(before):]} if after != before else {})
    assert added == {"table": ["row_filter"], "create_streaming_table": ["row_filter"],
                     "apply_changes": ["columns_to_update"]}


# -- runtime selection and errors -----------------------------------------------------------------
def test_load_api_prefers_dp_with_expectations(monkeypatch: pytest.MonkeyPatch) -> None:
    dp = types.ModuleType("pyspark.pipelines")
    dp.expect_all = lambda rules: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyspark.pipelines", dp)
    assert load_api() == ("dp", dp)


def test_load_api_falls_back_to_dlt(monkeypatch: pytest.MonkeyPatch) -> None:
    oss = types.ModuleType("pyspark.pipelines")  # open source: no expectations
    legacy = types.ModuleType("dlt")
    for name in ("table", "expect_all", "read"):
        setattr(legacy, name, lambda *a, **k: None)
    monkeypatch.setitem(sys.modules, "pyspark.pipelines", oss)
    monkeypatch.setitem(sys.modules, "dlt", legacy)
    assert load_api() == ("dlt", legacy)


def test_load_api_refuses_dlthub(monkeypatch: pytest.MonkeyPatch) -> None:
    dlthub = types.ModuleType("dlt")
    dlthub.pipeline = lambda *a, **k: None  # type: ignore[attr-defined]  # dltHub's entry point
    monkeypatch.setitem(sys.modules, "pyspark.pipelines", types.ModuleType("pyspark.pipelines"))
    monkeypatch.setitem(sys.modules, "dlt", dlthub)
    with pytest.raises(BackendError, match=r"neither Databricks' pyspark\.pipelines.*dltHub"):
        load_api()


def backend(api: RecordingApi | None = None) -> tuple[medallion.Pipeline, RecordingApi]:
    api = api or RecordingApi("dp")
    pipeline = medallion.Pipeline("p")
    pipeline.attach(DatabricksBackend(pipeline, api=api, flavour=api.flavour))
    return pipeline, api


def test_unknown_spec_kind_is_rejected() -> None:
    class CdcSpec(TableSpec):
        pass

    pipeline, _ = backend()
    with pytest.raises(BackendError, match=r"cannot register specs of type CdcSpec.*BronzeSpec"):
        pipeline.declare(CdcSpec(name="t"))


def test_silver_default_kind_needs_its_source_first() -> None:
    pipeline, api = backend()
    with pipeline, pytest.raises(BackendError, match="reads 'bronze', which is not declared yet"):
        medallion.silver_with_rules(name="silver", source="bronze")
    with pipeline:
        medallion.silver_with_rules(name="silver2", source="bronze", incremental=True)
    assert api.dataset_calls() == [("table", {"name": "silver2"})]


def test_streaming_from_a_view_is_refused() -> None:
    pipeline, _ = backend()
    with pipeline:
        medallion.bronze_batch(name="customers", path="/x")
        with pytest.raises(BackendError, match="streams from 'customers', which is a mater"):
            medallion.silver_with_rules(name="s", source="customers", incremental=True)


def test_latest_row_per_key_on_a_stream_needs_auto_cdc() -> None:
    pipeline, _ = backend()
    with pipeline:
        medallion.bronze_autoloader(name="b", path="/x")
        with pytest.raises(BackendError, match=r"dedup_order_by.*AUTO CDC.*incremental=False"):
            medallion.silver_with_rules(name="s", source="b", dedup_keys=["id"],
                                        dedup_order_by="ts")


def test_custom_table_with_quarantine() -> None:
    pipeline, api = backend(RecordingApi("dlt"))
    with pipeline:
        @medallion.table(inputs=["x.y"], quarantine="bad_rows", change_data_feed=True,
                         rules=[Rule(name="pos", condition="v > 0", action="drop")])
        def checked() -> None:
            raise NotImplementedError  # never called at registration
    assert [c.key() for c in api.calls] == [
        ("expect_all_or_drop", ({"pos": "v > 0"},), {}, "checked"),
        ("table", (), {"name": "checked",
                       "table_properties": {"delta.enableChangeDataFeed": "true"}}, "checked"),
        ("table", (), {"name": "bad_rows",
                       "comment": "Rows of checked that failed a drop rule, with the rules "
                                  "they failed"}, "bad_rows"),
    ]


def test_autoloader_options() -> None:
    """Databricks reads Auto Loader with the core settings, explicit defaults included."""
    spec = BronzeSpec(name="b", path="/p", format="csv", max_files_per_trigger=10,
                      options={"header": True})
    assert autoloader_options(spec) == {
        "cloudFiles.format": "csv", "cloudFiles.schemaEvolutionMode": "addNewColumns",
        "cloudFiles.includeExistingFiles": "true", "cloudFiles.maxFilesPerTrigger": "10",
        "cloudFiles.inferColumnTypes": "false",
        "cloudFiles.schemaHints": "`_corrupt_record` STRING",
        "rescuedDataColumn": "_rescued_data",
        "columnNameOfCorruptRecord": "_corrupt_record", "header": "true"}
    typed = BronzeSpec(name="b", path="/p", schema="id BIGINT")
    assert autoloader_options(typed) == {
        "cloudFiles.format": "json", "cloudFiles.schemaEvolutionMode": "none",
        "cloudFiles.includeExistingFiles": "true",
        "rescuedDataColumn": "_rescued_data",
        "columnNameOfCorruptRecord": "_corrupt_record"}


# -- streaming tables, flows, AUTO CDC, windowed gold ---------------------------------------------
def declare_flows() -> None:
    medallion.bronze_autoloader(name="events", path="/raw/events", schema="id BIGINT, seq BIGINT")
    medallion.create_streaming_table(
        "customers", comment="One row per customer", cluster_by=["id"], change_data_feed=True,
        expect_all_or_drop={"has_id": "id IS NOT NULL"})
    medallion.create_auto_cdc_flow(
        target="customers", source="events", keys=["id"], sequence_by="seq",
        apply_as_deletes="op = 'DELETE'", except_column_list=["op"], name="scd1")
    medallion.create_streaming_table("history")
    medallion.create_auto_cdc_flow(
        target="history", source="events", keys=["id"], sequence_by="seq",
        stored_as_scd_type=2, track_history_except_column_list=["note"], name="scd2")
    medallion.create_streaming_table("snap")
    medallion.create_auto_cdc_from_snapshot_flow(target="snap", source="customers", keys=["id"])
    medallion.create_streaming_table("all_events", schema="id BIGINT, seq BIGINT")

    @medallion.append_flow(target="all_events", once=True, comment="backfill")
    def backfill(ctx):  # type: ignore[no-untyped-def]
        return ctx.read("customers")


@pytest.mark.parametrize("flavour", ["dp", "dlt"])
def test_flows_and_streaming_tables_register_natively(flavour: str) -> None:
    pipeline, api = backend(RecordingApi(flavour))  # type: ignore[arg-type]
    with pipeline:
        declare_flows()
    cdc, snapshot = (("create_auto_cdc_flow", "create_auto_cdc_from_snapshot_flow")
                     if flavour == "dp" else ("apply_changes", "apply_changes_from_snapshot"))
    flow_name = "name" if flavour == "dp" else "flow_name"
    calls = [(c.api, c.kwargs, c.target) for c in api.calls if c.api != "table"]
    assert calls == [
        ("create_streaming_table", {
            "name": "customers", "comment": "One row per customer",
            "table_properties": {"delta.enableChangeDataFeed": "true"}, "cluster_by": ["id"],
            "expect_all_or_drop": {"has_id": "id IS NOT NULL"}}, None),
        (cdc, {flow_name: "scd1", "target": "customers", "source": "events", "keys": ["id"],
               "sequence_by": "seq", "apply_as_deletes": "op = 'DELETE'",
               "except_column_list": ["op"], "stored_as_scd_type": 1}, None),
        ("create_streaming_table", {"name": "history"}, None),
        (cdc, {flow_name: "scd2", "target": "history", "source": "events", "keys": ["id"],
               "sequence_by": "seq", "stored_as_scd_type": 2,
               "track_history_except_column_list": ["note"]}, None),
        ("create_streaming_table", {"name": "snap"}, None),
        (snapshot, {"target": "snap", "source": "customers", "keys": ["id"],
                    "stored_as_scd_type": 1}, None),
        ("create_streaming_table", {"name": "all_events", "schema": "id BIGINT, seq BIGINT"},
         None),
        ("append_flow", {"target": "all_events", "name": "backfill", "once": True,
                         "comment": "backfill"}, "backfill"),
    ]


def test_a_snapshot_function_is_passed_as_the_source() -> None:
    pipeline, api = backend()

    def next_snapshot(version):  # type: ignore[no-untyped-def]
        return None

    with pipeline:
        medallion.create_streaming_table("snap")
        medallion.create_auto_cdc_from_snapshot_flow(
            target="snap", source=next_snapshot, keys=["id"], stored_as_scd_type=2)
    call = api.calls[-1]
    assert (call.api, call.kwargs) == ("create_auto_cdc_from_snapshot_flow", {
        "target": "snap", "source": next_snapshot, "keys": ["id"], "stored_as_scd_type": 2})


def test_the_fake_refuses_what_databricks_refuses() -> None:
    dp = RecordingApi("dp")
    with pytest.raises(TypeError, match="flow_nam"):
        dp.create_auto_cdc_flow(target="t", source="s", keys=["k"], sequence_by="q",
                                flow_nam="x")
    with pytest.raises(TypeError, match="missing a required argument: 'target'"):
        dp.create_auto_cdc_from_snapshot_flow(source="s", keys=["k"])


def test_windowed_gold_in_append_mode_is_a_streaming_table() -> None:
    pipeline, api = backend()
    with pipeline:
        medallion.bronze_autoloader(name="events", path="/raw", schema="ts TIMESTAMP, v INT")
        medallion.gold_aggregate(
            name="per_hour", source="events", incremental=True, output_mode="append",
            window=medallion.TimeWindow(column="ts", duration="1 hour"), watermark="10 minutes",
            aggregations=[medallion.agg.sum("v", alias="total")])
        medallion.gold_aggregate(
            name="per_hour_live", source="events", incremental=True,
            window=medallion.TimeWindow(column="ts", duration="1 hour"), watermark="10 minutes",
            aggregations=[medallion.agg.sum("v", alias="total")])
    assert api.dataset_calls()[1:] == [("table", {"name": "per_hour"}),
                                       ("materialized_view", {"name": "per_hour_live"})]
