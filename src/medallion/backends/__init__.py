"""Backends execute or register declared tables.

- :mod:`medallion.backends.base`: the :class:`~medallion.backends.base.Backend` protocol every
  backend implements, attached with :meth:`medallion.Pipeline.attach`;
- :mod:`medallion.backends.runtime`: which backend is in charge (``local``, ``databricks``,
  ``spark-pipelines``) and the runtime's pipeline configuration;
- :mod:`medallion.backends.local`: the local runner; :mod:`medallion.backends.databricks` and
  :mod:`medallion.backends.spark_pipelines`: the pipeline-runtime backends
  (:mod:`medallion.backends.declarative` is what they share).

The names this package exported before those modules existed stay importable from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from medallion.backends.base import Backend
from medallion.backends.runtime import (
    BACKENDS,
    ENV_VAR,
    RUNTIMES,
    BackendName,
    active_oss_registry,
    in_databricks_pipeline,
    in_spark_pipelines,
    runtime_conf,
    selected_backend,
)

if TYPE_CHECKING:
    from medallion.pipeline import Pipeline


def attach(pipeline: Pipeline) -> None:
    """Attach the backend the runtime selects to ``pipeline`` (nothing locally).

    Deprecated alias: entering the pipeline (``with``) does it; to attach a backend of your
    own, call :meth:`medallion.Pipeline.attach`.
    """
    from medallion.declaring import runtime_backend

    backend = runtime_backend(pipeline)
    if backend is not None:
        pipeline.attach(backend)


def implicit_pipeline() -> Pipeline | None:
    """Deprecated alias of :func:`medallion.pipeline.implicit_pipeline`."""
    from medallion import pipeline

    return pipeline.implicit_pipeline()


__all__ = [
    "BACKENDS",
    "ENV_VAR",
    "RUNTIMES",
    "Backend",
    "BackendName",
    "active_oss_registry",
    "attach",
    "implicit_pipeline",
    "in_databricks_pipeline",
    "in_spark_pipelines",
    "runtime_conf",
    "selected_backend",
]
