"""MERGE on the local runner: idempotent per micro-batch, with the counts Databricks reports."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from medallion.backends.local import caching
from medallion.backends.local.delta import Target
from medallion.backends.local.delta import idempotent as idempotent  # re-exported
from medallion.backends.local.warehouse import commit_info

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, SparkSession

    from medallion.backends.local.sqldelta import SqlDeltaTable

@contextlib.contextmanager
def cached(source: DataFrame) -> Iterator[tuple[DataFrame, int]]:
    """The MERGE source computed once and kept for the block, with its row count.

    A MERGE evaluates its source more than once (to find the files it touches, then to write
    them); when the source scans a table or folds a history, computing it once is cheaper.
    """
    kept = caching.keep(source)
    try:
        yield kept, kept.count()
    finally:
        kept.unpersist()


def table(spark: SparkSession, target: Target) -> DeltaTable | SqlDeltaTable:
    """The Delta table of ``target`` (aliased ``t``); see :func:`table_at`."""
    return table_at(spark, target.uri)


def table_at(spark: SparkSession, uri: str) -> DeltaTable | SqlDeltaTable:
    """The Delta table at ``uri`` (aliased ``t`` for merge conditions).

    Under Spark Connect, a stand-in that runs the same MERGE / DELETE as SQL (see
    :mod:`~medallion.backends.local.sqldelta`).
    """
    from medallion.backends.local.connect import is_connect

    if is_connect(spark):
        from medallion.backends.local.sqldelta import SqlDeltaTable

        return SqlDeltaTable(spark, uri)
    from delta.tables import DeltaTable

    return DeltaTable.forPath(spark, uri).alias("t")


def changed_rows(table_path: Path, since: int, until: int) -> int:
    """Rows written, updated or deleted by the commits ``since < version <= until`` (log only).

    A MERGE's ``numOutputRows`` also counts the unchanged rows it copied into rewritten
    files, so a MERGE counts its inserted, updated and deleted rows instead.
    """
    total = 0
    for version in range(since + 1, until + 1):
        metrics = commit_info(table_path, version).get("operationMetrics") or {}
        keys: tuple[str, ...] = (
            ("numTargetRowsInserted", "numTargetRowsUpdated", "numTargetRowsDeleted")
            if "numTargetRowsInserted" in metrics
            else ("numOutputRows", "numUpdatedRows", "numDeletedRows"))
        total += sum(int(metrics.get(key, 0) or 0) for key in keys)
    return total


def change_counts(target: Target, before: int | None) -> tuple[int, int]:
    """Rows upserted (inserted + updated) and deleted by the commits after version ``before``.

    Read from the Delta log's operation metrics, so counting costs no Spark job.
    """
    after = target.version()
    if after is None:
        return 0, 0
    upserted = deleted = 0
    start = -1 if before is None else before
    for version in range(start + 1, after + 1):
        info = commit_info(target.path, version)
        metrics = info.get("operationMetrics") or {}
        if "numTargetRowsInserted" in metrics:  # MERGE
            upserted += int(metrics.get("numTargetRowsInserted", 0))
            upserted += int(metrics.get("numTargetRowsUpdated", 0))
            deleted += int(metrics.get("numTargetRowsDeleted", 0))
        elif info.get("operation") == "DELETE":
            deleted += int(metrics.get("numDeletedRows", 0))
        elif info.get("operation") == "WRITE":
            upserted += int(metrics.get("numOutputRows", 0))
    return upserted, deleted
