"""The data-quality report's model and page, from events the runner's own EventLog writes."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

import medallion
from medallion import Rule
from medallion.backends.local.eventlog_writer import EventLog
from medallion.backends.local.result import ExpectationResult, SchemaChange, TableResult
from medallion.cli import main
from medallion.errors import ExpectationFailed
from medallion.report import (
    EventRow,
    ReportError,
    RuleCounts,
    format_rate,
    render_html,
    report_from_events,
)
from medallion.report.html import chart_data

T0 = dt.datetime(2024, 5, 1, 12, 0, 0)
BAD_ROW = '{"id":6,"status":"<lost & found>"}'


def shop() -> medallion.Pipeline:
    with medallion.Pipeline("shop") as p:
        medallion.bronze_autoloader(name="bronze", path="/raw/orders")
        medallion.silver_with_rules(
            name="silver", source="bronze", quarantine=True,
            rules=[Rule(name="positive", condition="amount > 0", action="drop"),
                   Rule(name="has_email", condition="email IS NOT NULL")])
        medallion.silver_with_rules(
            name="checked", source="bronze",
            rules=[Rule(name="known", condition="status = 'ok'", action="fail")])
    return p


def rows_of(log: EventLog, at: dt.datetime) -> list[EventRow]:
    """The events as the event log table stores them (``EventLog.events`` tuples)."""
    out = []
    for (_, (update_id, seq), origin, _ts, message, level, _maturity, error, details,
         event_type) in log.events:
        out.append(EventRow(origin[1], update_id, seq, at + dt.timedelta(seconds=seq),
                            event_type, level, message, origin[4], origin[5], details, error))
    return out


def run(p: medallion.Pipeline, number: int, results: dict[str, TableResult],
        ok: bool = True, pipeline_name: str = "shop") -> list[EventRow]:
    log = EventLog(pipeline_name, "pid", "medallion_db", update_id=f"{number:08d}-update")
    decls = {d.name: d for d in p.graph().order}
    log.update_started(set(), list(decls))
    for decl in decls.values():
        log.flow_defined(decl, "append")
    for name, table in results.items():
        log.flow_finished(decls[name], table)
    log.update_finished(ok, 2.5 * number)
    return rows_of(log, T0 + dt.timedelta(hours=number))


def three_updates() -> list[EventRow]:
    p = shop()
    first = run(p, 1, {
        "bronze": TableResult("bronze", "bronze", rows_in=5, rows_written=5),
        "silver": TableResult("silver", "silver", rows_in=5, rows_written=3, rows_dropped=2,
                              rows_quarantined=2, expectations=[
                                  ExpectationResult("positive", "drop", 3, 2),
                                  ExpectationResult("has_email", "warn", 4, 1)]),
        "checked": TableResult("checked", "silver", rows_in=5, rows_written=5,
                               expectations=[ExpectationResult("known", "fail", 5, 0)]),
    })
    error = ExpectationFailed("checked", ("known",), BAD_ROW)
    second = run(p, 2, {
        "bronze": TableResult("bronze", "bronze", rows_in=2, rows_written=2, rows_rescued=1,
                              schema_changes=[SchemaChange(1, (("discount", "string"),),
                                                           ("file:/raw/orders/o&2.json",))]),
        "silver": TableResult("silver", "silver", rows_in=2, rows_written=0, rows_dropped=1,
                              rows_quarantined=1, duplicates_removed=1, expectations=[
                                  ExpectationResult("positive", "drop", 1, 1),
                                  ExpectationResult("has_email", "warn", 2, 0)]),
        "checked": TableResult("checked", "silver", status="failed", rows_in=2, error=error),
    }, ok=False)
    third = run(p, 3, {
        "bronze": TableResult("bronze", "bronze", status="up_to_date"),
        "silver": TableResult("silver", "silver", status="up_to_date", expectations=[
            ExpectationResult("positive", "drop", 0, 0),
            ExpectationResult("has_email", "warn", 0, 0)]),
        "checked": TableResult("checked", "silver", status="skipped",
                               detail="not run: upstream table 'x' failed"),
    })
    other = run(p, 0, {"bronze": TableResult("bronze", "bronze", rows_in=1, rows_written=1)},
                pipeline_name="other")
    return [*third, *other, *first, *second]  # any order


def test_format_rate() -> None:
    assert [format_rate(*c) for c in [(3, 2), (2, 1), (1, 2), (5, 0), (0, 4), (0, 0),
                                      (99_999, 1), (1, 99_999), (19_999, 1)]] == [
        "60.00%", "66.67%", "33.33%", "100.00%", "0.00%", "-", "99.99%", "0.01%", "99.99%"]


def test_model_of_three_updates() -> None:
    report = report_from_events(three_updates(), warehouse="/wh", schema="medallion_db")
    assert report.pipeline == "shop"  # the pipeline that ran last
    assert report.other_pipelines == ("other",)
    assert [(u.short_id, u.state, u.seconds, u.rows_written) for u in report.updates] == [
        ("00000001", "COMPLETED", 2.5, 13), ("00000002", "FAILED", 5.0, 2),
        ("00000003", "COMPLETED", 7.5, 0)]
    second = report.updates[1]
    assert [(f.dataset, f.layer, f.status, f.rows_in, f.rows_written, f.rows_dropped,
             f.rows_quarantined, f.duplicates_removed, f.rescued) for f in second.flows] == [
        ("bronze", "bronze", "COMPLETED", 2, 2, 0, None, 0, 1),
        ("silver", "silver", "COMPLETED", 2, 0, 1, 1, 1, None),
        ("checked", "silver", "FAILED", None, None, None, None, None, None),
    ]
    assert second.flows[1].quarantine_datasets == ("silver_quarantine",)
    assert second.rules() == (RuleCounts("silver", "positive", 1, 1, "drop"),
                              RuleCounts("silver", "has_email", 2, 0, "warn"))
    latest = report.latest
    assert [(f.dataset, f.status, f.note) for f in latest.flows] == [
        ("bronze", "COMPLETED", ""), ("silver", "COMPLETED", ""),
        ("checked", "SKIPPED", "not run: upstream table 'x' failed")]
    trends = {(t.dataset, t.name): t for t in report.trends()}
    assert list(trends) == [("silver", "positive"), ("silver", "has_email"), ("checked", "known")]
    assert [None if p is None else (p.passed, p.failed, p.pass_rate)
            for p in trends["silver", "positive"].points] == [(3, 2, 0.6), (1, 1, 0.5), None]
    assert [None if p is None else (p.passed, p.failed)
            for p in trends["checked", "known"].points] == [(5, 0), None, None]
    assert trends["checked", "known"].action == "fail"
    [change] = report.schema_changes()
    assert (change.update_id, change.dataset, change.batch_id, change.columns(), change.files) == (
        "00000002-update", "bronze", 1, "discount STRING", ("file:/raw/orders/o&2.json",))
    [failure] = report.failures()
    assert (failure.update_id, failure.dataset, failure.class_name) == (
        "00000002-update", "checked", "ExpectationFailed")
    assert failure.message == (
        "[EXPECTATION_VIOLATION] Table 'checked' failed to meet the expectation. Violated "
        f"expectations: 'known'. Input data: '{BAD_ROW}'. The table was left unchanged; fix "
        "the input rows or change the rule's action.")


def test_runs_and_pipeline_selection() -> None:
    events = three_updates()
    two = report_from_events(events, warehouse="/wh", schema="s", runs=2)
    assert [u.short_id for u in two.updates] == ["00000002", "00000003"]
    other = report_from_events(events, warehouse="/wh", schema="s", pipeline="other")
    assert (other.pipeline, other.other_pipelines, len(other.updates)) == ("other", ("shop",), 1)
    assert other.latest.rules() == ()
    with pytest.raises(ReportError, match=r"^no update of pipeline 'shpo' in the event log in "
                       r"/wh \(schema s\); it has: 'other', 'shop'$"):
        report_from_events(events, warehouse="/wh", schema="s", pipeline="shpo")
    with pytest.raises(ReportError, match=r"records no update: run a pipeline there first"):
        report_from_events([], warehouse="/wh", schema="s")


def cell(page: str, row: str, metric: str) -> str:
    """The text of a count cell (``data-metric``) in the row whose attribute is ``row``."""
    match = re.search(rf'<tr {re.escape(row)}>.*?data-metric="{metric}"[^>]*>([^<]*)</td>', page)
    assert match, (row, metric)
    return match.group(1)


def test_page_numbers_bars_and_chart_data() -> None:
    report = report_from_events(three_updates(), warehouse="/wh", schema="medallion_db", runs=2)
    page = render_html(report)
    # Tables of the latest update (up to date: zero rows; skipped: no numbers at all).
    silver = 'data-dataset="silver" data-flow="silver"'
    assert [cell(page, silver, m) for m in ("rows_in", "rows_written", "rows_dropped",
                                            "rows_quarantined")] == ["0", "0", "0", "0"]
    checked = 'data-dataset="checked" data-flow="checked"'
    assert [cell(page, checked, m) for m in ("rows_in", "rows_written")] == ["-", "-"]
    assert "not run: upstream table &#x27;x&#x27; failed" in page
    # The latest update evaluated no row: its rules are not listed; the trend still shows them.
    assert "No rule evaluated any record in the latest update." in page
    data = chart_data(report)
    assert [u["short"] for u in data["updates"]] == ["00000002", "00000003"]
    assert data["rules"][0] == {
        "dataset": "silver", "name": "positive", "action": "drop", "label": "silver.positive",
        "points": [{"passed": 1, "failed": 1, "rate": 0.5, "passed_label": "1",
                    "failed_label": "1", "rate_label": "50.00%"}, None]}
    assert [r["label"] for r in data["rules"]] == ["silver.positive", "silver.has_email"]
    blob = re.search(r'<script type="application/json" id="medallion-report-data">(.*?)'
                     r"</script>", page, re.S)
    assert blob is not None
    assert json.loads(blob.group(1)) == data
    assert page.count('<figure class="trend"') == 2

    row = 'data-rule="silver.positive"'
    first = render_html(report_from_events(
        [e for e in three_updates() if e.update_id.startswith("00000001")],
        warehouse="/wh", schema="s"))
    assert [cell(first, row, m) for m in ("passed", "failed", "pass_rate")] == [
        "3", "2", "60.00%"]
    assert ('<span class="pass" style="width:60.0000%"></span>'
            '<span class="fail" style="width:40.0000%"></span>') in first
    assert 'aria-label="3 passed, 2 failed (60.00%)"' in first
    assert cell(first, 'data-rule="silver.has_email"', "pass_rate") == "80.00%"


def test_everything_from_the_event_log_is_escaped() -> None:
    report = report_from_events(three_updates(), warehouse="/tmp/<wh>&co", schema="s")
    page = render_html(report)
    # the error message and the file path, as text
    assert ("Input data: &#x27;{&quot;id&quot;:6,&quot;status&quot;:&quot;&lt;lost &amp; "
            "found&gt;&quot;}&#x27;.") in page
    assert "file:/raw/orders/o&amp;2.json" in page
    assert "<code>/tmp/&lt;wh&gt;&amp;co</code>" in page
    assert "<lost" not in page
    assert "<wh>" not in page
    # names that are not identifiers, in every place they appear (the JSON blob too)
    at = T0
    hostile = "t</script><b>&"
    events = [
        EventRow("p<1>", "u1", 0, at, "create_update", details="{}"),
        EventRow("p<1>", "u1", 1, at, "flow_progress", flow_name=hostile, dataset_name=hostile,
                 details=json.dumps({"flow_progress": {
                     "status": "COMPLETED", "metrics": {"num_output_rows": 1},
                     "data_quality": {"dropped_records": 0, "expectations": [
                         {"name": "r<&>", "dataset": hostile, "passed_records": 1,
                          "failed_records": 0}]}}})),
    ]
    page = render_html(report_from_events(events, warehouse="/wh", schema="s"))
    for raw in ("</script><b>", "<1>", "r<&>"):
        assert raw not in page
    assert "t&lt;/script&gt;&lt;b&gt;&amp;" in page
    assert "<title>Data quality: pipeline p&lt;1&gt;</title>" in page
    blob = page.split('id="medallion-report-data">')[1].split("</script>")[0]
    assert "t\\u003c/script\\u003e\\u003cb\\u003e\\u0026" in blob
    assert json.loads(blob)["rules"][0]["label"] == f"{hostile}.r<&>"
    assert page.count("</script>") == 2  # the blob's and the script's own


def test_page_is_self_contained() -> None:
    page = render_html(report_from_events(three_updates(), warehouse="/wh", schema="s"))
    assert not re.search(r"""(src|href)=|@import|url\(|https?://(?!www\.w3\.org/2000/svg)""",
                         page)
    assert page.startswith("<!doctype html>")
    assert page.rstrip().endswith("</html>")


def test_cli_without_an_event_log_says_what_to_do(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    assert main(["report", "--warehouse", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"error: no warehouse folder at {missing}: run a pipeline with this warehouse first, "
        "or pass --warehouse DIR (warehouse= in Python) naming the folder where your pipelines "
        "ran\n")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", "--warehouse", str(empty), "--output", str(tmp_path / "r.html")]) == 2
    assert capsys.readouterr().err == (
        f"error: no event log in {empty} (schema medallion_db): run a pipeline with this "
        "warehouse first, or pass --warehouse DIR (warehouse= in Python) naming the folder "
        "where your pipelines ran\n")
    # an event log in another schema: name it
    (empty / "sales" / "event_log" / "_delta_log").mkdir(parents=True)
    (empty / "sales" / "event_log" / "_delta_log" / f"{0:020d}.json").write_text("{}\n")
    assert main(["report", "--warehouse", str(empty)]) == 2
    assert capsys.readouterr().err == (
        f"error: no event log in {empty} (schema medallion_db): this warehouse has event logs "
        "in schema(s) sales: pass --schema NAME\n")
    # `medallion quality` makes the same check, with the same message
    assert main(["quality", "--warehouse", str(empty)]) == 2
    assert capsys.readouterr().err == (
        f"error: no event log in {empty} (schema medallion_db): this warehouse has event logs "
        "in schema(s) sales: pass --schema NAME\n")
    assert main(["report", "--runs", "0"]) == 2
    assert capsys.readouterr().err == "error: --runs 0: give at least 1 run\n"
    assert not (tmp_path / "r.html").exists()


def test_import_report_does_not_import_pyspark() -> None:
    import subprocess
    import sys

    code = ("import sys, medallion, medallion.report, medallion.cli; "
            "print(sorted(m for m in ('pyspark', 'py4j', 'delta') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_each_note_of_a_flow_is_listed_once() -> None:
    from medallion.report.html import _flow_notes
    from medallion.report.model import FlowRun

    silver = FlowRun("u1", "silver_orders", "silver_orders", "COMPLETED", duplicates_removed=53,
                     quarantine_datasets=("quarantine_orders",),
                     note="53 duplicate(s) removed")
    assert _flow_notes(silver) == ["53 duplicate(s) removed", "quarantine: quarantine_orders"]
    bronze = FlowRun("u1", "bronze_orders", "bronze_orders", "COMPLETED", malformed=1200,
                     rescued=2, note="1200 malformed record(s) kept in _corrupt_record; 2 row(s) "
                                     "with rescued data in _rescued_data; column x added")
    assert _flow_notes(bronze) == ["1200 malformed record(s) kept in _corrupt_record",
                                   "2 row(s) with rescued data in _rescued_data",
                                   "column x added"]


# -- medallion quality: the latest update's rules, or why there are none ----------------------
def test_quality_names_the_last_update_with_rules_after_a_no_op_rerun() -> None:
    from medallion.report.quality import quality_summary

    header = ("pipeline         update     table.rule                                   passed "
              "   failed pass rate")
    # shop's latest update (3) found nothing new: its rules saw no record
    assert quality_summary(three_updates()).text() == [
        "pipeline 'other': no rule was evaluated in any of its 1 update(s)",
        "pipeline 'shop': its latest update 00000003 (started 2024-05-01 15:00:00, COMPLETED) "
        "evaluated no rule: no new rows reached a table with rules.\n"
        "  Rules were last evaluated in update 00000002 (started 2024-05-01 14:00:00): "
        "`medallion quality --pipeline shop --all-updates` shows it and every update",
    ]
    assert quality_summary(three_updates(), pipeline="shop", all_updates=True).text() == [
        header,
        "shop             00000001   silver.positive                                   3 "
        "        2    60.00%",
        "shop             00000001   silver.has_email                                  4 "
        "        1    80.00%",
        "shop             00000001   checked.known                                     5 "
        "        0   100.00%",
        "shop             00000002   silver.positive                                   1 "
        "        1    50.00%",
        "shop             00000002   silver.has_email                                  2 "
        "        0   100.00%",
    ]
    # the latest update with rules is shown alone
    first_two = [e for e in three_updates() if not e.update_id.startswith("00000003")]
    assert quality_summary(first_two, pipeline="shop").text()[1:] == [
        "shop             00000002   silver.positive                                   1 "
        "        1    50.00%",
        "shop             00000002   silver.has_email                                  2 "
        "        0   100.00%",
    ]
    with pytest.raises(ReportError, match=r"--pipeline nope: no update of that pipeline in "
                                          r"the event log; it has: 'other', 'shop'"):
        quality_summary(three_updates(), pipeline="nope")


# -- the event log read without Spark (delta-rs) ---------------------------------------------
def test_delta_rs_reads_the_event_log_and_is_skipped_without_deltalake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    import pyarrow as pa
    from deltalake import write_deltalake

    from medallion.report.collect import EVENT_TYPES, delta_rs_events

    origin = pa.struct([(k, pa.string()) for k in (
        "pipeline_id", "pipeline_name", "update_id", "flow_id", "flow_name", "dataset_name",
        "table_name")] + [("batch_id", pa.int64())])
    schema = pa.schema([
        ("id", pa.string()),
        ("sequence", pa.struct([("update_id", pa.string()), ("seq_no", pa.int64())])),
        ("origin", origin), ("timestamp", pa.timestamp("us", tz="UTC")),
        ("message", pa.string()), ("level", pa.string()), ("maturity_level", pa.string()),
        ("error", pa.string()), ("details", pa.string()), ("event_type", pa.string())])
    events = three_updates()
    rows = [{
        "id": f"e{i}", "sequence": {"update_id": e.update_id, "seq_no": e.seq_no},
        "origin": {"pipeline_id": "pid", "pipeline_name": e.pipeline_name,
                   "update_id": e.update_id, "flow_id": None, "flow_name": e.flow_name,
                   "dataset_name": e.dataset_name, "table_name": None, "batch_id": None},
        "timestamp": e.timestamp.astimezone(dt.timezone.utc), "message": e.message,
        "level": e.level, "maturity_level": "STABLE", "error": e.error, "details": e.details,
        "event_type": e.event_type} for i, e in enumerate(events)]
    warehouse = tmp_path / "wh"
    write_deltalake(str(warehouse / "medallion_db" / "event_log"),
                    pa.Table.from_pylist(rows, schema=schema))

    source = delta_rs_events(warehouse=warehouse, schema="medallion_db")
    assert source is not None
    assert source.engine == "deltalake"

    def key(e: EventRow) -> tuple[str, int]:
        return (e.update_id, e.seq_no)

    # the same rows, local wall-clock times as Spark's collect() gives them
    assert sorted(source.read(EVENT_TYPES), key=key) == sorted(
        (e for e in events if e.event_type in EVENT_TYPES), key=key)
    assert [e.update_id for e in source.read(("create_update",), ["00000002-update"])] == [
        "00000002-update"]
    # `medallion quality` answers from it, without starting Spark
    assert main(["quality", "--warehouse", str(warehouse), "--pipeline", "shop"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("pipeline 'shop': its latest update 00000003 ")
    assert "starting Spark" not in out.err
    # without deltalake, or on a folder delta-rs cannot read: None (the CLI uses Spark)
    assert delta_rs_events(warehouse=tmp_path / "nothing", schema="medallion_db") is None
    monkeypatch.setitem(sys.modules, "deltalake", None)
    assert delta_rs_events(warehouse=warehouse, schema="medallion_db") is None
