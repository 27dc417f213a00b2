"""The local runner: executes a pipeline on Spark + Delta Lake, table by table in graph order."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from medallion.backends.local.context import RunContext, explain
from medallion.backends.local.delta import Target
from medallion.backends.local.eventlog import EVENT_LOG_TABLE, EventLog, pipeline_id
from medallion.backends.local.result import RunResult, TableResult
from medallion.backends.local.session import local_session, require_spark
from medallion.backends.local.warehouse import Warehouse
from medallion.errors import GraphError
from medallion.graph import Graph
from medallion.pipeline import Declaration, Pipeline

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ProgressCallback = Callable[[TableResult], None]
StartCallback = Callable[[Declaration], None]


class LocalRunner:
    """Runs pipelines locally.

    Example:
        >>> runner = LocalRunner(warehouse="/tmp/wh")  # doctest: +SKIP
        >>> result = runner.run(pipeline)               # doctest: +SKIP
        >>> print(result.summary())                     # doctest: +SKIP

    Args:
        warehouse: Folder holding the tables (default ``$MEDALLION_WAREHOUSE`` or
            ``./medallion-warehouse``).
        spark: Session to use; default: the active Delta-enabled session, or a new one.
        spark_conf: Extra Spark settings for a session the runner starts.
        quiet: Send the JVM's console output to ``<warehouse>/_system/logs/`` (CLI default).
        on_table: Called with each table's result as soon as it is known (progress display).
        event_log: Name of the event log table in the pipeline's schema (None: no event log).
        on_start: Called with each declaration just before its table starts running (a
            skipped table is only reported to ``on_table``).
    """

    def __init__(
        self,
        *,
        warehouse: str | os.PathLike[str] | None = None,
        spark: SparkSession | None = None,
        spark_conf: Mapping[str, str] | None = None,
        quiet: bool = False,
        on_table: ProgressCallback | None = None,
        event_log: str | None = EVENT_LOG_TABLE,
        on_start: StartCallback | None = None,
    ) -> None:
        self.warehouse = Warehouse(warehouse)
        self._spark = spark
        self._spark_conf = dict(spark_conf or {})
        self._quiet = quiet
        self._on_table = on_table
        self._event_log = event_log
        self._on_start = on_start

    @property
    def spark(self) -> SparkSession:
        """The session (started on first use)."""
        if self._spark is None:
            log = self.warehouse.log_dir() / "spark.log" if self._quiet else None
            self._spark = local_session(conf=self._spark_conf, quiet_startup_log=log)
        return self._spark

    def run(
        self,
        pipeline: Pipeline,
        *,
        full_refresh: bool | Iterable[str] = False,
        raise_on_failure: bool = True,
    ) -> RunResult:
        """Run every table of ``pipeline`` in dependency order.

        A table whose update fails leaves its data unchanged; tables reading it are skipped,
        independent tables still run.

        Args:
            pipeline: The declarations to run.
            full_refresh: True to reset every table (data and checkpoints), or the names of the
                tables to reset. Streaming tables that read a reset table are reset with it.
            raise_on_failure: Raise the failure (an :class:`medallion.ExpectationFailed` for a
                fail rule) after the run; when False, inspect ``result.failed``.

        Raises:
            GraphError: before any Spark job, when the graph is invalid.
            PipelineRunError: after the run, when a table failed (unless disabled).
        """
        graph = pipeline.graph()
        self._check_event_log_name(pipeline)
        refresh = self._refresh_set(pipeline, graph, full_refresh)
        require_spark()
        started = time.perf_counter()
        spark = self.spark
        context = RunContext(spark, self.warehouse, pipeline, graph)
        result = RunResult(pipeline.name, pipeline.schema, self.warehouse.root, spark=spark)
        self._prepare_catalog(pipeline, graph, refresh)
        events = EventLog(pipeline.name, pipeline_id(pipeline.name, str(self.warehouse.root)),
                          pipeline.schema)
        events.update_started(refresh, [d.name for d in graph.order])
        for decl in graph.order:
            events.flow_defined(decl, "streaming" if context.is_incremental(decl.name)
                                else "batch")
            events.flow_status(decl.name, "QUEUED")
        result.update_id = events.update_id
        try:
            blocked: dict[str, str] = {}
            for decl in graph.order:
                table = self._run_table(context, decl, graph, blocked, events)
                result.tables[decl.name] = table
                events.flow_finished(decl, table)
                if self._on_table is not None:
                    self._on_table(table)
            result.seconds = time.perf_counter() - started
            events.update_finished(result.ok, result.seconds)
        finally:
            self._write_events(events, pipeline)
        if raise_on_failure:
            result.raise_for_failures()
        return result

    def _prepare_catalog(self, pipeline: Pipeline, graph: Graph, refresh: set[str]) -> None:
        """Reset the tables being refreshed; register every table that exists on disk."""
        spark = self.spark
        self.warehouse.ensure_schema(spark, pipeline.schema)
        outputs = [(decl, output) for decl in graph.order for output in decl.spec.outputs()]
        if self._event_log:
            self.warehouse.unregister(spark, pipeline.schema, self._event_log)
            if self.warehouse.exists(pipeline.schema, self._event_log):
                self.warehouse.register(spark, pipeline.schema, self._event_log)
        for decl, output in outputs:
            # The session catalog may still point at another warehouse (an earlier run in this
            # process): always re-register from what is on disk here.
            self.warehouse.unregister(spark, pipeline.schema, output)
            if decl.name in refresh:
                self.warehouse.reset(pipeline.schema, output)
            elif self.warehouse.exists(pipeline.schema, output):
                self.warehouse.register(spark, pipeline.schema, output)

    def _run_table(
        self,
        context: RunContext,
        decl: Declaration,
        graph: Graph,
        blocked: dict[str, str],
        events: EventLog,
    ) -> TableResult:
        """Run one table, or skip it when something it reads failed or was skipped."""
        upstream = [graph.producer_name(t) for t in graph.upstream[decl.name]]
        culprit = next((u for u in upstream if u in blocked), None)
        if culprit is not None:
            blocked[decl.name] = "was skipped"
            return TableResult(decl.name, decl.spec.layer, status="skipped",
                               detail=f"not run: upstream table '{culprit}' {blocked[culprit]}")
        from medallion.backends.local.flows import flow_for

        if self._on_start is not None:
            self._on_start(decl)
        flow = flow_for(context, decl)
        events.flow_status(decl.name, "RUNNING")
        try:
            return flow.execute()
        except Exception as exc:  # every failure is reported per table, then raised
            table = flow.result
            table.status = "failed"
            table.error = explain(exc, decl.name)
            table.error.__cause__ = exc
            blocked[decl.name] = "failed"
            return table

    def _check_event_log_name(self, pipeline: Pipeline) -> None:
        if not self._event_log:
            return
        for decl in pipeline.declarations:
            if self._event_log in decl.spec.outputs():
                raise GraphError(
                    f"{decl.describe()} uses the name '{self._event_log}', which the runner's "
                    "event log table has; rename the table, or give the runner another "
                    "event_log name",
                    tables=(self._event_log,),
                )

    def _write_events(self, events: EventLog, pipeline: Pipeline) -> None:
        if not self._event_log:
            return
        target = Target(pipeline.schema, self._event_log,
                        self.warehouse.table_path(pipeline.schema, self._event_log),
                        comment="medallion pipeline event log (Databricks event log columns)")
        events.write(self.spark, target)

    @staticmethod
    def _refresh_set(
        pipeline: Pipeline, graph: Graph, full_refresh: bool | Iterable[str]
    ) -> set[str]:
        """Declarations to reset: the chosen ones plus streaming tables reading them."""
        if full_refresh is True:
            return {d.name for d in graph.order}
        if full_refresh is False:
            return set()
        names = pipeline.check_table_names(full_refresh)
        chosen = {graph.producer_name(n) for n in names}
        # A streaming reader keeps offsets into the table it reads; once that table is rebuilt
        # those offsets mean nothing, so the reader restarts from the new table too.
        changed = True
        while changed:
            changed = False
            for decl in graph.order:
                if decl.name in chosen or not _streams(decl.spec, graph):
                    continue
                if any(graph.producer_name(t) in chosen for t in graph.upstream[decl.name]):
                    chosen.add(decl.name)
                    changed = True
        return chosen


def _streams(spec: object, graph: Graph) -> bool:
    """Whether a spec reads its inputs as streams (conservatively, for full refresh)."""
    from medallion.specs import QuerySpec, SilverSpec

    if isinstance(spec, QuerySpec):
        return spec.incremental
    if isinstance(spec, SilverSpec):
        if spec.incremental is not None:
            return spec.incremental
        return True  # default follows the source: assume streaming, resetting is the safe side
    return False
