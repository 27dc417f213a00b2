"""The data-quality report from a real event log: two runs of a small pipeline (a warn rule, a
drop rule with quarantine, a schema change and a failing fail rule), the page's numbers checked
against the event log, and the page rendered by headless Chromium to prove its charts draw."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import medallion
from medallion import Rule
from medallion.backends.local import LocalRunner, RunResult
from medallion.cli import main
from medallion.eventlog import event_log, expectation_metrics
from medallion.report import Report, build_report, format_rate, load_report
from tests.spark.conftest import write_json_lines

pytestmark = [pytest.mark.spark, pytest.mark.slow]  # two whole-pipeline runs (module fixture)

RUN_1 = [
    {"id": 1, "amount": 10, "email": "a@x.com", "status": "ok"},
    {"id": 2, "amount": -5, "email": "b@x.com", "status": "ok"},
    {"id": 3, "amount": 20, "email": "bad", "status": "ok"},
    {"id": 4, "amount": None, "email": "d@x.com", "status": "ok"},
]
RUN_2 = [
    {"id": 5, "amount": 7, "email": "e@x.com", "status": "ok", "discount": "5%"},
    {"id": 6, "amount": 0, "email": "f@x", "status": "<lost & found>"},
]


@dataclass
class Runs:
    warehouse: Path
    raw: Path
    first: RunResult
    second: RunResult
    page: Path


@pytest.fixture(scope="module")
def runs(medallion_spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    base = tmp_path_factory.mktemp("report")
    raw = base / "raw" / "orders"
    write_json_lines(raw, "o1.json", RUN_1)
    with medallion.Pipeline("report_shop") as p:
        medallion.bronze_autoloader(name="bronze_orders", path=str(raw), infer_column_types=True)
        medallion.silver_with_rules(
            name="silver_orders", source="bronze_orders", quarantine=True,
            rules=[Rule(name="positive_amount", condition="amount > 0", action="drop"),
                   Rule(name="valid_email", condition="email LIKE '%@%.%'", action="warn")])
        medallion.silver_with_rules(
            name="silver_checked", source="bronze_orders",
            rules=[Rule(name="known_status", condition="status = 'ok'", action="fail")])
    runner = LocalRunner(warehouse=base / "warehouse", spark=medallion_spark)
    first = runner.run(p)
    write_json_lines(raw, "o2.json", RUN_2)
    second = runner.run(p, raise_on_failure=False)
    page = build_report(warehouse=base / "warehouse", output=base / "out" / "report.html",
                        spark=medallion_spark)
    return Runs(base / "warehouse", raw, first, second, page)


def final_events(spark: Any, warehouse: Path, update_id: str) -> dict[str, dict[str, Any]]:
    """Per flow, the numbers of its final flow_progress event, read straight from the log."""
    rows = event_log(warehouse=warehouse, spark=spark).where(
        f"origin.update_id = '{update_id}' AND event_type = 'flow_progress' AND "
        "get_json_object(details, '$.flow_progress.status') IN ('COMPLETED', 'FAILED')"
    ).selectExpr(
        "origin.flow_name AS flow",
        "get_json_object(details, '$.flow_progress.status') AS status",
        "CAST(get_json_object(details, '$.flow_progress.metrics.num_input_rows') AS INT) AS i",
        "CAST(get_json_object(details, '$.flow_progress.metrics.num_output_rows') AS INT) AS o",
        "CAST(get_json_object(details, '$.flow_progress.data_quality.dropped_records') AS INT) "
        "AS d",
        "CAST(get_json_object(details, '$.flow_progress.metrics.num_quarantined_rows') AS INT) "
        "AS q",
        "get_json_object(error, '$.exceptions[0].message') AS message",
    ).collect()
    return {r.flow: r.asDict() for r in rows}


def test_report_numbers_match_the_event_log(runs: Runs, medallion_spark: Any) -> None:
    spark = medallion_spark
    report = load_report(warehouse=runs.warehouse, spark=spark)
    assert (report.pipeline, report.warehouse, report.schema) == (
        "report_shop", str(runs.warehouse), "medallion_db")
    assert [u.update_id for u in report.updates] == [runs.first.update_id,
                                                     runs.second.update_id]
    assert [u.state for u in report.updates] == ["COMPLETED", "FAILED"]

    # Per table of the latest update: exact, and equal to the final events' own numbers.
    latest = report.latest
    assert [(f.dataset, f.layer, f.status, f.rows_in, f.rows_written, f.rows_dropped,
             f.rows_quarantined) for f in latest.flows] == [
        ("bronze_orders", "bronze", "COMPLETED", 2, 2, 0, None),
        ("silver_orders", "silver", "COMPLETED", 2, 1, 1, 1),
        ("silver_checked", "silver", "FAILED", None, None, None, None),
    ]
    for update in report.updates:
        logged = final_events(spark, runs.warehouse, update.update_id)
        assert {f.flow: {"flow": f.flow, "status": f.status, "i": f.rows_in, "o": f.rows_written,
                         "d": f.rows_dropped if f.rules else None, "q": f.rows_quarantined,
                         "message": f.failure and f.failure.message}
                for f in update.flows} == logged
    # ... and to what the runner returned.
    for result, update in ((runs.first, report.updates[0]), (runs.second, latest)):
        for flow in update.flows:
            table = result[flow.dataset]
            if flow.status == "COMPLETED":
                assert (flow.rows_in, flow.rows_written, flow.rows_dropped) == (
                    table.rows_in, table.rows_written, table.rows_dropped)

    # Per rule: the latest update's counts, and the trend over both, equal Spark's sums.
    assert [(r.dataset, r.name, r.action, r.passed, r.failed) for r in latest.rules()] == [
        ("silver_orders", "positive_amount", "drop", 1, 1),
        ("silver_orders", "valid_email", "warn", 1, 1),
    ]
    metrics = expectation_metrics(warehouse=runs.warehouse, spark=spark, update_id=None)
    logged_rules = {(r.update_id, r.dataset, r.name): (r.passed_records, r.failed_records)
                    for r in metrics.collect()}
    trend_points = {(u.update_id, t.dataset, t.name): (p.passed, p.failed)
                    for t in report.trends() for u, p in zip(report.updates, t.points, strict=True)
                    if p is not None}
    assert trend_points == logged_rules
    assert sorted((k[1], k[2], v) for k, v in trend_points.items()
                  if k[0] == runs.first.update_id) == [
        ("silver_checked", "known_status", (4, 0)),
        ("silver_orders", "positive_amount", (2, 2)),
        ("silver_orders", "valid_email", (3, 1)),
    ]

    # The schema change bronze recorded and the failure, with its message as logged.
    [change] = report.schema_changes()
    assert (change.update_id, change.dataset, change.columns(), change.files) == (
        runs.second.update_id, "bronze_orders", "discount STRING",
        ("file:" + str(runs.raw / "o2.json"),))
    [failure] = report.failures()
    assert (failure.dataset, failure.class_name) == ("silver_checked", "ExpectationFailed")
    assert failure.message == str(runs.second["silver_checked"].error)
    assert '"status":"<lost & found>"' in failure.message

    # The page written by build_report shows the same numbers, escaped.
    page = runs.page.read_text(encoding="utf-8")
    assert ('<tr data-dataset="silver_orders" data-flow="silver_orders"><td><code>silver_orders'
            '</code></td><td>silver</td><td><span class="status status-COMPLETED">COMPLETED</span>'
            '</td><td class="num" data-metric="rows_in" data-value="2">2</td><td class="num" '
            'data-metric="rows_written" data-value="1">1</td><td class="num" data-metric='
            '"rows_dropped" data-value="1">1</td><td class="num" data-metric="rows_quarantined" '
            'data-value="1">1</td>') in page
    assert "&quot;status&quot;:&quot;&lt;lost &amp; found&gt;&quot;" in page
    assert "<lost" not in page


def test_cli_report(runs: Runs, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "one.html"
    assert main(["report", "--warehouse", str(runs.warehouse), "--runs", "1",
                 "--output", str(out)]) == 0
    assert capsys.readouterr().out == (
        f"wrote {out}: pipeline 'report_shop', 1 update(s), 2 rule(s); latest update "
        f"{runs.second.update_id[:8]} FAILED\n")
    page = out.read_text(encoding="utf-8")
    assert page.count('<figure class="trend"') == 2
    assert "Pass rate over the last 1 update(s)" in page

    assert main(["report", "--warehouse", str(runs.warehouse), "--pipeline", "nope",
                 "--output", str(tmp_path / "nope.html")]) == 2
    # read with delta-rs: no Spark started
    assert capsys.readouterr().err == (
        f"error: no update of pipeline 'nope' in the event log in {runs.warehouse} (schema "
        "medallion_db); it has: 'report_shop'\n")
    assert not (tmp_path / "nope.html").exists()


# -- the page in a real browser -----------------------------------------------------------------

@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node]
    text: str = ""

    def find(self, tag: str, cls: str | None = None) -> list[Node]:
        found = []
        for child in self.children:
            if child.tag == tag and (cls is None or cls in child.attrs.get("class", "").split()):
                found.append(child)
            found += child.find(tag, cls)
        return found

    def all_text(self) -> str:
        return self.text + "".join(c.all_text() for c in self.children)


class Tree(HTMLParser):
    VOID = {"meta", "br", "img", "input", "link", "hr", "col", "area", "base", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#document", {}, [])
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs}, [])
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}, []))

    def handle_endtag(self, tag: str) -> None:
        while len(self.stack) > 1:
            if self.stack.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(Node("#text", {}, [], data))


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is not installed: run scripts/setup (it installs Debian's chromium "
                    "package), or install Chromium and put it on PATH")
    return found


def dump_dom(page: Path, profile: Path) -> Node:
    done = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    tree = Tree()
    tree.feed(done.stdout)
    return tree.root


def expected_titles(report: Report, rule: str) -> list[str]:
    [trend] = [t for t in report.trends() if t.name == rule]
    return [
        f"update {u.short_id} ({u.started:%Y-%m-%d %H:%M:%S} UTC): "
        + ("not evaluated" if p is None else
           f"{p.passed:,} passed, {p.failed:,} failed, pass rate {format_rate(p.passed, p.failed)}")
        for u, p in zip(report.updates, trend.points, strict=True)
    ]


def test_charts_are_drawn_in_chromium(runs: Runs, medallion_spark: Any, tmp_path: Path) -> None:
    report = load_report(warehouse=runs.warehouse, spark=medallion_spark)
    dom = dump_dom(runs.page, tmp_path / "profile")
    [body] = dom.find("body")
    assert body.attrs["data-charts-drawn"] == "3"
    figures = {f.find("code")[0].all_text(): f for f in dom.find("figure", "trend")}
    assert list(figures) == ["silver_orders.positive_amount", "silver_orders.valid_email",
                             "silver_checked.known_status"]
    metrics = {(r.update_id, r.name): (r.passed_records, r.failed_records) for r in
               expectation_metrics(warehouse=runs.warehouse, spark=medallion_spark,
                                   update_id=None).collect()}
    drawn = {}
    for label, figure in figures.items():
        [svg] = figure.find("svg", "chart")
        bars = svg.find("rect", "run")
        assert figure.attrs["data-drawn"] == str(len(bars))
        # every bar's numbers are the event log's, for its update
        for bar in bars:
            assert (int(bar.attrs["data-passed"]), int(bar.attrs["data-failed"])) == metrics[
                bar.attrs["data-update"], label.split(".")[1]]
        titles = [r.find("title")[0].all_text() for r in svg.find("rect")]
        assert titles == expected_titles(report, label.split(".")[1])
        assert len(svg.find("path", "line")) == 1
        drawn[label] = [(b.attrs["data-passed"], b.attrs["data-failed"], b.attrs["height"])
                        for b in bars]
        drawn[label + " gaps"] = len(svg.find("rect", "norun"))
    # the plot is 68px high: 50% is 34px, 75% 51px, 100% 68px; the failed update left a gap
    assert drawn == {
        "silver_orders.positive_amount": [("2", "2", "34"), ("1", "1", "34")],
        "silver_orders.positive_amount gaps": 0,
        "silver_orders.valid_email": [("3", "1", "51"), ("1", "1", "34")],
        "silver_orders.valid_email gaps": 0,
        "silver_checked.known_status": [("4", "0", "68")],
        "silver_checked.known_status gaps": 1,
    }
    # the numbers the page shows for the latest update, as the browser has them
    rules = {r.attrs["data-rule"]: [c.all_text() for c in r.find("td")]
             for r in dom.find("tr") if "data-rule" in r.attrs}
    assert rules == {
        "silver_orders.positive_amount": ["silver_orders", "positive_amount", "drop", "1", "1",
                                          "50.00%", ""],
        "silver_orders.valid_email": ["silver_orders", "valid_email", "warn", "1", "1", "50.00%",
                                      ""],
    }
