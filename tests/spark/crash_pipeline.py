"""The crash matrix's pipeline: one small pipeline with every kind of streaming work.

    medallion run tests/spark/crash_pipeline.py --conf raw=RAW_FOLDER

bronze Auto Loader (one file per micro-batch) → silver with dedup keys and a quarantine →
a windowed streaming gold, an append flow into a streaming table, AUTO CDC SCD1 and SCD2.
"""

from __future__ import annotations

from typing import Any

import medallion
from medallion import Rule, TimeWindow, agg

SCHEMA = "id BIGINT, name STRING, op STRING, seq BIGINT, ts TIMESTAMP"
CDC_DROP = ["op", "seq", "ts", "_rescued_data", "_corrupt_record"]
# Streaming tables in the order the runner writes them, each with the columns that identify a
# row (for comparing two warehouses row for row).
TABLES = ("bronze_events", "silver_events", "silver_events_quarantine", "gold_windows",
          "all_events", "customers", "customer_history")


def declare(raw: str) -> None:
    """Declare the pipeline's tables (into the active pipeline)."""
    medallion.bronze_autoloader(name="bronze_events", path=raw, schema=SCHEMA,
                                max_files_per_trigger=1)
    medallion.silver_with_rules(
        name="silver_events", source="bronze_events", dedup_keys=["id", "seq"],
        rules=[Rule(name="has_id", condition="id IS NOT NULL", action="drop")],
        quarantine="silver_events_quarantine")
    medallion.gold_aggregate(
        name="gold_windows", source="silver_events", group_by=["op"], incremental=True,
        window=TimeWindow(column="ts", duration="1 hour", start="hour_start", end="hour_end"),
        watermark="1 hour", output_mode="update",
        aggregations=[agg.count("id", alias="events"), agg.sum("seq", alias="seq_total")])
    medallion.create_streaming_table("all_events")

    @medallion.append_flow(target="all_events", name="events_flow")
    def events_flow(ctx: Any) -> Any:
        return ctx.read_stream("silver_events").select("id", "seq", "op")

    medallion.create_streaming_table("customers")
    medallion.create_auto_cdc_flow(
        target="customers", source="silver_events", keys=["id"], sequence_by="seq",
        apply_as_deletes="op = 'DELETE'", except_column_list=CDC_DROP, name="customers_scd1")
    medallion.create_streaming_table("customer_history")
    medallion.create_auto_cdc_flow(
        target="customer_history", source="silver_events", keys=["id"], sequence_by="seq",
        apply_as_deletes="op = 'DELETE'", except_column_list=CDC_DROP, stored_as_scd_type=2,
        name="customers_scd2")


if __name__ == "__medallion__":
    declare(spark.conf.get("raw"))  # type: ignore[name-defined]  # noqa: F821
