"""Which pipeline is being declared into, and the backend a pipeline runtime attaches to it.

This is the small module both sides use: :mod:`medallion.pipeline` activates a pipeline here
(``with Pipeline(...)``) and asks here which backend a runtime needs; factories and the
configuration lookup read the active pipeline here. It imports the backends only to build the
one the runtime selects (:func:`runtime_backend`), and no backend imports it back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from medallion.active import activate, active_pipeline, config, deactivate
from medallion.backends.runtime import selected_backend

if TYPE_CHECKING:
    from medallion.backends.base import Backend
    from medallion.pipeline import Pipeline

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


__all__ = ["activate", "active_pipeline", "config", "deactivate", "runtime_backend"]
