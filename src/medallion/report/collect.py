"""Fetch the event-log rows the report needs, with Spark (two small queries).

First the ``create_update`` events (one per run, every pipeline) to choose the pipeline and its
last updates, then the events of those updates only, so the report's cost does not grow with
the event log's history.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from medallion.report.model import DEFAULT_RUNS, EventRow

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["collect_events"]

#: The event types the report reads.
EVENT_TYPES = ("create_update", "update_progress", "flow_definition", "flow_progress")


def _event(row: Any) -> EventRow:
    origin = row["origin"]
    return EventRow(
        pipeline_name=origin["pipeline_name"],
        update_id=origin["update_id"],
        seq_no=int(row["sequence"]["seq_no"]),
        timestamp=row["timestamp"],
        event_type=row["event_type"],
        level=row["level"] or "INFO",
        message=row["message"] or "",
        flow_name=origin["flow_name"],
        dataset_name=origin["dataset_name"],
        details=row["details"],
        error=row["error"],
    )


def collect_events(
    *,
    warehouse: str | os.PathLike[str] | None = None,
    schema: str,
    pipeline: str | None = None,
    runs: int = DEFAULT_RUNS,
    spark: SparkSession | None = None,
) -> list[EventRow]:
    """The events of ``pipeline``'s last ``runs`` updates (of the latest pipeline by default).

    Raises:
        MedallionError: when the warehouse has no event log in ``schema``.
    """
    from pyspark.sql import functions as F

    from medallion.eventlog import event_log

    log = event_log(warehouse=warehouse, schema=schema, spark=spark)
    starts = [_event(r) for r in log.where(F.col("event_type") == "create_update")
              .select("origin", "sequence", "timestamp", "event_type", "level", "message",
                      "details", "error").collect()]
    if not starts:
        return []
    starts.sort(key=lambda e: (e.timestamp, e.update_id))
    chosen = pipeline if pipeline is not None else starts[-1].pipeline_name
    wanted = [e.update_id for e in starts if e.pipeline_name == chosen][-runs:] if runs > 0 else []
    if not wanted:  # the model explains: which pipelines there are
        return starts
    others = [e for e in starts if e.pipeline_name != chosen]
    rows = (log.where(F.col("origin.update_id").isin(wanted)
                      & F.col("event_type").isin(*EVENT_TYPES))
            .select("origin", "sequence", "timestamp", "event_type", "level", "message",
                    "details", "error").collect())
    return [*others, *(_event(r) for r in rows)]

