"""The active-pipeline registry: where factories put the tables they declare."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from contextvars import Token
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from medallion.backends.runtime import RUNTIMES, active_oss_registry, selected_backend
from medallion.declaring import activate, active_pipeline, config, deactivate, runtime_backend
from medallion.errors import GraphError, NoActivePipelineError
from medallion.graph import Graph, build_graph
from medallion.specs.base import Definition, check_table_name

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from medallion.backends.base import Backend
    from medallion.backends.local.result import RunResult

B = TypeVar("B", bound="Backend")

_PACKAGE_DIR = str(Path(__file__).resolve().parent)
DEFAULT_SCHEMA = "medallion_db"


@dataclass(frozen=True)
class SourceLocation:
    """Where in the user's code a table was declared."""

    filename: str
    line: int

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}"


def caller_location() -> SourceLocation | None:
    """The first stack frame outside the medallion package: the user's declaration."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not os.path.abspath(filename).startswith(_PACKAGE_DIR) and not filename.startswith(
            "<frozen"
        ):
            return SourceLocation(filename, frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return None


@dataclass(frozen=True)
class Declaration:
    """A spec as declared in a pipeline, with the place in the user's code that declared it."""

    spec: Definition
    location: SourceLocation | None = None

    @property
    def name(self) -> str:
        """The table name (or, for a flow, the flow name)."""
        return self.spec.name

    @property
    def key(self) -> str:
        """Unique in the pipeline: the table name, or ``flow:<name>`` for a flow."""
        return self.spec.key

    def describe(self) -> str:
        """``silver table 'silver_orders' (pipeline.py:12)`` — used in error messages."""
        text = self.spec.label()
        if self.location is not None:
            text += f" ({self.location})"
        return text


class Pipeline:
    """A set of table declarations, made active with ``with``.

    Factories such as :func:`medallion.silver_with_rules` declare into the active pipeline.
    ``medallion run pipeline.py`` provides one automatically; in tests and scripts, open one:

    Example:
        >>> import medallion
        >>> with medallion.Pipeline("orders") as p:
        ...     _ = medallion.bronze_autoloader(name="bronze_orders", path="/data/orders")
        >>> [d.name for d in p.declarations]
        ['bronze_orders']

    Args:
        name: Pipeline name (used in the event log and run summary).
        schema: Schema (database) the tables are registered in.
        configuration: Key/values readable by query functions (``ctx.conf("key")``), like a
            Databricks pipeline's configuration.
    """

    def __init__(
        self,
        name: str = "medallion",
        *,
        schema: str = DEFAULT_SCHEMA,
        configuration: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.schema = check_table_name(schema, "schema name")
        self.configuration: dict[str, str] = dict(configuration or {})
        self._declarations: dict[str, Declaration] = {}
        self._tokens: list[Token[Pipeline | None]] = []
        self._backend: Backend | None = None
        #: ``(hook, max consecutive failures or None)`` per ``@dlt.on_event_hook``.
        self.event_hooks: list[tuple[Callable[[dict[str, Any]], Any], int | None]] = []

    def add_event_hook(self, hook: Callable[[dict[str, Any]], Any], *,
                       max_failures: int | None = None) -> None:
        """Call ``hook`` with each event the pipeline's updates record (``on_event_hook``).

        It is disabled for the rest of an update after more than ``max_failures``
        consecutive exceptions (None: never).
        """
        self.event_hooks.append((hook, max_failures))

    # -- backend ---------------------------------------------------------------------------------
    def attach(self, backend: B) -> B:
        """Hand every declaration made from now on to ``backend``.

        ``backend`` is a :class:`~medallion.backends.base.Backend`. It replaces the backend
        attached before; inside a pipeline runtime, entering the pipeline (``with``) attaches
        the runtime's backend. Returns ``backend``.

        Example:
            >>> from medallion.backends.local import LocalRunner
            >>> pipeline = Pipeline("orders")
            >>> runner = pipeline.attach(LocalRunner())
            >>> pipeline.backend is runner
            True
        """
        self._backend = backend
        return backend

    @property
    def backend(self) -> Backend | None:
        """The backend declarations are handed to (None: nothing attached, a local run)."""
        return self._backend

    # -- registry --------------------------------------------------------------------------------
    def declare(self, spec: Definition, *, location: SourceLocation | None = None) -> Declaration:
        """Add ``spec`` to this pipeline; a name already defined is a :class:`GraphError`."""
        decl = Declaration(spec, location if location is not None else caller_location())
        if decl.key != decl.name and decl.key in self._declarations:
            raise GraphError(
                f"flow '{decl.name}' is defined twice: by {self._declarations[decl.key].describe()}"
                f" and by {decl.describe()}. Flow names are unique in a pipeline; rename one "
                "(name=...).",
                tables=(decl.name,),
            )
        taken = {out: d for d in self._declarations.values() for out in d.spec.outputs()}
        for output in spec.outputs():
            if output in taken:
                raise GraphError(
                    f"table '{output}' is defined twice: by {taken[output].describe()} and by "
                    f"{decl.describe()}. Rename one of them.",
                    tables=(output,),
                )
        self._declarations[decl.key] = decl
        if self._backend is not None:
            self._backend.declare(decl)
        return decl

    @property
    def declarations(self) -> tuple[Declaration, ...]:
        """Declarations in the order they were made."""
        return tuple(self._declarations.values())

    def __getitem__(self, name: str) -> Declaration:
        return self._declarations[name]

    def flow(self, name: str) -> Declaration:
        """The declaration of flow ``name`` (``pipeline["t"]`` gives table ``t``)."""
        return self._declarations[f"flow:{name}"]

    def __contains__(self, name: object) -> bool:
        return name in self._declarations

    def __len__(self) -> int:
        return len(self._declarations)

    def graph(self) -> Graph:
        """The validated dependency graph (raises :class:`GraphError` when invalid)."""
        return build_graph(self.declarations)

    def validate(self) -> Graph:
        """Check every definition and the graph without touching Spark; return the graph."""
        return self.graph()

    def check_table_names(self, names: Iterable[str], what: str = "full refresh") -> set[str]:
        """Return ``names`` as a set after checking each names a declared table.

        A single string is one name or several separated by commas (``"a,b"``), as the
        ``--full-refresh`` option takes them; never its characters.
        """
        known = {out for d in self.declarations for out in d.spec.outputs()}
        chosen = set(split_table_names(names) if isinstance(names, str) else names)
        unknown = sorted(chosen - known)
        if unknown:
            import difflib

            hint = difflib.get_close_matches(unknown[0], sorted(known), n=1)
            raise GraphError(
                f"{what}: table '{unknown[0]}' is not in pipeline '{self.name}'"
                + (f"; did you mean '{hint[0]}'?" if hint else "")
                + f" Known tables: {', '.join(sorted(known))}.",
                tables=unknown,
            )
        return chosen

    # -- activation ------------------------------------------------------------------------------
    def __enter__(self) -> Pipeline:
        backend = runtime_backend(self)
        if backend is not None:
            self.attach(backend)
        self._tokens.append(activate(self))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        deactivate(self._tokens.pop())

    # -- execution -------------------------------------------------------------------------------
    def run(
        self,
        *,
        warehouse: str | os.PathLike[str] | None = None,
        full_refresh: bool | Iterable[str] = False,
        spark: SparkSession | None = None,
        raise_on_failure: bool = True,
        **options: Any,
    ) -> RunResult:
        """Run the pipeline on the local runner (Spark + Delta) and return what it did.

        Args:
            warehouse: Folder holding the tables (default ``$MEDALLION_WAREHOUSE`` or
                ``./medallion-warehouse``).
            full_refresh: True to reset every table, or the names of the tables to reset.
            spark: Session to use; default: a Delta-enabled local session.
            raise_on_failure: Raise when a table failed (else inspect ``result.failed``).
            **options: Further :class:`medallion.backends.local.LocalRunner` settings.
        """
        # The local runner names this module only for type checking: no import cycle.
        from medallion.backends.local import LocalRunner

        runner = LocalRunner(warehouse=warehouse, spark=spark, **options)
        return runner.run(self, full_refresh=full_refresh, raise_on_failure=raise_on_failure)

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r}, tables={list(self._declarations)})"


#: The implicit pipeline of the current runtime context (see :func:`implicit_pipeline`).
_implicit: dict[tuple[str, int], Pipeline] = {}


def implicit_pipeline() -> Pipeline | None:
    """The pipeline used when none is active: only inside a pipeline runtime.

    A Databricks notebook or a file loaded by ``spark-pipelines`` declares tables at its top
    level; each runtime (each active ``spark-pipelines`` registry) gets its own pipeline, with
    the runtime's backend attached. Elsewhere this returns None so callers raise a helpful
    error.
    """
    backend = selected_backend()
    if backend not in RUNTIMES:
        return None
    key = (backend, id(active_oss_registry()) if backend == "spark-pipelines" else 0)
    pipeline = _implicit.get(key)
    if pipeline is None:
        pipeline = Pipeline(backend)
        attached = runtime_backend(pipeline)
        if attached is not None:
            pipeline.attach(attached)
        _implicit.clear()  # a new runtime context: the previous one is over
        _implicit[key] = pipeline
    return pipeline


def current_pipeline() -> Pipeline:
    """The active pipeline; inside a Databricks pipeline, the implicit one that registers there.

    Raises:
        NoActivePipelineError: when called outside any pipeline.
    """
    pipeline = active_pipeline()
    if pipeline is not None:
        return pipeline
    implicit = implicit_pipeline()
    if implicit is not None:
        return implicit
    raise NoActivePipelineError(
        "no active pipeline: tables are declared into a pipeline. Wrap the declarations in "
        "'with medallion.Pipeline(\"my_pipeline\"):' (then call .run()), or run the file with "
        "'medallion run my_pipeline.py', which provides the pipeline. Inside a Databricks "
        "pipeline this is automatic."
    )


def split_table_names(text: str) -> list[str]:
    """``"a, b,c"`` -> ``["a", "b", "c"]``: table names as a comma-separated option gives them.

    >>> split_table_names("silver_orders, gold_daily_sales")
    ['silver_orders', 'gold_daily_sales']
    """
    return [name.strip() for name in text.split(",") if name.strip()]


__all__ = [
    "DEFAULT_SCHEMA", "Declaration", "Pipeline", "SourceLocation", "active_pipeline",
    "caller_location", "config", "current_pipeline", "implicit_pipeline", "split_table_names",
]
