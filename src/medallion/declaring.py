"""Which pipeline is being declared into, and the backend a pipeline runtime attaches to it.

This is the small module both sides use: :mod:`medallion.pipeline` activates a pipeline here
(``with Pipeline(...)``) and asks here which backend a runtime needs; factories and the
configuration lookup read the active pipeline here. It imports the backends only to build the
one the runtime selects (:func:`runtime_backend`), and no backend imports it back.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

from medallion.backends.runtime import runtime_conf, selected_backend

if TYPE_CHECKING:
    from medallion.backends.base import Backend
    from medallion.pipeline import Pipeline

_ACTIVE: ContextVar[Pipeline | None] = ContextVar("medallion_active_pipeline", default=None)


def active_pipeline() -> Pipeline | None:
    """The pipeline factories currently declare into, if any."""
    return _ACTIVE.get()


def activate(pipeline: Pipeline) -> Token[Pipeline | None]:
    """Make ``pipeline`` the active one; :func:`deactivate` with the token restores the previous."""
    return _ACTIVE.set(pipeline)


def deactivate(token: Token[Pipeline | None]) -> None:
    """Restore the pipeline active before :func:`activate` returned ``token``."""
    _ACTIVE.reset(token)


def runtime_backend(pipeline: Pipeline) -> Backend | None:
    """The backend that must see each declaration of ``pipeline``, or None (local runs).

    Inside a Databricks pipeline update, the Databricks backend; inside ``spark-pipelines run``,
    the spark-pipelines backend. Locally nothing is attached: the local runner reads the
    declarations when it runs.
    """
    backend = selected_backend()
    if backend == "databricks":
        from medallion.backends.databricks import DatabricksBackend

        return DatabricksBackend(pipeline)
    if backend == "spark-pipelines":
        from medallion.backends.spark_pipelines import SparkPipelinesBackend

        return SparkPipelinesBackend(pipeline)
    return None


def config(key: str, default: str | None = None) -> str | None:
    """A configuration value of the pipeline being declared (``--conf key=value`` on the CLI).

    Use it at the top level of a pipeline file to parametrise paths and thresholds. Inside a
    Databricks pipeline or ``spark-pipelines run``, a key the active pipeline does not set is
    read from the runtime's pipeline configuration (its Spark conf).

    Example:
        >>> import medallion
        >>> with medallion.Pipeline("orders", configuration={"raw": "/data/raw"}):
        ...     medallion.config("raw", "/default")
        '/data/raw'
    """
    pipeline = _ACTIVE.get()
    if pipeline is not None and key in pipeline.configuration:
        return pipeline.configuration[key]
    return runtime_conf(key, default)
