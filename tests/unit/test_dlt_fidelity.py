"""Never silently different from Databricks: every dlt keyword is carried, or refused by name.

Two halves: what the Databricks backend registers for each setting (a recording fake bound to
the real signatures, see tests/contracts/recording.py), and the contract of ``medallion.dlt``
against the ``databricks-dlt`` 0.3.0 stub plus the keywords Databricks documents beyond it.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import pytest

import medallion
import medallion.dlt as dlt
from medallion import SpecError
from medallion.backends.databricks import DatabricksBackend
from tests.contracts.recording import (
    DOCUMENTED,
    HERE,
    RecordingApi,
    documented,
    snapshot_signatures,
)


def backend(flavour: str = "dp") -> tuple[medallion.Pipeline, RecordingApi]:
    api = RecordingApi(flavour)  # type: ignore[arg-type]
    pipeline = medallion.Pipeline("p")
    pipeline.attach(DatabricksBackend(pipeline, api=api, flavour=api.flavour))
    return pipeline, api


def table_call(api: RecordingApi, name: str) -> tuple[str, dict[str, Any]]:
    return next((c.api, c.kwargs) for c in api.calls if c.kwargs.get("name") == name)


# -- what the Databricks backend carries -----------------------------------------------------
@pytest.mark.parametrize("flavour", ["dp", "dlt"])
def test_partition_cols_reach_every_table_kind(flavour: str) -> None:
    """Before: only create_streaming_table passed partition_cols; table(...) dropped them."""
    pipeline, api = backend(flavour)
    with pipeline:
        medallion.bronze_autoloader(name="raw", path="/raw", schema="id BIGINT, day DATE",
                                    partition_cols=["day"])
        medallion.silver_with_rules(name="clean", source="raw", partition_cols=["day"])

        @medallion.table(inputs=["clean"], partition_cols=["day"], private=True,
                         cluster_by_auto=True)
        def mine(ctx: Any) -> Any:
            return ctx.read("clean")

    assert table_call(api, "raw") == ("table", {"name": "raw", "partition_cols": ["day"]})
    assert table_call(api, "clean") == ("table", {"name": "clean", "partition_cols": ["day"]})
    kind = "materialized_view" if flavour == "dp" else "table"
    private = "private" if flavour == "dp" else "temporary"
    assert table_call(api, "mine") == (kind, {
        "name": "mine", "partition_cols": ["day"], "cluster_by_auto": True, private: True})


def test_streaming_table_settings_are_carried() -> None:
    pipeline, api = backend("dp")
    with pipeline:
        dlt.create_streaming_table("st", partition_cols=["d"], cluster_by_auto=True,
                                   private=True, schema="id BIGINT, d DATE")
    assert api.calls[-1].kwargs == {"name": "st", "partition_cols": ["d"],
                                    "cluster_by_auto": True, "private": True,
                                    "schema": "id BIGINT, d DATE"}


def test_a_private_streaming_table_needs_dp() -> None:
    pipeline, _ = backend("dlt")
    with pipeline, pytest.raises(medallion.BackendError, match=r"private=True on a streaming "
                                 r"table needs Databricks' pyspark.pipelines"):
        dlt.create_streaming_table("st", private=True)


@pytest.mark.parametrize("flavour", ["dp", "dlt"])
def test_once_reaches_snapshot_flows(flavour: str) -> None:
    """Before: once=True ran the flow once locally and on every update on Databricks."""
    pipeline, api = backend(flavour)
    with pipeline:
        medallion.bronze_batch(name="dump", path="/dump")
        dlt.create_streaming_table("snap")
        dlt.create_auto_cdc_from_snapshot_flow(target="snap", source="dump", keys=["id"],
                                               once=True)
    call = api.calls[-1]
    assert call.api == ("create_auto_cdc_from_snapshot_flow" if flavour == "dp"
                        else "apply_changes_from_snapshot")
    assert call.kwargs == {"target": "snap", "source": "dump", "keys": ["id"],
                           "stored_as_scd_type": 1, "once": True}


def test_a_dlt_table_is_registered_for_databricks_to_decide_its_kind() -> None:
    """Before: a stream read inside a helper made a materialized view; Databricks streams."""
    pipeline, api = backend("dp")

    def events() -> Any:  # the stream is read here, not in the decorated function
        return dlt.read_stream("bronze")

    with pipeline:
        medallion.bronze_autoloader(name="bronze", path="/raw", schema="id BIGINT")

        @dlt.table
        def silver() -> Any:
            return events()

    assert table_call(api, "silver") == ("table", {"name": "silver"})
    assert pipeline["silver"].spec.incremental is None


def test_null_update_lists_and_columns_to_update_are_carried() -> None:
    pipeline, api = backend("dp")
    with pipeline:
        medallion.bronze_autoloader(name="events", path="/raw", schema="id BIGINT, seq BIGINT")
        dlt.create_streaming_table("t1")
        dlt.create_auto_cdc_flow(target="t1", source="events", keys=["id"], sequence_by="seq",
                                 ignore_null_updates_except_column_list=["note"],
                                 columns_to_update=["id", "name", "note"])
        dlt.create_streaming_table("t2")
        dlt.apply_changes(target="t2", source="events", keys=["id"], sequence_by="seq",
                          ignore_null_updates_column_list=["name"], stored_as_scd_type=2)
    cdc = [c.kwargs for c in api.calls if c.api == "create_auto_cdc_flow"]
    assert cdc == [
        {"name": "t1", "target": "t1", "source": "events", "keys": ["id"], "sequence_by": "seq",
         "ignore_null_updates_except_column_list": ["note"],
         "column_list": ["id", "name", "note"], "stored_as_scd_type": 1},
        {"name": "t2", "target": "t2", "source": "events", "keys": ["id"], "sequence_by": "seq",
         "ignore_null_updates_column_list": ["name"], "stored_as_scd_type": 2},
    ]


class Column:
    """Stands for ``pyspark.sql.Column``: it prints as ``Column<'text'>``."""

    __module__ = "pyspark.sql.column"

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return f"Column<'{self.text}'>"

    __repr__ = __str__


def test_column_arguments_become_sql_text() -> None:
    """The documented CDC example: col(), struct(), expr() and keys=[col(...)]."""
    with medallion.Pipeline("p") as pipeline:
        dlt.create_streaming_table("target")
        dlt.create_auto_cdc_flow(
            target="target", source="users", keys=[Column("userId")],
            sequence_by=Column("struct(ts, seq)"),
            apply_as_deletes=Column("operation = 'DELETE'"),
            except_column_list=[Column("operation"), "seq"], stored_as_scd_type=2,
            track_history_except_column_list=[Column("city")])
    spec = pipeline.flow("target").spec
    assert (spec.keys, spec.sequence_by, spec.apply_as_deletes, spec.except_column_list,
            spec.track_history_except_column_list) == (
        ("userId",), "struct(ts, seq)", "operation = 'DELETE'", ("operation", "seq"),
        ("city",))


def test_a_column_that_is_no_sql_is_refused_by_name() -> None:
    with medallion.Pipeline("p"), pytest.raises(
            SpecError, match=r"flow into 'target': apply_as_deletes=Column<'=\(op, 'D'\)'> is a "
                             r"Column medallion cannot read back as SQL"):
        dlt.create_auto_cdc_flow(target="target", source="users", keys=["id"],
                                 sequence_by="seq", apply_as_deletes=Column("=(op, 'D')"))


def test_struct_type_schema_becomes_ddl() -> None:
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    schema = StructType([StructField("id", LongType(), False),
                         StructField("name", StringType(), True, {"comment": "it's a name"})])
    with medallion.Pipeline("p") as pipeline:
        dlt.create_streaming_table("st", schema=schema)

        @dlt.table(schema=schema, partition_cols=["name"])
        def t() -> Any: ...

    ddl = "`id` bigint NOT NULL, `name` string COMMENT 'it\\'s a name'"
    assert pipeline["st"].spec.schema_ == ddl
    assert (pipeline["t"].spec.schema_, pipeline["t"].spec.partition_cols) == (ddl, ("name",))


# -- sinks -------------------------------------------------------------------------------------
@pytest.mark.parametrize("flavour", ["dp", "dlt"])
def test_sinks_are_carried_and_only_append_flows_write_them(flavour: str) -> None:
    pipeline, api = backend(flavour)
    with pipeline:
        medallion.bronze_autoloader(name="events", path="/raw", schema="id BIGINT, seq BIGINT")
        dlt.create_sink("out", "kafka", {"topic": "t", "kafka.bootstrap.servers": "h:9092"})

        @dlt.append_flow(target="out")
        def to_kafka() -> Any:
            return dlt.read_stream("events")

    assert [(c.api, c.kwargs) for c in api.calls[-2:]] == [
        ("create_sink", {"name": "out", "format": "kafka",
                         "options": {"topic": "t", "kafka.bootstrap.servers": "h:9092"}}),
        ("append_flow", {"target": "out", "name": "to_kafka"})]
    with medallion.Pipeline("p") as local:
        medallion.bronze_autoloader(name="events", path="/raw", schema="id BIGINT, seq BIGINT")
        dlt.create_sink("out", "delta", {"tableName": "other.t"})
        dlt.create_auto_cdc_flow(target="out", source="events", keys=["id"], sequence_by="seq")
    with pytest.raises(medallion.GraphError, match=r"writes the sink 'out': only append flows"):
        local.validate()
    with medallion.Pipeline("p"), pytest.raises(SpecError, match=r"Delta sink 's' needs "
                                                r"options=\{'path'"):
        dlt.create_sink("s", "delta")


# -- event hooks, deprecated names -----------------------------------------------------------------
def test_on_event_hook_registers_on_the_pipeline() -> None:
    with medallion.Pipeline("p") as pipeline:
        @dlt.on_event_hook
        def bare(event: dict[str, Any]) -> None: ...

        @dlt.on_event_hook(max_allowable_consecutive_failures=2)
        def limited(event: dict[str, Any]) -> None: ...

    assert pipeline.event_hooks == [(bare, None), (limited, 2)]
    with pytest.raises(SpecError, match="max_allowable_consecutive_failures must be an integer"):
        dlt.on_event_hook(max_allowable_consecutive_failures=-1)
    with pytest.raises(SpecError, match=r"first positional argument of @dlt\.on_event_hook"):
        dlt.on_event_hook(5)  # type: ignore[arg-type]


def test_the_event_log_calls_hooks_and_disables_a_failing_one() -> None:
    from medallion.backends.local.eventlog_writer import EventLog

    seen: list[tuple[str, str]] = []

    def good(event: dict[str, Any]) -> None:
        seen.append((event["event_type"], event["details"]["update_progress"]["state"]))

    def bad(event: dict[str, Any]) -> None:
        raise ValueError("boom")

    log = EventLog("p", "pid", "s", hooks=[(good, None), (bad, 1)])
    for state in ("RUNNING", "COMPLETED", "FAILED"):
        log.emit("update_progress", state, {"update_progress": {"state": state}})
    assert seen == [("update_progress", "RUNNING"), ("update_progress", "COMPLETED"),
                    ("update_progress", "FAILED")]
    hook_events = [(e[-1], e[4]) for e in log.events if e[-1] == "hook_progress"]
    assert hook_events == [
        ("hook_progress", "Event hook 'bad' failed on a update_progress event (ValueError: "
                          "boom)"),
        ("hook_progress", "Event hook 'bad' failed on a update_progress event (ValueError: "
                          "boom); it is disabled"),
    ]


@pytest.mark.parametrize(("old", "new"), [("create_table", "table"), ("create_view", "view"),
                                          ("create_target_table", "create_streaming_table"),
                                          ("create_streaming_live_table",
                                           "create_streaming_table")])
def test_deprecated_names_warn_as_databricks_does(old: str, new: str) -> None:
    with medallion.Pipeline("p") as pipeline, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if new == "create_streaming_table":
            getattr(dlt, old)("st")
        else:
            getattr(dlt, old)(name="t")(lambda: None)
    assert [str(w.message) for w in caught] == [
        f"Function {old} has been deprecated. Please use {new} instead."]
    assert len(pipeline) == 1


# -- the contract: every real keyword works or is refused by name --------------------------
#: A value for each keyword the contract calls with (None-defaulted keywords get a real value).
SAMPLES: dict[str, Any] = {
    "name": "t", "comment": "c", "spark_conf": {"k": "v"}, "table_properties": {"p": "v"},
    "partition_cols": ["id"], "path": "/tables/t", "schema": "id BIGINT", "temporary": True,
    "cluster_by": ["id"], "row_filter": "ROW FILTER f ON (id)", "cluster_by_auto": True,
    "private": True, "expect_all": {"r": "id > 0"}, "expect_all_or_drop": {"r": "id > 0"},
    "expect_all_or_fail": {"r": "id > 0"}, "target": "st", "once": True, "source": "events",
    "keys": ["id"], "sequence_by": "seq", "where": "id > 0", "ignore_null_updates": True,
    "apply_as_deletes": "op = 'D'", "apply_as_truncates": "op = 'T'",
    "column_list": ["id", "v"], "except_column_list": ["op"], "stored_as_scd_type": 2,
    "track_history_column_list": ["v"], "track_history_except_column_list": ["op"],
    "flow_name": "f", "ignore_null_updates_column_list": ["v"],
    "ignore_null_updates_except_column_list": ["v"], "columns_to_update": ["id", "v"],
    "max_allowable_consecutive_failures": 3, "format": "delta",
    "options": {"tableName": "s.t"},
}
#: Function → keywords the local runner refuses (the refusal names the keyword and table).
REFUSED = {"table": {"spark_conf", "path", "row_filter"}, "view": {"spark_conf"},
           "create_streaming_table": {"spark_conf", "path", "row_filter"},
           "apply_changes": {"where"}}


def reference() -> dict[str, inspect.Signature]:
    return documented(snapshot_signatures(HERE / "databricks-dlt-0.3.0.json"))


def test_every_stub_function_exists_with_its_parameters() -> None:
    ours = set(dlt.__all__)
    theirs = set(reference())
    assert theirs - ours == set()
    for name, sig in reference().items():
        if name not in ours or any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
            continue
        mine = inspect.signature(getattr(dlt, name)).parameters
        assert set(sig.parameters) <= set(mine), (name, set(sig.parameters) - set(mine))


def call_with(function: str, keyword: str) -> Any:
    """Declare with ``function`` given ``keyword`` (and what the call needs besides)."""
    value = SAMPLES.get(keyword)

    def flow() -> None: ...

    if function in ("table", "view"):
        extra = {} if keyword == "name" else {"name": "t"}
        decorate = getattr(dlt, function)(**extra, **{keyword: value})
        return decorate(lambda: None)
    if function == "create_streaming_table":
        return dlt.create_streaming_table(**{"name": "st", keyword: value})
    if function == "append_flow":
        return dlt.append_flow(**{"target": "st", keyword: value})(flow)
    if function == "apply_changes":
        base = {"target": "st", "source": "events", "keys": ["id"], "sequence_by": "seq",
                "stored_as_scd_type": 2 if keyword.startswith("track_history") else 1}
        if keyword == "apply_as_truncates":
            base["stored_as_scd_type"] = 1
        return dlt.apply_changes(**{**base, keyword: value})
    if function == "apply_changes_from_snapshot":
        base = {"target": "st", "source": "dump", "keys": ["id"],
                "stored_as_scd_type": 2 if keyword.startswith("track_history") else 1}
        if keyword == "source":
            base["source"] = "dump"
            return dlt.apply_changes_from_snapshot(**base)
        if keyword == "snapshot_and_version":
            del base["source"]
            return dlt.apply_changes_from_snapshot(**base, snapshot_and_version=lambda v: None)
        return dlt.apply_changes_from_snapshot(**{**base, keyword: value})
    if function == "on_event_hook":
        if keyword == "user_event_hook_fn":
            return dlt.on_event_hook(lambda event: None)
        return dlt.on_event_hook(**{keyword: value})(lambda event: None)
    if function == "create_sink":
        options = {"path": "/sinks/s"} if keyword != "options" else SAMPLES["options"]
        return dlt.create_sink("s", "delta", options)
    raise AssertionError(f"no call shape for {function}")


CASES = [(f, k) for f, sig in sorted(reference().items())
         for k in sig.parameters
         if not any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
         and k not in ("query_function", "expectations", "inv")
         and not f.startswith(("expect", "read"))]


@pytest.mark.parametrize(("function", "keyword"), CASES)
def test_every_real_keyword_works_or_is_refused_by_name(function: str, keyword: str) -> None:
    with medallion.Pipeline("p") as pipeline:
        medallion.bronze_autoloader(name="events", path="/raw",
                                    schema="id BIGINT, seq BIGINT, v STRING, op STRING")
        medallion.bronze_batch(name="dump", path="/dump")
        if function not in ("create_streaming_table", "table", "view"):
            dlt.create_streaming_table("st")
        if keyword in REFUSED.get(function, ()):
            with pytest.raises(SpecError, match=rf"{keyword}= is not supported"):
                call_with(function, keyword)
            return
        before = len(pipeline.declarations) + len(pipeline.event_hooks)
        call_with(function, keyword)
        assert len(pipeline.declarations) + len(pipeline.event_hooks) == before + 1


def test_the_contract_covers_the_documented_keywords() -> None:
    covered = {k for _, k in CASES}
    assert {k for extra in DOCUMENTED.values() for k in extra} <= covered
    assert {"private", "cluster_by_auto", "once", "columns_to_update",
            "ignore_null_updates_column_list", "ignore_null_updates_except_column_list",
            "partition_cols", "schema"} <= covered


class RecordingReader:
    """``spark.readStream`` of a fake session: records format and options, loads nothing."""

    def __init__(self) -> None:
        self.format_: str | None = None
        self.options_: dict[str, str] = {}

    def format(self, source: str) -> RecordingReader:
        self.format_ = source
        return self

    def options(self, **options: str) -> RecordingReader:
        self.options_.update(options)
        return self

    def schema(self, schema: str) -> RecordingReader:
        return self

    def load(self, path: str) -> Any:
        raise LookupError("recorded")


def test_auto_loader_gets_the_documented_rescued_data_column_key(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the bronze query gave cloudFiles.rescuedDataColumn, which Databricks ignores."""
    from medallion.backends import databricks

    reader = RecordingReader()
    monkeypatch.setattr(databricks, "active_session",
                        lambda: type("Spark", (), {"readStream": reader})())
    pipeline, api = backend("dp")
    with pipeline:
        medallion.bronze_autoloader(name="raw", path="/raw", schema="id BIGINT",
                                    rescued_data_column="_rescue")
    with pytest.raises(LookupError, match="recorded"):
        api.functions["raw"]()
    assert reader.format_ == "cloudFiles"
    assert reader.options_["rescuedDataColumn"] == "_rescue"
    assert not [k for k in reader.options_ if k.lower() == "cloudfiles.rescueddatacolumn"]


def _orders_stream() -> Any:
    return dlt.read_stream("orders")


def test_reads_inside_helper_functions_are_inputs() -> None:
    from medallion.query_context import discover_reads

    def nested() -> Any:
        return _orders_stream().join(dlt.read("customers"), "id")

    def top() -> Any:
        return nested()

    assert set(discover_reads(top) or ()) == {"orders", "customers"}
