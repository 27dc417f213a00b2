"""What a bronze table IS, for every backend: its Auto Loader reader settings and metadata.

The metadata columns are what bronze adds to the rows it reads (file metadata, ingestion time).

:func:`autoloader_options` and :func:`autoloader_schema` are pure: they turn a
:class:`~medallion.specs.bronze.BronzeSpec` into the ``cloudFiles`` stream a Databricks pipeline
runs; the local runner implements the same settings itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from medallion.specs.bronze import TEXT_FORMATS, BronzeSpec
from medallion.specs.ddl import DdlColumn, columns_ddl

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


def autoloader_options(spec: BronzeSpec) -> dict[str, str]:
    """Every reader option of the ``cloudFiles`` stream for ``spec`` (not ``schemaLocation``).

    The rescued data column is Auto Loader's documented ``rescuedDataColumn`` option (a file
    format option, without the ``cloudFiles.`` prefix). Options that Databricks would otherwise
    default differently from medallion are given
    explicitly (the evolution mode, the rescued data column, the corrupt record column), so the
    stream means the same thing on Databricks as on the local runner. For JSON and CSV the
    corrupt record column is declared (through ``cloudFiles.schemaHints`` when the schema is
    inferred, or :func:`autoloader_schema` when it is given) so that a malformed record keeps its
    raw text instead of becoming a row of NULLs.

    Example:
        >>> from medallion import BronzeSpec
        >>> spec = BronzeSpec(name="b", path="/raw", format="json", schema_hints="amount DOUBLE")
        >>> autoloader_options(spec)  # doctest: +NORMALIZE_WHITESPACE
        {'cloudFiles.format': 'json', 'cloudFiles.schemaEvolutionMode': 'addNewColumns',
         'cloudFiles.includeExistingFiles': 'true', 'cloudFiles.inferColumnTypes': 'false',
         'cloudFiles.schemaHints': '`amount` DOUBLE, `_corrupt_record` STRING',
         'rescuedDataColumn': '_rescued_data',
         'columnNameOfCorruptRecord': '_corrupt_record'}
    """
    options: dict[str, str] = {"cloudFiles.format": spec.format}
    if spec.format != "text":
        options["cloudFiles.schemaEvolutionMode"] = spec.evolution_mode
    options["cloudFiles.includeExistingFiles"] = _flag(spec.include_existing_files)
    if spec.max_files_per_trigger is not None:
        options["cloudFiles.maxFilesPerTrigger"] = str(spec.max_files_per_trigger)
    inferring = spec.schema_ is None and spec.format != "text"
    if inferring:
        options["cloudFiles.inferColumnTypes"] = _flag(spec.infer_column_types)
        hints = list(spec.declared_columns)
        corrupt = spec.corrupt_record_column
        if corrupt is not None:  # never among the hints: the spec rejects that
            hints.append(DdlColumn(corrupt, "STRING"))
        if hints:
            options["cloudFiles.schemaHints"] = columns_ddl(hints)
    if spec.rescue_column is not None:
        options["rescuedDataColumn"] = spec.rescue_column
    if spec.format in TEXT_FORMATS and spec.corrupt_record_column is not None:
        options["columnNameOfCorruptRecord"] = spec.corrupt_record_column
    for key, value in spec.options.items():
        options.setdefault(key, value)
    return options


def autoloader_schema(spec: BronzeSpec) -> str | None:
    """The DDL schema to give the ``cloudFiles`` reader, or None when Auto Loader infers it.

    The declared ``schema`` plus, for JSON and CSV, the corrupt record column (a malformed
    record keeps its raw text there).

    Example:
        >>> from medallion import BronzeSpec
        >>> autoloader_schema(BronzeSpec(name="b", path="/raw", schema="id BIGINT"))
        '`id` BIGINT, `_corrupt_record` STRING'
    """
    if spec.schema_ is None:
        return None
    columns = list(spec.declared_columns)
    corrupt = spec.corrupt_record_column
    if corrupt is not None:
        columns.append(DdlColumn(corrupt, "STRING"))
    return columns_ddl(columns)


def _flag(value: bool) -> str:
    return "true" if value else "false"


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
    out = [F.col(_quote(c)) for c in df.columns if c not in own and c not in meta]
    for name in own:
        out.append(F.col(_quote(name)) if name in present
                   else F.lit(None).cast("string").alias(name))
    return df.select(*out, *[F.col(_quote(c)) for c in meta])


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def reader_options(spec: BronzeSpec, *, inferring: bool) -> dict[str, str]:
    """Spark file-reader options for ``spec``; ``inferring`` when Spark infers the schema.

    Without ``infer_column_types``, inferred JSON and CSV columns are strings, as Auto Loader's
    ``cloudFiles.inferColumnTypes=false`` (the default) makes them.

    Example:
        >>> from medallion import BronzeSpec
        >>> reader_options(BronzeSpec(name="b", path="/x", format="json"), inferring=True)
        {'primitivesAsString': 'true'}
    """
    options = dict(spec.options)
    if inferring and spec.format == "json" and not spec.infer_column_types:
        options.setdefault("primitivesAsString", "true")
    if inferring and spec.format == "csv":
        options.setdefault("inferSchema", "true" if spec.infer_column_types else "false")
    return options
