"""Databricks' dlt semantics that used to differ locally, in one pipeline run (and a rerun).

- a ``@dlt.table`` whose stream is read in a helper is a streaming table (the DataFrame decides);
- ``schema`` and ``partition_cols`` on ``@dlt.table``;
- Auto Loader's documented ``rescuedDataColumn`` option in notebook code;
- ``ignore_null_updates_column_list`` / ``_except_column_list`` and ``Column`` arguments in
  AUTO CDC (SCD1 and SCD2);
- ``on_event_hook`` receives every event of the update;
- a Delta sink written by an append flow keeps its rows through a full refresh.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import medallion
import medallion.dlt as dlt
from medallion.backends.local.notebook import NotebookSpark
from tests.spark.conftest import write_json_lines

pytestmark = pytest.mark.spark


def declare(raw: Path) -> medallion.Pipeline:
    from pyspark.sql.functions import col, expr

    spark = NotebookSpark()
    with medallion.Pipeline("fidelity") as pipeline:
        @dlt.table(comment="Auto Loader with Databricks' option names")
        def landed() -> Any:
            return (spark.readStream.format("cloudFiles")
                    .option("cloudFiles.format", "json")
                    .option("rescuedDataColumn", "_bad")
                    .schema("id BIGINT, day STRING")
                    .load(str(raw / "landed")))

        def stream_of_landed() -> Any:  # the stream is read in a helper, as notebooks do
            return dlt.read_stream("landed")

        @dlt.table(schema="id BIGINT, day STRING, extra STRING", partition_cols=["day"])
        def copied() -> Any:
            return stream_of_landed().drop("_bad", "_corrupt_record")

        @dlt.table
        def changes() -> Any:
            return (spark.readStream.format("json")
                    .schema("id BIGINT, name STRING, city STRING, op STRING, seq BIGINT")
                    .load(str(raw / "changes")))

        dlt.create_streaming_table("scd1")
        dlt.create_auto_cdc_flow(
            target="scd1", source="changes", keys=[col("id")], sequence_by=col("seq"),
            apply_as_deletes=expr("op = 'DELETE'"), except_column_list=[col("op"), "seq"],
            ignore_null_updates_column_list=["name"])
        dlt.create_streaming_table("scd2")
        dlt.apply_changes(
            target="scd2", source="changes", keys=["id"], sequence_by="seq",
            except_column_list=["op", "seq"], stored_as_scd_type=2,
            ignore_null_updates_except_column_list=["city"])

        dlt.create_sink("exported", "delta", {"path": str(raw.parent / "sink")})

        @dlt.append_flow(target="exported")
        def export() -> Any:
            return dlt.read_stream("copied")

        @dlt.on_event_hook(max_allowable_consecutive_failures=0)
        def collect(event: dict[str, Any]) -> None:
            SEEN.append(event)
    return pipeline


SEEN: list[dict[str, Any]] = []


@pytest.mark.slow
def test_dlt_semantics_as_on_databricks(tmp_path: Path, run_pipeline: Any,
                                        medallion_spark: Any) -> None:
    raw = tmp_path / "raw"
    write_json_lines(raw / "landed", "1.json", [{"id": 1, "day": "mon"},
                                                {"id": "x", "day": "tue"}])
    write_json_lines(raw / "changes", "1.json", [
        {"id": 1, "name": "Ann", "city": "Oslo", "op": "INSERT", "seq": 1},
        {"id": 1, "name": None, "city": None, "op": "UPDATE", "seq": 2},
    ])
    SEEN.clear()
    first = run_pipeline(declare(raw))

    landed = {(r.id, r.day, r._bad and json.loads(r._bad)["id"])
              for r in first.read("landed").collect()}
    assert landed == {(1, "mon", None), (None, "tue", "x")}  # rescued into the column named
    assert first.read("copied").columns == ["id", "day", "extra"]
    detail = medallion_spark.sql(
        f"DESCRIBE DETAIL delta.`{first.warehouse}/{first.schema}/copied`").first()
    assert detail.partitionColumns == ["day"]
    # SCD1: a NULL name keeps 'Ann' (ignored), a NULL city replaces 'Oslo'.
    assert [tuple(r) for r in first.read("scd1").collect()] == [(1, "Ann", None)]
    # SCD2: every column but city ignores NULLs: city changes, so a new version opens.
    assert sorted((tuple(r) for r in first.read("scd2").select(
        "id", "name", "city", "__START_AT", "__END_AT").collect()), key=lambda r: r[3]) == [
        (1, "Ann", "Oslo", 1, 2), (1, "Ann", None, 2, None)]
    kinds = [e["event_type"] for e in SEEN]
    assert kinds[0] == "create_update"
    assert "flow_progress" in kinds
    assert SEEN[-1]["details"]["update_progress"]["state"] == "COMPLETED"
    assert all(e["origin"]["pipeline_name"] == "fidelity" for e in SEEN)

    write_json_lines(raw / "landed", "2.json", [{"id": 3, "day": "wed"}])
    second = run_pipeline(declare(raw))
    # A streaming table (the helper's stream decides): only the new row is appended.
    assert (second["copied"].rows_written, second.read("copied").count()) == (1, 3)

    def sink_rows() -> list[Any]:
        folder = (tmp_path / "sink").as_uri()
        return sorted(r.id or 0 for r in medallion_spark.read.format("delta").load(folder)
                      .collect())

    assert sink_rows() == [0, 1, 3]
    run_pipeline(declare(raw), full_refresh=True)  # a sink keeps its rows: they come again
    assert sink_rows() == [0, 0, 1, 1, 3, 3]


NOTEBOOK = '''
import medallion
import medallion.dlt as dlt
from pyspark.sql.functions import col, expr

medallion.bronze_autoloader(name="users", path="/raw",
                            schema="userId BIGINT, seq BIGINT, op STRING")
dlt.create_streaming_table("target")
dlt.create_auto_cdc_flow(target="target", source="users", keys=[col("userId")],
                         sequence_by=col("seq"), apply_as_deletes=expr("op = 'DELETE'"),
                         except_column_list=["op"])
'''


@pytest.mark.slow
def test_column_arguments_load_without_a_session_started_first(tmp_path: Path) -> None:
    """Loading starts the session the notebook's col() needs (before: an empty AssertionError)."""
    import os
    import subprocess
    import sys

    (tmp_path / "cdc.py").write_text(NOTEBOOK)
    code = ("from medallion.loader import load_pipeline; "
            f"s = load_pipeline({str(tmp_path / 'cdc.py')!r}).flow('target').spec; "
            "print(s.keys, s.sequence_by, s.apply_as_deletes)")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONPATH": str(root / "src")},
                          check=False)
    import pyspark

    # Spark 3.5 prints Ivy's settings line first and writes the JVM expression's SQL (with
    # parentheses); both say the same thing to Databricks
    condition = "(op = 'DELETE')" if pyspark.__version__.startswith("3.") else "op = 'DELETE'"
    printed = done.stdout.splitlines()[-1:] if done.stdout else []
    assert (done.returncode, printed) == (0, [f"('userId',) seq {condition}"]), done.stderr
