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
import runpy
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from medallion.backends.declarative import (
    Dataset,
    DeclarativeBackend,
    active_session,
    named,
)
from medallion.backends.local.autoloader.stream import bronze_rows
from medallion.core import silver as core
from medallion.core.bronze import reader_options
from medallion.core.rules import RuleSet
from medallion.errors import BackendError
from medallion.graph import is_external
from medallion.specs import BronzeSpec, QuerySpec, SilverSpec

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
            from medallion.spark_project import require_spark_pipelines

            require_spark_pipelines("the spark-pipelines backend")
            from pyspark import pipelines

            api = pipelines
        self.api: Any = api
        self._views: set[str] = set()

    def register(self, dataset: Dataset) -> None:
        """``dp.table`` (streaming) or ``dp.materialized_view``; the table format is the session's.

        The generated project sets ``spark.sql.sources.default=delta``; passing ``format=``
        would make a second run try to change the reserved ``provider`` property.
        """
        if dataset.expectations:  # pragma: no cover - the translation enforces rules itself
            raise BackendError(f"dataset '{dataset.name}': open-source pipelines have no "
                               "expectations; rules must be enforced in the query")
        if dataset.cluster_by:
            warnings.warn(
                f"table '{dataset.name}': cluster_by {list(dataset.cluster_by)} is not applied "
                "under spark-pipelines (Delta rejects the clustering spec open-source "
                "pipelines pass when they create a table); run OPTIMIZE/ALTER TABLE ... "
                "CLUSTER BY yourself, or use the local runner or Databricks",
                ClusteringNotAppliedWarning,
                stacklevel=2,
            )
        define = self.api.table if dataset.streaming else self.api.materialized_view
        options: dict[str, Any] = {"name": dataset.name}
        if dataset.comment is not None:
            options["comment"] = dataset.comment
        if dataset.table_properties:
            options["table_properties"] = dict(dataset.table_properties)
        define(**options)(dataset.query)

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
        """A materialized view over its source (read through its view)."""
        self.reading_view(decl.spec.source, stream=False)  # type: ignore[attr-defined]
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
            **reader_options(spec, inferring=True))
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
    from medallion.backends import in_spark_pipelines

    if not in_spark_pipelines():
        raise BackendError(
            f"register_file('{path}') only works while spark-pipelines loads a project; run "
            "the project with `spark-pipelines run`, or run the file locally with "
            "`medallion run`"
        )
    file = Path(path)
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)
    try:
        runpy.run_path(str(file), run_name="__medallion__",
                       init_globals=None if spark is None else {"spark": spark})
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
