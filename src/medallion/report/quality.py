"""``medallion quality``: the passed and failed records per rule, from event-log rows (no Spark).

By default each pipeline's latest update. A rerun that found nothing new evaluates no rule, so
its latest update alone would show nothing: the summary then says so and names the last update
that did evaluate rules, and ``--all-updates`` shows every update.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from medallion.report.model import (
    EventRow,
    ReportError,
    RuleCounts,
    Update,
    _update,
    format_rate,
)

__all__ = ["QualityLine", "QualitySummary", "quality_summary"]


@dataclass(frozen=True)
class QualityLine:
    """One rule of one dataset in one update."""

    pipeline: str
    update: Update
    rule: RuleCounts


@dataclass(frozen=True)
class QualitySummary:
    """What ``medallion quality`` prints: the rule lines, then notes about what is not shown."""

    lines: tuple[QualityLine, ...]
    notes: tuple[str, ...]

    def text(self) -> list[str]:
        """The printed lines: a table of the rules (when any), then the notes."""
        out = []
        if self.lines:
            out.append(f"{'pipeline':<16} {'update':<10} {'table.rule':<40} {'passed':>10} "
                       f"{'failed':>9} {'pass rate':>9}")
        for line in self.lines:
            r = line.rule
            rate = format_rate(r.passed, r.failed)
            out.append(f"{line.pipeline:<16} {line.update.short_id:<10} "
                       f"{r.dataset + '.' + r.name:<40} {r.passed:>10,} {r.failed:>9,} "
                       f"{rate:>9}")
        return [*out, *self.notes]


def _evaluated(update: Update) -> bool:
    """Whether a rule of ``update`` saw a record (an up-to-date table's rules see none)."""
    return any(rule.evaluated for rule in update.rules())


def _when(update: Update, *, state: bool = False) -> str:
    started = f"started {update.started:%Y-%m-%d %H:%M:%S}"
    return f"{update.short_id} ({started}{', ' + update.state if state else ''})"


def quality_summary(events: Iterable[EventRow], *, pipeline: str | None = None,
                    all_updates: bool = False) -> QualitySummary:
    """The rules of each pipeline's latest update (or of every update), from event-log rows.

    Args:
        events: Event-log rows of every update (``create_update`` and ``flow_progress`` at
            least; ``update_progress`` gives the updates' states).
        pipeline: Only this pipeline (by name); default all.
        all_updates: Every update, not only the latest of each pipeline.

    Raises:
        ReportError: when ``pipeline`` has no update in ``events``.
    """
    rows = list(events)
    starts = sorted((e for e in rows if e.event_type == "create_update"),
                    key=lambda e: (e.timestamp, e.update_id))
    names = sorted({e.pipeline_name for e in starts})
    if pipeline is not None and pipeline not in names:
        raise ReportError(
            f"--pipeline {pipeline}: no update of that pipeline in the event log; it has: "
            + (", ".join(repr(n) for n in names) or "no update at all"))
    by_update: dict[str, list[EventRow]] = {e.update_id: [] for e in starts}
    for e in rows:
        if e.update_id in by_update:
            by_update[e.update_id].append(e)
    lines: list[QualityLine] = []
    notes: list[str] = []
    for name in names if pipeline is None else [pipeline]:
        updates = [_update(s, by_update[s.update_id]) for s in starts if s.pipeline_name == name]
        with_rules = [u for u in updates if _evaluated(u)]
        shown = with_rules if all_updates else [updates[-1]] if _evaluated(updates[-1]) else []
        lines += [QualityLine(name, u, r) for u in shown for r in u.rules()]
        if shown:
            continue
        if not with_rules:
            notes.append(f"pipeline '{name}': no rule was evaluated in any of its "
                         f"{len(updates)} update(s)")
            continue
        notes.append(
            f"pipeline '{name}': its latest update {_when(updates[-1], state=True)} "
            "evaluated no rule: no new rows reached a table with rules.\n"
            f"  Rules were last evaluated in update {_when(with_rules[-1])}: "
            f"`medallion quality --pipeline {name} --all-updates` shows it and every update")
    return QualitySummary(tuple(lines), tuple(notes))
