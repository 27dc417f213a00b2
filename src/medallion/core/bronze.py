"""What a bronze table adds to the rows it reads: file metadata and ingestion time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medallion.specs.bronze import BronzeSpec

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


def metadata_column(field: str) -> Column:
    """The Spark column for one metadata field (from the hidden ``_metadata`` column)."""
    from pyspark.sql import functions as F

    if field == "ingestion_time":
        return F.current_timestamp()
    return F.col(f"_metadata.{field}")


def add_metadata(df: DataFrame, spec: BronzeSpec) -> DataFrame:
    """Append the spec's metadata columns, in the order declared."""
    if not spec.metadata_columns:
        return df
    return df.withColumns(
        {name: metadata_column(field) for name, field in spec.metadata_columns.items()}
    )
