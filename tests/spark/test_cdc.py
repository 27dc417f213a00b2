"""AUTO CDC on the local runner against hand-computed histories, and the change data feed.

One pipeline holds an SCD1 target (with change data feed, read downstream as a stream), an
SCD2 target, and an SCD1 target with truncates, all fed by change events arriving in three
batches, out of order and with duplicates. Sequence numbers are multiples of ten so a late
event's place is easy to see.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import medallion
from tests.spark.conftest import write_json_lines

pytestmark = [pytest.mark.spark, pytest.mark.slow]

FIELDS = ("id", "name", "city", "note", "op", "seq")
#: The columns bronze adds to every row (rescued data, corrupt record): not customer fields.
BRONZE_EXTRAS = ["_rescued_data", "_corrupt_record"]
SCHEMA = "id BIGINT, name STRING, city STRING, note STRING, op STRING, seq BIGINT"


def events(*rows: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [dict(zip(FIELDS, r, strict=True)) for r in rows]


BATCH_1 = events(
    (1, "Ann", "Paris", "n1", "INSERT", 10),
    (1, "Ann", "Rome", "n1", "UPDATE", 30),
    (2, "Bob", "Oslo", "n1", "INSERT", 20),
    (3, "Cy", "Lima", "n1", "INSERT", 40),
    (3, "Cy", "Lima", "n1", "DELETE", 40),  # same key and sequence: the delete wins
)
BATCH_2 = events(
    (1, "Ann", "Nice", "n1", "UPDATE", 20),  # late: older than the applied 30
    (2, "Bob", "Oslo", "n1", "DELETE", 50),
    (4, "Dee", "Kyiv", "n1", "INSERT", 60),
    (1, "Ann", "Rome", "n2", "UPDATE", 70),  # only the untracked note changes
)
BATCH_3 = events(
    (2, "Bob", "Bergen", "n1", "UPDATE", 45),  # late, and older than id 2's delete
    (1, "Ann", "Nice", "n1", "UPDATE", 50),  # late, between two versions
    (3, "Cy", "Lima", "n1", "UPDATE", 35),  # late, before id 3's delete at 40
    (5, "Eve", "Oslo", "n1", "INSERT", 80),
    (5, "Eve", None, "n3", "UPDATE", 90),  # a NULL city
)
BATCH_4 = events(  # in order, one event per key: the common case, one plain MERGE
    (4, "Dee", "Kyiv", "n9", "UPDATE", 100),  # untracked change: in place
    (5, "Eve", "Rome", "n3", "UPDATE", 110),  # tracked change: a new version
    (6, "Fay", "Pisa", "n1", "INSERT", 120),
    (1, "Ann", "Rome", "n2", "DELETE", 130),
    (2, "Bob", "Oslo", "n1", "DELETE", 140),  # already deleted: nothing to do
)
TRUNCATES = [
    events((1, "A", None, None, "INSERT", 10), (2, "B", None, None, "INSERT", 20),
           (3, "C", None, None, "INSERT", 30)),
    events((None, None, None, None, "TRUNCATE", 40), (2, "B2", None, None, "UPDATE", 50)),
    events((1, "A1", None, None, "UPDATE", 35),  # before the first truncate: gone
           (None, None, None, None, "TRUNCATE", 45),  # a late truncate: table rebuilt
           (4, "D", None, None, "INSERT", 60)),
]


@pytest.fixture
def pipeline(raw: Path) -> medallion.Pipeline:
    with medallion.Pipeline("crm") as p:
        medallion.bronze_autoloader(name="customer_events", path=str(raw / "events"),
                                    schema=SCHEMA)
        medallion.bronze_autoloader(name="truncating_events", path=str(raw / "truncating"),
                                    schema=SCHEMA)
        medallion.create_streaming_table("customers", change_data_feed=True, cluster_by=["id"])
        medallion.create_auto_cdc_flow(
            target="customers", source="customer_events", keys=["id"], sequence_by="seq",
            apply_as_deletes="op = 'DELETE'", except_column_list=["op", "seq", *BRONZE_EXTRAS],
            ignore_null_updates=True, name="customers_scd1")
        medallion.create_streaming_table("customer_history")
        medallion.create_auto_cdc_flow(
            target="customer_history", source="customer_events", keys=["id"],
            sequence_by="seq", apply_as_deletes="op = 'DELETE'",
            except_column_list=["op", "seq", *BRONZE_EXTRAS], stored_as_scd_type=2,
            track_history_except_column_list=["note"])
        medallion.create_streaming_table("customers_truncated")
        medallion.create_auto_cdc_flow(
            target="customers_truncated", source="truncating_events", keys=["id"],
            sequence_by="seq", apply_as_deletes="op = 'DELETE'",
            apply_as_truncates="op = 'TRUNCATE'", column_list=["id", "name"])

        @medallion.table(incremental=True)
        def customer_changes(ctx):  # type: ignore[no-untyped-def]
            return ctx.read_change_stream("customers", starting_version=0).select(
                "id", "name", "city", "_change_type", "_commit_version")
    return p


def rows(result: medallion.backends.local.RunResult, table: str,
         order: tuple[str, ...] = ("id",)) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in result.read(table).orderBy(*order).collect()]


def test_scd1_scd2_and_change_feed_with_late_and_duplicate_events(
    pipeline: medallion.Pipeline, run_pipeline: Any, raw: Path, medallion_spark: Any
) -> None:
    def land(n: int) -> None:
        write_json_lines(raw / "events", f"b{n}.json", [BATCH_1, BATCH_2, BATCH_3, BATCH_4][n - 1])
        if n <= len(TRUNCATES):
            write_json_lines(raw / "truncating", f"b{n}.json", TRUNCATES[n - 1])

    land(1)
    first = run_pipeline(pipeline)
    assert rows(first, "customers") == [(1, "Ann", "Rome", "n1"), (2, "Bob", "Oslo", "n1")]
    assert rows(first, "customer_history", ("id", "__START_AT")) == [
        (1, "Ann", "Paris", "n1", 10, 30),
        (1, "Ann", "Rome", "n1", 30, None),
        (2, "Bob", "Oslo", "n1", 20, None),
    ]
    flow = first.flows["customers_scd1"]
    assert (flow.target, flow.rows_in, flow.num_upserted_rows, flow.num_deleted_rows) == (
        "customers", 5, 2, 0)  # id 3's duplicate (key, sequence) resolved to its delete
    table = first["customers"]
    assert (table.num_upserted_rows, table.detail) == (2, "written by flow 'customers_scd1'")

    land(2)
    second = run_pipeline(pipeline)
    assert rows(second, "customers") == [(1, "Ann", "Rome", "n2"), (4, "Dee", "Kyiv", "n1")]
    assert rows(second, "customer_history", ("id", "__START_AT")) == [
        (1, "Ann", "Paris", "n1", 10, 20),
        (1, "Ann", "Nice", "n1", 20, 30),  # the late event, placed into the history
        (1, "Ann", "Rome", "n2", 30, None),  # note changed in place: not a new version
        (2, "Bob", "Oslo", "n1", 20, 50),  # closed by the delete
        (4, "Dee", "Kyiv", "n1", 60, None),
    ]
    flow = second.flows["customers_scd1"]
    assert (flow.num_upserted_rows, flow.num_deleted_rows) == (2, 1)
    assert rows(second, "customers_truncated") == [(2, "B2")]
    # the event log: one final event per flow, named after the flow, on the target dataset
    final = medallion_spark.table("medallion_db.event_log").where(
        f"origin.update_id = '{second.update_id}' AND event_type = 'flow_progress' AND "
        "get_json_object(details, '$.flow_progress.status') = 'COMPLETED'").selectExpr(
        "origin.flow_name", "origin.dataset_name",
        "get_json_object(details, '$.flow_progress.metrics.num_upserted_rows') AS up",
        "get_json_object(details, '$.flow_progress.metrics.num_deleted_rows') AS down")
    assert sorted(map(tuple, final.where("flow_name LIKE 'customer%' AND flow_name != "
                                         "'customer_events'").collect())) == [
        ("customer_changes", "customer_changes", None, None),
        ("customer_history", "customer_history", "5", "0"),
        ("customers_scd1", "customers", "2", "1"),
        ("customers_truncated", "customers_truncated", "1", "2"),
    ]

    land(3)
    third = run_pipeline(pipeline)
    assert rows(third, "customers") == [
        (1, "Ann", "Rome", "n2"),  # the late Nice@50 never overwrites Rome@70
        (4, "Dee", "Kyiv", "n1"),
        (5, "Eve", "Oslo", "n3"),  # ignore_null_updates kept Oslo
    ]  # id 2 stays deleted: its late update (45) is older than its delete (50)
    assert rows(third, "customer_history", ("id", "__START_AT")) == [
        (1, "Ann", "Paris", "n1", 10, 20),
        (1, "Ann", "Nice", "n1", 20, 30),
        (1, "Ann", "Rome", "n1", 30, 50),
        (1, "Ann", "Nice", "n1", 50, 70),
        (1, "Ann", "Rome", "n2", 70, None),
        (2, "Bob", "Oslo", "n1", 20, 45),
        (2, "Bob", "Bergen", "n1", 45, 50),
        (3, "Cy", "Lima", "n1", 35, 40),
        (4, "Dee", "Kyiv", "n1", 60, None),
        (5, "Eve", "Oslo", "n1", 80, 90),
        (5, "Eve", None, "n3", 90, None),
    ]
    assert rows(third, "customers_truncated") == [(2, "B2"), (4, "D")]
    assert third.flows["customers_truncated"].detail.startswith("a late truncate")
    assert dict(third.read("customer_history").dtypes)["__START_AT"] == "bigint"

    land(4)
    fourth = run_pipeline(pipeline)
    assert rows(fourth, "customers") == [
        (4, "Dee", "Kyiv", "n9"), (5, "Eve", "Rome", "n3"), (6, "Fay", "Pisa", "n1")]
    history = rows(fourth, "customer_history", ("id", "__START_AT"))
    assert [r for r in history if r[0] in (1, 4, 5, 6) and (r[5] is None or r[5] >= 100)] == [
        (1, "Ann", "Rome", "n2", 70, 130),
        (4, "Dee", "Kyiv", "n9", 60, None),
        (5, "Eve", None, "n3", 90, 110),
        (5, "Eve", "Rome", "n3", 110, None),
        (6, "Fay", "Pisa", "n1", 120, None),
    ]
    assert len(history) == 13
    flow = fourth.flows["customer_history"]
    assert (flow.rows_in, flow.num_upserted_rows, flow.num_deleted_rows) == (5, 5, 0)
    assert fourth.flows["customers_truncated"].status == "up_to_date"

    # -- the change data feed of the SCD1 target, as streamed downstream ------------------
    v1, v2, v3, v4 = (_version_after(medallion_spark, "customers", r) for r in (1, 2, 3, 4))
    assert sorted(rows(third, "customer_changes", ("_commit_version", "id", "_change_type"))) \
        == sorted([
            (1, "Ann", "Rome", "insert", v1),
            (2, "Bob", "Oslo", "insert", v1),
            (1, "Ann", "Rome", "update_preimage", v2),
            (1, "Ann", "Rome", "update_postimage", v2),
            (2, "Bob", "Oslo", "delete", v2),
            (4, "Dee", "Kyiv", "insert", v2),
            (5, "Eve", "Oslo", "insert", v3),  # id 1's late event changed nothing: no row
            (1, "Ann", "Rome", "delete", v4),
            (4, "Dee", "Kyiv", "update_preimage", v4),
            (4, "Dee", "Kyiv", "update_postimage", v4),
            (5, "Eve", "Oslo", "update_preimage", v4),
            (5, "Eve", "Rome", "update_postimage", v4),
            (6, "Fay", "Pisa", "insert", v4),
        ])
    detail = medallion_spark.sql("DESCRIBE DETAIL medallion_db.customers").first()
    assert detail.clusteringColumns == ["id"]
    assert detail.properties == {"delta.enableChangeDataFeed": "true",
                                 "medallion.pipeline": "crm"}

    # -- nothing new: no writes anywhere -------------------------------------------------------
    latest = {t: _latest(medallion_spark, t) for t in ("customers", "customer_history")}
    again = run_pipeline(pipeline)
    assert {n: t.status for n, t in again.flows.items()} == dict.fromkeys(
        ("customers_scd1", "customer_history", "customers_truncated"), "up_to_date")
    assert {t: _latest(medallion_spark, t) for t in latest} == latest


def _version_after(spark: Any, table: str, run: int) -> int:
    """Version of the table's ``run``-th MERGE (each of the runs above makes exactly one)."""
    history = spark.sql(f"DESCRIBE HISTORY medallion_db.{table}").collect()
    merges = sorted(r.version for r in history if r.operation == "MERGE")
    assert len(merges) == 4
    return merges[run - 1]


def _latest(spark: Any, table: str) -> int:
    return int(spark.sql(f"DESCRIBE HISTORY medallion_db.{table} LIMIT 1").first().version)


def test_snapshots_from_a_function_and_from_a_table(run_pipeline: Any,
                                                    medallion_spark: Any) -> None:
    spark = medallion_spark
    schema = "id BIGINT, name STRING, note STRING"
    versions: dict[int, list[tuple[Any, ...]]] = {
        1: [(1, "x", "n1"), (2, "y", "n1")],
        2: [(1, "x", "n2"), (2, "z", "n1"), (3, "w", "n1")],
        3: [(1, "x2", "n2"), (3, "w", "n1")],
    }
    dump: list[tuple[Any, ...]] = [(1, "a", "n"), (2, "b", "n"), (3, "c", "n")]

    def next_snapshot(latest: int | None) -> tuple[Any, int] | None:
        version = 1 if latest is None else latest + 1
        if version not in versions:
            return None
        return spark.createDataFrame(versions[version], schema), version

    with medallion.Pipeline("snapshots") as p:
        @medallion.table
        def customer_dump(ctx):  # type: ignore[no-untyped-def]
            return ctx.spark.createDataFrame(list(dump), schema)

        medallion.create_streaming_table("dims")
        medallion.create_auto_cdc_from_snapshot_flow(
            target="dims", source=next_snapshot, keys=["id"], stored_as_scd_type=2,
            track_history_except_column_list=["note"])
        medallion.create_streaming_table("current_customers")
        medallion.create_auto_cdc_from_snapshot_flow(
            target="current_customers", source="customer_dump", keys=["id"])

    first = run_pipeline(p)
    assert [tuple(r) for r in first.read("dims").orderBy("id", "__START_AT").collect()] == [
        (1, "x", "n2", 1, 3),  # the note changed in place at version 2
        (1, "x2", "n2", 3, None),
        (2, "y", "n1", 1, 2),
        (2, "z", "n1", 2, 3),  # missing from snapshot 3: closed
        (3, "w", "n1", 2, None),
    ]
    assert first.flows["dims"].detail == "3 snapshot(s) applied"
    assert sorted(map(tuple, first.read("current_customers").collect())) == dump

    versions[4] = [(1, "x2", "n2"), (2, "y", "n1"), (3, "w", "n1")]
    dump[:] = [(1, "a", "n"), (2, "B", "n"), (4, "d", "n")]
    second = run_pipeline(p)
    assert [tuple(r) for r in second.read("dims").where("id = 2").orderBy(
        "__START_AT").collect()] == [
        (2, "y", "n1", 1, 2), (2, "z", "n1", 2, 3), (2, "y", "n1", 4, None)]  # back again
    assert sorted(map(tuple, second.read("current_customers").collect())) == [
        (1, "a", "n"), (2, "B", "n"), (4, "d", "n")]
    flow = second.flows["current_customers"]
    assert (flow.rows_in, flow.num_upserted_rows, flow.num_deleted_rows) == (3, 2, 1)
    stamps = second.read("current_customers")  # SCD1: no history columns
    assert stamps.columns == ["id", "name", "note"]

    third = run_pipeline(p)
    assert third.flows["dims"].status == "up_to_date"
    assert third.flows["dims"].detail == "no new snapshot"
