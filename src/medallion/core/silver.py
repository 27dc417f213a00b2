"""What a silver table IS, written once for every backend.

malformed records to quarantine → casts and derived columns → rules (every row evaluated; drop
failures split off) → dedup → joins.

Nothing here forces analysis of its input (no ``.columns``, no ``DataFrame.drop``, no
``dropDuplicates`` with a subset, which Spark Connect always analyses), so these functions also
build plans for Spark Connect clients such as ``spark-pipelines``. (``withColumn(s)`` and
``withColumnsRenamed`` are analysed by Spark Connect only when their input resolves; the
spark-pipelines backend reads other datasets through pipeline views so that it never does.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from medallion.core.rules import (
    FAILED_RULES_COLUMN,
    JSON_WITH_NULLS,
    QUARANTINED_AT_COLUMN,
    ROW_COLUMN,
    SOURCE_ROW_COLUMN,
)
from medallion.specs.silver import SilverSpec
from medallion.specs.sqlexpr import quote_identifier

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    Reader = Callable[[str], DataFrame]

ROW_NUMBER_COLUMN = "__medallion_rn"
KEEP_COLUMN = "__medallion_keep"
TOKEN_COLUMN = "__medallion_dedup_token"
#: ``_failed_rules`` of a row that ``malformed_records`` sent to quarantine.
MALFORMED_REASON = "malformed_record"



#: Backtick-quote a column name for SQL text (:func:`~medallion.specs.sqlexpr.quote_identifier`).
quote = quote_identifier


def transforms_rows(spec: SilverSpec) -> bool:
    """Whether the spec changes the source columns (then quarantine keeps the source row)."""
    return bool(spec.renames or spec.casts or spec.derived or spec.select is not None)


def prepare(df: DataFrame, spec: SilverSpec, *, source_row: bool = True) -> DataFrame:
    """Renames, then casts (try-cast: bad values become NULL), then derived columns, then select.

    When the spec transforms rows, the untouched source row rides along as a struct in
    ``_source_row`` so that quarantined rows lose nothing (e.g. the text "12.3x" that a decimal
    cast turned into NULL); it is serialised to JSON only for quarantined rows, and callers drop
    it from the kept rows. ``source_row=False`` leaves it out (for rows that are never
    quarantined by this plan).
    """
    from pyspark.sql import functions as F

    source_row = source_row and transforms_rows(spec)
    if source_row:
        df = df.select(F.col("*"), F.struct(F.col("*")).alias(SOURCE_ROW_COLUMN))
    if spec.renames:
        df = df.withColumnsRenamed(dict(spec.renames))
    if spec.casts:
        df = df.withColumns(
            {
                column: F.expr(f"try_cast({quote(column)} AS {type_text})")
                for column, type_text in spec.casts.items()
            }
        )
    for column, expression in spec.derived.items():
        df = df.withColumn(column, F.expr(expression))
    if spec.select is not None:
        keep = [F.col(quote(c)) for c in spec.select]
        if source_row:
            keep.append(F.col(SOURCE_ROW_COLUMN))
        df = df.select(*keep)
    return df


def malformed(spec: SilverSpec) -> Column:
    """TRUE for a source row that ``malformed_records`` marks as malformed (never NULL)."""
    from pyspark.sql import functions as F

    flag: Column = F.lit(False)
    for column in spec.malformed_records:
        flag = flag | F.col(quote(column)).isNotNull()
    return flag


def well_formed(df: DataFrame, spec: SilverSpec) -> DataFrame:
    """The source rows the rules see: without the malformed ones (all of them when off)."""
    return df.where(~malformed(spec)) if spec.malformed_records else df


def malformed_quarantine(df: DataFrame, spec: SilverSpec) -> DataFrame:
    """The malformed source rows as quarantine rows, reason ``malformed_record``.

    Prepared like every other row (so the columns match the quarantine table's), with the raw
    source row as JSON in ``_source_row`` when the spec transforms rows; their columns are
    mostly NULL, and the raw text is in the corrupt record column. No rule is evaluated.
    """
    from pyspark.sql import functions as F

    prepared = prepare(df.where(malformed(spec)), spec)
    row = F.struct(F.col("*"))
    if transforms_rows(spec):
        row = row.withField(SOURCE_ROW_COLUMN,
                            F.to_json(F.col(SOURCE_ROW_COLUMN), JSON_WITH_NULLS))
    packed = prepared.select(
        row.alias(ROW_COLUMN),
        F.array(F.lit(MALFORMED_REASON)).alias(FAILED_RULES_COLUMN),
        F.current_timestamp().alias(QUARANTINED_AT_COLUMN),
    )
    return packed.select(
        F.col(f"{ROW_COLUMN}.*"), F.col(FAILED_RULES_COLUMN), F.col(QUARANTINED_AT_COLUMN)
    )


def helper_columns(spec: SilverSpec) -> tuple[str, ...]:
    """Columns :func:`prepare` adds for medallion's own use (dropped from the kept rows)."""
    return (SOURCE_ROW_COLUMN,) if transforms_rows(spec) else ()


def dedup(
    df: DataFrame, keys: tuple[str, ...], order_by: str | None, *, keep: Column | None = None
) -> DataFrame:
    """One row per key; rows whose key has a NULL are all kept (NULL identifies nothing).

    With ``order_by`` the row with the greatest value wins (the latest); ties, and the case
    without ``order_by``, are broken by a hash of the whole row, so the result does not depend
    on partitioning or arrival order. Rows for which ``keep`` is TRUE are never collapsed
    either (a backend whose runtime removes invalid rows after the query passes "fails a rule"
    here, so that a valid row never loses to an invalid duplicate).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not keys:
        return df
    keep_all = _any_null(keys)
    if keep is not None:
        keep_all = keep_all | F.coalesce(keep, F.lit(False))
    order: list[Column] = []
    if order_by is not None:
        order.append(F.col(quote(order_by)).desc_nulls_last())
    order.append(F.xxhash64(F.struct(F.col("*"))).asc())
    window = Window.partitionBy(*[F.col(quote(k)) for k in keys], keep_all).orderBy(*order)
    ranked = df.select(
        F.struct(F.col("*")).alias(ROW_COLUMN),
        F.row_number().over(window).alias(ROW_NUMBER_COLUMN),
        keep_all.alias(KEEP_COLUMN),
    )
    kept = ranked.where((F.col(ROW_NUMBER_COLUMN) == 1) | F.col(KEEP_COLUMN))
    return kept.select(F.col(f"{ROW_COLUMN}.*"))


def dedup_stream(df: DataFrame, keys: tuple[str, ...], *, keep: Column | None = None) -> DataFrame:
    """:func:`dedup` for a streaming DataFrame on a runtime that keeps streaming state.

    A window cannot rank a stream, so this uses ``dropDuplicates``: the first row seen for a key
    wins, in this run and in every later one (like the local runner, which never inserts a key
    twice). Rows with a NULL key, or for which ``keep`` is TRUE, get a unique token and are never
    collapsed. ``dropDuplicates`` with a subset makes Spark Connect's planner analyse the plan,
    so this serves Databricks pipelines, not ``spark-pipelines`` registration.
    """
    from pyspark.sql import functions as F

    if not keys:
        return df
    keep_all = _any_null(keys)
    if keep is not None:
        keep_all = keep_all | F.coalesce(keep, F.lit(False))
    tokened = df.select(F.col("*"), F.when(keep_all, F.expr("uuid()")).alias(TOKEN_COLUMN))
    unique = tokened.dropDuplicates([*keys, TOKEN_COLUMN])
    packed = unique.select(F.struct(F.col("*")).dropFields(TOKEN_COLUMN).alias(ROW_COLUMN))
    return packed.select(F.col(f"{ROW_COLUMN}.*"))


def _any_null(keys: tuple[str, ...]) -> Column:
    from pyspark.sql import functions as F

    any_null: Column = F.lit(False)
    for k in keys:
        any_null = any_null | F.col(quote(k)).isNull()
    return any_null


def enrich(df: DataFrame, spec: SilverSpec, read: Reader) -> DataFrame:
    """Apply the spec's joins, in order, reading each joined table with ``read``."""
    from pyspark.sql import functions as F

    for join in spec.joins:
        other = read(join.table)
        if join.columns is not None:
            other = other.select(*[F.col(quote(c)) for c in (*join.on, *join.columns)])
        df = df.join(other, on=list(join.on), how=join.how)
    return df
