"""Spark's own log output, away from the terminal: the JVM's log4j2 and pyspark's Python loggers.

``medallion`` prints one paragraph per error. Without ``--verbose``, everything Spark logs goes
to the warehouse's log file instead of the terminal: the JVM's log4j2 output (in Spark's JSON
layout when structured logging is on, Spark 4's default), the loggers pyspark writes each
analysis or runtime error to with its Java stack trace (``SQLQueryContextLogger``,
``DataFrameQueryContextLogger``), and py4j's.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: pyspark loggers that print every error they see, with its Java stack trace.
QUERY_CONTEXT_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")
PYTHON_LOGGERS = (*QUERY_CONTEXT_LOGGERS, "py4j", "pyspark")

_SPARK_JSON_LAYOUT = "classpath:org/apache/spark/SparkLayout.json"


def log4j2_properties(log_file: Path, *, json_layout: bool) -> str:
    """A log4j2 configuration sending every JVM log event of level WARN and up to ``log_file``.

    Example:
        >>> text = log4j2_properties(Path("/wh/_system/logs/spark.log"), json_layout=True)
        >>> print(text)  # doctest: +ELLIPSIS
        rootLogger.level = warn
        rootLogger.appenderRef.file.ref = medallion
        appender.file.type = File
        appender.file.name = medallion
        appender.file.fileName = /wh/_system/logs/spark.log
        appender.file.append = true
        appender.file.layout.type = JsonTemplateLayout
        appender.file.layout.eventTemplateUri = classpath:org/apache/spark/SparkLayout.json
        ...
    """
    if json_layout:  # the layout Spark itself uses (log4j2-json-layout.properties)
        layout = ("appender.file.layout.type = JsonTemplateLayout\n"
                  f"appender.file.layout.eventTemplateUri = {_SPARK_JSON_LAYOUT}\n")
    else:
        layout = ("appender.file.layout.type = PatternLayout\n"
                  "appender.file.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex\n")
    return (
        "rootLogger.level = warn\n"
        "rootLogger.appenderRef.file.ref = medallion\n"
        "appender.file.type = File\n"
        "appender.file.name = medallion\n"
        f"appender.file.fileName = {log_file}\n"
        "appender.file.append = true\n"
        f"{layout}"
        # Spark's defaults: these two are noisy at WARN for nothing a user can act on.
        "logger.jetty.name = org.sparkproject.jetty\n"
        "logger.jetty.level = error\n"
        "logger.parquet.name = org.apache.parquet.CorruptStatistics\n"
        "logger.parquet.level = error\n"
    )


def route_spark_logs(spark: SparkSession, log_file: str | os.PathLike[str]) -> None:
    """Send the JVM's and pyspark's log output of this session to ``log_file``."""
    log_file = Path(log_file).resolve()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    # Spark 3.5 ships no JSON template layout (structured logging is Spark 4's)
    structured = (not spark.version.startswith("3.")
                  and spark.conf.get("spark.log.structuredLogging.enabled", "true") == "true")
    config = log_file.parent / "log4j2.properties"
    config.write_text(log4j2_properties(log_file, json_layout=structured))
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    configurator = jvm.org.apache.logging.log4j.core.config.Configurator
    configurator.reconfigure(jvm.java.net.URI(config.as_uri()))
    route_python_loggers(log_file)


def route_python_loggers(log_file: str | os.PathLike[str]) -> None:
    """Send pyspark's and py4j's Python loggers to ``log_file`` only (not the terminal)."""
    get_pyspark_logger: Callable[[str], logging.Logger]
    try:
        from pyspark.logger import PySparkLogger
        get_pyspark_logger = PySparkLogger.getLogger
    except ImportError:  # Spark 3.5: no PySparkLogger (nor its query-context loggers)
        get_pyspark_logger = logging.getLogger

    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in PYTHON_LOGGERS:
        # pyspark's own loggers are created through pyspark: a plain Logger in their place
        # would reject the fields pyspark logs with.
        logger = (get_pyspark_logger(name) if name in QUERY_CONTEXT_LOGGERS
                  else logging.getLogger(name))
        for old in list(logger.handlers):
            if isinstance(old, logging.StreamHandler) and not isinstance(
                    old, logging.FileHandler):
                logger.removeHandler(old)
        logger.addHandler(handler)
        logger.propagate = False
