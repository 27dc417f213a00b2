"""Factories: build a spec and declare it into the active pipeline. They never run Spark."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, overload

from medallion.errors import SpecError
from medallion.pipeline import caller_location, current_pipeline
from medallion.query_context import discover_reads
from medallion.specs import (
    AppendFlowSpec,
    AutoCdcSnapshotSpec,
    AutoCdcSpec,
    BronzeSpec,
    GoldSpec,
    QuerySpec,
    Rule,
    SilverSpec,
    StreamingTableSpec,
    TableSpec,
)
from medallion.specs.errors import build_spec
from medallion.specs.rules import rules_from

S = TypeVar("S", bound=TableSpec)
F = TypeVar("F", bound=Callable[..., Any])


def _declare(model: type[S], spec: S | None, fields: Mapping[str, Any], **fixed: Any) -> S:
    location = caller_location()
    if spec is not None:
        if fields:
            raise SpecError(
                f"{model.layer} table '{spec.name}': pass either a spec or keyword fields, not "
                f"both (got {sorted(fields)} as well)",
                table=spec.name,
            )
        if not isinstance(spec, model):
            raise SpecError(
                f"expected a {model.__name__}, got {type(spec).__name__}; use the factory for "
                f"that layer",
                table=getattr(spec, "name", None),
            )
        for key, value in fixed.items():
            if getattr(spec, key) != value:
                raise SpecError(
                    f"{model.layer} table '{spec.name}': this factory declares {key}={value!r} "
                    f"but the spec says {key}={getattr(spec, key)!r}; use the matching factory",
                    table=spec.name,
                    field=key,
                )
        result = spec
    else:
        result = build_spec(model, {**fields, **fixed})
    current_pipeline().declare(result, location=location)
    return result


def bronze_autoloader(spec: BronzeSpec | None = None, /, **fields: Any) -> BronzeSpec:
    """Declare an incremental bronze table fed by files (Auto Loader on Databricks).

    Each file is ingested once: reruns pick up only new files.

    Example:
        >>> import medallion
        >>> with medallion.Pipeline("orders"):
        ...     spec = medallion.bronze_autoloader(
        ...         name="bronze_orders", path="/data/raw/orders", format="json",
        ...         infer_column_types=True,
        ...         metadata_columns={"source_file": "file_path",
        ...                           "ingestion_timestamp": "ingestion_time"})
        >>> spec.incremental
        True

    Args:
        spec: A ready :class:`medallion.BronzeSpec`; or give its fields as keywords.
        **fields: The fields of :class:`medallion.BronzeSpec`.
    """
    return _declare(BronzeSpec, spec, fields, incremental=True)


def bronze_batch(spec: BronzeSpec | None = None, /, **fields: Any) -> BronzeSpec:
    """Declare a bronze table that snapshots all files on every run (reference data).

    Example:
        >>> import medallion
        >>> with medallion.Pipeline("orders"):
        ...     spec = medallion.bronze_batch(
        ...         name="bronze_customers", path="/data/raw/customers", format="parquet")
        >>> spec.incremental
        False
    """
    return _declare(BronzeSpec, spec, fields, incremental=False)


def silver_with_rules(spec: SilverSpec | None = None, /, **fields: Any) -> SilverSpec:
    """Declare a silver table: casts and derived columns, rules, quarantine, dedup, joins.

    Example:
        >>> import medallion
        >>> from medallion import Rule
        >>> with medallion.Pipeline("orders"):
        ...     _ = medallion.bronze_autoloader(name="bronze_orders", path="/data/orders")
        ...     spec = medallion.silver_with_rules(
        ...         name="silver_orders", source="bronze_orders",
        ...         casts={"order_id": "bigint", "amount": "decimal(10,2)"},
        ...         rules=[Rule(name="valid_order_id", condition="order_id IS NOT NULL",
        ...                     action="drop")],
        ...         quarantine="quarantine_orders", dedup_keys=["order_id"])
        >>> spec.outputs()
        ('silver_orders', 'quarantine_orders')
    """
    return _declare(SilverSpec, spec, fields)


def gold_aggregate(spec: GoldSpec | None = None, /, **fields: Any) -> GoldSpec:
    """Declare a gold table: a typed aggregation (a materialized view, or windowed streaming).

    As a materialized view it reflects its source after every run; when the source has a
    change data feed only the changed groups are recomputed. With ``incremental=True``,
    ``window=`` and ``watermark=`` it is a streaming aggregate over event-time windows (see
    :class:`medallion.GoldSpec`).

    Example:
        >>> import medallion
        >>> from medallion import agg
        >>> with medallion.Pipeline("orders"):
        ...     _ = medallion.bronze_batch(name="orders", path="/data/orders")
        ...     spec = medallion.gold_aggregate(
        ...         name="gold_daily_sales", source="orders",
        ...         filter="status = 'completed'",
        ...         group_by=["to_date(order_date) AS date", "region"],
        ...         aggregations=[agg.count("order_id", alias="order_count"),
        ...                       agg.sum("amount", alias="total_sales")],
        ...         cluster_by=["date", "region"])
        >>> [k.alias for k in spec.group_by]
        ['date', 'region']
    """
    return _declare(GoldSpec, spec, fields)


@overload
def table(func: F, /) -> F: ...


@overload
def table(
    *,
    name: str | None = None,
    comment: str | None = None,
    incremental: bool | None = False,
    rules: Iterable[Rule | Mapping[str, Any]] = (),
    quarantine: str | None = None,
    inputs: Iterable[str] | None = None,
    table_properties: Mapping[str, str] | None = None,
    cluster_by: Iterable[str] = (),
    change_data_feed: bool = False,
    partition_cols: Iterable[str] = (),
    schema: str | None = None,
    cluster_by_auto: bool = False,
    private: bool = False,
) -> Callable[[F], F]: ...


def table(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    comment: str | None = None,
    incremental: bool | None = False,
    rules: Iterable[Rule | Mapping[str, Any]] = (),
    quarantine: str | None = None,
    inputs: Iterable[str] | None = None,
    table_properties: Mapping[str, str] | None = None,
    cluster_by: Iterable[str] = (),
    change_data_feed: bool = False,
    partition_cols: Iterable[str] = (),
    schema: str | None = None,
    cluster_by_auto: bool = False,
    private: bool = False,
) -> F | Callable[[F], F]:
    """Declare a table computed by your own query function (the escape hatch, like ``@dp.table``).

    The function returns a DataFrame; it may take one argument, the
    :class:`medallion.ReadContext`. Rules and quarantine behave as in silver. The function is
    returned unchanged, so it can be unit-tested directly.

    Example:
        >>> import medallion
        >>> with medallion.Pipeline("orders"):
        ...     _ = medallion.bronze_batch(name="bronze_orders", path="/data/orders")
        ...     @medallion.table(inputs=["bronze_orders"],comment="Orders above 1000",
        ...                      rules=[medallion.expect_or_drop("has_id", "order_id IS NOT NULL")])
        ...     def big_orders(ctx):
        ...         return ctx.read("bronze_orders").where("amount > 1000")
        >>> big_orders.__name__
        'big_orders'

    ``incremental=None`` lets the DataFrame the function returns decide, when the table runs,
    whether it is a streaming table (as Databricks decides for ``@dlt.table``). ``schema`` is
    the DDL of the table's columns (see :class:`medallion.QuerySpec`).
    """

    def register(fn: F) -> F:
        found = discover_reads(fn) if inputs is None else tuple(inputs)
        fields: dict[str, Any] = {
            "name": name or fn.__name__,
            "comment": comment if comment is not None else _first_line(fn.__doc__),
            "query": fn,
            "incremental": incremental,
            "rules": list(rules),
            "quarantine": quarantine,
            "inputs": found or (),
            "table_properties": dict(table_properties or {}),
            "cluster_by": list(cluster_by),
            "change_data_feed": change_data_feed,
            "partition_cols": list(partition_cols),
            "schema": schema,
            "cluster_by_auto": cluster_by_auto,
            "private": private,
        }
        spec = build_spec(QuerySpec, fields)
        current_pipeline().declare(spec, location=caller_location())
        return fn

    if func is not None:
        return register(func)
    return register


def _first_line(doc: str | None) -> str | None:
    if not doc:
        return None
    return doc.strip().splitlines()[0].strip() or None


def create_streaming_table(
    name: str,
    *,
    comment: str | None = None,
    table_properties: Mapping[str, str] | None = None,
    partition_cols: Iterable[str] | None = None,
    cluster_by: Iterable[str] | None = None,
    schema: str | None = None,
    expect_all: Mapping[str, str] | None = None,
    expect_all_or_drop: Mapping[str, str] | None = None,
    expect_all_or_fail: Mapping[str, str] | None = None,
    change_data_feed: bool = False,
    cluster_by_auto: bool = False,
    private: bool = False,
) -> StreamingTableSpec:
    """Declare a streaming table that flows write into (Databricks ``create_streaming_table``).

    Add the flows with :func:`append_flow`, :func:`create_auto_cdc_flow` or
    :func:`create_auto_cdc_from_snapshot_flow`. Expectations apply to the rows append flows
    write.

    Example:
        >>> import medallion
        >>> with medallion.Pipeline("crm"):
        ...     spec = medallion.create_streaming_table(
        ...         "customers", comment="Customers, one row per id",
        ...         cluster_by=["customer_id"], change_data_feed=True)
        >>> spec.kind
        'streaming_table'

    Args:
        name: The table name.
        comment: Table comment.
        table_properties: Delta table properties.
        partition_cols: Partition columns (not combinable with ``cluster_by``).
        cluster_by: Liquid clustering columns.
        schema: DDL of the columns; default: the columns the flows write.
        expect_all: Warn rules, name → condition.
        expect_all_or_drop: Drop rules, name → condition.
        expect_all_or_fail: Fail rules, name → condition.
        change_data_feed: Record the table's row changes.
        cluster_by_auto: Automatic liquid clustering on Databricks (``cluster_by`` first).
        private: Not published to the catalog on Databricks (still materialized).
    """
    rules = [
        *rules_from(dict(expect_all or {}), "warn"),
        *rules_from(dict(expect_all_or_drop or {}), "drop"),
        *rules_from(dict(expect_all_or_fail or {}), "fail"),
    ]
    fields: dict[str, Any] = {
        "name": name,
        "comment": comment,
        "table_properties": dict(table_properties or {}),
        "partition_cols": list(partition_cols or ()),
        "cluster_by": list(cluster_by or ()),
        "schema": schema,
        "rules": rules,
        "change_data_feed": change_data_feed,
        "cluster_by_auto": cluster_by_auto,
        "private": private,
    }
    return _declare(StreamingTableSpec, None, fields)


def append_flow(
    *,
    target: str,
    name: str | None = None,
    once: bool = False,
    spark_conf: Mapping[str, str] | None = None,
    comment: str | None = None,
    inputs: Iterable[str] | None = None,
) -> Callable[[F], F]:
    """Decorate a query function whose rows are appended to ``target`` (Databricks ``append_flow``).

    Several flows may append into one streaming table. The function returns a streaming
    DataFrame (each run appends what arrived since the last run) or, with ``once=True``, a batch
    DataFrame appended once (a backfill; it runs again only after a full refresh of the
    target). The function is returned unchanged.

    Example:
        >>> import medallion
        >>> with medallion.Pipeline("orders") as p:
        ...     _ = medallion.bronze_autoloader(name="orders_eu", path="/data/eu")
        ...     _ = medallion.create_streaming_table("all_orders")
        ...     @medallion.append_flow(target="all_orders")
        ...     def from_eu(ctx):
        ...         return ctx.read_stream("orders_eu")
        >>> p.flow("from_eu").spec.inputs()
        ('orders_eu',)

    Args:
        target: The streaming table written (declared with :func:`create_streaming_table`).
        name: Flow name (default: the function's name).
        once: Append once (backfill).
        spark_conf: Spark settings while the flow runs.
        comment: Description of the flow.
        inputs: Tables the function reads, when they cannot be found from its code.
    """

    def register(fn: F) -> F:
        found = discover_reads(fn) if inputs is None else tuple(inputs)
        fields: dict[str, Any] = {
            "name": name or fn.__name__,
            "target": target,
            "query": fn,
            "once": once,
            "spark_conf": dict(spark_conf or {}),
            "comment": comment if comment is not None else _first_line(fn.__doc__),
            "inputs": found or (),
        }
        spec = build_spec(AppendFlowSpec, fields, what="append flow")
        current_pipeline().declare(spec, location=caller_location())
        return fn

    return register


def create_auto_cdc_flow(
    target: str,
    source: str,
    keys: Iterable[str],
    sequence_by: str,
    *,
    ignore_null_updates: bool = False,
    apply_as_deletes: str | None = None,
    apply_as_truncates: str | None = None,
    column_list: Iterable[str] | None = None,
    except_column_list: Iterable[str] | None = None,
    stored_as_scd_type: int | str = 1,
    track_history_column_list: Iterable[str] | None = None,
    track_history_except_column_list: Iterable[str] | None = None,
    name: str | None = None,
    once: bool = False,
    ignore_null_updates_column_list: Iterable[str] | None = None,
    ignore_null_updates_except_column_list: Iterable[str] | None = None,
) -> AutoCdcSpec:
    """Apply change events from ``source`` to the streaming table ``target`` (AUTO CDC).

    Mirrors Databricks ``create_auto_cdc_flow`` (formerly ``apply_changes``); conditions and
    ``sequence_by`` are SQL text. See :class:`medallion.AutoCdcSpec` for the semantics.

    Example:
        >>> import medallion
        >>> with medallion.Pipeline("crm"):
        ...     _ = medallion.bronze_autoloader(name="customer_events", path="/data/cdc")
        ...     _ = medallion.create_streaming_table("customers")
        ...     flow = medallion.create_auto_cdc_flow(
        ...         target="customers", source="customer_events", keys=["customer_id"],
        ...         sequence_by="event_ts", apply_as_deletes="op = 'DELETE'",
        ...         except_column_list=["op", "event_ts"], stored_as_scd_type=2)
        >>> flow.name, flow.stored_as_scd_type
        ('customers', 2)
    """
    fields: dict[str, Any] = {
        "name": name or target,
        "target": target,
        "source": source,
        "keys": _names(keys),
        "sequence_by": _sql_text(sequence_by, "sequence_by", target),
        "ignore_null_updates": ignore_null_updates,
        "ignore_null_updates_column_list": _names(ignore_null_updates_column_list),
        "ignore_null_updates_except_column_list": _names(ignore_null_updates_except_column_list),
        "apply_as_deletes": _sql_text(apply_as_deletes, "apply_as_deletes", target),
        "apply_as_truncates": _sql_text(apply_as_truncates, "apply_as_truncates", target),
        "column_list": _names(column_list),
        "except_column_list": _names(except_column_list),
        "stored_as_scd_type": stored_as_scd_type,
        "track_history_column_list": _names(track_history_column_list),
        "track_history_except_column_list": _names(track_history_except_column_list),
        "once": once,
    }
    spec: AutoCdcSpec = build_spec(AutoCdcSpec, fields, what="AUTO CDC flow")
    current_pipeline().declare(spec, location=caller_location())
    return spec


def create_auto_cdc_from_snapshot_flow(
    target: str,
    source: str | Callable[[Any], Any],
    keys: Iterable[str],
    *,
    stored_as_scd_type: int | str = 1,
    track_history_column_list: Iterable[str] | None = None,
    track_history_except_column_list: Iterable[str] | None = None,
    name: str | None = None,
    once: bool = False,
    inputs: Iterable[str] | None = None,
) -> AutoCdcSnapshotSpec:
    """Turn successive snapshots of ``source`` into changes of ``target`` (AUTO CDC from snapshot).

    ``source`` is a table name (snapshotted on each run where it changed) or a function
    ``f(latest_version) -> (DataFrame, version) | None`` called until it returns None, as in
    Databricks ``create_auto_cdc_from_snapshot_flow``.

    Example:
        >>> import medallion
        >>> with medallion.Pipeline("crm"):
        ...     _ = medallion.bronze_batch(name="customers_dump", path="/data/dump")
        ...     _ = medallion.create_streaming_table("customers")
        ...     flow = medallion.create_auto_cdc_from_snapshot_flow(
        ...         target="customers", source="customers_dump", keys=["customer_id"])
        >>> flow.inputs()
        ('customers_dump',)
    """
    fields: dict[str, Any] = {
        "name": name or target,
        "target": target,
        "keys": _names(keys),
        "stored_as_scd_type": stored_as_scd_type,
        "track_history_column_list": _names(track_history_column_list),
        "track_history_except_column_list": _names(track_history_except_column_list),
        "once": once,
    }
    if callable(source):
        found = discover_reads(source) if inputs is None else tuple(inputs)
        fields["snapshot_function"] = source
        fields["inputs"] = found or ()
    else:
        fields["source"] = source
        if inputs is not None:
            fields["inputs"] = tuple(inputs)
    spec: AutoCdcSnapshotSpec = build_spec(AutoCdcSnapshotSpec, fields,
                                           what="AUTO CDC from snapshot flow")
    current_pipeline().declare(spec, location=caller_location())
    return spec


def _names(columns: Iterable[str] | str | None) -> list[str] | None:
    """Column names as a list; a Column object is refused with the fix."""
    if columns is None:
        return None
    if isinstance(columns, str):
        return [columns]
    names = list(columns)
    for column in names:
        if not isinstance(column, str):
            raise SpecError(
                f"column {column!r} is not a column name: medallion specs are plain data, give "
                "column names as strings (e.g. keys=['customer_id'])"
            )
    return names


def _sql_text(value: object, field: str, target: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise SpecError(
        f"flow into '{target}': {field} must be SQL text (e.g. \"op = 'DELETE'\"), not "
        f"{type(value).__name__}; medallion specs are plain data",
        table=target,
        field=field,
    )
