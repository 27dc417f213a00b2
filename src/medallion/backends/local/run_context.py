"""The local runner's reading context, and the translation of Spark errors into medallion's."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from medallion.backends.local.delta import Target
from medallion.backends.local.result import TableResult
from medallion.backends.local.settings import LocalSettings
from medallion.backends.local.warehouse import Warehouse
from medallion.core.rules import find_violation
from medallion.errors import ExpectationFailed, GraphError, MedallionError, TableRunError
from medallion.graph import Graph, is_external

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, DataFrameReader, SparkSession
    from pyspark.sql.streaming.readwriter import DataStreamReader

    from medallion.pipeline import Declaration, Pipeline
    from medallion.specs import QuerySpec, TableSpec


@dataclass
class RunContext:
    """Everything a flow needs: the session, the warehouse, the pipeline and its graph.

    ``results`` holds the result of every declaration run so far (by declaration key), so a
    streaming table can report what its flows wrote.
    """

    spark: SparkSession
    warehouse: Warehouse
    pipeline: Pipeline
    graph: Graph
    settings: LocalSettings = field(default_factory=LocalSettings)
    results: dict[str, TableResult] = field(default_factory=dict)
    synced: set[str] = field(default_factory=set)
    #: Whether each ``@dlt.table`` (``QuerySpec.incremental=None``) streams, from its DataFrame.
    kinds: dict[str, bool] = field(default_factory=dict)

    @property
    def schema(self) -> str:
        """The pipeline's schema."""
        return self.pipeline.schema

    def path(self, table: str) -> Path:
        """Folder of a pipeline table (a Delta sink's: its ``path`` or ``tableName``)."""
        producer = self.graph.producers.get(table)
        destination = None if producer is None else producer.spec.destination()
        if destination is not None:
            return self.sink_target(table, destination).path
        return self.warehouse.table_path(self.schema, table)

    def sink_target(self, sink: str, options: Mapping[str, str]) -> Target:
        """Where a Delta sink's rows go: its ``path``, or its ``tableName`` in the warehouse."""
        if "path" in options:
            return Target(self.schema, sink, Path(options["path"].removeprefix("file:")))
        schema, _, name = options["tableName"].rpartition(".")
        schema = schema.rpartition(".")[2] or self.schema  # a catalog has no local meaning
        self.warehouse.ensure_schema(self.spark, schema)
        return Target(schema, name, self.warehouse.table_path(schema, name))

    def target(self, name: str, **settings: object) -> Target:
        """The write target for table ``name`` with creation settings."""
        return Target(self.schema, name, self.path(name), owner=self.pipeline.name,
                      **settings)  # type: ignore[arg-type]

    def is_incremental(self, table: str) -> bool:
        """Whether a pipeline table is a streaming table (appended to, never rewritten)."""
        decl = self.graph.producers[table]
        streams = decl.spec.streams(self.source_streams)
        if streams is None:
            return self.query_streams(decl)
        writers = [w.spec for w in self.graph.writers.get(table, ())]
        return streams and decl.spec.appends_only(writers)

    def source_streams(self, source: str) -> bool:
        """Whether a table following its source's kind (silver's default) reads it as a stream."""
        return not is_external(source) and self.is_incremental(source)

    def query_streams(self, decl: Declaration) -> bool:
        """Whether a query function returns a streaming DataFrame (it is called to know).

        As on Databricks, a ``@dlt.table`` is a streaming table when its DataFrame streams.
        The function only builds a plan; its answer is kept for the run.
        """
        if decl.name not in self.kinds:
            from medallion.query_context import call_query

            spec = cast("QuerySpec", decl.spec)
            df = call_query(spec.query, self.for_table(decl))
            self.kinds[decl.name] = bool(getattr(df, "isStreaming", False))
        return self.kinds[decl.name]

    def table_spec(self, table: str) -> TableSpec:
        """The spec owning pipeline table ``table`` (the silver spec for its quarantine)."""
        return cast("TableSpec", self.graph.producers[table].spec)

    def for_table(self, decl: Declaration) -> TableReader:
        """A reading context limited to what ``decl`` declared it reads."""
        return TableReader(self, decl)


class TableReader:
    """The :class:`medallion.ReadContext` handed to one table's query."""

    def __init__(self, run: RunContext, decl: Declaration) -> None:
        self._run = run
        self._decl = decl

    @property
    def spark(self) -> SparkSession:  # noqa: D102
        return self._run.spark

    def conf(self, key: str, default: str | None = None) -> str | None:  # noqa: D102
        return self._run.pipeline.configuration.get(key, default)

    def _check(self, name: str) -> None:
        if is_external(name):
            return
        if name not in self._run.graph.producers:
            raise GraphError(
                f"{self._decl.describe()} reads '{name}', which this pipeline does not define",
                tables=(self._decl.name, name),
            )
        if name not in self._decl.spec.inputs():
            raise GraphError(
                f"{self._decl.describe()} reads '{name}' but does not declare it as an input, so "
                f"the runner cannot order it after '{name}'. Add inputs=[..., '{name}'] to its "
                "declaration.",
                tables=(self._decl.name, name),
            )
        if self._run.warehouse.version(self._run.schema, name) is None:
            raise TableRunError(
                self._decl.name,
                f"input table '{name}' has no data yet (it has never completed a run)",
            )

    def read(self, name: str) -> DataFrame:  # noqa: D102
        self._check(name)
        if is_external(name):
            return self._run.spark.read.table(name)
        return self._run.spark.read.format("delta").load(self._run.path(name).as_uri())

    def read_stream(self, name: str) -> DataFrame:  # noqa: D102
        self._check(name)
        if is_external(name):
            return self._run.spark.readStream.table(name)
        if not self._run.is_incremental(name):
            what = self._run.table_spec(name).updated_in_place()
            if what is not None:
                raise GraphError(
                    f"{self._decl.describe()} streams from '{name}', which is {what}: its rows "
                    f"are updated in place, so it cannot be read as an append-only stream. "
                    f"Read it with read('{name}'), or stream its changes with "
                    f"read_change_stream('{name}') (declare it with change_data_feed=True)",
                    tables=(self._decl.name, name),
                )
            raise GraphError(
                f"{self._decl.describe()} streams from '{name}', a materialized view that is "
                f"rewritten on every run; read it with read('{name}') instead",
                tables=(self._decl.name, name),
            )
        return self._run.spark.readStream.format("delta").load(self._run.path(name).as_uri())

    def _check_cdf(self, name: str) -> None:
        if is_external(name) or self._run.table_spec(name).cdf_enabled:
            return
        raise GraphError(
            f"{self._decl.describe()} reads the change data feed of '{name}', which does not "
            f"record one. Declare '{name}' with change_data_feed=True",
            tables=(self._decl.name, name),
        )

    def _changes(self, reader: DataStreamReader | DataFrameReader, name: str,
                 options: dict[str, str]) -> DataFrame:
        reader = reader.format("delta").option("readChangeFeed", "true").options(**options)
        if is_external(name):
            return reader.table(name)
        return reader.load(self._run.path(name).as_uri())

    def read_changes(  # noqa: D102
        self, name: str, *, starting_version: int = 0, ending_version: int | None = None
    ) -> DataFrame:
        self._check(name)
        self._check_cdf(name)
        options = {"startingVersion": str(starting_version)}
        if ending_version is not None:
            options["endingVersion"] = str(ending_version)
        return self._changes(self._run.spark.read, name, options)

    def read_change_stream(  # noqa: D102
        self, name: str, *, starting_version: int | None = None
    ) -> DataFrame:
        self._check(name)
        self._check_cdf(name)
        options = {} if starting_version is None else {"startingVersion": str(starting_version)}
        return self._changes(self._run.spark.readStream, name, options)


def explain(exc: BaseException, table: str) -> MedallionError:
    """Turn whatever a flow raised into a medallion error naming the table (no Java trace)."""
    if isinstance(exc, MedallionError):
        return exc
    text = str(exc)
    violation = find_violation(text)
    if violation is not None:
        return ExpectationFailed(violation.table, violation.rules, violation.row)
    causes = _CAUSE.findall(text)
    if causes:
        # A task failure wraps the error that says what is wrong (e.g. [CAST_INVALID_INPUT]
        # under [TASK_WRITE_FAILED]): the deepest one with a Spark error condition names it.
        return TableRunError(table, causes[-1].strip())
    return TableRunError(table, _first_lines(text))


_CAUSE = re.compile(r"Caused by: [\w.$]+: (\[[A-Z][A-Z0-9_.]*\][^\n]*)")


def _first_lines(text: str, limit: int = 3) -> str:
    lines: list[str] = []
    for line in text.strip().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("at ", "JVM stacktrace", "Traceback", "File ")):
            if lines:
                break
            continue
        lines.append(stripped)
        if len(lines) >= limit:
            break
    return " ".join(lines) or type(text).__name__
