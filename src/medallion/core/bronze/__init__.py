"""What a bronze table IS, for every backend: its reader settings, metadata, rows and rescue.

- :mod:`.options`: the ``cloudFiles`` stream's options and schema (Databricks), and the one
  function giving the options of Spark's own file readers (:func:`reader_options`);
- this module: the metadata columns bronze adds to the rows it reads (file metadata,
  ingestion time), and the order of a bronze table's columns;
- :mod:`.rows`: bronze rows from a plain Spark file reader (batch or stream);
- :mod:`.rescue`: the rescued data and corrupt record columns, per row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from medallion.core.bronze.options import autoloader_options, autoloader_schema, reader_options
from medallion.specs.sqlexpr import quote_identifier

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from medallion.specs.bronze import BronzeSpec

__all__ = [
    "add_metadata",
    "autoloader_options",
    "autoloader_schema",
    "metadata_column",
    "ordered_columns",
    "reader_options",
]


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


def ordered_columns(df: DataFrame, spec: BronzeSpec) -> DataFrame:
    """A bronze read's columns in the local runner's order, with bronze's own columns present.

    Data columns, then the rescued data column, the corrupt record column (JSON and CSV; NULL
    when the reader added none because no record was malformed), then the metadata columns.
    """
    from pyspark.sql import functions as F

    own = [c for c in (spec.rescue_column, spec.corrupt_record_column) if c is not None]
    meta = list(spec.metadata_columns)
    present = set(df.columns)
    out = [F.col(quote_identifier(c)) for c in df.columns if c not in own and c not in meta]
    for name in own:
        out.append(F.col(quote_identifier(name)) if name in present
                   else F.lit(None).cast("string").alias(name))
    return df.select(*out, *[F.col(quote_identifier(c)) for c in meta])
