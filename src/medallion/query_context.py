"""What a query function sees while a backend builds its DataFrame.

Backends call query functions inside :func:`using_context`; the functions read other tables
through the context they receive (``ctx.read``) or the module-level :func:`read` /
:func:`read_stream`, which look up the same context.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

from medallion.errors import MedallionError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class ReadContext(Protocol):
    """The reading side of a pipeline, handed to query functions by the backend."""

    @property
    def spark(self) -> SparkSession:
        """The SparkSession running the pipeline."""
        ...

    def read(self, name: str) -> DataFrame:
        """The current contents of a table (a batch DataFrame)."""
        ...

    def read_stream(self, name: str) -> DataFrame:
        """A table as a stream: each run sees only the rows appended since the last run."""
        ...

    def conf(self, key: str, default: str | None = None) -> str | None:
        """A pipeline configuration value."""
        ...

    def read_changes(
        self, name: str, *, starting_version: int = 0, ending_version: int | None = None
    ) -> DataFrame:
        """A table's change data feed as a batch DataFrame (versions inclusive)."""
        ...

    def read_change_stream(self, name: str, *, starting_version: int | None = None) -> DataFrame:
        """A table's change data feed as a stream (without a start: current rows as inserts)."""
        ...


_CURRENT: ContextVar[ReadContext | None] = ContextVar("medallion_read_context", default=None)


@contextmanager
def using_context(ctx: ReadContext) -> Iterator[ReadContext]:
    """Make ``ctx`` the context of :func:`read` / :func:`read_stream` for the block."""
    token = _CURRENT.set(ctx)
    try:
        yield ctx
    finally:
        _CURRENT.reset(token)


def current_context() -> ReadContext:
    """The context of the query function being evaluated; error outside one."""
    ctx = _CURRENT.get()
    if ctx is None:
        raise MedallionError(
            "medallion.read()/read_stream() only work inside a query function while a pipeline "
            "runs it; declare the function with @medallion.table and run the pipeline"
        )
    return ctx


def read(name: str) -> DataFrame:
    """Read a pipeline table as a batch DataFrame (inside a query function).

    Example:
        >>> import medallion
        >>> with medallion.Pipeline("orders"):
        ...     @medallion.table(inputs=["silver_orders"])
        ...     def big_orders():
        ...         return medallion.read("silver_orders").where("amount > 1000")
    """
    return current_context().read(name)


def read_stream(name: str) -> DataFrame:
    """Read a pipeline table as a stream (inside a query function of an incremental table)."""
    return current_context().read_stream(name)


def read_changes(
    name: str, *, starting_version: int = 0, ending_version: int | None = None
) -> DataFrame:
    """Read a table's change data feed as a batch DataFrame (inside a query function).

    The table must record a change data feed (``change_data_feed=True``). Rows carry
    ``_change_type`` (``insert``, ``update_preimage``, ``update_postimage``, ``delete``),
    ``_commit_version`` and ``_commit_timestamp``; both version bounds are inclusive.

    Example:
        >>> import medallion
        >>> with medallion.Pipeline("crm") as p:
        ...     @medallion.table
        ...     def customer_history():
        ...         return medallion.read_changes("silver_customers", starting_version=1)
        >>> p["customer_history"].spec.inputs()
        ('silver_customers',)
    """
    return current_context().read_changes(name, starting_version=starting_version,
                                          ending_version=ending_version)


def read_change_stream(name: str, *, starting_version: int | None = None) -> DataFrame:
    """Read a table's change data feed as a stream (inside a query function).

    Each run returns the changes committed since the last run. Without ``starting_version``
    the first run returns the table's current rows as ``insert`` changes, as Delta does.

    Example:
        >>> import medallion
        >>> with medallion.Pipeline("crm") as p:
        ...     @medallion.table(incremental=True)
        ...     def customer_changes():
        ...         return medallion.read_change_stream("silver_customers", starting_version=0)
        >>> p["customer_changes"].spec.incremental
        True
    """
    return current_context().read_change_stream(name, starting_version=starting_version)


def call_query(func: Callable[..., Any], ctx: ReadContext) -> Any:
    """Call a query function with ``ctx`` if it takes a parameter, else with none."""
    with using_context(ctx):
        if _takes_context(func):
            return func(ctx)
        return func()


def _takes_context(func: Callable[..., Any]) -> bool:
    try:
        params = [
            p
            for p in inspect.signature(func).parameters.values()
            if p.default is inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False
    return len(params) == 1


_READ_METHODS = {"read", "read_stream", "readStream", "table", "read_changes",
                 "read_change_stream"}


def discover_reads(func: Callable[..., Any]) -> tuple[str, ...] | None:
    """Table names a query function reads, from literal calls in its source code.

    Recognises ``ctx.read("t")``, ``ctx.read_stream("t")``, ``ctx.read_changes("t")``,
    ``ctx.read_change_stream("t")``, ``medallion.read("t")``,
    ``dlt.read("t")``, ``spark.table("t")`` and ``spark.read.table("t")``; a ``LIVE.`` prefix is
    removed. Reads inside the helper functions it calls (module functions and closures, a few
    levels deep) count too, as Databricks finds them by analysing the DataFrame. Returns None
    when the source is not available (then inputs must be declared).
    """
    return _discover_reads(func, set())


def _discover_reads(func: Callable[..., Any], seen: set[int]) -> tuple[str, ...] | None:
    seen.add(id(func))
    try:
        source = textwrap.dedent(inspect.getsource(func))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    body: list[ast.AST] = [tree]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = list(node.body)  # skip the decorators: @medallion.table(...) is no read
            break
    names: list[str] = []
    helpers = _helpers(func) if len(seen) < _HELPER_DEPTH else {}
    for node in (sub for stmt in body for sub in ast.walk(stmt)):
        if not isinstance(node, ast.Call):
            continue
        helper = helpers.get(node.func.id) if isinstance(node.func, ast.Name) else None
        if helper is not None and id(helper) not in seen:
            names.extend(_discover_reads(helper, seen) or ())
        if not node.args:
            continue
        target = node.func
        method = (
            target.attr if isinstance(target, ast.Attribute)
            else target.id if isinstance(target, ast.Name) else None
        )
        if method not in _READ_METHODS:
            continue
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            name = first.value
            if name.upper().startswith("LIVE."):
                name = name[5:]
            names.append(name)
    return tuple(dict.fromkeys(names))


_HELPER_DEPTH = 8


def _helpers(func: Callable[..., Any]) -> dict[str, Callable[..., Any]]:
    """The user's functions ``func`` calls by name: its closure's, and its own module's."""
    try:
        found = inspect.getclosurevars(func)
    except (TypeError, ValueError):
        return {}
    module = getattr(func, "__module__", None)
    local = {n: v for n, v in found.globals.items() if getattr(v, "__module__", 0) == module}
    return {name: value for name, value in {**local, **found.nonlocals}.items()
            if inspect.isfunction(value)}
