"""Silver: typed, validated, de-duplicated and enriched rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from medallion.specs.base import Model, TableSpec, check_reference, check_sql, check_table_name
from medallion.specs.bronze import DEFAULT_CORRUPT_RECORD_COLUMN
from medallion.specs.datatypes import check_type
from medallion.specs.rules import Rules

_PLAIN_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

JoinType = Literal["left", "inner", "right", "full", "left_semi", "left_anti"]


class Join(Model):
    """Enrich each row with columns of another table.

    Attributes:
        table: The table to join (a pipeline table, or ``schema.table``).
        on: Join key columns present on both sides (an equi-join ``USING`` these columns).
        how: Join type.
        columns: Columns to take from the joined table (default: all of its non-key columns).

    Example:
        >>> Join(table="silver_customers", on=["customer_id"],
        ...      columns=["customer_name", "customer_segment"]).how
        'left'
    """

    table: str
    on: tuple[str, ...]
    how: JoinType = "left"
    columns: tuple[str, ...] | None = None

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        return check_reference(value, "join table")

    @field_validator("on", mode="before")
    @classmethod
    def _on(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple)) and not value:
            raise ValueError("a join needs at least one key column in 'on'")
        return value


class SilverSpec(TableSpec):
    """A silver table: a source table made typed and trustworthy.

    Operations run in this fixed order, on every backend:

    2. ``renames``, then ``casts`` (with try-cast semantics: a value that does not convert becomes
       NULL instead of failing the job), then ``derived`` columns, then ``select``;
    1. with ``malformed_records``, rows whose corrupt record column (or another listed column)
       is not NULL go straight to the ``quarantine`` table, with ``_failed_rules =
       ['malformed_record']``; no rule sees them;
    3. ``rules``: every row is evaluated; rows failing a ``drop`` rule are removed, or routed to
       the ``quarantine`` table with the names of all rules they failed;
    4. de-duplication on ``dedup_keys`` (rows whose key is NULL are never collapsed);
    5. ``joins``.

    Attributes:
        source: The table read (usually a bronze table).
        incremental: Stream from the source (a streaming table) or recompute fully each run
            (a materialized view). Default: incremental when the source is incremental.
        renames: old name → new name.
        casts: column → Spark SQL type (``"bigint"``, ``"decimal(10,2)"``, ``"timestamp"``).
        derived: new column → SQL expression over the (renamed, cast) columns.
        select: Output columns in order; default: all columns.
        rules: Expectations (see :class:`medallion.Rule`).
        quarantine: Name of a quarantine table receiving the rows that failed a drop rule.
        malformed_records: Columns whose non-NULL value marks a malformed source record (bronze
            keeps a line it could not parse with its raw text in ``_corrupt_record`` and every
            data column NULL). Such rows go to the quarantine table with the reason
            ``malformed_record`` before the rules run, so a ``fail`` rule never fails on them.
            ``true`` means ``[_corrupt_record]``; list the rescued data column too
            (``[_corrupt_record, _rescued_data]``) to divert rows with rescued values. Needs
            ``quarantine``. Off by default: malformed rows then meet the rules like any other.
        dedup_keys: Keep one row per key.
        dedup_order_by: Keep the row with the greatest value of this column (the latest).
        joins: Enrichment joins, applied after dedup.
    """

    layer: ClassVar[str] = "silver"

    kind: Literal["silver"] = "silver"
    source: str
    incremental: bool | None = None
    renames: dict[str, str] = Field(default_factory=dict)
    casts: dict[str, str] = Field(default_factory=dict)
    derived: dict[str, str] = Field(default_factory=dict)
    select: tuple[str, ...] | None = None
    rules: Rules = ()
    quarantine: str | None = None
    malformed_records: tuple[str, ...] = ()
    dedup_keys: tuple[str, ...] = ()
    dedup_order_by: str | None = None
    joins: tuple[Join, ...] = ()

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        return check_reference(value)

    @field_validator("casts")
    @classmethod
    def _casts(cls, value: dict[str, str]) -> dict[str, str]:
        for column, type_text in value.items():
            check_type(type_text, f"cast of column {column!r}")
        return value

    @field_validator("derived")
    @classmethod
    def _derived(cls, value: dict[str, str]) -> dict[str, str]:
        for column, expression in value.items():
            check_sql(expression, f"derived column {column!r}:")
        return value

    @field_validator("quarantine", mode="before")
    @classmethod
    def _quarantine(cls, value: Any) -> Any:
        if value is False:
            return None
        if value is not None and value is not True:
            check_table_name(value, "quarantine table name")
        return value

    @field_validator("malformed_records", mode="before")
    @classmethod
    def _malformed_records(cls, value: Any) -> Any:
        if value is True:
            return (DEFAULT_CORRUPT_RECORD_COLUMN,)
        if value is False or value is None:
            return ()
        return [value] if isinstance(value, str) else value

    @field_validator("malformed_records")
    @classmethod
    def _malformed_columns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for column in value:
            if not _PLAIN_COLUMN.match(column):
                raise ValueError(
                    f"malformed_records column {column!r} is not a plain column name; e.g. "
                    f"[{DEFAULT_CORRUPT_RECORD_COLUMN}, _rescued_data]"
                )
        return value

    @field_validator("dedup_keys", mode="before")
    @classmethod
    def _dedup_keys(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _default_quarantine_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("quarantine") is True:
            data = {**data, "quarantine": f"{data.get('name')}_quarantine"}
        return data

    @model_validator(mode="after")
    def _coherent(self) -> SilverSpec:
        if self.malformed_records and self.quarantine is None:
            raise ValueError(
                "malformed_records sends malformed rows to the quarantine table, and this "
                "table has none: set quarantine (e.g. quarantine: true)"
            )
        if self.quarantine is not None:
            if self.quarantine == self.name:
                raise ValueError("quarantine table must have a name other than the table's own")
            if not self.malformed_records and not any(r.action == "drop" for r in self.rules):
                raise ValueError(
                    f"quarantine {self.quarantine!r} would always be empty: it receives rows "
                    "failing a 'drop' rule (or malformed_records), and this table has neither"
                )
        if self.dedup_order_by is not None and not self.dedup_keys:
            raise ValueError("dedup_order_by needs dedup_keys: the columns that identify a row")
        if len(set(self.dedup_keys)) != len(self.dedup_keys):
            raise ValueError(f"dedup_keys lists a column twice: {list(self.dedup_keys)}")
        if self.source == self.name:
            raise ValueError(f"table {self.name!r} cannot read itself")
        return self

    def inputs(self) -> tuple[str, ...]:  # noqa: D102
        return (self.source, *(j.table for j in self.joins))

    def known_columns(self) -> tuple[str, ...] | None:  # noqa: D102
        if self.select is None:
            return None
        joined = [c for j in self.joins for c in (j.columns or ())]
        return (*self.select, *joined) if all(j.columns is not None for j in self.joins) else None

    def outputs(self) -> tuple[str, ...]:  # noqa: D102
        return (self.name,) if self.quarantine is None else (self.name, self.quarantine)

    def streams(self, source_streams: Callable[[str], bool]) -> bool | None:
        """``incremental`` when set; by default, whether its source streams."""
        if self.incremental is not None:
            return self.incremental
        return source_streams(self.source)

