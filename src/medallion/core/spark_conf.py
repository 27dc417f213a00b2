"""The Spark settings every medallion session gets (the local runner's, spark-pipelines').

Delta's SQL extension and catalog, the UI off, few shuffle partitions, UTC; a generated
``spark-pipelines`` project starts its Spark with the same settings, so both run alike.
"""

from __future__ import annotations

__all__ = ["DEFAULT_CONF", "DELTA_CATALOG", "DELTA_EXTENSION"]

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"

#: Settings every medallion session gets; any can be overridden with ``conf``.
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.extensions": DELTA_EXTENSION,
    "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.streaming.stopTimeout": "30s",
    "spark.databricks.delta.schema.autoMerge.enabled": "false",
    "spark.sql.adaptive.enabled": "true",
    # Delta rebuilds a table's state with this many tasks; the default (50) costs seconds per
    # first read of each table on a laptop.
    "spark.databricks.delta.snapshotPartitions": "2",
    # With the UI off nobody reads Spark's status store, yet it keeps the last 1,000 SQL
    # executions with their plan descriptions (hundreds of MB over a long test session).
    "spark.sql.ui.retainedExecutions": "20",
    "spark.ui.retainedJobs": "100",
    "spark.ui.retainedStages": "100",
}
