"""Delta's Python API as SQL, for Spark Connect servers without Delta's Connect plugin.

``delta.tables.DeltaTable`` under Spark Connect sends Delta's own protocol messages, which only
a server started with ``io.delta:delta-connect-server`` understands. Every Delta-enabled server
understands SQL, so under Spark Connect the local runner creates tables, merges and deletes
with the equivalent statements (``CREATE TABLE``, ``MERGE INTO``, ``DELETE FROM``) through
these small stand-ins, which offer the subset of ``DeltaTable``'s methods the runner calls.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from medallion.specs.sqlexpr import quote_identifier

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType


def quoted(name: str) -> str:
    """A backquoted identifier (names already backquoted are kept)."""
    if name.startswith("`") and name.endswith("`"):
        return name
    return quote_identifier(name)


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def column_ddl(schema: StructType) -> str:
    """The column list of ``CREATE TABLE`` for ``schema`` (types, NOT NULL, comments)."""
    parts = []
    for f in schema.fields:
        part = f"{quoted(f.name)} {f.dataType.simpleString()}"
        if not f.nullable:
            part += " NOT NULL"
        comment = (f.metadata or {}).get("comment")
        if comment:
            part += f" COMMENT {literal(str(comment))}"
        parts.append(part)
    return ", ".join(parts)


def create_table(spark: SparkSession, *, qualified: str, location: str, schema: StructType,
                 comment: str | None, properties: dict[str, str],
                 cluster_by: tuple[str, ...], partition_cols: tuple[str, ...]) -> None:
    """``CREATE TABLE IF NOT EXISTS`` with what ``DeltaTable.createIfNotExists`` would set."""
    name = ".".join(quoted(p) for p in qualified.split("."))
    spark.sql(f"CREATE TABLE IF NOT EXISTS {name} ({column_ddl(schema)}) USING DELTA"
              + table_clauses(location=location, comment=comment, properties=properties,
                              cluster_by=cluster_by, partition_cols=partition_cols))


def table_clauses(*, location: str, comment: str | None, properties: dict[str, str],
                  cluster_by: tuple[str, ...], partition_cols: tuple[str, ...]) -> str:
    """The clauses of ``CREATE TABLE`` after ``USING DELTA``: layout, location, comment, props."""
    sql = ""
    if partition_cols:
        sql += f" PARTITIONED BY ({', '.join(quoted(c) for c in partition_cols)})"
    if cluster_by:
        sql += f" CLUSTER BY ({', '.join(quoted(c) for c in cluster_by)})"
    sql += f" LOCATION {literal(location)}"
    if comment:
        sql += f" COMMENT {literal(comment)}"
    if properties:
        props = ", ".join(f"{literal(k)} = {literal(v)}" for k, v in properties.items())
        sql += f" TBLPROPERTIES ({props})"
    return sql


def _assignments(values: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for column, expr in values.items():
        if not isinstance(expr, str):
            from medallion.errors import BackendError

            raise BackendError(
                f"MERGE value for column {column!r} is a Column object; under Spark Connect "
                "without Delta's Connect plugin medallion merges with SQL and needs a SQL "
                "expression string"
            )
        out.append((quoted(column), expr))
    return out


@dataclass
class SqlMerge:
    """``DeltaTable.merge(...)``'s builder, executed as one ``MERGE INTO`` statement."""

    table: SqlDeltaTable
    source: DataFrame
    condition: str
    clauses: list[str] = field(default_factory=list)

    def _when(self, kind: str, condition: str | None, action: str) -> SqlMerge:
        cond = f" AND ({condition})" if condition else ""
        self.clauses.append(f"WHEN {kind}{cond} THEN {action}")
        return self

    def whenMatchedUpdate(self, condition: str | None = None,
                          set: dict[str, Any] | None = None) -> SqlMerge:
        """``WHEN MATCHED [AND cond] THEN UPDATE SET ...``."""
        sets = ", ".join(f"t.{c} = {e}" for c, e in _assignments(set or {}))
        return self._when("MATCHED", condition, f"UPDATE SET {sets}")

    def whenMatchedUpdateAll(self, condition: str | None = None) -> SqlMerge:
        """``WHEN MATCHED [AND cond] THEN UPDATE SET *``."""
        return self._when("MATCHED", condition, "UPDATE SET *")

    def whenMatchedDelete(self, condition: str | None = None) -> SqlMerge:
        """``WHEN MATCHED [AND cond] THEN DELETE``."""
        return self._when("MATCHED", condition, "DELETE")

    def whenNotMatchedInsert(self, condition: str | None = None,
                             values: dict[str, Any] | None = None) -> SqlMerge:
        """``WHEN NOT MATCHED [AND cond] THEN INSERT (...) VALUES (...)``."""
        pairs = _assignments(values or {})
        action = (f"INSERT ({', '.join(c for c, _ in pairs)}) "
                  f"VALUES ({', '.join(e for _, e in pairs)})")
        return self._when("NOT MATCHED", condition, action)

    def whenNotMatchedInsertAll(self, condition: str | None = None) -> SqlMerge:
        """``WHEN NOT MATCHED [AND cond] THEN INSERT *``."""
        return self._when("NOT MATCHED", condition, "INSERT *")

    def whenNotMatchedBySourceDelete(self, condition: str | None = None) -> SqlMerge:
        """``WHEN NOT MATCHED BY SOURCE [AND cond] THEN DELETE``."""
        return self._when("NOT MATCHED BY SOURCE", condition, "DELETE")

    def whenNotMatchedBySourceUpdate(
            self, condition: str | None = None, set: dict[str, Any] | None = None) -> SqlMerge:
        """``WHEN NOT MATCHED BY SOURCE [AND cond] THEN UPDATE SET ...``."""
        sets = ", ".join(f"t.{c} = {e}" for c, e in _assignments(set or {}))
        return self._when("NOT MATCHED BY SOURCE", condition, f"UPDATE SET {sets}")

    def sql(self, view: str) -> str:
        """The statement, reading the source from the temporary view ``view``."""
        return (f"MERGE INTO delta.{quoted(self.table.uri)} AS t USING {quoted(view)} AS s "
                f"ON {self.condition} " + " ".join(self.clauses))

    def execute(self) -> None:
        """Run the MERGE (the source goes through a temporary view dropped afterwards)."""
        spark = self.table.spark
        view = f"medallion_merge_source_{uuid.uuid4().hex}"
        self.source.createOrReplaceTempView(view)
        try:
            spark.sql(self.sql(view))
        finally:
            spark.catalog.dropTempView(view)


@dataclass
class SqlDeltaTable:
    """The Delta table at ``uri`` (aliased ``t``), as ``DeltaTable.forPath(...).alias("t")``."""

    spark: SparkSession
    uri: str

    def alias(self, name: str) -> SqlDeltaTable:
        """Merge conditions always call the target ``t``; any other alias is refused."""
        if name != "t":  # pragma: no cover - the runner always uses t
            raise ValueError(f"the SQL route names the target 't', not {name!r}")
        return self

    def merge(self, source: DataFrame, condition: str) -> SqlMerge:
        """Start a MERGE of ``source`` (aliased ``s``) on ``condition``."""
        return SqlMerge(self, source, condition)

    def delete(self, condition: str) -> None:
        """``DELETE FROM`` the table where ``condition`` holds."""
        self.spark.sql(f"DELETE FROM delta.{quoted(self.uri)} WHERE {condition}")
