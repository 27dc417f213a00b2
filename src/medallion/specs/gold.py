"""Gold: business aggregates over silver tables, as typed specs instead of hand-written SQL."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from medallion.quality.sqlexpr import SqlSyntaxError, split_alias
from medallion.specs.base import Model, TableSpec, check_reference, check_sql, check_table_name

AggFunction = Literal["count", "count_distinct", "sum", "avg", "min", "max"]
_SIMPLE_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class GroupKey(Model):
    """One group-by key: an output column name and the SQL expression computing it.

    Strings are accepted wherever a key is expected: ``"region"`` or
    ``"to_date(order_date) AS date"``.
    """

    alias: str
    expression: str

    @field_validator("alias")
    @classmethod
    def _alias(cls, value: str) -> str:
        return check_table_name(value, "group-by key name")

    @field_validator("expression")
    @classmethod
    def _expression(cls, value: str) -> str:
        return check_sql(value, "group-by key")

    @classmethod
    def parse(cls, text: str) -> GroupKey:
        """Build a key from ``"col"`` or ``"expression AS alias"``."""
        try:
            expression, alias = split_alias(text)
        except SqlSyntaxError as exc:
            raise ValueError(f"group-by key {text!r}: {exc}") from None
        if alias is None:
            if not _SIMPLE_COLUMN.match(expression):
                raise ValueError(
                    f"group-by key {text!r} is an expression: name it, e.g. "
                    f"'{expression} AS my_key'"
                )
            alias = expression
        return cls(alias=alias, expression=expression)


class Aggregation(Model):
    """One typed aggregate: ``func(column) AS alias``.

    ``column`` is a column or SQL expression; ``count`` without a column counts rows. Sums of
    decimals stay decimal (Spark widens the precision), averages of decimals are decimal.

    Example:
        >>> Aggregation(func="sum", column="amount", alias="total_sales").sql()
        'sum(amount)'
    """

    func: AggFunction
    column: str | None = None
    alias: str

    @field_validator("alias")
    @classmethod
    def _alias(cls, value: str) -> str:
        return check_table_name(value, "aggregation alias")

    @field_validator("column")
    @classmethod
    def _column(cls, value: str | None) -> str | None:
        return None if value is None else check_sql(value, "aggregated column")

    @model_validator(mode="after")
    def _needs_column(self) -> Aggregation:
        if self.column is None and self.func != "count":
            raise ValueError(f"aggregation {self.alias!r}: {self.func} needs a column")
        return self

    def sql(self) -> str:
        """The aggregate as Spark SQL text (without the alias)."""
        if self.func == "count":
            return f"count({self.column or '*'})"
        if self.func == "count_distinct":
            return f"count(DISTINCT {self.column})"
        return f"{self.func}({self.column})"


class GoldSpec(TableSpec):
    """A gold table: ``SELECT keys, aggregates FROM source WHERE filter GROUP BY keys``.

    Gold tables are materialized views: recomputed from their source on every run and replaced
    atomically (one Delta commit).

    Attributes:
        source: The table aggregated.
        filter: SQL condition applied before grouping (``"status = 'completed'"``).
        group_by: Keys: column names or ``"expression AS alias"``.
        aggregations: The aggregates (see :mod:`medallion.agg` for constructors).
        derived: Columns computed from keys and aggregates, e.g.
            ``{"customer_tenure_days": "datediff(last_order_date, first_order_date)"}``.
        having: SQL condition on the grouped result (keys, aggregates and derived columns).
    """

    layer: ClassVar[str] = "gold"

    kind: Literal["gold"] = "gold"
    source: str
    filter: str | None = None
    group_by: tuple[GroupKey, ...] = ()
    aggregations: tuple[Aggregation, ...] = Field(min_length=1)
    derived: dict[str, str] = Field(default_factory=dict)
    having: str | None = None

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        return check_reference(value)

    @field_validator("filter", "having")
    @classmethod
    def _condition(cls, value: str | None) -> str | None:
        return None if value is None else check_sql(value, "condition")

    @field_validator("group_by", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, dict):
            return [GroupKey(alias=k, expression=v) for k, v in value.items()]
        if isinstance(value, (list, tuple)):
            return [GroupKey.parse(v) if isinstance(v, str) else v for v in value]
        return value

    @field_validator("derived")
    @classmethod
    def _derived(cls, value: dict[str, str]) -> dict[str, str]:
        for column, expression in value.items():
            check_table_name(column, "derived column name")
            check_sql(expression, f"derived column {column!r}:")
        return value

    @model_validator(mode="after")
    def _unique_outputs(self) -> GoldSpec:
        names = [k.alias for k in self.group_by] + [a.alias for a in self.aggregations]
        names += list(self.derived)
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"output column {dupes[0]!r} is defined twice (keys, aggregations "
                             "and derived columns share one namespace)")
        if self.source == self.name:
            raise ValueError(f"table {self.name!r} cannot read itself")
        return self

    def inputs(self) -> tuple[str, ...]:  # noqa: D102
        return (self.source,)
