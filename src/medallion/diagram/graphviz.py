"""Pictures of a pipeline: Graphviz DOT text, drawn as SVG or PNG by Graphviz's ``dot``.

The HTML page is self-contained: the SVG inline, the tables and their rules listed, the Mermaid
text.

Graphviz is a system program, not a Python package: ``apt-get install graphviz``,
``brew install graphviz`` or ``conda install graphviz``. Mermaid and DOT text need nothing.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from pathlib import Path

from medallion.diagram import Diagram, Edge, Node
from medallion.diagram.mermaid import to_mermaid
from medallion.errors import MedallionError, MissingDependencyError

#: Fill colours of the layer clusters.
_LAYER_FILL = {"bronze": "#f6e7d8", "silver": "#eceff3", "gold": "#fbf1cc", "custom": "#e8f3ea",
               "external": "#ffffff"}
_EDGE_STYLE = {
    "reads": 'color="#555555"',
    "join": 'color="#2c6fbb", label="join", fontcolor="#2c6fbb"',
    "cdc": 'color="#7d3c98", penwidth=2, label="auto CDC", fontcolor="#7d3c98"',
    "quarantine": 'color="#c0392b", style=dashed, label="quarantine", fontcolor="#c0392b"',
    "writes": 'color="#555555", style=dashed',
}
_ACTION_COLOUR = {"warn": "#b7950b", "drop": "#c0392b", "fail": "#7b241c"}

#: Output formats by file ending.
PICTURE_SUFFIXES = (".svg", ".png", ".html")
TEXT_SUFFIXES = (".mmd", ".md", ".dot", ".gv")


class GraphvizMissingError(MissingDependencyError):
    """Graphviz's ``dot`` program is needed to draw an SVG, PNG or HTML picture."""

    def __init__(self, output: str) -> None:
        self.package = "graphviz"
        MedallionError.__init__(
            self,
            f"drawing {output} needs Graphviz's 'dot' program, which is not on PATH. Install "
            "it (apt-get install graphviz, brew install graphviz or conda install graphviz), "
            "or write Mermaid text instead: --output graph.mmd",
        )


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _node(node: Node) -> str:
    rows = [f'<b>{html.escape(node.name)}</b>',
            f'<font point-size="9" color="#555555">{html.escape(node.detail)}</font>']
    if node.change_data_feed:
        rows.append('<font point-size="9" color="#555555">change data feed</font>')
    for rule in node.rules:
        colour = _ACTION_COLOUR.get(rule.action, "#333333")
        rows.append(f'<font point-size="9" color="{colour}">{html.escape(rule.action)}: '
                    f'{html.escape(rule.name)}</font>')
    label = "<" + '<br align="left"/>'.join(rows) + '<br align="left"/>>'
    style = {
        "table": 'style="rounded,filled", fillcolor="#ffffff"',
        "quarantine": 'style="rounded,filled,dashed", fillcolor="#fdecea", color="#c0392b"',
        "output": 'style="rounded,filled,dashed", fillcolor="#ffffff"',
        "external": 'style="rounded,dashed", color="#888888"',
    }[node.role]
    return f"    {_quote(node.name)} [label={label}, {style}];"


def _edge(edge: Edge) -> str:
    return f"  {_quote(edge.source)} -> {_quote(edge.target)} [{_EDGE_STYLE[edge.kind]}];"


def to_dot(diagram: Diagram) -> str:
    """The diagram as Graphviz DOT: a cluster per layer, left to right."""
    lines = [
        f"digraph {_quote(diagram.pipeline)} {{",
        "  rankdir=LR; nodesep=0.3; ranksep=0.6;",
        '  graph [fontname="Helvetica", fontsize=12];',
        '  node [shape=box, fontname="Helvetica", fontsize=11, margin="0.15,0.06"];',
        '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];',
    ]
    for layer, nodes in diagram.layers:
        lines += [
            f"  subgraph {_quote('cluster_' + layer)} {{",
            f"    label={_quote(layer.capitalize())}; labeljust=l; style=\"rounded,filled\"; "
            f"color=\"#cccccc\"; fillcolor={_quote(_LAYER_FILL.get(layer, '#f7f7f7'))};",
            *(_node(node) for node in nodes),
            "  }",
        ]
    lines += [_edge(edge) for edge in diagram.edges]
    lines.append("}")
    return "\n".join(lines)


def run_dot(dot_text: str, fmt: str, output: str = "the picture") -> bytes:
    """Render DOT text with Graphviz (``fmt``: ``svg`` or ``png``).

    Raises:
        GraphvizMissingError: ``dot`` is not installed.
        MedallionError: Graphviz failed (its message is included).
    """
    program = shutil.which("dot")
    if program is None:
        raise GraphvizMissingError(output)
    done = subprocess.run([program, f"-T{fmt}"], input=dot_text.encode(), capture_output=True,
                          timeout=120, check=False)
    if done.returncode != 0:
        raise MedallionError(
            f"Graphviz could not draw {output}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def to_html(diagram: Diagram, svg: str) -> str:
    """A self-contained page: the SVG picture, each table with its rules, the Mermaid text."""
    start = svg.find("<svg")
    inline = svg[start:] if start >= 0 else svg
    rows = []
    reads: dict[str, list[str]] = {}
    for edge in diagram.edges:
        if edge.kind not in ("quarantine", "writes"):
            reads.setdefault(edge.target, []).append(edge.source)
    for node in diagram.nodes:
        if node.role == "external":
            continue
        rules = "".join(
            f"<li><span class=\"{html.escape(r.action)}\">{html.escape(r.action)}</span> "
            f"<b>{html.escape(r.name)}</b>: <code>{html.escape(r.condition)}</code></li>"
            for r in node.rules)
        rows.append(
            f"<tr><td><b>{html.escape(node.name)}</b></td><td>{html.escape(node.layer)}</td>"
            f"<td>{html.escape(node.detail)}</td>"
            f"<td>{html.escape(', '.join(reads.get(node.name, [])))}</td>"
            f"<td>{'<ul>' + rules + '</ul>' if rules else ''}</td></tr>")
    title = html.escape(f"pipeline {diagram.pipeline}")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 2em; color: #222; }}
.picture svg {{ max-width: 100%; height: auto; }}
table {{ border-collapse: collapse; margin-top: 1em; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .4em .8em; text-align: left;
          vertical-align: top; }}
ul {{ margin: 0; padding-left: 1em; }}
.warn {{ color: #b7950b; }} .drop {{ color: #c0392b; }} .fail {{ color: #7b241c; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
</style>
</head>
<body>
<h1>{title}</h1>
<div class="picture">
{inline}
</div>
<h2>Tables</h2>
<table>
<tr><th>table</th><th>layer</th><th>kind</th><th>reads</th><th>rules</th></tr>
{chr(10).join(rows)}
</table>
<details><summary>Mermaid source</summary>
<pre>{html.escape(to_mermaid(diagram))}</pre>
</details>
</body>
</html>
"""


def write_picture(diagram: Diagram, output: str | Path) -> Path:
    """Write the diagram to ``output``, in the format its ending names.

    ``.svg`` / ``.png`` / ``.html`` are drawn by Graphviz; ``.mmd`` / ``.md`` get Mermaid text
    (``.md`` inside a fenced block); ``.dot`` / ``.gv`` get DOT text.

    Raises:
        MedallionError: an unknown ending, or Graphviz missing or failing.
    """
    path = Path(output)
    suffix = path.suffix.lower()
    if suffix not in PICTURE_SUFFIXES + TEXT_SUFFIXES:
        raise MedallionError(
            f"--output {output}: cannot tell the format from '{suffix or path.name}'; use one "
            f"of: {', '.join(PICTURE_SUFFIXES + TEXT_SUFFIXES)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".mmd":
        path.write_text(to_mermaid(diagram) + "\n", encoding="utf-8")
    elif suffix == ".md":
        path.write_text(f"```mermaid\n{to_mermaid(diagram)}\n```\n", encoding="utf-8")
    elif suffix in (".dot", ".gv"):
        path.write_text(to_dot(diagram) + "\n", encoding="utf-8")
    elif suffix == ".png":
        path.write_bytes(run_dot(to_dot(diagram), "png", str(output)))
    else:
        svg = run_dot(to_dot(diagram), "svg", str(output)).decode()
        path.write_text(svg if suffix == ".svg" else to_html(diagram, svg), encoding="utf-8")
    return path
