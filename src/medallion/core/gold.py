"""What a gold table IS: filter → group → aggregate → derived columns → having."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medallion.specs.gold import GoldSpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def aggregate(df: DataFrame, spec: GoldSpec) -> DataFrame:
    """Build the gold DataFrame from its source DataFrame."""
    from pyspark.sql import functions as F

    if spec.filter:
        df = df.where(F.expr(spec.filter))
    aggregates = [F.expr(a.sql()).alias(a.alias) for a in spec.aggregations]
    if spec.group_by:
        keys = [F.expr(k.expression).alias(k.alias) for k in spec.group_by]
        out = df.groupBy(*keys).agg(*aggregates)
    else:
        out = df.agg(*aggregates)
    for column, expression in spec.derived.items():
        out = out.withColumn(column, F.expr(expression))
    if spec.having:
        out = out.where(F.expr(spec.having))
    return out
