"""Data-quality rules: Databricks expectations as data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, field_validator

from medallion.specs.base import Model
from medallion.specs.sqlexpr import SqlSyntaxError, check_boolean

RuleAction = Literal["warn", "drop", "fail"]
ACTIONS: tuple[str, ...] = ("warn", "drop", "fail")


class Rule(Model):
    """One expectation: a named SQL condition that a VALID row satisfies.

    ``action`` says what happens to a row for which the condition is not TRUE:

    - ``warn``: the row is kept and counted as failed (Databricks ``expect``);
    - ``drop``: the row is removed before writing and counted (``expect_or_drop``); with
      quarantine on, it goes to the quarantine table instead;
    - ``fail``: the table's update fails and the table is left unchanged (``expect_or_fail``).

    A condition that evaluates to NULL counts as a violation, so kept and quarantined rows are
    exact complements.

    Example:
        >>> Rule(name="valid_amount", condition="amount > 0 AND amount < 100000", action="drop")
        Rule(name='valid_amount', condition='amount > 0 AND amount < 100000', action='drop')
    """

    name: str
    condition: str
    action: RuleAction = "warn"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value or not value.strip():
            raise ValueError("a rule needs a non-empty name")
        if "'" in value or "\n" in value:
            raise ValueError(f"rule name {value!r} must not contain quotes or line breaks")
        return value

    @field_validator("condition")
    @classmethod
    def _condition(cls, value: str) -> str:
        try:
            check_boolean(value)
        except SqlSyntaxError as exc:
            raise ValueError(f"condition {value!r} {_phrase(exc)}") from None
        return value


def _phrase(exc: SqlSyntaxError) -> str:
    text = str(exc)
    return text if text.startswith("is ") else f"is not one SQL boolean expression: {text}"


RulesInput = Iterable["Rule | Mapping[str, Any]"] | Mapping[str, str] | None


def expect(name: str, condition: str) -> Rule:
    """A ``warn`` rule, like ``@dlt.expect``: failing rows are kept and counted."""
    return Rule(name=name, condition=condition, action="warn")


def expect_or_drop(name: str, condition: str) -> Rule:
    """A ``drop`` rule, like ``@dlt.expect_or_drop``: failing rows are removed (or quarantined)."""
    return Rule(name=name, condition=condition, action="drop")


def expect_or_fail(name: str, condition: str) -> Rule:
    """A ``fail`` rule, like ``@dlt.expect_or_fail``: one failing row fails the table's update."""
    return Rule(name=name, condition=condition, action="fail")


def rules_from(mapping: Mapping[str, str], action: RuleAction = "warn") -> tuple[Rule, ...]:
    """Build rules from a name → condition mapping, like ``expect_all*``.

    Example:
        >>> [r.action for r in rules_from({"a": "x > 0", "b": "y IS NOT NULL"}, "drop")]
        ['drop', 'drop']
    """
    return tuple(Rule(name=k, condition=v, action=action) for k, v in mapping.items())


def check_unique_names(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    """Raise ValueError if two rules share a name (names are unique per table)."""
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise ValueError(
                f"rule name {rule.name!r} is used twice; rule names must be unique per table"
            )
        seen.add(rule.name)
    return rules


#: A table's rules, their names unique.
Rules = Annotated[tuple[Rule, ...], AfterValidator(check_unique_names)]
