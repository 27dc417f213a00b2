"""A Delta-enabled SparkSession for the local runner, tests and notebooks.

The Delta JARs come from Maven Central through Spark's own resolver, as delta-spark documents
(``configure_spark_with_delta_pip``); the first start downloads them into the ivy cache.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medallion.core.spark_conf import DEFAULT_CONF, DELTA_CATALOG, DELTA_EXTENSION
from medallion.errors import BackendError, MissingDependencyError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

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
        conf: Extra Spark settings (they override medallion's defaults). A JVM started here
            without a chosen heap gets a quarter of the machine's memory, between 1 and 8 GiB,
            instead of Spark's 1 GiB (see :func:`default_driver_memory`); pass
            ``{"spark.driver.memory": "2g"}`` to choose it.
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
    settings = {**DEFAULT_CONF, **(conf or {})}
    heap = default_driver_memory(settings)
    if heap is not None:
        settings["spark.driver.memory"] = heap
    for key, value in settings.items():
        builder = builder.config(key, value)
    builder = configure_spark_with_delta_pip(builder)
    with _stderr_to(quiet_startup_log):
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(log_level)
    if quiet_startup_log is not None:
        from medallion.backends.local.logs import route_spark_logs

        route_spark_logs(spark, quiet_startup_log)
    return _with_warehouse(spark, warehouse)


#: The driver heap a local session gets, as a share of the machine's memory, when nobody set one.
HEAP_SHARE = 4
HEAP_MIN_MB = 1024
HEAP_MAX_MB = 8192


def default_driver_memory(conf: Mapping[str, str],
                          environ: Mapping[str, str] | None = None,
                          physical_mb: int | None = None) -> str | None:
    """The driver heap to start a local JVM with, or None to leave Spark's setting alone.

    In local mode the driver JVM is also the only executor, and Spark's default heap is 1 GiB
    whatever the machine. That is too small for the runner's large micro-batches: a 10M-order
    reference pipeline dies with ``OutOfMemoryError`` while silver keeps its micro-batch for the
    kept rows and the quarantine (measured, docs/benchmarks.md "Scaling"). So a session started
    here gets a quarter of the physical memory, between 1 and 8 GiB, unless the heap was chosen
    anywhere Spark reads it from: ``conf``, ``$SPARK_DRIVER_MEMORY``, ``--driver-memory`` in
    ``$PYSPARK_SUBMIT_ARGS``, or ``spark.driver.memory`` in ``spark-defaults.conf``.

    Example:
        >>> default_driver_memory({}, environ={}, physical_mb=16384)
        '4096m'
        >>> default_driver_memory({"spark.driver.memory": "2g"}, environ={}) is None
        True
    """
    env = os.environ if environ is None else environ
    if "spark.driver.memory" in conf or env.get("SPARK_DRIVER_MEMORY"):
        return None
    if "--driver-memory" in env.get("PYSPARK_SUBMIT_ARGS", ""):
        return None
    if _spark_defaults_set_heap(env):
        return None
    total = _physical_memory_mb() if physical_mb is None else physical_mb
    if total is None:
        return None
    return f"{max(HEAP_MIN_MB, min(HEAP_MAX_MB, total // HEAP_SHARE))}m"


def _physical_memory_mb() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20)
    except (AttributeError, ValueError, OSError):  # not a POSIX system: leave Spark's default
        return None


def _spark_defaults_set_heap(env: Mapping[str, str]) -> bool:
    """Whether the ``spark-defaults.conf`` Spark would read sets ``spark.driver.memory``."""
    folders = [env.get("SPARK_CONF_DIR")]
    if env.get("SPARK_HOME"):
        folders.append(os.path.join(env["SPARK_HOME"], "conf"))
    try:
        import pyspark

        folders.append(os.path.join(os.path.dirname(pyspark.__file__), "conf"))
    except ImportError:
        pass
    for folder in filter(None, folders):
        path = Path(folder) / "spark-defaults.conf"
        if not path.is_file():
            continue
        # A java.util.Properties file: "key value", "key=value" or "key:value".
        if re.search(r"^\s*spark\.driver\.memory\s*[\s=:]", path.read_text(errors="replace"),
                     re.MULTILINE):
            return True
    return False


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
