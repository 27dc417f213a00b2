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
    (None, ['drop'], ('bronze_orders',))

A table is a streaming table when the DataFrame its function returns streams, a materialized
view otherwise: Databricks decides from the DataFrame, and so does the local runner, when the
table runs (``spec.incremental`` is None until then).
A notebook's ``spark`` global is provided by ``medallion run`` (Auto Loader's ``cloudFiles``
reads included, see :mod:`medallion.backends.local.notebook`).

Streaming tables and flows are there too: ``create_streaming_table``, ``append_flow``,
``apply_changes`` / ``create_auto_cdc_flow`` and ``apply_changes_from_snapshot`` /
``create_auto_cdc_from_snapshot_flow``, run by medallion's AUTO CDC implementation (SCD1 and
SCD2, out-of-order events, deletes, truncates).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from medallion import declare as medallion_api
from medallion import query_context
from medallion.declare import table as _declare_table
from medallion.errors import SpecError
from medallion.pipeline import caller_location, current_pipeline
from medallion.specs.errors import build_spec
from medallion.specs.rules import Rule, RuleAction
from medallion.specs.sqlexpr import quote_identifier

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
    "create_sink",
    "create_streaming_live_table",
    "create_streaming_table",
    "create_table",
    "create_target_table",
    "create_view",
    "expect",
    "expect_all",
    "expect_all_or_drop",
    "expect_all_or_fail",
    "expect_or_drop",
    "expect_or_fail",
    "on_event_hook",
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
    cluster_by_auto: bool = False,
    private: bool = False,
) -> Any:
    """``@dlt.table``: declare a table computed by the decorated function.

    The DataFrame the function returns decides, when the table runs, whether it is a streaming
    table or a materialized view (as on Databricks). ``schema`` is DDL text or a
    ``StructType``. ``private=True`` (``temporary=True``, its older name) materializes the table
    without publishing it on Databricks; the local warehouse has no publishing step.
    ``spark_conf``, ``path`` and ``row_filter`` are refused: the local runner cannot honour
    them, and a silent difference would be worse.
    """
    unsupported = {"spark_conf": spark_conf, "path": path, "row_filter": row_filter}

    def register(func: F) -> F:
        table_name = name or func.__name__
        _refuse(unsupported, table_name)
        _declare(func, name=name, comment=comment, table_properties=table_properties,
                 cluster_by=cluster_by, partition_cols=partition_cols,
                 schema=_schema_ddl(schema, table_name), cluster_by_auto=cluster_by_auto,
                 private=private or temporary)
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
    cluster_by_auto: bool = False,
    private: bool = False,
) -> None:
    """``dlt.create_streaming_table``: a streaming table that flows write into.

    ``schema`` is DDL text or a ``StructType``; ``spark_conf``, ``path`` and ``row_filter``
    are refused.
    """
    _refuse({"spark_conf": spark_conf, "path": path, "row_filter": row_filter}, name)
    for rules in (expect_all, expect_all_or_drop, expect_all_or_fail):
        for rule_name, condition in (rules or {}).items():
            _sql_condition(rule_name, condition)
    medallion_api.create_streaming_table(
        name, comment=comment, table_properties=table_properties, partition_cols=partition_cols,
        cluster_by=cluster_by, schema=_schema_ddl(schema, name), expect_all=expect_all,
        expect_all_or_drop=expect_all_or_drop, expect_all_or_fail=expect_all_or_fail,
        cluster_by_auto=cluster_by_auto, private=private)


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
    keys: list[Any],
    sequence_by: Any,
    where: str | None = None,
    ignore_null_updates: bool | None = None,
    apply_as_deletes: Any = None,
    apply_as_truncates: Any = None,
    column_list: list[Any] | None = None,
    except_column_list: list[Any] | None = None,
    stored_as_scd_type: str | int = "1",
    track_history_column_list: list[Any] | None = None,
    track_history_except_column_list: list[Any] | None = None,
    flow_name: str | None = None,
    once: bool = False,
    ignore_null_updates_column_list: list[Any] | None = None,
    ignore_null_updates_except_column_list: list[Any] | None = None,
    columns_to_update: list[Any] | None = None,
) -> None:
    """``dlt.apply_changes`` (AUTO CDC): apply change events from ``source`` to ``target``.

    Conditions and ``sequence_by`` may be SQL text or ``Column`` objects (``col("ts")``,
    ``struct(...)``, ``expr("op = 'DELETE'")``), column lists names or ``col(...)``.
    ``columns_to_update`` is ``column_list``'s other name. ``where`` is refused (filter the
    source in a view instead).
    """
    _refuse({"where": where}, target)
    if columns_to_update is not None:
        if column_list is not None and _column_names(column_list, target, "column_list") != (
                _column_names(columns_to_update, target, "columns_to_update")):
            raise SpecError(
                f"flow into '{target}': columns_to_update is another name for column_list; "
                "give one of them", table=target, field="columns_to_update")
        column_list = columns_to_update
    medallion_api.create_auto_cdc_flow(
        target=_strip_live(target), source=_strip_live(source),
        keys=_column_names(keys, target, "keys") or [],
        sequence_by=_sql(sequence_by, target, "sequence_by"),
        ignore_null_updates=bool(ignore_null_updates),
        apply_as_deletes=_sql(apply_as_deletes, target, "apply_as_deletes"),
        apply_as_truncates=_sql(apply_as_truncates, target, "apply_as_truncates"),
        column_list=_column_names(column_list, target, "column_list"),
        except_column_list=_column_names(except_column_list, target, "except_column_list"),
        stored_as_scd_type=stored_as_scd_type,
        track_history_column_list=_column_names(track_history_column_list, target,
                                                "track_history_column_list"),
        track_history_except_column_list=_column_names(track_history_except_column_list, target,
                                                       "track_history_except_column_list"),
        name=flow_name, once=once,
        ignore_null_updates_column_list=_column_names(
            ignore_null_updates_column_list, target, "ignore_null_updates_column_list"),
        ignore_null_updates_except_column_list=_column_names(
            ignore_null_updates_except_column_list, target,
            "ignore_null_updates_except_column_list"))


def create_auto_cdc_flow(
    target: str,
    source: str,
    keys: list[Any],
    sequence_by: Any,
    *,
    where: str | None = None,
    ignore_null_updates: bool | None = None,
    apply_as_deletes: Any = None,
    apply_as_truncates: Any = None,
    column_list: list[Any] | None = None,
    except_column_list: list[Any] | None = None,
    stored_as_scd_type: str | int = "1",
    track_history_column_list: list[Any] | None = None,
    track_history_except_column_list: list[Any] | None = None,
    name: str | None = None,
    once: bool = False,
    ignore_null_updates_column_list: list[Any] | None = None,
    ignore_null_updates_except_column_list: list[Any] | None = None,
    columns_to_update: list[Any] | None = None,
) -> None:
    """``create_auto_cdc_flow``: :func:`apply_changes`'s new name (``name`` for ``flow_name``)."""
    apply_changes(
        target, source, keys, sequence_by, where=where,
        ignore_null_updates=ignore_null_updates, apply_as_deletes=apply_as_deletes,
        apply_as_truncates=apply_as_truncates,
        column_list=column_list, except_column_list=except_column_list,
        stored_as_scd_type=stored_as_scd_type, track_history_column_list=track_history_column_list,
        track_history_except_column_list=track_history_except_column_list, flow_name=name,
        once=once, ignore_null_updates_column_list=ignore_null_updates_column_list,
        ignore_null_updates_except_column_list=ignore_null_updates_except_column_list,
        columns_to_update=columns_to_update)


def apply_changes_from_snapshot(
    target: str,
    source: str | Callable[[Any], Any] | None = None,
    keys: list[Any] | None = None,
    stored_as_scd_type: str | int = "1",
    snapshot_and_version: Callable[[Any], Any] | None = None,
    track_history_column_list: list[Any] | None = None,
    track_history_except_column_list: list[Any] | None = None,
    once: bool = False,
) -> None:
    """``dlt.apply_changes_from_snapshot``: successive snapshots turned into changes.

    ``source`` is a table name or a function ``f(latest_version) -> (DataFrame, version) | None``
    (``snapshot_and_version``, its older name, is accepted too). ``once=True`` processes the
    snapshots once, then again only after a full refresh of the target.
    """
    given = source if source is not None else snapshot_and_version
    if given is None or not keys:
        raise SpecError(f"snapshot flow into '{target}': give source= (a table name or a "
                        "snapshot function) and keys=[...]", table=target)
    medallion_api.create_auto_cdc_from_snapshot_flow(
        target=_strip_live(target), source=_strip_live(given) if isinstance(given, str) else given,
        keys=_column_names(keys, target, "keys") or [], stored_as_scd_type=stored_as_scd_type,
        track_history_column_list=_column_names(track_history_column_list, target,
                                                "track_history_column_list"),
        track_history_except_column_list=_column_names(track_history_except_column_list, target,
                                                       "track_history_except_column_list"),
        once=once)


def create_auto_cdc_from_snapshot_flow(
    target: str,
    source: str | Callable[[Any], Any],
    keys: list[Any],
    *,
    stored_as_scd_type: str | int = "1",
    track_history_column_list: list[Any] | None = None,
    track_history_except_column_list: list[Any] | None = None,
    once: bool = False,
) -> None:
    """``create_auto_cdc_from_snapshot_flow``: :func:`apply_changes_from_snapshot`'s new name."""
    apply_changes_from_snapshot(
        target, source, keys, stored_as_scd_type=stored_as_scd_type,
        track_history_column_list=track_history_column_list,
        track_history_except_column_list=track_history_except_column_list, once=once)


def create_sink(name: str, format: str, options: dict[str, str] | None = None) -> None:
    """``dlt.create_sink``: a sink outside the pipeline that ``@dlt.append_flow`` writes.

    Locally a Delta sink is written (``options={"path": ...}`` or ``{"tableName":
    "schema.table"}``, a table of the local warehouse); a full refresh does not clear it. Other
    formats (``kafka``) are carried to Databricks and refused when the pipeline runs locally.
    """
    from medallion.specs import SinkSpec

    spec = build_spec(SinkSpec, {"name": name, "format": format,
                                 "options": dict(options or {})}, what=f"sink '{name}'")
    current_pipeline().declare(spec, location=caller_location())


# -- event hooks --------------------------------------------------------------------------------
def on_event_hook(
    user_event_hook_fn: Callable[[dict[str, Any]], Any] | None = None,
    max_allowable_consecutive_failures: int | None = None,
) -> Any:
    """``@dlt.on_event_hook``: call the function with every event of the pipeline's updates.

    Locally the hook receives each event-log row as a dict (``details`` and ``error`` parsed
    from their JSON) as the runner records it. An exception in the hook never fails the update;
    after ``max_allowable_consecutive_failures`` consecutive failures (None: no limit) the hook
    is disabled for the rest of the update, as on Databricks.
    """
    limit = max_allowable_consecutive_failures
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or limit < 0):
        raise SpecError(f"on_event_hook: max_allowable_consecutive_failures must be an integer "
                        f">= 0 or None, not {limit!r}", field="max_allowable_consecutive_failures")

    def register(func: F) -> F:
        current_pipeline().add_event_hook(func, max_failures=limit)
        return func

    if user_event_hook_fn is not None:
        if not callable(user_event_hook_fn):
            raise SpecError("the first positional argument of @dlt.on_event_hook must be the "
                            "decorated function; give max_allowable_consecutive_failures= by "
                            "keyword")
        return register(user_event_hook_fn)
    return register


# -- deprecated names -----------------------------------------------------------------------------
def _deprecated(old: str, new: Callable[..., Any]) -> Callable[..., Any]:
    def alias(*args: Any, **kwargs: Any) -> Any:
        # Databricks' own wording and category (a UserWarning, shown by default).
        warnings.warn(f"Function {old} has been deprecated. Please use {new.__name__} instead.",
                      stacklevel=2)
        return new(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old
    alias.__doc__ = f"Deprecated: Databricks' old name of :func:`{new.__name__}`."
    return alias


#: ``@dlt.create_table``: deprecated name of :func:`table`.
create_table = _deprecated("create_table", table)
#: ``@dlt.create_view``: deprecated name of :func:`view`.
create_view = _deprecated("create_view", view)
#: ``dlt.create_target_table``: deprecated name of :func:`create_streaming_table`.
create_target_table = _deprecated("create_target_table", create_streaming_table)
#: ``dlt.create_streaming_live_table``: deprecated name of :func:`create_streaming_table`.
create_streaming_live_table = _deprecated("create_streaming_live_table", create_streaming_table)


# -- reading ----------------------------------------------------------------------------------
def read(name: str) -> DataFrame:
    """``dlt.read``: another dataset of the pipeline as a batch DataFrame."""
    return query_context.read(_strip_live(name))


def read_stream(name: str) -> DataFrame:
    """``dlt.read_stream``: another dataset of the pipeline as a stream."""
    return query_context.read_stream(_strip_live(name))


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
    partition_cols: list[str] | None = None,
    schema: str | None = None,
    cluster_by_auto: bool = False,
    private: bool = False,
) -> None:
    rules: tuple[Rule, ...] = getattr(func, _RULES, ())
    _declare_table(
        name=name or func.__name__,
        comment=comment,
        incremental=None,  # the returned DataFrame decides, as on Databricks
        rules=rules,
        table_properties=table_properties,
        cluster_by=cluster_by or (),
        partition_cols=partition_cols or (),
        schema=schema,
        cluster_by_auto=cluster_by_auto,
        private=private,
    )(func)
    setattr(func, _DECLARED, True)


def _schema_ddl(schema: Any, table_name: str) -> str | None:
    """``schema=`` as DDL text: a string as given, a ``StructType`` written as DDL."""
    if schema is None or isinstance(schema, str):
        return schema
    fields = getattr(schema, "fields", None)
    if type(schema).__name__ == "StructType" and isinstance(fields, list):
        return ", ".join(_field_ddl(f) for f in fields)
    raise SpecError(
        f"table '{table_name}': give schema= as DDL text (\"id BIGINT, name STRING\") or a "
        f"StructType, not a {type(schema).__name__}", table=table_name, field="schema")


def _field_ddl(field: Any) -> str:
    text = f"{quote_identifier(field.name)} {field.dataType.simpleString()}"
    if not field.nullable:
        text += " NOT NULL"
    comment = (field.metadata or {}).get("comment")
    if comment:
        text += " COMMENT '" + str(comment).replace("\\", "\\\\").replace("'", "\\'") + "'"
    return text


def _is_column(value: Any) -> bool:
    return type(value).__name__ == "Column" and type(value).__module__.startswith("pyspark.")


def _column_text(value: Any) -> str:
    """The SQL text a pyspark ``Column`` prints as (``Column<'struct(a, b)'>``).

    Spark 3.5 prints string literals without their quotes (``(op = DELETE)``), so there the
    JVM expression's own SQL is used (``(op = 'DELETE')``).
    """
    import pyspark

    jc = getattr(value, "_jc", None)
    if pyspark.__version__.startswith("3.") and jc is not None:
        with contextlib.suppress(Exception):
            return str(jc.expr().sql())
    text = str(value)
    if text.startswith("Column<'") and text.endswith("'>"):
        return text[len("Column<'"):-2]
    return text


def _sql(value: Any, target: str, field: str) -> Any:
    """SQL text, or a ``Column`` (``col``, ``struct``, ``expr``) turned into its SQL text."""
    if not _is_column(value):
        return value
    from medallion.specs.sqlexpr import SqlSyntaxError, check_expression

    text = _column_text(value)
    try:
        check_expression(text)
    except SqlSyntaxError:
        raise SpecError(
            f"flow into '{target}': {field}={value!r} is a Column medallion cannot read back "
            f"as SQL ({text!r}); write it as SQL text or expr(\"...\"), e.g. "
            f"{field}=expr(\"op = 'DELETE'\")", table=target, field=field) from None
    return text


def _column_names(columns: Any, target: str, field: str) -> list[Any] | None:
    """Column names, ``col("name")`` objects taken by their name (unqualified, as documented)."""
    if columns is None:
        return None
    if isinstance(columns, str) or _is_column(columns):
        columns = [columns]
    names: list[Any] = []
    for column in columns:
        if _is_column(column):
            text = _column_text(column)
            if not text.isidentifier():
                raise SpecError(
                    f"flow into '{target}': {field} takes column names or col(\"name\"), not "
                    f"{column!r}", table=target, field=field)
            column = text
        names.append(column)
    return names


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
