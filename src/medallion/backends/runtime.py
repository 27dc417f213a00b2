"""Which backend is in charge here, and the runtime's pipeline configuration.

The decision never rests on whether a module named ``dlt`` or ``pyspark.pipelines`` imports:
dltHub's ``dlt``, the ``databricks-dlt`` stub and every pyspark >= 4.1 make those imports succeed
anywhere. Only a real Databricks pipeline run sets the Spark conf ``pipelines.id``, and only
``spark-pipelines run`` makes a graph-element registry of ``pyspark.pipelines`` active.

- ``local``: the local runner (Spark + Delta), driven by ``medallion run`` or ``Pipeline.run``;
- ``databricks``: inside a Databricks pipeline update, declarations register through ``dp``
  (``pyspark.pipelines``) or the legacy ``dlt`` module;
- ``spark-pipelines``: inside Apache Spark's ``spark-pipelines run``, declarations register
  through open-source ``pyspark.pipelines``.

Both runtimes expose a pipeline's ``configuration`` as Spark conf: :func:`spark_conf` is the one
place that reads it. This module imports nothing of medallion but its errors.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Literal

from medallion.errors import BackendError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

BackendName = Literal["local", "databricks", "spark-pipelines"]
BACKENDS: tuple[BackendName, ...] = ("local", "databricks", "spark-pipelines")
RUNTIMES: tuple[BackendName, ...] = ("databricks", "spark-pipelines")
ENV_VAR = "MEDALLION_BACKEND"

_OSS_REGISTRY_MODULE = "pyspark.pipelines.graph_element_registry"


def in_databricks_pipeline() -> bool:
    """True only inside a Databricks pipeline update (Spark conf ``pipelines.id`` is set).

    Any Databricks compute sets ``DATABRICKS_RUNTIME_VERSION``; checking it first keeps pyspark
    unimported everywhere else.
    """
    if not os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        return False
    try:
        return bool(spark_conf("pipelines.id"))
    except Exception:  # pragma: no cover - conf lookups on exotic sessions
        return False


def active_oss_registry() -> object | None:
    """The graph-element registry ``spark-pipelines run`` made active, or None.

    Only consulted when ``spark-pipelines`` (or a test) has already imported
    ``pyspark.pipelines``: importing it here would import pyspark for nothing.
    """
    module = sys.modules.get(_OSS_REGISTRY_MODULE)
    if module is None:
        return None
    var = getattr(module, "_graph_element_registry_context_var", None)
    if var is not None:
        return var.get()  # type: ignore[no-any-return]
    try:  # pragma: no cover - a future pyspark without the context variable
        return module.get_active_graph_element_registry()  # type: ignore[no-any-return]
    except Exception:  # pragma: no cover
        return None


def in_spark_pipelines() -> bool:
    """True only while ``spark-pipelines run`` (or ``dry-run``) loads the pipeline's files."""
    return active_oss_registry() is not None


def selected_backend() -> BackendName:
    """The backend in charge: ``$MEDALLION_BACKEND``, else detected from the runtime.

    ``databricks`` inside a Databricks pipeline, ``spark-pipelines`` inside
    ``spark-pipelines run``, else ``local``.

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
    if in_databricks_pipeline():
        return "databricks"
    if in_spark_pipelines():
        return "spark-pipelines"
    return "local"


def in_runtime() -> bool:
    """Whether a pipeline runtime (Databricks, ``spark-pipelines``) is in charge."""
    return selected_backend() in RUNTIMES


def spark_conf(key: str, default: str | None = None, *,
               session: SparkSession | Any | None = None) -> str | None:
    """``key`` of the Spark conf of ``session`` (default: the active session), else ``default``.

    Without pyspark, or without an active session, this is ``default``.
    """
    if session is None:
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            return default
        session = SparkSession.getActiveSession()
        if session is None:
            return default
    value = session.conf.get(key, None)
    return default if value is None else str(value)


def runtime_conf(key: str, default: str | None = None) -> str | None:
    """A pipeline configuration value from the runtime's Spark conf (Databricks, spark-pipelines).

    Locally this returns ``default`` (the local runner passes configuration explicitly).
    """
    if not in_runtime():
        return default
    return spark_conf(key, default)
