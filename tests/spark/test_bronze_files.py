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
    # table, with the pipeline that owns it, in the same commit)
    assert history(spark, "bronze_backlog") == [
        (0, "CREATE TABLE AS SELECT", "2"), (1, "WRITE", "2"), (2, "WRITE", "2")]
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
    assert history(spark, "bronze_backlog")[-1] == (3, "WRITE", "1")
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


def test_rerun_without_new_files_starts_no_stream(raw: Path, run_pipeline: Any,
                                                  medallion_spark: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A rerun with nothing new commits nothing and starts no streaming query (issue 11)."""
    from medallion.backends.local.flows import base

    started: list[str] = []
    real = base.run_available_now

    def counting(df: Any, **kwargs: Any) -> int:
        started.append(kwargs["query_name"])
        return real(df, **kwargs)

    monkeypatch.setattr(base, "run_available_now", counting)
    folder = raw / "rerun"
    land(folder, "a.json", [1, 2], 1_700_000_000)
    (folder / "notes.txt").write_text("not an input\n")  # left out by the glob filter
    (folder / "_SUCCESS").write_text("")  # hidden from Spark's listing
    with medallion.Pipeline("rerun") as p:
        medallion.bronze_autoloader(name="bronze_globbed", path=str(folder),
                                    options={"pathGlobFilter": "*.json"})
        medallion.bronze_autoloader(name="bronze_braced", path=str(folder),
                                    options={"pathGlobFilter": "*.{json,jsonl}"})
    first = run_pipeline(p)
    assert sorted(started) == ["medallion_medallion_db_bronze_braced",
                               "medallion_medallion_db_bronze_globbed"]
    versions = {t: history(medallion_spark, t)[-1][0] for t in ("bronze_globbed", "bronze_braced")}
    assert first["bronze_globbed"].rows_written == 2

    started.clear()
    second = run_pipeline(p)
    # a glob the runner does not mirror ({a,b}) lists notes.txt as unseen: the stream decides
    assert started == ["medallion_medallion_db_bronze_braced"]
    assert (second["bronze_globbed"].status, second["bronze_globbed"].detail) == (
        "up_to_date", "no new files")
    assert (second["bronze_braced"].status, second["bronze_braced"].rows_written) == (
        "completed", 0)
    assert {t: history(medallion_spark, t)[-1][0] for t in versions} == versions

    # a batch planned but not committed (a kill before the commit file): the stream replays it
    checkpoint = first.warehouse / "_system" / "checkpoints" / "medallion_db" / "bronze_globbed"
    commits = sorted((checkpoint / "commits").glob("[0-9]*"), key=lambda f: int(f.name))
    commits[-1].unlink()
    (commits[-1].parent / f".{commits[-1].name}.crc").unlink()
    started.clear()
    third = run_pipeline(p)
    assert sorted(started) == ["medallion_medallion_db_bronze_braced",
                               "medallion_medallion_db_bronze_globbed"]
    assert third["bronze_globbed"].rows_written == 0
    assert {t: history(medallion_spark, t)[-1][0] for t in versions} == versions

    # new files are found and ingested, hidden and filtered ones are not
    land(folder, "b.json", [3], 1_700_000_010)
    land(folder, "_partial.json", [99], 1_700_000_011)
    started.clear()
    fourth = run_pipeline(p)
    assert sorted(started) == ["medallion_medallion_db_bronze_braced",
                               "medallion_medallion_db_bronze_globbed"]
    assert sorted(int(r.id) for r in fourth.read("bronze_globbed").collect()) == [1, 2, 3]
    assert fourth["bronze_braced"].rows_written == 1


def test_file_stream_rows_read_the_files_the_local_runner_reads(
        raw: Path, run_pipeline: Any, medallion_spark: Any) -> None:
    """spark-pipelines' rows (``bronze_rows``, reading the folder) obey the file-choosing options.

    Without ``pathGlobFilter`` on its readers, a plain Spark file read would also ingest the
    files the local runner's listing leaves out: a silent difference between the two runtimes.
    """
    from medallion.core.bronze.rows import bronze_rows
    from medallion.core.compat import parse_ddl
    from medallion.specs import BronzeSpec

    spark = medallion_spark
    for fmt, name, other, body, extra in (
            ("json", "a.json", "b.jsonl", '{"id": 1}\n{"id": 2}\n', '{"id": 9}\n'),
            ("csv", "a.csv", "b.tsv", "id\n1\n2\n", "id\n9\n")):
        folder = raw / fmt
        folder.mkdir()
        (folder / name).write_text(body)
        (folder / other).write_text(extra)  # left out by the glob filter
        fields: dict[str, Any] = {
            "name": f"bronze_{fmt}", "path": str(folder), "format": fmt,
            "schema": "id BIGINT", "options": {"pathGlobFilter": f"*.{fmt}",
                                               **({"header": "true"} if fmt == "csv" else {})}}
        with medallion.Pipeline(f"glob_{fmt}") as p:
            medallion.bronze_autoloader(**fields)
        local = run_pipeline(p).read(f"bronze_{fmt}")
        spec = BronzeSpec(**fields)
        assert spec.schema_ is not None
        rows = bronze_rows(spark.read, spec, parse_ddl(spec.schema_))
        assert sorted(r.id for r in rows.collect()) == [1, 2], fmt
        assert sorted(r.id for r in local.collect()) == [1, 2], fmt
