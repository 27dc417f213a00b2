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

Not provided yet: ``create_streaming_table``, ``append_flow``, ``apply_changes`` and
``apply_changes_from_snapshot`` (they arrive with medallion's AUTO CDC support).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from medallion import context
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
        if not isinstance(condition, str):
            raise SpecError(
                f"expectation '{rule_name}': give the condition as SQL text (e.g. "
                f"\"amount > 0\"), not a {type(condition).__name__}; medallion parses and "
                "counts SQL conditions",
            )
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
