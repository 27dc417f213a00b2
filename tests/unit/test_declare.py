from __future__ import annotations

import pytest

import medallion
from medallion import GraphError, NoActivePipelineError, SpecError


def never_called(*_: object) -> None:
    raise NotImplementedError("factories must not call query functions")


def test_factories_declare_without_running_anything() -> None:
    with medallion.Pipeline("orders") as p:
        medallion.bronze_autoloader(name="bronze_orders", path="/data/orders")
        medallion.silver_with_rules(name="silver_orders", source="bronze_orders")
        medallion.table(inputs=["silver_orders"])(never_called)
        medallion.gold_aggregate(name="gold", source="silver_orders",
                                 aggregations=[medallion.agg.count(alias="n")])
    assert [d.name for d in p.declarations] == [
        "bronze_orders", "silver_orders", "never_called", "gold",
    ]
    assert [d.name for d in p.graph().order] == [
        "bronze_orders", "silver_orders", "never_called", "gold",
    ]


def test_declaration_records_user_location() -> None:
    with medallion.Pipeline() as p:
        medallion.bronze_autoloader(name="b", path="/x")
    location = p["b"].location
    assert location is not None
    assert location.filename == __file__
    assert p["b"].describe() == f"bronze table 'b' ({location.filename}:{location.line})"


def test_outside_a_pipeline_is_a_named_error() -> None:
    with pytest.raises(NoActivePipelineError, match=r"with medallion.Pipeline\("):
        medallion.bronze_autoloader(name="b", path="/x")


def test_pipelines_nest_and_restore() -> None:
    with medallion.Pipeline("outer") as outer:
        with medallion.Pipeline("inner") as inner:
            medallion.bronze_autoloader(name="b", path="/x")
        medallion.bronze_autoloader(name="c", path="/x")
    assert [d.name for d in inner.declarations] == ["b"]
    assert [d.name for d in outer.declarations] == ["c"]
    assert medallion.active_pipeline() is None


def test_duplicate_name_is_reported_at_declaration() -> None:
    with medallion.Pipeline() as p:
        medallion.bronze_autoloader(name="orders", path="/x")
        with pytest.raises(GraphError) as info:
            medallion.silver_with_rules(name="orders", source="x.y")
    assert "table 'orders' is defined twice: by bronze table 'orders'" in str(info.value)
    assert len(p) == 1


def test_quarantine_name_clash_is_a_duplicate() -> None:
    with medallion.Pipeline():
        medallion.bronze_autoloader(name="q", path="/x")
        with pytest.raises(GraphError, match="table 'q' is defined twice"):
            medallion.silver_with_rules(name="s", source="q", quarantine="q",
                                        rules=[medallion.expect_or_drop("r", "a > 0")])


def test_spec_object_or_fields_not_both() -> None:
    spec = medallion.BronzeSpec(name="b", path="/x")
    with medallion.Pipeline(), pytest.raises(SpecError, match="either a spec or keyword fields"):
        medallion.bronze_autoloader(spec, comment="x")


def test_batch_spec_to_autoloader_factory_is_rejected() -> None:
    spec = medallion.BronzeSpec(name="b", path="/x", incremental=False)
    with medallion.Pipeline(), pytest.raises(SpecError, match="use the matching factory"):
        medallion.bronze_autoloader(spec)


def test_factories_accept_a_spec() -> None:
    spec = medallion.SilverSpec(name="s", source="b")
    with medallion.Pipeline() as p:
        returned = medallion.silver_with_rules(spec)
    assert returned is spec
    assert p["s"].spec is spec


def test_table_decorator_bare_and_with_arguments() -> None:
    with medallion.Pipeline() as p:
        medallion.bronze_batch(name="orders", path="/x")

        @medallion.table
        def plain(ctx):  # type: ignore[no-untyped-def]
            """Orders, plainly."""
            return ctx.read("orders")

        @medallion.table(name="renamed", incremental=True,
                         rules=[medallion.expect_or_drop("has_id", "id IS NOT NULL")],
                         quarantine="renamed_bad")
        def whatever():  # type: ignore[no-untyped-def]
            return medallion.read_stream("plain")

    assert plain.__name__ == "plain"  # the function is returned unchanged
    assert p["plain"].spec.inputs() == ("orders",)
    assert p["plain"].spec.comment == "Orders, plainly."
    spec = p["renamed"].spec
    assert spec.inputs() == ("plain",)
    assert spec.incremental is True
    assert spec.outputs() == ("renamed", "renamed_bad")


def test_discovered_reads_strip_live_prefix_and_skip_decorators() -> None:
    from medallion.query_context import discover_reads

    def fn(spark):  # type: ignore[no-untyped-def]
        a = spark.table("LIVE.silver_orders")
        b = spark.read.table("other_db.customers")
        return a.join(b, "id")

    assert discover_reads(fn) == ("silver_orders", "other_db.customers")


def test_config_reads_pipeline_configuration() -> None:
    assert medallion.config("raw", "/default") == "/default"
    with medallion.Pipeline(configuration={"raw": "/data"}):
        assert medallion.config("raw") == "/data"
