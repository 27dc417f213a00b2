"""Decomposable gold aggregates: per-group partial state, change-feed deltas, final values.

A materialized view whose aggregates are all ``count``, ``sum``, ``avg``, ``min`` or ``max``
keeps, beside the table, one row of *partials* per group: its row count, and per aggregate
the non-NULL count, the sum, or the extreme value. An incremental refresh turns the source's
change-feed rows alone into per-group deltas (insert and update post-image +, delete and
update pre-image -), adds them to the partials of the changed groups and derives the table's
rows from the result, so the unchanged source is never read. A group whose row count reaches
zero is deleted. ``min``/``max`` cannot be undone by a delta: a group whose current extreme
value was deleted is *dirty* and is recomputed from the source instead.

The final values are computed exactly as Spark computes the aggregates (same types, same
decimal rounding), so the table equals a full recompute. Sums and averages over floating
point are not maintained this way: adding and subtracting doubles drifts from a recompute.
Functions only build plans.
"""

from __future__ import annotations

from functools import reduce
from typing import TYPE_CHECKING

from medallion.core.gold import KEEP, hidden, key_names, quote, with_keys
from medallion.specs.gold import GoldSpec

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import StructType

#: Aggregate functions a delta can maintain (``min``/``max`` while their extremes stay).
DECOMPOSABLE = ("count", "sum", "avg", "min", "max")
ROWS = "__medallion_rows"
DIRTY = "__medallion_dirty"
#: Column of :func:`apply_changes`: the group had rows before the changes.
HAD_ROWS = "__medallion_had_rows"
_SIGN = "__medallion_sign"
_FLOATING = ("float", "double")


def not_decomposable(spec: GoldSpec) -> str | None:
    """Why the spec's aggregates cannot be maintained from deltas, or None when they can."""
    for a in spec.aggregations:
        if a.func not in DECOMPOSABLE:
            return f"aggregate '{a.alias}' ({a.func}) is not decomposable"
    return None


def _partials(spec: GoldSpec) -> list[tuple[str, str]]:
    """(partial column, kind) per aggregate: ``n`` non-NULL count, ``s`` sum, ``v`` extreme."""
    out: list[tuple[str, str]] = []
    for i, a in enumerate(spec.aggregations):
        if a.func in ("count", "sum", "avg"):
            out.append((f"__medallion_p{i}_n", "n"))
        if a.func in ("sum", "avg"):
            out.append((f"__medallion_p{i}_s", "s"))
        if a.func in ("min", "max"):
            out.append((f"__medallion_p{i}_v", "v"))
    return out


def _col(i: int, kind: str) -> str:
    return f"__medallion_p{i}_{kind}"


def _value(spec: GoldSpec, i: int) -> Column:
    from pyspark.sql import functions as F

    column = spec.aggregations[i].column
    return F.lit(1) if column is None else F.expr(column)


def state(source: DataFrame, spec: GoldSpec) -> DataFrame:
    """The partials of every group of ``source`` (hidden key columns, :data:`ROWS`, partials)."""
    from pyspark.sql import functions as F

    aggregates: list[Column] = [F.count(F.lit(1)).alias(ROWS)]
    for i, a in enumerate(spec.aggregations):
        value = _value(spec, i)
        if a.func in ("count", "sum", "avg"):
            aggregates.append(F.count(value).alias(_col(i, "n")))
        if a.func in ("sum", "avg"):
            aggregates.append(F.sum(value).alias(_col(i, "s")))
        if a.func == "min":
            aggregates.append(F.min(value).alias(_col(i, "v")))
        if a.func == "max":
            aggregates.append(F.max(value).alias(_col(i, "v")))
    keys = key_names(spec)
    return with_keys(source, spec).groupBy(*[F.col(k) for k in keys]).agg(*aggregates)


def floating(spec: GoldSpec, partials: StructType) -> str | None:
    """Why a sum or average over floating point rules the delta path out (from the schema)."""
    for i, a in enumerate(spec.aggregations):
        if a.func in ("sum", "avg") and partials[_col(i, "s")].dataType.typeName() in _FLOATING:
            return (f"aggregate '{a.alias}' sums floating-point values, which deltas cannot "
                    "maintain exactly")
    return None


def apply_changes(current: DataFrame, changes: DataFrame, spec: GoldSpec) -> DataFrame:
    """New partials of the groups the change-feed rows touch, from the deltas alone.

    ``current`` is the state table; the result has its columns plus :data:`DIRTY` (a
    ``min``/``max`` whose extreme value left the group: recompute it from the source) and
    :data:`HAD_ROWS` (the group had rows before the changes).
    """
    from pyspark.sql import functions as F

    positive = F.col("_change_type").isin("insert", "update_postimage")
    keyed = with_keys(changes, spec).withColumn(
        _SIGN, F.when(positive, F.lit(1)).otherwise(F.lit(-1)))
    sign = F.col(_SIGN)
    aggregates: list[Column] = [F.sum(sign).alias(ROWS)]
    for i, a in enumerate(spec.aggregations):
        value = _value(spec, i)
        if a.func in ("count", "sum", "avg"):
            aggregates.append(F.sum(F.when(value.isNotNull(), sign).otherwise(0)).alias(
                _col(i, "n")))
        if a.func in ("sum", "avg"):
            aggregates.append(F.sum(F.when(sign > 0, value)).alias(_col(i, "plus")))
            aggregates.append(F.sum(F.when(sign < 0, value)).alias(_col(i, "minus")))
        if a.func in ("min", "max"):
            pick = F.min if a.func == "min" else F.max
            aggregates.append(pick(F.when(sign > 0, value)).alias(_col(i, "plus")))
            aggregates.append(pick(F.when(sign < 0, value)).alias(_col(i, "minus")))
    keys = key_names(spec)
    deltas = keyed.groupBy(*[F.col(k) for k in keys]).agg(*aggregates)
    old = current.select(*[F.col(quote(k)).alias("__medallion_old" + k) for k in keys],
                         *[F.col(c).alias("__medallion_old" + c) for c in current.columns
                           if c not in keys])
    on = reduce(lambda x, y: x & y, [F.col(quote(k)).eqNullSafe(
        F.col(quote("__medallion_old" + k))) for k in keys])
    joined = deltas.join(old, on, "left")
    types = {f.name: f.dataType for f in current.schema.fields}

    def was(name: str) -> Column:
        return F.col("__medallion_old" + name)

    columns: list[Column] = [F.col(quote(k)) for k in keys]
    columns.append((F.coalesce(was(ROWS), F.lit(0)) + F.col(ROWS)).cast(types[ROWS]).alias(ROWS))
    dirty: list[Column] = []
    for i, a in enumerate(spec.aggregations):
        if a.func in ("count", "sum", "avg"):
            n = _col(i, "n")
            columns.append((F.coalesce(was(n), F.lit(0)) + F.col(n)).cast(types[n]).alias(n))
        if a.func in ("sum", "avg"):
            s, plus, minus = _col(i, "s"), F.col(_col(i, "plus")), F.col(_col(i, "minus"))
            total = (F.coalesce(was(s), F.lit(0)) + F.coalesce(plus, F.lit(0))
                     - F.coalesce(minus, F.lit(0)))
            columns.append(total.cast(types[s]).alias(s))
        if a.func in ("min", "max"):
            v, plus, minus = _col(i, "v"), F.col(_col(i, "plus")), F.col(_col(i, "minus"))
            extreme = F.least if a.func == "min" else F.greatest
            columns.append(extreme(was(v), plus).cast(types[v]).alias(v))
            # The extreme left when a removed value is at least as extreme as the old one.
            beyond = minus <= was(v) if a.func == "min" else minus >= was(v)
            dirty.append(minus.isNotNull() & (was(v).isNull() | beyond))
    flag = reduce(lambda x, y: x | y, dirty) if dirty else F.lit(False)
    return joined.select(*columns, F.coalesce(flag, F.lit(False)).alias(DIRTY),
                         (F.coalesce(was(ROWS), F.lit(0)) > 0).alias(HAD_ROWS))


def recompute(source: DataFrame, groups: DataFrame, spec: GoldSpec) -> DataFrame:
    """The partials of ``groups`` (hidden key columns) recomputed from the whole ``source``.

    A group with no rows left comes back with a zero row count (to be deleted).
    """
    from pyspark.sql import functions as F

    keys = key_names(spec)
    prefixed = groups.select(*[F.col(quote(k)).alias("__medallion_g" + k) for k in keys])
    on = reduce(lambda x, y: x & y, [F.col(quote(k)).eqNullSafe(
        F.col(quote("__medallion_g" + k))) for k in keys])
    rows = with_keys(source, spec).join(F.broadcast(prefixed), on, "left_semi")
    fresh = state(rows.drop(*keys), spec)
    joined = prefixed.join(fresh, on, "left")
    return joined.select(
        *[F.col(quote("__medallion_g" + k)).alias(k) for k in keys],
        F.coalesce(F.col(ROWS), F.lit(0)).alias(ROWS),
        *[F.col(c) for c, _ in _partials(spec)],
    )


def finish(partials: DataFrame, spec: GoldSpec, types: dict[str, str]) -> DataFrame:
    """The table's rows from partials, with :data:`KEEP` (the group has rows and passes having).

    ``types`` maps each ``avg`` alias to the type Spark's ``avg`` gives it (a DDL string).
    """
    from pyspark.sql import functions as F

    window = (spec.window.start, spec.window.end) if spec.window is not None else ()
    names = (*window, *(k.alias for k in spec.group_by))
    values: list[Column] = []
    for i, a in enumerate(spec.aggregations):
        if a.func == "count":
            value = F.col(_col(i, "n"))
        elif a.func == "sum":
            value = F.when(F.col(_col(i, "n")) > 0, F.col(_col(i, "s")))
        elif a.func == "avg":
            value = F.when(F.col(_col(i, "n")) > 0, _average(i, types[a.alias]))
        else:
            value = F.col(_col(i, "v"))
        values.append(value.alias(a.alias))
    out = partials.select(*[F.col(hidden(n)).alias(n) for n in names], *values,
                          F.col(ROWS))
    for column, expression in spec.derived.items():
        out = out.withColumn(column, F.expr(expression))
    having = F.coalesce(F.expr(spec.having), F.lit(False)) if spec.having else F.lit(True)
    return out.withColumn(KEEP, (F.col(ROWS) > 0) & having).drop(ROWS)


def _average(i: int, result: str) -> Column:
    """``sum / count`` as Spark's ``avg`` evaluates it, in its result type ``result``."""
    from pyspark.sql import functions as F

    s, n = _col(i, "s"), _col(i, "n")
    if result.startswith("decimal"):
        # Spark divides the decimal sum by the count as DECIMAL(20,0), rounding half up.
        return F.expr(f"CAST({s} / CAST({n} AS DECIMAL(20,0)) AS {result})")
    return (F.col(s).cast("double") / F.col(n).cast("double")).cast(result)


def partial_columns(spec: GoldSpec) -> tuple[str, ...]:
    """The state table's columns besides the hidden keys, in order."""
    return (ROWS, *(c for c, _ in _partials(spec)))
