"""Backends execute or register declared tables. This module decides which one applies.

The decision never rests on whether a module named ``dlt`` or ``pyspark.pipelines`` imports:
dltHub's ``dlt``, the ``databricks-dlt`` stub and every pyspark >= 4.1 make those imports succeed
anywhere. Only a real Databricks pipeline run sets the Spark conf ``pipelines.id``, and only
``spark-pipelines run`` makes a graph-element registry of ``pyspark.pipelines`` active.

- ``local``: the local runner (Spark + Delta), driven by ``medallion run`` or ``Pipeline.run``;
- ``databricks``: inside a Databricks pipeline update, declarations register through ``dp``
  (``pyspark.pipelines``) or the legacy ``dlt`` module;
- ``spark-pipelines``: inside Apache Spark's ``spark-pipelines run``, declarations register
  through open-source ``pyspark.pipelines``.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Literal

from medallion.errors import BackendError

if TYPE_CHECKING:
    from medallion.pipeline import Pipeline

BackendName = Literal["local", "databricks", "spark-pipelines"]
BACKENDS: tuple[BackendName, ...] = ("local", "databricks", "spark-pipelines")
RUNTIMES: tuple[BackendName, ...] = ("databricks", "spark-pipelines")
ENV_VAR = "MEDALLION_BACKEND"

_OSS_REGISTRY_MODULE = "pyspark.pipelines.graph_element_registry"
_implicit: dict[tuple[str, int], Pipeline] = {}


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


def attach(pipeline: Pipeline) -> None:
    """Connect a pipeline being activated to the backend that must see each declaration."""
    backend = selected_backend()
    if backend == "databricks":
        from medallion.backends.databricks import DatabricksBackend

        pipeline._on_declare = DatabricksBackend(pipeline).declare
    elif backend == "spark-pipelines":
        from medallion.backends.spark_pipelines import SparkPipelinesBackend

        pipeline._on_declare = SparkPipelinesBackend(pipeline).declare


def implicit_pipeline() -> Pipeline | None:
    """The pipeline used when none is active: only inside a pipeline runtime.

    A Databricks notebook or a file loaded by ``spark-pipelines`` declares tables at its top
    level; each runtime (each active ``spark-pipelines`` registry) gets its own pipeline.
    Elsewhere this returns None so callers raise a helpful error.
    """
    backend = selected_backend()
    if backend not in RUNTIMES:
        return None
    key = (backend, id(active_oss_registry()) if backend == "spark-pipelines" else 0)
    pipeline = _implicit.get(key)
    if pipeline is None:
        from medallion.pipeline import Pipeline

        pipeline = Pipeline(backend)
        attach(pipeline)
        _implicit.clear()  # a new runtime context: the previous one is over
        _implicit[key] = pipeline
    return pipeline


def runtime_conf(key: str, default: str | None = None) -> str | None:
    """A pipeline configuration value from the runtime's Spark conf (Databricks, spark-pipelines).

    Both runtimes expose a pipeline's ``configuration`` as Spark conf; locally this returns
    ``default`` (the local runner passes configuration explicitly).
    """
    if selected_backend() not in RUNTIMES:
        return default
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:
        return default
    value = session.conf.get(key, None)
    return default if value is None else str(value)
