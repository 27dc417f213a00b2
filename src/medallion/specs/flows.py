"""Streaming tables declared on their own, and the flows that write into them.

As in a Databricks pipeline, a table declared with ``create_streaming_table`` has no query of
its own: one or more *flows* write into it. An append flow appends the rows of its query; an
AUTO CDC flow (:mod:`medallion.specs.cdc`) applies change events. Flows have their own names,
unique in the pipeline, and may carry the name of their target.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from medallion.specs.base import Definition, Inputs, TableSpec, check_reference, check_table_name
from medallion.specs.ddl import parse_columns
from medallion.specs.rules import Rules


def check_ddl_schema(value: str | None) -> str | None:
    """Check a DDL schema string without Spark (see :func:`ddl_column_names`)."""
    if value is not None:
        ddl_column_names(value)
    return value


#: A table's columns as a DDL string (``"id BIGINT, name STRING"``), checked without Spark.
DdlSchema = Annotated[str | None, AfterValidator(check_ddl_schema)]

class StreamingTableSpec(TableSpec):
    """A streaming table written by flows (Databricks ``create_streaming_table``).

    Attributes:
        schema_: DDL of the columns (``"id BIGINT, name STRING"``); when omitted the table takes
            the columns its flows write. With a schema, a flow writing a column it does not
            declare fails, and declared columns a flow does not write are NULL.
        rules: Expectations applied to the rows every append flow writes into the table.
    """

    layer: ClassVar[str] = "streaming"
    written_by_flows: ClassVar[bool] = True

    kind: Literal["streaming_table"] = "streaming_table"
    schema_: DdlSchema = Field(default=None, alias="schema")
    rules: Rules = ()

    def label(self) -> str:  # noqa: D102
        return f"streaming table '{self.name}'"

    def known_columns(self) -> tuple[str, ...] | None:  # noqa: D102
        return None if self.schema_ is None else ddl_column_names(self.schema_)

    def streams(self, source_streams: Callable[[str], bool]) -> bool | None:  # noqa: D102
        return True

    def appends_only(self, writers: Iterable[Definition] = ()) -> bool:
        """Unless an AUTO CDC flow writes it: that one updates and deletes rows by key."""
        return not any(w.applies_changes for w in writers)

    def updated_in_place(self) -> str | None:  # noqa: D102
        return "maintained by AUTO CDC"


class SinkSpec(StreamingTableSpec):
    """A sink that append flows write to, outside the pipeline's tables (``create_sink``).

    As on Databricks, only append flows write a sink, no expectations apply, nothing in the
    pipeline reads it, and a full refresh does not clear it (the flows' rows are appended
    again). The local runner writes Delta sinks; other formats (Kafka, Event Hubs) only run on
    Databricks.

    Attributes:
        format: The sink's format: ``delta`` (``kafka`` on Databricks only).
        options: The sink's options: for Delta, ``path`` (a folder) or ``tableName``
            (``schema.table``; locally a table of the warehouse).
    """

    layer: ClassVar[str] = "sink"
    readable: ClassVar[bool] = False

    kind: Literal["sink"] = "sink"  # type: ignore[assignment]
    format: str
    options: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _sink(self) -> SinkSpec:
        if self.rules:
            raise ValueError(f"sink {self.name!r}: expectations do not apply to sinks")
        if self.format.lower() == "delta":
            given = [k for k in ("path", "tableName") if k in self.options]
            if len(given) != 1:
                raise ValueError(
                    f"Delta sink {self.name!r} needs options={{'path': '/folder'}} or "
                    f"options={{'tableName': 'schema.table'}} (exactly one), not "
                    f"{sorted(self.options)}")
            if given == ["tableName"]:
                check_reference(self.options["tableName"], "sink tableName")
        return self

    def label(self) -> str:  # noqa: D102
        return f"sink '{self.name}'"

    def destination(self) -> Mapping[str, str] | None:
        """The sink's options: where its rows go (``path`` or ``tableName`` for Delta)."""
        return self.options

    def refuses_writer(self, flow: Definition) -> str | None:  # noqa: D102
        if flow.applies_changes:
            return ("only append flows write sinks (as on Databricks); write a streaming table "
                    "with AUTO CDC instead")
        return None


class FlowSpec(Definition):
    """What every flow shares: its name, the streaming table it writes, and ``once``.

    Attributes:
        name: The flow's name, unique among the pipeline's flows.
        target: The table written, declared with :func:`medallion.create_streaming_table`.
        once: Run the flow once, then only again after a full refresh of the target (a
            backfill).
    """

    layer: ClassVar[str] = "flow"
    flow_type: ClassVar[str] = "flow"
    is_flow: ClassVar[bool] = True

    target: str
    once: bool = False

    @field_validator("name")
    @classmethod
    def _flow_name(cls, value: str) -> str:
        return check_table_name(value, "flow name")

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        return check_table_name(value, "flow target")

    @property
    def key(self) -> str:
        """``flow:<name>``: flows and tables have separate namespaces."""
        return f"flow:{self.name}"

    def label(self) -> str:  # noqa: D102
        return f"{self.flow_type} '{self.name}' (into '{self.target}')"

    def writes(self) -> str:
        """The table this flow writes."""
        return self.target

    def written_tables(self) -> tuple[str, ...]:  # noqa: D102
        return (self.target,)

    def flow_streams(self, source_streams: Callable[[str], bool]) -> bool | None:
        """A flow streams from its sources, unless it runs once (a backfill)."""
        return not self.once


class AppendFlowSpec(FlowSpec):
    """Rows of a query function appended to a streaming table (Databricks ``append_flow``).

    The function returns a streaming DataFrame (each run appends the rows that arrived since
    the last one) or, with ``once=True``, a batch DataFrame appended once.

    Attributes:
        query: The function (takes the read context, or nothing).
        inputs: Tables it reads; found from literal ``read("name")`` calls when omitted.
        comment: Description of the flow.
        spark_conf: Spark settings applied while the flow runs.
    """

    flow_type: ClassVar[str] = "append flow"

    kind: Literal["append_flow"] = "append_flow"
    query: Callable[..., Any] = Field(exclude=True)
    inputs_: Inputs = Field(default=(), alias="inputs")
    comment: str | None = None
    spark_conf: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _not_self(self) -> AppendFlowSpec:
        if self.target in self.inputs_:
            raise ValueError(
                f"append flow {self.name!r} reads its own target {self.target!r}; a flow "
                "cannot read the table it writes"
            )
        return self

    def inputs(self) -> tuple[str, ...]:  # noqa: D102
        return self.inputs_


def ddl_column_names(ddl: str) -> tuple[str, ...]:
    """Column names of a DDL schema string (``"id BIGINT, tags ARRAY<STRING>"``).

    Example:
        >>> ddl_column_names("id BIGINT, amount DECIMAL(10,2), `my col` STRING")
        ('id', 'amount', 'my col')
    """
    return tuple(column.name for column in parse_columns(ddl, "schema"))
