"""Bronze file handling: backlog split into commits, existing files skipped, Parquet sources."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality

import medallion
from tests.spark.conftest import write_json_lines

pytestmark = pytest.mark.spark


def land(folder: Path, name: str, ids: list[int], mtime: int) -> None:
    path = write_json_lines(folder, name, [{"id": i} for i in ids])
    os.utime(path, (mtime, mtime))


def history(spark: Any, table: str) -> list[tuple[int, str, str | None]]:
    rows = spark.sql(f"DESCRIBE HISTORY medallion_db.{table}").orderBy("version").collect()
    return [(r.version, r.operation, (r.operationMetrics or {}).get("numOutputRows"))
            for r in rows]


def test_backlog_commits_and_existing_files(raw: Path, run_pipeline: Any,
                                            medallion_spark: Any) -> None:
    spark = medallion_spark
    folder = raw / "events"
    for n in range(3):
        land(folder, f"e{n}.json", [10 * n + 1, 10 * n + 2], 1_700_000_000 + n)
    with medallion.Pipeline("files") as p:
        medallion.bronze_autoloader(name="bronze_backlog", path=str(folder),
                                    max_files_per_trigger=1)
        medallion.bronze_autoloader(name="bronze_new_only", path=str(folder),
                                    include_existing_files=False)
        medallion.bronze_autoloader(name="bronze_lines", path=str(folder), format="text",
                                    metadata_columns={"file": "file_name"})
        medallion.bronze_autoloader(name="bronze_clash", path=str(folder),
                                    metadata_columns={"ID": "file_name"})
    first = run_pipeline(p, raise_on_failure=False)
    # a column of the files may not take the name of a column bronze adds
    assert str(first["bronze_clash"].error) == (
        f"Table 'bronze_clash' failed: the files have a column 'id' (in file:{folder}/e0.json, "
        f"file:{folder}/e1.json, file:{folder}/e2.json), which is also the name of metadata "
        "column 'ID'; rename that one in the spec")
    # one Delta commit per file of the backlog, in arrival order (the first append creates the
    # table; the pipeline that owns it is recorded by a metadata-only commit right after)
    assert history(spark, "bronze_backlog") == [
        (0, "WRITE", "2"), (1, "SET TBLPROPERTIES", None), (2, "WRITE", "2"), (3, "WRITE", "2")]
    assert sorted(int(r.id) for r in first.read("bronze_backlog").collect()) == [
        1, 2, 11, 12, 21, 22]
    # files present at the first run are never ingested; the table does not exist yet
    assert (first["bronze_new_only"].rows_written, first["bronze_new_only"].detail) == (
        0, "no new files")
    assert not (first.warehouse / "medallion_db" / "bronze_new_only").exists()

    # text: each line as it is, no rescue or corrupt column
    lines = first.read("bronze_lines")
    assert lines.columns == ["value", "file"]
    assert sorted(map(tuple, lines.collect())) == sorted(
        (json.dumps({"id": 10 * n + k}), f"e{n}.json") for n in range(3) for k in (1, 2))

    land(folder, "e3.json", [31], 1_700_000_010)
    second = run_pipeline(p, raise_on_failure=False)
    assert [r.id for r in second.read("bronze_new_only").collect()] == ["31"]
    assert history(spark, "bronze_backlog")[-1] == (4, "WRITE", "1")
    assert (second["bronze_backlog"].rows_written, second["bronze_new_only"].rows_written) == (
        1, 1)


def _parquet(spark: Any, rows: list[tuple[Any, ...]], ddl: str, target: Path,
             mtime: int) -> Path:
    """One parquet file at ``target`` (Spark writes a folder; keep its single part file)."""
    tmp = target.with_suffix(".tmp")
    spark.createDataFrame(rows, ddl).coalesce(1).write.parquet(tmp.as_uri())
    part = next(tmp.glob("part-*.parquet"))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(part, target)
    shutil.rmtree(tmp)
    os.utime(target, (mtime, mtime))
    return target


def test_parquet_stream_and_snapshot(raw: Path, run_pipeline: Any,
                                     medallion_spark: Any) -> None:
    spark = medallion_spark
    p1 = _parquet(spark, [(1, "Ada"), (2, "Bob")], "id BIGINT, name STRING",
                  raw / "people" / "p1.parquet", 1_700_000_000)
    # more files of the same schema: their footers are read in one job, not one job each
    q1 = _parquet(spark, [(5, "Eve")], "id BIGINT, name STRING", raw / "people" / "q1.parquet",
                  1_700_000_001)
    q2 = _parquet(spark, [(6, None)], "id BIGINT, name STRING", raw / "people" / "q2.parquet",
                  1_700_000_002)
    with medallion.Pipeline("parquet") as p:
        medallion.bronze_autoloader(name="bronze_people", path=str(raw / "people"),
                                    format="parquet")
        medallion.bronze_batch(name="bronze_people_snapshot", path=str(raw / "people"),
                               format="parquet",
                               metadata_columns={"ingested_at": "ingestion_time",
                                                 "source": "file_name"})
    run_pipeline(p)
    # a later export: id became a string (one value no longer a number) and a column appeared
    p2 = _parquet(spark, [("3", "Cy", 7), ("x", "Di", None)], "id STRING, name STRING, age INT",
                  raw / "people" / "p2.parquet", 1_700_000_100)
    second = run_pipeline(p)
    expected = spark.createDataFrame([
        (1, "Ada", None, None),
        (2, "Bob", None, None),
        (5, "Eve", None, None),
        (6, None, None, None),
        (3, "Cy", None, 7),
        (None, "Di", json.dumps({"id": "x", "_file_path": f"file:{p2}"},
                                separators=(",", ":")), None),
    ], "id BIGINT, name STRING, _rescued_data STRING, age INT")
    assert_df_equality(second.read("bronze_people"), expected, ignore_row_order=True,
                       ignore_nullable=True)
    assert [(c.added, c.files) for c in second["bronze_people"].schema_changes] == [
        ((("age", "int"),), (f"file:{p2}",))]
    # the snapshot re-reads every file with the schema of the oldest; nothing is lost
    snapshot = second.read("bronze_people_snapshot")
    assert snapshot.where("ingested_at IS NULL").count() == 0
    assert sorted(map(tuple, snapshot.select("id", "name", "age", "source").collect()),
                  key=str) == sorted([
        (1, "Ada", None, p1.name), (2, "Bob", None, p1.name), (5, "Eve", None, q1.name),
        (6, None, None, q2.name), (3, "Cy", 7, p2.name),
        (None, "Di", None, p2.name)], key=str)
