"""Bronze rows from Spark's own file readers (batch or stream), equal to the local runner's.

The local runner reads each micro-batch's files itself (:mod:`.reader`), which needs control of
the batches. Runtimes that run a plain Spark file stream (``spark-pipelines``, and a Databricks
notebook's Auto Loader read when medallion runs the notebook locally) build their rows here,
with the same expressions for the rescued data and corrupt record columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medallion.core.bronze import add_metadata, metadata_column

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

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

    from medallion.backends.local.autoloader.census import parse_options
    from medallion.backends.local.autoloader.rescue import json_record

    metadata = [F.col(f"`{name}`") for name in spec.metadata_columns]
    rescued_name, corrupt_name = spec.rescue_column, spec.corrupt_record_column
    if spec.incremental and spec.max_files_per_trigger is not None:
        reader = reader.option("maxFilesPerTrigger", str(spec.max_files_per_trigger))
    if spec.format == "text":
        return add_metadata(reader.format("text").options(**parse_options(spec)).load(
            spec.path), spec)
    if schema is None:  # a batch read of self-describing files (Parquet, Avro, ORC)
        # One projection on the scan, without asking for its columns (Spark Connect would
        # analyse the read while spark-pipelines registers): "*" is the data columns, and the
        # hidden _metadata column resolves against the scan itself.
        scan: DataFrame = reader.format(spec.format).options(**parse_options(spec)).load(spec.path)
        extra = ([F.lit(None).cast("string").alias(rescued_name)]
                 if rescued_name is not None else [])
        return scan.select("*", *extra, *[
            metadata_column(field).alias(name) for name, field in spec.metadata_columns.items()])
    own = {rescued_name, corrupt_name}
    schema = StructType([f for f in schema.fields if f.name not in own])
    columns = [(f.name, f.dataType) for f in schema.fields]
    if spec.format == "json":
        raw = add_metadata(reader.format("text").load(spec.path), spec).where(
            F.trim("value") != "")
        rec = json_record(
            F.col("value"), columns, F.col("_metadata.file_path"),
            options=parse_options(spec), rescue=rescued_name is not None,
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
    options = parse_options(spec)
    if corrupt_name is not None:
        read_schema = StructType([*schema.fields, StructField(corrupt_name, StringType())])
        options = {**options, "columnNameOfCorruptRecord": corrupt_name}
    df = add_metadata(reader.format(spec.format).options(**options).schema(read_schema).load(
        spec.path), spec)
    out = [F.col(f"`{name}`") for name, _ in columns]
    if rescued_name is not None:
        out.append(F.lit(None).cast("string").alias(rescued_name))
    if corrupt_name is not None:
        out.append(F.col(f"`{corrupt_name}`"))
    return df.select(*out, *metadata)


def _csv_rows(reader: Any, spec: BronzeSpec, columns: list[tuple[str, Any]]) -> DataFrame:
    """CSV bronze rows: every field a string by position, then typed and rescued (see above)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    from medallion.backends.local.autoloader.census import parse_options
    from medallion.backends.local.autoloader.reader import csv_columns

    corrupt = spec.corrupt_record_column or "_corrupt_record"
    header = [name for name, _ in columns]
    positions = [f"_c{i}" for i in range(len(header))]
    schema = StructType([StructField(p, StringType()) for p in positions]
                        + [StructField(corrupt, StringType())])
    has_header = (spec.option("header") or "false").lower() == "true"
    scan = (reader.format("csv").schema(schema).options(**parse_options(spec))
            .option("header", "true" if has_header else "false")
            .option("enforceSchema", "true").option("columnNameOfCorruptRecord", corrupt)
            .load(spec.path))
    file_path = "__medallion_file"
    src = scan.select(*positions, f"`{corrupt}`", F.col("_metadata.file_path").alias(file_path),
                      *[metadata_column(field).alias(name)
                        for name, field in spec.metadata_columns.items()])
    return csv_columns(src, spec, header, columns, lambda bad: [], file_path=F.col(file_path))
