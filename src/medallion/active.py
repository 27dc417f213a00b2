"""The pipeline being declared into (a ``ContextVar``) and :func:`config`, importing no backend.

Kept apart from :mod:`medallion.declaring` so that modules a backend uses (e.g. a notebook's
``spark.conf``) can read the active pipeline without importing the backends back.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

from medallion.backends.runtime import runtime_conf

if TYPE_CHECKING:
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
