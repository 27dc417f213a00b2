"""Append flows into a streaming table, and liquid clustering kept in line with the specs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import medallion
from medallion import TableRunError, agg
from tests.spark.conftest import write_json_lines

pytestmark = [pytest.mark.spark, pytest.mark.slow]

ORDER = "order_id BIGINT, amount DECIMAL(10,2), region STRING"
#: The columns bronze adds to every row (rescued data, corrupt record).
BRONZE_EXTRAS = ["_rescued_data", "_corrupt_record"]


def test_append_flows_write_one_table_that_readers_see_whole(
    raw: Path, run_pipeline: Any
) -> None:
    write_json_lines(raw / "eu", "1.json", [
        {"order_id": 1, "amount": 10, "region": "EU"},
        {"order_id": 2, "amount": -1, "region": "EU"}])  # fails a warn rule: kept, counted
    write_json_lines(raw / "us", "1.json", [
        {"order_id": 3, "amount": 7.5, "region": "US"},
        {"order_id": None, "amount": 1, "region": "US"}])  # fails a drop rule

    with medallion.Pipeline("orders") as p:
        medallion.bronze_autoloader(name="orders_eu", path=str(raw / "eu"), schema=ORDER)
        medallion.bronze_autoloader(name="orders_us", path=str(raw / "us"), schema=ORDER)

        @medallion.table
        def legacy(ctx):  # type: ignore[no-untyped-def]
            return ctx.spark.createDataFrame(
                [(100, Decimal("99.00"), "EU"), (None, Decimal("1.00"), "EU")], ORDER)

        medallion.create_streaming_table(
            "all_orders", schema=f"{ORDER}, origin STRING",
            expect_all_or_drop={"has_id": "order_id IS NOT NULL"},
            expect_all={"positive": "amount > 0"})

        @medallion.append_flow(target="all_orders")
        def from_eu(ctx):  # type: ignore[no-untyped-def]
            # bronze's rescued/corrupt columns are not in the table's schema: leave them out
            return ctx.read_stream("orders_eu").drop(*BRONZE_EXTRAS).selectExpr(
                "*", "'eu' AS origin")

        @medallion.append_flow(target="all_orders", name="from_us")
        def us(ctx):  # type: ignore[no-untyped-def]
            return ctx.read_stream("orders_us").drop(*BRONZE_EXTRAS)  # no origin: NULL

        @medallion.append_flow(target="all_orders", once=True)
        def backfill(ctx):  # type: ignore[no-untyped-def]
            return ctx.read("legacy").selectExpr("*", "'legacy' AS origin")

        medallion.gold_aggregate(name="orders_by_region", source="all_orders",
                                 group_by=["region"], aggregations=[agg.count(alias="n")])

    def table(result: Any) -> list[tuple[Any, ...]]:
        return sorted(tuple(r) for r in result.read("all_orders").collect())

    first = run_pipeline(p)
    assert table(first) == [
        (1, Decimal("10.00"), "EU", "eu"), (2, Decimal("-1.00"), "EU", "eu"),
        (3, Decimal("7.50"), "US", None), (100, Decimal("99.00"), "EU", "legacy")]
    flows = first.flows
    assert {n: (f.target, f.rows_in, f.rows_written, f.rows_dropped) for n, f in flows.items()} \
        == {"from_eu": ("all_orders", 2, 2, 0), "from_us": ("all_orders", 2, 1, 1),
            "backfill": ("all_orders", 2, 1, 1)}
    assert [(e.name, e.passed, e.failed) for e in flows["from_eu"].expectations] == [
        ("positive", 1, 1), ("has_id", 2, 0)]
    node = first["all_orders"]
    assert (node.rows_written, node.rows_dropped) == (4, 2)
    assert node.detail == "written by flows 'from_eu', 'from_us', 'backfill'"
    # the reader ran after every flow: it counts all four rows
    assert sorted(map(tuple, first.read("orders_by_region").collect())) == [("EU", 3), ("US", 1)]

    write_json_lines(raw / "us", "2.json", [{"order_id": 4, "amount": 2, "region": "US"}])
    second = run_pipeline(p)
    assert {n: f.status for n, f in second.flows.items()} == {
        "from_eu": "up_to_date", "from_us": "completed", "backfill": "up_to_date"}
    assert len(table(second)) == 5
    assert sorted(map(tuple, second.read("orders_by_region").collect())) == [
        ("EU", 3), ("US", 2)]

    # a full refresh of the table resets every flow writing it: no row twice, once runs again
    third = run_pipeline(p, full_refresh=["all_orders"])
    assert table(third) == table(second)
    assert third.flows["backfill"].status == "completed"


def test_a_flow_writing_an_undeclared_column_fails_clearly(run_pipeline: Any) -> None:
    with medallion.Pipeline("bad") as p:
        medallion.create_streaming_table("t", schema="id BIGINT")

        @medallion.append_flow(target="t", once=True, inputs=[])
        def extra(ctx):  # type: ignore[no-untyped-def]
            return ctx.spark.range(2).selectExpr("id", "'x' AS surprise")

    result = run_pipeline(p, raise_on_failure=False)
    error = result.flows["extra"].error
    assert isinstance(error, TableRunError)
    assert str(error) == (
        "Table 't' failed: append flow 'extra' writes column 'surprise', which the table's "
        "schema does not declare (id); add it to the schema or drop it in the flow")
    assert result["t"].status == "skipped"
    assert result["t"].detail == "not run: flow 'extra' failed"


def test_clustering_keys_follow_the_spec_and_optimize_on_request(
    run_pipeline: Any, medallion_spark: Any
) -> None:
    spark = medallion_spark

    def declare(events_keys: list[str], gold_keys: list[str]) -> medallion.Pipeline:
        with medallion.Pipeline("layout") as p:
            @medallion.table
            def people(ctx):  # type: ignore[no-untyped-def]
                return ctx.spark.createDataFrame(
                    [(i, "EU" if i % 2 else "US") for i in range(1, 7)], "id BIGINT, region STRING")

            medallion.create_streaming_table("events", cluster_by=events_keys)
            for half in (0, 1):
                medallion.append_flow(target="events", name=f"half_{half}", once=True,
                                      inputs=["people"])(
                    lambda ctx, h=half: ctx.read("people").where(f"id % 2 = {h}"))
            medallion.gold_aggregate(
                name="by_region", source="people", group_by=["region"],
                aggregations=[agg.count(alias="n")], cluster_by=gold_keys,
                table_properties={"pipelines.autoOptimize.managed": "false"})
            medallion.silver_with_rules(name="people_parts", source="people",
                                        partition_cols=["region"])
        return p

    def detail(table: str) -> Any:
        return spark.sql(f"DESCRIBE DETAIL medallion_db.{table}").first()

    first = run_pipeline(declare(["id"], ["region"]), optimize=True)
    assert detail("events").clusteringColumns == ["id"]
    assert detail("by_region").clusteringColumns == ["region"]
    assert detail("people_parts").partitionColumns == ["region"]
    # two flows appended two sets of files; OPTIMIZE compacted them
    assert first["events"].optimized
    assert detail("events").numFiles == 1
    operations = [r.operation for r in spark.sql(
        "DESCRIBE HISTORY medallion_db.events").collect()]
    assert operations[0] == "OPTIMIZE"
    assert not first["by_region"].optimized  # its table property says no

    run_pipeline(declare(["region"], []))  # keys changed: ALTER TABLE ... CLUSTER BY
    assert detail("events").clusteringColumns == ["region"]
    assert detail("by_region").clusteringColumns == []
