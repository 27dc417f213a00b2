"""Ready-made rules: ``checks.not_null("order_id", action="drop")`` and friends.

Each function builds a :class:`medallion.Rule` from a built-in template (see
:mod:`medallion.quality.templates`); the default rule name is ``<column>_<check>``.

Example:
    >>> from medallion import checks
    >>> checks.strictly_between("amount", 0, 100000, action="drop", name="valid_amount")
    Rule(name='valid_amount', condition='amount > 0 AND amount < 100000', action='drop')
    >>> checks.in_values("status", ["pending", "completed"]).condition
    "status IN ('pending', 'completed')"
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from medallion.quality.templates import BUILTIN_TEMPLATES
from medallion.specs.rules import Rule, RuleAction

__all__ = [
    "between",
    "in_values",
    "matches",
    "max_length",
    "non_negative",
    "not_in_future",
    "not_null",
    "positive",
    "strictly_between",
]


def _make(template: str, name: str | None, action: RuleAction, **args: Any) -> Rule:
    return BUILTIN_TEMPLATES[template].rule(name=name, action=action, **args)


def not_null(column: str, *, action: RuleAction = "warn", name: str | None = None) -> Rule:
    """``column IS NOT NULL``."""
    return _make("not_null", name, action, column=column)


def between(column: str, low: Any, high: Any, *, action: RuleAction = "warn",
            name: str | None = None) -> Rule:
    """``column BETWEEN low AND high`` (both ends included)."""
    return _make("between", name, action, column=column, low=low, high=high)


def strictly_between(column: str, low: Any, high: Any, *, action: RuleAction = "warn",
                     name: str | None = None) -> Rule:
    """``column > low AND column < high``."""
    return _make("strictly_between", name, action, column=column, low=low, high=high)


def in_values(column: str, values: Sequence[Any], *, action: RuleAction = "warn",
              name: str | None = None) -> Rule:
    """``column IN (values...)``."""
    return _make("in_values", name, action, column=column, values=list(values))


def matches(column: str, pattern: str, *, action: RuleAction = "warn",
            name: str | None = None) -> Rule:
    """``column RLIKE pattern`` (a Java regular expression)."""
    return _make("matches", name, action, column=column, pattern=pattern)


def max_length(column: str, length: int, *, action: RuleAction = "warn",
               name: str | None = None) -> Rule:
    """``length(column) <= length``."""
    return _make("max_length", name, action, column=column, length=length)


def positive(column: str, *, action: RuleAction = "warn", name: str | None = None) -> Rule:
    """``column > 0``."""
    return _make("positive", name, action, column=column)


def non_negative(column: str, *, action: RuleAction = "warn", name: str | None = None) -> Rule:
    """``column >= 0``."""
    return _make("non_negative", name, action, column=column)


def not_in_future(column: str, *, action: RuleAction = "warn", name: str | None = None) -> Rule:
    """``column <= current_timestamp()``."""
    return _make("not_in_future", name, action, column=column)
