"""The pieces under AUTO CDC: idempotent MERGE per batch, and the order-free event folds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from medallion.backends.local import merge
from medallion.backends.local.delta import Target
from medallion.core import cdc
from medallion.specs.cdc import AutoCdcSpec

pytestmark = pytest.mark.spark

SPEC = AutoCdcSpec(name="f", target="t", source="s", keys=("id",), sequence_by="seq",
                   apply_as_deletes="op = 'D'", except_column_list=("op",),
                   stored_as_scd_type=2)


def test_a_replayed_batch_merge_commits_nothing(medallion_spark: Any, tmp_path: Path) -> None:
    spark = medallion_spark
    target = Target("medallion_db", "t", tmp_path / "t")
    spark.createDataFrame([(1, "a")], "id BIGINT, v STRING").write.format("delta").save(
        target.uri)
    source = spark.createDataFrame([(1, "b"), (2, "c")], "id BIGINT, v STRING")

    def run_batch() -> tuple[int, int]:
        before = target.version()
        with merge.idempotent(spark, ("app-1", 7)):
            (merge.table(spark, target).merge(source.alias("s"), "t.id = s.id")
             .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())
        return merge.change_counts(target, before)

    assert run_batch() == (2, 0)
    assert run_batch() == (0, 0)  # same (app id, batch id): skipped by Delta
    assert target.version() == 1
    assert spark.conf.get("spark.databricks.delta.write.txnAppId", None) is None
    rows = sorted(map(tuple, spark.read.format("delta").load(target.uri).collect()))
    assert rows == [(1, "b"), (2, "c")]


def test_folds_do_not_depend_on_arrival_order(medallion_spark: Any) -> None:
    spark = medallion_spark
    schema = "id BIGINT, v STRING, note STRING, op STRING, seq BIGINT"
    rows = [
        (1, "a", "x", "U", 10), (1, "b", "x", "U", 20), (1, "b", "y", "U", 30),
        (1, "z", "x", "D", 40), (1, "c", "x", "U", 50),
        (2, "p", "x", "U", 10), (2, "q", "x", "U", 10),  # same key and sequence: a tie
        (3, "m", "x", "U", 5), (3, "m", "x", "D", 5),  # the delete wins its tie
    ]

    def versions(order: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        events = cdc.dedupe(cdc.events(spark.createDataFrame(order, schema), SPEC), ("id",))
        folded = cdc.scd2_versions(events.selectExpr("*", "false AS __medallion_current"),
                                   SPEC, ("v", "note"), ("v",))
        return sorted(tuple(r) for r in folded.drop(cdc.CURRENT).collect())

    forward = versions(rows)
    assert forward == versions(list(reversed(rows)))
    assert [r for r in forward if r[0] == 1] == [
        (1, "a", "x", 10, 20),
        (1, "b", "y", 20, 40),  # note is untracked: updated in place, closed by the delete
        (1, "c", "x", 50, None),
    ]
    assert [r[0] for r in forward].count(2) == 1  # one of p / q, the same whatever the order
    assert 3 not in [r[0] for r in forward]

    state = cdc.scd1_state(cdc.dedupe(cdc.events(spark.createDataFrame(rows, schema), SPEC),
                                      ("id",)), SPEC, ("v", "note"), merge_nulls=False)
    assert sorted((r.id, r[cdc.OP]) for r in state.collect()) == [
        (1, "upsert"), (2, "upsert"), (3, "delete")]
