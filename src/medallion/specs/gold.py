"""Gold: business aggregates over silver tables, as typed specs instead of hand-written SQL."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from medallion.specs.base import (
    Definition,
    Model,
    TableSpec,
    check_reference,
    check_sql,
    check_table_name,
)
from medallion.specs.sqlexpr import SqlSyntaxError, split_alias

AggFunction = Literal[
    "count", "count_distinct", "approx_count_distinct", "sum", "avg", "min", "max", "first",
    "last", "approx_percentile",
]
OutputMode = Literal["update", "append"]
#: Aggregates whose result may depend on the order rows are combined in; a table using one is
#: always fully recomputed (see :attr:`Aggregation.order_sensitive`).
ORDER_SENSITIVE: frozenset[str] = frozenset({"approx_count_distinct", "approx_percentile"})
_SIMPLE_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION = re.compile(
    r"^\s*(\d+\s*(microsecond|millisecond|second|minute|hour|day|week)s?\s*)+$", re.IGNORECASE
)


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
    ``first`` / ``last`` take the value of ``column`` on the row with the smallest / greatest
    ``order_by`` (rows whose ``order_by`` is NULL are ignored; ties go to the smallest /
    greatest value, so the result never depends on row order). ``approx_percentile`` takes a
    ``percentage`` between 0 and 1 and an ``accuracy``.

    Example:
        >>> Aggregation(func="sum", column="amount", alias="total_sales").sql()
        'sum(amount)'
        >>> Aggregation(func="last", column="status", order_by="ts", alias="s").sql()
        'max_by(status, CASE WHEN (ts) IS NULL THEN NULL ELSE struct(ts, status) END)'
    """

    func: AggFunction
    column: str | None = None
    alias: str
    order_by: str | None = None
    percentage: float | None = None
    accuracy: int = Field(default=10000, gt=0)

    @field_validator("alias")
    @classmethod
    def _alias(cls, value: str) -> str:
        return check_table_name(value, "aggregation alias")

    @field_validator("column", "order_by")
    @classmethod
    def _column(cls, value: str | None) -> str | None:
        return None if value is None else check_sql(value, "aggregated column")

    @model_validator(mode="after")
    def _coherent(self) -> Aggregation:
        if self.column is None and self.func != "count":
            raise ValueError(f"aggregation {self.alias!r}: {self.func} needs a column")
        if (self.order_by is None) == (self.func in ("first", "last")):
            if self.order_by is None:
                raise ValueError(
                    f"aggregation {self.alias!r}: {self.func} needs order_by, the column that "
                    f"decides which row is the {self.func} (e.g. order_by='order_date')"
                )
            raise ValueError(
                f"aggregation {self.alias!r}: order_by only applies to first and last, not "
                f"{self.func}"
            )
        if self.func == "approx_percentile":
            if self.percentage is None or not 0.0 <= self.percentage <= 1.0:
                raise ValueError(
                    f"aggregation {self.alias!r}: approx_percentile needs a percentage between "
                    f"0 and 1 (e.g. 0.5 for the median), got {self.percentage!r}"
                )
        elif self.percentage is not None:
            raise ValueError(
                f"aggregation {self.alias!r}: percentage only applies to approx_percentile"
            )
        return self

    @property
    def order_sensitive(self) -> bool:
        """True when the result may differ with the order rows are combined in (approximate)."""
        return self.func in ORDER_SENSITIVE

    def sql(self) -> str:
        """The aggregate as Spark SQL text (without the alias)."""
        if self.func == "count":
            return f"count({self.column or '*'})"
        if self.func == "count_distinct":
            return f"count(DISTINCT {self.column})"
        if self.func in ("first", "last"):
            pick = "min_by" if self.func == "first" else "max_by"
            # The value itself breaks ties, so equal order_by values give a deterministic answer.
            return (f"{pick}({self.column}, CASE WHEN ({self.order_by}) IS NULL THEN NULL "
                    f"ELSE struct({self.order_by}, {self.column}) END)")
        if self.func == "approx_percentile":
            return f"approx_percentile({self.column}, {self.percentage}, {self.accuracy})"
        return f"{self.func}({self.column})"


class TimeWindow(Model):
    """A tumbling event-time window: every row falls in exactly one window of ``duration``.

    The window becomes two output columns, its start and end (``start`` / ``end`` name them).

    Example:
        >>> w = TimeWindow(column="order_date", duration="1 hour", start="hour_start",
        ...                end="hour_end")
        >>> w.duration
        '1 hour'
    """

    column: str
    duration: str
    start: str = "window_start"
    end: str = "window_end"

    @field_validator("column")
    @classmethod
    def _event_time(cls, value: str) -> str:
        return check_table_name(value, "window column")

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        return check_duration(value, "window duration")

    @field_validator("start", "end")
    @classmethod
    def _names(cls, value: str) -> str:
        return check_table_name(value, "window column name")


def check_duration(value: str, what: str) -> str:
    """Raise ValueError unless ``value`` is a Spark interval such as ``'1 hour'``."""
    if not isinstance(value, str) or not _DURATION.match(value):
        raise ValueError(
            f"{what} {value!r} is not a duration; write a number and a unit, e.g. "
            "'10 minutes', '1 hour', '1 day'"
        )
    return value.strip()


class GoldSpec(TableSpec):
    """A gold table: ``SELECT keys, aggregates FROM source WHERE filter GROUP BY keys``.

    By default a gold table is a materialized view: it reflects its source after every run.
    When the source records a change data feed, only the groups whose rows changed are
    recomputed and merged (the run summary says which path was taken); otherwise, and when an
    aggregate is approximate, the table is recomputed and replaced in one Delta commit.

    With ``incremental=True`` it is a streaming table aggregating event-time ``window`` s of a
    streaming source: each run reads only new source rows and updates only the windows they
    fall in. Rows arriving after the ``watermark`` has passed their window are not aggregated;
    they are counted (``rows_late`` in the run summary). ``output_mode`` says what a run writes:
    ``update`` (default) merges the current value of every window that changed, including
    windows still open; ``append`` writes each window once, when the watermark closes it (what
    a Databricks streaming table does).

    Attributes:
        source: The table aggregated.
        filter: SQL condition applied before grouping (``"status = 'completed'"``).
        group_by: Keys: column names or ``"expression AS alias"``.
        aggregations: The aggregates (see :mod:`medallion.agg` for constructors).
        derived: Columns computed from keys and aggregates, e.g.
            ``{"customer_tenure_days": "datediff(last_order_date, first_order_date)"}``.
        having: SQL condition on the grouped result (keys, aggregates and derived columns).
        window: Event-time window (a :class:`TimeWindow`), an extra group key.
        watermark: How late an event may arrive, e.g. ``"1 hour"`` (streaming only).
        incremental: A streaming table over a streaming source (needs window and watermark).
        output_mode: ``update`` or ``append`` (streaming only).
    """

    layer: ClassVar[str] = "gold"

    kind: Literal["gold"] = "gold"
    source: str
    filter: str | None = None
    group_by: tuple[GroupKey, ...] = ()
    aggregations: tuple[Aggregation, ...] = Field(min_length=1)
    derived: dict[str, str] = Field(default_factory=dict)
    having: str | None = None
    window: TimeWindow | None = None
    watermark: str | None = None
    incremental: bool = False
    output_mode: OutputMode = "update"

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        return check_reference(value)

    @field_validator("filter", "having")
    @classmethod
    def _condition(cls, value: str | None) -> str | None:
        return None if value is None else check_sql(value, "condition")

    @field_validator("watermark")
    @classmethod
    def _watermark(cls, value: str | None) -> str | None:
        return None if value is None else check_duration(value, "watermark")

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
        names = list(self.output_columns())
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"output column {dupes[0]!r} is defined twice (keys, window, "
                             "aggregations and derived columns share one namespace)")
        if self.source == self.name:
            raise ValueError(f"table {self.name!r} cannot read itself")
        return self

    @model_validator(mode="after")
    def _streaming(self) -> GoldSpec:
        if self.incremental:
            if self.window is None or self.watermark is None:
                raise ValueError(
                    "incremental=True (a streaming aggregate) needs window=TimeWindow(...) and "
                    "watermark='...': without them every group stays open forever. Drop "
                    "incremental=True to declare a materialized view instead"
                )
        else:
            if self.watermark is not None:
                raise ValueError(
                    "watermark only applies to a streaming aggregate; add incremental=True "
                    "(with a window), or remove the watermark"
                )
            if self.output_mode != "update":
                raise ValueError("output_mode only applies to a streaming aggregate "
                                 "(incremental=True)")
        return self

    def key_columns(self) -> tuple[str, ...]:
        """The columns identifying a row of the table: window start (if any) and the keys."""
        window = (self.window.start,) if self.window is not None else ()
        return (*window, *(k.alias for k in self.group_by))

    def output_columns(self) -> tuple[str, ...]:
        """The table's columns, in order."""
        window = (self.window.start, self.window.end) if self.window is not None else ()
        return (*window, *(k.alias for k in self.group_by),
                *(a.alias for a in self.aggregations), *self.derived)

    def known_columns(self) -> tuple[str, ...] | None:  # noqa: D102
        return self.output_columns()

    def inputs(self) -> tuple[str, ...]:  # noqa: D102
        return (self.source,)

    def streams(self, source_streams: Callable[[str], bool]) -> bool | None:
        """``incremental``: a streaming aggregate reads only new source rows each run."""
        return self.incremental

    def appends_only(self, writers: Iterable[Definition] = ()) -> bool:
        """Only in ``append`` mode: ``update`` merges the current value of open windows."""
        return self.output_mode == "append"

    def updated_in_place(self) -> str | None:  # noqa: D102
        return "a streaming aggregate in update mode"
