"""A Delta-enabled SparkSession for the local runner, tests and notebooks.

The Delta JARs come from Maven Central through Spark's own resolver, as delta-spark documents
(``configure_spark_with_delta_pip``); the first start downloads them into the ivy cache.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medallion.backends.local.connect import DELTA_EXTENSION
from medallion.errors import BackendError, MissingDependencyError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

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


def require_spark(purpose: str = "run pipelines locally") -> None:
    """Raise :class:`MissingDependencyError` unless pyspark and delta-spark are importable."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise MissingDependencyError("pyspark", purpose) from None
    try:
        import delta  # noqa: F401
    except ImportError:
        raise MissingDependencyError("delta-spark", purpose) from None


def is_delta_enabled(spark: SparkSession) -> bool:
    """Whether ``spark`` has Delta's SQL extension and catalog configured."""
    from medallion.backends.local.connect import is_connect

    # A Spark Connect session has no SparkContext; its runtime conf shows the static settings.
    conf: Any = spark.conf if is_connect(spark) else spark.sparkContext.getConf()
    return DELTA_EXTENSION in (conf.get("spark.sql.extensions", None) or "") and (
        conf.get("spark.sql.catalog.spark_catalog", None) == DELTA_CATALOG
    )


def local_session(
    *,
    app_name: str = "medallion",
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    log_level: str = "ERROR",
    quiet_startup_log: str | os.PathLike[str] | None = None,
    warehouse: str | os.PathLike[str] | None = None,
    remote: str | None = None,
) -> SparkSession:
    """Return the active Delta-enabled session, or start one.

    With ``warehouse``, every table found in that folder is registered in the session catalog,
    so a new process (a notebook, a test, a BI script) queries ``medallion_db.silver_orders``
    with ``spark.table`` or SQL right away.

    Example:
        >>> import medallion
        >>> spark = medallion.local_session(warehouse="medallion-warehouse")  # doctest: +SKIP
        >>> spark.table("medallion_db.gold_daily_sales").show()              # doctest: +SKIP

    Args:
        app_name: Spark application name.
        master: Spark master; default ``$MEDALLION_SPARK_MASTER`` or ``local[*]``.
        conf: Extra Spark settings (they override medallion's defaults).
        log_level: Spark log level once started.
        quiet_startup_log: When given, the JVM's console output (dependency resolution, log4j
            warnings) goes to this file instead of the terminal, and so does everything Spark
            logs afterwards (log4j2, pyspark's error loggers, py4j; see
            :mod:`medallion.backends.local.logs`).
        warehouse: A warehouse folder whose tables to register (see above).
        remote: A Spark Connect URL (``sc://host:port``; default ``$MEDALLION_SPARK_REMOTE``):
            connect to that server (it must have Delta Lake) instead of starting Spark here.
            ``master``, ``conf`` and the log settings are then the server's own.

    Raises:
        BackendError: when an active session exists without Delta configured, the Spark
            Connect server cannot be used, or pyspark is Databricks Connect's and no
            ``remote`` is given.
    """
    from medallion.backends.local.connect import (
        connect_session,
        refuse_databricks_connect,
        remote_url,
    )

    url = remote_url(remote)
    if url is not None:
        try:
            import pyspark  # noqa: F401
        except ImportError:
            raise MissingDependencyError("pyspark", "connect to Spark Connect") from None
        return _with_warehouse(connect_session(url, app_name=app_name), warehouse)
    refuse_databricks_connect()
    require_spark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        if not is_delta_enabled(active):
            raise BackendError(
                "the active SparkSession is not Delta-enabled; medallion's local runner writes "
                "Delta tables. Create the session with medallion.local_session() (or add "
                f"spark.sql.extensions={DELTA_EXTENSION} and spark.sql.catalog.spark_catalog="
                f"{DELTA_CATALOG} plus the delta-spark JARs)"
            )
        return _with_warehouse(active, warehouse)

    from delta import configure_spark_with_delta_pip

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.appName(app_name).master(
        master or os.environ.get("MEDALLION_SPARK_MASTER", "local[*]")
    )
    for key, value in {**DEFAULT_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    builder = configure_spark_with_delta_pip(builder)
    with _stderr_to(quiet_startup_log):
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(log_level)
    if quiet_startup_log is not None:
        from medallion.backends.local.logs import route_spark_logs

        route_spark_logs(spark, quiet_startup_log)
    return _with_warehouse(spark, warehouse)


def _with_warehouse(spark: SparkSession, warehouse: str | os.PathLike[str] | None) -> SparkSession:
    if warehouse is not None:
        from medallion.backends.local.warehouse import Warehouse

        Warehouse(warehouse).register_all(spark)
    return spark


@contextlib.contextmanager
def _stderr_to(path: str | os.PathLike[str] | None) -> Iterator[None]:
    """Send file descriptor 2 (inherited by the JVM at launch) to ``path`` for the block.

    On failure the captured text is replayed on the real stderr, so nothing is hidden.
    """
    if path is None:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as sink:
        os.dup2(sink.fileno(), 2)
    try:
        yield
    except BaseException:
        os.dup2(saved, 2)
        with contextlib.suppress(OSError), open(path, "rb") as captured:
            sys.stderr.write(captured.read().decode(errors="replace")[-20000:])
        raise
    finally:
        os.dup2(saved, 2)
        os.close(saved)
