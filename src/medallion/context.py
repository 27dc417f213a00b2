"""Deprecated alias of :mod:`medallion.query_context`.

The new name says which context: the one query functions get.
"""

from __future__ import annotations

from medallion._deprecated import deprecated_alias
from medallion.query_context import *  # noqa: F403

__getattr__ = deprecated_alias(__name__, "medallion.query_context")
