"""The local runner: executes a pipeline on Spark + Delta Lake, table by table in graph order."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from medallion.backends.local import clustering
from medallion.backends.local.context import RunContext, explain
from medallion.backends.local.result import RunResult, TableResult
from medallion.backends.local.session import local_session, require_spark
from medallion.backends.local.settings import LocalSettings
from medallion.backends.local.warehouse import Warehouse
from medallion.graph import Graph
from medallion.pipeline import Declaration, Pipeline
from medallion.specs.base import TableSpec
from medallion.specs.flows import FlowSpec

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ProgressCallback = Callable[[TableResult], None]


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
        optimize: Run ``OPTIMIZE`` on clustered tables after writing them (see
            :class:`~medallion.backends.local.settings.LocalSettings`).
        incremental_refresh: Let materialized views merge only changed groups (default True).
    """

    def __init__(
        self,
        *,
        warehouse: str | os.PathLike[str] | None = None,
        spark: SparkSession | None = None,
        spark_conf: Mapping[str, str] | None = None,
        quiet: bool = False,
        on_table: ProgressCallback | None = None,
        optimize: bool = False,
        incremental_refresh: bool = True,
    ) -> None:
        self.warehouse = Warehouse(warehouse)
        self.settings = LocalSettings(optimize=optimize, incremental_refresh=incremental_refresh)
        self._spark = spark
        self._spark_conf = dict(spark_conf or {})
        self._quiet = quiet
        self._on_table = on_table

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
        refresh = self._refresh_set(pipeline, graph, full_refresh)
        require_spark()
        started = time.perf_counter()
        spark = self.spark
        context = RunContext(spark, self.warehouse, pipeline, graph, self.settings)
        result = RunResult(pipeline.name, pipeline.schema, self.warehouse.root, spark=spark)
        self.warehouse.ensure_schema(spark, pipeline.schema)
        for decl in graph.order:
            for output in decl.spec.outputs():
                # The session catalog may still point at another warehouse (an earlier run in
                # this process): always re-register from what is on disk here.
                self.warehouse.unregister(spark, pipeline.schema, output)
                if decl.key in refresh:
                    self.warehouse.reset(pipeline.schema, output)
                elif self.warehouse.exists(pipeline.schema, output):
                    self.warehouse.register(spark, pipeline.schema, output)

        blocked: dict[str, str] = {}
        for decl in graph.order:
            culprit = next((u for u in graph.requires(decl) if u in blocked), None)
            if culprit is not None:
                what = f"flow '{culprit[5:]}'" if culprit.startswith("flow:") else (
                    f"upstream table '{culprit}'")
                table = TableResult(decl.name, decl.spec.layer, status="skipped",
                                    detail=f"not run: {what} {blocked[culprit]}")
                blocked[decl.key] = "was skipped"
            else:
                from medallion.backends.local.flows import flow_for

                flow = flow_for(context, decl)
                try:
                    self._before(context, decl)
                    table = flow.execute()
                    self._after(context, decl, table)
                except Exception as exc:  # every failure is reported per table, then raised
                    table = flow.result
                    table.status = "failed"
                    table.error = explain(exc, decl.name)
                    table.error.__cause__ = exc
                    blocked[decl.key] = "failed"
            context.results[decl.key] = table
            if decl.key == decl.name:
                result.tables[decl.name] = table
            else:
                result.flows[decl.name] = table
            if self._on_table is not None:
                self._on_table(table)
        result.seconds = time.perf_counter() - started
        if raise_on_failure:
            result.raise_for_failures()
        return result

    def _before(self, context: RunContext, decl: Declaration) -> None:
        """Before a table's first write of the run: align its clustering keys with the spec."""
        spec = decl.spec
        table = spec.target if isinstance(spec, FlowSpec) else spec.name
        if table in context.synced or not self.warehouse.exists(context.schema, table):
            return
        context.synced.add(table)
        clustering.sync(context.spark, self.warehouse, context.schema,
                        context.table_spec(table), table)

    def _after(self, context: RunContext, decl: Declaration, table: TableResult) -> None:
        """After a table was written: remember its clustering, OPTIMIZE it when asked."""
        spec = decl.spec
        if not isinstance(spec, TableSpec) or not self.warehouse.exists(context.schema,
                                                                           spec.name):
            return
        if clustering.recorded(self.warehouse, context.schema, spec.name) != spec.cluster_by:
            clustering.remember(self.warehouse, context.schema, spec.name, spec.cluster_by)
        wrote = table.status == "completed" and (
            table.rows_written or table.num_upserted_rows or table.num_deleted_rows)
        if wrote and clustering.wants_optimize(spec, context.settings):
            clustering.optimize(context.spark, context.schema, spec.name)
            table.optimized = True

    @staticmethod
    def _refresh_set(
        pipeline: Pipeline, graph: Graph, full_refresh: bool | Iterable[str]
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
                if decl.key in chosen or not _streams(decl.spec, graph):
                    continue
                if any(graph.producer_name(t) in chosen for t in graph.upstream[decl.key]):
                    chosen.add(decl.key)
                    changed = True
        return chosen


def _streams(spec: object, graph: Graph) -> bool:
    """Whether a spec reads its inputs as streams (conservatively, for full refresh)."""
    from medallion.specs import GoldSpec, QuerySpec, SilverSpec, StreamingTableSpec

    if isinstance(spec, StreamingTableSpec):
        return True  # its flows stream (or apply changes) from their sources
    if isinstance(spec, QuerySpec | GoldSpec):
        return spec.incremental
    if isinstance(spec, SilverSpec):
        if spec.incremental is not None:
            return spec.incremental
        return True  # default follows the source: assume streaming, resetting is the safe side
    return False
