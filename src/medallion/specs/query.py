"""The escape hatch: a table computed by the user's own query function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from medallion.specs.base import Inputs, TableSpec, check_table_name
from medallion.specs.flows import DdlSchema, ddl_column_names
from medallion.specs.rules import Rules


class QuerySpec(TableSpec):
    """A table whose rows come from a function returning a DataFrame (like ``@dp.table``).

    The function receives a :class:`medallion.ReadContext` when it takes one parameter (``ctx``),
    or nothing; it reads other tables with ``ctx.read(name)`` / ``ctx.read_stream(name)`` (or
    ``medallion.read(name)``). It only builds a DataFrame: it must not collect, count or write.
    Rules and quarantine work exactly as on silver tables.

    Attributes:
        query: The function.
        incremental: True when the function returns a streaming DataFrame (a streaming table);
            False for a materialized view, recomputed every run; None to decide from the
            DataFrame the function returns when the table runs (as Databricks' ``@dlt.table``).
        schema_: DDL of the table's columns (``"id BIGINT, name STRING"``): a column the
            function returns that the schema does not declare fails the update, and declared
            columns it does not return are NULL.
        inputs: Tables the function reads. Found automatically from literal ``read("name")``
            calls in its source; give them when names are computed at run time.
        rules: Expectations on the function's output.
        quarantine: Name of a quarantine table for rows failing drop rules.
    """

    layer: ClassVar[str] = "custom"

    kind: Literal["query"] = "query"
    query: Callable[..., Any] = Field(exclude=True)
    incremental: bool | None = False
    schema_: DdlSchema = Field(default=None, alias="schema")
    inputs_: Inputs = Field(default=(), alias="inputs")
    rules: Rules = ()
    quarantine: str | None = None

    @field_validator("quarantine")
    @classmethod
    def _quarantine(cls, value: str | None) -> str | None:
        return None if value is None else check_table_name(value, "quarantine table name")

    @model_validator(mode="after")
    def _coherent(self) -> QuerySpec:
        if self.quarantine is not None and not any(r.action == "drop" for r in self.rules):
            raise ValueError(
                f"quarantine {self.quarantine!r} would always be empty: it receives rows "
                "failing a 'drop' rule, and this table has none"
            )
        if self.name in self.inputs_:
            raise ValueError(f"table {self.name!r} cannot read itself")
        return self

    def inputs(self) -> tuple[str, ...]:  # noqa: D102
        return self.inputs_

    def known_columns(self) -> tuple[str, ...] | None:  # noqa: D102
        return None if self.schema_ is None else ddl_column_names(self.schema_)

    def outputs(self) -> tuple[str, ...]:  # noqa: D102
        return (self.name,) if self.quarantine is None else (self.name, self.quarantine)

    def streams(self, source_streams: Callable[[str], bool]) -> bool | None:
        """``incremental``: None when the DataFrame the function returns decides."""
        return self.incremental
