"""Factories: build a spec and declare it into the active pipeline. They never run Spark."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, overload

from medallion.context import discover_reads
from medallion.errors import SpecError
from medallion.pipeline import caller_location, current_pipeline
from medallion.specs import BronzeSpec, GoldSpec, QuerySpec, Rule, SilverSpec, TableSpec
from medallion.specs.errors import build_spec

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
    """Declare a gold table: a typed aggregation, recomputed each run (a materialized view).

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
    incremental: bool = False,
    rules: Iterable[Rule | Mapping[str, Any]] = (),
    quarantine: str | None = None,
    inputs: Iterable[str] | None = None,
    table_properties: Mapping[str, str] | None = None,
    cluster_by: Iterable[str] = (),
    change_data_feed: bool = False,
) -> Callable[[F], F]: ...


def table(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    comment: str | None = None,
    incremental: bool = False,
    rules: Iterable[Rule | Mapping[str, Any]] = (),
    quarantine: str | None = None,
    inputs: Iterable[str] | None = None,
    table_properties: Mapping[str, str] | None = None,
    cluster_by: Iterable[str] = (),
    change_data_feed: bool = False,
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
