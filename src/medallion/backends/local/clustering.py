"""Liquid clustering on the local runner: keys kept in line with the spec, OPTIMIZE when asked.

A table's clustering keys are set when it is created (``CLUSTER BY``). When the spec's
``cluster_by`` changes, the existing table is altered with ``ALTER TABLE ... CLUSTER BY``
(metadata only; data written later is clustered by the new keys, ``OPTIMIZE`` reclusters).
The keys last applied are remembered in the warehouse, so an unchanged table costs no Spark
job.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from medallion.backends.local.settings import LocalSettings
from medallion.backends.local.warehouse import Warehouse, write_json_atomic
from medallion.errors import TableRunError
from medallion.specs.base import TableSpec
from medallion.specs.sqlexpr import quote_identifier

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import SparkSession

#: Databricks' table property for its automatic OPTIMIZE; medallion reads it the same way.
AUTO_OPTIMIZE_PROPERTY = "pipelines.autoOptimize.managed"


def _layout_file(warehouse: Warehouse, schema: str, table: str) -> Path:
    return warehouse.state_file(schema, table).with_name(f"{table}.clustering.json")


def recorded(warehouse: Warehouse, schema: str, table: str) -> tuple[str, ...] | None:
    """The clustering keys medallion last applied to the table, if it knows them."""
    try:
        data = json.loads(_layout_file(warehouse, schema, table).read_text())
    except (OSError, ValueError):
        return None
    keys = data.get("cluster_by") if isinstance(data, dict) else None
    return tuple(keys) if isinstance(keys, list) else None


def remember(warehouse: Warehouse, schema: str, table: str, keys: tuple[str, ...]) -> None:
    """Record the table's clustering keys."""
    write_json_atomic(_layout_file(warehouse, schema, table), {"cluster_by": list(keys)})


def current(spark: SparkSession, schema: str, table: str) -> tuple[str, ...]:
    """The table's clustering columns, from ``DESCRIBE DETAIL``."""
    row = spark.sql(f"DESCRIBE DETAIL {_table(schema, table)}").first()
    columns = getattr(row, "clusteringColumns", None) if row is not None else None
    return tuple(columns or ())


def sync(spark: SparkSession, warehouse: Warehouse, schema: str, spec: TableSpec,
         table: str) -> bool:
    """Bring an existing table's clustering keys in line with ``spec.cluster_by``.

    Returns True when the table was altered. Call it for a registered, existing table.
    """
    wanted = spec.cluster_by if table == spec.name else ()
    if recorded(warehouse, schema, table) == wanted:
        return False
    if not wanted and recorded(warehouse, schema, table) is None:
        return False  # never clustered by medallion
    have = current(spark, schema, table)
    changed = have != wanted
    if changed:
        keys = ", ".join(quote_identifier(c) for c in wanted) if wanted else "NONE"
        clause = f"({keys})" if wanted else keys
        try:
            spark.sql(f"ALTER TABLE {_table(schema, table)} CLUSTER BY {clause}")
        except Exception as exc:  # the message names the column Delta refused
            raise TableRunError(
                table, f"cannot change its clustering keys from {list(have)} to "
                f"{list(wanted)}: {str(exc).strip().splitlines()[0]}"
            ) from exc
    remember(warehouse, schema, table, wanted)
    return changed


def wants_optimize(spec: TableSpec, settings: LocalSettings) -> bool:
    """Whether the runner should OPTIMIZE the table after writing it."""
    flag = spec.table_properties.get(AUTO_OPTIMIZE_PROPERTY, "").strip().lower()
    if flag in ("true", "false"):
        return flag == "true"
    return settings.optimize and bool(spec.cluster_by)


def optimize(spark: SparkSession, schema: str, table: str) -> None:
    """Run ``OPTIMIZE`` (for a clustered table: incremental clustering of new data)."""
    spark.sql(f"OPTIMIZE {_table(schema, table)}")


def _table(schema: str, table: str) -> str:
    return f"{quote_identifier(schema)}.{quote_identifier(table)}"
