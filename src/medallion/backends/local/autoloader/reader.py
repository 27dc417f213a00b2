"""Read the files of one micro-batch (or a snapshot) into bronze rows, losing nothing.

Output columns, in order: the schema's columns, the rescued data column, the corrupt record
column (JSON and CSV), then the spec's metadata columns.

- JSON: rows are parsed by Spark's JSON reader with the schema plus the corrupt record column;
  the few rows it flags (a type mismatch or a malformed record) are re-parsed by
  :func:`~medallion.core.bronze.rescue.json_record`. When the census found fields to rescue
  in these files (or with ``multiLine``), every row is parsed from its text instead.
- CSV: files are grouped by header and each group is read by its own header, so columns are
  matched by name, not position; a row with the wrong number of fields is malformed.
- Parquet, Avro, ORC: files are grouped by their own schema; a column whose type differs from
  the schema is converted, or rescued when a value does not convert.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce
from typing import TYPE_CHECKING

from medallion.backends.local.autoloader.census import Census
from medallion.backends.local.autoloader.evolution import BatchPlan
from medallion.core.bronze import metadata_column
from medallion.core.bronze.options import reader_options
from medallion.core.bronze.rescue import flagged_json_record, json_record, rescued_struct
from medallion.core.bronze.rows import csv_columns, finish
from medallion.core.compat import try_cast
from medallion.specs.sqlexpr import quote_identifier

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import DataType

    from medallion.specs.bronze import BronzeSpec

_FILE = "__medallion_file"


def read_files(
    spark: SparkSession,
    spec: BronzeSpec,
    files: list[str],
    plan: BatchPlan[DataType],
    census: Census,
) -> DataFrame:
    """The bronze rows of ``files`` read with ``plan``'s schema."""
    if spec.format == "json":
        return _json(spark, spec, files, plan)
    if spec.format == "csv":
        return _csv(spark, spec, files, plan, census)
    if spec.format == "text":
        df = spark.read.options(**_options(spec)).text(files)
        return df.select("value", *_metadata(spec))
    return _typed(spark, spec, files, plan, census)


def _options(spec: BronzeSpec) -> dict[str, str]:
    return reader_options(spec, inferring=False, listed=True)  # the files are listed


def _metadata(spec: BronzeSpec) -> list[Column]:
    return [metadata_column(field).alias(name) for name, field in spec.metadata_columns.items()]


def _source(df: DataFrame, spec: BronzeSpec, *columns: Column | str) -> DataFrame:
    """Keep ``columns`` plus the file path and the metadata columns (from ``_metadata``)."""
    from pyspark.sql import functions as F

    return df.select(*columns, F.col("_metadata.file_path").alias(_FILE), *_metadata(spec))


# -- JSON ----------------------------------------------------------------------------------------
def _json(spark: SparkSession, spec: BronzeSpec, files: list[str],
          plan: BatchPlan[DataType]) -> DataFrame:
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    corrupt = spec.corrupt_record_column or "_corrupt_record"
    options = _options(spec)
    multiline = (spec.option("multiLine") or "false").lower() == "true"
    columns = list(plan.columns)
    rescue = spec.rescue_column is not None

    def record(raw: Column, file_path: Column) -> tuple[dict[str, Column], Column, Column]:
        rec = json_record(raw, columns, file_path, options=options, rescue=rescue,
                          rescue_unknown=plan.rescue_unknown, rescue_case=plan.rescue_case)
        return rec.values, rec.rescued, rec.corrupt

    if plan.needs_row_rescue or multiline:
        text_options = {k: v for k, v in options.items() if k.lower() in ("linesep",)}
        if multiline:
            text_options["wholetext"] = "true"
        raw = _source(spark.read.options(**text_options).text(files), spec, "value")
        if multiline:  # one file holds one record or an array of records
            records = F.when(
                F.ltrim("value").startswith("["),
                F.coalesce(F.from_json("value", "array<string>", options),
                           F.array("value")),
            ).otherwise(F.array("value"))
            raw = raw.withColumn("value", F.explode(records))
        raw = raw.where(F.trim("value") != "")
        values, rescued, bad = record(F.col("value"), F.col(_FILE))
        data = [values[name].alias(name) for name, _ in columns]
        return finish(raw, spec, data, rescued, bad)

    schema = StructType([StructField(n, t) for n, t in columns]
                        + [StructField(corrupt, StringType())])
    src = _source(spark.read.schema(schema).options(**options).json(files), spec,
                  *[quote_identifier(n) for n, _ in columns], quote_identifier(corrupt))
    flagged = F.col(quote_identifier(corrupt)).isNotNull()
    rec = flagged_json_record(F.col(quote_identifier(corrupt)), columns, F.col(_FILE),
                              rescue=rescue)
    values, rescued, bad = rec.values, rec.rescued, rec.corrupt
    data = [F.when(flagged, values[n]).otherwise(F.col(quote_identifier(n))).alias(n)
            for n, _ in columns]
    return finish(src, spec, data, F.when(flagged, rescued), F.when(flagged, bad))


# -- CSV -----------------------------------------------------------------------------------------
def _csv(spark: SparkSession, spec: BronzeSpec, files: list[str], plan: BatchPlan[DataType],
         census: Census) -> DataFrame:
    header = (spec.option("header") or "false").lower() == "true"
    groups: dict[tuple[str, ...], list[str]] = {}
    for uri in files:
        names = census.headers.get(uri, []) if header else [n for n, _ in plan.columns]
        groups.setdefault(tuple(names), []).append(uri)
    frames = [_csv_group(spark, spec, list(names), group, plan, header)
              for names, group in groups.items()]
    return reduce(lambda a, b: a.unionByName(b), frames)


def _csv_group(spark: SparkSession, spec: BronzeSpec, header: list[str], files: list[str],
               plan: BatchPlan[DataType], has_header: bool) -> DataFrame:
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    corrupt = spec.corrupt_record_column or "_corrupt_record"
    positions = [f"_c{i}" for i in range(len(header))]
    schema = StructType([StructField(p, StringType()) for p in positions]
                        + [StructField(corrupt, StringType())])
    reader = (spark.read.schema(schema).options(**_options(spec))
              .option("header", "true" if has_header else "false")
              .option("enforceSchema", "true"))
    src = _source(reader.csv(files), spec, *positions, quote_identifier(corrupt))
    return csv_columns(src, spec, header, plan.columns,
                       lambda bad: _extra_entries(header, plan, lambda i: F.col(positions[i]),
                                                  bad), file_path=F.col(_FILE))


def _extra_entries(names: list[str], plan: BatchPlan[DataType],
                   column: Callable[[int], Column], bad: Column
                   ) -> list[tuple[str, Column, Column]]:
    """Rescue candidates for the file columns the schema does not have (unknown or case)."""
    exact = {n for n, _ in plan.columns}
    folded = {n.lower() for n, _ in plan.columns}
    out: list[tuple[str, Column, Column]] = []
    taken: set[str] = set()
    for i, name in enumerate(names):
        if not name or name in exact or name in taken:
            continue
        wanted = plan.rescue_case if name.lower() in folded else plan.rescue_unknown
        if wanted:
            taken.add(name)
            out.append((name, column(i), ~bad))
    return out


# -- Parquet / Avro / ORC ------------------------------------------------------------------------
def _typed(spark: SparkSession, spec: BronzeSpec, files: list[str], plan: BatchPlan[DataType],
           census: Census) -> DataFrame:
    groups: dict[str, list[str]] = {}
    schemas = {}
    for uri in files:
        schema = census.file_schemas[uri]
        groups.setdefault(schema.json(), []).append(uri)
        schemas[schema.json()] = schema
    frames = [_typed_group(spark, spec, schemas[key], group, plan)
              for key, group in groups.items()]
    return reduce(lambda a, b: a.unionByName(b), frames)


def _typed_group(spark: SparkSession, spec: BronzeSpec, schema: object, files: list[str],
                 plan: BatchPlan[DataType]) -> DataFrame:
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructType

    assert isinstance(schema, StructType)
    reader = spark.read.format(spec.format).schema(schema).options(**_options(spec))
    src = _source(reader.load(files), spec, *[quote_identifier(n) for n in schema.fieldNames()])
    types = {f.name: f.dataType for f in schema.fields}
    data: list[Column] = []
    entries: list[tuple[str, Column, Column]] = []
    for name, type_ in plan.columns:
        if name not in types:
            data.append(F.lit(None).cast(type_).alias(name))
            continue
        source = F.col(quote_identifier(name))
        if types[name] == type_:
            data.append(source.alias(name))
            continue
        value = (try_cast(source, type_) if _castable(types[name], type_)
                 else F.lit(None).cast(type_))
        data.append(value.alias(name))
        entries.append((name, source, source.isNotNull() & value.isNull()))
    names = schema.fieldNames()
    entries += _extra_entries(names, plan, lambda i: F.col(quote_identifier(names[i])),
                              F.lit(False))
    return finish(src, spec, data, rescued_struct(entries, F.col(_FILE)), None)


def _castable(source: DataType, target: DataType) -> bool:
    from pyspark.sql.types import ArrayType, MapType, StructType

    complex_types = (StructType, ArrayType, MapType)
    return not isinstance(source, complex_types) and not isinstance(target, complex_types)
