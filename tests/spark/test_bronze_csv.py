"""Bronze from CSV: columns matched by each file's header, bad rows kept, exact contents."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality

import medallion

pytestmark = pytest.mark.spark


def write(folder: Path, name: str, text: str, mtime: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    os.utime(path, (mtime, mtime))  # the stream reads files oldest first
    return path


def rescued(path: Path, **fields: Any) -> str:
    return json.dumps({**fields, "_file_path": "file:" + str(path)}, separators=(",", ":"))


def test_csv_headers_bad_rows_and_new_columns(raw: Path, run_pipeline: Any,
                                              medallion_spark: Any) -> None:
    spark = medallion_spark
    a = write(raw / "csv", "a.csv", "id,amount,status\n1,10.5,ok\n2,12.3x,ok\n3,4\n"
              "4,5,ok,extra\n", 1_700_000_000)
    # another export: columns reordered, one renamed by case, one new
    b = write(raw / "csv", "b.csv", "status,ID,id,amount,note\nlate,x,5,7.25,hello\n",
              1_700_000_100)
    c = write(raw / "plain", "c.csv", "1,a\n2,b,c\n", 1_700_000_000)
    folder = str(raw / "csv")
    with medallion.Pipeline("csv") as p:
        medallion.bronze_autoloader(name="bronze_csv", path=folder, format="csv",
                                    options={"header": "true"},
                                    schema_hints="id BIGINT, amount DOUBLE")
        medallion.bronze_autoloader(name="bronze_csv_strict", path=folder, format="csv",
                                    options={"header": "true"},
                                    schema="id BIGINT, amount DOUBLE, status STRING",
                                    schema_evolution_mode="failOnNewColumns")
        medallion.bronze_autoloader(name="bronze_headerless", path=str(raw / "plain"),
                                    format="csv", options={"header": "false"})
    result = run_pipeline(p, raise_on_failure=False)

    # every row lands: matched by header name, the bad value and the case variant rescued,
    # rows with the wrong number of fields kept whole
    expected = spark.createDataFrame([
        (1, 10.5, "ok", None, None, None),
        (2, None, "ok", None, rescued(a, amount="12.3x"), None),
        (None, None, None, None, rescued(a), "3,4"),
        (None, None, None, None, rescued(a), "4,5,ok,extra"),
        (5, 7.25, "late", "hello", rescued(b, ID="x"), None),
    ], "id BIGINT, amount DOUBLE, status STRING, note STRING, _rescued_data STRING, "
       "_corrupt_record STRING")
    assert_df_equality(result.read("bronze_csv"), expected, ignore_row_order=True,
                       ignore_nullable=True)
    t = result["bronze_csv"]
    assert (t.status, t.rows_in, t.rows_malformed, t.rows_rescued) == ("completed", 5, 2, 2)

    # failOnNewColumns: the new column fails the run, naming it and its file; nothing written
    strict = result["bronze_csv_strict"]
    assert strict.status == "failed"
    assert str(strict.error) == (
        "Table 'bronze_csv_strict' failed: new column(s) found with "
        f"schema_evolution_mode='failOnNewColumns': 'note' in file:{b}. Nothing of this "
        "micro-batch was written, and the table stays stopped until the schema has the columns "
        "(add them to 'schema') or the file is removed"
    )
    assert not (result.warehouse / "medallion_db" / "bronze_csv_strict").exists()

    # without a header the columns are positional; a row with an extra field is malformed
    expected = spark.createDataFrame([
        ("1", "a", None, None),
        (None, None, rescued(c), "2,b,c"),
    ], "_c0 STRING, _c1 STRING, _rescued_data STRING, _corrupt_record STRING")
    assert_df_equality(result.read("bronze_headerless"), expected, ignore_row_order=True,
                       ignore_nullable=True)


def test_csv_file_stream_rows_equal_the_local_runner(raw: Path, run_pipeline: Any,
                                                     medallion_spark: Any, tmp_path: Path) -> None:
    """What spark-pipelines reads (a plain CSV file stream) rescues as the local runner does."""
    from medallion.core.bronze.rows import bronze_rows
    from medallion.specs import BronzeSpec

    spark = medallion_spark
    a = write(raw / "csv", "a.csv", "id,amount,status\n1,10.5,ok\n2,12.3x,ok\n3,4\n"
              "4,5,ok,extra\n", 1_700_000_000)
    fields = {"name": "bronze_csv", "path": str(raw / "csv"), "format": "csv",
              "options": {"header": "true"}, "schema": "id BIGINT, amount DOUBLE, status STRING",
              "metadata_columns": {"source_file": "file_path"}}
    with medallion.Pipeline("csv") as p:
        medallion.bronze_autoloader(**fields)
    run_pipeline(p)
    local = spark.table("medallion_db.bronze_csv")

    from medallion.core.compat import parse_ddl

    spec = BronzeSpec(**fields)
    assert spec.schema_ is not None
    stream = bronze_rows(spark.readStream, spec, parse_ddl(spec.schema_))
    query = (stream.writeStream.format("memory").queryName("sdp_csv")
             .option("checkpointLocation", str(tmp_path / "cp")).trigger(availableNow=True)
             .start())
    query.awaitTermination()
    oss = spark.table("sdp_csv")
    assert oss.columns == local.columns
    assert_df_equality(oss, local, ignore_row_order=True, ignore_nullable=True)
    assert sorted(map(tuple, oss.select("id", "_rescued_data", "_corrupt_record").collect()),
                  key=str) == sorted([
        (1, None, None), (2, rescued(a, amount="12.3x"), None), (None, rescued(a), "3,4"),
        (None, rescued(a), "4,5,ok,extra")], key=str)
