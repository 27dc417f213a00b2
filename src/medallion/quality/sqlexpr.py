"""Deprecated alias of :mod:`medallion.specs.sqlexpr`.

The SQL expression parser checks specs, so it lives with them.
"""

from __future__ import annotations

from medallion._deprecated import deprecated_alias
from medallion.specs.sqlexpr import *  # noqa: F403

__getattr__ = deprecated_alias(__name__, "medallion.specs.sqlexpr")
