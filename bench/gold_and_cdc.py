"""Gold incremental refresh versus full recompute, and AUTO CDC SCD2 versus a hand-written MERGE.

Part 1 (target ratio <= 0.25): a 1,000,000-row order table with change data feed feeds gold
materialized views. After the first run, 1% of the source changes each round (recent orders
updated or deleted, new orders inserted). Two copies of the warehouse receive the same change;
one is refreshed with incremental refresh, the other with it turned off (COMPLETE_RECOMPUTE).
The two sides run in alternating order, round by round. The script prints the wall-time
ratio incremental/full per round and its median, for two sets of views measured separately:

- "decomposable": daily sales by date and region with count, sum and avg, refreshed from the
  change feed alone (GROUP_AGGREGATE);
- "reference": the reference pipeline's two views (daily sales with a distinct-customer count;
  lifetime value per customer with min/max dates). Daily sales (about 1,100 groups) is a small
  summary of its source, so the planner recomputes it in full rather than recomputing its
  changed groups (GENERIC_AGGREGATE would scan the whole source and then MERGE). Lifetime
  value (one group per ten orders, a view of about 16% of its source) is recomputed in full
  too: applying the change feed would read and rewrite per-group partials as large as the
  view, measured at twice the cost of a full recompute (GROUP_AGGREGATE rejected). So both
  sides do the same work and the ratio measures the planner's overhead.

Part 2 (target ratio <= 1.10): an SCD2 AUTO CDC target of 1,000,000 keys receives 100,000
in-order changes per round. medallion's flow (stream start, fold, one MERGE) is timed against
the textbook hand-written SCD2 Delta MERGE applying the same changes to an identical copy.

    python bench/gold_and_cdc.py [--rows 1000000] [--changes 100000] [--rounds 3] [--only gold]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import medallion
from medallion import agg
from medallion.backends.local import LocalRunner, local_session

# -- part 1: gold ---------------------------------------------------------------------------------
#: Views of each measured set, and the refresh path each must take.
VIEWS = {
    "decomposable": {"gold_region_sales": ("GROUP_AGGREGATE",)},
    "reference": {"gold_daily_sales": ("COMPLETE_RECOMPUTE",),
                  "gold_customer_ltv": ("COMPLETE_RECOMPUTE",)},
}


def gold_pipeline(rows: int, views: str) -> medallion.Pipeline:
    with medallion.Pipeline("bench_gold") as p:
        medallion.create_streaming_table("orders", change_data_feed=True)

        @medallion.append_flow(target="orders", once=True, inputs=[])
        def generated(ctx: Any) -> Any:
            return ctx.spark.range(rows).selectExpr(
                "id AS order_id",
                f"CAST(pmod(hash(id, 1), {max(rows // 10, 1)}) AS BIGINT) AS customer_id",
                "CAST(pmod(hash(id, 2), 100000) / 100.0 AS DECIMAL(10,2)) AS amount",
                "element_at(array('completed','completed','pending','cancelled'), "
                "CAST(pmod(hash(id, 3), 4) + 1 AS INT)) AS status",
                # orders arrive in time order: a day holds rows/365 consecutive ids
                f"timestamp'2024-01-01 00:00:00' + make_interval(0, 0, 0, "
                f"CAST(id * 365 / {rows} AS INT), CAST(pmod(id, 24) AS INT)) AS order_date",
                "element_at(array('US','EU','ASIA'), CAST(pmod(hash(id, 4), 3) + 1 AS INT)) "
                "AS region",
            )

        if views == "decomposable":
            medallion.gold_aggregate(
                name="gold_region_sales", source="orders", filter="status = 'completed'",
                group_by=["to_date(order_date) AS date", "region"],
                aggregations=[agg.count("order_id", alias="order_count"),
                              agg.sum("amount", alias="total_sales"),
                              agg.avg("amount", alias="avg_order_value")],
                cluster_by=["date", "region"])
            return p
        medallion.gold_aggregate(
            name="gold_daily_sales", source="orders", filter="status = 'completed'",
            group_by=["to_date(order_date) AS date", "region"],
            aggregations=[agg.count("order_id", alias="order_count"),
                          agg.sum("amount", alias="total_sales"),
                          agg.avg("amount", alias="avg_order_value"),
                          agg.count_distinct("customer_id", alias="unique_customers")],
            cluster_by=["date", "region"])
        medallion.gold_aggregate(
            name="gold_customer_ltv", source="orders", filter="status = 'completed'",
            group_by=["customer_id"],
            aggregations=[agg.count("order_id", alias="total_orders"),
                          agg.sum("amount", alias="lifetime_value"),
                          agg.min("order_date", alias="first_order_date"),
                          agg.max("order_date", alias="last_order_date"),
                          agg.avg("amount", alias="avg_order_value")],
            derived={"customer_tenure_days": "datediff(last_order_date, first_order_date)"})
    return p


def change_one_percent(spark: Any, table_path: Path, rows: int, round_no: int) -> None:
    """Update, delete and insert 1% of the orders, all among the most recent ones."""
    from delta.tables import DeltaTable

    n = max(rows // 100, 3)
    recent = max(rows // 50, n)  # the latest 2% of orders get the late updates
    changes = spark.range(n).selectExpr(
        f"CAST({rows} - 1 - pmod(hash(id, {round_no}), {recent}) AS BIGINT) AS order_id",
        "pmod(id, 3) AS kind", "id AS seq",
    ).dropDuplicates(["order_id"])
    (DeltaTable.forPath(spark, table_path.as_uri()).alias("t")
     .merge(changes.alias("s"), "t.order_id = s.order_id")
     .whenMatchedDelete(condition="s.kind = 0")
     .whenMatchedUpdate(condition="s.kind = 1", set={"status": "'completed'",
                                                      "amount": "t.amount + 1"})
     .execute())
    new = spark.range(n // 3).selectExpr(
        f"CAST({rows} + {round_no} * {rows} + id AS BIGINT) AS order_id",
        f"CAST(pmod(id, {max(rows // 10, 1)}) AS BIGINT) AS customer_id",
        "CAST(12.34 AS DECIMAL(10,2)) AS amount", "'completed' AS status",
        "timestamp'2024-12-31 12:00:00' AS order_date", "'US' AS region")
    new.write.format("delta").mode("append").save(table_path.as_uri())


def bench_gold(spark: Any, rows: int, rounds: int, root: Path, views: str) -> list[float]:
    pipeline = gold_pipeline(rows, views)
    incremental, full = root / f"incremental-{views}", root / f"full-{views}"
    LocalRunner(warehouse=incremental, spark=spark).run(pipeline)
    shutil.copytree(incremental, full)
    ratios = []
    for round_no in range(1, rounds + 1):
        for warehouse in (incremental, full):
            change_one_percent(spark, warehouse / "medallion_db" / "orders", rows, round_no)
        # the side that runs first alternates: the first run after a change pays for
        # warming up what the second one reuses (plans, the OS's file cache)
        sides = [("fast", incremental, True), ("slow", full, False)]
        timed: dict[str, tuple[Any, float]] = {}
        for side, warehouse, on in sides if round_no % 2 else reversed(sides):
            started = time.perf_counter()
            ran = LocalRunner(warehouse=warehouse, spark=spark,
                              incremental_refresh=on).run(pipeline)
            timed[side] = ran, time.perf_counter() - started
        (fast, fast_seconds), (slow, slow_seconds) = timed["fast"], timed["slow"]
        paths = {t: fast[t].refresh for t in VIEWS[views]}
        for table, refresh in paths.items():
            assert refresh in VIEWS[views][table], (table, refresh, fast[table].refresh_reason)
        assert {slow[t].refresh for t in paths} == {"COMPLETE_RECOMPUTE"}
        for table in paths:
            a = fast.read(table).exceptAll(slow.read(table)).count()
            b = slow.read(table).exceptAll(fast.read(table)).count()
            assert a == b == 0, f"{table} differs between the two paths"
        ratio = fast_seconds / slow_seconds
        ratios.append(ratio)
        print(f"  {views} round {round_no} ({', '.join(sorted(set(map(str, paths.values()))))}"
              f"): incremental {fast_seconds:6.1f}s  full "
              f"{slow_seconds:6.1f}s  ratio {ratio:.2f}")
    return ratios


# -- part 2: SCD2 ---------------------------------------------------------------------------------
def events(spark: Any, start: int, count: int, keys: int, seq_base: int) -> Any:
    return spark.range(start, start + count).selectExpr(
        f"pmod(id, {keys}) AS customer_id",
        "concat('name-', CAST(id AS STRING)) AS name",
        "element_at(array('Paris','Rome','Oslo','Lima','Kyiv'), CAST(pmod(hash(id), 5) + 1 "
        "AS INT)) AS city",
        f"CAST({seq_base} + id AS BIGINT) AS seq",
    )


def cdc_pipeline(source: str) -> medallion.Pipeline:
    with medallion.Pipeline("bench_cdc") as p:
        medallion.create_streaming_table("customers_history")
        medallion.create_auto_cdc_flow(target="customers_history", source=source,
                                       keys=["customer_id"], sequence_by="seq",
                                       except_column_list=["seq"], stored_as_scd_type=2)
    return p


def hand_written_scd2(spark: Any, target: str, changes: Any) -> None:
    """The SCD2 MERGE as Delta's documentation writes it (in-order changes, one per key)."""
    from delta.tables import DeltaTable

    current = spark.read.format("delta").load(target).where("__END_AT IS NULL")
    changed = (changes.alias("u").join(current.alias("c"), "customer_id")
               .where("u.name <> c.name OR u.city <> c.city").select("u.*"))
    staged = (changed.selectExpr("NULL AS merge_key", "*")
              .unionByName(changes.selectExpr("customer_id AS merge_key", "*")))
    (DeltaTable.forPath(spark, target).alias("t")
     .merge(staged.alias("s"), "t.customer_id = s.merge_key AND t.__END_AT IS NULL")
     .whenMatchedUpdate(condition="t.name <> s.name OR t.city <> s.city",
                        set={"__END_AT": "s.seq"})
     .whenNotMatchedInsert(values={"customer_id": "s.customer_id", "name": "s.name",
                                   "city": "s.city", "__START_AT": "s.seq",
                                   "__END_AT": "CAST(NULL AS BIGINT)"})
     .execute())


def bench_scd2(spark: Any, keys: int, changes: int, rounds: int, root: Path) -> list[float]:
    source_path = (root / "cdc_source").as_uri()
    spark.sql("CREATE SCHEMA IF NOT EXISTS bench_ext")
    spark.sql("DROP TABLE IF EXISTS bench_ext.customer_events")
    events(spark, 0, keys, keys, 0).write.format("delta").save(source_path)
    spark.sql(f"CREATE TABLE bench_ext.customer_events USING DELTA LOCATION '{source_path}'")
    pipeline = cdc_pipeline("bench_ext.customer_events")
    warehouse = root / "cdc_warehouse"
    LocalRunner(warehouse=warehouse, spark=spark).run(pipeline)
    medallion_target = warehouse / "medallion_db" / "customers_history"
    plain_target = (root / "plain_history").as_uri()
    spark.read.format("delta").load(medallion_target.as_uri()).write.format("delta").save(
        plain_target)
    ratios = []
    for round_no in range(1, rounds + 1):
        start = keys * round_no * 10
        batch = events(spark, start, changes, keys, 0)
        batch.write.format("delta").mode("append").save(source_path)
        result = LocalRunner(warehouse=warehouse, spark=spark).run(pipeline)
        ours = result.flows["customers_history"].seconds
        started = time.perf_counter()
        hand_written_scd2(spark, plain_target,
                          spark.read.format("delta").load(source_path).where(f"seq >= {start}"))
        theirs = time.perf_counter() - started
        mine = spark.read.format("delta").load(medallion_target.as_uri())
        other = spark.read.format("delta").load(plain_target)
        assert mine.exceptAll(other).count() == 0, "the SCD2 targets differ"
        assert other.exceptAll(mine).count() == 0, "the SCD2 targets differ"
        ratio = ours / theirs
        ratios.append(ratio)
        print(f"  scd2 round {round_no}: medallion {ours:6.1f}s  hand-written {theirs:6.1f}s  "
              f"ratio {ratio:.2f}")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("gold", "scd2"), help="run one part only")
    args = parser.parse_args()
    spark = local_session()
    root = Path(tempfile.mkdtemp(prefix="medallion-bench-gold-"))
    try:
        for views in VIEWS if args.only != "scd2" else ():
            print(f"gold refresh of the {views} views after a 1% change of {args.rows:,} rows "
                  "(target <= 0.25)")
            gold = bench_gold(spark, args.rows, args.rounds, root, views)
            print(f"  median ratio incremental/full ({views}): {statistics.median(gold):.2f}")
        if args.only == "gold":
            return
        print(f"SCD2 merge of {args.changes:,} changes into {args.rows:,} keys "
              "(target <= 1.10)")
        scd2 = bench_scd2(spark, args.rows, args.changes, args.rounds, root)
        print(f"  median ratio medallion/hand-written: {statistics.median(scd2):.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
