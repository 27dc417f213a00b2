"""The local runner: executes a pipeline on Spark + Delta Lake, table by table in graph order."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from medallion.backends.local import clustering
from medallion.backends.local.delta import Target, set_owner
from medallion.backends.local.eventlog_writer import EVENT_LOG_TABLE, EventLog, pipeline_id
from medallion.backends.local.ownership import check_owners, owner_of
from medallion.backends.local.result import RunResult, TableResult
from medallion.backends.local.run_context import RunContext, explain
from medallion.backends.local.session import local_session, require_spark
from medallion.backends.local.settings import LocalSettings
from medallion.backends.local.warehouse import Warehouse
from medallion.errors import GraphError, MedallionError
from medallion.graph import Graph

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from medallion.pipeline import Declaration, Pipeline

ProgressCallback = Callable[[TableResult], None]
StartCallback = Callable[["Declaration"], None]


class LocalRunner:
    """Runs pipelines locally; a :class:`~medallion.backends.base.Backend`.

    It executes a pipeline once it is declared (:meth:`run`). Attached to a pipeline
    (:meth:`medallion.Pipeline.attach`), it checks each declaration as it is made
    (:meth:`declare`).

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
        optimize: Run ``OPTIMIZE`` on clustered tables after writing them (see
            :class:`~medallion.backends.local.settings.LocalSettings`).
        incremental_refresh: Let materialized views merge only changed groups (default True).
        remote: Spark Connect URL of a Delta-enabled server to run on (default
            ``$MEDALLION_SPARK_REMOTE``; see :func:`~medallion.local_session`).
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
        optimize: bool = False,
        incremental_refresh: bool = True,
        remote: str | None = None,
    ) -> None:
        self.warehouse = Warehouse(warehouse)
        self.settings = LocalSettings(optimize=optimize, incremental_refresh=incremental_refresh)
        self._spark = spark
        self._spark_conf = dict(spark_conf or {})
        self._remote = remote
        self._quiet = quiet
        self._on_table = on_table
        self._event_log = event_log
        self._on_start = on_start

    @property
    def spark(self) -> SparkSession:
        """The session (started on first use)."""
        if self._spark is None:
            log = self.warehouse.log_dir() / "spark.log" if self._quiet else None
            self._spark = local_session(conf=self._spark_conf, quiet_startup_log=log,
                                        remote=self._remote)
        return self._spark

    def declare(self, declaration: Declaration) -> None:
        """Check the runner has a flow for ``declaration``'s spec kind (it runs in :meth:`run`).

        Raises:
            BackendError: naming a spec type the local runner cannot run.
        """
        from medallion.backends.local.flows import flow_class

        flow_class(declaration)

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
                tables to reset (a list, or one string: ``"a,b"``). Streaming tables that read
                a reset table are reset with it.
            raise_on_failure: Raise the failure (an :class:`medallion.ExpectationFailed` for a
                fail rule) after the run; when False, inspect ``result.failed``.

        Raises:
            GraphError: before any Spark job, when the graph is invalid.
            TableOwnershipError: before any write, when another pipeline owns a table this
                one would write (unless that table is fully refreshed: then it is taken over).
            PipelineRunError: after the run, when a table failed (unless disabled).
        """
        graph = pipeline.graph()
        self._check_event_log_name(pipeline)
        refresh = self._refresh_set(pipeline, graph, full_refresh)
        require_spark()
        started = time.perf_counter()
        spark = self.spark
        check_owners(spark, self.warehouse, pipeline, graph, refresh,
                     shared=[self._event_log] if self._event_log else [])
        context = RunContext(spark, self.warehouse, pipeline, graph, self.settings)
        result = RunResult(pipeline.name, pipeline.schema, self.warehouse.root, spark=spark)
        self._prepare_catalog(pipeline, graph, refresh)
        events = EventLog(pipeline.name, pipeline_id(pipeline.name, str(self.warehouse.root)),
                          pipeline.schema, hooks=list(pipeline.event_hooks))
        events.update_started(refresh, [d.name for d in graph.order])
        for decl in graph.order:
            if _is_flow(decl):
                events.flow_defined(decl, _flow_type(context, decl))
                events.flow_status(decl, "QUEUED")
        result.update_id = events.update_id
        try:
            blocked: dict[str, str] = {}
            for decl in graph.order:
                table = self._run_table(context, decl, graph, blocked, events)
                context.results[decl.key] = table
                if decl.key == decl.name:
                    result.tables[decl.name] = table
                else:
                    result.flows[decl.name] = table
                if _is_flow(decl):
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
            if decl.spec.destination() is not None:  # outside the pipeline: refreshes keep rows
                if decl.key in refresh:
                    self.warehouse.reset(pipeline.schema, output, data=False)
                continue
            # The session catalog may still point at another warehouse (an earlier run in this
            # process): always re-register from what is on disk here.
            self.warehouse.unregister(spark, pipeline.schema, output)
            if decl.key in refresh:
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
        """Run one table or flow, or skip it when something it needs failed or was skipped."""
        culprit = next((u for u in graph.requires(decl) if u in blocked), None)
        if culprit is not None:
            blocked[decl.key] = "was skipped"
            what = (f"flow '{culprit[5:]}'" if culprit.startswith("flow:")
                    else f"upstream table '{culprit}'")
            skipped = TableResult(decl.name, decl.spec.layer, status="skipped",
                                  detail=f"not run: {what} {blocked[culprit]}")
            if decl.spec.is_flow:
                skipped.target = decl.spec.writes()
            return skipped
        from medallion.backends.local.flows import flow_for

        if self._on_start is not None:
            self._on_start(decl)
        flow = flow_for(context, decl)
        if _is_flow(decl):
            events.flow_status(decl, "RUNNING")
        try:
            self._before(context, decl)
            table = flow.execute()
            self._after(context, decl, table)
            return table
        except Exception as exc:  # every failure is reported per table, then raised
            table = flow.result
            table.status = "failed"
            table.error = explain(exc, decl.name)
            table.error.__cause__ = exc
            blocked[decl.key] = "failed"
            return table

    def _before(self, context: RunContext, decl: Declaration) -> None:
        """Before a table's first write of the run: align its clustering keys with the spec."""
        table = decl.spec.writes()
        if table in context.synced or not self.warehouse.exists(context.schema, table):
            return
        context.synced.add(table)
        clustering.sync(context.spark, self.warehouse, context.schema,
                        context.table_spec(table), table)

    def _after(self, context: RunContext, decl: Declaration, table: TableResult) -> None:
        """After a table was written: remember its clustering, OPTIMIZE it when asked."""
        if decl.spec.is_flow or not self.warehouse.exists(context.schema, decl.name):
            return
        spec = context.table_spec(decl.name)
        if owner_of(context.spark, self.warehouse, context.schema, spec.name) is None:
            # A table from before owners were recorded (or a crash between its first commit
            # and the owner's): the pipeline writing it now adopts it.
            set_owner(context.spark, self.warehouse.table_path(context.schema, spec.name),
                      context.pipeline.name)
        if clustering.recorded(self.warehouse, context.schema, spec.name) != spec.cluster_by:
            clustering.remember(self.warehouse, context.schema, spec.name, spec.cluster_by)
        wrote = table.status == "completed" and (
            table.rows_written or table.num_upserted_rows or table.num_deleted_rows)
        if wrote and clustering.wants_optimize(spec, context.settings):
            clustering.optimize(context.spark, context.schema, spec.name)
            table.optimized = True

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
                        comment="medallion pipeline event log (Databricks event log columns)",
                        # One commit per run: Delta's default checkpoint every 10 commits made
                        # every tenth run pay ~1 s for it; reading 100 small commits is cheap.
                        properties={"delta.checkpointInterval": "100"})
        events.write(self.spark, target)

    def _refresh_set(
        self, pipeline: Pipeline, graph: Graph, full_refresh: bool | Iterable[str]
    ) -> set[str]:
        """Declarations to reset: the chosen ones plus streaming tables reading them."""
        if full_refresh is True:
            return {d.key for d in graph.order}
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
                if decl.key in chosen or not self._streams(pipeline, decl):
                    continue
                if any(graph.producer_name(t) in chosen for t in graph.upstream[decl.key]):
                    chosen.add(decl.key)
                    changed = True
        return chosen

    def _streams(self, pipeline: Pipeline, decl: Declaration) -> bool:
        """Whether a declaration reads its inputs as streams (conservatively, for full refresh).

        A table following its source's kind is assumed to stream: resetting is the safe side.
        A ``@dlt.table``'s kind is its DataFrame's: it streamed if it has a checkpoint.
        """
        streams = decl.spec.streams(lambda source: True)
        if streams is None:
            return self.warehouse.checkpoint(pipeline.schema, decl.name).exists()
        return streams


def _is_flow(decl: Declaration) -> bool:
    """Whether a declaration is a flow for the event log.

    A streaming table's own node is not: its flows report the rows, and counting them twice
    would break the event log's sums.
    """
    return not decl.spec.written_by_flows


def _flow_type(context: RunContext, decl: Declaration) -> str:
    """``streaming`` or ``batch``, as the event log's ``flow_definition`` says."""
    streams = decl.spec.flow_streams(context.source_streams)
    if streams is None:
        try:  # its DataFrame decides; before the first run its inputs may not exist yet
            streams = context.query_streams(decl)
        except MedallionError:
            streams = False
    return "streaming" if streams else "batch"
