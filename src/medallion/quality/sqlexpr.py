"""Deprecated alias of :mod:`medallion.specs.sqlexpr`.

The SQL expression parser checks specs, so it lives with them.
Importing this module warns; each name is the object of the new module.
"""

from __future__ import annotations

import warnings
from typing import Any

import medallion.specs.sqlexpr as _module
from medallion.specs.sqlexpr import *  # noqa: F403

warnings.warn(
    "medallion.quality.sqlexpr is deprecated; import "
    "medallion.specs.sqlexpr instead",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    """The names ``*`` does not bring (private helpers)."""
    return getattr(_module, name)
