"""Deprecated alias of :mod:`medallion.files.document`.

The module reads and declares pipeline documents.
"""

from __future__ import annotations

from medallion._deprecated import deprecated_alias
from medallion.files.document import *  # noqa: F403

__getattr__ = deprecated_alias(__name__, "medallion.files.document")
