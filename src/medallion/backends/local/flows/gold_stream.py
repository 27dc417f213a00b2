"""Windowed streaming gold on the local runner: exact late-data accounting, any aggregate.

Spark's own streaming aggregation drops rows behind the watermark and reports only the number
of *partial aggregates* it dropped, so the count of late rows would be wrong. Instead each
micro-batch is handled here, with the open windows' rows kept in a Delta table beside the
checkpoint (the state store):

1. the watermark for the batch is the greatest event time seen in earlier batches minus the
   ``watermark`` delay (Spark's rule); a row whose window ended at or before it is late:
   counted in ``rows_late``, not aggregated;
2. on-time rows are appended to the open-window rows (idempotently, by batch id);
3. ``update`` mode: the windows those rows touch are recomputed from the open-window rows and
   MERGEd into the table; ``append`` mode: windows closed by the new watermark are written
   once, then forgotten;
4. rows of windows the new watermark closed are removed from the state.

A replayed batch (after a crash) recomputes the same windows and changes nothing more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medallion.backends.local import caching, delta, merge
from medallion.backends.local.delta import Target
from medallion.core import gold as core

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from medallion.backends.local.flows.gold import GoldFlow


def run_windowed(flow: GoldFlow) -> None:
    """Process the new source rows of a windowed streaming gold table."""
    spec = flow.spec
    assert spec.window is not None
    assert spec.watermark is not None
    fingerprint = flow.fingerprint()
    if flow.up_to_date(fingerprint):
        flow.result.status = "up_to_date"
        flow.result.detail = "no new rows in its source since the last run"
        return
    delay = core.interval_micros(spec.watermark)
    end_key = core.hidden(spec.window.end)
    event = core.quote(spec.window.column)
    state_target = Target(flow.run.schema, "open_windows", flow.checkpoint / "open-windows")
    app_id = flow.txn_app_id(flow.decl.name)

    def handle(batch: DataFrame, batch_id: int) -> None:
        from pyspark.sql import functions as F

        state = flow.flow_state()
        if state.get("batch_id") == batch_id:  # a replay: use the watermark it first saw
            seen = state.get("previous_max_event_micros")
        else:
            seen = state.get("max_event_micros")
        watermark = None if seen is None else int(seen) - delay
        rows = caching.keep(core.with_keys(batch, spec))
        try:
            late = (F.lit(False) if watermark is None
                    else F.unix_micros(F.col(end_key)) <= F.lit(watermark))
            stats = rows.agg(
                F.count(F.lit(1)).alias("rows"),
                F.count_if(late).alias("late"),
                F.max(F.unix_micros(F.col(event))).alias("max_event"),
            ).first()
            assert stats is not None
            flow.result.rows_in += int(stats["rows"])
            flow.result.rows_late += int(stats["late"])
            on_time = rows.where(~late)
            batch_max = stats["max_event"]
            new_seen = seen if batch_max is None else max(int(batch_max), int(seen or batch_max))
            if int(stats["rows"]) > int(stats["late"]):
                # The state table lives beside the checkpoint, outside the catalog.
                (on_time.write.format("delta").mode("append").option("mergeSchema", "true")
                 .option("txnAppId", app_id + ":state").option("txnVersion", str(batch_id))
                 .save(state_target.uri))
                new_watermark = None if new_seen is None else int(new_seen) - delay
                _publish(flow, on_time, state_target, new_watermark, batch_id, app_id)
        finally:
            rows.unpersist()
        flow.save_flow_state({"batch_id": batch_id, "previous_max_event_micros": seen,
                              "max_event_micros": new_seen})

    flow.stream(flow.reader.read_stream(spec.source), handle)
    if flow.target.version() is None:
        _create_empty(flow)
    flow.remember(fingerprint)


def _publish(flow: GoldFlow, on_time: DataFrame, state_target: Target,
             new_watermark: int | None, batch_id: int, app_id: str) -> None:
    """Write what the batch changed into the table, then forget the closed windows."""
    from pyspark.sql import functions as F

    spec = flow.spec
    assert spec.window is not None
    spark = flow.run.spark
    open_rows = spark.read.format("delta").load(state_target.uri)
    end_key = core.hidden(spec.window.end)
    closed = (F.lit(False) if new_watermark is None
              else F.unix_micros(F.col(end_key)) <= F.lit(new_watermark))
    target = flow.target
    if spec.output_mode == "update":
        groups = on_time.select(*[F.col(k) for k in core.key_names(spec)]).distinct()
        fresh = core.refresh_groups(open_rows, groups, spec)
        if target.version() is None:
            delta.ensure_table(spark, target, fresh.drop(core.KEEP).schema)
        flow._merge(fresh)
    else:
        finished = core.aggregate_keyed(open_rows.where(closed), spec)
        before = target.version()
        delta.append(finished, target, txn=(app_id, batch_id))
        written = delta.rows_written(target, before)
        flow.result.rows_written += written
        flow.result.num_upserted_rows += written
    if new_watermark is not None:
        merge.table(spark, state_target).delete(
            f"unix_micros({core.quote(end_key)}) <= {new_watermark}")


def _create_empty(flow: GoldFlow) -> None:
    """Create the (empty) table when no row arrived yet, so readers can query it."""
    source = flow.reader.read(flow.spec.source).limit(0)
    empty: Any = core.aggregate(source, flow.spec)
    delta.ensure_table(flow.run.spark, flow.target, empty.schema)
