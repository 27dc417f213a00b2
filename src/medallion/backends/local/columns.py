"""Spark's side of the column checks: a second opinion on an expression the parser flagged."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from medallion.backends.local.logs import QUERY_CONTEXT_LOGGERS
from medallion.core.columns import Confirm

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def spark_confirms(spark: SparkSession) -> Confirm:
    """``confirm`` for :mod:`medallion.core.columns`: does Spark fail to resolve a column too?

    Only called when the parser found a column that is not there, so a valid expression whose
    syntax the parser misreads (a rare function taking a bare word) is never refused.
    """

    def unresolved(expression: str, columns: Sequence[str]) -> bool:
        from pyspark.errors import AnalysisException
        from pyspark.sql import functions as F
        from pyspark.sql.types import StringType, StructField, StructType

        empty = spark.createDataFrame(
            [], StructType([StructField(c, StringType()) for c in columns]))
        try:
            with _silent_query_context_loggers():
                empty.select(F.expr(expression)).schema  # noqa: B018 - analysis is the point
        except AnalysisException as exc:
            # getCondition() since Spark 4.0; getErrorClass() on 3.5
            condition = getattr(exc, "getCondition", None) or exc.getErrorClass
            return (condition() or "").startswith("UNRESOLVED_")
        except Exception:  # another problem (types...): the run reports it, not this check
            return False
        return False

    return unresolved



@contextlib.contextmanager
def _silent_query_context_loggers() -> Iterator[None]:
    """Keep pyspark from logging the error this check expects (medallion reports its own)."""
    try:
        from pyspark.logger import PySparkLogger
    except ImportError:  # Spark 3.5 has no query-context loggers to silence
        yield
        return

    # (created through pyspark: a plain Logger in their place would reject pyspark's fields)
    loggers: list[logging.Logger] = [PySparkLogger.getLogger(n) for n in QUERY_CONTEXT_LOGGERS]
    saved = [lg.disabled for lg in loggers]
    for lg in loggers:
        lg.disabled = True
    try:
        yield
    finally:
        for lg, was in zip(loggers, saved, strict=True):
            lg.disabled = was
