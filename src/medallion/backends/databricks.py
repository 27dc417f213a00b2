"""The Databricks backend: each declaration becomes ``dp`` (or legacy ``dlt``) registrations.

Inside a Databricks pipeline update the factories register through
``from pyspark import pipelines as dp`` when the runtime provides it (with expectations), else
through ``import dlt``:

- bronze → a streaming table reading ``cloudFiles`` (Auto Loader; the schema location is left
  to the pipeline), or a materialized view over the files for ``bronze_batch``;
- silver → a streaming table or a materialized view with native expectations
  (``expect_all``, ``expect_all_or_drop``, ``expect_all_or_fail``); with quarantine, a second
  dataset built from the same rules holds the rows that failed a drop rule;
- gold → a materialized view; custom ``@medallion.table`` functions → either kind;
- ``cluster_by`` → ``cluster_by=``; change data feed → the table property.

Other datasets are read with the runtime's recommended API: ``spark.read.table`` /
``spark.readStream.table`` with ``dp``, ``dlt.read`` / ``dlt.read_stream`` with ``dlt``. Casts,
dedup, joins and aggregates come from ``medallion.core``, as on the local runner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from medallion.backends.declarative import Dataset, DeclarativeBackend, active_session, named
from medallion.core import silver as core
from medallion.core.bronze import (
    add_metadata,
    autoloader_options,
    autoloader_schema,
    ordered_columns,
    reader_options,
)
from medallion.core.gold import aggregate_stream
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
    SinkSpec,
    StreamingTableSpec,
)
from medallion.specs.bronze import TEXT_FORMATS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from medallion.pipeline import Declaration, Pipeline

Flavour = Literal["dp", "dlt"]

#: Rule action → the expectation decorator enforcing it natively.
EXPECTATION_DECORATORS: tuple[tuple[str, str], ...] = (
    ("warn", "expect_all"),
    ("drop", "expect_all_or_drop"),
    ("fail", "expect_all_or_fail"),
)


def batch_options(spec: BronzeSpec) -> dict[str, str]:
    """Reader options of a bronze snapshot (``spark.read``) on Databricks.

    Databricks' file readers take ``rescuedDataColumn`` (JSON, CSV, Parquet, Avro) the way
    Auto Loader does; JSON and CSV keep a malformed record's text in the corrupt record column.

    Example:
        >>> batch_options(BronzeSpec(name="b", path="/x", format="parquet"))
        {'rescuedDataColumn': '_rescued_data'}
    """
    options = reader_options(spec, inferring=spec.schema_ is None, listed=False)
    if spec.rescue_column is not None:
        options["rescuedDataColumn"] = spec.rescue_column
    if spec.format in TEXT_FORMATS and spec.corrupt_record_column is not None:
        options.setdefault("columnNameOfCorruptRecord", spec.corrupt_record_column)
    return options


def load_api() -> tuple[Flavour, ModuleType]:
    """``dp`` (Databricks' ``pyspark.pipelines``, with expectations) when present, else ``dlt``.

    Raises:
        BackendError: when neither module is Databricks' (e.g. dltHub's ``dlt`` is installed).
    """
    import importlib

    def optional(module: str) -> ModuleType | None:
        try:
            return importlib.import_module(module)
        except ImportError:
            return None

    dp = optional("pyspark.pipelines")
    if dp is not None and hasattr(dp, "expect_all"):
        return "dp", dp
    dlt = optional("dlt")
    if dlt is not None and is_stub(dlt):
        raise BackendError(
            "the Databricks backend was chosen (MEDALLION_BACKEND=databricks?) outside a "
            "Databricks pipeline: the installed 'dlt' is the databricks-dlt stub, which only "
            "describes the API and cannot register tables. Unset MEDALLION_BACKEND to run "
            "locally, or run the notebook in a Databricks pipeline."
        )
    if dlt is not None and all(hasattr(dlt, f) for f in ("table", "expect_all", "read")):
        return "dlt", dlt
    raise BackendError(
        "this Databricks pipeline provides neither Databricks' pyspark.pipelines (dp) nor its "
        "dlt module (a 'dlt' package that is not Databricks', such as dltHub's, may shadow "
        "it). Run the pipeline on a Databricks runtime with Lakeflow Declarative Pipelines."
    )


def is_stub(module: ModuleType) -> bool:
    """Whether ``module`` is the ``databricks-dlt`` stub package rather than the runtime's."""
    from importlib.metadata import PackageNotFoundError, distribution
    from pathlib import Path

    try:
        dist = distribution("databricks-dlt")
    except PackageNotFoundError:
        return False
    origin = getattr(module, "__file__", None)
    if origin is None:
        return False
    files = {Path(str(dist.locate_file(f))).resolve() for f in dist.files or ()}
    return Path(origin).resolve() in files


class DatabricksBackend(DeclarativeBackend):
    """Registers declarations with a Databricks pipeline through ``dp`` or ``dlt``.

    Example:
        >>> from pyspark import pipelines as dp                          # doctest: +SKIP
        >>> with medallion.Pipeline("orders") as p:                      # doctest: +SKIP
        ...     _ = p.attach(DatabricksBackend(p, api=dp, flavour="dp"))

    Args:
        pipeline: The pipeline whose declarations arrive here.
        api: The module to register through (default: :func:`load_api`).
        flavour: ``"dp"`` or ``"dlt"``, the API ``api`` implements.
    """

    runtime = "Databricks pipeline"

    def __init__(
        self,
        pipeline: Pipeline,
        api: ModuleType | Any | None = None,
        *,
        flavour: Flavour | None = None,
    ) -> None:
        super().__init__(pipeline)
        if api is None:
            flavour, api = load_api()
        if flavour is None:
            flavour = "dp" if hasattr(api, "materialized_view") else "dlt"
        self.api = api
        self.flavour: Flavour = flavour

    # -- registration ----------------------------------------------------------------------------
    def register(self, dataset: Dataset) -> None:
        """Decorate the query function with its expectations and the dataset decorator."""
        func: Any = dataset.query
        for action, decorator in EXPECTATION_DECORATORS:
            rules = {r.name: r.condition for r in dataset.expectations if r.action == action}
            if rules:
                func = getattr(self.api, decorator)(rules)(func)
        if self.flavour == "dp" and dataset.streaming is False:
            define = self.api.materialized_view
        else:
            define = self.api.table  # dlt (and dp's table) decide from the returned DataFrame
        options = table_options(dataset.name, dataset.comment, dataset.table_properties,
                                dataset.cluster_by, dataset.partition_cols,
                                cluster_by_auto=dataset.cluster_by_auto)
        if dataset.private:
            options["private" if self.flavour == "dp" else "temporary"] = True
        define(**options)(func)

    def read(self, name: str, *, stream: bool) -> DataFrame:
        """``dlt.read*`` for pipeline datasets with ``dlt``; ``spark.read*.table`` otherwise."""
        if self.flavour == "dlt" and not is_external(name):
            return self.api.read_stream(name) if stream else self.api.read(name)  # type: ignore[no-any-return]
        spark = active_session()
        return spark.readStream.table(name) if stream else spark.read.table(name)

    # -- spec kinds ------------------------------------------------------------------------------
    def bronze(self, decl: Declaration) -> list[Dataset]:
        """Auto Loader for incremental bronze, a batch read of the files for a snapshot."""
        spec: BronzeSpec = decl.spec  # type: ignore[assignment]

        def rows() -> DataFrame:
            spark = active_session()
            reader: Any
            if spec.incremental:
                reader = spark.readStream.format("cloudFiles").options(**autoloader_options(spec))
            else:
                reader = spark.read.format(spec.format).options(**batch_options(spec))
            schema = autoloader_schema(spec)
            if schema is not None:
                reader = reader.schema(schema)
            return ordered_columns(add_metadata(reader.load(spec.path), spec), spec)

        return [self.dataset(spec, streaming=spec.incremental, query=rows)]

    def silver(self, decl: Declaration) -> list[Dataset]:
        """Prepared rows with native expectations; dedup never collapses a row a rule rejects."""
        spec: SilverSpec = decl.spec  # type: ignore[assignment]
        stream = self.source_streams(decl, spec.source, spec.incremental)
        if stream and spec.dedup_order_by is not None:
            raise BackendError(
                f"{decl.describe()}: keeping the latest row per key (dedup_order_by) on a "
                "streaming table needs AUTO CDC, which this backend does not map yet. Declare "
                "it with incremental=False (a materialized view), or drop dedup_order_by."
            )
        rules = RuleSet(decl.name, spec.rules)
        # Databricks evaluates expectations on the rows the query returns, i.e. after dedup.
        # Rows a drop or fail rule rejects are therefore never collapsed with others: a valid
        # row cannot lose to an invalid duplicate, and every violation reaches the expectation.
        strict = bool(rules.drop_indexes or rules.fail_indexes)

        def rows() -> DataFrame:
            source = core.well_formed(self.read(spec.source, stream=stream), spec)
            df = core.prepare(source, spec, source_row=False)
            if spec.dedup_keys:
                keep = ~rules.accepts() if strict else None
                if stream:
                    df = core.dedup_stream(df, spec.dedup_keys, keep=keep)
                else:
                    df = core.dedup(df, spec.dedup_keys, spec.dedup_order_by, keep=keep)
            return core.enrich(df, spec, self.reader.read)

        out = [self.dataset(spec, streaming=stream, query=rows, expectations=spec.rules)]
        if spec.quarantine is not None:
            out.append(self.silver_quarantine(decl, stream=stream))
        return out

    def query(self, decl: Declaration) -> list[Dataset]:
        """The user's function, with its rules as native expectations."""
        spec: QuerySpec = decl.spec  # type: ignore[assignment]
        rows = self.user_rows(decl)
        out = [self.dataset(spec, streaming=spec.incremental, query=rows,
                            expectations=spec.rules)]
        if spec.quarantine is not None:
            out.append(self.quarantine(decl, spec.quarantine, streaming=spec.incremental,
                                       prepared=self.user_rows(decl), source_row=False))
        return out

    def gold(self, decl: Declaration) -> list[Dataset]:
        """A materialized view; a windowed ``append`` gold table is a streaming aggregation.

        ``output_mode="update"`` (a row per window kept current, open windows included) has no
        streaming-table counterpart on Databricks: it becomes a materialized view over the
        source, which holds the same current value of every window, late rows included.
        """
        spec: GoldSpec = decl.spec  # type: ignore[assignment]
        if not (spec.incremental and spec.output_mode == "append"):
            return super().gold(decl)
        self.source_streams(decl, spec.source, True)  # refuses a source that is no stream

        def rows() -> DataFrame:
            return aggregate_stream(self.read(spec.source, stream=True), spec)

        return [self.dataset(spec, streaming=True, query=rows)]

    def streaming_table(self, decl: Declaration) -> list[Dataset]:
        """``create_streaming_table`` with the table's expectations (flows write into it)."""
        spec: StreamingTableSpec = decl.spec  # type: ignore[assignment]
        options = table_options(spec.name, spec.comment, spec.effective_properties,
                                spec.cluster_by, spec.partition_cols,
                                cluster_by_auto=spec.cluster_by_auto)
        if spec.private:
            if self.flavour != "dp":
                raise BackendError(
                    f"{decl.describe()}: private=True on a streaming table needs Databricks' "
                    "pyspark.pipelines (dp); the legacy dlt module's create_streaming_table "
                    "has no private= (nor temporary=). Run on a runtime with dp, or drop it.")
            options["private"] = True
        if spec.schema_ is not None:
            options["schema"] = spec.schema_
        for action, decorator in EXPECTATION_DECORATORS:
            rules = {r.name: r.condition for r in spec.rules if r.action == action}
            if rules:
                options[decorator] = rules
        self.api.create_streaming_table(**options)
        self.streaming[spec.name] = True
        return []

    def sink(self, decl: Declaration) -> list[Dataset]:
        """``create_sink``: the append flows writing it name it as their target."""
        spec: SinkSpec = decl.spec  # type: ignore[assignment]
        self.api.create_sink(name=spec.name, format=spec.format, options=dict(spec.options))
        self.streaming[spec.name] = True
        return []

    def append_flow(self, decl: Declaration) -> list[Dataset]:
        """``@append_flow(target=...)`` over the user's query function."""
        spec: AppendFlowSpec = decl.spec  # type: ignore[assignment]
        options: dict[str, Any] = {"target": spec.target, "name": spec.name}
        if spec.once:
            options["once"] = True
        if spec.comment is not None:
            options["comment"] = spec.comment
        if spec.spark_conf:
            options["spark_conf"] = dict(spec.spark_conf)
        self.api.append_flow(**options)(named(self.user_rows(decl), spec.name))
        return []

    def auto_cdc(self, decl: Declaration) -> list[Dataset]:
        """``create_auto_cdc_flow`` (``dp``) or ``apply_changes`` (legacy ``dlt``)."""
        spec: AutoCdcSpec = decl.spec  # type: ignore[assignment]
        options: dict[str, Any] = {
            "target": spec.target, "source": spec.source, "keys": list(spec.keys),
            "sequence_by": spec.sequence_by,
        }
        optional: dict[str, Any] = {
            "ignore_null_updates": spec.ignore_null_updates or None,
            "ignore_null_updates_column_list": _listed(spec.ignore_null_updates_column_list),
            "ignore_null_updates_except_column_list":
                _listed(spec.ignore_null_updates_except_column_list),
            "apply_as_deletes": spec.apply_as_deletes,
            "apply_as_truncates": spec.apply_as_truncates,
            "column_list": _listed(spec.column_list),
            "except_column_list": _listed(spec.except_column_list),
            "stored_as_scd_type": spec.stored_as_scd_type,
            "track_history_column_list": _listed(spec.track_history_column_list),
            "track_history_except_column_list": _listed(spec.track_history_except_column_list),
            "once": spec.once or None,
        }
        options.update({k: v for k, v in optional.items() if v is not None})
        if self.flavour == "dp":
            self.api.create_auto_cdc_flow(name=spec.name, **options)
        else:
            self.api.apply_changes(flow_name=spec.name, **options)
        return []

    def auto_cdc_snapshot(self, decl: Declaration) -> list[Dataset]:
        """``create_auto_cdc_from_snapshot_flow`` (``dp``) or ``apply_changes_from_snapshot``.

        A table source is passed by name; a snapshot function is passed as the ``source``
        callable, which Databricks calls with the last processed version, as medallion does.
        """
        spec: AutoCdcSnapshotSpec = decl.spec  # type: ignore[assignment]
        options: dict[str, Any] = {
            "target": spec.target,
            "source": spec.source if spec.source is not None else spec.snapshot_function,
            "keys": list(spec.keys), "stored_as_scd_type": spec.stored_as_scd_type,
        }
        for key in ("track_history_column_list", "track_history_except_column_list"):
            value = _listed(getattr(spec, key))
            if value is not None:
                options[key] = value
        if spec.once:
            options["once"] = True
        if self.flavour == "dp":
            self.api.create_auto_cdc_from_snapshot_flow(**options)
        else:
            self.api.apply_changes_from_snapshot(**options)
        return []

    HANDLERS = {
        BronzeSpec: bronze,
        SilverSpec: silver,
        GoldSpec: gold,
        QuerySpec: query,
        StreamingTableSpec: streaming_table,
        AppendFlowSpec: append_flow,
        AutoCdcSpec: auto_cdc,
        AutoCdcSnapshotSpec: auto_cdc_snapshot,
        SinkSpec: sink,
    }


def table_options(
    name: str,
    comment: str | None,
    properties: Mapping[str, str],
    cluster_by: Sequence[str],
    partition_cols: Sequence[str] = (),
    *,
    cluster_by_auto: bool = False,
) -> dict[str, Any]:
    """The keyword arguments of a table registration, leaving out what is not set.

    Example:
        >>> table_options("t", None, {}, ["id"], cluster_by_auto=True)
        {'name': 't', 'cluster_by_auto': True, 'cluster_by': ['id']}
    """
    options: dict[str, Any] = {"name": name}
    if comment is not None:
        options["comment"] = comment
    if properties:
        options["table_properties"] = dict(properties)
    if partition_cols:
        options["partition_cols"] = list(partition_cols)
    if cluster_by_auto:
        options["cluster_by_auto"] = True
    if cluster_by:
        options["cluster_by"] = list(cluster_by)
    return options


def _listed(columns: tuple[str, ...] | None) -> list[str] | None:
    return None if columns is None else list(columns)
