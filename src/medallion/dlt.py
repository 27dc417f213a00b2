"""Run existing Delta Live Tables notebook code locally: ``import medallion.dlt as dlt``.

The decorators and readers of Databricks' legacy ``dlt`` module, with the same parameters,
declaring into medallion's active pipeline so that the local runner executes them with full
semantics: ``expect_or_drop`` removes rows, ``expect_or_fail`` fails the table's update and
leaves it unchanged, and every expectation is counted in the run summary. Nothing is merely
printed.

Example:
    >>> import medallion
    >>> import medallion.dlt as dlt
    >>> with medallion.Pipeline("orders") as pipeline:
    ...     @dlt.table(comment="Orders with an amount")
    ...     @dlt.expect_or_drop("valid_amount", "amount > 0")
    ...     def silver_orders():
    ...         return dlt.read_stream("bronze_orders")
    >>> spec = pipeline["silver_orders"].spec
    >>> (spec.incremental, [r.action for r in spec.rules], spec.inputs())
    (True, ['drop'], ('bronze_orders',))

A table is a streaming table when its function reads a stream (``dlt.read_stream``,
``spark.readStream``), a materialized view otherwise, as Databricks decides from the DataFrame.
A notebook's ``spark`` global is provided by ``medallion run`` (Auto Loader's ``cloudFiles``
reads included, see :mod:`medallion.backends.local.notebook`).

Streaming tables and flows are there too: ``create_streaming_table``, ``append_flow``,
``apply_changes`` / ``create_auto_cdc_flow`` and ``apply_changes_from_snapshot`` /
``create_auto_cdc_from_snapshot_flow``, run by medallion's AUTO CDC implementation (SCD1 and
SCD2, out-of-order events, deletes, truncates).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from medallion import context
from medallion import declare as medallion_api
from medallion.declare import table as _declare_table
from medallion.errors import SpecError
from medallion.specs.errors import build_spec
from medallion.specs.rules import Rule, RuleAction

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

F = TypeVar("F", bound=Callable[..., Any])

_RULES = "__medallion_dlt_rules__"
_DECLARED = "__medallion_dlt_declared__"

__all__ = [
    "append_flow",
    "apply_changes",
    "apply_changes_from_snapshot",
    "create_auto_cdc_flow",
    "create_auto_cdc_from_snapshot_flow",
    "create_streaming_table",
    "expect",
    "expect_all",
    "expect_all_or_drop",
    "expect_all_or_fail",
    "expect_or_drop",
    "expect_or_fail",
    "read",
    "readStream",
    "read_stream",
    "table",
    "view",
]


# -- datasets ------------------------------------------------------------------------------------
def table(
    query_function: Callable[..., DataFrame] | None = None,
    name: str | None = None,
    comment: str | None = None,
    spark_conf: dict[str, str] | None = None,
    table_properties: dict[str, str] | None = None,
    partition_cols: list[str] | None = None,
    path: str | None = None,
    schema: Any = None,
    temporary: bool = False,
    cluster_by: list[str] | None = None,
    row_filter: str | None = None,
) -> Any:
    """``@dlt.table``: declare a table computed by the decorated function.

    ``temporary=True`` tables are written like any other locally (the local warehouse has no
    publishing step). ``spark_conf``, ``partition_cols``, ``path``, ``schema`` and
    ``row_filter`` are not supported by the local runner: giving one is an error rather than a
    silent difference.
    """
    unsupported = {"spark_conf": spark_conf, "partition_cols": partition_cols, "path": path,
                   "schema": schema, "row_filter": row_filter}

    def register(func: F) -> F:
        _refuse(unsupported, name or func.__name__)
        _declare(func, name=name, comment=comment, table_properties=table_properties,
                 cluster_by=cluster_by)
        return func

    return _decorator(query_function, register, "table")


def view(
    query_function: Callable[..., DataFrame] | None = None,
    name: str | None = None,
    comment: str | None = None,
    spark_conf: dict[str, str] | None = None,
) -> Any:
    """``@dlt.view``: a dataset other tables read; locally it is written like a table."""

    def register(func: F) -> F:
        _refuse({"spark_conf": spark_conf}, name or func.__name__)
        _declare(func, name=name, comment=comment, table_properties=None, cluster_by=None)
        return func

    return _decorator(query_function, register, "view")


# -- streaming tables and flows ----------------------------------------------------------------
def create_streaming_table(
    name: str,
    comment: str | None = None,
    spark_conf: dict[str, str] | None = None,
    table_properties: dict[str, str] | None = None,
    partition_cols: list[str] | None = None,
    path: str | None = None,
    schema: Any = None,
    expect_all: dict[str, str] | None = None,
    expect_all_or_drop: dict[str, str] | None = None,
    expect_all_or_fail: dict[str, str] | None = None,
    cluster_by: list[str] | None = None,
    row_filter: str | None = None,
) -> None:
    """``dlt.create_streaming_table``: a streaming table that flows write into.

    ``schema`` is taken as DDL text; ``spark_conf``, ``path`` and ``row_filter`` are refused.
    """
    _refuse({"spark_conf": spark_conf, "path": path, "row_filter": row_filter}, name)
    if schema is not None and not isinstance(schema, str):
        raise SpecError(
            f"table '{name}': give schema= as DDL text (\"id BIGINT, name STRING\"), not a "
            f"{type(schema).__name__}", table=name, field="schema")
    for rules in (expect_all, expect_all_or_drop, expect_all_or_fail):
        for rule_name, condition in (rules or {}).items():
            _sql_condition(rule_name, condition)
    medallion_api.create_streaming_table(
        name, comment=comment, table_properties=table_properties, partition_cols=partition_cols,
        cluster_by=cluster_by, schema=schema, expect_all=expect_all,
        expect_all_or_drop=expect_all_or_drop, expect_all_or_fail=expect_all_or_fail)


def append_flow(
    name: str | None = None,
    target: str | None = None,
    comment: str | None = None,
    spark_conf: dict[str, str] | None = None,
    once: bool = False,
) -> Callable[[F], F]:
    """``@dlt.append_flow(target=...)``: the decorated function's rows go into ``target``."""
    if target is None:
        raise SpecError(f"append flow '{name or '?'}': target= is required (the streaming table "
                        "the flow appends to)", field="target")
    return medallion_api.append_flow(target=target, name=name, once=once,
                                     spark_conf=spark_conf, comment=comment)


def apply_changes(
    target: str,
    source: str,
    keys: list[str],
    sequence_by: str,
    where: str | None = None,
    ignore_null_updates: bool | None = None,
    apply_as_deletes: str | None = None,
    apply_as_truncates: str | None = None,
    column_list: list[str] | None = None,
    except_column_list: list[str] | None = None,
    stored_as_scd_type: str | int = "1",
    track_history_column_list: list[str] | None = None,
    track_history_except_column_list: list[str] | None = None,
    flow_name: str | None = None,
    once: bool = False,
    ignore_null_updates_column_list: list[str] | None = None,
    ignore_null_updates_except_column_list: list[str] | None = None,
    columns_to_update: list[str] | None = None,
) -> None:
    """``dlt.apply_changes`` (AUTO CDC): apply change events from ``source`` to ``target``.

    ``where``, the per-column ``ignore_null_updates_*`` lists and ``columns_to_update`` are
    refused (filter the source in a view instead; use ``ignore_null_updates=True``).
    """
    _refuse({"where": where,
             "ignore_null_updates_column_list": ignore_null_updates_column_list,
             "ignore_null_updates_except_column_list": ignore_null_updates_except_column_list,
             "columns_to_update": columns_to_update},
            target)
    medallion_api.create_auto_cdc_flow(
        target=_strip_live(target), source=_strip_live(source), keys=keys,
        sequence_by=sequence_by, ignore_null_updates=bool(ignore_null_updates),
        apply_as_deletes=apply_as_deletes, apply_as_truncates=apply_as_truncates,
        column_list=column_list, except_column_list=except_column_list,
        stored_as_scd_type=stored_as_scd_type, track_history_column_list=track_history_column_list,
        track_history_except_column_list=track_history_except_column_list, name=flow_name,
        once=once)


def create_auto_cdc_flow(
    target: str,
    source: str,
    keys: list[str],
    sequence_by: str,
    *,
    where: str | None = None,
    ignore_null_updates: bool | None = None,
    apply_as_deletes: str | None = None,
    apply_as_truncates: str | None = None,
    column_list: list[str] | None = None,
    except_column_list: list[str] | None = None,
    stored_as_scd_type: str | int = "1",
    track_history_column_list: list[str] | None = None,
    track_history_except_column_list: list[str] | None = None,
    name: str | None = None,
    once: bool = False,
) -> None:
    """``create_auto_cdc_flow``: :func:`apply_changes`'s new name (``name`` for ``flow_name``)."""
    apply_changes(
        target, source, keys, sequence_by, where=where,
        ignore_null_updates=ignore_null_updates, apply_as_deletes=apply_as_deletes,
        apply_as_truncates=apply_as_truncates,
        column_list=column_list, except_column_list=except_column_list,
        stored_as_scd_type=stored_as_scd_type, track_history_column_list=track_history_column_list,
        track_history_except_column_list=track_history_except_column_list, flow_name=name,
        once=once)


def apply_changes_from_snapshot(
    target: str,
    source: str | Callable[[Any], Any] | None = None,
    keys: list[str] | None = None,
    stored_as_scd_type: str | int = "1",
    snapshot_and_version: Callable[[Any], Any] | None = None,
    track_history_column_list: list[str] | None = None,
    track_history_except_column_list: list[str] | None = None,
) -> None:
    """``dlt.apply_changes_from_snapshot``: successive snapshots turned into changes.

    ``source`` is a table name or a function ``f(latest_version) -> (DataFrame, version) | None``
    (``snapshot_and_version``, its older name, is accepted too).
    """
    given = source if source is not None else snapshot_and_version
    if given is None or not keys:
        raise SpecError(f"snapshot flow into '{target}': give source= (a table name or a "
                        "snapshot function) and keys=[...]", table=target)
    medallion_api.create_auto_cdc_from_snapshot_flow(
        target=_strip_live(target), source=_strip_live(given) if isinstance(given, str) else given,
        keys=keys, stored_as_scd_type=stored_as_scd_type,
        track_history_column_list=track_history_column_list,
        track_history_except_column_list=track_history_except_column_list)


def create_auto_cdc_from_snapshot_flow(
    target: str,
    source: str | Callable[[Any], Any],
    keys: list[str],
    *,
    stored_as_scd_type: str | int = "1",
    track_history_column_list: list[str] | None = None,
    track_history_except_column_list: list[str] | None = None,
) -> None:
    """``create_auto_cdc_from_snapshot_flow``: :func:`apply_changes_from_snapshot`'s new name."""
    apply_changes_from_snapshot(
        target, source, keys, stored_as_scd_type=stored_as_scd_type,
        track_history_column_list=track_history_column_list,
        track_history_except_column_list=track_history_except_column_list)


# -- reading ----------------------------------------------------------------------------------
def read(name: str) -> DataFrame:
    """``dlt.read``: another dataset of the pipeline as a batch DataFrame."""
    return context.read(_strip_live(name))


def read_stream(name: str) -> DataFrame:
    """``dlt.read_stream``: another dataset of the pipeline as a stream."""
    return context.read_stream(_strip_live(name))


#: The dlt module's alias of :func:`read_stream`.
readStream = read_stream


# -- expectations -------------------------------------------------------------------------------
def expect(name: str, inv: str) -> Callable[[F], F]:
    """``@dlt.expect``: invalid rows are kept and counted."""
    return _expectations({name: inv}, "warn")


def expect_or_drop(name: str, inv: str) -> Callable[[F], F]:
    """``@dlt.expect_or_drop``: invalid rows are removed and counted."""
    return _expectations({name: inv}, "drop")


def expect_or_fail(name: str, inv: str) -> Callable[[F], F]:
    """``@dlt.expect_or_fail``: one invalid row fails the update; the table is left unchanged."""
    return _expectations({name: inv}, "fail")


def expect_all(expectations: Mapping[str, str]) -> Callable[[F], F]:
    """``@dlt.expect_all``: several ``expect`` rules (name → condition)."""
    return _expectations(expectations, "warn")


def expect_all_or_drop(expectations: Mapping[str, str]) -> Callable[[F], F]:
    """``@dlt.expect_all_or_drop``: several ``expect_or_drop`` rules."""
    return _expectations(expectations, "drop")


def expect_all_or_fail(expectations: Mapping[str, str]) -> Callable[[F], F]:
    """``@dlt.expect_all_or_fail``: several ``expect_or_fail`` rules."""
    return _expectations(expectations, "fail")


# -- internals ------------------------------------------------------------------------------------
def _decorator(query_function: Any, register: Callable[[F], F], what: str) -> Any:
    if query_function is None:
        return register
    if not callable(query_function):
        raise SpecError(
            f"the first positional argument of @dlt.{what} must be the decorated function; "
            f"give options as keywords, e.g. @dlt.{what}(name='my_table')"
        )
    return register(query_function)


def _refuse(options: Mapping[str, Any], table_name: str) -> None:
    given = [k for k, v in options.items() if v is not None]
    if given:
        raise SpecError(
            f"table '{table_name}': {given[0]}= is not supported when DLT code runs locally "
            "with medallion; remove it (or keep it only in the Databricks version)",
            table=table_name, field=given[0],
        )


def _declare(
    func: Callable[..., Any],
    *,
    name: str | None,
    comment: str | None,
    table_properties: Mapping[str, str] | None,
    cluster_by: list[str] | None,
) -> None:
    rules: tuple[Rule, ...] = getattr(func, _RULES, ())
    _declare_table(
        name=name or func.__name__,
        comment=comment,
        incremental=reads_stream(func),
        rules=rules,
        table_properties=table_properties,
        cluster_by=cluster_by or (),
    )(func)
    setattr(func, _DECLARED, True)


def _expectations(conditions: Mapping[str, Any], action: RuleAction) -> Callable[[F], F]:
    if not isinstance(conditions, Mapping):
        raise SpecError(f"expectations must be a dict of name → SQL condition, not "
                        f"{type(conditions).__name__}")
    rules = []
    for rule_name, condition in conditions.items():
        _sql_condition(rule_name, condition)
        rules.append(build_spec(Rule, {"name": rule_name, "condition": condition,
                                       "action": action}, what=f"expectation '{rule_name}'"))

    def decorate(func: F) -> F:
        if getattr(func, _DECLARED, False):
            raise SpecError(
                f"table '{func.__name__}': put @dlt.expect... decorators below @dlt.table "
                "(they apply to the function before the table is declared)"
            )
        # Decorators apply bottom-up; prepend so the rules keep the order they are written in.
        setattr(func, _RULES, (*rules, *getattr(func, _RULES, ())))
        return func

    return decorate


def _sql_condition(rule_name: str, condition: Any) -> None:
    if not isinstance(condition, str):
        raise SpecError(
            f"expectation '{rule_name}': give the condition as SQL text (e.g. "
            f"\"amount > 0\"), not a {type(condition).__name__}; medallion parses and "
            "counts SQL conditions",
        )


def _strip_live(name: str) -> str:
    return name[5:] if name.upper().startswith("LIVE.") else name


_STREAM_CALLS = {"read_stream", "readStream"}


def reads_stream(func: Callable[..., Any]) -> bool:
    """Whether a query function reads a stream (``read_stream(...)``, ``spark.readStream``).

    Databricks decides a ``@dlt.table``'s kind from the DataFrame the function returns; the
    local runner must know it before running, so it reads the function's source.
    """
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            tree = ast.Module(body=list(node.body), type_ignores=[])  # skip the decorators
            break
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _STREAM_CALLS:
            return True
        if isinstance(node, ast.Name) and node.id in _STREAM_CALLS:
            return True
    return False
