"""Old module paths kept working: each alias module resolves its names in the new module."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any


def deprecated_alias(old: str, new: str) -> Callable[[str], Any]:
    """Warn that module ``old`` moved to ``new``; return the alias's module ``__getattr__``.

    The alias module star-imports ``new`` and sets ``__getattr__`` to the result, so its private
    names resolve too: every name of the alias is the object of the new module.
    """
    warnings.warn(f"{old} is deprecated; import {new} instead", DeprecationWarning,
                  stacklevel=3)
    module = importlib.import_module(new)

    def __getattr__(name: str) -> Any:
        return getattr(module, name)

    return __getattr__
