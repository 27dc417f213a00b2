"""Deprecated alias of :mod:`medallion.backends.spark_pipelines.project`.

The spark-pipelines project writer belongs to its backend.
Importing this module warns; each name is the object of the new module.
"""

from __future__ import annotations

import warnings
from typing import Any

import medallion.backends.spark_pipelines.project as _module
from medallion.backends.spark_pipelines.project import *  # noqa: F403

warnings.warn(
    "medallion.spark_project is deprecated; import "
    "medallion.backends.spark_pipelines.project instead",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    """The names ``*`` does not bring (private helpers)."""
    return getattr(_module, name)
