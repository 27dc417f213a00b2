"""Local runner behaviour: custom tables with rules, full refresh, the catalog across processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import medallion
from tests.spark.conftest import write_json_lines

pytestmark = pytest.mark.spark

ROWS = [{"id": 1, "v": 10}, {"id": 2, "v": -1}, {"id": 3, "v": 30}]


def declare(raw: Path) -> medallion.Pipeline:
    with medallion.Pipeline("runner") as p:
        medallion.bronze_autoloader(name="bronze", path=str(raw / "in"), infer_column_types=True)
        medallion.silver_with_rules(name="silver", source="bronze")
        medallion.bronze_batch(name="ref", path=str(raw / "ref"), format="json")

        @medallion.table(rules=[medallion.expect_or_drop("positive", "v > 0")],
                         quarantine="custom_bad", comment="Positive values, labelled")
        def custom(ctx: Any) -> Any:
            silver = ctx.read("silver")
            labels = ctx.read("ref")
            return silver.join(labels, "id", "left").select("id", "v", "label")

    return p


def test_custom_table_full_refresh_and_snapshot_skip(raw: Path, run_pipeline: Any) -> None:
    write_json_lines(raw / "in", "1.json", ROWS)
    write_json_lines(raw / "ref", "1.json",
                     [{"id": 1, "label": "one"}, {"id": 3, "label": "three"}])
    pipeline = declare(raw)
    assert pipeline["custom"].spec.inputs() == ("silver", "ref")  # found in its source code

    first = run_pipeline(pipeline)
    c = first["custom"]
    assert (c.rows_in, c.rows_written, c.rows_dropped, c.rows_quarantined) == (3, 2, 1, 1)
    assert sorted(map(tuple, first.read("custom").collect())) == [(1, 10, "one"), (3, 30, "three")]
    bad = first.read("custom_bad").select("id", "_failed_rules").collect()
    assert [(r.id, r._failed_rules) for r in bad] == [(2, ["positive"])]

    # Nothing new: every table is up to date, the snapshot of unchanged files is not re-read.
    second = run_pipeline(pipeline)
    assert {n: t.status for n, t in second.tables.items()} == {
        "bronze": "up_to_date", "silver": "up_to_date", "ref": "up_to_date",
        "custom": "completed",  # a custom query may read anything: always recomputed
    }
    assert second["bronze"].rows_written == 0

    # A changed reference file is re-read.
    write_json_lines(raw / "ref", "1.json", [{"id": 1, "label": "uno"}])
    third = run_pipeline(pipeline)
    assert third["ref"].status == "completed"
    assert sorted(map(tuple, third.read("custom").collect())) == [(1, 10, "uno"), (3, 30, None)]

    # Full refresh of bronze resets the stream reading it too, so silver is rebuilt, not doubled.
    fourth = run_pipeline(pipeline, full_refresh=["bronze"])
    assert fourth["bronze"].rows_written == 3
    assert fourth["silver"].rows_in == 3
    assert fourth.read("silver").count() == 3


def test_undeclared_read_is_an_error(raw: Path, run_pipeline: Any) -> None:
    write_json_lines(raw / "in", "1.json", ROWS)
    with medallion.Pipeline("undeclared") as p:
        medallion.bronze_autoloader(name="bronze", path=str(raw / "in"))
        medallion.bronze_autoloader(name="other", path=str(raw / "in"))
        name = "oth" + "er"  # computed: invisible to the source scan

        @medallion.table(inputs=["bronze"])
        def custom(ctx: Any) -> Any:
            return ctx.read("bronze").unionByName(ctx.read(name))

    result = run_pipeline(p, raise_on_failure=False)
    error = result["custom"].error
    assert isinstance(error, medallion.GraphError)
    assert "reads 'other' but does not declare it as an input" in str(error)
    assert "Add inputs=[..., 'other']" in str(error)


@pytest.mark.slow
def test_tables_are_queryable_from_a_new_process(raw: Path, run_pipeline: Any) -> None:
    write_json_lines(raw / "in", "1.json", ROWS)
    with medallion.Pipeline("solo") as p:
        medallion.bronze_autoloader(name="bronze", path=str(raw / "in"), infer_column_types=True)
    first = run_pipeline(p)
    code = (
        "import json, sys, medallion\n"
        "spark = medallion.local_session(warehouse=sys.argv[1], master='local[1]')\n"
        "rows = spark.sql('SELECT id, v FROM medallion_db.bronze ORDER BY id').collect()\n"
        "print(json.dumps([list(r) for r in rows]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(first.warehouse)], capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [[1, 10], [2, -1], [3, 30]]


def test_a_view_over_a_recreated_table_is_recomputed(raw: Path, run_pipeline: Any) -> None:
    """A full refresh recreates a table, which can reach the version number it had before:
    a view reading it must still see the new rows (not count as up to date)."""
    write_json_lines(raw / "ref", "1.json", [{"id": 1, "label": "one"}])
    with medallion.Pipeline("recreated") as p:
        medallion.bronze_batch(name="ref", path=str(raw / "ref"))
        medallion.silver_with_rules(name="ref_clean", source="ref", incremental=False,
                                    select=["id", "label"])
    first = run_pipeline(p)
    assert [tuple(r) for r in first.read("ref_clean").collect()] == [("1", "one")]

    write_json_lines(raw / "ref", "1.json", [{"id": 1, "label": "uno"}])
    second = run_pipeline(p, full_refresh=["ref"])
    assert second["ref_clean"].status == "completed"
    assert [tuple(r) for r in second.read("ref_clean").collect()] == [("1", "uno")]


def test_a_replayed_micro_batch_is_neither_written_nor_counted_twice(
    raw: Path, run_pipeline: Any, medallion_warehouse: Path
) -> None:
    """A crash after Delta's commit but before the checkpoint's: the batch runs again, Delta
    skips its append (idempotent txn), and no job runs for it, so nothing is observed either."""
    write_json_lines(raw / "in", "1.json", ROWS)
    with medallion.Pipeline("replay") as p:
        medallion.bronze_autoloader(name="bronze", path=str(raw / "in"), infer_column_types=True)
        medallion.silver_with_rules(name="silver", source="bronze", quarantine="silver_bad",
                                    rules=[medallion.expect_or_drop("positive", "v > 0")])

        @medallion.table(incremental=True, rules=[medallion.expect("small", "v < 20")])
        def custom(ctx: Any) -> Any:
            return ctx.read_stream("bronze").select("id", "v")
    first = run_pipeline(p)
    assert (first["silver"].rows_written, first["silver"].rows_quarantined) == (2, 1)

    checkpoints = medallion_warehouse / "_system" / "checkpoints" / "medallion_db"
    for table in ("silver", "custom"):
        commits = checkpoints / table / "commits"
        last = max((c for c in commits.iterdir() if c.name.isdigit()), key=lambda c: int(c.name))
        last.unlink()  # the checkpoint forgets that the last micro-batch finished
        (commits / f".{last.name}.crc").unlink(missing_ok=True)
    write_json_lines(raw / "in", "2.json", [{"id": 4, "v": 40}])
    second = run_pipeline(p)
    silver, custom = second["silver"], second["custom"]
    assert (silver.rows_in, silver.rows_written, silver.rows_quarantined) == (1, 1, 0)
    assert (custom.rows_in, custom.rows_written) == (1, 1)
    assert [(e.name, e.passed, e.failed) for e in custom.expectations] == [("small", 0, 1)]
    assert sorted(r.id for r in second.read("silver").collect()) == [1, 3, 4]
    assert second.read("silver_bad").count() == 1
    assert sorted(r.id for r in second.read("custom").collect()) == [1, 2, 3, 4]
