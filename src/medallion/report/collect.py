"""Fetch the event-log rows the report and ``medallion quality`` need (two small queries).

First the ``create_update`` events (one per run, every pipeline) to choose the pipeline and its
last updates, then the events of those updates only, so the report's cost does not grow with
the event log's history.

The rows come from an :class:`EventSource`: :class:`DeltaRsEvents` reads the event log's Delta
files in-process with the ``deltalake`` package (delta-rs, no JVM: about a second), and
:class:`SparkEvents` queries it with Spark. :func:`delta_rs_events` returns the first when
``deltalake`` is installed and can read the table; callers fall back to Spark otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from medallion.report.model import DEFAULT_RUNS, EventRow

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["DeltaRsEvents", "EventSource", "SparkEvents", "all_events", "collect_events",
           "delta_rs_events", "spark_events"]

#: The event types the report reads.
EVENT_TYPES = ("create_update", "update_progress", "flow_definition", "flow_progress")
#: The event-log columns an :class:`EventRow` is made of.
COLUMNS = ("origin", "sequence", "timestamp", "event_type", "level", "message", "details",
           "error")


class EventSource(Protocol):
    """Where event-log rows come from."""

    #: ``"deltalake"`` or ``"spark"``: what read the rows (shown by ``--verbose``, measured).
    engine: str

    def read(self, event_types: Sequence[str],
             update_ids: Sequence[str] | None = None) -> list[EventRow]:
        """The events of these types (of these updates only, when given)."""
        ...


def _event(row: Any) -> EventRow:
    origin = row["origin"]
    timestamp = row["timestamp"]
    if timestamp is not None and timestamp.tzinfo is not None:
        # delta-rs gives UTC instants; Spark's collect() local wall-clock time: show the same
        timestamp = timestamp.astimezone().replace(tzinfo=None)
    return EventRow(
        pipeline_name=origin["pipeline_name"],
        update_id=origin["update_id"],
        seq_no=int(row["sequence"]["seq_no"]),
        timestamp=timestamp,
        event_type=row["event_type"],
        level=row["level"] or "INFO",
        message=row["message"] or "",
        flow_name=origin["flow_name"],
        dataset_name=origin["dataset_name"],
        details=row["details"],
        error=row["error"],
    )


class SparkEvents:
    """Event-log rows queried with Spark."""

    engine = "spark"

    def __init__(self, log: DataFrame) -> None:
        self._log = log

    def read(self, event_types: Sequence[str],
             update_ids: Sequence[str] | None = None) -> list[EventRow]:
        """The events of these types (of these updates only, when given)."""
        from pyspark.sql import functions as F

        condition = F.col("event_type").isin(*event_types)
        if update_ids is not None:
            condition = condition & F.col("origin.update_id").isin(*update_ids)
        return [_event(r) for r in self._log.where(condition).select(*COLUMNS).collect()]


class DeltaRsEvents:
    """Event-log rows read from the table's Delta files with delta-rs (``deltalake``)."""

    engine = "deltalake"

    def __init__(self, path: Path) -> None:
        from deltalake import DeltaTable

        self._dataset = DeltaTable(str(path)).to_pyarrow_dataset()

    def read(self, event_types: Sequence[str],
             update_ids: Sequence[str] | None = None) -> list[EventRow]:
        """The events of these types (of these updates only, when given)."""
        import pyarrow.dataset as ds

        condition = ds.field("event_type").isin(list(event_types))
        if update_ids is not None:
            condition = condition & ds.field("origin", "update_id").isin(list(update_ids))
        table = self._dataset.to_table(columns=list(COLUMNS), filter=condition)
        return [_event(r) for r in table.to_pylist()]


def spark_events(*, warehouse: str | os.PathLike[str] | None, schema: str,
                 spark: SparkSession | None = None) -> SparkEvents:
    """The event log of a warehouse's schema, queried with Spark (a session starts if needed)."""
    from medallion.eventlog import event_log

    return SparkEvents(event_log(warehouse=warehouse, schema=schema, spark=spark))


def delta_rs_events(*, warehouse: str | os.PathLike[str] | None,
                    schema: str) -> DeltaRsEvents | None:
    """The event log read without Spark, or None; then use :func:`spark_events`.

    None when ``deltalake`` (in ``medallion[local]``) is not installed, or cannot read this
    table (a Delta feature it lacks).
    """
    try:
        import deltalake  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    from medallion.backends.local.eventlog_writer import EVENT_LOG_TABLE
    from medallion.backends.local.warehouse import Warehouse

    path = Warehouse(warehouse).table_path(schema, EVENT_LOG_TABLE)
    try:
        return DeltaRsEvents(path)
    except Exception:  # an unsupported reader feature, a damaged log: Spark will say what
        return None


def collect_events(
    *,
    warehouse: str | os.PathLike[str] | None = None,
    schema: str,
    pipeline: str | None = None,
    runs: int = DEFAULT_RUNS,
    spark: SparkSession | None = None,
    source: EventSource | None = None,
) -> list[EventRow]:
    """The events of ``pipeline``'s last ``runs`` updates (of the latest pipeline by default).

    ``source`` gives the rows (default: Spark, with ``spark`` or a new local session).

    Raises:
        MedallionError: when the warehouse has no event log in ``schema``.
    """
    events = source if source is not None else spark_events(
        warehouse=warehouse, schema=schema, spark=spark)
    starts = events.read(("create_update",))
    if not starts:
        return []
    starts.sort(key=lambda e: (e.timestamp, e.update_id))
    chosen = pipeline if pipeline is not None else starts[-1].pipeline_name
    wanted = [e.update_id for e in starts if e.pipeline_name == chosen][-runs:] if runs > 0 else []
    if not wanted:  # the model explains: which pipelines there are
        return starts
    others = [e for e in starts if e.pipeline_name != chosen]
    return [*others, *events.read(EVENT_TYPES, wanted)]


def all_events(source: EventSource) -> list[EventRow]:
    """Every update's events of the types the report reads (for ``medallion quality``)."""
    return source.read(EVENT_TYPES)
