"""Deprecated alias of :mod:`medallion.files.document`.

The module reads and declares pipeline documents.
Importing this module warns; each name is the object of the new module.
"""

from __future__ import annotations

import warnings
from typing import Any

import medallion.files.document as _module
from medallion.files.document import *  # noqa: F403

warnings.warn(
    "medallion.files.load is deprecated; import "
    "medallion.files.document instead",
    DeprecationWarning,
    stacklevel=2,
)


def __getattr__(name: str) -> Any:
    """The names ``*`` does not bring (private helpers)."""
    return getattr(_module, name)
