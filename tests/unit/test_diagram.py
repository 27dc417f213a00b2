"""The pipeline graph: Mermaid text, DOT, and pictures drawn by Graphviz."""

from __future__ import annotations

import os
import re
import shutil
import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import ClassVar, Literal

import pytest

import medallion
from medallion.cli import main
from medallion.diagram import Edge, diagram_of
from medallion.diagram.graphviz import GraphvizMissingError, to_dot, write_picture
from medallion.diagram.mermaid import escape, to_mermaid
from medallion.errors import MedallionError
from medallion.loader import load_pipeline
from medallion.specs.base import TableSpec

ROOT = Path(__file__).resolve().parents[2]
ORDERS_YAML = ROOT / "examples/orders/pipeline.yaml"
TABLES = ["bronze_orders", "bronze_customers", "silver_orders", "quarantine_orders",
          "silver_customers", "silver_orders_enriched", "gold_daily_sales", "gold_customer_ltv"]

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"),
    reason="Graphviz's dot is not installed (scripts/setup installs it where it can)",
)


def orders() -> medallion.Pipeline:
    return load_pipeline(ORDERS_YAML)


def test_reference_pipeline_edges_and_nodes() -> None:
    diagram = diagram_of(orders())
    assert [n.name for n in diagram.nodes] == TABLES
    assert [(layer, [n.name for n in nodes]) for layer, nodes in diagram.layers] == [
        ("bronze", ["bronze_orders", "bronze_customers"]),
        ("silver", ["silver_orders", "quarantine_orders", "silver_customers",
                    "silver_orders_enriched"]),
        ("gold", ["gold_daily_sales", "gold_customer_ltv"]),
    ]
    assert diagram.edges == (
        Edge("bronze_orders", "silver_orders", "reads"),
        Edge("silver_orders", "quarantine_orders", "quarantine"),
        Edge("bronze_customers", "silver_customers", "reads"),
        Edge("silver_orders", "silver_orders_enriched", "reads"),
        Edge("silver_customers", "silver_orders_enriched", "join"),
        Edge("silver_orders_enriched", "gold_daily_sales", "reads"),
        Edge("silver_orders_enriched", "gold_customer_ltv", "reads"),
    )
    nodes = {n.name: n for n in diagram.nodes}
    assert [(r.name, r.action) for r in nodes["silver_orders"].rules] == [
        ("valid_order_id", "drop"), ("valid_amount", "drop"), ("valid_status", "fail"),
        ("valid_customer", "warn")]
    assert nodes["silver_orders"].detail == "streaming table"  # follows its streaming source
    assert nodes["silver_customers"].detail == "materialized view"  # source is a snapshot
    assert nodes["bronze_orders"].detail == "streaming table, json files"
    assert nodes["quarantine_orders"].role == "quarantine"
    assert nodes["silver_orders"].change_data_feed


def readme_mermaid() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- graph: examples/orders/pipeline.yaml -->\n```mermaid\n(.*?)\n```",
                      text, re.S)
    assert match, "README.md shows the reference pipeline's graph after a graph marker"
    return match.group(1)


def test_readme_shows_the_reference_graph_as_printed_by_the_cli(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["graph", str(ORDERS_YAML)]) == 0
    printed = capsys.readouterr().out.rstrip("\n")
    assert printed == to_mermaid(diagram_of(orders()))
    assert readme_mermaid() == printed


def test_mermaid_marks_quarantine_join_cdc_and_external_tables() -> None:
    class ApplyChanges(TableSpec):
        """Stands in for an Auto CDC kind another issue adds."""

        layer: ClassVar[str] = "silver"
        kind: Literal["auto_cdc"] = "auto_cdc"
        source: str

        def inputs(self) -> tuple[str, ...]:
            return (self.source,)

    with medallion.Pipeline("p") as pipeline:
        medallion.silver_with_rules(
            name="end", source="raw.events", quarantine=True,
            rules=[medallion.expect_or_drop("a \"quoted\" <rule>", "id > 0")])
        pipeline.declare(ApplyChanges(name="customers", source="end"))
    text = to_mermaid(diagram_of(pipeline))
    assert text.splitlines() == [
        "flowchart LR",
        '  subgraph layer_external["External"]',
        '    x_raw__events[("raw.events<br/><i>outside the pipeline</i>")]',
        "  end",
        '  subgraph layer_silver["Silver"]',
        '    t_end["end<br/><i>materialized view</i><br/>drop: a #quot;quoted#quot; #lt;rule#gt;"]',
        '    t_end_quarantine["end_quarantine<br/><i>rows failing drop rules</i>"]',
        '    t_customers["customers<br/><i>materialized view</i>"]',
        "  end",
        "  x_raw__events --> t_end",
        "  t_end -. quarantine .-> t_end_quarantine",
        "  t_end == auto CDC ==> t_customers",
        "  classDef quarantine fill:#fdecea,stroke:#c0392b,color:#7b241c",
        "  class t_end_quarantine quarantine",
        "  classDef external fill:#f4f4f4,stroke:#888,stroke-dasharray:4 3",
        "  class x_raw__events external",
    ]
    assert escape("#1") == "#35;1"


def test_dot_text_has_a_cluster_per_layer() -> None:
    dot = to_dot(diagram_of(orders()))
    assert dot.startswith('digraph "orders" {')
    assert list(re.findall(r'subgraph "cluster_(\w+)"', dot)) == ["bronze", "silver",
                                                                       "gold"]
    assert '"silver_orders" -> "quarantine_orders" [color="#c0392b", style=dashed, ' \
           'label="quarantine"' in dot


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(el.itertext()) for el in root.iter() if el.tag.endswith("}text")]


@needs_dot
def test_svg_png_and_html_pictures_contain_every_table(tmp_path: Path) -> None:
    diagram = diagram_of(orders())
    svg_path = write_picture(diagram, tmp_path / "graph.svg")
    svg = svg_path.read_text()
    texts = svg_texts(svg)
    for table in TABLES:
        assert table in texts
    assert "drop: valid_amount" in texts
    assert "quarantine" in texts
    assert "join" in texts
    root = ET.fromstring(svg)
    edges = [g for g in root.iter() if g.get("class") == "edge"]
    assert len(edges) == len(diagram.edges)

    png = write_picture(diagram, tmp_path / "graph.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width > 600
    assert height > 150

    page = write_picture(diagram, tmp_path / "out" / "graph.html").read_text()
    assert page.startswith("<!doctype html>")
    assert "<?xml" not in page
    assert page.count("<svg") == 1
    for table in TABLES:
        assert f"<td><b>{table}</b></td>" in page
    assert "<code>amount &gt; 0 AND amount &lt; 100000</code>" in page
    assert "<script" not in page  # self-contained and static: opens from disk


def test_text_outputs_and_bad_endings(tmp_path: Path) -> None:
    diagram = diagram_of(orders())
    assert write_picture(diagram, tmp_path / "g.mmd").read_text() == to_mermaid(diagram) + "\n"
    assert write_picture(diagram, tmp_path / "g.md").read_text() == (
        f"```mermaid\n{to_mermaid(diagram)}\n```\n")
    assert write_picture(diagram, tmp_path / "g.gv").read_text() == to_dot(diagram) + "\n"
    with pytest.raises(MedallionError, match=r"cannot tell the format from '.jpg'; use one of: "
                                             r".svg, .png, .html, .mmd, .md, .dot, .gv"):
        write_picture(diagram, tmp_path / "g.jpg")


def test_missing_graphviz_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(GraphvizMissingError, match="apt-get install graphviz"):
        write_picture(diagram_of(orders()), tmp_path / "g.svg")
    assert main(["graph", str(ORDERS_YAML), "--output", str(tmp_path / "g.png")]) == 2
    assert "needs Graphviz's 'dot' program" in capsys.readouterr().err
    assert not (tmp_path / "g.png").exists()


@needs_dot
def test_cli_writes_the_picture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "graph.svg"
    assert main(["graph", str(ORDERS_YAML), "--env", "prod", "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out} (8 tables, 7 edges)\n"
    assert "gold_customer_ltv" in svg_texts(out.read_text())

