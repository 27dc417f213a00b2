"""Backends execute or register declared tables. This module decides which one applies.

The decision never rests on whether a module named ``dlt`` or ``pyspark.pipelines`` imports:
dltHub's ``dlt``, the ``databricks-dlt`` stub and every pyspark >= 4.1 make those imports succeed
anywhere. Only a real Databricks pipeline run sets the Spark conf ``pipelines.id``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Literal

from medallion.errors import BackendError

if TYPE_CHECKING:
    from medallion.pipeline import Pipeline

BackendName = Literal["local", "databricks"]
BACKENDS: tuple[BackendName, ...] = ("local", "databricks")
ENV_VAR = "MEDALLION_BACKEND"

_implicit: Pipeline | None = None


def in_databricks_pipeline() -> bool:
    """True only inside a Databricks pipeline update (Spark conf ``pipelines.id`` is set).

    Any Databricks compute sets ``DATABRICKS_RUNTIME_VERSION``; checking it first keeps pyspark
    unimported everywhere else.
    """
    if not os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        return False
    try:
        from pyspark.sql import SparkSession
    except ImportError:  # pragma: no cover - Databricks always has pyspark
        return False
    session = SparkSession.getActiveSession()
    if session is None:
        return False
    try:
        return bool(session.conf.get("pipelines.id", None))
    except Exception:  # pragma: no cover - conf lookups on exotic sessions
        return False


def selected_backend() -> BackendName:
    """``$MEDALLION_BACKEND``, else ``databricks`` inside a Databricks pipeline, else ``local``.

    Raises:
        BackendError: when ``MEDALLION_BACKEND`` holds an unknown value.
    """
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value:
        if value not in BACKENDS:
            raise BackendError(
                f"{ENV_VAR}={value!r} is not a backend; use one of: {', '.join(BACKENDS)}"
            )
        return value
    return "databricks" if in_databricks_pipeline() else "local"


def attach(pipeline: Pipeline) -> None:
    """Connect a pipeline being activated to the backend that must see each declaration."""
    if selected_backend() == "databricks":
        from medallion.backends.databricks import DatabricksBackend

        pipeline._on_declare = DatabricksBackend(pipeline).declare


def implicit_pipeline() -> Pipeline | None:
    """The pipeline used when none is active: only inside a Databricks pipeline.

    A pipeline notebook declares tables at its top level there; elsewhere this returns None so
    callers raise a helpful error.
    """
    global _implicit
    if selected_backend() != "databricks":
        return None
    if _implicit is None:
        from medallion.pipeline import Pipeline

        pipeline = Pipeline("databricks")
        attach(pipeline)
        _implicit = pipeline
    return _implicit
