from __future__ import annotations

import pytest

import medallion
from medallion import GraphError


def test_missing_input_names_both_tables_and_suggests() -> None:
    with medallion.Pipeline() as p:
        medallion.bronze_autoloader(name="bronze_orders", path="/x")
        medallion.silver_with_rules(name="silver_orders", source="bronze_order")
    with pytest.raises(GraphError) as info:
        p.graph()
    message = str(info.value)
    assert "silver table 'silver_orders'" in message
    assert "reads 'bronze_order', which this pipeline does not define." in message
    assert "Did you mean 'bronze_orders'?" in message
    assert info.value.tables == ("silver_orders", "bronze_order")


def test_cycle_is_reported_with_its_path() -> None:
    with medallion.Pipeline() as p:
        medallion.bronze_autoloader(name="root", path="/x")
        medallion.silver_with_rules(name="a", source="c")
        medallion.silver_with_rules(name="b", source="a")
        medallion.silver_with_rules(name="c", source="b")
        medallion.silver_with_rules(name="d", source="root")
    with pytest.raises(GraphError) as info:
        p.graph()
    assert str(info.value).startswith("the pipeline has a cycle: a -> c -> b -> a.")
    assert set(info.value.tables) == {"a", "b", "c"}


def test_external_tables_are_not_checked() -> None:
    with medallion.Pipeline() as p:
        medallion.silver_with_rules(name="s", source="other_db.orders")
    graph = p.graph()
    assert graph.upstream["s"] == ()


def test_order_follows_dependencies_not_declaration_order() -> None:
    with medallion.Pipeline() as p:
        medallion.gold_aggregate(name="g", source="s",
                                 aggregations=[medallion.agg.count(alias="n")])
        medallion.silver_with_rules(name="s", source="b",
                                    joins=[medallion.Join(table="c", on=["id"])])
        medallion.bronze_batch(name="c", path="/c")
        medallion.bronze_autoloader(name="b", path="/b")
    order = [d.name for d in p.graph().order]
    assert order.index("s") > order.index("b")
    assert order.index("s") > order.index("c")
    assert order.index("g") > order.index("s")


def test_quarantine_tables_are_readable_nodes() -> None:
    with medallion.Pipeline() as p:
        medallion.bronze_autoloader(name="b", path="/b")
        medallion.silver_with_rules(name="s", source="b", quarantine="q",
                                    rules=[medallion.expect_or_drop("r", "a > 0")])
        medallion.gold_aggregate(name="g", source="q",
                                 aggregations=[medallion.agg.count(alias="n")])
    graph = p.graph()
    assert graph.producer_name("q") == "s"
    assert [d.name for d in graph.order] == ["b", "s", "g"]
    assert graph.downstream_of(["b"]) == {"s", "g"}


def test_full_refresh_names_are_checked() -> None:
    with medallion.Pipeline("p") as p:
        medallion.bronze_autoloader(name="bronze_orders", path="/b")
    with pytest.raises(GraphError, match="did you mean 'bronze_orders'"):
        p.check_table_names(["bronze_order"])
