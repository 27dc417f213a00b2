"""Deprecated alias of :mod:`medallion.backends.spark_pipelines.project`.

The spark-pipelines project writer belongs to its backend.
"""

from __future__ import annotations

from medallion._deprecated import deprecated_alias
from medallion.backends.spark_pipelines.project import *  # noqa: F403

__getattr__ = deprecated_alias(__name__, "medallion.backends.spark_pipelines.project")
