"""The dependency graph of a pipeline: who reads whom, and in which order tables run.

Built from the declarations alone, so a missing input, a duplicate name or a cycle is reported
before any Spark job runs.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from medallion.errors import GraphError

if TYPE_CHECKING:
    from medallion.pipeline import Declaration


def is_external(name: str) -> bool:
    """A qualified name (``schema.table``) refers to a table outside the pipeline."""
    return "." in name


@dataclass(frozen=True)
class Graph:
    """A validated pipeline graph.

    Attributes:
        order: Declarations in an order where each runs after everything it reads.
        producers: Output table name → the declaration that writes it.
        upstream: Declaration name → the pipeline tables it reads (external ones excluded).
    """

    order: tuple[Declaration, ...]
    producers: dict[str, Declaration]
    upstream: dict[str, tuple[str, ...]]

    def downstream_of(self, names: Iterable[str]) -> set[str]:
        """Declaration names that read (directly or not) any of ``names``."""
        todo = list(names)
        seen: set[str] = set()
        while todo:
            current = todo.pop()
            for decl in self.order:
                name = decl.spec.name
                if name in seen:
                    continue
                reads = {self.producers[i].spec.name for i in self.upstream[name]}
                if current in reads:
                    seen.add(name)
                    todo.append(name)
        return seen

    def producer_name(self, table: str) -> str:
        """Name of the declaration writing ``table`` (a quarantine table maps to its silver)."""
        return self.producers[table].spec.name


def build_graph(declarations: Sequence[Declaration]) -> Graph:
    """Check the declarations form a valid graph and order them; raise GraphError if not."""
    producers: dict[str, Declaration] = {}
    for decl in declarations:
        for output in decl.spec.outputs():
            if output in producers:
                first = producers[output]
                raise GraphError(
                    f"table '{output}' is defined twice: by {first.describe()} and by "
                    f"{decl.describe()}. Rename one of them.",
                    tables=(output,),
                )
            producers[output] = decl

    upstream: dict[str, tuple[str, ...]] = {}
    for decl in declarations:
        reads: list[str] = []
        for name in decl.spec.inputs():
            if is_external(name):
                continue
            if name not in producers:
                raise GraphError(_missing_message(decl, name, producers), tables=(decl.spec.name,
                                                                                   name))
            reads.append(name)
        upstream[decl.spec.name] = tuple(dict.fromkeys(reads))

    order = _topological(declarations, producers, upstream)
    return Graph(order=order, producers=producers, upstream=upstream)


def _missing_message(decl: Declaration, name: str, producers: dict[str, Declaration]) -> str:
    text = (
        f"{decl.describe()} reads '{name}', which this pipeline does not define."
    )
    close = difflib.get_close_matches(name, list(producers), n=1)
    if close:
        text += f" Did you mean '{close[0]}'?"
    text += (
        " Declare that table in the pipeline, or write 'schema.table' to read a table outside it."
    )
    return text


def _topological(
    declarations: Sequence[Declaration],
    producers: dict[str, Declaration],
    upstream: dict[str, tuple[str, ...]],
) -> tuple[Declaration, ...]:
    by_name = {d.spec.name: d for d in declarations}
    deps = {
        name: {producers[i].spec.name for i in reads} for name, reads in upstream.items()
    }
    done: list[Declaration] = []
    placed: set[str] = set()
    remaining = [d.spec.name for d in declarations]
    while remaining:
        ready = [n for n in remaining if deps[n] <= placed]
        if not ready:
            cycle = _find_cycle(remaining, deps)
            raise GraphError(
                "the pipeline has a cycle: " + " -> ".join(cycle) + ". A table cannot depend "
                "on itself, directly or through other tables; break the loop.",
                tables=cycle,
            )
        for n in ready:
            done.append(by_name[n])
            placed.add(n)
        remaining = [n for n in remaining if n not in placed]
    return tuple(done)


def _find_cycle(names: list[str], deps: dict[str, set[str]]) -> list[str]:
    pending = set(names)
    for start in names:
        path = [start]
        index = {start: 0}
        current = start
        while True:
            nxt = next((d for d in sorted(deps[current]) if d in pending), None)
            if nxt is None:
                break
            if nxt in index:
                return [*path[index[nxt]:], nxt]
            index[nxt] = len(path)
            path.append(nxt)
            current = nxt
    return names  # pragma: no cover - a stuck Kahn pass always contains a cycle
