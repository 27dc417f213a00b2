"""A checkpoint a killed run left unstartable is repaired before the stream starts.

The reported failure: SIGKILL while Spark wrote the first offsets of a silver stream with dedup
keys left ``offsets/.0.<uuid>.tmp`` and no ``offsets/0``; every later run failed with
``STATE_STORE_CHECKPOINT_LOCATION_NOT_EMPTY`` until a full refresh. The test lays out exactly
what that kill leaves (Spark writes ``metadata`` first, then the offsets through a temporary
file and its checksum) and runs again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality

import medallion
from medallion.backends.local import LocalRunner
from tests.spark.conftest import write_json_lines

pytestmark = pytest.mark.spark

TMP = ".0.6c1f0a4e-2b8d-4a55-9a57-0d3c2f9e8b11.tmp"


def pipeline(raw: Path, *, with_silver: bool = True) -> medallion.Pipeline:
    with medallion.Pipeline("orders") as p:
        medallion.bronze_autoloader(name="bronze_orders", path=str(raw),
                                    schema="order_id BIGINT, amount BIGINT")
        if with_silver:
            medallion.silver_with_rules(name="silver_orders", source="bronze_orders",
                                        dedup_keys=["order_id"])
    return p


def test_unrenamed_first_offsets_are_removed_and_the_run_completes(
    raw: Path, tmp_path: Path, medallion_spark: Any
) -> None:
    write_json_lines(raw, "a.json", [{"order_id": 1, "amount": 5}, {"order_id": 1, "amount": 5},
                                     {"order_id": 2, "amount": 7}])
    warehouse = tmp_path / "warehouse"
    runner = LocalRunner(warehouse=warehouse, spark=medallion_spark)
    runner.run(pipeline(raw, with_silver=False))
    # what the kill left: bronze done; silver's stream started, killed writing its offsets
    checkpoint = warehouse / "_system" / "checkpoints" / "medallion_db" / "silver_orders"
    (checkpoint / "offsets").mkdir(parents=True)
    (checkpoint / "metadata").write_text('{"id":"0b6f3c1e-8a4d-4f7e-9c1a-5d2e7f8a9b30"}\n')
    (checkpoint / "offsets" / TMP).write_text('v1\n{"batchWatermarkMs":0,"batchTimestampMs":1')
    (checkpoint / "offsets" / f".{TMP}.crc").write_bytes(b"crc\x00")

    result = runner.run(pipeline(raw))

    table = result["silver_orders"]
    assert table.status == "completed"
    assert table.repairs == [
        "removed 2 temporary file(s) an interrupted run left in its streaming checkpoint "
        f"(offsets/.{TMP}.crc, offsets/{TMP})"]
    assert f"  silver_orders: {table.repairs[0]}; 1 duplicate(s) removed" in (
        result.summary().splitlines())
    assert_df_equality(result.read("silver_orders").select("order_id", "amount"),
                       medallion_spark.createDataFrame([(1, 5), (2, 7)],
                                                       "order_id BIGINT, amount BIGINT"),
                       ignore_row_order=True, ignore_nullable=True)
    events = medallion_spark.read.format("delta").load(
        (warehouse / "medallion_db" / "event_log").as_uri()).where(
        "origin.flow_name = 'silver_orders' AND "
        "get_json_object(details, '$.flow_progress.status') = 'COMPLETED'"
    ).orderBy("timestamp").collect()
    last = events[-1]
    assert json.loads(last.details)["flow_progress"]["checkpoint_repairs"] == table.repairs
    assert last.message.endswith(f"Before starting, medallion {table.repairs[0]}.")
