"""What a silver table IS, written once for every backend.

casts and derived columns → rules (every row evaluated; drop failures split off) → dedup → joins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from medallion.core.rules import SOURCE_ROW_COLUMN
from medallion.specs.silver import SilverSpec

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    Reader = Callable[[str], DataFrame]

ROW_NUMBER_COLUMN = "__medallion_rn"


def quote(name: str) -> str:
    """Backtick-quote a column name for use inside SQL text."""
    return "`" + name.replace("`", "``") + "`"


def transforms_rows(spec: SilverSpec) -> bool:
    """Whether the spec changes the source columns (then quarantine keeps the source row)."""
    return bool(spec.renames or spec.casts or spec.derived or spec.select is not None)


def prepare(df: DataFrame, spec: SilverSpec) -> DataFrame:
    """Renames, then casts (try-cast: bad values become NULL), then derived columns, then select.

    When the spec transforms rows, the untouched source row rides along as a struct in
    ``_source_row`` so that quarantined rows lose nothing (e.g. the text "12.3x" that a decimal
    cast turned into NULL); it is serialised to JSON only for quarantined rows, and callers drop
    it from the kept rows.
    """
    from pyspark.sql import functions as F

    if transforms_rows(spec):
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
        if transforms_rows(spec):
            keep.append(F.col(SOURCE_ROW_COLUMN))
        df = df.select(*keep)
    return df


def helper_columns(spec: SilverSpec) -> tuple[str, ...]:
    """Columns :func:`prepare` adds for medallion's own use (dropped from the kept rows)."""
    return (SOURCE_ROW_COLUMN,) if transforms_rows(spec) else ()


def dedup(df: DataFrame, keys: tuple[str, ...], order_by: str | None) -> DataFrame:
    """One row per key; rows whose key has a NULL are all kept (NULL identifies nothing).

    With ``order_by`` the row with the greatest value wins (the latest); ties, and the case
    without ``order_by``, are broken by a hash of the whole row, so the result does not depend
    on partitioning or arrival order.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not keys:
        return df
    order: list[Column] = []
    if order_by is not None:
        order.append(F.col(quote(order_by)).desc_nulls_last())
    order.append(F.xxhash64(F.struct(F.col("*"))).asc())
    window = Window.partitionBy(*[F.col(quote(k)) for k in keys]).orderBy(*order)
    any_null = F.lit(False)
    for k in keys:
        any_null = any_null | F.col(quote(k)).isNull()
    ranked = df.withColumn(ROW_NUMBER_COLUMN, F.row_number().over(window))
    return ranked.where((F.col(ROW_NUMBER_COLUMN) == 1) | any_null).drop(ROW_NUMBER_COLUMN)


def enrich(df: DataFrame, spec: SilverSpec, read: Reader) -> DataFrame:
    """Apply the spec's joins, in order, reading each joined table with ``read``."""
    from pyspark.sql import functions as F

    for join in spec.joins:
        other = read(join.table)
        if join.columns is not None:
            other = other.select(*[F.col(quote(c)) for c in (*join.on, *join.columns)])
        df = df.join(other, on=list(join.on), how=join.how)
    return df
