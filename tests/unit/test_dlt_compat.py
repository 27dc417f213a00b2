"""medallion.dlt declares what Databricks' dlt module would, with the same call signatures."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

import medallion
import medallion.dlt as dlt
from medallion import SpecError
from medallion.loader import load_pipeline
from tests.contracts.recording import HERE, pipelines_signatures, snapshot_signatures

ROOT = Path(__file__).resolve().parents[2]


def test_every_function_takes_the_stub_parameters() -> None:
    """Code written against dlt binds to medallion.dlt: same names, kinds, order."""
    import dlt as stub

    releases = [
        {n: inspect.signature(getattr(stub, n)) for n in dlt.__all__ if hasattr(stub, n)},
        snapshot_signatures(HERE / "databricks-dlt-0.3.0.json"),
    ]
    ours = {n: inspect.signature(getattr(dlt, n)) for n in dlt.__all__}
    for release in releases:
        for name, sig in ours.items():
            if name not in release:  # the create_auto_cdc* names: see the next test
                continue
            theirs = [(p.name, p.kind) for p in release[name].parameters.values()]
            mine = [(p.name, p.kind) for p in sig.parameters.values()]
            assert mine[: len(theirs)] == theirs, name
            assert all(p.default is not p.empty for p in list(sig.parameters.values())
                       [len(theirs):]), name


def test_the_new_cdc_names_take_the_runtime_parameters() -> None:
    """``create_auto_cdc_flow`` as pyspark.pipelines has it binds to medallion.dlt's.

    On Spark 3.5 (no pyspark.pipelines) the signature is pyspark 4.2's snapshot.
    """
    theirs = pipelines_signatures()["create_auto_cdc_flow"].parameters
    ours = inspect.signature(dlt.create_auto_cdc_flow).parameters
    assert set(theirs) <= set(ours)
    assert list(ours)[:4] == list(theirs)[:4] == ["target", "source", "keys", "sequence_by"]
    snapshot = inspect.signature(dlt.create_auto_cdc_from_snapshot_flow).parameters
    assert list(snapshot)[:3] == ["target", "source", "keys"]


def test_flows_declare_what_the_medallion_factories_declare() -> None:
    def next_snapshot(version: Any) -> None:
        return None

    with medallion.Pipeline("ours") as ours:
        dlt.create_streaming_table("customers", comment="c", cluster_by=["id"],
                                   expect_all_or_drop={"has_id": "id IS NOT NULL"},
                                   schema="id BIGINT, name STRING, seq BIGINT")
        dlt.apply_changes(target="customers", source="LIVE.events", keys=["id"],
                          sequence_by="seq", apply_as_deletes="op = 'DELETE'",
                          except_column_list=["op"], stored_as_scd_type="2",
                          flow_name="to_customers")
        dlt.create_streaming_table("all")

        @dlt.append_flow(target="all", once=True)
        def backfill() -> Any:
            return dlt.read("customers")

        dlt.create_streaming_table("snap")
        dlt.apply_changes_from_snapshot(target="snap", snapshot_and_version=next_snapshot,
                                        keys=["id"])
    with medallion.Pipeline("theirs") as theirs:
        medallion.create_streaming_table("customers", comment="c", cluster_by=["id"],
                                         expect_all_or_drop={"has_id": "id IS NOT NULL"},
                                         schema="id BIGINT, name STRING, seq BIGINT")
        medallion.create_auto_cdc_flow(target="customers", source="events", keys=["id"],
                                       sequence_by="seq", apply_as_deletes="op = 'DELETE'",
                                       except_column_list=["op"], stored_as_scd_type=2,
                                       name="to_customers")
        medallion.create_streaming_table("all")
        medallion.append_flow(target="all", once=True)(backfill)
        medallion.create_streaming_table("snap")
        medallion.create_auto_cdc_from_snapshot_flow(target="snap", source=next_snapshot,
                                                     keys=["id"])
    assert [d.spec.model_dump() for d in ours.declarations] == [
        d.spec.model_dump() for d in theirs.declarations]
    assert [d.spec.inputs() for d in ours.declarations][3] == ("customers",)


def test_flow_options_the_local_runner_lacks_are_refused() -> None:
    with medallion.Pipeline("p"):
        with pytest.raises(SpecError, match=r"table 'customers': where= is not supported"):
            dlt.apply_changes(target="customers", source="events", keys=["id"],
                              sequence_by="seq", where="id > 0")
        with pytest.raises(SpecError, match=r"append flow 'x': target= is required"):
            dlt.append_flow(name="x")


def test_declares_rules_in_written_order_and_the_kind_from_the_reads() -> None:
    with medallion.Pipeline("p") as pipeline:
        @dlt.table(name="silver", comment="c", table_properties={"q": "s"}, cluster_by=["id"])
        @dlt.expect_all_or_drop({"a": "x > 0", "b": "y > 0"})
        @dlt.expect_or_fail("c", "z IS NOT NULL")
        @dlt.expect("d", "w > 0")
        def make_silver() -> Any:
            return dlt.read_stream("LIVE.bronze")

        @dlt.view
        def v() -> Any:
            return dlt.read("silver").where("x > 1")

        @dlt.table
        def files() -> Any:
            return spark.readStream.format("cloudFiles").load("/x")  # type: ignore[name-defined] # noqa: F821

    silver = pipeline["silver"].spec
    assert [(r.name, r.action) for r in silver.rules] == [
        ("a", "drop"), ("b", "drop"), ("c", "fail"), ("d", "warn")]
    # The kind is the returned DataFrame's (isStreaming), decided when the table runs.
    assert (silver.incremental, silver.inputs(), silver.comment, silver.cluster_by) == (
        None, ("bronze",), "c", ("id",))
    assert silver.table_properties == {"q": "s"}
    assert (pipeline["v"].spec.incremental, pipeline["v"].spec.inputs()) == (None, ("silver",))
    assert pipeline["files"].spec.incremental is None


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (lambda: dlt.table(path="/x")(lambda: None),
         r"table '<lambda>': path= is not supported"),
        (lambda: dlt.table(name="t", schema=3)(lambda: None),
         r"table 't': give schema= as DDL text .* or a StructType, not a int"),
        (lambda: dlt.table(name="t", spark_conf={"a": "b"})(lambda: None),
         r"table 't': spark_conf= is not supported"),
        (lambda: dlt.table("not callable"), r"first positional argument of @dlt.table"),
        (lambda: dlt.expect("bad", "x >"), r"expectation 'bad'.*condition 'x >'"),
        (lambda: dlt.expect_all(["x > 0"]), r"dict of name → SQL condition"),
    ],
)
def test_clear_errors(declare: Any, message: str) -> None:
    with medallion.Pipeline("p"), pytest.raises(SpecError, match=message):
        declare()


def test_condition_as_a_column_is_refused() -> None:
    class Column:  # stands for pyspark.sql.Column: medallion needs the SQL text
        pass

    with pytest.raises(SpecError, match="give the condition as SQL text"):
        dlt.expect("c", Column())  # type: ignore[arg-type]


def test_expectation_above_the_table_decorator_is_refused() -> None:
    with medallion.Pipeline("p"), pytest.raises(SpecError, match=r"below @dlt\.table"):
        @dlt.expect("late", "x > 0")
        @dlt.table
        def t() -> None: ...


def test_reads_outside_a_run_say_where_they_work() -> None:
    with pytest.raises(medallion.MedallionError, match="only work inside a query function"):
        dlt.read("x")


def test_notebook_runs_with_medallion_run_configuration() -> None:
    """A Databricks notebook reading spark.conf at its top level loads without Spark."""
    from medallion.demo.orders import declare_orders_pipeline

    pipeline = load_pipeline(ROOT / "examples/orders/orders_notebook.py",
                             configuration={"raw_path": "RAW"})
    with medallion.Pipeline("ref") as reference:
        declare_orders_pipeline("RAW")
    assert {d.name: d.spec for d in pipeline.declarations} == {
        d.name: d.spec for d in reference.declarations}


def test_several_files_make_one_pipeline(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        "import medallion\nmedallion.bronze_batch(name='a', path='/x')\n")
    (tmp_path / "b.py").write_text(
        "import medallion\nmedallion.silver_with_rules(name='b', source='a')\n")
    pipeline = load_pipeline([tmp_path / "a.py", tmp_path / "b.py"])
    assert (pipeline.name, [d.name for d in pipeline.graph().order]) == ("a", ["a", "b"])
    with pytest.raises(SpecError, match="does not exist"):
        load_pipeline([tmp_path / "a.py", tmp_path / "missing.py"])
