"""Expectations on the local runner: exact counts, NULL handling, quarantine, dedup, event log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality

import medallion
from medallion import Rule, checks
from medallion.eventlog import expectation_metrics
from medallion.eventlog import sql as eventlog_sql
from tests.spark.conftest import write_json_lines

pytestmark = pytest.mark.spark

RUN_1 = [
    {"id": 1, "amount": 10, "email": "a@x.com"},
    {"id": 2, "amount": -5, "email": "b@x.com"},
    {"id": None, "amount": 20, "email": None},
    {"id": 4, "amount": None, "email": "d@x"},
    {"id": 5, "amount": 30, "email": "e@x.com"},
    {"id": 5, "amount": 31, "email": "e2@x.com"},
]
RUN_2 = [
    {"id": 6, "amount": 5, "email": "f@x.com"},
    {"id": 1, "amount": 99, "email": "a@x.com"},  # a newer version of id 1
    {"id": 2, "amount": 7, "email": "b@x.com"},  # id 2, valid this time
    {"id": 7, "amount": 0, "email": "g@x.com"},
]

RULES = [
    checks.not_null("id", action="drop", name="id_not_null"),
    checks.positive("amount", action="drop", name="positive_amount"),
    checks.matches("email", r"^[^@]+@[^@]+\.[a-z]+$", name="valid_email"),
]

# The Databricks documentation's data-quality query, unchanged but for the table name.
DATABRICKS_QUERY = """
SELECT
  row_expectations.dataset as dataset,
  row_expectations.name as expectation,
  SUM(row_expectations.passed_records) as passing_records,
  SUM(row_expectations.failed_records) as failing_records
FROM
  (
    SELECT
      explode(
        from_json(
          details:flow_progress:data_quality:expectations,
          "array<struct<name: string, dataset: string, passed_records: int, failed_records: int>>"
        )
      ) row_expectations
    FROM
      medallion_db.event_log
    WHERE
      event_type = 'flow_progress'
      AND origin.update_id = '{update_id}'
  )
GROUP BY
  row_expectations.dataset,
  row_expectations.name
"""


@pytest.fixture
def pipeline(raw: Path) -> medallion.Pipeline:
    write_json_lines(raw / "in", "a.json", RUN_1)
    with medallion.Pipeline("quality") as p:
        medallion.bronze_autoloader(name="bronze", path=str(raw / "in"), infer_column_types=True)
        medallion.silver_with_rules(name="silver", source="bronze", rules=RULES,
                                    quarantine=True, dedup_keys=["id"], dedup_order_by="amount")
    return p


def test_rules_quarantine_dedup_and_event_log(pipeline: medallion.Pipeline, run_pipeline: Any,
                                               medallion_spark: Any, raw: Path) -> None:
    spark = medallion_spark
    first = run_pipeline(pipeline)
    s = first["silver"]
    # A NULL condition (amount NULL, email NULL) counts as a violation; a row failing two rules
    # counts in both and is dropped once.
    assert [(e.name, e.passed, e.failed) for e in s.expectations] == [
        ("id_not_null", 5, 1), ("positive_amount", 4, 2), ("valid_email", 4, 2),
    ]
    assert (s.rows_in, s.rows_written, s.rows_dropped, s.rows_quarantined,
            s.duplicates_removed) == (6, 2, 3, 3, 1)
    assert sorted(map(tuple, first.read("silver").select("id", "amount").collect())) == [
        (1, 10), (5, 31),  # dedup kept the greatest amount of id 5
    ]
    quarantine = first.read("silver_quarantine").select("id", "amount", "_failed_rules")
    expected = spark.createDataFrame(
        [(2, -5, ["positive_amount"]), (None, 20, ["id_not_null", "valid_email"]),
         (4, None, ["positive_amount", "valid_email"])],
        "id BIGINT, amount BIGINT, _failed_rules ARRAY<STRING>",
    )
    assert_df_equality(quarantine, expected, ignore_row_order=True, ignore_nullable=True)

    # Second run: only new rows are evaluated; a newer id 1 replaces the stored one (MERGE).
    write_json_lines(raw / "in", "b.json", RUN_2)
    second = run_pipeline(pipeline)
    s2 = second["silver"]
    assert [(e.name, e.passed, e.failed) for e in s2.expectations] == [
        ("id_not_null", 4, 0), ("positive_amount", 3, 1), ("valid_email", 4, 0),
    ]
    assert (s2.rows_in, s2.rows_written, s2.rows_dropped, s2.duplicates_removed) == (4, 3, 1, 0)
    assert sorted(map(tuple, second.read("silver").select("id", "amount").collect())) == [
        (1, 99), (2, 7), (5, 31), (6, 5),
    ]
    assert second.read("silver_quarantine").count() == 4

    # The event log answers Databricks' query, per update, with exact totals.
    rows = eventlog_sql(DATABRICKS_QUERY.replace("{update_id}", second.update_id),
                        spark=spark).collect()
    assert sorted(map(tuple, rows)) == [
        ("silver", "id_not_null", 4, 0),
        ("silver", "positive_amount", 3, 1),
        ("silver", "valid_email", 4, 0),
    ]
    warehouse = first.warehouse
    every = expectation_metrics(warehouse=warehouse, spark=spark, update_id=None)
    totals = every.groupBy("dataset", "name").sum("passed_records", "failed_records")
    assert sorted(map(tuple, totals.collect())) == [
        ("silver", "id_not_null", 9, 1),
        ("silver", "positive_amount", 7, 3),
        ("silver", "valid_email", 8, 2),
    ]
    latest = expectation_metrics(warehouse=warehouse, spark=spark)
    assert [(r.name, r.passed_records, r.failed_records) for r in latest.collect()] == [
        ("id_not_null", 4, 0), ("positive_amount", 3, 1), ("valid_email", 4, 0),
    ]
    # Each flow has exactly one final event per update, and the update's own events.
    detail = spark.sql("DESCRIBE DETAIL medallion_db.event_log").first()
    assert detail.properties == {"delta.checkpointInterval": "100"}
    log = spark.table("medallion_db.event_log").where(
        f"origin.update_id = '{second.update_id}'")
    final = log.where("event_type = 'flow_progress' AND details:flow_progress:status = "
                      "'COMPLETED'".replace("details:flow_progress:status",
                                            "get_json_object(details, '$.flow_progress.status')"))
    assert sorted(r.origin.flow_name for r in final.collect()) == ["bronze", "silver"]
    assert [r.event_type for r in log.orderBy("sequence.seq_no").collect()] == [
        "create_update", "update_progress", "flow_definition", "flow_progress",
        "flow_definition", "flow_progress", "flow_progress", "flow_progress", "flow_progress",
        "flow_progress", "update_progress",
    ]


def test_fail_rule_rolls_back_only_its_branch(raw: Path, run_pipeline: Any,
                                             medallion_spark: Any) -> None:
    good = [{"id": 1, "status": "ok"}, {"id": 2, "status": "ok"}]
    write_json_lines(raw / "a", "1.json", good)
    write_json_lines(raw / "b", "1.json", good)
    with medallion.Pipeline("fail") as p:
        medallion.bronze_autoloader(name="bronze_a", path=str(raw / "a"),
                                    infer_column_types=True)
        medallion.silver_with_rules(
            name="silver_a", source="bronze_a",
            rules=[Rule(name="known_status", condition="status IN ('ok')", action="fail"),
                   Rule(name="has_id", condition="id IS NOT NULL", action="fail")])
        medallion.gold_aggregate(name="gold_a", source="silver_a",
                                 aggregations=[medallion.agg.count(alias="n")])
        medallion.bronze_autoloader(name="bronze_b", path=str(raw / "b"),
                                    infer_column_types=True)
        medallion.silver_with_rules(name="silver_b", source="bronze_b")
    run_pipeline(p)
    version = _version(medallion_spark, "silver_a")

    write_json_lines(raw / "a", "2.json", [{"id": 3, "status": "ok"},
                                           {"id": None, "status": "lost"}])
    write_json_lines(raw / "b", "2.json", [{"id": 3, "status": "ok"}])
    with pytest.raises(medallion.ExpectationFailed) as info:
        run_pipeline(p)
    error = info.value
    assert error.table == "silver_a"
    assert error.rules == ("known_status", "has_id")
    # the offending row as silver read it, bronze's rescued/corrupt columns included
    assert error.row == '{"id":null,"status":"lost","_rescued_data":null,"_corrupt_record":null}'
    assert str(error).startswith(
        "[EXPECTATION_VIOLATION] Table 'silver_a' failed to meet the expectation. "
        "Violated expectations: 'known_status', 'has_id'. Input data: "
        "'{\"id\":null,\"status\":\"lost\",\"_rescued_data\":null,\"_corrupt_record\":null}'."
    )
    result = error.result  # type: ignore[attr-defined]
    assert {n: t.status for n, t in result.tables.items()} == {
        "bronze_a": "completed", "silver_a": "failed", "gold_a": "skipped",
        "bronze_b": "completed", "silver_b": "completed",
    }
    assert result["silver_a"].expectations == []  # no metrics for a failed flow
    assert _version(medallion_spark, "silver_a") == version  # the table is unchanged
    assert result.read("silver_a").count() == 2
    assert result.read("silver_b").count() == 3  # the independent branch ran

    log = medallion_spark.table("medallion_db.event_log").where(
        f"origin.update_id = '{result.update_id}' AND event_type IN "
        "('flow_progress', 'update_progress')")
    failed = log.where("level = 'ERROR'").orderBy("sequence.seq_no").collect()
    assert [(r.event_type, r.origin.flow_name) for r in failed] == [
        ("flow_progress", "silver_a"), ("update_progress", None),
    ]
    assert '"class_name": "ExpectationFailed"' in failed[0].error
    assert "data_quality" not in failed[0].details

    # It keeps failing until the data is fixed: the bad batch was not consumed.
    again = run_pipeline(p, raise_on_failure=False)
    assert again["silver_a"].status == "failed"
    assert again["silver_b"].status == "up_to_date"


def _version(spark: Any, table: str) -> int:
    return spark.sql(f"DESCRIBE HISTORY medallion_db.{table} LIMIT 1").first().version
