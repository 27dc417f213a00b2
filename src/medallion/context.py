"""Deprecated alias of :mod:`medallion.query_context`.

The new name says which context: the one query functions get.
Importing this module warns; each name is the object of the new module.
"""

from __future__ import annotations

import warnings
from typing import Any

import medallion.query_context as _module
from medallion.query_context import *  # noqa: F403

warnings.warn(
    "medallion.context is deprecated; import "
    "medallion.query_context instead",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    """The names ``*`` does not bring (private helpers)."""
    return getattr(_module, name)
