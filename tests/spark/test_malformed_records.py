"""Silver's ``malformed_records``: unparseable lines go to quarantine before the rules run.

Without it a malformed JSON line (a bronze row whose data columns are all NULL) trips any
``fail`` rule, and the pipeline fails again on every rerun until the file is removed by hand.
The Databricks backend's query functions (recorded by the ``dp`` fake) compute the same tables.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality

import medallion
from medallion import Rule
from medallion.backends import databricks, declarative
from medallion.backends.databricks import DatabricksBackend
from medallion.backends.local.notebook import NotebookSpark
from tests.contracts.recording import RecordingApi
from tests.spark.conftest import write_json_lines
from tests.spark.test_databricks_queries import apply_expectations, materialize

pytestmark = [pytest.mark.spark, pytest.mark.slow]

BROKEN_LINE = '{"id": 3, "status": "ok", "amount": '
LINES = [
    json.dumps({"id": 1, "status": "ok", "amount": 10}),
    BROKEN_LINE,
    json.dumps({"id": 4, "status": "ok", "amount": -1}),
]
RULES = [
    Rule(name="valid_status", condition="status IN ('ok')", action="fail"),
    Rule(name="positive_amount", condition="amount > 0", action="drop"),
]


def declare(raw: Path) -> None:
    medallion.bronze_autoloader(name="bronze", path=str(raw / "in"), infer_column_types=True)
    medallion.silver_with_rules(name="silver", source="bronze", casts={"amount": "decimal(10,2)"},
                                rules=RULES, quarantine=True, malformed_records=True)


def test_malformed_rows_go_to_quarantine_and_never_fail_a_rule(
    raw: Path, run_pipeline: Any, medallion_spark: Any, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    spark = medallion_spark
    write_json_lines(raw / "in", "a.json", LINES)
    with medallion.Pipeline("malformed") as pipeline:
        declare(raw)
        # the same table without the option: the malformed row fails valid_status
        medallion.silver_with_rules(name="silver_plain", source="bronze", rules=RULES)
    result = run_pipeline(pipeline, raise_on_failure=False)

    assert {n: t.status for n, t in result.tables.items()} == {
        "bronze": "completed", "silver": "completed", "silver_plain": "failed"}
    assert "'valid_status'" in str(result["silver_plain"].error)
    s = result["silver"]
    assert (s.rows_in, s.rows_written, s.rows_dropped, s.rows_malformed, s.rows_quarantined,
            s.duplicates_removed) == (3, 1, 1, 1, 2, 0)
    assert [(e.name, e.passed, e.failed) for e in s.expectations] == [
        ("valid_status", 2, 0), ("positive_amount", 1, 1)]  # the rules never saw it
    assert s.detail == "1 malformed record(s) sent to silver_quarantine"

    columns = ["id", "status", "amount", "_corrupt_record", "_failed_rules"]
    expected_quarantine = spark.createDataFrame(
        [(4, "ok", Decimal("-1.00"), None, ["positive_amount"]),
         (None, None, None, BROKEN_LINE, ["malformed_record"])],
        "id BIGINT, status STRING, amount DECIMAL(10,2), _corrupt_record STRING, "
        "_failed_rules ARRAY<STRING>")
    quarantine = result.read("silver_quarantine")
    assert_df_equality(quarantine.select(*columns), expected_quarantine,
                       ignore_row_order=True, ignore_nullable=True)
    # the row as it arrived, raw text included
    source_rows = [json.loads(r._source_row) for r in
                   quarantine.where("id IS NULL").select("_source_row").collect()]
    assert [(r["id"], r["_corrupt_record"]) for r in source_rows] == [(None, BROKEN_LINE)]
    assert_df_equality(
        result.read("silver").select("id", "status", "amount", "_corrupt_record"),
        spark.createDataFrame([(1, "ok", Decimal("10.00"), None)],
                              "id BIGINT, status STRING, amount DECIMAL(10,2), "
                              "_corrupt_record STRING"),
        ignore_nullable=True)

    # counted in the event log, next to the quarantined rows it is part of
    progress = spark.sql(
        "SELECT get_json_object(details, '$.flow_progress.metrics') AS m "
        "FROM medallion_db.event_log WHERE origin.flow_name = 'silver' "
        "AND get_json_object(details, '$.flow_progress.status') = 'COMPLETED'").first()
    metrics = json.loads(progress.m)
    assert (metrics["num_malformed_records"], metrics["num_quarantined_rows"],
            metrics["num_output_rows"]) == (1, 2, 1)

    # Databricks: the registered queries filter the malformed row out of silver (so the native
    # fail expectation never sees it) and add it to the quarantine dataset.
    monkeypatch.setattr(declarative, "active_session", NotebookSpark)
    monkeypatch.setattr(databricks, "active_session", NotebookSpark)
    spark.catalog.setCurrentDatabase("medallion_db")
    try:
        api = RecordingApi("dp", reader=lambda name, stream: (
            spark.readStream.table(name) if stream else spark.read.table(name)))
        registered = medallion.Pipeline("malformed")
        registered.attach(DatabricksBackend(registered, api=api, flavour="dp"))
        with registered:
            declare(raw)
        assert api.expectations("silver") == {
            "expect_all_or_fail": {"valid_status": "status IN ('ok')"},
            "expect_all_or_drop": {"positive_amount": "amount > 0"},
        }
        for name in ("silver", "silver_quarantine"):
            rows = apply_expectations(materialize(spark, api.functions[name](),
                                                  tmp_path / "dp"), api.expectations(name))
            expected = spark.table(f"medallion_db.{name}")
            assert rows.columns == expected.columns, name
            assert_df_equality(rows.drop("_quarantined_at", "_source_row"),
                               expected.drop("_quarantined_at", "_source_row"),
                               ignore_row_order=True, ignore_nullable=True)
    finally:
        spark.catalog.setCurrentDatabase("default")
