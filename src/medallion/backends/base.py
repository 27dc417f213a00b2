"""The interface every backend implements: what it does with a pipeline's declarations.

A backend is the registry a pipeline fills (as in ``pyspark.pipelines``, where the runtime's
``GraphElementRegistry`` receives every dataset the API defines). Attach one to a pipeline with
:meth:`medallion.Pipeline.attach`; from then on each declaration reaches
:meth:`Backend.declare` as it is made, after the pipeline has checked its name is free.

- Registry backends (Databricks, ``spark-pipelines``: :class:`~medallion.backends.declarative.
  DeclarativeBackend`) translate each declaration into the runtime's datasets right away; the
  runtime executes them later.
- The local runner (:class:`~medallion.backends.local.LocalRunner`) executes a whole pipeline
  once it is declared (:meth:`~medallion.backends.local.LocalRunner.run`, in graph order). Its
  ``declare`` only checks that it has a flow for the declaration's spec kind, so an attached
  runner refuses an unknown kind where it is declared.

Each backend dispatches over the closed set of spec types (``medallion.specs.SPEC_TYPES``) with
one table from spec type to handler, and refuses a type missing from it by name
(:func:`handler_for`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from medallion.errors import BackendError

if TYPE_CHECKING:
    from medallion.pipeline import Declaration
    from medallion.specs.base import Definition

H = TypeVar("H")


@runtime_checkable
class Backend(Protocol):
    """What a pipeline hands each declaration to (see the module docstring).

    Example:
        >>> import medallion
        >>> class Names:
        ...     def __init__(self) -> None:
        ...         self.seen: list[str] = []
        ...     def declare(self, declaration: medallion.Declaration) -> None:
        ...         self.seen.append(declaration.key)
        >>> with medallion.Pipeline("p") as p:
        ...     names = p.attach(Names())
        ...     _ = medallion.bronze_autoloader(name="bronze_orders", path="/raw")
        >>> names.seen
        ['bronze_orders']
    """

    def declare(self, declaration: Declaration) -> None:
        """Receive one declaration as it is made: register it, or check it can run it.

        Raises:
            BackendError: when the backend cannot handle the declaration (naming it).
        """
        ...  # pragma: no cover - protocol


def handler_for(
    handlers: Mapping[type[Definition], H], declaration: Declaration, *, cannot: str,
    fix: str = "",
) -> H:
    """The handler of ``declaration``'s spec type in a backend's dispatch table.

    Raises:
        BackendError: ``<declaration>: <cannot> specs of type <T> (it knows <types>)<fix>``.
    """
    handler = handlers.get(type(declaration.spec))
    if handler is None:
        kinds = ", ".join(t.__name__ for t in handlers)
        raise BackendError(
            f"{declaration.describe()}: {cannot} specs of type "
            f"{type(declaration.spec).__name__} (it knows {kinds}){fix}"
        )
    return handler
