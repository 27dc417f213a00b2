"""Bronze from JSON: rescued data and malformed records, per evolution mode, exact contents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality

import medallion
from medallion.backends.local.warehouse import Warehouse
from tests.spark.conftest import write_json_lines

pytestmark = pytest.mark.spark

LINES = [
    {"id": 1, "amount": 10.5, "status": "ok"},
    {"id": 2, "amount": "12.3x", "status": "ok"},  # type mismatch for a DOUBLE
    {"id": 3, "Amount": 7, "status": "ok"},  # case mismatch
    {"id": 4, "amount": 1, "status": "ok", "coupon": "X1"},  # a column the schema lacks
    '{"id": 5, "amount": 2,',  # truncated: malformed
    "",  # blank lines are not records
    "hello",  # not JSON: malformed
]
RAW = [line if isinstance(line, str) else json.dumps(line) for line in LINES]


def rescued(path: str, **fields: Any) -> str:
    return json.dumps({**fields, "_file_path": path}, separators=(",", ":"))


def test_json_rescue_and_malformed_per_mode(raw: Path, run_pipeline: Any,
                                            medallion_spark: Any) -> None:
    spark = medallion_spark
    source = write_json_lines(raw / "orders", "orders-1.json", LINES)
    fp = "file:" + str(source)
    folder = str(raw / "orders")
    with medallion.Pipeline("json") as p:
        medallion.bronze_autoloader(name="bronze_rescue", path=folder,
                                    schema="id BIGINT, amount DOUBLE, status STRING",
                                    schema_evolution_mode="rescue",
                                    metadata_columns={"source_file": "file_name"})
        medallion.bronze_autoloader(name="bronze_none", path=folder,
                                    schema="id BIGINT, amount DOUBLE, status STRING",
                                    rescued_data_column=None)
        medallion.bronze_autoloader(name="bronze_inferred", path=folder,
                                    infer_column_types=True)
        medallion.bronze_batch(name="bronze_snapshot", path=folder,
                               schema="id BIGINT, amount DOUBLE")
        medallion.bronze_autoloader(name="bronze_failfast", path=folder,
                                    schema="id BIGINT, amount DOUBLE, status STRING",
                                    options={"mode": "FAILFAST"})
    result = run_pipeline(p, raise_on_failure=False)

    # rescue: every field that does not fit is rescued with the file; malformed lines are kept
    expected = spark.createDataFrame([
        (1, 10.5, "ok", None, None),
        (2, None, "ok", rescued(fp, amount="12.3x"), None),
        (3, None, "ok", rescued(fp, Amount=7), None),
        (4, 1.0, "ok", rescued(fp, coupon="X1"), None),
        (None, None, None, rescued(fp), RAW[4]),
        (None, None, None, rescued(fp), RAW[6]),
    ], "id BIGINT, amount DOUBLE, status STRING, _rescued_data STRING, _corrupt_record STRING")
    table = result.read("bronze_rescue")
    assert table.columns == ["id", "amount", "status", "_rescued_data", "_corrupt_record",
                             "source_file"]
    assert {r.source_file for r in table.collect()} == {"orders-1.json"}
    assert_df_equality(table.drop("source_file"), expected, ignore_row_order=True,
                       ignore_nullable=True)
    t = result["bronze_rescue"]
    assert (t.rows_in, t.rows_written, t.rows_malformed, t.rows_rescued) == (6, 6, 2, 3)
    assert t.detail == ("2 malformed record(s) kept in _corrupt_record; 3 row(s) with rescued "
                        "data in _rescued_data")

    # none without a rescued data column: unknown fields ignored (as Databricks); a value that
    # does not fit keeps the raw record in _corrupt_record instead of being lost
    expected = spark.createDataFrame([
        (1, 10.5, "ok", None),
        (2, None, "ok", RAW[1]),
        (3, None, "ok", None),
        (4, 1.0, "ok", None),
        (None, None, None, RAW[4]),
        (None, None, None, RAW[6]),
    ], "id BIGINT, amount DOUBLE, status STRING, _corrupt_record STRING")
    assert_df_equality(result.read("bronze_none"), expected, ignore_row_order=True,
                       ignore_nullable=True)
    assert result["bronze_none"].rows_malformed == 3

    # inferred with types: amount holds numbers and text, so it is a string; "Amount" differs
    # only by case from "amount", so it is rescued, never a second column
    expected = spark.createDataFrame([
        ("10.5", None, 1, "ok", None, None),
        ("12.3x", None, 2, "ok", None, None),
        (None, None, 3, "ok", rescued(fp, Amount=7), None),
        ("1", "X1", 4, "ok", None, None),
        (None, None, None, None, rescued(fp), RAW[4]),
        (None, None, None, None, rescued(fp), RAW[6]),
    ], "amount STRING, coupon STRING, id BIGINT, status STRING, _rescued_data STRING, "
       "_corrupt_record STRING")
    assert_df_equality(result.read("bronze_inferred"), expected, ignore_row_order=True,
                       ignore_nullable=True)
    state = result.warehouse / "_system" / "schemas" / "medallion_db" / "bronze_inferred"
    assert [(f["name"], f["type"]) for f in json.loads((state / "schema.json").read_text())[
        "fields"]] == [("amount", "string"), ("coupon", "string"), ("id", "long"),
                      ("status", "string")]

    # a snapshot with a declared schema (mode none + rescued data column): fields the schema
    # lacks are rescued, on every recompute
    expected = spark.createDataFrame([
        (1, 10.5, rescued(fp, status="ok"), None),
        (2, None, rescued(fp, amount="12.3x", status="ok"), None),
        (3, None, rescued(fp, Amount=7, status="ok"), None),
        (4, 1.0, rescued(fp, status="ok", coupon="X1"), None),
        (None, None, rescued(fp), RAW[4]),
        (None, None, rescued(fp), RAW[6]),
    ], "id BIGINT, amount DOUBLE, _rescued_data STRING, _corrupt_record STRING")
    assert_df_equality(result.read("bronze_snapshot"), expected, ignore_row_order=True,
                       ignore_nullable=True)

    # FAILFAST: the first malformed record fails the table, which stays unwritten
    failfast = result["bronze_failfast"]
    assert failfast.status == "failed"
    assert str(failfast.error) == (
        f"Table 'bronze_failfast' failed: a malformed record in {fp} with option "
        "mode='FAILFAST'; nothing of these files was written. Fix or remove the file, or drop "
        "the option to keep malformed records in _corrupt_record")
    assert not Warehouse(result.warehouse).exists("medallion_db", "bronze_failfast")

    # a rerun without new files writes nothing and says so
    again = run_pipeline(p, raise_on_failure=False)
    assert [(n, t.rows_written, t.detail) for n, t in again.tables.items()] == [
        ("bronze_rescue", 0, "no new files"),
        ("bronze_none", 0, "no new files"),
        ("bronze_inferred", 0, "no new files"),
        ("bronze_snapshot", 0, "files unchanged since the last run"),
        ("bronze_failfast", 0, ""),
    ]
