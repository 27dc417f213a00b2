"""Bronze rows from Spark's own file readers (batch or stream), equal to the local runner's.

The local runner reads each micro-batch's files itself
(:mod:`medallion.backends.local.autoloader.reader`), which needs control of the batches.
Runtimes that run a plain Spark file stream (``spark-pipelines``, and a Databricks notebook's
Auto Loader read when medallion runs the notebook locally) build their rows here, with the same
expressions for the rescued data and corrupt record columns.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import TYPE_CHECKING, Any

from medallion.core.bronze import add_metadata, metadata_column
from medallion.core.bronze.options import FILE_CHOOSING, reader_options
from medallion.core.bronze.rescue import fits, json_record, rescued_struct, typed
from medallion.specs.sqlexpr import quote_identifier

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import DataType

    from medallion.specs.bronze import BronzeSpec


def bronze_rows(reader: Any, spec: BronzeSpec, schema: Any) -> DataFrame:
    """Bronze rows of ``spec``'s files, from a batch or stream ``reader``, as the local runner's.

    ``schema`` is the StructType of the files' columns (None for ``text``, and for a batch read
    of Parquet, Avro or ORC files, whose own schema is used); bronze's own rescued data and
    corrupt record columns are left out of it if present (an inferred JSON schema has
    ``_corrupt_record`` when a record is malformed). The reader is a stream when
    ``spec.incremental``, with ``spec.max_files_per_trigger`` applied.

    Columns, in order: the schema's, the rescued data column, the corrupt record column (JSON,
    CSV), the metadata columns. JSON records are parsed from their text with the local runner's
    expressions, so a value that does not fit its column, an unknown field or a malformed line
    lands in the same column with the same content. CSV fields are read as strings by
    position (the schema's columns, as in the files' header) and converted with the local
    runner's expressions: a value that does not convert is rescued, a line with the wrong
    number of fields is malformed. Parquet, Avro and ORC are read by Spark's readers with the
    schema, and the rescued data column stays NULL (docs/spark-pipelines.md lists this).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    metadata = [F.col(quote_identifier(name)) for name in spec.metadata_columns]
    rescued_name, corrupt_name = spec.rescue_column, spec.corrupt_record_column
    if spec.incremental and spec.max_files_per_trigger is not None:
        reader = reader.option("maxFilesPerTrigger", str(spec.max_files_per_trigger))
    if spec.format == "text":
        return add_metadata(reader.format("text").options(**_options(spec)).load(
            spec.path), spec)
    if schema is None:  # a batch read of self-describing files (Parquet, Avro, ORC)
        # One projection on the scan, without asking for its columns (Spark Connect would
        # analyse the read while spark-pipelines registers): "*" is the data columns, and the
        # hidden _metadata column resolves against the scan itself.
        scan: DataFrame = reader.format(spec.format).options(**_options(spec)).load(spec.path)
        extra = ([F.lit(None).cast("string").alias(rescued_name)]
                 if rescued_name is not None else [])
        return scan.select("*", *extra, *[
            metadata_column(field).alias(name) for name, field in spec.metadata_columns.items()])
    own = {rescued_name, corrupt_name}
    schema = StructType([f for f in schema.fields if f.name not in own])
    columns = [(f.name, f.dataType) for f in schema.fields]
    if spec.format == "json":
        raw = add_metadata(reader.format("text").options(**choosing(spec)).load(spec.path),
                           spec).where(F.trim("value") != "")
        rec = json_record(
            F.col("value"), columns, F.col("_metadata.file_path"),
            options=reader_options(spec, inferring=False, listed=True),
            rescue=rescued_name is not None,
            rescue_unknown=spec.evolution_mode in ("rescue", "none"), rescue_case=True)
        out = [rec.values[name].alias(name) for name, _ in columns]
        if rescued_name is not None:
            out.append(rec.rescued.alias(rescued_name))
        if corrupt_name is not None:
            out.append(rec.corrupt.alias(corrupt_name))
        return raw.select(*out, *metadata)
    if spec.format == "csv":
        return _csv_rows(reader, spec, columns)
    read_schema = schema
    options = _options(spec)
    if corrupt_name is not None:
        read_schema = StructType([*schema.fields, StructField(corrupt_name, StringType())])
        options = {**options, "columnNameOfCorruptRecord": corrupt_name}
    df = add_metadata(reader.format(spec.format).options(**options).schema(read_schema).load(
        spec.path), spec)
    out = [F.col(quote_identifier(name)) for name, _ in columns]
    if rescued_name is not None:
        out.append(F.lit(None).cast("string").alias(rescued_name))
    if corrupt_name is not None:
        out.append(F.col(quote_identifier(corrupt_name)))
    return df.select(*out, *metadata)


def _csv_rows(reader: Any, spec: BronzeSpec, columns: list[tuple[str, Any]]) -> DataFrame:
    """CSV bronze rows: every field a string by position, then typed and rescued (see above)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    corrupt = spec.corrupt_record_column or "_corrupt_record"
    header = [name for name, _ in columns]
    positions = [f"_c{i}" for i in range(len(header))]
    schema = StructType([StructField(p, StringType()) for p in positions]
                        + [StructField(corrupt, StringType())])
    has_header = (spec.option("header") or "false").lower() == "true"
    scan = (reader.format("csv").schema(schema).options(**_options(spec))
            .option("header", "true" if has_header else "false")
            .option("enforceSchema", "true").option("columnNameOfCorruptRecord", corrupt)
            .load(spec.path))
    file_path = "__medallion_file"
    src = scan.select(*positions, quote_identifier(corrupt),
                      F.col("_metadata.file_path").alias(file_path),
                      *[metadata_column(field).alias(name)
                        for name, field in spec.metadata_columns.items()])
    return csv_columns(src, spec, header, columns, lambda bad: [], file_path=F.col(file_path))


def _options(spec: BronzeSpec) -> dict[str, str]:
    # This reads spec.path itself, so the options that choose files (pathGlobFilter,
    # recursiveFileLookup, modifiedBefore/After) are kept: the local runner lists files with
    # them, and a reader without them would ingest files the local runner never reads.
    return reader_options(spec, inferring=False, listed=False)


def choosing(spec: BronzeSpec) -> dict[str, str]:
    """The options of ``spec`` that choose which files are read (see ``FILE_CHOOSING``)."""
    return {k: v for k, v in spec.options.items() if k.lower() in FILE_CHOOSING}


def finish(df: DataFrame, spec: BronzeSpec, data: list[Column], rescued: Column,
           corrupt: Column | None) -> DataFrame:
    """Bronze's columns: ``data``, the rescued data and corrupt record columns, the metadata."""
    from pyspark.sql import functions as F

    out = list(data)
    if spec.rescue_column is not None:
        out.append(rescued.alias(spec.rescue_column))
    if spec.corrupt_record_column is not None and corrupt is not None:
        out.append(corrupt.alias(spec.corrupt_record_column))
    out += [F.col(quote_identifier(name)) for name in spec.metadata_columns]
    return df.select(*out)



def csv_columns(src: DataFrame, spec: BronzeSpec, header: list[str],
                columns: list[tuple[str, DataType]] | tuple[tuple[str, DataType], ...],
                extra: Callable[[Column], list[tuple[str, Column, Column]]],
                file_path: Column) -> DataFrame:
    """Bronze rows from CSV fields read as strings ``_c0, _c1, ...`` (named by ``header``).

    Each of ``columns`` takes the field of its name converted to its type; a value that does
    not convert becomes NULL and goes to the rescued data column (with the fields ``extra``
    gives), or without one the raw row goes to the corrupt record column. ``src`` has the
    positional fields, the corrupt record column and the metadata columns.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    corrupt = spec.corrupt_record_column or "_corrupt_record"
    positions = [f"_c{i}" for i in range(len(header))]
    bad = F.col(quote_identifier(corrupt)).isNotNull()
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(name, i)
    data: list[Column] = []
    entries: list[tuple[str, Column, Column]] = []
    for name, type_ in columns:
        if name not in index:
            data.append(F.lit(None).cast(type_).alias(name))
            continue
        text = F.col(positions[index[name]])
        value = typed(text, type_)
        data.append(F.when(bad, F.lit(None).cast(type_)).otherwise(value).alias(name))
        if not isinstance(type_, StringType):
            entries.append((name, text, ~bad & ~fits(text, value, type_)))
    entries += extra(bad)
    rescued = rescued_struct(entries, file_path)
    if spec.rescue_column is not None:
        rescued = F.when(bad, F.to_json(F.struct(file_path.alias("_file_path")))).otherwise(
            rescued)
        corrupt_out = F.when(bad, F.col(quote_identifier(corrupt)))
    else:  # without a rescued data column, a value that does not fit keeps the raw row
        misfit = reduce(lambda a, b: a | b, [cond for _, _, cond in entries], F.lit(False))
        corrupt_out = F.when(bad | misfit, F.coalesce(F.col(quote_identifier(corrupt)), F.concat_ws(
            spec.option("sep") or spec.option("delimiter") or ",", *positions)))
    return finish(src, spec, data, rescued, corrupt_out)
