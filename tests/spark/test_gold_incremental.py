"""Incremental refresh of gold materialized views equals a full recompute (property-style).

Three seeds each drive a small source table through random appends, updates and deletes.
After every run, each gold table must equal the aggregate computed in plain Python from a
model of its source, and must have taken the incremental path its aggregates allow: deltas
from the change feed alone (GROUP_AGGREGATE) for count/sum/avg, and for min/max while their
extremes stay; the changed groups recomputed (GENERIC_AGGREGATE) otherwise. Tables that
cannot be maintained incrementally say why.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

import medallion
from medallion import agg
from medallion.backends.local.warehouse import commit_info, latest_version
from tests.spark.conftest import write_json_lines

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SEEDS = (3, 11, 42)
SCHEMA = "id BIGINT, customer_id BIGINT, region STRING, status STRING, amount DECIMAL(10,2), " \
         "ts TIMESTAMP"
Row = dict[str, Any]


def random_row(rng: random.Random, row_id: int) -> Row:
    day = dt.datetime(2024, 1, 1) + dt.timedelta(hours=rng.randrange(96))
    return {
        "id": row_id,
        "customer_id": rng.choice([1, 2, 3, 4, None]),
        "region": rng.choice(["us", "US", "eu"]),
        "status": rng.choice(["completed", "completed", "pending", "cancelled"]),
        "amount": float(Decimal(rng.randrange(100, 50000)) / 100),
        "ts": rng.choice([day.isoformat(), day.isoformat(), None]),
    }


def groups_of(rows: dict[int, Row]) -> dict[tuple[Any, str], list[Row]]:
    """The rows of each gold group: the filter and group keys below, in plain Python."""
    groups: dict[tuple[Any, str], list[Row]] = {}
    for r in rows.values():
        if r["status"] != "cancelled":
            groups.setdefault((r["customer_id"], r["region"].upper()), []).append(r)
    return groups


def expected(rows: dict[int, Row]) -> list[tuple[Any, ...]]:
    """The gold table computed in plain Python: the definition below, independently."""
    out = []
    for (customer, region), members in groups_of(rows).items():
        amounts = [Decimal(str(m["amount"])) for m in members]
        stamps = [dt.datetime.fromisoformat(m["ts"]) for m in members if m["ts"]]
        dated = sorted((dt.datetime.fromisoformat(m["ts"]), m["status"]) for m in members
                       if m["ts"])
        n = len(members)
        if n < 2:  # having
            continue
        mean = (sum(amounts) / n).quantize(Decimal("0.000001"), ROUND_HALF_UP)
        first, last = (min(stamps), max(stamps)) if stamps else (None, None)
        out.append((
            customer, region, n, len({m["status"] for m in members}), sum(amounts), mean,
            first, last, dated[-1][1] if dated else None,
            (last.date() - first.date()).days if first and last else None,
        ))
    return sorted(out, key=lambda t: (t[0] is None, t[0] or 0, t[1]))


def expected_decomposable(rows: dict[int, Row], *, extremes: bool = True,
                          having: bool = True) -> list[tuple[Any, ...]]:
    """The decomposable gold table (:func:`declare_decomposable`) in plain Python."""
    out = []
    for (customer, region), members in groups_of(rows).items():
        amounts = [Decimal(str(m["amount"])) for m in members]
        stamps = [dt.datetime.fromisoformat(m["ts"]) for m in members if m["ts"]]
        n = len(members)
        if having and n < 2:
            continue
        mean = (sum(amounts) / n).quantize(Decimal("0.000001"), ROUND_HALF_UP)
        row: tuple[Any, ...] = (customer, region, n, len(stamps), sum(amounts), mean)
        if extremes:
            first, last = (min(stamps), max(stamps)) if stamps else (None, None)
            row += (first, last, (last.date() - first.date()).days if first and last else None)
        out.append(row)
    return sorted(out, key=lambda t: (t[0] is None, t[0] or 0, t[1]))


def declare_decomposable(name: str, source: str, *, extremes: bool = True,
                         having: bool = True) -> None:
    medallion.gold_aggregate(
        name=name, source=source, filter="status != 'cancelled'",
        group_by=["customer_id", "upper(region) AS region"],
        aggregations=[
            agg.count(alias="orders"), agg.count("ts", alias="dated"),
            agg.sum("amount", alias="total"), agg.avg("amount", alias="mean"),
            *([agg.min("ts", alias="first_ts"), agg.max("ts", alias="last_ts")]
              if extremes else []),
        ],
        derived={"span_days": "datediff(last_ts, first_ts)"} if extremes else {},
        having="orders >= 2" if having else None,
    )


def source_frame(spark: Any, rows: list[Row]) -> Any:
    """The source table's rows as a DataFrame of :data:`SCHEMA`."""
    return spark.createDataFrame(
        [(r["id"], r["customer_id"], r["region"], r["status"], Decimal(str(r["amount"])),
          dt.datetime.fromisoformat(r["ts"]) if r["ts"] else None) for r in rows], SCHEMA)


def declare_seeded_orders(spark: Any, model: dict[int, Row]) -> None:
    """Declare ``orders`` (with a change data feed), seeded once with ``model``'s rows."""
    medallion.create_streaming_table("orders", change_data_feed=True)

    @medallion.append_flow(target="orders", once=True, inputs=[])
    def seed(ctx: Any) -> Any:
        return source_frame(spark, list(model.values()))


def table_bytes(spark: Any, warehouse: Path, table: str) -> int:
    """A table's size as ``DESCRIBE DETAIL`` reports it (the planner reads it elsewhere)."""
    path = warehouse / "medallion_db" / table
    return int(spark.sql(f"DESCRIBE DETAIL delta.`{path}`").first()["sizeInBytes"])


def sorted_rows(df: Any) -> list[tuple[Any, ...]]:
    return sorted((tuple(r) for r in df.collect()), key=lambda t: (t[0] is None, t[0] or 0, t[1]))


def declare_gold(name: str, source: str, **extra: Any) -> None:
    medallion.gold_aggregate(
        name=name, source=source, filter="status != 'cancelled'",
        group_by=["customer_id", "upper(region) AS region"],
        aggregations=[
            agg.count(alias="orders"), agg.count_distinct("status", alias="statuses"),
            agg.sum("amount", alias="total"), agg.avg("amount", alias="mean"),
            agg.min("ts", alias="first_ts"), agg.max("ts", alias="last_ts"),
            agg.last("status", order_by="ts", alias="last_status"),
            *extra.pop("more", ()),
        ],
        derived={"span_days": "datediff(last_ts, first_ts)"},
        having="orders >= 2",
        **extra,
    )


def test_incremental_refresh_equals_full_recompute(raw: Path, run_pipeline: Any,
                                                   medallion_spark: Any) -> None:
    from delta.tables import DeltaTable

    spark = medallion_spark
    rngs = {seed: random.Random(seed) for seed in SEEDS}
    models: dict[int, dict[int, Row]] = {}
    for seed, rng in rngs.items():
        rows = [random_row(rng, seed * 1000 + i) for i in range(30)]
        models[seed] = {r["id"]: r for r in rows}
        write_json_lines(raw / f"src_{seed}", "round-0.json", rows)
    plain = [random_row(rngs[SEEDS[0]], 9000 + i) for i in range(6)]
    write_json_lines(raw / "plain", "round-0.json", plain)

    with medallion.Pipeline("props") as p:
        for seed in SEEDS:
            medallion.bronze_autoloader(name=f"src_{seed}", path=str(raw / f"src_{seed}"),
                                        schema=SCHEMA, change_data_feed=True)
            declare_gold(f"gold_{seed}", f"src_{seed}", cluster_by=["region"])
            declare_decomposable(f"sums_{seed}", f"src_{seed}", extremes=False)
            declare_decomposable(f"extremes_{seed}", f"src_{seed}")
        # Paths that must fall back to a full recompute, and say why:
        declare_gold("gold_approx", f"src_{SEEDS[0]}",
                     more=[agg.approx_percentile("amount", 0.5, alias="p50")])
        medallion.bronze_autoloader(name="plain", path=str(raw / "plain"), schema=SCHEMA)
        declare_gold("gold_plain", "plain")
        medallion.silver_with_rules(name="src_view", source=f"src_{SEEDS[0]}",
                                    incremental=False, change_data_feed=True)
        declare_gold("gold_of_view", "src_view")

    def check(result: Any, round_no: int) -> None:
        for seed in SEEDS:
            gold = result.read(f"gold_{seed}").orderBy(
                "customer_id", "region").collect()
            got = sorted((tuple(r) for r in gold), key=lambda t: (t[0] is None, t[0] or 0, t[1]))
            assert got == expected(models[seed]), f"seed {seed}, round {round_no}"
            table = result[f"gold_{seed}"]
            assert sorted_rows(result.read(f"sums_{seed}")) == expected_decomposable(
                models[seed], extremes=False), f"sums, seed {seed}, round {round_no}"
            assert sorted_rows(result.read(f"extremes_{seed}")) == expected_decomposable(
                models[seed]), f"extremes, seed {seed}, round {round_no}"
            sums, extremes = result[f"sums_{seed}"], result[f"extremes_{seed}"]
            if round_no == 0:
                for t in (table, sums, extremes):
                    assert (t.refresh, t.refresh_reason) == ("COMPLETE_RECOMPUTE",
                                                             "first refresh")
            else:
                assert (table.refresh, table.refresh_reason) == (
                    "GENERIC_AGGREGATE",
                    "aggregate 'statuses' (count_distinct) is not decomposable"), table.notes()
                assert (sums.refresh, sums.refresh_reason) == ("GROUP_AGGREGATE", ""), (
                    seed, round_no, sums.notes())
                # Deletes and updates remove min/max values: those groups are recomputed.
                assert extremes.refresh in ("GROUP_AGGREGATE", "GENERIC_AGGREGATE")
                if extremes.refresh == "GENERIC_AGGREGATE":
                    assert extremes.refresh_reason.endswith(
                        "group(s) lost every min/max value their partials keep (the 4 most "
                        "extreme) to deletes or updates and were recomputed from the source"), \
                        extremes.refresh_reason
        assert result["gold_approx"].refresh == "COMPLETE_RECOMPUTE"

    check(run_pipeline(p), 0)

    for round_no in (1, 2, 3):
        for seed, rng in rngs.items():
            model = models[seed]
            new = [random_row(rng, seed * 1000 + 100 * round_no + i) for i in range(4)]
            write_json_lines(raw / f"src_{seed}", f"round-{round_no}.json", new)
            ids = sorted(model)
            updated = {i: {**random_row(rng, i)} for i in rng.sample(ids, 4)}
            deleted = set(rng.sample([i for i in ids if i not in updated], 3))
            changes = spark.createDataFrame(
                [(i, r["customer_id"], r["region"], r["status"], Decimal(str(r["amount"])),
                  dt.datetime.fromisoformat(r["ts"]) if r["ts"] else None, False)
                 for i, r in updated.items()] +
                [(i, None, "x", "x", Decimal(0), None, True) for i in deleted],
                SCHEMA + ", gone BOOLEAN")
            (DeltaTable.forName(spark, f"medallion_db.src_{seed}").alias("t")
             .merge(changes.alias("s"), "t.id = s.id")
             .whenMatchedDelete(condition="s.gone")
             .whenMatchedUpdate(set={c: f"s.{c}" for c in
                                     ("customer_id", "region", "status", "amount", "ts")})
             .execute())
            model.update(updated)
            for i in deleted:
                del model[i]
            model.update({r["id"]: r for r in new})
        write_json_lines(raw / "plain", f"round-{round_no}.json",
                         [random_row(rngs[SEEDS[0]], 9000 + 10 * round_no)])
        result = run_pipeline(p)
        check(result, round_no)

    approx = result["gold_approx"]
    assert approx.refresh_reason == ("aggregate 'p50' is approximate and cannot be maintained "
                                     "incrementally")
    assert result["gold_plain"].refresh_reason == "source 'plain' records no change data feed"
    assert result["gold_of_view"].refresh_reason.startswith("source 'src_view' was rewritten")
    detail = spark.sql(f"DESCRIBE DETAIL medallion_db.gold_{SEEDS[0]}").first()
    assert detail.clusteringColumns == ["region"]  # merges keep the clustering
    summary = result.summary()
    assert f"gold_{SEEDS[0]}" in summary
    assert "refresh GENERIC_AGGREGATE (aggregate 'statuses' (count_distinct) is not " \
           "decomposable)" in summary
    assert "refresh GROUP_AGGREGATE" in summary
    planned = spark.table("medallion_db.event_log").where(
        f"origin.update_id = '{result.update_id}' AND event_type = 'planning_information'"
    ).selectExpr("origin.flow_name", "get_json_object(details, "
                 "'$.planning_information.technique_information[0].maintenance_type') AS t")
    techniques = dict(map(tuple, planned.collect()))
    for seed in SEEDS:
        assert techniques.pop(f"extremes_{seed}") in ("MAINTENANCE_TYPE_GROUP_AGGREGATE",
                                                      "MAINTENANCE_TYPE_GENERIC_AGGREGATE")
    assert techniques == {
        **{f"gold_{seed}": "MAINTENANCE_TYPE_GENERIC_AGGREGATE" for seed in SEEDS},
        **{f"sums_{seed}": "MAINTENANCE_TYPE_GROUP_AGGREGATE" for seed in SEEDS},
        "gold_approx": "MAINTENANCE_TYPE_COMPLETE_RECOMPUTE",
        "gold_plain": "MAINTENANCE_TYPE_COMPLETE_RECOMPUTE",
        "gold_of_view": "MAINTENANCE_TYPE_COMPLETE_RECOMPUTE",
    }


def test_group_aggregate_reads_only_the_change_feed(run_pipeline: Any, medallion_warehouse: Path,
                                                    medallion_spark: Any, tmp_path: Path) -> None:
    """The delta path never scans the source: it succeeds with the source's data files gone."""
    from delta.tables import DeltaTable

    spark = medallion_spark
    rng = random.Random(7)
    model = {i: random_row(rng, i) for i in range(40)}

    def frame(rows: list[Row]) -> Any:
        return source_frame(spark, rows)

    def pipeline(*, extremes: bool) -> medallion.Pipeline:
        with medallion.Pipeline("no_scan") as p:
            medallion.create_streaming_table("orders", change_data_feed=True)

            @medallion.append_flow(target="orders", once=True, inputs=[])
            def seed(ctx: Any) -> Any:
                return frame(list(model.values()))

            declare_decomposable("sums", "orders", extremes=False)
            # without having, the view is rewritten from the partials instead of MERGEd
            declare_decomposable("all_sums", "orders", extremes=False, having=False)
            if extremes:  # min/max stay exact under appends
                declare_decomposable("extremes", "orders")
        return p

    p = pipeline(extremes=True)
    first = run_pipeline(p)
    assert sorted_rows(first.read("sums")) == expected_decomposable(model, extremes=False)
    source = medallion_warehouse / "medallion_db" / "orders"
    scanned = {f for f in source.rglob("*.parquet") if "_delta_log" not in f.parts}
    assert scanned

    # 1. Appends only: both tables apply deltas.
    new = [random_row(rng, 100 + i) for i in range(6)]
    frame(new).write.format("delta").mode("append").save(source.as_uri())
    model.update({r["id"]: r for r in new})
    hidden = tmp_path / "hidden"
    hidden.mkdir()

    def run_without_old_files() -> Any:
        for f in scanned:
            f.rename(hidden / f.name)
        try:
            with pytest.raises(Exception, match=r"(?i)not exist|FileNotFound|FAILED_READ_FILE"):
                # a scan would fail (count() alone is answered from the log's statistics)
                spark.read.format("delta").load(source.as_uri()).agg({"amount": "sum"}).collect()
            return run_pipeline(p)
        finally:
            for f in scanned:
                (hidden / f.name).rename(f)

    second = run_without_old_files()
    for name in ("sums", "all_sums", "extremes"):
        assert (second[name].refresh, second[name].refresh_reason) == ("GROUP_AGGREGATE", "")
    assert sorted_rows(second.read("sums")) == expected_decomposable(model, extremes=False)
    assert sorted_rows(second.read("all_sums")) == expected_decomposable(
        model, extremes=False, having=False)
    # rewritten (one overwrite), not MERGEd; it reports the changed groups it holds as
    # upserted, and none left it
    view = medallion_warehouse / "medallion_db" / "all_sums"
    assert commit_info(view, latest_version(view) or 0)["operation"] == "WRITE"
    touched = {(r["customer_id"], r["region"].upper()) for r in new if r["status"] != "cancelled"}
    assert (second["all_sums"].num_upserted_rows, second["all_sums"].num_deleted_rows) == (
        len(touched), 0)
    assert sorted_rows(second.read("extremes")) == expected_decomposable(model)

    # 2. Updates and deletes through a MERGE: count/sum/avg still from the change feed alone.
    ids = sorted(model)
    updated = {i: random_row(rng, i) for i in ids[:5]}
    deleted = set(ids[5:9])
    changes = spark.createDataFrame(
        [(i, r["customer_id"], r["region"], r["status"], Decimal(str(r["amount"])),
          dt.datetime.fromisoformat(r["ts"]) if r["ts"] else None, False)
         for i, r in updated.items()] +
        [(i, None, "x", "x", Decimal(0), None, True) for i in deleted],
        SCHEMA + ", gone BOOLEAN")
    (DeltaTable.forPath(spark, source.as_uri()).alias("t")
     .merge(changes.alias("s"), "t.id = s.id")
     .whenMatchedDelete(condition="s.gone")
     .whenMatchedUpdate(set={c: f"s.{c}" for c in
                             ("customer_id", "region", "status", "amount", "ts")})
     .execute())
    before = dict(model)
    model.update(updated)
    for i in deleted:
        del model[i]
    # the groups the change feed touches: pre-images, post-images and deleted rows that pass
    # the filter
    changed = {(r["customer_id"], r["region"].upper())
               for r in [*(before[i] for i in (*updated, *deleted)), *updated.values()]
               if r["status"] != "cancelled"}
    had, has = set(groups_of(before)), set(groups_of(model))
    scanned = {f for f in source.rglob("*.parquet")
               if "_delta_log" not in f.parts and "_change_data" not in f.parts}
    p = pipeline(extremes=False)  # min/max after deletes read the source (tested above)
    third = run_without_old_files()
    assert (third["sums"].refresh, third["sums"].refresh_reason) == ("GROUP_AGGREGATE", "")
    assert sorted_rows(third.read("sums")) == expected_decomposable(model, extremes=False)
    assert (third["all_sums"].refresh, third["all_sums"].refresh_reason) == (
        "GROUP_AGGREGATE", "")
    assert sorted_rows(third.read("all_sums")) == expected_decomposable(
        model, extremes=False, having=False)
    assert (third["all_sums"].num_upserted_rows, third["all_sums"].num_deleted_rows) == (
        len(changed & has), len((changed & had) - has))


def test_partials_are_one_snapshot_named_by_the_state_record(
        run_pipeline: Any, medallion_warehouse: Path, medallion_spark: Any) -> None:
    """Each refresh writes a new Parquet snapshot of the partials and keeps only the one the
    view's state record names; an interrupted refresh's leftover is deleted, and a lost
    snapshot makes the next run recompute in full (never apply deltas to nothing)."""
    import json

    spark = medallion_spark
    rng = random.Random(5)
    model = {i: random_row(rng, i) for i in range(30)}

    def frame(rows: list[Row]) -> Any:
        return source_frame(spark, rows)

    with medallion.Pipeline("snapshots") as p:
        medallion.create_streaming_table("orders", change_data_feed=True)

        @medallion.append_flow(target="orders", once=True, inputs=[])
        def seed(ctx: Any) -> Any:
            return frame(list(model.values()))

        declare_decomposable("sums", "orders", extremes=False, having=False)

    folder = medallion_warehouse / "_system" / "aggregates" / "medallion_db" / "sums"
    state_file = medallion_warehouse / "_system" / "state" / "medallion_db" / "sums.json"
    source = medallion_warehouse / "medallion_db" / "orders"

    def snapshot() -> str:
        record = json.loads(state_file.read_text())["aggregate_state"]
        return str(record["snapshot"])

    def append(n: int) -> None:
        new = [random_row(rng, 1000 + len(model) + i) for i in range(n)]
        frame(new).write.format("delta").mode("append").save(source.as_uri())
        model.update({r["id"]: r for r in new})

    first = run_pipeline(p)
    assert first["sums"].refresh == "COMPLETE_RECOMPUTE"
    assert [e.name for e in folder.iterdir()] == [snapshot()]
    assert (folder / snapshot() / "_SUCCESS").is_file()
    before = snapshot()

    append(4)
    (folder / "leftover").mkdir()  # what a refresh killed after writing a snapshot leaves
    second = run_pipeline(p)
    assert (second["sums"].refresh, second["sums"].refresh_reason) == ("GROUP_AGGREGATE", "")
    assert snapshot() != before
    assert [e.name for e in folder.iterdir()] == [snapshot()]
    assert sorted_rows(second.read("sums")) == expected_decomposable(
        model, extremes=False, having=False)
    # the snapshot holds exactly the groups of the view, with their row counts
    partials = spark.read.parquet((folder / snapshot()).as_uri())
    assert partials.count() == len(groups_of(model))
    assert sorted(r[0] for r in partials.select("__medallion_rows").collect()) == sorted(
        len(m) for m in groups_of(model).values())

    append(3)
    import shutil

    shutil.rmtree(folder / snapshot())
    third = run_pipeline(p)
    assert (third["sums"].refresh, third["sums"].refresh_reason) == (
        "COMPLETE_RECOMPUTE", "the per-group partials kept beside the view are missing")
    assert sorted_rows(third.read("sums")) == expected_decomposable(
        model, extremes=False, having=False)
    assert [e.name for e in folder.iterdir()] == [snapshot()]


def test_small_view_is_recomputed_when_its_changed_groups_would_scan_the_source(
        run_pipeline: Any, medallion_warehouse: Path, medallion_spark: Any) -> None:
    """The cost-based choice: recomputing a non-decomposable view's changed groups reads the
    whole source and then MERGEs, so a view that is a small summary of its source is
    recomputed in full instead, and the planning information says which technique was
    weighed and why; a view as large as its source still has its changed groups MERGEd."""
    import json

    from chispa import assert_df_equality
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    spark = medallion_spark
    rng = random.Random(8)
    model = {i: random_row(rng, i) for i in range(8000)}

    with medallion.Pipeline("costed") as p:
        declare_seeded_orders(spark, model)

        declare_gold("summary", "orders")  # about ten groups over 8,000 rows
        medallion.gold_aggregate(
            name="per_order", source="orders", group_by=["id"],
            aggregations=[agg.count_distinct("status", alias="statuses"),
                          agg.sum("amount", alias="total")])

    source = medallion_warehouse / "medallion_db" / "orders"

    def size(table: str) -> int:
        return table_bytes(spark, medallion_warehouse, table)

    first = run_pipeline(p)
    assert first["summary"].refresh == first["per_order"].refresh == "COMPLETE_RECOMPUTE"

    updated = {i: {**random_row(rng, i)} for i in rng.sample(sorted(model), 20)}
    (DeltaTable.forPath(spark, source.as_uri()).alias("t")
     .merge(source_frame(spark, list(updated.values())).alias("s"), "t.id = s.id")
     .whenMatchedUpdateAll().execute())
    model.update(updated)
    view_bytes, source_bytes = size("summary"), size("orders")
    assert view_bytes <= source_bytes * 0.10 < size("per_order")

    second = run_pipeline(p)
    summary, per_order = second["summary"], second["per_order"]
    kib = source_bytes / 1024
    assert (summary.refresh, summary.refresh_reason, summary.refresh_rejected) == (
        "COMPLETE_RECOMPUTE",
        f"recomputing the changed groups would scan all of source 'orders' ({kib:.1f} KiB) "
        f"and then MERGE into a view of {view_bytes / 1024:.1f} KiB, at most 10% of it: a "
        "full recompute is cheaper", "GENERIC_AGGREGATE"), summary.refresh_reason
    assert sorted_rows(second.read("summary")) == expected(model)
    assert (per_order.refresh, per_order.refresh_reason, per_order.refresh_rejected) == (
        "GENERIC_AGGREGATE", "aggregate 'statuses' (count_distinct) is not decomposable", None)
    assert per_order.num_upserted_rows == 20
    rows = spark.read.format("delta").load(source.as_uri())
    assert_df_equality(
        second.read("per_order"),
        rows.groupBy("id").agg(F.count_distinct("status").alias("statuses"),
                               F.sum("amount").alias("total")),
        ignore_row_order=True, ignore_nullable=True)

    planned = spark.table("medallion_db.event_log").where(
        f"origin.update_id = '{second.update_id}' AND event_type = 'planning_information' "
        "AND origin.flow_name = 'summary'").select("details").first()
    techniques = json.loads(planned["details"])["planning_information"]["technique_information"]
    assert techniques == [
        {"maintenance_type": "MAINTENANCE_TYPE_COMPLETE_RECOMPUTE", "is_chosen": True,
         "is_applicable": True, "reason": summary.refresh_reason},
        {"maintenance_type": "MAINTENANCE_TYPE_GENERIC_AGGREGATE", "is_chosen": False,
         "is_applicable": True, "reason": "costlier than the chosen technique"},
    ]


def test_min_max_survive_deletes_of_their_extremes_from_the_change_feed_alone(
        run_pipeline: Any, medallion_warehouse: Path, medallion_spark: Any,
        tmp_path: Path) -> None:
    """The partials keep each group's most extreme values (``EXTREMES_KEPT``), so deleting a
    group's min or max takes the next one from them without reading the source; only a group
    whose kept values are all deleted is recomputed from the source, which fills its lists."""
    import json

    from delta.tables import DeltaTable

    from medallion.core.gold_state import EXTREMES_KEPT

    assert EXTREMES_KEPT == 4
    spark = medallion_spark

    def row(i: int, customer: int, hour: float, status: str = "completed") -> Row:
        ts = dt.datetime(2024, 1, 1) + dt.timedelta(hours=hour)
        return {"id": i, "customer_id": customer, "region": "us", "status": status,
                "amount": float(10 + i), "ts": ts.isoformat()}

    # customer 1: six dated orders (hours 1..6) and one undated; customer 2: two orders
    model = {i: row(i, 1, i) for i in range(1, 7)}
    model[7] = {**row(7, 1, 0), "ts": None}
    model.update({8: row(8, 2, 10), 9: row(9, 2, 20)})

    with medallion.Pipeline("extremes") as p:
        declare_seeded_orders(spark, model)

        declare_decomposable("extremes", "orders", having=False)

    source = medallion_warehouse / "medallion_db" / "orders"
    state_file = medallion_warehouse / "_system" / "state" / "medallion_db" / "extremes.json"
    folder = medallion_warehouse / "_system" / "aggregates" / "medallion_db" / "extremes"

    def kept(customer: int) -> tuple[list[dt.datetime], list[dt.datetime]]:
        """The partials' top lists of ``min(ts)`` and ``max(ts)`` for ``customer``."""
        snapshot = json.loads(state_file.read_text())["aggregate_state"]["snapshot"]
        partials = spark.read.parquet((folder / snapshot).as_uri())
        found = partials.where(f"`__medallion_key_customer_id` = {customer}").first()
        return list(found["__medallion_p4_t"]), list(found["__medallion_p5_t"])

    def hours(*values: float) -> list[dt.datetime]:
        return [dt.datetime(2024, 1, 1) + dt.timedelta(hours=h) for h in values]

    def change(*, delete: tuple[int, ...] = (), update: tuple[int, ...] = (),
               insert: tuple[Row, ...] = ()) -> None:
        if delete or update:
            ids = ", ".join(map(str, (*delete, *update)))
            gone = ", ".join(map(str, delete)) or "-1"
            (DeltaTable.forPath(spark, source.as_uri()).alias("t")
             .merge(spark.sql(f"SELECT explode(array({ids})) AS id").alias("s"), "t.id = s.id")
             .whenMatchedDelete(condition=f"s.id IN ({gone})")
             .whenMatchedUpdate(set={"amount": "t.amount + 1"}).execute())
            for i in delete:
                del model[i]
            for i in update:
                model[i] = {**model[i], "amount": model[i]["amount"] + 1}
        if insert:
            source_frame(spark, list(insert)).write.format("delta").mode("append").save(
                source.as_uri())
            model.update({r["id"]: r for r in insert})

    def data_files() -> set[Path]:
        return {f for f in source.rglob("*.parquet")
                if "_delta_log" not in f.parts and "_change_data" not in f.parts}

    def without_source_files(files: set[Path]) -> Any:
        """Run with the source's data files from before the change moved away: a scan of the
        source would fail (the change feed reads the appended files and `_change_data`)."""
        hidden = tmp_path / "hidden"
        hidden.mkdir(exist_ok=True)
        for f in files:
            f.rename(hidden / f.name)
        try:
            return run_pipeline(p)
        finally:
            for f in files:
                (hidden / f.name).rename(f)

    reason = ("1 group(s) lost every min/max value their partials keep (the 4 most extreme) "
              "to deletes or updates and were recomputed from the source")
    first = run_pipeline(p)
    assert first["extremes"].refresh == "COMPLETE_RECOMPUTE"
    # a full recompute keeps the extreme value alone (finding more would sort the source)
    assert kept(1) == (hours(1), hours(6))
    assert kept(2) == (hours(10), hours(20))

    # 1. Delete customer 1's last order: its max list empties, so that group alone is
    # recomputed from the source, which fills its lists.
    change(delete=(6,))
    second = run_pipeline(p)
    assert (second["extremes"].refresh, second["extremes"].refresh_reason) == (
        "GENERIC_AGGREGATE", reason)
    assert sorted_rows(second.read("extremes")) == expected_decomposable(model, having=False)
    assert kept(1) == (hours(1, 2, 3, 4), hours(5, 4, 3, 2))
    assert kept(2) == (hours(10), hours(20))
    assert second["extremes"].rows_in == 1  # the MERGE's deleted row, not the ones it copied

    # 2. Delete customer 1's first and last orders: the next ones come from the lists, and the
    # source is not read.
    older = data_files()
    change(delete=(1, 5))
    third = without_source_files(older)
    assert (third["extremes"].refresh, third["extremes"].refresh_reason) == (
        "GROUP_AGGREGATE", "")
    assert sorted_rows(third.read("extremes")) == expected_decomposable(model, having=False)
    assert kept(1) == (hours(2, 3, 4), hours(4, 3, 2))  # now all of its values

    # 3. An update that keeps a value (its pre-image removes it, its post-image adds it back),
    # new values for customer 1 (all admitted: its lists hold every value), and for customer 2
    # a new max replacing the deleted one, while its new value is not admitted to the min list
    # (that list is incomplete: a value between could exist). The lists take the admitted
    # values, keep the most extreme four, then lose one copy per removed value.
    older = data_files()
    change(delete=(9,), update=(4,), insert=(row(20, 1, 8), row(21, 1, 2.5), row(22, 2, 25)))
    fourth = without_source_files(older)
    assert (fourth["extremes"].refresh, fourth["extremes"].refresh_reason) == (
        "GROUP_AGGREGATE", "")
    assert sorted_rows(fourth.read("extremes")) == expected_decomposable(model, having=False)
    assert kept(1) == (hours(2, 2.5, 3), hours(8, 4, 3))
    assert kept(2) == (hours(10), hours(25))
    assert fourth["extremes"].rows_in == 5  # 1 deleted and 1 updated by the MERGE, 3 appended

    # 4. Delete every value customer 1's max list keeps: only that group is recomputed.
    change(delete=(20, 4, 3))
    fifth = run_pipeline(p)
    assert (fifth["extremes"].refresh, fifth["extremes"].refresh_reason) == (
        "GENERIC_AGGREGATE", reason)
    assert sorted_rows(fifth.read("extremes")) == expected_decomposable(model, having=False)
    assert kept(1) == (hours(2, 2.5), hours(2.5, 2))


def test_view_as_large_as_its_source_is_recomputed_rather_than_maintained_by_deltas(
        run_pipeline: Any, medallion_warehouse: Path, medallion_spark: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The cost-based choice for decomposable views: applying deltas reads and rewrites
    partials as large as the view, so a view large beside its source is recomputed in full
    and keeps no partials (every refresh, not every other one); once the sizes favour the
    deltas again, a recompute writes the partials and the next refresh applies deltas."""
    import json

    from chispa import assert_df_equality
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    from medallion.backends.local.flows import gold

    monkeypatch.setattr(gold, "WEIGHED_SOURCE", 0)  # weigh this small source too
    spark = medallion_spark
    rng = random.Random(9)
    # large enough that the Parquet files' fixed overhead does not decide the sizes: the
    # per-order view is as large as its source, the per-customer one a few percent of it
    model = {i: random_row(rng, i) for i in range(8000)}

    with medallion.Pipeline("weighed") as p:
        declare_seeded_orders(spark, model)

        medallion.gold_aggregate(
            name="per_order", source="orders", group_by=["id"],
            aggregations=[agg.count(alias="n"), agg.sum("amount", alias="total"),
                          agg.max("ts", alias="last_ts")])
        declare_decomposable("sums", "orders", extremes=False, having=False)

    source = medallion_warehouse / "medallion_db" / "orders"
    partials = medallion_warehouse / "_system" / "aggregates" / "medallion_db" / "per_order"
    state_file = medallion_warehouse / "_system" / "state" / "medallion_db" / "per_order.json"

    def size(table: str) -> int:
        return table_bytes(spark, medallion_warehouse, table)

    def update(n: int) -> None:
        updated = {i: {**model[i], "amount": model[i]["amount"] + 1}
                   for i in rng.sample(sorted(model), n)}
        (DeltaTable.forPath(spark, source.as_uri()).alias("t")
         .merge(source_frame(spark, list(updated.values())).alias("s"), "t.id = s.id")
         .whenMatchedUpdateAll().execute())
        model.update(updated)

    def check(result: Any) -> None:
        rows = spark.read.format("delta").load(source.as_uri())
        assert_df_equality(
            result.read("per_order"),
            rows.groupBy("id").agg(F.count(F.lit(1)).alias("n"), F.sum("amount").alias("total"),
                                   F.max("ts").alias("last_ts")),
            ignore_row_order=True, ignore_nullable=True)
        assert sorted_rows(result.read("sums")) == expected_decomposable(
            model, extremes=False, having=False)

    first = run_pipeline(p)
    assert first["per_order"].refresh_reason == "first refresh"
    assert (partials / json.loads(state_file.read_text())["aggregate_state"]["snapshot"]).is_dir()

    for _ in range(2):  # rejected on every refresh: the partials are not kept in between
        update(5)
        view_bytes, source_bytes = size("per_order"), size("orders")
        assert view_bytes > source_bytes * gold.LARGE_VIEW
        result = run_pipeline(p)
        per_order, sums = result["per_order"], result["sums"]
        assert (per_order.refresh, per_order.refresh_reason, per_order.refresh_rejected) == (
            "COMPLETE_RECOMPUTE",
            "applying the changes would read and rewrite per-group partials about as large as "
            f"the view ({view_bytes / 1024:.1f} KiB), more than 10% of source 'orders' "
            f"({source_bytes / 1024:.1f} KiB): a full recompute is cheaper", "GROUP_AGGREGATE")
        assert (sums.refresh, sums.refresh_reason, sums.refresh_rejected) == (
            "GROUP_AGGREGATE", "", None)
        assert json.loads(state_file.read_text())["aggregate_state"] is None
        assert not partials.is_dir() or not any(partials.iterdir())
        check(result)

    planned = spark.table("medallion_db.event_log").where(
        f"origin.update_id = '{result.update_id}' AND event_type = 'planning_information' "
        "AND origin.flow_name = 'per_order'").select("details").first()
    techniques = json.loads(planned["details"])["planning_information"]["technique_information"]
    assert [(t["maintenance_type"], t["is_chosen"]) for t in techniques] == [
        ("MAINTENANCE_TYPE_COMPLETE_RECOMPUTE", True),
        ("MAINTENANCE_TYPE_GROUP_AGGREGATE", False)]

    # The sizes favour deltas again: the recompute keeps partials, then deltas apply.
    monkeypatch.setattr(gold, "LARGE_VIEW", 100.0)
    update(5)
    kept = run_pipeline(p)
    assert (kept["per_order"].refresh, kept["per_order"].refresh_reason) == (
        "COMPLETE_RECOMPUTE", "no per-group partials were kept")
    assert json.loads(state_file.read_text())["aggregate_state"] is not None
    check(kept)
    update(5)
    applied = run_pipeline(p)
    assert (applied["per_order"].refresh, applied["per_order"].refresh_reason) == (
        "GROUP_AGGREGATE", "")
    assert applied["per_order"].num_upserted_rows == 5
    check(applied)
