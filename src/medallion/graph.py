"""The dependency graph of a pipeline: who reads whom, and in which order tables run.

Built from the declarations alone, so a missing input, a duplicate name or a cycle is reported
before any Spark job runs.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from medallion.errors import GraphError

if TYPE_CHECKING:
    from medallion.pipeline import Declaration


def is_external(name: str) -> bool:
    """A qualified name (``schema.table``) refers to a table outside the pipeline."""
    return "." in name


@dataclass(frozen=True)
class Graph:
    """A validated pipeline graph.

    Nodes are declarations: tables, and the flows writing into streaming tables. A streaming
    table declared on its own runs after every flow writing it, so its readers see all writes.

    Attributes:
        order: Declarations in an order where each runs after everything it reads.
        producers: Output table name → the declaration that owns it.
        upstream: Declaration key → the pipeline tables it reads (external ones excluded); for
            a streaming table written by flows, the tables its flows read.
        writers: Streaming table name → the flows writing into it.
    """

    order: tuple[Declaration, ...]
    producers: dict[str, Declaration]
    upstream: dict[str, tuple[str, ...]]
    writers: dict[str, tuple[Declaration, ...]] = field(default_factory=dict)

    def requires(self, decl: Declaration) -> tuple[str, ...]:
        """Keys of the declarations that must have run (successfully) before ``decl``."""
        return _requires(decl, self.producers, self.upstream, self.writers)

    def downstream_of(self, names: Iterable[str]) -> set[str]:
        """Declaration keys that depend (directly or not) on any of the keys ``names``."""
        todo = list(names)
        seen: set[str] = set()
        while todo:
            current = todo.pop()
            for decl in self.order:
                if decl.key in seen:
                    continue
                if current in self.requires(decl):
                    seen.add(decl.key)
                    todo.append(decl.key)
        return seen

    def producer_name(self, table: str) -> str:
        """Key of the declaration owning ``table`` (a quarantine table maps to its silver)."""
        return self.producers[table].key


def _requires(
    decl: Declaration,
    producers: dict[str, Declaration],
    upstream: dict[str, tuple[str, ...]],
    writers: dict[str, tuple[Declaration, ...]],
) -> tuple[str, ...]:
    flows = [f.key for out in decl.spec.outputs() for f in writers.get(out, ())]
    if flows:  # a streaming table waits for its flows; what they read is their business
        return tuple(dict.fromkeys(flows))
    keys = [producers[t].key for t in upstream[decl.key]]
    return tuple(k for k in dict.fromkeys(keys) if k != decl.key)


def build_graph(declarations: Sequence[Declaration]) -> Graph:
    """Check the declarations form a valid graph and order them; raise GraphError if not."""
    producers: dict[str, Declaration] = {}
    keys: dict[str, Declaration] = {}
    for decl in declarations:
        if decl.key in keys and decl.key != decl.name:
            raise GraphError(
                f"flow '{decl.name}' is defined twice: by {keys[decl.key].describe()} and by "
                f"{decl.describe()}. Rename one of them.",
                tables=(decl.name,),
            )
        keys[decl.key] = decl
        for output in decl.spec.outputs():
            if output in producers:
                first = producers[output]
                raise GraphError(
                    f"table '{output}' is defined twice: by {first.describe()} and by "
                    f"{decl.describe()}. Rename one of them.",
                    tables=(output,),
                )
            producers[output] = decl

    writers = _writers(declarations, producers)

    upstream: dict[str, tuple[str, ...]] = {}
    for decl in declarations:
        reads: list[str] = []
        for name in decl.spec.inputs():
            if is_external(name):
                continue
            if name not in producers:
                raise GraphError(_missing_message(decl, name, producers), tables=(decl.spec.name,
                                                                                   name))
            if not producers[name].spec.readable:
                raise GraphError(
                    f"{decl.describe()} reads '{name}', which is a sink: as on Databricks, a "
                    "sink is written by append flows and read outside the pipeline only",
                    tables=(decl.spec.name, name))
            reads.append(name)
        upstream[decl.key] = tuple(dict.fromkeys(reads))
    for table, flows in writers.items():
        key = producers[table].key
        upstream[key] = tuple(dict.fromkeys(
            [*upstream[key], *(t for f in flows for t in upstream[f.key])]))

    order = _topological(declarations, producers, upstream, writers)
    return Graph(order=order, producers=producers, upstream=upstream, writers=writers)


def _writers(
    declarations: Sequence[Declaration], producers: dict[str, Declaration]
) -> dict[str, tuple[Declaration, ...]]:
    """Streaming table → the flows writing it, after checking every flow has a valid target."""
    from medallion.specs.flows import StreamingTableSpec

    writers: dict[str, list[Declaration]] = {}
    for decl in declarations:
        spec = decl.spec
        if not spec.is_flow:
            continue
        target = spec.writes()
        owner = producers.get(target)
        if owner is None:
            text = (f"{decl.describe()} writes '{target}', which this pipeline does not define."
                    f" Declare it with medallion.create_streaming_table('{target}')")
            close = difflib.get_close_matches(target, list(producers), n=1)
            text += f", or did you mean '{close[0]}'?" if close else "."
            raise GraphError(text, tables=(decl.name, target))
        if not owner.spec.written_by_flows:
            raise GraphError(
                f"{decl.describe()} writes '{target}', but {owner.describe()} is computed by its "
                "own definition. Flows write only into tables declared with "
                f"medallion.create_streaming_table('{target}').",
                tables=(decl.name, target),
            )
        refusal = owner.spec.refuses_writer(spec)
        if refusal is not None:
            raise GraphError(f"{decl.describe()} writes the {owner.spec.layer} '{target}': "
                             f"{refusal}", tables=(decl.name, target))
        writers.setdefault(target, []).append(decl)

    for decl in declarations:
        if not decl.spec.written_by_flows:
            continue
        spec = cast(StreamingTableSpec, decl.spec)
        flows = writers.get(spec.name, [])
        if not flows:
            raise GraphError(
                f"{decl.describe()} has no flow writing into it. Add one: "
                f"@medallion.append_flow(target='{spec.name}') on a query function, or "
                f"medallion.create_auto_cdc_flow(target='{spec.name}', ...).",
                tables=(spec.name,),
            )
        cdc = [f for f in flows if f.spec.applies_changes]
        if cdc and len(flows) > 1:
            other = next(f for f in flows if f is not cdc[0])
            raise GraphError(
                f"{cdc[0].describe()} must be the only flow writing '{spec.name}': AUTO CDC "
                f"maintains the table's rows by key, but {other.describe()} writes it too. "
                "Write the other flow's rows into the CDC source instead.",
                tables=(spec.name, cdc[0].name, other.name),
            )
        if cdc and spec.rules:
            raise GraphError(
                f"{decl.describe()} has expectations, but {cdc[0].describe()} writes it: "
                "expectations do not apply to AUTO CDC targets. Declare the rules on the "
                "source table of the flow instead.",
                tables=(spec.name, cdc[0].name),
            )
    return {t: tuple(f) for t, f in writers.items()}


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
    writers: dict[str, tuple[Declaration, ...]],
) -> tuple[Declaration, ...]:
    by_key = {d.key: d for d in declarations}
    deps = {d.key: set(_requires(d, producers, upstream, writers)) for d in declarations}
    done: list[Declaration] = []
    placed: set[str] = set()
    remaining = [d.key for d in declarations]
    while remaining:
        ready = [n for n in remaining if deps[n] <= placed]
        if not ready:
            cycle = _find_cycle(remaining, deps)
            shown = [f"flow '{k[5:]}'" if k.startswith("flow:") else k for k in cycle]
            raise GraphError(
                "the pipeline has a cycle: " + " -> ".join(shown) + ". A table cannot depend "
                "on itself, directly or through other tables; break the loop.",
                tables=[k[5:] if k.startswith("flow:") else k for k in cycle],
            )
        for n in ready:
            done.append(by_key[n])
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
