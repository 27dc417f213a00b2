"""A pipeline diagram as Mermaid text (GitHub, GitLab and MkDocs render it in Markdown).

Example:
    >>> import medallion
    >>> from medallion.diagram import diagram_of
    >>> with medallion.Pipeline("orders") as p:
    ...     _ = medallion.bronze_batch(name="customers", path="/data/customers")
    >>> print(to_mermaid(diagram_of(p)))
    flowchart LR
      subgraph layer_bronze["Bronze"]
        t_customers["customers<br/><i>materialized view, json files</i>"]
      end
"""

from __future__ import annotations

from medallion.diagram import Diagram, Edge, Node

_ARROWS = {
    "reads": "-->",
    "join": "-- join -->",
    "cdc": "== auto CDC ==>",
    "quarantine": "-. quarantine .->",
    "writes": "-.->",
}
_CLASSES = {
    "quarantine": "fill:#fdecea,stroke:#c0392b,color:#7b241c",
    "external": "fill:#f4f4f4,stroke:#888,stroke-dasharray:4 3",
}
_ACTION_MARK = {"warn": "warn", "drop": "drop", "fail": "fail"}


def node_id(name: str) -> str:
    """A Mermaid id for a table (prefixed, so a table called ``end`` cannot break the chart)."""
    return ("x_" if "." in name else "t_") + name.replace(".", "__")


def escape(text: str) -> str:
    """Text safe inside a quoted Mermaid label."""
    return (text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;")
            .replace(">", "#gt;"))


def _label(node: Node) -> str:
    parts = [escape(node.name), f"<i>{escape(node.detail)}</i>"]
    if node.change_data_feed:
        parts[1] = f"<i>{escape(node.detail)} · change data feed</i>"
    parts += [f"{_ACTION_MARK.get(r.action, r.action)}: {escape(r.name)}" for r in node.rules]
    return "<br/>".join(parts)


def _edge(edge: Edge) -> str:
    return f"  {node_id(edge.source)} {_ARROWS[edge.kind]} {node_id(edge.target)}"


def to_mermaid(diagram: Diagram) -> str:
    """The diagram as a Mermaid ``flowchart``: a subgraph per layer, labelled edges."""
    lines = ["flowchart LR"]
    for layer, nodes in diagram.layers:
        lines.append(f'  subgraph layer_{layer}["{escape(layer.capitalize())}"]')
        for node in nodes:
            shape = ("[(\"{}\")]" if node.role == "external" else "[\"{}\"]").format(_label(node))
            lines.append(f"    {node_id(node.name)}{shape}")
        lines.append("  end")
    lines += [_edge(edge) for edge in diagram.edges]
    for role, style in _CLASSES.items():
        members = [node_id(n.name) for n in diagram.nodes if n.role == role]
        if members:
            lines.append(f"  classDef {role} {style}")
            lines.append(f"  class {','.join(members)} {role}")
    return "\n".join(lines)
