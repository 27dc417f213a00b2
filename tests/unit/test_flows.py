"""Streaming tables and their flows: factories, specs and the graph rules, without Spark."""

from __future__ import annotations

import pytest

import medallion
from medallion import GraphError, SpecError


def never_called(*_: object) -> None:
    raise NotImplementedError("factories must not call query or snapshot functions")


def test_streaming_table_and_flows_declare_without_running_anything() -> None:
    with medallion.Pipeline("crm") as p:
        medallion.bronze_autoloader(name="events", path="/x")
        medallion.bronze_batch(name="dump", path="/y")
        medallion.create_streaming_table(
            "customers", comment="one row per customer", cluster_by=["id"],
            schema="id BIGINT, name STRING", expect_all_or_drop={"has_id": "id IS NOT NULL"},
            expect_all={"has_name": "name IS NOT NULL"})
        medallion.append_flow(target="customers", inputs=["events"])(never_called)
        medallion.append_flow(target="customers", name="backfill", once=True,
                              inputs=["dump"], spark_conf={"a": "b"})(never_called)
        medallion.create_streaming_table("history")
        medallion.create_auto_cdc_from_snapshot_flow(
            target="history", source=never_called, keys=["id"], stored_as_scd_type="2",
            inputs=["dump"])
    table = p["customers"].spec
    assert [(r.name, r.action) for r in table.rules] == [("has_name", "warn"), ("has_id", "drop")]
    assert table.known_columns() == ("id", "name")
    flow = p.flow("never_called").spec
    assert (flow.target, flow.inputs(), flow.once, flow.key) == (
        "customers", ("events",), False, "flow:never_called")
    assert p.flow("backfill").spec.spark_conf == {"a": "b"}
    snapshot = p.flow("history").spec
    assert (snapshot.stored_as_scd_type, snapshot.inputs()) == (2, ("dump",))
    graph = p.graph()
    order = [d.key for d in graph.order]
    # every writer runs before its table's node, so readers of the table see all writes
    assert order.index("flow:never_called") < order.index("customers")
    assert order.index("flow:backfill") < order.index("customers")
    assert order.index("flow:history") < order.index("history")
    assert [d.name for d in graph.writers["customers"]] == ["never_called", "backfill"]
    assert graph.upstream["customers"] == ("events", "dump")
    assert p.flow("never_called").describe().startswith(
        "append flow 'never_called' (into 'customers') (")


def test_auto_cdc_flow_fields_and_defaults() -> None:
    with medallion.Pipeline() as p:
        medallion.bronze_autoloader(name="events", path="/x")
        medallion.create_streaming_table("customers")
        spec = medallion.create_auto_cdc_flow(
            target="customers", source="events", keys="id", sequence_by="struct(ts, seq)",
            apply_as_deletes="op = 'DELETE'", apply_as_truncates="op = 'TRUNCATE'",
            except_column_list=["op"], ignore_null_updates=True)
    assert spec.name == "customers"  # Databricks' default: the target's name
    assert p.flow("customers").spec is spec
    assert p["customers"].spec.kind == "streaming_table"  # same name, separate namespaces
    assert spec.tracked_columns(("id", "a", "b")) == ("a", "b")
    assert spec.model_dump()["stored_as_scd_type"] == 1


@pytest.mark.parametrize(("fields", "message"), [
    ({"column_list": ["name"]}, "column_list must include the key column 'id'"),
    ({"except_column_list": ["id"]}, "except_column_list must not exclude the key column"),
    ({"column_list": ["id"], "except_column_list": ["x"]},
     "give column_list or except_column_list, not both"),
    ({"stored_as_scd_type": 3}, "3 is not allowed"),
    ({"track_history_column_list": ["a"]}, "only apply to stored_as_scd_type=2"),
    ({"stored_as_scd_type": 2, "track_history_column_list": ["a"],
      "track_history_except_column_list": ["b"]}, "not both"),
    ({"stored_as_scd_type": 2, "apply_as_truncates": "op = 'T'"},
     "apply_as_truncates only applies to stored_as_scd_type=1"),
    ({"apply_as_deletes": "op"}, None),
    ({"apply_as_deletes": "op + 1"}, "is not a boolean SQL expression"),
    ({"sequence_by": "SELECT 1"}, "sequence_by 'SELECT 1' is not a valid SQL expression"),
    ({"source": "customers"}, "reads its own target 'customers'"),
])
def test_auto_cdc_rejections(fields: dict[str, object], message: str | None) -> None:
    args: dict[str, object] = {"target": "customers", "source": "events", "keys": ["id"],
                               "sequence_by": "seq", **fields}
    with medallion.Pipeline():
        if message is None:
            medallion.create_auto_cdc_flow(**args)  # type: ignore[arg-type]
            return
        with pytest.raises(SpecError, match=message) as info:
            medallion.create_auto_cdc_flow(**args)  # type: ignore[arg-type]
    assert str(info.value).startswith("AUTO CDC flow 'customers': ")


def test_column_objects_are_refused_with_the_fix() -> None:
    class Column:
        pass

    with medallion.Pipeline(), pytest.raises(SpecError, match="must be SQL text"):
        medallion.create_auto_cdc_flow(target="t", source="s", keys=["id"],
                                       sequence_by=Column())  # type: ignore[arg-type]
    with medallion.Pipeline(), pytest.raises(SpecError, match="give column names as strings"):
        medallion.create_auto_cdc_flow(target="t", source="s", keys=[Column()],  # type: ignore[list-item]
                                       sequence_by="seq")


def test_snapshot_flow_needs_exactly_one_source() -> None:
    with medallion.Pipeline(), pytest.raises(SpecError, match="inputs only apply to a snapshot"):
        medallion.create_auto_cdc_from_snapshot_flow(target="t", source="s", keys=["id"],
                                                     inputs=["x"])


def test_flow_target_must_be_a_declared_streaming_table() -> None:
    with medallion.Pipeline() as p:
        medallion.bronze_autoloader(name="events", path="/x")
        medallion.create_streaming_table("customers")
        medallion.create_auto_cdc_flow(target="customer", source="events", keys=["id"],
                                       sequence_by="seq")
    with pytest.raises(GraphError) as info:
        p.graph()
    assert "AUTO CDC flow 'customer' (into 'customer')" in str(info.value)
    assert "writes 'customer', which this pipeline does not define" in str(info.value)
    assert str(info.value).endswith("or did you mean 'customers'?")

    with medallion.Pipeline() as p:
        medallion.bronze_autoloader(name="events", path="/x")
        medallion.append_flow(target="events", inputs=[])(never_called)
    with pytest.raises(GraphError, match=r"bronze table 'events' .* is computed by its own "
                                         r"definition"):
        p.graph()


def test_streaming_table_needs_a_flow_and_cdc_owns_its_target() -> None:
    with medallion.Pipeline() as p:
        medallion.create_streaming_table("lonely")
    with pytest.raises(GraphError, match=r"streaming table 'lonely' .*has no flow writing"):
        p.graph()

    with medallion.Pipeline() as p:
        medallion.bronze_autoloader(name="events", path="/x")
        medallion.create_streaming_table("customers")
        medallion.create_auto_cdc_flow(target="customers", source="events", keys=["id"],
                                       sequence_by="seq")
        medallion.append_flow(target="customers", name="extra", inputs=["events"])(never_called)
    with pytest.raises(GraphError) as info:
        p.graph()
    assert "must be the only flow writing 'customers'" in str(info.value)
    assert "append flow 'extra' (into 'customers')" in str(info.value)

    with medallion.Pipeline() as p:
        medallion.bronze_autoloader(name="events", path="/x")
        medallion.create_streaming_table("customers", expect_all={"r": "id > 0"})
        medallion.create_auto_cdc_flow(target="customers", source="events", keys=["id"],
                                       sequence_by="seq")
    with pytest.raises(GraphError, match="expectations do not apply to AUTO CDC targets"):
        p.graph()


def test_flow_names_are_unique_and_cycles_name_the_flow() -> None:
    with medallion.Pipeline():
        medallion.bronze_autoloader(name="events", path="/x")
        medallion.create_streaming_table("a")
        medallion.append_flow(target="a", name="f", inputs=["events"])(never_called)
        with pytest.raises(GraphError, match="flow 'f' is defined twice"):
            medallion.append_flow(target="a", name="f", inputs=["events"])(never_called)

    with medallion.Pipeline() as p:
        medallion.create_streaming_table("a")
        medallion.append_flow(target="a", name="f", inputs=["b"])(never_called)
        medallion.silver_with_rules(name="b", source="a")
    with pytest.raises(GraphError) as info:
        p.graph()
    assert str(info.value).startswith("the pipeline has a cycle: ")
    assert "flow 'f'" in str(info.value)
    assert set(info.value.tables) == {"a", "b", "f"}


def test_append_flow_reading_its_target_is_a_spec_error() -> None:
    with medallion.Pipeline(), pytest.raises(SpecError, match="reads its own target 'a'"):
        medallion.append_flow(target="a", inputs=["a"])(never_called)


def test_change_feed_readers_are_discovered() -> None:
    with medallion.Pipeline() as p:
        medallion.create_streaming_table("customers", change_data_feed=True)
        medallion.create_auto_cdc_from_snapshot_flow(target="customers", source="other.dump",
                                                     keys=["id"])

        @medallion.table(incremental=True)
        def customer_changes(ctx):  # type: ignore[no-untyped-def]
            return ctx.read_change_stream("customers", starting_version=0)

        @medallion.table
        def customer_log():  # type: ignore[no-untyped-def]
            return medallion.read_changes("customers")

    assert p["customer_changes"].spec.inputs() == ("customers",)
    assert p["customer_log"].spec.inputs() == ("customers",)
    assert [d.key for d in p.graph().order][-2:] == ["customer_changes", "customer_log"]
