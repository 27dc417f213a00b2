"""The data-quality report: one self-contained HTML page from the local runner's event log.

The page shows, for the last runs (updates) of a pipeline: per table of the latest update its
rows in / written / dropped / quarantined, per rule its pass rate with a bar, a small chart per
rule of its pass rate across the updates, the schema changes bronze recorded, and the flows that
failed with their error messages. It needs no server: open the file in a browser.

Example:
    >>> import medallion.report
    >>> medallion.report.build_report(warehouse="medallion-warehouse",  # doctest: +SKIP
    ...                               output="report.html")
    PosixPath('report.html')

The work is split so that most of it runs without Spark: :func:`collect_events` queries the
event log, :func:`report_from_events` turns its rows into a :class:`Report`, and
:func:`render_html` writes the page. Importing this package does not import pyspark.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from medallion.errors import MedallionError
from medallion.pipeline import DEFAULT_SCHEMA
from medallion.report.html import render_html
from medallion.report.model import (
    DEFAULT_RUNS,
    EventRow,
    Failure,
    FlowRun,
    Report,
    ReportError,
    RuleCounts,
    RuleTrend,
    SchemaChangeEntry,
    Update,
    format_rate,
    report_from_events,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from medallion.report.collect import EventSource

__all__ = [
    "DEFAULT_RUNS",
    "EventRow",
    "Failure",
    "FlowRun",
    "Report",
    "ReportError",
    "RuleCounts",
    "RuleTrend",
    "SchemaChangeEntry",
    "Update",
    "build_report",
    "check_event_log",
    "collect_events",
    "format_rate",
    "load_report",
    "render_html",
    "report_from_events",
    "write_report",
]

#: The event log's table name in its schema.
EVENT_LOG = "event_log"


def check_event_log(warehouse: str | os.PathLike[str] | None, schema: str) -> Path:
    """The warehouse's root folder, once it is known to hold an event log (no Spark needed).

    Raises:
        ReportError: naming the folder and what to do, when there is no event log there.
    """
    from medallion.backends.local.warehouse import Warehouse

    wh = Warehouse(warehouse)
    if wh.version(schema, EVENT_LOG) is not None:
        return wh.root
    hint = "run a pipeline with this warehouse first, or pass --warehouse DIR (warehouse= in "\
           "Python) naming the folder where your pipelines ran"
    if not wh.root.is_dir():
        raise ReportError(f"no warehouse folder at {wh.root}: {hint}")
    others = sorted(p.name for p in wh.root.iterdir()
                    if p.is_dir() and wh.version(p.name, EVENT_LOG) is not None)
    if others:
        hint = (f"this warehouse has event logs in schema(s) {', '.join(others)}: pass "
                "--schema NAME")
    raise ReportError(f"no event log in {wh.root} (schema {schema}): {hint}")


def collect_events(
    *,
    warehouse: str | os.PathLike[str] | None = None,
    schema: str = DEFAULT_SCHEMA,
    pipeline: str | None = None,
    runs: int = DEFAULT_RUNS,
    spark: SparkSession | None = None,
    source: EventSource | None = None,
) -> list[EventRow]:
    """The event-log rows of a pipeline's last ``runs`` updates.

    Queried with Spark, or read by ``source``
    (:func:`medallion.report.collect.delta_rs_events` reads them without Spark).
    """
    check_event_log(warehouse, schema)
    from medallion.report.collect import collect_events as collect

    return collect(warehouse=warehouse, schema=schema, pipeline=pipeline, runs=runs,
                   spark=spark, source=source)


def load_report(
    *,
    warehouse: str | os.PathLike[str] | None = None,
    schema: str = DEFAULT_SCHEMA,
    pipeline: str | None = None,
    runs: int = DEFAULT_RUNS,
    spark: SparkSession | None = None,
    source: EventSource | None = None,
) -> Report:
    """The report's model for a warehouse: what :func:`build_report` draws.

    Args:
        warehouse: Warehouse folder (default ``$MEDALLION_WAREHOUSE`` or ./medallion-warehouse).
        schema: Schema holding the event log.
        pipeline: The pipeline to report on; default the one that ran last.
        runs: How many of its most recent updates to cover (the trend charts' length).
        spark: Session to query with; default the active one, or a new local session.
        source: Where the rows come from instead of Spark (an
            :class:`~medallion.report.collect.EventSource`).

    Raises:
        ReportError: when there is no event log, or no update of ``pipeline`` in it.
    """
    if runs < 1:
        raise ReportError(f"runs={runs}: give at least 1 run")
    root = check_event_log(warehouse, schema)
    events = collect_events(warehouse=root, schema=schema, pipeline=pipeline, runs=runs,
                            spark=spark, source=source)
    return report_from_events(events, warehouse=str(root), schema=schema, pipeline=pipeline,
                              runs=runs)


def build_report(
    *,
    warehouse: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] = "report.html",
    schema: str = DEFAULT_SCHEMA,
    pipeline: str | None = None,
    runs: int = DEFAULT_RUNS,
    spark: SparkSession | None = None,
) -> Path:
    """Write the data-quality report page of a warehouse's event log; return its path.

    Example:
        >>> import medallion.report
        >>> path = medallion.report.build_report(  # doctest: +SKIP
        ...     warehouse="medallion-warehouse", output="report.html", runs=5)

    Args:
        warehouse: Warehouse folder (default ``$MEDALLION_WAREHOUSE`` or ./medallion-warehouse).
        output: The HTML file to write (its folder is created).
        schema: Schema holding the event log.
        pipeline: The pipeline to report on; default the one that ran last.
        runs: How many of its most recent updates the page covers.
        spark: Session to query with; default the active one, or a new local session.

    Raises:
        ReportError: when there is no event log, or no update of ``pipeline`` in it.
    """
    report = load_report(warehouse=warehouse, schema=schema, pipeline=pipeline, runs=runs,
                         spark=spark)
    return write_report(report, output)


def write_report(report: Report, output: str | os.PathLike[str]) -> Path:
    """Write :func:`render_html`'s page for ``report`` to ``output``; return its path."""
    path = Path(output)
    if path.is_dir():
        raise MedallionError(f"--output {path}: is a folder; name the HTML file to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path
