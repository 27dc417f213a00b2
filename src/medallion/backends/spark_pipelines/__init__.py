"""The ``spark-pipelines`` backend: declarations become open-source ``pyspark.pipelines`` datasets.

Apache Spark (>= 4.1) ships declarative pipelines without expectations, Auto Loader or
``read``/``read_stream``. medallion fills the gaps inside the query so that the tables equal the
local runner's:

- rules: a ``fail`` rule raises inside the query (the flow fails, the table is unchanged);
  ``drop`` rules filter; quarantine tables are their own datasets built from the same rules;
- bronze: a file stream with the schema inferred from the files present (as the local runner
  does on its first run), or a batch read of the files;
- silver with ``dedup_keys`` is a materialized view: open-source Spark recomputes materialized
  views fully, and a streaming dedup would need ``dropDuplicates``, which Spark Connect cannot
  register before the upstream table exists. Its quarantine stays a streaming table.
- ``create_streaming_table`` / ``append_flow`` map one to one (the table's rules enforced in
  each flow's query); an AUTO CDC target is a materialized view folding the source's change
  events (:func:`scd1_rows`), since open-source Spark cannot merge into Delta;
- what the runtime lacks (``once`` flows, SCD2, truncates, ``ignore_null_updates``, snapshot
  CDC, watermarked append gold) is refused by name with a :class:`BackendError`.

Known differences are listed in docs/spark-pipelines.md. Query functions run while
``spark-pipelines`` registers them, before upstream tables exist, so they only build plans:
nothing here asks Spark for ``.columns`` or ``.schema`` of a pipeline dataset.

Reads of other datasets go through pipeline temporary views (``<table>__medallion_read`` and
``<table>__medallion_stream``, one plain read each). Spark Connect's planner analyses
``withColumn(s)``/``withColumnsRenamed`` eagerly when their input resolves in the catalog, which
a table of an earlier run does: the read would then become an external read, and the flow would
lose its dependency and read a stale snapshot. A pipeline view never resolves in the catalog, so
the planner always defers, and ``spark-pipelines`` records the dependency through the view.
"""

from __future__ import annotations

import os
import warnings
import weakref
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from medallion.backends.declarative import (
    Dataset,
    DeclarativeBackend,
    active_session,
    named,
)
from medallion.core import silver as core
from medallion.core.bronze import reader_options
from medallion.core.bronze.rows import bronze_rows
from medallion.core.rules import RuleSet
from medallion.errors import BackendError
from medallion.graph import is_external
from medallion.specs import (
    AppendFlowSpec,
    AutoCdcSnapshotSpec,
    AutoCdcSpec,
    BronzeSpec,
    GoldSpec,
    QuerySpec,
    SilverSpec,
    StreamingTableSpec,
    TableSpec,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from medallion.pipeline import Declaration, Pipeline


class ClusteringNotAppliedWarning(UserWarning):
    """``cluster_by`` cannot be applied to a table created by ``spark-pipelines`` with Delta."""


class SparkPipelinesBackend(DeclarativeBackend):
    """Registers declarations with the graph-element registry ``spark-pipelines`` made active.

    Args:
        pipeline: The pipeline whose declarations arrive here.
        api: The ``pyspark.pipelines`` module (injectable for tests).
    """

    runtime = "spark-pipelines run"

    def __init__(self, pipeline: Pipeline, api: ModuleType | Any | None = None) -> None:
        super().__init__(pipeline)
        if api is None:
            from medallion.backends.spark_pipelines.project import require_spark_pipelines

            require_spark_pipelines("the spark-pipelines backend")
            from pyspark import pipelines

            api = pipelines
        self.api: Any = api
        self._views: set[str] = set()
        #: Table name → its partition columns (``Dataset`` does not carry them).
        self._partitions: dict[str, tuple[str, ...]] = {}
        #: Streaming tables waiting for their first flow (see :meth:`streaming_table`).
        self._pending: dict[str, StreamingTableSpec] = {}
        #: Every streaming table declared (the flows writing one enforce its rules).
        self._streaming_tables: dict[str, StreamingTableSpec] = {}
        _BACKENDS.add(self)

    def dataset(self, spec: TableSpec, **kwargs: Any) -> Dataset:
        """The spec's dataset; its ``partition_cols`` are remembered for :meth:`register`."""
        self._partitions[spec.name] = spec.partition_cols
        return super().dataset(spec, **kwargs)

    def register(self, dataset: Dataset) -> None:
        """``dp.table`` (streaming) or ``dp.materialized_view``; the table format is the session's.

        The generated project sets ``spark.sql.sources.default=delta``; passing ``format=``
        would make a second run try to change the reserved ``provider`` property.
        """
        if dataset.expectations:  # pragma: no cover - the translation enforces rules itself
            raise BackendError(f"dataset '{dataset.name}': open-source pipelines have no "
                               "expectations; rules must be enforced in the query")
        warn_clustering(dataset.name, dataset.cluster_by)
        define = self.api.materialized_view if dataset.streaming is False else self.api.table
        define(**table_options(dataset.name, dataset.comment, dataset.table_properties,
                               self._partitions.get(dataset.name, ())))(dataset.query)

    def read(self, name: str, *, stream: bool) -> DataFrame:
        """Another dataset, through its reading view (see the module docstring).

        External tables are read with ``spark.read.table`` / ``spark.readStream.table``.
        """
        spark = active_session()
        if not is_external(name):
            view = reading_view_name(name, stream=stream)
            if view not in self._views:
                raise BackendError(
                    f"a query reads '{name}'{' as a stream' if stream else ''} without having "
                    "declared it as an input; under spark-pipelines every table read must be "
                    f"declared up front: add inputs=[..., '{name}'] to the declaration"
                )
            name = view
        return spark.readStream.table(name) if stream else spark.read.table(name)

    def reading_view(self, table: str, *, stream: bool) -> None:
        """Register (once) the pipeline view that reads ``table`` as a batch or a stream.

        Views are registered while the pipeline's files load, never inside a query function
        (spark-pipelines refuses any command there).
        """
        if is_external(table):
            return
        view = reading_view_name(table, stream=stream)
        if view not in self._views:
            self._views.add(view)

            def rows() -> DataFrame:
                spark = active_session()
                return spark.readStream.table(table) if stream else spark.read.table(table)

            self.api.temporary_view(
                name=view, comment=f"How medallion's tables read {table} (internal)"
            )(named(rows, view))

    # -- spec kinds ------------------------------------------------------------------------------
    def gold(self, decl: Declaration) -> list[Dataset]:
        """A materialized view over its source (read through its view).

        As on Databricks, a streaming ``output_mode="update"`` gold table (every window kept
        current) is a materialized view, which holds the same current value of every window.
        ``output_mode="append"`` is refused: its watermark (``withWatermark``) makes Spark
        Connect analyse the plan while the pipeline registers, before the source exists.
        """
        spec: GoldSpec = decl.spec  # type: ignore[assignment]
        if spec.incremental and spec.output_mode == "append":
            raise unsupported(
                decl, 'incremental=True with output_mode="append" (a watermarked streaming '
                "aggregation)", "Spark Connect analyses withWatermark when the query is "
                "registered, before its source table exists: TABLE_OR_VIEW_NOT_FOUND",
                'use output_mode="update" (a materialized view of every window), or run '
                "the pipeline locally or on Databricks")
        self.reading_view(spec.source, stream=False)
        return super().gold(decl)

    def bronze(self, decl: Declaration) -> list[Dataset]:
        """A file stream (schema from the spec, else inferred now), or a batch read.

        A stream of files needs its schema up front, and query functions may not ask Spark to
        analyse anything, so the files present are read for their schema here, while the
        pipeline registers (as the local runner does on its first run). The rows carry the
        local runner's rescued data and corrupt record columns (see :func:`bronze_rows`).
        """
        spec: BronzeSpec = decl.spec  # type: ignore[assignment]
        inferred: Any = None
        if spec.schema_ is None and spec.incremental and spec.format != "text":
            inferred = self._infer(decl)

        def rows() -> DataFrame:
            from pyspark.sql.types import DataType

            spark = active_session()
            schema = DataType.fromDDL(spec.schema_) if spec.schema_ is not None else inferred
            if schema is None and spec.format in ("json", "csv"):
                schema = self._infer(decl)  # a snapshot: the files present when it runs
            return bronze_rows(spark.readStream if spec.incremental else spark.read, spec,
                               schema)

        return [self.dataset(spec, streaming=spec.incremental, query=rows)]

    @staticmethod
    def _infer(decl: Declaration) -> Any:
        """The schema of the files present now, read the way the local runner infers it."""
        spec: BronzeSpec = decl.spec  # type: ignore[assignment]
        reader = active_session().read.format(spec.format).options(
            **reader_options(spec, inferring=True, listed=False))
        try:
            return reader.load(spec.path).schema
        except Exception as exc:
            raise BackendError(
                f"{decl.describe()}: cannot infer the schema of the files in '{spec.path}' "
                f"({str(exc).strip().splitlines()[0]}). Add files there, or give the columns "
                "with schema='col TYPE, ...'"
            ) from None

    def silver(self, decl: Declaration) -> list[Dataset]:
        """Rules enforced in the query: prepare → rules → kept rows → dedup → joins."""
        spec: SilverSpec = decl.spec  # type: ignore[assignment]
        source_streams = self.source_streams(decl, spec.source, spec.incremental)
        stream = source_streams and not spec.dedup_keys
        rules = RuleSet(decl.name, spec.rules)
        self.reading_view(spec.source, stream=stream)
        if spec.quarantine is not None:
            self.reading_view(spec.source, stream=source_streams)
        for join in spec.joins:
            self.reading_view(join.table, stream=False)

        def rows() -> DataFrame:
            prepared = core.prepare(
                core.well_formed(self.read(spec.source, stream=stream), spec), spec)
            kept = rules.kept(rules.enforce(rules.annotate(prepared)), core.helper_columns(spec))
            kept = core.dedup(kept, spec.dedup_keys, spec.dedup_order_by)
            return core.enrich(kept, spec, self.reader.read)

        out = [self.dataset(spec, streaming=stream, query=rows)]
        if spec.quarantine is not None:
            out.append(self.silver_quarantine(decl, stream=source_streams))
        return out

    def query(self, decl: Declaration) -> list[Dataset]:
        """The user's function, its rules enforced in the query."""
        spec: QuerySpec = decl.spec  # type: ignore[assignment]
        for name in spec.inputs():
            self.reading_view(name, stream=False)
            if self.streaming.get(name):
                self.reading_view(name, stream=True)
        user_rows = self.user_rows(decl)
        rules = RuleSet(decl.name, spec.rules)

        def rows() -> DataFrame:
            return rules.kept(rules.enforce(rules.annotate(user_rows())))

        out = [self.dataset(spec, streaming=spec.incremental, query=rows)]
        if spec.quarantine is not None:
            out.append(self.quarantine(decl, spec.quarantine, streaming=spec.incremental,
                                       prepared=self.user_rows(decl), source_row=False))
        return out


    def streaming_table(self, decl: Declaration) -> list[Dataset]:
        """Held until its first flow: ``create_streaming_table``, or a materialized view.

        An append flow makes it ``create_streaming_table`` (its rules enforced in each flow's
        query). An AUTO CDC flow makes it a materialized view folding every change event of
        the source (see :meth:`auto_cdc`). A table no flow writes is created by :meth:`flush`.
        """
        spec: StreamingTableSpec = decl.spec  # type: ignore[assignment]
        warn_clustering(spec.name, spec.cluster_by)
        self._pending[spec.name] = spec
        self._streaming_tables[spec.name] = spec
        self.streaming[spec.name] = True
        return []

    def _create_streaming_table(self, spec: StreamingTableSpec) -> None:
        options = table_options(spec.name, spec.comment, spec.effective_properties,
                                spec.partition_cols)
        if spec.schema_ is not None:
            options["schema"] = spec.schema_
        self.api.create_streaming_table(**options)

    def flush(self) -> None:
        """Create the streaming tables no flow has claimed yet (called after the file ran)."""
        while self._pending:
            _, spec = self._pending.popitem()
            self._create_streaming_table(spec)

    def append_flow(self, decl: Declaration) -> list[Dataset]:
        """``@append_flow(target=...)``: the user's rows, checked by the target's rules.

        ``once`` is refused: the ``spark-pipelines`` server rejects one-time flows
        (``DEFINE_FLOW_ONCE_OPTION_NOT_SUPPORTED``) and ``pyspark.pipelines`` has no keyword
        for them.
        """
        spec: AppendFlowSpec = decl.spec  # type: ignore[assignment]
        if spec.once:
            raise unsupported(decl, "once=True (a one-time backfill flow)",
                              "the server refuses one-time flows "
                              "(DEFINE_FLOW_ONCE_OPTION_NOT_SUPPORTED)",
                              "append the backfill with a streaming flow, or run it locally")
        target = self._streaming_tables.get(spec.target)
        if target is None:
            raise BackendError(
                f"{decl.describe()}: its target '{spec.target}' is not declared yet with "
                "create_streaming_table; under spark-pipelines the table (and its rules, which "
                "each flow's query enforces) must be declared before the flows writing it"
            )
        rules = RuleSet(spec.target, target.rules)
        if spec.target in self._pending:
            self._create_streaming_table(self._pending.pop(spec.target))
        for name in spec.inputs():
            self.reading_view(name, stream=False)
            if self.streaming.get(name):
                self.reading_view(name, stream=True)
        user_rows = self.user_rows(decl)

        def rows() -> DataFrame:
            return rules.kept(rules.enforce(rules.annotate(user_rows())))

        options: dict[str, Any] = {"target": spec.target, "name": spec.name}
        if spec.spark_conf:
            options["spark_conf"] = dict(spec.spark_conf)
        self.api.append_flow(**options)(named(rows, spec.name))
        return []

    def auto_cdc(self, decl: Declaration) -> list[Dataset]:
        """SCD type 1 as a materialized view: every change event of the source, folded.

        Open-source Spark 4.2 registers ``create_auto_cdc_flow``, but its engine only merges
        into a target whose connector supports row-level operations, which Delta's does not
        (``AUTOCDC_TARGET_DOES_NOT_SUPPORT_MERGE``). The source is a streaming table holding
        every event, so its fold — per key, the event with the greatest ``sequence_by``, kept
        unless it is a delete — is the table applying them in order gives (see
        :func:`scd1_rows`). SCD type 2 and the options the fold does not implement are refused
        by name rather than dropped.
        """
        spec: AutoCdcSpec = decl.spec  # type: ignore[assignment]
        refused = {
            "stored_as_scd_type=2": spec.stored_as_scd_type == 2,
            "ignore_null_updates": spec.ignore_null_updates,
            "apply_as_truncates": spec.apply_as_truncates is not None,
            "once=True": spec.once,
        }
        for keyword, given in refused.items():
            if given:
                raise unsupported(decl, keyword, "AUTO CDC runs as SCD type 1 over keys, "
                                  "sequence_by, apply_as_deletes and column_list/"
                                  "except_column_list there",
                                  f"remove {keyword.split('=')[0]}, or run the pipeline "
                                  "locally or on Databricks")
        target = self._pending.pop(spec.target, None)
        if target is None:
            raise BackendError(
                f"{decl.describe()}: declare its target with create_streaming_table before the "
                "flow, and let no other flow write it: under spark-pipelines the AUTO CDC "
                "target becomes a materialized view when its flow is declared"
            )
        if reading_view_name(spec.target, stream=True) in self._views:
            raise BackendError(
                f"{decl.describe()}: a table declared before it streams from '{spec.target}', "
                "which is a materialized view under spark-pipelines (AUTO CDC); read it as a "
                "batch (incremental=False)"
            )
        self.streaming[spec.target] = False
        if not is_external(spec.source) and not self.streaming.get(spec.source, True):
            raise BackendError(
                f"{decl.describe()}: its source '{spec.source}' is a materialized view; AUTO CDC "
                "reads the change events of a streaming table"
            )
        self.reading_view(spec.source, stream=False)

        def rows() -> DataFrame:
            return scd1_rows(self.read(spec.source, stream=False), spec)

        warn_clustering(target.name, target.cluster_by)
        options = table_options(target.name, target.comment, target.effective_properties,
                                target.partition_cols)
        if target.schema_ is not None:
            options["schema"] = target.schema_
        self.api.materialized_view(**options)(named(rows, target.name))
        return []

    def auto_cdc_snapshot(self, decl: Declaration) -> list[Dataset]:
        """Refused: open-source pipelines have no AUTO CDC from snapshots."""
        raise unsupported(decl, "create_auto_cdc_from_snapshot_flow",
                          "pyspark.pipelines 4.2 has no snapshot AUTO CDC",
                          "run the pipeline locally or on Databricks")

    HANDLERS = {
        BronzeSpec: bronze,
        SilverSpec: silver,
        GoldSpec: gold,
        QuerySpec: query,
        StreamingTableSpec: streaming_table,
        AppendFlowSpec: append_flow,
        AutoCdcSpec: auto_cdc,
        AutoCdcSnapshotSpec: auto_cdc_snapshot,
    }


#: Backends alive in this process: :func:`register_file` flushes them after a file ran.
_BACKENDS: weakref.WeakSet[SparkPipelinesBackend] = weakref.WeakSet()


def scd1_rows(source: DataFrame, spec: AutoCdcSpec) -> DataFrame:
    """The SCD type 1 table of ``spec`` after every change event in ``source``, in one query.

    Per key, the event with the greatest sequence wins; between events with the same key and
    sequence a delete wins, then the greatest hash of the event (as the local runner decides).
    A winning delete leaves no row. A NULL sequence fails the query. Columns are the keys,
    then the source's other columns (less ``except_column_list``, or those of
    ``column_list``), as the local runner creates the target. Nothing here asks Spark for the
    source's columns: they travel in a struct, trimmed with ``dropFields``.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from medallion.core import cdc

    if spec.column_list is not None:
        event = F.struct(*[F.col(cdc.quote(c)) for c in spec.column_list])
    else:
        event = F.struct(F.col("*"))
        if spec.except_column_list:
            event = event.dropFields(*spec.except_column_list)
    op = F.lit(cdc.UPSERT)
    if spec.apply_as_deletes is not None:
        op = F.when(F.coalesce(F.expr(spec.apply_as_deletes), F.lit(False)),
                    F.lit(cdc.DELETE)).otherwise(op)
    seq = F.expr(spec.sequence_by)
    null_sequence = (f"AUTO CDC flow '{spec.name}' into '{spec.target}': sequence_by "
                     f"{spec.sequence_by!r} is NULL in a change event of '{spec.source}'; "
                     "every event needs a sequence value")
    events = source.select(
        event.alias(ROW), seq.alias(cdc.SEQ), op.alias(cdc.OP),
    ).where(F.when(F.col(cdc.SEQ).isNull(), F.raise_error(F.lit(null_sequence)))
            .otherwise(F.lit(True)))
    keys = [F.col(ROW)[k] for k in spec.keys]
    hashed = F.xxhash64(F.struct(F.col(f"{ROW}.*"), F.col(cdc.SEQ), F.col(cdc.OP)))
    latest = Window.partitionBy(*keys).orderBy(
        F.col(cdc.SEQ).desc(), (F.col(cdc.OP) == cdc.DELETE).desc(), hashed.desc())
    winners = events.select(F.col(ROW), F.col(cdc.OP),
                            F.row_number().over(latest).alias(RANK)).where(
        (F.col(RANK) == 1) & (F.col(cdc.OP) != cdc.DELETE))
    values = F.col(ROW).dropFields(*spec.keys).alias(VALUES)
    return winners.select(*[F.col(ROW)[k].alias(k) for k in spec.keys], values).select(
        *[F.col(cdc.quote(k)) for k in spec.keys], F.col(f"{VALUES}.*"))


ROW = "__medallion_event"
VALUES = "__medallion_values"
RANK = "__medallion_rank"


def unsupported(decl: Declaration, what: str, why: str, fix: str) -> BackendError:
    """The error refusing ``what`` of ``decl`` under spark-pipelines, with the reason and fix."""
    return BackendError(f"{decl.describe()}: {what} is not supported under spark-pipelines "
                        f"({why}); {fix}. See docs/spark-pipelines.md")


def warn_clustering(table: str, cluster_by: tuple[str, ...]) -> None:
    """Say that ``cluster_by`` is not applied (Delta refuses the spec open source passes)."""
    if cluster_by:
        warnings.warn(
            f"table '{table}': cluster_by {list(cluster_by)} is not applied "
            "under spark-pipelines (Delta rejects the clustering spec open-source "
            "pipelines pass when they create a table); run OPTIMIZE/ALTER TABLE ... "
            "CLUSTER BY yourself, or use the local runner or Databricks",
            ClusteringNotAppliedWarning,
            stacklevel=3,
        )


def table_options(name: str, comment: str | None, properties: Any,
                  partition_cols: tuple[str, ...]) -> dict[str, Any]:
    """Keyword arguments of a table registration, leaving out what is not set.

    No ``format=``: the generated project sets ``spark.sql.sources.default=delta``, and passing
    it would make a second run try to change the reserved ``provider`` property.
    """
    options: dict[str, Any] = {"name": name}
    if comment is not None:
        options["comment"] = comment
    if properties:
        options["table_properties"] = dict(properties)
    if partition_cols:
        options["partition_cols"] = list(partition_cols)
    return options


def reading_view_name(table: str, *, stream: bool) -> str:
    """The pipeline view through which medallion's queries read ``table``."""
    return f"{table}__medallion_{'stream' if stream else 'read'}"


def register_file(path: str | os.PathLike[str], spark: Any = None) -> None:
    """Run a medallion pipeline file while ``spark-pipelines`` loads the project.

    Its factories, called at the file's top level, register their tables with the active
    graph. The file's folder is on ``sys.path`` meanwhile, and ``spark`` is its global.

    Raises:
        BackendError: when called outside ``spark-pipelines run`` / ``dry-run``.
    """
    from medallion.backends.runtime import in_spark_pipelines

    if not in_spark_pipelines():
        raise BackendError(
            f"register_file('{path}') only works while spark-pipelines loads a project; run "
            "the project with `spark-pipelines run`, or run the file locally with "
            "`medallion run`"
        )
    from medallion.files.python import run_file

    run_file(Path(path), None if spark is None else {"spark": spark})
    for backend in list(_BACKENDS):
        backend.flush()
