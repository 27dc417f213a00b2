"""Bronze schema drift across runs: addNewColumns and failOnNewColumns side by side."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality

import medallion
from tests.spark.conftest import write_json_lines

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SCHEMA = "amount DOUBLE, id STRING, _rescued_data STRING, _corrupt_record STRING"


def land(folder: Path, name: str, records: list[dict[str, Any] | str], mtime: int) -> str:
    path = write_json_lines(folder, name, records)
    os.utime(path, (mtime, mtime))
    return "file:" + str(path)


def rescued(path: str, **fields: Any) -> str:
    return json.dumps({**fields, "_file_path": path}, separators=(",", ":"))


def test_schema_drift_across_three_runs(raw: Path, run_pipeline: Any, medallion_spark: Any
                                        ) -> None:
    spark = medallion_spark
    folder = raw / "orders"
    f1 = land(folder, "o1.json", [{"id": "1", "amount": 10}, {"id": "2", "amount": "n/a"}, "oops"],
              1_700_000_000)

    def declare(strict_hints: str | None = None) -> medallion.Pipeline:
        with medallion.Pipeline("drift") as p:
            medallion.bronze_autoloader(name="bronze_evolving", path=str(folder),
                                        schema_hints="amount DOUBLE")
            medallion.bronze_autoloader(name="bronze_strict", path=str(folder),
                                        schema_hints=strict_hints or "amount DOUBLE",
                                        schema_evolution_mode="failOnNewColumns")
        return p

    # run 1: the schema is inferred and persisted; the bad amount is rescued and the line that is
    # not JSON kept (rows that fit are parsed by Spark's reader, the others re-parsed)
    first = run_pipeline(declare())
    expected = [(10.0, "1", None, None), (None, "2", rescued(f1, amount="n/a"), None),
                (None, None, rescued(f1), "oops")]
    for table in ("bronze_evolving", "bronze_strict"):
        assert_df_equality(first.read(table), spark.createDataFrame(expected, SCHEMA),
                           ignore_row_order=True, ignore_nullable=True)
    assert first["bronze_evolving"].schema_changes == []

    # run 2: a file with a new column. addNewColumns: added, older rows NULL, recorded.
    # failOnNewColumns: fails naming the column and file, nothing of the batch written.
    f2 = land(folder, "o2.json", [{"id": "3", "amount": 30, "discount": "5%"}], 1_700_000_100)
    second = run_pipeline(declare(), raise_on_failure=False)
    evolving = second["bronze_evolving"]
    assert [(c.batch_id, c.added, c.files) for c in evolving.schema_changes] == [
        (1, (("discount", "string"),), (f2,))]
    assert evolving.detail == f"added column discount STRING (from {f2})"
    columns = "amount DOUBLE, id STRING, _rescued_data STRING, _corrupt_record STRING, " \
              "discount STRING"
    rows = [(10.0, "1", None, None, None),
            (None, "2", rescued(f1, amount="n/a"), None, None),
            (None, None, rescued(f1), "oops", None),
            (30.0, "3", None, None, "5%")]
    assert_df_equality(second.read("bronze_evolving"), spark.createDataFrame(rows, columns),
                       ignore_row_order=True, ignore_nullable=True)
    strict = second["bronze_strict"]
    message = (
        "Table 'bronze_strict' failed: new column(s) found with "
        f"schema_evolution_mode='failOnNewColumns': 'discount' in {f2}. Nothing of this "
        "micro-batch was written, and the table stays stopped until the schema has the "
        "columns (declare them in schema_hints) or the file is removed")
    assert (strict.status, str(strict.error)) == ("failed", message)
    assert second.read("bronze_strict").count() == 3

    # run 3: a case variant of an existing column is rescued, another new column is added;
    # the strict table keeps failing on the same file
    f3 = land(folder, "o3.json", [{"id": "4", "amount": 40, "Discount": "7%", "channel": "web"}],
              1_700_000_200)
    third = run_pipeline(declare(), raise_on_failure=False)
    rows.append((40.0, "4", rescued(f3, Discount="7%"), None, None, "web"))
    rows = [(*r, None) if len(r) == 5 else r for r in rows]
    assert_df_equality(third.read("bronze_evolving"),
                       spark.createDataFrame(rows, columns + ", channel STRING"),
                       ignore_row_order=True, ignore_nullable=True)
    assert third["bronze_evolving"].detail == (
        f"1 row(s) with rescued data in _rescued_data; added column channel STRING (from {f3})")
    assert str(third["bronze_strict"].error) == message
    # the event log says the same: the change, the counts
    log = spark.read.format("delta").load(
        (third.warehouse / "medallion_db" / "event_log").as_uri())
    finals = [json.loads(r.details)["flow_progress"] for r in log.where(
        "event_type = 'flow_progress' AND origin.flow_name = 'bronze_evolving'")
        .orderBy("timestamp").collect()]
    finals = [f for f in finals if "metrics" in f]
    assert [(f["metrics"]["num_malformed_records"], f["metrics"]["num_rescued_records"],
             f.get("schema_changes")) for f in finals] == [
        (1, 1, None),
        (0, 0, [{"batch_id": 1, "added": [["discount", "string"]], "files": [f2],
                 "at": evolving.schema_changes[0].at}]),
        (0, 1, [{"batch_id": 2, "added": [["channel", "string"]], "files": [f3],
                 "at": third["bronze_evolving"].schema_changes[0].at}]),
    ]
    state = third.warehouse / "_system" / "schemas" / "medallion_db" / "bronze_evolving"
    assert [(c["batch_id"], c["added"], c["files"]) for c in json.loads(
        (state / "changes.json").read_text())] == [
        (1, [["discount", "string"]], [f2]), (2, [["channel", "string"]], [f3])]

    # run 4: declaring the new columns unblocks the strict table; it catches up file by file
    fourth = run_pipeline(declare("amount DOUBLE, discount STRING, channel STRING"))
    strict = fourth["bronze_strict"]
    assert (strict.status, strict.rows_written) == ("completed", 2)
    assert strict.detail.endswith(
        "added columns discount STRING, channel STRING (from schema_hints)")
    got = fourth.read("bronze_strict").select("id", "discount", "channel", "_rescued_data")
    assert sorted(map(tuple, got.collect()), key=str) == sorted([
        ("1", None, None, None), ("2", None, None, rescued(f1, amount="n/a")),
        (None, None, None, rescued(f1)),
        ("3", "5%", None, None), ("4", None, "web", rescued(f3, Discount="7%"))], key=str)
    assert fourth["bronze_evolving"].rows_written == 0
