"""Griffe extension for the API reference: read ``Example:`` as an examples section.

medallion's docstrings say ``Example:`` (Google style); griffe only treats ``Examples:`` as a
section of doctest code and renders the singular as an admonition of Markdown text, where
``>>> [...]`` output becomes broken links. This turns the one into the other before parsing.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(Extension):
    """Rename ``Example:`` headings to ``Examples:`` in every docstring."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        """Rewrite the docstring of each loaded object (before it is parsed)."""
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
