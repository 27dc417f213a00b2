"""Rule templates: parametrised conditions such as ``not_null(column)``, ``between(c, lo, hi)``.

A template's condition has ``{param}`` placeholders; each parameter has a kind that says how its
value is written into SQL, so values never need hand quoting:

- ``column``: an identifier (backtick-quoted when needed, ``a.b`` kept as a path);
- ``value``: a literal (numbers as they are, strings quoted, ``None`` as NULL, booleans);
- ``values``: a comma-separated list of literals (for ``IN (...)``);
- ``sql``: SQL text inserted as is (checked when the rule is built).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from medallion.specs.base import Model
from medallion.specs.rules import Rule, RuleAction
from medallion.specs.sqlexpr import quote_identifier

ParamKind = Literal["column", "value", "values", "sql"]
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SIMPLE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def sql_identifier(name: str) -> str:
    """``amount`` → ``amount``; ``order date`` → ```order date```; ``a.b`` stays a path."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"column {name!r} must be a non-empty name")
    if _SIMPLE_PATH.match(name):
        return name
    return quote_identifier(name)


def sql_literal(value: Any) -> str:
    """A Python value as a SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    raise ValueError(f"{value!r} ({type(value).__name__}) cannot be written as a SQL literal")


def render(kind: ParamKind, value: Any) -> str:
    """Write one parameter value into SQL according to its kind."""
    if kind == "column":
        return sql_identifier(value)
    if kind == "value":
        return sql_literal(value)
    if kind == "values":
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
            raise ValueError(f"expected a non-empty list of values, got {value!r}")
        return ", ".join(sql_literal(v) for v in value)
    if not isinstance(value, str):
        raise ValueError(f"expected SQL text, got {value!r}")
    return value


class RuleTemplate(Model):
    """A parametrised rule condition.

    Example:
        >>> t = RuleTemplate(name="between", params={"column": "column", "low": "value",
        ...                                           "high": "value"},
        ...                  condition="{column} BETWEEN {low} AND {high}")
        >>> t.rule(column="amount", low=0, high=100, action="drop").condition
        'amount BETWEEN 0 AND 100'
    """

    name: str
    params: dict[str, ParamKind]
    condition: str
    defaults: dict[str, Any] = Field(default_factory=dict)
    description: str | None = None

    @model_validator(mode="after")
    def _placeholders_match(self) -> RuleTemplate:
        used = set(_PLACEHOLDER.findall(self.condition))
        unknown = sorted(used - set(self.params))
        if unknown:
            raise ValueError(
                f"template {self.name!r}: condition uses {{{unknown[0]}}}, which is not one of "
                f"its params ({', '.join(sorted(self.params)) or 'none'})"
            )
        unused = sorted(set(self.params) - used)
        if unused:
            raise ValueError(f"template {self.name!r}: param {unused[0]!r} is never used")
        extra = sorted(set(self.defaults) - set(self.params))
        if extra:
            raise ValueError(f"template {self.name!r}: default for unknown param {extra[0]!r}")
        return self

    def render(self, args: Mapping[str, Any]) -> str:
        """The condition with ``args`` written in; raise ValueError naming a bad argument."""
        values = {**self.defaults, **args}
        missing = sorted(set(self.params) - set(values))
        if missing:
            raise ValueError(f"template {self.name!r} needs argument {missing[0]!r}")
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            raise ValueError(
                f"template {self.name!r} has no parameter {unknown[0]!r} "
                f"(parameters: {', '.join(sorted(self.params))})"
            )
        rendered = {}
        for key, kind in self.params.items():
            try:
                rendered[key] = render(kind, values[key])
            except ValueError as exc:
                raise ValueError(f"template {self.name!r}, argument {key!r}: {exc}") from None
        return _PLACEHOLDER.sub(lambda m: rendered[m.group(1)], self.condition)

    def rule(self, *, name: str | None = None, action: RuleAction = "warn", **args: Any) -> Rule:
        """A :class:`Rule` from this template; the default name is ``<column>_<template>``."""
        if name is None:
            column = args.get("column", self.defaults.get("column"))
            name = f"{column}_{self.name}" if isinstance(column, str) else self.name
        return Rule(name=name, condition=self.render(args), action=action)


def _t(name: str, params: dict[str, ParamKind], condition: str, description: str,
       **defaults: Any) -> RuleTemplate:
    return RuleTemplate(name=name, params=params, condition=condition, description=description,
                        defaults=defaults)


#: Templates available by name everywhere (in Python and in rule files).
BUILTIN_TEMPLATES: dict[str, RuleTemplate] = {
    t.name: t
    for t in (
        _t("not_null", {"column": "column"}, "{column} IS NOT NULL", "the column has a value"),
        _t("between", {"column": "column", "low": "value", "high": "value"},
           "{column} BETWEEN {low} AND {high}", "low <= column <= high"),
        _t("strictly_between", {"column": "column", "low": "value", "high": "value"},
           "{column} > {low} AND {column} < {high}", "low < column < high"),
        _t("in_values", {"column": "column", "values": "values"}, "{column} IN ({values})",
           "the column is one of the values"),
        _t("matches", {"column": "column", "pattern": "value"}, "{column} RLIKE {pattern}",
           "the column matches a regular expression"),
        _t("max_length", {"column": "column", "length": "value"}, "length({column}) <= {length}",
           "the text is at most `length` characters"),
        _t("positive", {"column": "column"}, "{column} > 0", "the column is > 0"),
        _t("non_negative", {"column": "column"}, "{column} >= 0", "the column is >= 0"),
        _t("not_in_future", {"column": "column"}, "{column} <= current_timestamp()",
           "the timestamp is not later than now"),
    )
}


class TemplateUse(Model):
    """A rule made from a template, as written in a rule file."""

    template: str
    name: str | None = None
    action: RuleAction = "warn"
    args: dict[str, Any] = Field(default_factory=dict)


class Include(Model):
    """All the rules of another rule set, as written in a rule file (``use: other_set``)."""

    use: str


def _entry_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "include" if "use" in value else "template" if "template" in value else "rule"
    if isinstance(value, Include):
        return "include"
    return "template" if isinstance(value, TemplateUse) else "rule"


#: One item of a rule set: a rule, a rule from a template, or another set's rules.
RuleEntry = Annotated[
    Annotated[Rule, Tag("rule")] | Annotated[TemplateUse, Tag("template")]
    | Annotated[Include, Tag("include")],
    Discriminator(_entry_kind),
]


class RuleFile(Model):
    """The contents of a rule file: templates and named rule sets."""

    templates: dict[str, RuleTemplate] = Field(default_factory=dict)
    rule_sets: dict[str, list[RuleEntry]] = Field(default_factory=dict)

    @field_validator("templates", mode="before")
    @classmethod
    def _name_templates(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"name": k, **v} if isinstance(v, dict) else v for k, v in value.items()}
        return value
