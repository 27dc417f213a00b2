"""What columns the files of a micro-batch hold, found before anything is read or written.

- JSON: one schema-inference pass over the files (Spark's own, case-sensitive so that ``amount``
  and ``Amount`` are told apart); with ``infer_column_types=False`` every top-level column is a
  string, nested objects included (as Auto Loader).
- CSV: the header line of each file (files may differ: each is read by its own header); types
  from Spark's inference per header when ``infer_column_types=True``.
- Parquet, Avro, ORC: each file's own schema (its footer).

The same census infers the schema of a new table (:func:`infer_columns`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from medallion.backends.local.autoloader.files import csv_header, local_path
from medallion.core.bronze.options import flag, reader_options

if TYPE_CHECKING:
    from pyspark.sql import DataFrameReader, SparkSession
    from pyspark.sql.types import DataType, StructType

    from medallion.specs.bronze import BronzeSpec

@dataclass
class Census:
    """The columns found in some files.

    Attributes:
        columns: (name, Spark type) in the order first found.
        headers: CSV only: each file's header.
        file_schemas: Parquet/Avro/ORC only: each file's schema.
    """

    columns: list[tuple[str, DataType]]
    headers: dict[str, list[str]] = field(default_factory=dict)
    file_schemas: dict[str, StructType] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def _options(spec: BronzeSpec) -> dict[str, str]:
    return reader_options(spec, inferring=True, listed=True)  # inference of listed files


@contextlib.contextmanager
def case_sensitive(spark: SparkSession) -> Iterator[None]:
    """Resolve column names case-sensitively for the block (then restore the setting)."""
    key = "spark.sql.caseSensitive"
    before = spark.conf.get(key)
    spark.conf.set(key, "true")
    try:
        yield
    finally:
        spark.conf.set(key, before or "false")


def take_census(spark: SparkSession, spec: BronzeSpec, files: list[str]) -> Census:
    """The columns the files hold (see the module docstring for how, per format)."""
    if spec.format == "json":
        return _json(spark, spec, files)
    if spec.format == "csv":
        return _csv(spark, spec, files)
    if spec.format == "text":
        from pyspark.sql.types import StringType

        return Census([("value", StringType())], files=files)
    return _typed(spark, spec, files)


def files_with(spark: SparkSession, spec: BronzeSpec, census: Census,
               names: list[str]) -> dict[str, list[str]]:
    """For each column name, the files of the census that hold it (for error messages)."""
    found: dict[str, list[str]] = {name: [] for name in names}
    for uri in census.files:
        if spec.format == "csv":
            columns = census.headers.get(uri, [])
        elif spec.format == "json":
            columns = [n for n, _ in _json(spark, spec, [uri]).columns]
        else:
            schema = census.file_schemas.get(uri)
            columns = schema.fieldNames() if schema is not None else []
        for name in names:
            if name in columns:
                found[name].append(uri)
    return found


# -- JSON --------------------------------------------------------------------------------------
#: Up to this many bytes of local JSON lines, the keys are read on the driver (no Spark job).
SMALL_BATCH_BYTES = 16 * 1024 * 1024


def _json(spark: SparkSession, spec: BronzeSpec, files: list[str]) -> Census:
    from pyspark.sql.types import StringType

    if not spec.infer_column_types:
        keys = small_json_keys(spec, files)
        if keys is not None:
            return Census([(name, StringType()) for name in keys], files=files)
    reader = spark.read.options(**_options(spec))
    if not spec.infer_column_types:
        reader = reader.option("primitivesAsString", "true")
    with case_sensitive(spark):
        schema = reader.json(files).schema
    corrupt = spec.corrupt_record_column
    columns: list[tuple[str, DataType]] = []
    for f in schema.fields:
        if f.name == corrupt:
            continue  # inference adds it when a line does not parse
        columns.append((f.name, f.dataType if spec.infer_column_types else StringType()))
    return Census(columns, files=files)


def small_json_keys(spec: BronzeSpec, files: list[str]) -> list[str] | None:
    """The top-level keys of a few small local JSON-lines files, read without Spark.

    Only when every non-blank line is a JSON object that Python's parser reads as Spark's would;
    otherwise (a remote store, a large batch, ``multiLine``, a line Python cannot parse) None,
    and Spark's inference decides. Keys are sorted, as Spark's inference sorts them.
    """
    import json

    if (spec.option("multiLine") or "false").lower() == "true":
        return None
    paths = [local_path(uri) for uri in files]
    if any(p is None for p in paths):
        return None
    try:
        if sum(p.stat().st_size for p in paths if p is not None) > SMALL_BATCH_BYTES:
            return None
        keys: set[str] = set()
        for path in paths:
            assert path is not None
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except ValueError:
                        if line.lstrip().startswith("{"):
                            return None  # maybe JSON Spark accepts (comments, quotes...)
                        continue  # not an object at all: a malformed record for Spark too
                    if isinstance(record, dict):
                        keys.update(record)
                    elif isinstance(record, list):
                        return None  # Spark reads an array of objects as several records
    except (OSError, UnicodeDecodeError):
        return None
    keys.discard(spec.corrupt_record_column or "")
    return sorted(keys)


# -- CSV ---------------------------------------------------------------------------------------
def _csv_reader(spark: SparkSession, spec: BronzeSpec) -> DataFrameReader:
    return spark.read.options(**_options(spec))


def _csv(spark: SparkSession, spec: BronzeSpec, files: list[str]) -> Census:
    from pyspark.sql.types import StringType

    if (spec.option("header") or "false").lower() != "true":
        reader = _csv_reader(spark, spec).option("inferSchema", flag(spec.infer_column_types))
        with case_sensitive(spark):
            schema = reader.csv(files).schema
        return Census([(f.name, f.dataType) for f in schema.fields], files=files)
    headers = {uri: csv_header(uri, spec, spark) for uri in files}
    types: dict[str, DataType] = {}
    order: list[str] = []
    groups: dict[tuple[str, ...], list[str]] = {}
    for uri, header in headers.items():
        groups.setdefault(tuple(header), []).append(uri)
        for name in header:
            if name and name not in order:
                order.append(name)
    if spec.infer_column_types:
        for names, group in groups.items():
            reader = _csv_reader(spark, spec).option("inferSchema", "true")
            with case_sensitive(spark):
                inferred = reader.csv(group).schema
            for name, f in zip(names, inferred.fields, strict=False):
                prior = types.get(name)
                types[name] = f.dataType if prior is None or prior == f.dataType else StringType()
    columns = [(name, types.get(name, StringType())) for name in order]
    return Census(columns, headers=headers, files=files)


# -- Parquet / Avro / ORC ----------------------------------------------------------------------
#: Each file's schema, by (format, file, modification time): a footer is read once per process.
_SCHEMA_CACHE: dict[tuple[str, str, float], StructType] = {}
_SCHEMA_CACHE_SIZE = 10_000


def _stamp(spec: BronzeSpec, uri: str) -> tuple[str, str, float]:
    import os

    local = local_path(uri)
    return (spec.format, uri, os.stat(local).st_mtime if local is not None and local.exists()
            else 0.0)


def _read_schema(spark: SparkSession, spec: BronzeSpec, files: list[str],
                 merge: bool = False) -> StructType:
    reader = spark.read.format(spec.format).options(**_options(spec))
    if merge:
        reader = reader.option("mergeSchema", "true")
    with case_sensitive(spark):
        schema: StructType = reader.load(files).schema
    return schema


def _typed(spark: SparkSession, spec: BronzeSpec, files: list[str]) -> Census:
    """Each file's own schema.

    Reading one footer is one small Spark job, so when the files of a batch are many they are
    first read together (one job for every footer, Parquet/ORC schema merging): when that
    merged schema is the first file's own schema, every file can be read with it. Otherwise (or
    when merging fails on a type conflict) each file's footer is read by itself.
    """
    if len(_SCHEMA_CACHE) > _SCHEMA_CACHE_SIZE:
        _SCHEMA_CACHE.clear()
    unknown = [uri for uri in files if _stamp(spec, uri) not in _SCHEMA_CACHE]
    if len(unknown) > 2 and spec.format in ("parquet", "orc"):
        first = _read_schema(spark, spec, unknown[:1])
        try:
            merged = _read_schema(spark, spec, unknown, merge=True)
        except Exception:  # incompatible types: read them one by one
            merged = None
        if merged == first:
            for uri in unknown:
                _SCHEMA_CACHE[_stamp(spec, uri)] = first
    for uri in files:
        key = _stamp(spec, uri)
        if key not in _SCHEMA_CACHE:
            _SCHEMA_CACHE[key] = _read_schema(spark, spec, [uri])
    schemas = {uri: _SCHEMA_CACHE[_stamp(spec, uri)] for uri in files}
    columns: list[tuple[str, DataType]] = []
    seen: set[str] = set()
    for schema in schemas.values():
        for f in schema.fields:
            if f.name not in seen:
                seen.add(f.name)
                columns.append((f.name, f.dataType))
    return Census(columns, file_schemas=schemas, files=files)

