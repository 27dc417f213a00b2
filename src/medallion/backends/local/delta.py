"""Delta writes of the local runner: table creation, atomic replace, idempotent append."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from medallion.backends.local.warehouse import commit_info, latest_version
from medallion.errors import TableRunError
from medallion.specs.base import TableSpec
from medallion.specs.sqlexpr import quote_identifier

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType


#: Table property naming the pipeline that owns (writes) a table; Databricks records its
#: pipeline the same way (``pipelines.pipelineId``).
OWNER_PROPERTY = "medallion.pipeline"


_TXN_APP_ID = "spark.databricks.delta.write.txnAppId"
_TXN_VERSION = "spark.databricks.delta.write.txnVersion"


@contextlib.contextmanager
def idempotent(spark: SparkSession, txn: tuple[str, int] | None) -> Iterator[None]:
    """Within the block, Delta skips a DML commit already made with the same ``(app id, version)``.

    This is what makes a MERGE per micro-batch exactly-once: a batch replayed after a crash
    (written, but not yet recorded in the checkpoint) commits nothing the second time.
    """
    if txn is None:
        yield
        return
    spark.conf.set(_TXN_APP_ID, txn[0])
    spark.conf.set(_TXN_VERSION, str(txn[1]))
    try:
        yield
    finally:
        spark.conf.unset(_TXN_APP_ID)
        spark.conf.unset(_TXN_VERSION)


@dataclass(frozen=True)
class Target:
    """A Delta table the runner writes, with the settings it is created with."""

    schema: str
    name: str
    path: Path
    comment: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    cluster_by: tuple[str, ...] = ()
    partition_cols: tuple[str, ...] = ()
    #: The pipeline writing it, recorded as the table property ``medallion.pipeline``.
    owner: str | None = None

    @classmethod
    def of(cls, spec: TableSpec, schema: str, path: Path, owner: str | None = None) -> Target:
        """The target of a table spec."""
        return cls(schema, spec.name, path, spec.comment, spec.effective_properties,
                   spec.cluster_by, spec.partition_cols, owner)

    @property
    def qualified(self) -> str:
        """``schema.table``."""
        return f"{self.schema}.{self.name}"

    @property
    def uri(self) -> str:
        """The folder as a ``file:`` URI."""
        return self.path.as_uri()

    def version(self) -> int | None:
        """Latest Delta version, None before the table exists."""
        return latest_version(self.path)

    @property
    def has_settings(self) -> bool:
        """Whether the table is created with a comment, properties, clustering or partitions."""
        return bool(self.comment or self.properties or self.cluster_by or self.partition_cols)


def ensure_table(spark: SparkSession, target: Target, schema: StructType) -> None:
    """Create the Delta table (properties, comment, liquid clustering) unless it exists."""
    if target.version() is not None:
        spark.sql(f"CREATE TABLE IF NOT EXISTS {_name(target)} USING DELTA "
                  f"LOCATION '{target.uri}'")
        return
    _check_layout(target, schema)
    from medallion.backends.local.connect import is_connect

    if is_connect(spark):  # no DeltaTable builder without Delta's Connect plugin: SQL
        from medallion.backends.local.sqldelta import create_table

        create_table(spark, qualified=target.qualified, location=target.uri, schema=schema,
                     comment=target.comment, properties=dict(target.properties),
                     cluster_by=target.cluster_by, partition_cols=target.partition_cols)
        return
    from delta.tables import DeltaTable

    builder = (
        DeltaTable.createIfNotExists(spark)
        .tableName(target.qualified)
        .location(target.uri)
        .addColumns(schema)
    )
    if target.comment:
        builder = builder.comment(target.comment)
    for key, value in target.properties.items():
        builder = builder.property(key, value)
    if target.owner is not None:
        builder = builder.property(OWNER_PROPERTY, target.owner)
    if target.cluster_by:
        builder = builder.clusterBy(*target.cluster_by)
    if target.partition_cols:
        builder = builder.partitionedBy(*target.partition_cols)
    builder.execute()


def overwrite(df: DataFrame, target: Target, *, observed: bool = False,
              same_settings: bool = False) -> None:
    """Replace the table's rows in one commit (readers see the old or the new rows, never a mix).

    A new table is created with its settings and its rows in one commit (:func:`create`).
    A DataFrame overwrite resets Delta's clustering columns, so an existing clustered table
    is replaced with its settings in one ``CREATE OR REPLACE TABLE ... AS SELECT`` on Spark 4,
    or, on Spark 3.5 and where that would leave an ``Observation`` unfilled, overwritten and
    given its clustering again by a second, metadata-only commit. ``observed`` says that ``df``
    carries an ``Observation`` the caller reads afterwards.

    ``same_settings`` says the table already has the target's settings (its definition did not
    change since it was last written; the runner aligns clustering keys before any write).
    An existing clustered table whose columns are ``df``'s is then overwritten with
    ``replaceWhere 'true'``: one ``WRITE`` commit that keeps the clustering (and fills an
    observation) on both Spark lines, without the replace's extra table-state computations.
    """
    spark = df.sparkSession
    as_select = as_select_overwrite(spark, target) and (
        not observed or create_fills_observations(spark))
    if target.version() is None:
        if as_select and create(df, target):
            return
        ensure_table(spark, target, df.schema)
        df.write.format("delta").mode("append").save(target.uri)
        return
    _check_layout(target, df.schema)
    ensure_table(spark, target, df.schema)
    if same_settings and target.cluster_by and _same_columns(spark, target, df.schema):
        (df.write.format("delta").mode("overwrite").option("replaceWhere", "true")
         .save(target.uri))
        return
    if as_select:
        _create_as_select(df, target, replace=True)
        return
    (
        df.write.format("delta")
        .mode("overwrite")
        .option("overwriteSchema", "true")
        .partitionBy(*target.partition_cols)
        .save(target.uri)
    )
    if target.cluster_by:
        spark.sql(f"ALTER TABLE {_name(target)} CLUSTER BY ({_columns(target.cluster_by)})")


def create(df: DataFrame, target: Target, *, txn: tuple[str, int] | None = None) -> bool:
    """Create the table with its settings and its first rows in one commit.

    One ``CREATE TABLE ... AS SELECT`` carries what a separate ``CREATE TABLE`` would set
    (comment, properties, the owning pipeline, clustering or partitions) and, with
    ``txn=(app_id, version)``, the idempotent transaction, in the commit that writes the rows,
    where creating the table first costs a commit more, and one more snapshot for every later
    reader of the table. The table is registered in the session catalog by the same statement.

    As with any DataFrame write, the columns are created nullable. Returns False, having done
    nothing, when the catalog already holds the name (a table outside the pipeline's folder):
    the caller creates it the two-step way.

    On Spark 4, an ``Observation`` on ``df`` is not filled by this statement (Delta writes the
    rows in a nested execution the observation never sees); callers reading one check
    :func:`create_fills_observations` first.
    """
    _check_layout(target, df.schema)
    try:
        _create_as_select(df, target, txn=txn)
    except Exception as exc:
        if "TABLE_OR_VIEW_ALREADY_EXISTS" in str(exc) and target.version() is None:
            return False
        raise
    return True


def _create_as_select(df: DataFrame, target: Target, *, txn: tuple[str, int] | None = None,
                      replace: bool = False) -> None:
    spark = df.sparkSession
    view = f"medallion_create_{uuid.uuid4().hex}"
    df.createOrReplaceTempView(view)
    try:
        with idempotent(spark, txn):
            spark.sql(create_statement(target, f"SELECT * FROM {quote_identifier(view)}",
                                       replace=replace))
    finally:
        spark.catalog.dropTempView(view)


def create_statement(target: Target, query: str, *, replace: bool = False) -> str:
    """The ``CREATE [OR REPLACE] TABLE ... AS <query>`` giving ``target`` its settings, owner."""
    from medallion.backends.local.sqldelta import table_clauses

    properties = dict(target.properties)
    if target.owner is not None:
        properties[OWNER_PROPERTY] = target.owner
    clauses = table_clauses(location=target.uri, comment=target.comment, properties=properties,
                            cluster_by=target.cluster_by, partition_cols=target.partition_cols)
    return (f"CREATE {'OR REPLACE ' if replace else ''}TABLE {_name(target)} USING DELTA"
            f"{clauses} AS {query}")


def as_select_overwrite(spark: SparkSession, target: Target) -> bool:
    """Whether :func:`overwrite` writes ``target`` with one ``CREATE [OR REPLACE] TABLE AS``.

    A new table always (:func:`create`). An existing clustered one on Spark 4: any DataFrame
    or ``INSERT`` overwrite drops Delta's clustering, so the replace keeps it in the same
    commit (Spark 3.5's Delta refuses the replace for a table with a location: "does not
    support truncate"). Where that statement leaves an ``Observation`` unfilled
    (:func:`create_fills_observations`), an observed overwrite takes the two-step way.
    """
    if target.version() is None:
        return True
    return bool(target.cluster_by) and _spark_major(spark) >= 4


def create_fills_observations(spark: SparkSession) -> bool:
    """Whether an ``Observation`` on the rows of :func:`create` is filled (Spark 3 only).

    Spark 4 completes the observation with the outer statement's empty metrics instead.
    """
    from medallion.backends.local.connect import is_connect

    return not is_connect(spark) and _spark_major(spark) < 4


def _spark_major(spark: SparkSession) -> int:
    return int(spark.version.split(".")[0])


def _same_columns(spark: SparkSession, target: Target, schema: StructType) -> bool:
    """Whether the table's columns are ``schema``'s: names, order and types (not nullability)."""
    def columns(of: StructType) -> list[tuple[str, str]]:
        return [(f.name, f.dataType.simpleString()) for f in of.fields]

    return columns(spark.read.format("delta").load(target.uri).schema) == columns(schema)


def _check_layout(target: Target, schema: StructType) -> None:
    for what, columns in (("cluster_by", target.cluster_by),
                          ("partition_cols", target.partition_cols)):
        missing = [c for c in columns if c not in schema.fieldNames()]
        if missing:
            raise TableRunError(
                target.name,
                f"{what} column '{missing[0]}' is not a column of the table; its columns are "
                f"{', '.join(schema.fieldNames())}",
            )


def _name(target: Target) -> str:
    return f"{quote_identifier(target.schema)}.{quote_identifier(target.name)}"


def _columns(names: tuple[str, ...]) -> str:
    return ", ".join(quote_identifier(c) for c in names)


def append(df: DataFrame, target: Target, *, txn: tuple[str, int] | None = None,
           observed: bool = False) -> bool:
    """Append rows; with ``txn=(app_id, version)`` a replayed micro-batch is skipped by Delta.

    Returns False when Delta skipped the write as already done. Then no Spark job ran, so an
    ``Observation`` on ``df`` is never filled: reading it would block forever. A new table is
    created by this write, in one commit (:func:`create`); ``observed`` says that ``df``
    carries an ``Observation`` the caller reads afterwards.
    """
    spark = df.sparkSession
    before = target.version()
    if before is None and (not observed or create_fills_observations(spark)) and create(
            df, target, txn=txn):
        return True
    creating = before is None and not target.has_settings
    if not creating:
        ensure_table(spark, target, df.schema)
        before = target.version()
    # else this write creates the table: no separate empty commit first, and no lookup of the
    # idempotent transaction in a table that holds nothing yet (Delta computes the table's full
    # state for that lookup, a Spark job costing about a second)
    writer = df.write.format("delta").mode("append").option("mergeSchema", "true")
    if txn is not None:
        writer = writer.option("txnAppId", txn[0]).option("txnVersion", str(txn[1]))
    writer.save(target.uri)
    if creating:
        ensure_table(spark, target, df.schema)  # registers it in the catalog
        if target.owner is not None:
            set_owner(spark, target.path, target.owner)
    return target.version() != before


def set_owner(spark: SparkSession, path: Path, owner: str) -> None:
    """Record the pipeline owning the table (one metadata commit)."""
    value = owner.replace("'", "\\'")
    spark.sql(f"ALTER TABLE delta.{quote_identifier(path.as_uri())} "
              f"SET TBLPROPERTIES ('{OWNER_PROPERTY}' = '{value}')")


def size_in_bytes(spark: SparkSession, path: Path) -> int:
    """The bytes of a Delta table's live files at its latest version.

    Read from that version's checksum file (``.crc``, ``tableSizeBytes``) when Delta wrote
    one: a file read, where ``DESCRIBE DETAIL`` (the fallback) plans a query and loads the
    snapshot.
    """
    version = latest_version(path)
    if version is not None:
        try:
            checksum = json.loads((path / "_delta_log" / f"{version:020d}.crc").read_text())
            return int(checksum["tableSizeBytes"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    detail = spark.sql(f"DESCRIBE DETAIL delta.{quote_identifier(str(path))}").first()
    return int(detail["sizeInBytes"] or 0) if detail is not None else 0


def rows_written(target: Target, before: int | None) -> int:
    """Rows the commits after version ``before`` wrote (inserted + updated), from the Delta log."""
    after = target.version()
    if after is None:
        return 0
    total = 0
    start = -1 if before is None else before
    for version in range(start + 1, after + 1):
        metrics = commit_info(target.path, version).get("operationMetrics") or {}
        if "numTargetRowsInserted" in metrics:  # MERGE
            total += int(metrics.get("numTargetRowsInserted", 0))
            total += int(metrics.get("numTargetRowsUpdated", 0))
        else:
            total += int(metrics.get("numOutputRows", 0))
    return total
