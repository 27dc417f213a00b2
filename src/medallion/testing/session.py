"""The SparkSession tuned for tests: small, quiet, deterministic."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Settings for test sessions: two local cores and few shuffle partitions keep tiny jobs fast.
TEST_CONF: dict[str, str] = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.sql.adaptive.coalescePartitions.initialPartitionNum": "2",
    "spark.databricks.delta.snapshotPartitions": "1",
    "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2",
    "spark.rdd.compress": "false",
    "spark.sql.streaming.minBatchesToRetain": "5",
    # Delta keeps every table it has opened (up to 10,000, for an hour) with its cached state; a
    # test session opens thousands of short-lived tables and a 1 GiB driver ran out of memory
    # (Spark 3.5 / Delta 3.3). A few dozen cover any one test.
    "spark.databricks.delta.delta.log.cacheSize": "32",
}


def spark_for_tests(app_name: str = "medallion-tests") -> SparkSession:
    """A Delta-enabled local session with :data:`TEST_CONF` (reuses an active one)."""
    from medallion.backends.local.session import local_session

    return local_session(app_name=app_name, master="local[2]", conf=TEST_CONF)
