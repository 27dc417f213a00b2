"""core/ builds every plan without making Spark analyse it (so it works under Spark Connect).

A proxy DataFrame forwards the methods core may use and fails on the ones Spark Connect's
planner always analyses (``drop``, ``dropDuplicates`` with a subset) or that ask for analysis
outright (``columns``, ``schema``...). Every core function runs on it, with a spec that exercises
each of its branches. (``withColumn(s)``/``withColumnsRenamed`` are analysed only when their
input resolves; the spark-pipelines backend's reading views make sure it never does, which its
end-to-end test's second run checks.)
"""

from __future__ import annotations

from typing import Any

import pytest

from medallion import Join, Rule, agg
from medallion.core import bronze, gold, silver
from medallion.core.rules import RuleSet
from medallion.specs import BronzeSpec, GoldSpec, SilverSpec

pytestmark = pytest.mark.spark

ALLOWED = {"select", "where", "filter", "join", "groupBy", "agg", "alias", "observe",
           "selectExpr", "unionByName", "limit", "withColumn", "withColumns",
           "withColumnsRenamed"}
FORBIDDEN = {"drop", "dropDuplicates", "columns", "schema", "dtypes", "isStreaming", "collect",
             "count", "toPandas", "first", "head", "take", "printSchema", "explain"}


class Lazy:
    """Wraps a DataFrame (or GroupedData); fails the test on any eager method."""

    def __init__(self, target: Any, used: set[str]) -> None:
        self._target = target
        self._used = used

    def __getattr__(self, name: str) -> Any:
        if name in FORBIDDEN:
            pytest.fail(f"core called DataFrame.{name}, which Spark Connect analyses eagerly")
        if name not in ALLOWED:
            pytest.fail(f"core called DataFrame.{name}: add it to ALLOWED only if lazy")
        self._used.add(name)
        method = getattr(self._target, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            args = tuple(a._target if isinstance(a, Lazy) else a for a in args)
            result = method(*args, **kwargs)
            kind = type(result).__name__
            return Lazy(result, self._used) if kind in ("DataFrame", "GroupedData") else result

        return call

    def __getitem__(self, item: Any) -> Any:  # pragma: no cover - core does not index
        pytest.fail("core indexed a DataFrame (df['col'] resolves against its schema)")


def test_every_core_function_builds_plans_lazily(medallion_spark: Any) -> None:
    used: set[str] = set()
    raw = medallion_spark.createDataFrame(
        [("1", "10", "5.5", "ok", "x")],
        "id STRING, cust STRING, amount STRING, status STRING, f STRING")
    df = Lazy(raw, used)

    spec = SilverSpec(
        name="s", source="b", renames={"cust": "customer_id"},
        casts={"id": "bigint", "amount": "double"},
        derived={"big": "amount > 1", "bigger": "big AND amount > 2"},
        select=["id", "customer_id", "amount", "status", "big", "bigger"],
        rules=[Rule(name="has_id", condition="id IS NOT NULL", action="drop"),
               Rule(name="ok", condition="status = 'ok'", action="fail"),
               Rule(name="amount", condition="amount > 0")],
        quarantine=True, dedup_keys=["id"], dedup_order_by="amount",
        joins=[Join(table="c", on=["customer_id"], columns=["segment"])],
    )
    other = Lazy(medallion_spark.createDataFrame([("10", "gold")],
                                                 "customer_id STRING, segment STRING"), used)
    rules = RuleSet("s", spec.rules)
    prepared = silver.prepare(df, spec)
    annotated = rules.enforce(rules.annotate(prepared))
    kept = rules.kept(annotated, silver.helper_columns(spec))
    kept = silver.dedup(kept, spec.dedup_keys, spec.dedup_order_by, keep=~rules.accepts())
    out = silver.enrich(kept, spec, lambda name: other)
    quarantined = rules.quarantined(annotated, source_row=True)
    gold_out = gold.aggregate(out, GoldSpec(
        name="g", source="s", filter="big", group_by=["status"],
        aggregations=[agg.count(alias="n"), agg.sum("amount", alias="total")],
        derived={"avg": "total / n", "double_avg": "avg * 2"}, having="n > 0"))
    landed = bronze.add_metadata(df, BronzeSpec(
        name="b", path="/x", metadata_columns={"at": "ingestion_time"}))
    assert {"select", "where", "join", "groupBy", "agg"} <= used

    # and the plans are right (this part may analyse: it is the test, not core)
    assert isinstance(out, Lazy)
    assert isinstance(quarantined, Lazy)
    assert out._target.columns == ["customer_id", "id", "amount", "status", "big", "bigger",
                                   "segment"]  # the join key first; select ordered the rest
    assert [tuple(r) for r in out._target.collect()] == [
        ("10", 1, 5.5, "ok", True, True, "gold")]
    assert quarantined._target.count() == 0
    assert gold_out._target.columns == ["status", "n", "total", "avg", "double_avg"]
    assert [tuple(r) for r in gold_out._target.select("status", "n", "double_avg").collect()] \
        == [("ok", 1, 11.0)]
    assert landed._target.columns == ["id", "cust", "amount", "status", "f", "at"]


def test_a_fail_rule_stops_the_query_even_on_a_row_a_drop_rule_removes(
    medallion_spark: Any,
) -> None:
    """What spark-pipelines runs in place of expect_or_fail: the guard sees every row."""
    from medallion.core.rules import find_violation

    df = medallion_spark.createDataFrame(
        [(1, "ok"), (None, "bad")], "id BIGINT, status STRING")
    rules = RuleSet("orders", (Rule(name="has_id", condition="id IS NOT NULL", action="drop"),
                               Rule(name="ok", condition="status = 'ok'", action="fail")))
    annotated = rules.enforce(rules.annotate(df))
    for plan in (rules.kept(annotated), rules.quarantined(annotated)):
        with pytest.raises(Exception) as caught:  # noqa: PT011 - a Spark job error
            plan.collect()
        violation = find_violation(str(caught.value))
        assert violation is not None
        assert (violation.table, violation.rules, violation.row) == (
            "orders", ("ok",), '{"id":null,"status":"bad"}')  # NULL fields kept
    good = df.where("status = 'ok'")
    assert [tuple(r) for r in rules.kept(rules.enforce(rules.annotate(good))).collect()] == [
        (1, "ok")]
