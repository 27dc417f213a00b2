"""What a gold table IS: filter → group (keys, event-time window) → aggregate → derived → having.

The same steps serve a full recompute, the incremental refresh of a materialized view (only
the groups whose source rows changed) and the windowed streaming aggregate, so the three give
identical rows for the same input. Functions only build plans (no ``.columns``/``.schema``).
"""

from __future__ import annotations

import re
from functools import reduce
from typing import TYPE_CHECKING

from medallion.specs.gold import GoldSpec
from medallion.specs.sqlexpr import quote_identifier

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

KEY_PREFIX = "__medallion_key_"
#: Boolean column of :func:`refresh_groups`: the group exists and passes ``having``.
KEEP = "__medallion_keep"
_UNITS = {"microsecond": 1, "millisecond": 1_000, "second": 1_000_000, "minute": 60_000_000,
          "hour": 3_600_000_000, "day": 86_400_000_000, "week": 604_800_000_000}



#: Backtick-quote a column name for SQL text (:func:`~medallion.specs.sqlexpr.quote_identifier`).
quote = quote_identifier


def hidden(name: str) -> str:
    """The hidden column carrying output key ``name`` while grouping."""
    return KEY_PREFIX + name


def with_keys(df: DataFrame, spec: GoldSpec) -> DataFrame:
    """Apply the filter and add one hidden column per group key (window start/end included).

    The source columns stay, so aggregates can be computed from the result.
    """
    from pyspark.sql import functions as F

    if spec.filter:
        df = df.where(F.expr(spec.filter))
    keys: dict[str, Column] = {}
    if spec.window is not None:
        window = F.window(F.col(quote(spec.window.column)), spec.window.duration)
        keys[hidden(spec.window.start)] = window["start"]
        keys[hidden(spec.window.end)] = window["end"]
    for key in spec.group_by:
        keys[hidden(key.alias)] = F.expr(key.expression)
    return df.withColumns(keys) if keys else df


def key_names(spec: GoldSpec) -> tuple[str, ...]:
    """Hidden key columns :func:`with_keys` adds (window start and end, then the keys)."""
    window = (spec.window.start, spec.window.end) if spec.window is not None else ()
    return tuple(hidden(k) for k in (*window, *(k.alias for k in spec.group_by)))


def aggregate_keyed(keyed: DataFrame, spec: GoldSpec, *, keep_flag: bool = False) -> DataFrame:
    """Group rows from :func:`with_keys` and compute aggregates and derived columns.

    With ``keep_flag`` the ``having`` condition becomes the :data:`KEEP` column instead of a
    filter, so a caller merging groups can delete those that no longer qualify.
    """
    from pyspark.sql import functions as F

    aggregates = [F.expr(a.sql()).alias(a.alias) for a in spec.aggregations]
    keys = key_names(spec)
    out = keyed.groupBy(*[F.col(k) for k in keys]).agg(*aggregates) if keys else keyed.agg(
        *aggregates)
    window = (spec.window.start, spec.window.end) if spec.window is not None else ()
    names = (*window, *(k.alias for k in spec.group_by))
    out = out.select(*[F.col(hidden(n)).alias(n) for n in names],
                     *[F.col(quote(a.alias)) for a in spec.aggregations])
    for column, expression in spec.derived.items():
        out = out.withColumn(column, F.expr(expression))
    if keep_flag:
        keep = F.coalesce(F.expr(spec.having), F.lit(False)) if spec.having else F.lit(True)
        return out.withColumn(KEEP, keep)
    if spec.having:
        out = out.where(F.expr(spec.having))
    return out


def aggregate(df: DataFrame, spec: GoldSpec) -> DataFrame:
    """Build the gold DataFrame from its source DataFrame (a full recompute)."""
    return aggregate_keyed(with_keys(df, spec), spec)


def aggregate_stream(df: DataFrame, spec: GoldSpec) -> DataFrame:
    """A streaming windowed aggregate in Spark's append mode (what a streaming table runs).

    The watermark is set on the window's event-time column and the rows are grouped by Spark's
    ``window`` itself, so Spark emits each window once, when the watermark passes its end, and
    drops rows that arrive behind it.
    """
    from pyspark.sql import functions as F

    assert spec.window is not None
    assert spec.watermark is not None
    df = df.withWatermark(spec.window.column, spec.watermark)
    if spec.filter:
        df = df.where(F.expr(spec.filter))
    window = "__medallion_window"
    groups = [F.window(F.col(quote(spec.window.column)), spec.window.duration).alias(window)]
    groups += [F.expr(k.expression).alias(hidden(k.alias)) for k in spec.group_by]
    out = df.groupBy(*groups).agg(*[F.expr(a.sql()).alias(a.alias) for a in spec.aggregations])
    out = out.select(
        F.col(f"{window}.start").alias(spec.window.start),
        F.col(f"{window}.end").alias(spec.window.end),
        *[F.col(hidden(k.alias)).alias(k.alias) for k in spec.group_by],
        *[F.col(quote(a.alias)) for a in spec.aggregations],
    )
    for column, expression in spec.derived.items():
        out = out.withColumn(column, F.expr(expression))
    if spec.having:
        out = out.where(F.expr(spec.having))
    return out


def changed_groups(changes: DataFrame, spec: GoldSpec) -> DataFrame:
    """The distinct groups (hidden key columns) touched by change-data-feed rows.

    Pre-images, post-images, inserts and deletes all count: a row leaving a group changes it
    as much as a row entering it. Rows outside the filter touch nothing.
    """
    from pyspark.sql import functions as F

    return with_keys(changes, spec).select(*[F.col(k) for k in key_names(spec)]).distinct()


GROUP_PREFIX = "__medallion_group_"


def same_keys(keys: tuple[str, ...]) -> Column:
    """Join condition between ``k`` and ``__medallion_group_k`` columns, NULL matching NULL.

    (A NULL key is a group like any other.) The right side's columns carry the prefix so the
    join never depends on which plan a column came from.
    """
    from pyspark.sql import functions as F

    return reduce(lambda a, b: a & b,
                  [F.col(quote(k)).eqNullSafe(F.col(quote(GROUP_PREFIX + k))) for k in keys])


def _prefixed(groups: DataFrame, keys: tuple[str, ...], names: tuple[str, ...]) -> DataFrame:
    from pyspark.sql import functions as F

    return groups.select(*[F.col(quote(k)).alias(GROUP_PREFIX + n)
                           for k, n in zip(keys, names, strict=True)])


def refresh_groups(source: DataFrame, groups: DataFrame, spec: GoldSpec) -> DataFrame:
    """Recompute the given groups from the whole ``source``: one row per group, with :data:`KEEP`.

    A group whose rows all left the source (or that fails ``having``) comes back with
    ``KEEP = false``, to be deleted from the table.
    """
    from pyspark.sql import functions as F

    keys = key_names(spec)
    rows = with_keys(source, spec)
    rows = rows.join(F.broadcast(_prefixed(groups, keys, keys)), same_keys(keys), "left_semi")
    fresh = aggregate_keyed(rows, spec, keep_flag=True)
    window = (spec.window.start, spec.window.end) if spec.window is not None else ()
    names = (*window, *(k.alias for k in spec.group_by))
    joined = _prefixed(groups, keys, names).join(fresh, same_keys(names), "left")
    values = [c for c in spec.output_columns() if c not in names]
    return joined.select(
        *[F.col(quote(GROUP_PREFIX + n)).alias(n) for n in names],
        *[F.col(quote(c)) for c in values],
        F.coalesce(F.col(KEEP), F.lit(False)).alias(KEEP),
    )


def interval_micros(text: str) -> int:
    """``"1 hour"`` → microseconds (units up to weeks; months vary in length, so none)."""
    total = 0
    for number, unit in re.findall(r"(\d+)\s*([a-zA-Z]+?)s?\b", text):
        total += int(number) * _UNITS[unit.lower()]
    return total
