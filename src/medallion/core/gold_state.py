"""Decomposable gold aggregates: per-group partial state, change-feed deltas, final values.

A materialized view whose aggregates are all ``count``, ``sum``, ``avg``, ``min`` or ``max``
keeps, beside the table, one row of *partials* per group: its row count, and per aggregate
the non-NULL count, the sum, or the group's :data:`EXTREMES_KEPT` most extreme values. An
incremental refresh turns the source's change-feed rows alone into per-group deltas (insert
and update post-image +, delete and update pre-image -), adds them to the partials of the
changed groups and derives the table's rows from the result, so the unchanged source is never
read. A group whose row count reaches zero is deleted.

``min``/``max`` cannot be undone by a delta alone: deleting the extreme value needs the next
one. The partials therefore keep, per group, its most extreme values (a *top list*, at most
:data:`EXTREMES_KEPT`, with repeats), in order. Invariant: the list holds the group's
``len(list)`` most extreme non-NULL values, so every value more extreme than its last one is
in it; the list holds all of them when its length equals the non-NULL count. A refresh adds
the inserted values that are at least as extreme as the last one kept (all of them when the
list is complete), keeps the most extreme :data:`EXTREMES_KEPT`, then removes one listed copy
per deleted value, which keeps the invariant. Only a group whose list empties while it still
has values is *dirty* and recomputed from the source, which fills its list.

A full recompute keeps the extreme value alone (a list of one): finding the top values of
every group would sort the whole source, three times the cost of the aggregate measured at
10M rows. The lists then grow with inserted values and fill when a group is recomputed, so
a group recomputed once absorbs its next deletes.

The final values are computed exactly as Spark computes the aggregates (same types, same
decimal rounding), so the table equals a full recompute. Sums and averages over floating
point are not maintained this way: adding and subtracting doubles drifts from a recompute.
Functions only build plans.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import TYPE_CHECKING

from medallion.core.gold import KEEP, hidden, key_names, quote, with_keys
from medallion.specs.gold import GoldSpec

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import StructType

#: Aggregate functions a delta can maintain (``min``/``max`` from their top lists).
DECOMPOSABLE = ("count", "sum", "avg", "min", "max")
#: The most extreme values kept per group for each ``min``/``max``: a group is recomputed from
#: the source only after deletes took all of them between two recomputes.
EXTREMES_KEPT = 4
#: Version of the partials' layout, recorded with each snapshot (an older one is recomputed).
FORMAT = 2
ROWS = "__medallion_rows"
DIRTY = "__medallion_dirty"
#: Column of :func:`apply_changes`: the group had rows before the changes.
HAD_ROWS = "__medallion_had_rows"
_SIGN = "__medallion_sign"
#: Prefix of a group's key columns renamed apart for a join (:func:`_group_keys`).
_GROUP = "__medallion_g"
_FLOATING = ("float", "double")


def not_decomposable(spec: GoldSpec) -> str | None:
    """Why the spec's aggregates cannot be maintained from deltas, or None when they can."""
    for a in spec.aggregations:
        if a.func not in DECOMPOSABLE:
            return f"aggregate '{a.alias}' ({a.func}) is not decomposable"
    return None


def _partials(spec: GoldSpec) -> list[tuple[str, str]]:
    """(partial column, kind) per aggregate: ``n`` non-NULL count, ``s`` sum, ``t`` top list."""
    out: list[tuple[str, str]] = []
    for i, a in enumerate(spec.aggregations):
        out.append((f"__medallion_p{i}_n", "n"))
        if a.func in ("sum", "avg"):
            out.append((f"__medallion_p{i}_s", "s"))
        if a.func in ("min", "max"):
            out.append((f"__medallion_p{i}_t", "t"))
    return out


def _col(i: int, kind: str) -> str:
    return f"__medallion_p{i}_{kind}"


def _value(spec: GoldSpec, i: int) -> Column:
    from pyspark.sql import functions as F

    column = spec.aggregations[i].column
    return F.lit(1) if column is None else F.expr(column)


def state(source: DataFrame, spec: GoldSpec, *, top: bool = False) -> DataFrame:
    """The partials of every group of ``source`` (hidden key columns, :data:`ROWS`, partials).

    A ``min``/``max`` keeps its extreme value alone (a hash aggregate, as cheap as the view's
    own), or with ``top`` its :data:`EXTREMES_KEPT` most extreme values (a sort of the rows by
    group: for the few groups recomputed from the source).
    """
    from pyspark.sql import functions as F

    keys = key_names(spec)
    keyed = with_keys(source, spec)
    if top:
        keyed = _ranked(keyed, spec, [F.col(k) for k in keys])
    aggregates: list[Column] = [F.count(F.lit(1)).alias(ROWS)]
    for i, a in enumerate(spec.aggregations):
        value = _value(spec, i)
        aggregates.append(F.count(value).alias(_col(i, "n")))
        if a.func in ("sum", "avg"):
            aggregates.append(F.sum(value).alias(_col(i, "s")))
        if a.func in ("min", "max") and top:
            aggregates.append(_top(spec, i, F.lit(True)).alias(_col(i, "t")))
        elif a.func in ("min", "max"):  # NULL (no list) when the group has no value
            extreme = F.min(value) if a.func == "min" else F.max(value)
            aggregates.append(F.when(F.count(value) > 0, F.array(extreme)).alias(_col(i, "t")))
    return keyed.groupBy(*[F.col(k) for k in keys]).agg(*aggregates)


def _ranked(keyed: DataFrame, spec: GoldSpec, keys: list[Column],
            sign: Column | None = None) -> DataFrame:
    """``keyed`` with, per ``min``/``max``, each row's rank in its group, most extreme first.

    With ``sign``, rows are ranked among those of the group with the same sign (inserted or
    removed). NULL values rank last; the top lists take the first :data:`EXTREMES_KEPT`.
    The window is partitioned by the group keys alone, so the aggregate after it needs no
    other shuffle.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    group = Window.partitionBy(*keys)
    before = F.lit(0)
    if sign is not None:  # removed rows (sign -1) sort first: an inserted row's rank
        # counts from the first inserted one
        before = F.when(sign > 0, F.count_if(sign < 0).over(group)).otherwise(F.lit(0))
    for i, a in enumerate(spec.aggregations):
        if a.func in ("min", "max"):
            value = _value(spec, i)
            order = value.asc_nulls_last() if a.func == "min" else value.desc_nulls_last()
            ordered = group.orderBy(order) if sign is None else group.orderBy(sign, order)
            keyed = keyed.withColumn(_col(i, "r"), F.row_number().over(ordered) - before)
    return keyed


def _top(spec: GoldSpec, i: int, where: Column) -> Column:
    """Aggregate of :func:`_ranked` rows: the most extreme values among those ``where``."""
    from pyspark.sql import functions as F

    value = _value(spec, i)
    kept = F.collect_list(F.when(where & (F.col(_col(i, "r")) <= EXTREMES_KEPT), value))
    return _in_order(kept, spec.aggregations[i].func)


def _in_order(values: Column, func: str) -> Column:
    """``values`` most extreme first: ascending for ``min``, descending for ``max``."""
    from pyspark.sql import functions as F

    return F.sort_array(values, asc=func == "min")


def _entering(kept: Column, complete: Column, func: str) -> Callable[[Column], Column]:
    """Which inserted values may enter the top list ``kept`` (see the module docstring)."""
    from pyspark.sql import functions as F

    last = F.get(kept, F.size(kept) - 1)
    if func == "min":
        return lambda x: complete | (x <= last)
    return lambda x: complete | (x >= last)


def _remove_one(values: Column, value: Column) -> Column:
    """``values`` without the first copy of ``value`` (unchanged when it holds none)."""
    from pyspark.sql import functions as F

    # call_function: Spark 3.5's array_position takes no Column as the value
    at = F.call_function("array_position", values, value).cast("int")
    return F.when(at > 0, F.concat(F.slice(values, 1, F.greatest(at - 1, F.lit(0))),
                                   F.slice(values, at + 1, F.size(values)))).otherwise(values)


def floating(spec: GoldSpec, partials: StructType) -> str | None:
    """Why a sum or average over floating point rules the delta path out (from the schema)."""
    for i, a in enumerate(spec.aggregations):
        if a.func in ("sum", "avg") and partials[_col(i, "s")].dataType.typeName() in _FLOATING:
            return (f"aggregate '{a.alias}' sums floating-point values, which deltas cannot "
                    "maintain exactly")
    return None


def apply_changes(current: DataFrame, changes: DataFrame, spec: GoldSpec, *,
                  few: bool = False) -> DataFrame:
    """New partials of the groups the change-feed rows touch, from the deltas alone.

    ``current`` is the state table; the result has its columns plus :data:`DIRTY` (a
    ``min``/``max`` whose top list emptied while the group still has values: recompute it from
    the source) and :data:`HAD_ROWS` (the group had rows before the changes).

    ``few``: the changed groups are few enough to broadcast their keys, so the partials are
    filtered by them where they are read instead of shuffled whole to the join.
    """
    from pyspark.sql import functions as F

    positive = F.col("_change_type").isin("insert", "update_postimage")
    keys = key_names(spec)
    keyed = with_keys(changes, spec).withColumn(
        _SIGN, F.when(positive, F.lit(1)).otherwise(F.lit(-1)))
    # ranked among the group's inserted, and among its removed, values
    keyed = _ranked(keyed, spec, [F.col(k) for k in keys], F.col(_SIGN))
    sign = F.col(_SIGN)
    aggregates: list[Column] = [F.sum(sign).alias(ROWS)]
    for i, a in enumerate(spec.aggregations):
        value = _value(spec, i)
        aggregates.append(F.sum(F.when(value.isNotNull(), sign).otherwise(0)).alias(
            _col(i, "n")))
        if a.func in ("sum", "avg"):
            aggregates.append(F.sum(F.when(sign > 0, value)).alias(_col(i, "plus")))
            aggregates.append(F.sum(F.when(sign < 0, value)).alias(_col(i, "minus")))
        if a.func in ("min", "max"):
            # A removed value more extreme than the kept ones' last is among them; removing
            # more copies than the list holds changes nothing: its top removed values suffice.
            aggregates.append(_top(spec, i, sign > 0).alias(_col(i, "plus")))
            aggregates.append(_top(spec, i, sign < 0).alias(_col(i, "minus")))
    deltas = keyed.groupBy(*[F.col(k) for k in keys]).agg(*aggregates)
    if few:
        current = semi_join(current, deltas.select(*keys), spec, broadcast=True)
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
        n = _col(i, "n")
        count = F.coalesce(was(n), F.lit(0)) + F.col(n)
        columns.append(count.cast(types[n]).alias(n))
        if a.func in ("sum", "avg"):
            s, plus, minus = _col(i, "s"), F.col(_col(i, "plus")), F.col(_col(i, "minus"))
            total = (F.coalesce(was(s), F.lit(0)) + F.coalesce(plus, F.lit(0))
                     - F.coalesce(minus, F.lit(0)))
            columns.append(total.cast(types[s]).alias(s))
        if a.func in ("min", "max"):
            t, plus, minus = _col(i, "t"), F.col(_col(i, "plus")), F.col(_col(i, "minus"))
            kept = F.coalesce(was(t), F.slice(plus, 1, 0))
            # Complete: the list holds every value of the group, so any inserted one may
            # enter it; otherwise only those at least as extreme as its last one.
            complete = F.size(kept) >= F.coalesce(was(n), F.lit(0))
            added = F.filter(plus, _entering(kept, complete, a.func))
            merged = F.slice(_in_order(F.concat(kept, added), a.func), 1, EXTREMES_KEPT)
            left = F.aggregate(minus, merged, _remove_one)
            columns.append(left.cast(types[t]).alias(t))
            dirty.append((count > 0) & (F.size(left) == 0))
    flag = reduce(lambda x, y: x | y, dirty) if dirty else F.lit(False)
    return joined.select(*columns, F.coalesce(flag, F.lit(False)).alias(DIRTY),
                         (F.coalesce(was(ROWS), F.lit(0)) > 0).alias(HAD_ROWS))


def semi_join(rows: DataFrame, groups: DataFrame, spec: GoldSpec, *, how: str = "left_semi",
              broadcast: bool = False) -> DataFrame:
    """``rows`` (hidden key columns) of the ``groups`` (or, ``left_anti``, of the others).

    Keys match NULL-safely. ``broadcast`` sends the groups' keys to every task, so ``rows``
    is filtered where it is read (no shuffle of it).
    """
    from pyspark.sql import functions as F

    prefixed, on = _group_keys(groups, spec)
    return rows.join(F.broadcast(prefixed) if broadcast else prefixed, on, how)


def _group_keys(groups: DataFrame, spec: GoldSpec) -> tuple[DataFrame, Column]:
    """``groups``' hidden key columns renamed apart, and the NULL-safe condition matching them."""
    from pyspark.sql import functions as F

    keys = key_names(spec)
    prefixed = groups.select(*[F.col(quote(k)).alias(_GROUP + k) for k in keys])
    on = reduce(lambda x, y: x & y, [F.col(quote(k)).eqNullSafe(
        F.col(quote(_GROUP + k))) for k in keys])
    return prefixed, on


def recompute(source: DataFrame, groups: DataFrame, spec: GoldSpec) -> DataFrame:
    """The partials of ``groups`` (hidden key columns) recomputed from the whole ``source``.

    A group with no rows left comes back with a zero row count (to be deleted).
    """
    from pyspark.sql import functions as F

    keys = key_names(spec)
    prefixed, on = _group_keys(groups, spec)
    rows = with_keys(source, spec).join(F.broadcast(prefixed), on, "left_semi")
    fresh = state(rows.drop(*keys), spec, top=True)
    joined = prefixed.join(fresh, on, "left")
    return joined.select(
        *[F.col(quote(_GROUP + k)).alias(k) for k in keys],
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
        else:  # min/max: the first of the top list (NULL when the group has no value)
            value = F.get(F.col(_col(i, "t")), 0)
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
