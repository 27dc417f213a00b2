"""The data-quality report as one self-contained HTML page.

Tables and pass-rate bars are plain HTML and CSS; the trend charts are SVG drawn in the browser
by a short inline script from a JSON copy of the numbers embedded in the page. No file, font or
script is loaded from anywhere: the page opens from disk, offline. Every text from the event log
(table names, messages, file paths) is escaped; the embedded JSON cannot close its script tag.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

from medallion.report.model import FlowRun, Report, RuleCounts, RuleTrend, Update, format_rate

__all__ = ["render_html"]


def _asset(name: str) -> str:
    return resources.files("medallion.report").joinpath(name).read_text(encoding="utf-8")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _n(value: int | None) -> str:
    """A count with thousands separators, or a dash where the event log has none."""
    return "-" if value is None else f"{value:,}"


def _time(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") + " UTC"


def _num_cell(metric: str, value: int | None) -> str:
    raw = "" if value is None else f' data-value="{value}"'
    return f'<td class="num" data-metric="{metric}"{raw}>{_n(value)}</td>'


def _status(status: str) -> str:
    return f'<span class="status status-{_e(status)}">{_e(status)}</span>'


def _flow_notes(flow: FlowRun) -> list[str]:
    notes: list[str] = []
    if flow.flow != flow.dataset:
        notes.append(f"flow {flow.flow}")
    if flow.duplicates_removed:
        notes.append(f"{flow.duplicates_removed:,} duplicate(s) removed")
    if flow.quarantine_datasets:
        notes.append("quarantine: " + ", ".join(flow.quarantine_datasets))
    if flow.upserted or flow.deleted:
        notes.append(f"{_n(flow.upserted)} upserted, {_n(flow.deleted)} deleted")
    if flow.late:
        notes.append(f"{flow.late:,} late row(s) not aggregated")
    if flow.malformed:
        notes.append(f"{flow.malformed:,} malformed record(s)")
    if flow.rescued:
        notes.append(f"{flow.rescued:,} row(s) with rescued data")
    # The runner's own note repeats some metrics, often in more words: say each fact once.
    for part in (p.strip() for p in flow.note.split("; ") if p.strip()):
        bare = part.replace(",", "")
        same = next((i for i, n in enumerate(notes)
                     if bare == n.replace(",", "") or bare.startswith(n.replace(",", "") + " ")),
                    None)
        if same is None:
            notes.append(part)
        else:
            notes[same] = part
    return notes


def _table(cls: str, headers: Sequence[str], rows: Iterable[str]) -> str:
    """A table with a header row; a header written ``#name`` heads a column of numbers."""
    head = "".join(f'<th class="num">{h[1:]}</th>' if h.startswith("#") else f"<th>{h}</th>"
                   for h in headers)
    return (f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}'
            "</tbody></table>")


def _code(value: object) -> str:
    return f"<td><code>{_e(value)}</code></td>"


def _tables_section(update: Update) -> str:
    if not update.flows:
        return '<p class="empty">No flow ran in this update.</p>'
    return _table("tables", ["table", "layer", "status", "#rows in", "#written", "#dropped",
                             "#quarantined", "notes"], (
        f'<tr data-dataset="{_e(f.dataset)}" data-flow="{_e(f.flow)}">{_code(f.dataset)}'
        f"<td>{_e(f.layer or '-')}</td><td>{_status(f.status)}</td>"
        + _num_cell("rows_in", f.rows_in) + _num_cell("rows_written", f.rows_written)
        + _num_cell("rows_dropped", f.rows_dropped)
        + _num_cell("rows_quarantined", f.rows_quarantined)
        + f'<td class="notes">{_e("; ".join(_flow_notes(f)))}</td></tr>'
        for f in update.flows))


def _width(part: int, total: int) -> str:
    return f"{100 * part / total:.4f}%"


def _bar(rule: RuleCounts) -> str:
    total = rule.evaluated
    if total == 0:
        return '<div class="bar" title="no record evaluated"></div>'
    label = (f"{rule.passed:,} passed, {rule.failed:,} failed "
             f"({format_rate(rule.passed, rule.failed)})")
    return (f'<div class="bar" role="img" aria-label="{_e(label)}" title="{_e(label)}">'
            f'<span class="pass" style="width:{_width(rule.passed, total)}"></span>'
            f'<span class="fail" style="width:{_width(rule.failed, total)}"></span></div>')


def _action(action: str | None) -> str:
    return "" if action is None else f'<span class="action action-{_e(action)}">{_e(action)}</span>'


def _rules_section(update: Update) -> str:
    rules = [r for r in update.rules() if r.evaluated]
    if not rules:
        return '<p class="empty">No rule evaluated any record in the latest update.</p>'
    return _table("rules", ["table", "rule", "action", "#passed", "#failed", "#pass rate", ""], (
        f'<tr data-rule="{_e(r.dataset)}.{_e(r.name)}">{_code(r.dataset)}{_code(r.name)}'
        f"<td>{_action(r.action)}</td>"
        + _num_cell("passed", r.passed) + _num_cell("failed", r.failed)
        + f'<td class="num" data-metric="pass_rate">{format_rate(r.passed, r.failed)}</td>'
        f"<td>{_bar(r)}</td></tr>"
        for r in rules))


def _runs_section(report: Report) -> str:
    return _table("runs", ["update", "started", "state", "#duration", "#rows written",
                           "#failed flows", ""], (
        f'<tr data-update="{_e(u.update_id)}">{_code(u.short_id)}'
        f"<td>{_e(_time(u.started))}</td><td>{_status(u.state)}</td>"
        f'<td class="num">{"-" if u.seconds is None else f"{u.seconds:.1f}s"}</td>'
        + _num_cell("rows_written", u.rows_written)
        + f'<td class="num">{len(u.failed_flows)}</td>'
        f"<td>{'full refresh' if u.full_refresh else ''}</td></tr>"
        for u in reversed(report.updates)))


def _trend_section(report: Report) -> str:
    trends = report.trends()
    if not trends:
        return '<p class="empty">No rule was evaluated in these updates.</p>'
    figures = "".join(
        f'<figure class="trend" data-rule="{i}"><figcaption><code>{_e(t.dataset)}.{_e(t.name)}'
        f"</code> {_action(t.action)}{_last_rate(t)}</figcaption></figure>"
        for i, t in enumerate(trends)
    )
    return (
        f'<div class="trends">{figures}</div>'
        '<noscript><p class="hint">The charts are drawn by the page\'s script: allow '
        "JavaScript to see them.</p></noscript>"
    )


def _last_rate(trend: RuleTrend) -> str:
    """The pass rate of the rule's most recent evaluation, after the chart's caption."""
    last = next((p for p in reversed(trend.points) if p is not None), None)
    return "" if last is None else (
        f' <span class="last">last {format_rate(last.passed, last.failed)}</span>')


def _schema_section(report: Report) -> str:
    changes = report.schema_changes()
    if not changes:
        return '<p class="empty">No schema change in these updates.</p>'
    return _table("schema-changes", ["update", "table", "#batch", "change", "from"], (
        f"<tr>{_code(c.update_id[:8])}{_code(c.dataset)}"
        f'<td class="num">{c.batch_id}</td><td>added {_e(c.columns())}</td>'
        f"<td>{_e(', '.join(c.files) or 'schema_hints')}</td></tr>"
        for c in changes))


def _failures_section(report: Report) -> str:
    failures = report.failures()
    if not failures:
        return '<p class="empty">No flow failed in these updates.</p>'
    return _table("failures", ["update", "table", "error", "message"], (
        f"<tr>{_code(f.update_id[:8])}<td><code>{_e(f.dataset)}</code>"
        + (f" (flow <code>{_e(f.flow)}</code>)" if f.flow != f.dataset else "")
        + f"</td>{_code(f.class_name)}"
        f'<td><pre class="error">{_e(f.message)}</pre></td></tr>'
        for f in failures))


def chart_data(report: Report) -> dict[str, Any]:
    """The numbers the page's script draws: updates (oldest first) and each rule's points."""
    return {
        "updates": [{"id": u.update_id, "short": u.short_id, "started": _time(u.started),
                     "state": u.state} for u in report.updates],
        "rules": [
            {"dataset": t.dataset, "name": t.name, "action": t.action,
             "label": f"{t.dataset}.{t.name}",
             "points": [None if p is None else {
                 "passed": p.passed, "failed": p.failed, "rate": p.passed / p.evaluated,
                 "passed_label": f"{p.passed:,}", "failed_label": f"{p.failed:,}",
                 "rate_label": format_rate(p.passed, p.failed)} for p in t.points]}
            for t in report.trends()
        ],
    }


def _script_json(data: object) -> str:
    """JSON that is safe inside ``<script>``: no ``<``, ``>`` or ``&`` can end or alter it."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def render_html(report: Report) -> str:
    """The report page: one HTML document with its CSS, data and script inline."""
    latest = report.latest
    others = ""
    if report.other_pipelines:
        others = (
            '<p class="hint">Other pipelines in this event log: '
            + ", ".join(f"<code>{_e(n)}</code>" for n in report.other_pipelines)
            + " (pass <code>--pipeline NAME</code>).</p>"
        )
    duration = "" if latest.seconds is None else f" in {latest.seconds:.1f}s"
    count = len(report.updates)
    data = _script_json(chart_data(report))
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Data quality: pipeline {_e(report.pipeline)}</title>
<style>
{_asset("report.css")}</style>
</head>
<body>
<header>
<h1>Data quality: pipeline <code>{_e(report.pipeline)}</code></h1>
<p class="meta">Event log <code>{_e(report.schema)}.event_log</code> in
<code>{_e(report.warehouse)}</code>; {count} update(s). Latest update
<code>{_e(latest.short_id)}</code> started {_e(_time(latest.started))}:
{_status(latest.state)}{_e(duration)}.</p>
{others}</header>
<section id="tables">
<h2>Tables in the latest update</h2>
{_tables_section(latest)}
</section>
<section id="rules">
<h2>Rules in the latest update</h2>
{_rules_section(latest)}
</section>
<section id="trend">
<h2>Pass rate over the last {count} update(s)</h2>
{_trend_section(report)}
<h3>Updates</h3>
{_runs_section(report)}
</section>
<section id="schema-changes">
<h2>Schema changes</h2>
{_schema_section(report)}
</section>
<section id="failures">
<h2>Failures</h2>
{_failures_section(report)}
</section>
<script type="application/json" id="medallion-report-data">{data}</script>
<script>
{_asset("report.js")}</script>
</body>
</html>
"""
