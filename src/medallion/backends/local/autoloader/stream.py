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
    lands in the same column with the same content. Other formats are read by Spark's readers:
    a CSV line Spark cannot parse keeps its text in the corrupt record column, and the rescued
    data column stays NULL (docs/spark-pipelines.md lists this difference).
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
    read_schema = schema
    options = parse_options(spec)
    if corrupt_name is not None:  # CSV: Spark's reader keeps a malformed line's text
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
