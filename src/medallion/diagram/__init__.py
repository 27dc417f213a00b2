"""A picture of a pipeline: its tables grouped by layer, what reads what, and the rules.

:func:`diagram_of` turns a pipeline's validated graph into plain nodes and edges; the
:mod:`~medallion.diagram.mermaid` and :mod:`~medallion.diagram.graphviz` modules draw them. The
view is generic: it only uses each spec's ``inputs()``, ``outputs()``, ``layer`` and ``kind``
plus optional fields when a spec has them (``rules``, ``quarantine``, ``incremental``,
``joins``), so every spec kind is drawn without changes here.

Example:
    >>> import medallion
    >>> with medallion.Pipeline("orders") as p:
    ...     _ = medallion.bronze_autoloader(name="bronze_orders", path="/data/orders")
    ...     _ = medallion.silver_with_rules(name="silver_orders", source="bronze_orders")
    >>> [(e.source, e.target, e.kind) for e in diagram_of(p).edges]
    [('bronze_orders', 'silver_orders', 'reads')]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from medallion.graph import is_external

if TYPE_CHECKING:
    from medallion.pipeline import Declaration, Pipeline

EdgeKind = Literal["reads", "join", "cdc", "quarantine", "writes"]
NodeRole = Literal["table", "quarantine", "output", "external"]

#: Layers in the order they are drawn; other layers follow in order of appearance.
LAYER_ORDER = ("bronze", "silver", "gold", "custom")


@dataclass(frozen=True)
class RuleView:
    """One rule as drawn: name, action and condition."""

    name: str
    action: str
    condition: str


@dataclass(frozen=True)
class Node:
    """One table in the picture.

    Attributes:
        name: The table name (``schema.table`` for a table outside the pipeline).
        layer: The layer it is grouped in (``external`` for tables outside the pipeline).
        role: ``table`` (defined by its own spec), ``quarantine`` or ``output`` (another
            output of a spec), ``external``.
        detail: What kind of dataset it is: ``streaming table``, ``materialized view``...
        rules: The spec's rules (empty for other roles).
        change_data_feed: Whether the table records a change data feed.
    """

    name: str
    layer: str
    role: NodeRole
    detail: str
    rules: tuple[RuleView, ...] = ()
    change_data_feed: bool = False


@dataclass(frozen=True)
class Edge:
    """Data flowing from ``source`` to ``target``.

    ``kind`` is ``reads`` (the main input), ``join`` (an enrichment join), ``cdc`` (changes
    applied by an Auto CDC flow), ``quarantine`` (rows failing drop rules) or ``writes``
    (another output of the same spec).
    """

    source: str
    target: str
    kind: EdgeKind


@dataclass(frozen=True)
class Diagram:
    """Nodes grouped by layer, and edges, in a stable order."""

    pipeline: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    @property
    def layers(self) -> list[tuple[str, list[Node]]]:
        """(layer, nodes) in drawing order."""
        seen: dict[str, list[Node]] = {}
        for node in self.nodes:
            seen.setdefault(node.layer, []).append(node)
        rank = {layer: i for i, layer in enumerate(LAYER_ORDER)}
        ordered = sorted(seen, key=lambda layer: (
            0 if layer == "external" else 1, rank.get(layer, len(rank)),
            list(seen).index(layer)))
        return [(layer, seen[layer]) for layer in ordered]


def diagram_of(pipeline: Pipeline) -> Diagram:
    """The picture of ``pipeline`` (its graph is validated first).

    Raises:
        GraphError: the pipeline's graph is invalid.
    """
    graph = pipeline.graph()
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
    streaming: dict[str, bool] = {}

    def is_streaming(decl: Declaration) -> bool:
        if decl.name not in streaming:
            flag = getattr(decl.spec, "incremental", None)
            if flag is None and "incremental" in type(decl.spec).model_fields:
                first = next(iter(decl.spec.inputs()), None)
                flag = (first is not None and not is_external(first)
                        and is_streaming(graph.producers[first]))
            streaming[decl.name] = bool(flag)
        return streaming[decl.name]

    for decl in graph.order:
        spec: Any = decl.spec
        target = getattr(spec, "target", None)
        if isinstance(target, str):  # a flow: an edge into the streaming table it writes
            cdc = "cdc" in str(getattr(spec, "kind", "")).lower()
            for name in spec.inputs():
                if is_external(name) and name not in nodes:
                    nodes[name] = Node(name, "external", "external", "outside the pipeline")
                edges.append(Edge(name, target, "cdc" if cdc else "reads"))
            continue
        joins = {j.table for j in getattr(spec, "joins", ()) or ()}
        cdc = "cdc" in str(getattr(spec, "kind", "")).lower()
        for name in spec.inputs():
            if is_external(name) and name not in nodes:
                nodes[name] = Node(name, "external", "external", "outside the pipeline")
            kind: EdgeKind = "join" if name in joins else "cdc" if cdc else "reads"
            edges.append(Edge(name, spec.name, kind))
        rules = tuple(RuleView(r.name, r.action, r.condition)
                      for r in getattr(spec, "rules", ()) or ())
        nodes[spec.name] = Node(spec.name, spec.layer, "table", _detail(spec, is_streaming(decl)),
                                rules, bool(getattr(spec, "cdf_enabled", False)))
        for output in spec.outputs():
            if output == spec.name:
                continue
            quarantine = output == getattr(spec, "quarantine", None)
            nodes[output] = Node(output, spec.layer, "quarantine" if quarantine else "output",
                                 "rows failing drop rules" if quarantine else "output")
            edges.append(Edge(spec.name, output, "quarantine" if quarantine else "writes"))
    return Diagram(pipeline.name, tuple(nodes.values()), tuple(edges))


def _detail(spec: Any, streams: bool) -> str:
    what = "streaming table" if streams else "materialized view"
    if spec.layer == "bronze" and getattr(spec, "format", None):
        what += f", {spec.format} files"
    return what
