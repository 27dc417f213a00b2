"""What AUTO CDC IS, as DataFrame → DataFrame steps shared by every backend.

Source rows become *events* (target columns plus a sequence value and an operation). Events
of one key are applied in sequence order whatever their arrival order:

- :func:`scd1_state` folds a key's events into its final row (or its deletion);
- :func:`scd2_versions` folds them into versions ``[__START_AT, __END_AT)``: a version starts
  when an upsert changes a tracked column (or follows a delete, or is the key's first), ends at
  the next version's start or at a delete; upserts changing only untracked columns update the
  version in place.

Both folds are pure functions of the events, so the result of applying events in several
batches equals applying them all at once — which is how late events are handled exactly: the
key's whole history is folded again. Functions here only build plans; callers pass column
lists (they never call ``.columns``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from typing import TYPE_CHECKING

from medallion.specs.cdc import END_AT, START_AT, AutoCdcSpec
from medallion.specs.sqlexpr import quote_identifier

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.window import WindowSpec

SEQ = "__medallion_seq"
OP = "__medallion_op"
#: Events folded into a key together with the key's current SCD2 row carry ``true`` here.
CURRENT = "__medallion_current"
#: Merge action of an SCD2 row: ``update`` (the current version), ``insert``, ``replace``.
ACTION = "__medallion_action"
#: SCD1: whether NULL values of the final upsert keep the target's existing values.
KEEP_NULLS = "__medallion_keep_existing"
UPSERT, DELETE, TRUNCATE = "upsert", "delete", "truncate"
_LIFE = "__medallion_life"
_RANK = "__medallion_rank"



#: Backtick-quote a column name for SQL text (:func:`~medallion.specs.sqlexpr.quote_identifier`).
quote = quote_identifier


def events(source: DataFrame, spec: AutoCdcSpec) -> DataFrame:
    """Source rows as events: the target's columns, :data:`SEQ` and :data:`OP`.

    The sequence and the delete/truncate conditions are computed before ``column_list`` /
    ``except_column_list`` apply, so they may use columns the target leaves out.
    """
    from pyspark.sql import functions as F

    op = F.lit(UPSERT)
    if spec.apply_as_deletes is not None:
        op = F.when(F.coalesce(F.expr(spec.apply_as_deletes), F.lit(False)), F.lit(DELETE)
                    ).otherwise(op)
    if spec.apply_as_truncates is not None:
        op = F.when(F.coalesce(F.expr(spec.apply_as_truncates), F.lit(False)),
                    F.lit(TRUNCATE)).otherwise(op)
    out = source.select(F.col("*"), F.expr(spec.sequence_by).alias(SEQ), op.alias(OP))
    if spec.column_list is not None:
        return out.select(*[F.col(quote(c)) for c in (*spec.column_list, SEQ, OP)])
    if spec.except_column_list is not None:
        return out.drop(*spec.except_column_list)
    return out


def _key_window(keys: Sequence[str]) -> WindowSpec:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    return Window.partitionBy(*[F.col(quote(k)) for k in keys])


def dedupe(events: DataFrame, keys: Sequence[str]) -> DataFrame:
    """One event per (key, sequence): a delete wins over an upsert, then a hash of the row.

    The choice depends only on the events themselves, never on arrival or partition order.
    Truncate events are not per key; one is kept per sequence value.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    rank = (F.when(F.col(OP) == TRUNCATE, 2).when(F.col(OP) == DELETE, 1).otherwise(0))
    window = Window.partitionBy(
        *[F.when(F.col(OP) != TRUNCATE, F.col(quote(k))) for k in keys], F.col(SEQ)
    ).orderBy(rank.desc(), F.xxhash64(F.struct(F.col("*"))).desc())
    return (events.withColumn(_RANK, F.row_number().over(window))
            .where(F.col(_RANK) == 1).drop(_RANK))


def _with_life(events: DataFrame, keys: Sequence[str]) -> DataFrame:
    """Add :data:`_LIFE`: how many deletes of the key come before each event."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    is_delete = (F.col(OP) == DELETE).cast("int")
    upto = _key_window(keys).orderBy(F.col(SEQ)).rowsBetween(Window.unboundedPreceding,
                                                             Window.currentRow)
    return events.withColumn(_LIFE, F.sum(is_delete).over(upto) - is_delete)


def _fill_nulls(events: DataFrame, keys: Sequence[str], values: Sequence[str]) -> DataFrame:
    """Ignored NULL updates: a NULL in ``values`` takes the key's last value since its delete."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    upto = (Window.partitionBy(*[F.col(quote(k)) for k in keys], F.col(_LIFE))
            .orderBy(F.col(SEQ)).rowsBetween(Window.unboundedPreceding, Window.currentRow))
    filled = {
        v: F.when(F.col(OP) == UPSERT, F.last(F.col(quote(v)), ignorenulls=True).over(upto))
        for v in values
    }
    return events.withColumns(filled) if filled else events


def scd1_state(
    events: DataFrame, spec: AutoCdcSpec, values: Sequence[str], *, merge_nulls: bool
) -> DataFrame:
    """Each key's final state after its events: one row, :data:`OP` ``upsert`` or ``delete``.

    With ``merge_nulls`` (and NULL updates ignored in some column), :data:`KEEP_NULLS` says
    whether NULLs of those columns should keep the values already in the target: true when no
    delete of the key precedes the final upsert among ``events``.
    """
    from pyspark.sql import functions as F

    keys = spec.keys
    staged = _with_life(events, keys)
    ignored = spec.null_ignoring(tuple(values))
    if ignored:
        staged = _fill_nulls(staged, keys, ignored)
    last = _key_window(keys).orderBy(F.col(SEQ).desc())
    staged = staged.withColumn(_RANK, F.row_number().over(last)).where(F.col(_RANK) == 1)
    keep = (F.col(_LIFE) == 0) if (merge_nulls and ignored) else F.lit(False)
    return staged.select(
        *[F.col(quote(c)) for c in (*keys, *values)], F.col(SEQ), F.col(OP),
        keep.alias(KEEP_NULLS),
    )


def scd2_versions(
    events: DataFrame, spec: AutoCdcSpec, values: Sequence[str], tracked: Sequence[str]
) -> DataFrame:
    """Fold each key's events into SCD2 versions (with :data:`CURRENT` and ``__START_AT``...).

    ``events`` carry a boolean :data:`CURRENT` column: true on a key's current version given
    as an upsert at its ``__START_AT`` (false on real events). The version continuing it comes
    back with :data:`CURRENT` true, and only if its ``__END_AT`` or values changed.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    keys = spec.keys
    staged = _with_life(events, keys)
    ignored = spec.null_ignoring(tuple(values))
    if ignored:
        staged = _fill_nulls(staged, keys, ignored)
    ordered = _key_window(keys).orderBy(F.col(SEQ))
    upto = ordered.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    tracked_now = F.struct(*[F.col(quote(c)) for c in tracked]) if tracked else F.lit(True)
    prev_op = F.lag(F.col(OP)).over(ordered)
    prev_tracked = F.lag(tracked_now).over(ordered)
    upsert = F.col(OP) == UPSERT
    starts = upsert & (prev_op.isNull() | (prev_op == DELETE)
                       | ~tracked_now.eqNullSafe(prev_tracked))
    staged = (
        staged.withColumn("__medallion_starts", starts.cast("int"))
        .withColumn("__medallion_version", F.sum(F.col("__medallion_starts")).over(upto))
        .withColumn("__medallion_next", F.lead(F.col(SEQ)).over(ordered))
    )
    current = F.coalesce(F.col(CURRENT), F.lit(False))
    row = F.struct(*[F.col(quote(v)) for v in values]) if values else F.lit(None)
    versions = staged.where(upsert).groupBy(
        *[F.col(quote(k)) for k in keys], F.col("__medallion_version")
    ).agg(
        F.min(F.col(SEQ)).alias(START_AT),
        F.max_by(F.col("__medallion_next"), F.col(SEQ)).alias(END_AT),
        F.max_by(row, F.col(SEQ)).alias("__medallion_row"),
        F.max(current).alias(CURRENT),
        F.max_by(row, current.cast("int")).alias("__medallion_was"),
    )
    unchanged = (F.col(CURRENT) & F.col(END_AT).isNull()
                 & F.col("__medallion_row").eqNullSafe(F.col("__medallion_was")))
    return versions.where(~unchanged).select(
        *[F.col(quote(k)) for k in keys],
        *[F.col("__medallion_row")[v].alias(v) for v in values],
        F.col(START_AT), F.col(END_AT), F.col(CURRENT),
    )


def keys_match(keys: Sequence[str], left: str = "t", right: str = "s") -> str:
    """SQL condition: the keys of ``left`` and ``right`` are equal (NULL matching NULL)."""
    return " AND ".join(f"{left}.{quote(k)} <=> {right}.{quote(k)}" for k in keys)


def key_filter(df: DataFrame, keys_df: DataFrame, keys: Sequence[str], *,
               keep: bool) -> DataFrame:
    """Rows of ``df`` whose key is (``keep=True``) or is not in ``keys_df`` (NULL-safe)."""
    from pyspark.sql import functions as F

    prefixed = keys_df.select(*[F.col(quote(k)).alias(f"__medallion_k_{k}") for k in keys])
    condition = reduce(lambda a, b: a & b, [
        F.col(quote(k)).eqNullSafe(F.col(quote(f"__medallion_k_{k}"))) for k in keys])
    return df.join(F.broadcast(prefixed), condition, "left_semi" if keep else "left_anti")


def truncates_as_deletes(truncates: DataFrame, keys_df: DataFrame,
                         keys: Sequence[str]) -> DataFrame:
    """Truncate events turned into a delete event for each key of ``keys_df``."""
    from pyspark.sql import functions as F

    per_key = keys_df.select(*[F.col(quote(k)) for k in keys]).crossJoin(
        truncates.select(F.col(SEQ)))
    return per_key.withColumn(OP, F.lit(DELETE))

