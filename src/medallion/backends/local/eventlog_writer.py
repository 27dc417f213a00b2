"""The local runner's event log: a Delta table with the columns of Databricks' pipeline event log.

One row per event. Each update (a run) writes ``create_update``, ``update_progress`` RUNNING,
``flow_definition`` per flow, ``flow_progress`` events per flow (QUEUED, RUNNING, then exactly one
final COMPLETED / FAILED / SKIPPED event), and ``update_progress`` COMPLETED or FAILED. Only the
final ``flow_progress`` event of a flow carries ``metrics`` and ``data_quality``, so summing all
``flow_progress`` events of an update counts every row exactly once.

Beyond Databricks' fields, the final event's ``metrics`` also hold ``num_input_rows`` (and
``num_duplicate_rows``, ``num_quarantined_rows``, bronze's malformed/rescued counts where they
apply), and each expectation its ``action``; :mod:`medallion.report` reads them.

``details`` and ``error`` are JSON strings, as on Databricks; ``origin`` is a struct, so the
usual ``origin.update_id`` / ``origin.dataset_name`` filters work unchanged.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from medallion.backends.local import faults
from medallion.backends.local.delta import Target, append

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from medallion.backends.local.result import TableResult
    from medallion.pipeline import Declaration

EVENT_LOG_TABLE = "event_log"
#: The table's columns (Databricks' names and order).
EVENT_LOG_SCHEMA = (
    "id STRING, "
    "sequence STRUCT<update_id: STRING, seq_no: BIGINT>, "
    "origin STRUCT<pipeline_id: STRING, pipeline_name: STRING, update_id: STRING, "
    "flow_id: STRING, flow_name: STRING, dataset_name: STRING, table_name: STRING, "
    "batch_id: BIGINT>, "
    "timestamp TIMESTAMP, "
    "message STRING, "
    "level STRING, "
    "maturity_level STRING, "
    "error STRING, "
    "details STRING, "
    "event_type STRING"
)

_FINAL_STATUS = {
    "completed": "COMPLETED",
    "up_to_date": "COMPLETED",
    "failed": "FAILED",
    "skipped": "SKIPPED",
}


def pipeline_id(pipeline_name: str, warehouse: str) -> str:
    """A stable id for a pipeline in a warehouse (the same across runs and processes)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"medallion:{warehouse}:{pipeline_name}"))


@dataclass
class EventLog:
    """Collects one update's events and appends them to the event log table."""

    pipeline_name: str
    pipeline_id: str
    schema: str
    update_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    events: list[tuple[Any, ...]] = field(default_factory=list)
    #: ``@dlt.on_event_hook`` functions and their failure limits (see :meth:`_call_hooks`).
    hooks: list[tuple[Callable[[dict[str, Any]], Any], int | None]] = field(default_factory=list)
    _failures: dict[int, int] = field(default_factory=dict)

    def emit(
        self,
        event_type: str,
        message: str,
        details: dict[str, Any],
        *,
        level: str = "INFO",
        flow: str | None = None,
        dataset: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        """Record one event (kept in memory until :meth:`write`)."""
        origin = (
            self.pipeline_id,
            self.pipeline_name,
            self.update_id,
            None if flow is None else str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                     f"{self.pipeline_id}:{flow}")),
            flow,
            dataset,
            None if dataset is None else f"{self.schema}.{dataset}",
            None,
        )
        self.events.append(
            (
                str(uuid.uuid4()),
                (self.update_id, len(self.events)),
                origin,
                dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
                message,
                level,
                "STABLE",
                None if error is None else json.dumps(error, sort_keys=True),
                json.dumps(details, sort_keys=True),
                event_type,
            )
        )
        if self.hooks and event_type != "hook_progress":  # as Databricks: no hook loops
            self._call_hooks(self.events[-1])

    def _call_hooks(self, row: tuple[Any, ...]) -> None:
        """Give each enabled hook the event as a dict; a failing hook never fails the update.

        A hook failing more than its ``max_allowable_consecutive_failures`` times in a row is
        disabled for the rest of the update; each failure is a ``hook_progress`` event.
        """
        event = event_dict(row)
        for index, (hook, limit) in enumerate(self.hooks):
            failures = self._failures.get(index, 0)
            if limit is not None and failures > limit:
                continue
            try:
                hook(dict(event))
            except Exception as exc:
                failures += 1
                disabled = limit is not None and failures > limit
                name = getattr(hook, "__name__", repr(hook))
                self.emit(
                    "hook_progress",
                    f"Event hook '{name}' failed on a {event['event_type']} event "
                    f"({type(exc).__name__}: {exc})" + ("; it is disabled" if disabled else ""),
                    {"hook_progress": {"name": name, "status": "DISABLED" if disabled
                                       else "FAILED", "consecutive_failures": failures}},
                    level="WARN",
                )
            else:
                failures = 0
            self._failures[index] = failures

    # -- the events of an update ---------------------------------------------------------------
    def update_started(self, full_refresh: set[str], tables: list[str]) -> None:
        """``create_update`` and ``update_progress`` RUNNING."""
        self.emit(
            "create_update",
            f"Update {self.update_id[:8]} started by API call.",
            {"create_update": {
                "cause": "API_CALL",
                "full_refresh": bool(tables) and set(tables) <= full_refresh,
                "full_refresh_selection": sorted(full_refresh),
            }},
        )
        self.emit("update_progress", f"Update {self.update_id[:8]} is RUNNING.",
                  {"update_progress": {"state": "RUNNING"}})

    def flow_defined(self, decl: Declaration, flow_type: str) -> None:
        """``flow_definition``: what the flow reads and writes (lineage)."""
        spec = decl.spec
        dataset = _dataset(decl)
        self.emit(
            "flow_definition",
            f"Flow '{decl.name}' is defined as {flow_type.upper()}.",
            {"flow_definition": {
                "output_dataset": dataset,
                "output_datasets": list(spec.outputs()) or [dataset],
                "input_datasets": list(spec.inputs()),
                "flow_type": flow_type.upper(),
                "layer": spec.layer,
            }},
            flow=decl.name,
            dataset=dataset,
        )

    def flow_status(self, decl: Declaration, status: str) -> None:
        """A ``flow_progress`` event without metrics (QUEUED, RUNNING)."""
        self.emit("flow_progress", f"Flow '{decl.name}' is {status}.",
                  {"flow_progress": {"status": status}}, flow=decl.name, dataset=_dataset(decl))

    def flow_finished(self, decl: Declaration, table: TableResult) -> None:
        """The one final ``flow_progress`` event of a flow, with its metrics when it completed.

        A silver table with quarantine also reports its quarantine table as a dataset written by
        the same flow (the rows are counted once, in the flow's own event).
        """
        status = _FINAL_STATUS[table.status]
        progress: dict[str, Any] = {"status": status}
        error = None
        level = "INFO"
        if table.status in ("completed", "up_to_date"):
            progress["metrics"] = {"num_output_rows": table.rows_written,
                                   "num_input_rows": table.rows_in}
            if table.duplicates_removed:
                progress["metrics"]["num_duplicate_rows"] = table.duplicates_removed
            if table.num_upserted_rows or table.num_deleted_rows or _merges(decl):
                progress["metrics"]["num_upserted_rows"] = table.num_upserted_rows
                progress["metrics"]["num_deleted_rows"] = table.num_deleted_rows
            if table.rows_late:
                # Rows behind the watermark: not aggregated, but never silently lost.
                progress["metrics"]["num_late_rows"] = table.rows_late
            if table.expectations or table.rows_dropped:
                progress["data_quality"] = {
                    "dropped_records": table.rows_dropped,
                    "expectations": [
                        {"name": e.name, "dataset": decl.name, "action": e.action,
                         "passed_records": e.passed, "failed_records": e.failed}
                        for e in table.expectations
                    ],
                }
            if decl.spec.layer == "bronze":
                progress["metrics"]["num_malformed_records"] = table.rows_malformed
                progress["metrics"]["num_rescued_records"] = table.rows_rescued
            elif getattr(decl.spec, "malformed_records", ()):
                # silver rows sent to quarantine as malformed (they are in num_quarantined_rows)
                progress["metrics"]["num_malformed_records"] = table.rows_malformed
            if table.schema_changes:
                progress["schema_changes"] = [c.to_json() for c in table.schema_changes]
            extra = [o for o in decl.spec.outputs() if o != decl.name]
            if extra:
                progress["metrics"]["num_quarantined_rows"] = table.rows_quarantined
                progress["quarantine_datasets"] = extra
        elif table.status == "failed":
            level = "ERROR"
            error = {
                "fatal": True,
                "exceptions": [{
                    "class_name": type(table.error).__name__,
                    "message": str(table.error),
                }],
            }
        elif table.status == "skipped":
            level = "WARN"
        if table.repairs:
            progress["checkpoint_repairs"] = list(table.repairs)
        message = f"Flow '{decl.name}' has {status}."
        if table.detail:
            message += f" {table.detail}."
        for repair in table.repairs:
            message += f" Before starting, medallion {repair}."
        if table.refresh is not None:
            self.planning(decl, table)
        self.emit("flow_progress", message, {"flow_progress": progress}, level=level,
                  flow=decl.name, dataset=_dataset(decl), error=error)

    def planning(self, decl: Declaration, table: TableResult) -> None:
        """``planning_information``: how a materialized view was refreshed, and why.

        Shaped like Databricks' event (``technique_information`` with ``maintenance_type``):
        the chosen technique first, then one that applied but was judged costlier.
        """
        self.emit(
            "planning_information",
            f"Flow '{decl.name}' has been planned to be executed as {table.refresh}."
            + (f" {table.refresh_reason}." if table.refresh_reason else ""),
            {"planning_information": {"technique_information": [{
                "maintenance_type": f"MAINTENANCE_TYPE_{table.refresh}",
                "is_chosen": True,
                "is_applicable": True,
                "reason": table.refresh_reason or None,
            }, *([{
                "maintenance_type": f"MAINTENANCE_TYPE_{table.refresh_rejected}",
                "is_chosen": False,
                "is_applicable": True,
                "reason": "costlier than the chosen technique",
            }] if table.refresh_rejected else [])]}},
            flow=decl.name,
            dataset=_dataset(decl),
        )

    def update_finished(self, ok: bool, seconds: float) -> None:
        """``update_progress`` COMPLETED or FAILED."""
        state = "COMPLETED" if ok else "FAILED"
        self.emit(
            "update_progress",
            f"Update {self.update_id[:8]} is {state}.",
            {"update_progress": {"state": state, "duration_seconds": round(seconds, 3)}},
            level="INFO" if ok else "ERROR",
        )

    # -- storage ---------------------------------------------------------------------------------
    def write(self, spark: SparkSession, target: Target) -> None:
        """Append the collected events to the event log table in one commit."""
        if not self.events:
            return
        df = spark.createDataFrame(self.events, EVENT_LOG_SCHEMA)
        faults.reach("event-log", target.name)
        append(df, target)
        self.events.clear()


def event_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    """An event-log row as the dict an event hook receives (JSON columns parsed)."""
    (event_id, (update_id, seq_no), origin, timestamp, message, level, maturity, error,
     details, event_type) = row
    origin_names = ("pipeline_id", "pipeline_name", "update_id", "flow_id", "flow_name",
                    "dataset_name", "table_name", "batch_id")
    return {
        "id": event_id,
        "sequence": {"update_id": update_id, "seq_no": seq_no},
        "origin": dict(zip(origin_names, origin, strict=True)),
        "timestamp": timestamp.isoformat() + "Z",
        "message": message,
        "level": level,
        "maturity_level": maturity,
        "error": None if error is None else json.loads(error),
        "details": json.loads(details),
        "event_type": event_type,
    }


def _dataset(decl: Declaration) -> str:
    """The dataset a flow writes: its own table, or a flow's target."""
    target = getattr(decl.spec, "target", None)
    return target if isinstance(target, str) else decl.name


def _merges(decl: Declaration) -> bool:
    """Whether the flow writes by MERGE (AUTO CDC), so its upsert/delete counts always show."""
    return getattr(decl.spec, "kind", None) in ("auto_cdc", "auto_cdc_snapshot")
