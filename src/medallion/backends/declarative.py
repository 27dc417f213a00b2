"""What the Databricks and ``spark-pipelines`` backends share.

Both translate each declaration, as it is made, into datasets of a declarative-pipelines runtime:
a name, a kind (streaming table or materialized view), table settings, and a query function
that builds the rows from the same ``medallion.core`` functions the local runner uses. The
runtime calls the query functions; medallion never runs a Spark job here.

Subclasses say how a dataset is registered (:meth:`DeclarativeBackend.register`), how another
dataset is read (:meth:`DeclarativeBackend.read`), and how each spec kind becomes datasets: one
method per kind, in the class's dispatch table :attr:`DeclarativeBackend.HANDLERS` (spec type →
method). Both satisfy :class:`medallion.backends.base.Backend`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from medallion.backends.base import handler_for
from medallion.backends.runtime import spark_conf
from medallion.core import silver as core_silver
from medallion.core.gold import aggregate
from medallion.core.rules import RuleSet, quarantine_comment
from medallion.errors import BackendError, TableRunError
from medallion.graph import is_external
from medallion.query_context import call_query
from medallion.specs import (
    Definition,
    GoldSpec,
    QuerySpec,
    Rule,
    SilverSpec,
    TableSpec,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from medallion.pipeline import Declaration, Pipeline

QueryFunction = Callable[[], "DataFrame"]
#: A backend method turning one declaration into the datasets to register.
Handler = Callable[[Any, "Declaration"], list["Dataset"]]


@dataclass(frozen=True)
class Dataset:
    """One dataset for a runtime to create, and the function that computes its rows.

    Attributes:
        name: Dataset (table) name.
        streaming: A streaming table (appended from a stream) or a materialized view; None
            when the runtime decides from the DataFrame the query returns (``@dlt.table``).
        query: Zero-argument function returning the DataFrame; the runtime calls it.
        comment: Table comment.
        table_properties: Delta table properties.
        cluster_by: Liquid clustering columns.
        partition_cols: Partition columns.
        cluster_by_auto: Automatic liquid clustering.
        private: Materialized but not published to the catalog.
        expectations: Rules the runtime enforces natively (empty when the query enforces them).
    """

    name: str
    streaming: bool | None
    query: QueryFunction
    comment: str | None = None
    table_properties: Mapping[str, str] = field(default_factory=dict)
    cluster_by: tuple[str, ...] = ()
    partition_cols: tuple[str, ...] = ()
    cluster_by_auto: bool = False
    private: bool = False
    expectations: tuple[Rule, ...] = ()


def active_session() -> SparkSession:
    """The runtime's SparkSession (classic on Databricks, Spark Connect under spark-pipelines)."""
    from pyspark.sql import SparkSession

    return SparkSession.active()


class RuntimeReader:
    """The :class:`medallion.ReadContext` handed to query functions on a pipeline runtime."""

    def __init__(self, backend: DeclarativeBackend) -> None:
        self._backend = backend

    @property
    def spark(self) -> SparkSession:  # noqa: D102
        return active_session()

    def read(self, name: str) -> DataFrame:  # noqa: D102
        return self._backend.read(name, stream=False)

    def read_stream(self, name: str) -> DataFrame:  # noqa: D102
        return self._backend.read(name, stream=True)

    def read_changes(  # noqa: D102
        self, name: str, *, starting_version: int = 0, ending_version: int | None = None
    ) -> DataFrame:
        options = {"startingVersion": str(starting_version)}
        if ending_version is not None:
            options["endingVersion"] = str(ending_version)
        return self._backend.read_changes(name, stream=False, options=options)

    def read_change_stream(  # noqa: D102
        self, name: str, *, starting_version: int | None = None
    ) -> DataFrame:
        options = {} if starting_version is None else {"startingVersion": str(starting_version)}
        return self._backend.read_changes(name, stream=True, options=options)

    def conf(self, key: str, default: str | None = None) -> str | None:
        """A pipeline configuration value: the runtime exposes configuration as Spark conf."""
        return spark_conf(key, default, session=self.spark)


class DeclarativeBackend:
    """Translate declarations into datasets of a declarative-pipelines runtime, one at a time.

    Args:
        pipeline: The pipeline whose declarations arrive here.
    """

    #: The runtime's name in messages.
    runtime: ClassVar[str] = "declarative pipeline"
    #: The dispatch table: spec type → the method turning it into datasets, written at the end
    #: of each backend's class body. Adding a spec kind is adding one entry and one method; a
    #: spec type missing here is refused by name.
    HANDLERS: ClassVar[Mapping[type[Definition], Handler]] = {}

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.reader = RuntimeReader(self)
        #: Registered dataset name → whether it is a streaming table (None: the runtime
        #: decides from the DataFrame its query returns).
        self.streaming: dict[str, bool | None] = {}

    # -- the interface ----------------------------------------------------------------------
    def declare(self, decl: Declaration) -> None:
        """Register ``decl``'s datasets with the runtime.

        Raises:
            BackendError: when the spec's type has no entry in :attr:`HANDLERS`.
        """
        handler = handler_for(self.HANDLERS, decl, cannot=f"the {self.runtime} backend cannot "
                              "register", fix="; run this pipeline locally")
        for dataset in handler(self, decl):
            self.streaming[dataset.name] = dataset.streaming
            self.register(dataset)

    def register(self, dataset: Dataset) -> None:  # pragma: no cover - abstract
        """Create ``dataset`` in the runtime."""
        raise NotImplementedError

    def read(self, name: str, *, stream: bool) -> DataFrame:  # pragma: no cover - abstract
        """Another dataset of the pipeline (or an external table), as a batch or a stream."""
        raise NotImplementedError

    def read_changes(self, name: str, *, stream: bool, options: Mapping[str, str]) -> DataFrame:
        """A table's change data feed (Delta's ``readChangeFeed``), as a batch or a stream.

        The runtime resolves the table name the way ``spark.read.table`` does inside a
        pipeline (its catalog and schema); the table must record a change data feed.
        """
        spark = active_session()
        reader = spark.readStream if stream else spark.read
        return reader.format("delta").option("readChangeFeed", "true").options(
            **options).table(name)

    # -- spec kinds shared by every runtime ---------------------------------------------------
    def gold(self, decl: Declaration) -> list[Dataset]:
        """A gold table: a materialized view over its source."""
        spec: GoldSpec = decl.spec  # type: ignore[assignment]

        def rows() -> DataFrame:
            return aggregate(self.read(spec.source, stream=False), spec)

        return [self.dataset(spec, streaming=False, query=rows)]

    # -- helpers for subclasses ------------------------------------------------------------------
    def dataset(
        self,
        spec: TableSpec,
        *,
        streaming: bool | None,
        query: QueryFunction,
        expectations: tuple[Rule, ...] = (),
    ) -> Dataset:
        """The dataset of a spec's own table, with the spec's table settings."""
        return Dataset(
            name=spec.name,
            streaming=streaming,
            query=named(query, spec.name),
            comment=spec.comment,
            table_properties=spec.effective_properties,
            cluster_by=spec.cluster_by,
            partition_cols=spec.partition_cols,
            cluster_by_auto=spec.cluster_by_auto,
            private=spec.private,
            expectations=expectations,
        )

    def quarantine(
        self,
        decl: Declaration,
        name: str,
        *,
        streaming: bool | None,
        prepared: QueryFunction,
        source_row: bool,
        prepare: Callable[[DataFrame], DataFrame] | None = None,
        malformed: Callable[[DataFrame], DataFrame] | None = None,
    ) -> Dataset:
        """The quarantine table of ``decl``: rows failing a drop rule, from the same rules.

        The rules see ``prepare(prepared())`` (or ``prepared()``). Its query also carries the
        fail guard, so that when a ``fail`` rule stops the table's update the quarantine table
        does not advance on its own either. ``malformed`` adds, from the same read, the rows a
        silver table's ``malformed_records`` diverts, which no rule sees.
        """
        rules = RuleSet(decl.name, decl.spec.rules)  # type: ignore[attr-defined]

        def rows() -> DataFrame:
            source = prepared()
            evaluated = source if prepare is None else prepare(source)
            annotated = rules.enforce(rules.annotate(evaluated))
            out = rules.quarantined(annotated, source_row=source_row)
            return out if malformed is None else out.union(malformed(source))

        return Dataset(
            name=name,
            streaming=streaming,
            query=named(rows, name),
            comment=quarantine_comment(decl.name),
        )

    def silver_quarantine(self, decl: Declaration, *, stream: bool) -> Dataset:
        """A silver table's quarantine: drop-rule failures (and its malformed source rows)."""
        spec: SilverSpec = decl.spec  # type: ignore[assignment]
        assert spec.quarantine is not None
        return self.quarantine(
            decl, spec.quarantine, streaming=stream,
            prepared=lambda: self.read(spec.source, stream=stream),
            prepare=lambda df: core_silver.prepare(core_silver.well_formed(df, spec), spec),
            source_row=core_silver.transforms_rows(spec),
            malformed=((lambda df: core_silver.malformed_quarantine(df, spec))
                       if spec.malformed_records else None),
        )

    def user_rows(self, decl: Declaration) -> QueryFunction:
        """The query function of a :class:`QuerySpec`, called with this runtime's reader."""
        spec: QuerySpec = decl.spec  # type: ignore[assignment]

        def rows() -> DataFrame:
            from pyspark.sql import DataFrame

            df = call_query(spec.query, self.reader)
            if not isinstance(df, DataFrame):
                raise TableRunError(
                    decl.name,
                    f"its query function returned {type(df).__name__}, not a DataFrame; a "
                    "query function must return the DataFrame that defines the table",
                )
            return df

        return rows

    def source_streams(self, decl: Declaration, source: str, incremental: bool | None) -> bool:
        """Whether ``decl`` reads ``source`` as a stream (silver's default follows the source).

        The runtime needs the dataset kind when the dataset is registered, so the source must
        have been declared first unless ``incremental`` says it.
        """
        decided = self.streaming.get(source, False)
        if is_external(source):
            source_streams = False
        elif source in self.streaming and decided is not None:
            source_streams = decided
        elif incremental is None:
            why = ("whose kind its DataFrame decides when the pipeline runs" if decided is None
                   else "which is not declared yet")
            raise BackendError(
                f"{decl.describe()} reads '{source}', {why}: the {self.runtime} needs to know "
                f"now whether it is a streaming table. Declare '{source}' before it, or set "
                "incremental=True or False on it."
            )
        else:
            return incremental
        if incremental is None:
            return source_streams
        if incremental and not source_streams:
            raise BackendError(
                f"{decl.describe()} streams from '{source}', which is a materialized view (or "
                f"an external table) on the {self.runtime}; set incremental=False to read it "
                "as a batch"
            )
        return incremental


def named(func: QueryFunction, name: str) -> QueryFunction:
    """``func`` renamed to the dataset's name (runtimes show function names in their UI)."""
    func.__name__ = name
    func.__qualname__ = name
    return func
