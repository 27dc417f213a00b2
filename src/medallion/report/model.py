"""The data-quality report's model: event-log rows in, typed facts about the last runs out.

Pure Python (no Spark): :func:`report_from_events` reads the rows that
:mod:`medallion.report.collect` fetched from ``<schema>.event_log``, or any rows shaped like
them, so the whole model is testable without a SparkSession.

What is read, per update (a run) of the pipeline: ``create_update`` (when it started, whether it
was a full refresh), the last ``update_progress`` (COMPLETED / FAILED, duration),
``flow_definition`` (the layer of each flow) and the one final ``flow_progress`` event of each
flow (COMPLETED / FAILED / SKIPPED) with its ``metrics``, ``data_quality``, ``schema_changes``
and ``error``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from medallion.errors import MedallionError

#: How many updates the report covers unless told otherwise.
DEFAULT_RUNS = 10
_FINAL = ("COMPLETED", "FAILED", "SKIPPED")


class ReportError(MedallionError):
    """The event log has nothing to report on (no update, or not of that pipeline)."""


@dataclass(frozen=True)
class EventRow:
    """One event-log row, as the report needs it (``details`` and ``error`` are JSON text)."""

    pipeline_name: str
    update_id: str
    seq_no: int
    timestamp: dt.datetime
    event_type: str
    level: str = "INFO"
    message: str = ""
    flow_name: str | None = None
    dataset_name: str | None = None
    details: str | None = None
    error: str | None = None

    def detail(self, key: str) -> dict[str, Any]:
        """``details[key]`` as a dict (empty when absent or not JSON)."""
        try:
            data = json.loads(self.details or "{}")
        except ValueError:
            return {}
        value = data.get(key) if isinstance(data, dict) else None
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class RuleCounts:
    """Passed and failed records of one rule of one dataset (in one update, or summed)."""

    dataset: str
    name: str
    passed: int
    failed: int
    action: str | None = None

    @property
    def evaluated(self) -> int:
        """Records the rule was checked on."""
        return self.passed + self.failed

    @property
    def pass_rate(self) -> float | None:
        """Share of evaluated records that passed; None when no record was evaluated."""
        return None if self.evaluated == 0 else self.passed / self.evaluated

    @property
    def key(self) -> tuple[str, str]:
        """``(dataset, name)``: what identifies the rule across updates."""
        return (self.dataset, self.name)


@dataclass(frozen=True)
class SchemaChangeEntry:
    """Columns a bronze flow added in one micro-batch (``flow_progress.schema_changes``)."""

    update_id: str
    flow: str
    dataset: str
    batch_id: int
    added: tuple[tuple[str, str], ...]
    files: tuple[str, ...]
    at: str = ""

    def columns(self) -> str:
        """``name TYPE, ...`` of the added columns."""
        return ", ".join(f"{name} {type_.upper()}" for name, type_ in self.added)


@dataclass(frozen=True)
class Failure:
    """A flow that failed in an update, with its error."""

    update_id: str
    flow: str
    dataset: str
    class_name: str
    message: str


@dataclass(frozen=True)
class FlowRun:
    """The final ``flow_progress`` event of one flow in one update.

    Counts are None where the event log has no such number: a failed or skipped flow has no
    metrics, ``rows_quarantined`` exists only for tables with a quarantine table, and event logs
    written before input counts were recorded have no ``rows_in``.
    """

    update_id: str
    flow: str
    dataset: str
    status: str
    layer: str | None = None
    note: str = ""
    rows_in: int | None = None
    rows_written: int | None = None
    rows_dropped: int | None = None
    rows_quarantined: int | None = None
    duplicates_removed: int | None = None
    upserted: int | None = None
    deleted: int | None = None
    late: int | None = None
    malformed: int | None = None
    rescued: int | None = None
    rules: tuple[RuleCounts, ...] = ()
    quarantine_datasets: tuple[str, ...] = ()
    schema_changes: tuple[SchemaChangeEntry, ...] = ()
    failure: Failure | None = None


@dataclass(frozen=True)
class Update:
    """One run of the pipeline."""

    update_id: str
    started: dt.datetime
    state: str
    seconds: float | None = None
    full_refresh: bool = False
    flows: tuple[FlowRun, ...] = ()

    @property
    def short_id(self) -> str:
        """The first 8 characters of the id, as the runner's messages show it."""
        return self.update_id[:8]

    def rules(self) -> tuple[RuleCounts, ...]:
        """Counts per rule, summed over the flows of this update (in the order first seen)."""
        totals: dict[tuple[str, str], RuleCounts] = {}
        for flow in self.flows:
            for rule in flow.rules:
                seen = totals.get(rule.key)
                totals[rule.key] = rule if seen is None else RuleCounts(
                    rule.dataset, rule.name, seen.passed + rule.passed, seen.failed + rule.failed,
                    seen.action or rule.action)
        return tuple(totals.values())

    @property
    def rows_written(self) -> int:
        """Rows written by every flow of the update."""
        return sum(f.rows_written or 0 for f in self.flows)

    @property
    def failed_flows(self) -> tuple[FlowRun, ...]:
        """Flows whose update failed."""
        return tuple(f for f in self.flows if f.status == "FAILED")


@dataclass(frozen=True)
class RuleTrend:
    """One rule across the report's updates: its counts per update (None: not evaluated)."""

    dataset: str
    name: str
    action: str | None
    points: tuple[RuleCounts | None, ...]


@dataclass(frozen=True)
class Report:
    """Everything the page shows: the pipeline's last updates, oldest first."""

    pipeline: str
    warehouse: str
    schema: str
    updates: tuple[Update, ...]
    other_pipelines: tuple[str, ...] = ()

    @property
    def latest(self) -> Update:
        """The most recent update."""
        return self.updates[-1]

    def trends(self) -> tuple[RuleTrend, ...]:
        """Every rule seen in the report's updates, with its counts in each update."""
        keys: dict[tuple[str, str], str | None] = {}
        per_update = [{r.key: r for r in u.rules()} for u in self.updates]
        for counts in per_update:
            for key, rule in counts.items():
                if keys.get(key) is None:
                    keys[key] = rule.action
        return tuple(
            RuleTrend(key[0], key[1], action, tuple(_evaluated(c.get(key)) for c in per_update))
            for key, action in keys.items()
        )

    def schema_changes(self) -> tuple[SchemaChangeEntry, ...]:
        """Schema changes of the report's updates, newest update first."""
        return tuple(c for u in reversed(self.updates) for f in u.flows
                     for c in f.schema_changes)

    def failures(self) -> tuple[Failure, ...]:
        """Failed flows of the report's updates, newest update first."""
        return tuple(f.failure for u in reversed(self.updates) for f in u.flows
                     if f.failure is not None)


def _evaluated(counts: RuleCounts | None) -> RuleCounts | None:
    return counts if counts is not None and counts.evaluated else None


def format_rate(passed: int, failed: int) -> str:
    """A pass rate as the report prints it: two decimals, never rounded to 100% or 0% falsely.

    Example:
        >>> format_rate(2, 1), format_rate(99_999, 1), format_rate(0, 0)
        ('66.67%', '99.99%', '-')
    """
    total = passed + failed
    if total == 0:
        return "-"
    hundredths = passed * 10_000 / total
    value = math.floor(hundredths + 0.5)
    if failed and value == 10_000:
        value = 9_999
    elif passed and value == 0:
        value = 1
    return f"{value // 100}.{value % 100:02d}%"


def report_from_events(
    events: Iterable[EventRow],
    *,
    warehouse: str,
    schema: str,
    pipeline: str | None = None,
    runs: int = DEFAULT_RUNS,
) -> Report:
    """Build the report's model from event-log rows.

    Args:
        events: Rows of the event log (any order; rows of other pipelines or older updates are
            ignored).
        warehouse: The warehouse folder, shown on the page and in errors.
        schema: The schema of the event log.
        pipeline: The pipeline to report on; default the one that ran last.
        runs: How many of its most recent updates to cover.

    Raises:
        ReportError: when there is no update (of that pipeline) in ``events``.
    """
    if runs < 1:
        raise ReportError(f"--runs {runs}: give at least 1 run")
    rows = list(events)
    starts = sorted((e for e in rows if e.event_type == "create_update"),
                    key=lambda e: (e.timestamp, e.update_id))
    names = sorted({e.pipeline_name for e in starts})
    if not starts:
        raise ReportError(
            f"the event log in {warehouse} (schema {schema}) records no update: run a pipeline "
            "there first, or pass --warehouse pointing at the right folder")
    if pipeline is None:
        pipeline = starts[-1].pipeline_name
    elif pipeline not in names:
        raise ReportError(
            f"no update of pipeline '{pipeline}' in the event log in {warehouse} (schema "
            f"{schema}); it has: {', '.join(repr(n) for n in names)}")
    chosen = [e for e in starts if e.pipeline_name == pipeline][-runs:]
    by_update: dict[str, list[EventRow]] = {e.update_id: [] for e in chosen}
    for e in rows:
        if e.update_id in by_update and e.pipeline_name == pipeline:
            by_update[e.update_id].append(e)
    updates = tuple(_update(start, by_update[start.update_id]) for start in chosen)
    return Report(pipeline=pipeline, warehouse=warehouse, schema=schema, updates=updates,
                  other_pipelines=tuple(n for n in names if n != pipeline))


def _update(start: EventRow, events: list[EventRow]) -> Update:
    events = sorted(events, key=lambda e: e.seq_no)
    state, seconds = "RUNNING", None
    layers: dict[str, str] = {}
    flows: list[FlowRun] = []
    for e in events:
        if e.event_type == "update_progress":
            progress = e.detail("update_progress")
            state = str(progress.get("state", state))
            if "duration_seconds" in progress:
                seconds = float(progress["duration_seconds"])
        elif e.event_type == "flow_definition" and e.flow_name is not None:
            layer = e.detail("flow_definition").get("layer")
            if isinstance(layer, str):
                layers[e.flow_name] = layer
        elif e.event_type == "flow_progress" and e.flow_name is not None:
            progress = e.detail("flow_progress")
            if progress.get("status") in _FINAL:
                flows.append(_flow_run(e, progress, layers.get(e.flow_name)))
    full_refresh = bool(start.detail("create_update").get("full_refresh", False))
    return Update(start.update_id, start.timestamp, state, seconds, full_refresh, tuple(flows))


def _flow_run(e: EventRow, progress: Mapping[str, Any], layer: str | None) -> FlowRun:
    flow = e.flow_name or ""
    dataset = e.dataset_name or flow
    status = str(progress["status"])
    metrics = progress.get("metrics") or {}
    quality = progress.get("data_quality")
    completed = status == "COMPLETED"
    rules = tuple(
        RuleCounts(str(x.get("dataset") or dataset), str(x["name"]),
                   int(x.get("passed_records") or 0), int(x.get("failed_records") or 0),
                   x.get("action"))
        for x in (quality or {}).get("expectations") or ())
    changes = tuple(
        SchemaChangeEntry(e.update_id, flow, dataset, int(c.get("batch_id", 0)),
                          tuple((str(n), str(t)) for n, t in c.get("added", ())),
                          tuple(str(f) for f in c.get("files", ())), str(c.get("at", "")))
        for c in progress.get("schema_changes") or ())
    return FlowRun(
        update_id=e.update_id,
        flow=flow,
        dataset=dataset,
        status=status,
        layer=layer,
        note=_note(e.message, flow, status),
        rows_in=_count(metrics, "num_input_rows"),
        rows_written=_count(metrics, "num_output_rows"),
        rows_dropped=(int(quality.get("dropped_records") or 0) if quality
                      else (0 if completed and metrics else None)),
        rows_quarantined=_count(metrics, "num_quarantined_rows"),
        duplicates_removed=_count(metrics, "num_duplicate_rows",
                                  0 if completed and "num_input_rows" in metrics else None),
        upserted=_count(metrics, "num_upserted_rows"),
        deleted=_count(metrics, "num_deleted_rows"),
        late=_count(metrics, "num_late_rows"),
        malformed=_count(metrics, "num_malformed_records"),
        rescued=_count(metrics, "num_rescued_records"),
        rules=rules,
        quarantine_datasets=tuple(str(d) for d in progress.get("quarantine_datasets") or ()),
        schema_changes=changes,
        failure=_failure(e, flow, dataset) if status == "FAILED" else None,
    )


def _count(metrics: Mapping[str, Any], key: str, default: int | None = None) -> int | None:
    value = metrics.get(key)
    return default if value is None else int(value)


def _note(message: str, flow: str, status: str) -> str:
    """What the runner added after ``Flow 'x' has STATUS.`` (why it was skipped, ...)."""
    prefix = f"Flow '{flow}' has {status}."
    return message[len(prefix):].strip().removesuffix(".") if message.startswith(prefix) else ""


def _failure(e: EventRow, flow: str, dataset: str) -> Failure:
    try:
        error = json.loads(e.error or "{}")
    except ValueError:
        error = {"exceptions": [{"message": e.error}]}
    exceptions = (error.get("exceptions") or [{}]) if isinstance(error, dict) else [{}]
    first = exceptions[0] if isinstance(exceptions[0], dict) else {}
    message = "\n".join(str(x.get("message", "")) for x in exceptions if isinstance(x, dict))
    return Failure(e.update_id, flow, dataset, str(first.get("class_name") or "Error"),
                   message or e.message)
