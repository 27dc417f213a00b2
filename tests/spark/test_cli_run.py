"""`medallion run` on a YAML pipeline, in-process on the test session: the plain progress
lines CI logs get, the summary, and the exit status when a fail rule stops a table."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from medallion.cli import main
from tests.spark.conftest import write_json_lines

pytestmark = pytest.mark.spark

PIPELINE = """
    name: progress_demo
    configuration: {raw: RAW, limit: "100"}
    tables:
      - {kind: bronze, name: bronze_orders, path: "${raw}/orders", infer_column_types: true}
      - {kind: bronze, name: bronze_other, path: "${raw}/other", infer_column_types: true}
      - kind: silver
        name: silver_orders
        source: bronze_orders
        rules:
          - {name: small, condition: "amount < ${limit}", action: fail}
      - kind: gold
        name: gold_totals
        source: silver_orders
        aggregations: [{func: sum, column: amount, alias: total}]
"""


def test_plain_progress_and_exit_status(tmp_path: Path, medallion_spark: Any,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "raw"
    write_json_lines(raw / "orders", "a.json", [{"id": 1, "amount": 5}, {"id": 2, "amount": 50}])
    write_json_lines(raw / "other", "a.json", [{"id": 1}])
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(textwrap.dedent(PIPELINE))
    warehouse = tmp_path / "warehouse"
    args = ["run", str(pipeline), "--warehouse", str(warehouse), "--conf", f"raw={raw}"]

    # limit=10 makes the second order violate the fail rule
    assert main([*args, "--conf", "limit=10"]) == 1
    out = capsys.readouterr().out
    events = [re.sub(r"seconds=\d+\.\d", "seconds=S", line) for line in out.splitlines()
              if line.startswith("[medallion]")]
    assert events == [
        "[medallion] started pipeline=progress_demo tables=4",
        "[medallion] running bronze_orders",
        "[medallion] done bronze_orders rows_in=2 written=2 dropped=0 quarantined=0 seconds=S",
        "[medallion] running bronze_other",
        "[medallion] done bronze_other rows_in=1 written=1 dropped=0 quarantined=0 seconds=S",
        "[medallion] running silver_orders",
        "[medallion] failed silver_orders seconds=S",
        "[medallion] skipped gold_totals after=silver_orders",
        "[medallion] finished pipeline=progress_demo status=failed seconds=S",
    ]
    summary = out.splitlines()[len(events):]
    assert summary[0].split() == ["table", "status", "rows", "in", "written", "dropped",
                                  "quarantined", "seconds"]
    assert [line.split()[:2] for line in summary[1:5]] == [
        ["bronze_orders", "ok"], ["bronze_other", "ok"], ["silver_orders", "FAILED"],
        ["gold_totals", "skipped"]]
    assert summary[5].startswith(
        "  silver_orders: [EXPECTATION_VIOLATION] Table 'silver_orders' failed to meet the "
        "expectation. Violated expectations: 'small'.")
    assert summary[-1].startswith("pipeline 'progress_demo' FAILED (1 table(s) failed)")

    # the default limit from the file lets every row through; bronze has nothing new
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "[medallion] up_to_date bronze_orders rows_in=0 written=0 dropped=0 quarantined=0" in out
    assert "[medallion] done silver_orders rows_in=2 written=2 dropped=0 quarantined=0" in out
    assert "[medallion] done gold_totals rows_in=2 written=1 dropped=0 quarantined=0" in out
    assert "status=succeeded" in out
