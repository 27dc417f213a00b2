"""medallion: reusable bronze → silver → gold builders for Databricks declarative pipelines.

Declare tables from typed specs; run them on Databricks, or locally on Spark + Delta Lake with the
same semantics. Importing medallion never imports pyspark.

Example:
    >>> import medallion
    >>> from medallion import Rule, agg
    >>> with medallion.Pipeline("orders") as pipeline:
    ...     _ = medallion.bronze_autoloader(name="bronze_orders", path="/data/orders")
    ...     _ = medallion.silver_with_rules(
    ...         name="silver_orders", source="bronze_orders",
    ...         rules=[Rule(name="valid_id", condition="order_id IS NOT NULL", action="drop")])
    >>> [d.name for d in pipeline.graph().order]
    ['bronze_orders', 'silver_orders']
"""

from __future__ import annotations

from medallion import agg, checks
from medallion.declare import (
    append_flow,
    bronze_autoloader,
    bronze_batch,
    create_auto_cdc_flow,
    create_auto_cdc_from_snapshot_flow,
    create_streaming_table,
    gold_aggregate,
    silver_with_rules,
    table,
)
from medallion.errors import (
    BackendError,
    ColumnReferenceError,
    ExpectationFailed,
    GraphError,
    MedallionError,
    MissingDependencyError,
    NoActivePipelineError,
    PipelineFileError,
    PipelineRunError,
    SpecError,
    TableOwnershipError,
    TableRunError,
)
from medallion.files.document import load_pipeline_file
from medallion.pipeline import Declaration, Pipeline, active_pipeline, config, current_pipeline
from medallion.quality.library import RuleLibrary, load_rules
from medallion.quality.templates import RuleTemplate
from medallion.query_context import ReadContext, read, read_change_stream, read_changes, read_stream
from medallion.specs import (
    Aggregation,
    AppendFlowSpec,
    AutoCdcSnapshotSpec,
    AutoCdcSpec,
    BronzeSpec,
    GoldSpec,
    GroupKey,
    Join,
    QuerySpec,
    Rule,
    SilverSpec,
    StreamingTableSpec,
    TableSpec,
    TimeWindow,
)
from medallion.specs.rules import expect, expect_or_drop, expect_or_fail, rules_from

__version__ = "0.1.0"

__all__ = [
    "Aggregation",
    "AppendFlowSpec",
    "AutoCdcSnapshotSpec",
    "AutoCdcSpec",
    "BackendError",
    "BronzeSpec",
    "ColumnReferenceError",
    "Declaration",
    "ExpectationFailed",
    "GoldSpec",
    "GraphError",
    "GroupKey",
    "Join",
    "MedallionError",
    "MissingDependencyError",
    "NoActivePipelineError",
    "Pipeline",
    "PipelineFileError",
    "PipelineRunError",
    "QuerySpec",
    "ReadContext",
    "Rule",
    "RuleLibrary",
    "RuleTemplate",
    "SilverSpec",
    "SpecError",
    "StreamingTableSpec",
    "TableOwnershipError",
    "TableRunError",
    "TableSpec",
    "TimeWindow",
    "__version__",
    "active_pipeline",
    "agg",
    "append_flow",
    "bronze_autoloader",
    "bronze_batch",
    "checks",
    "config",
    "create_auto_cdc_flow",
    "create_auto_cdc_from_snapshot_flow",
    "create_streaming_table",
    "current_pipeline",
    "event_log",
    "expect",
    "expect_or_drop",
    "expect_or_fail",
    "expectation_metrics",
    "gold_aggregate",
    "load_pipeline_file",
    "load_rules",
    "local_session",
    "read",
    "read_change_stream",
    "read_changes",
    "read_stream",
    "rules_from",
    "silver_with_rules",
    "table",
]


def __getattr__(name: str) -> object:
    # Lazy: these pull in the local backend's modules, which most imports never need.
    if name in ("event_log", "expectation_metrics"):
        from medallion import eventlog

        return getattr(eventlog, name)
    if name == "local_session":
        from medallion.backends.local.session import local_session

        return local_session
    raise AttributeError(f"module 'medallion' has no attribute {name!r}")
