"""The progress display: plain lines for logs, a live table redrawn in place on a terminal."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import medallion
from medallion.backends.local.result import HEADER, RunResult, TableResult
from medallion.progress import LiveProgress, PlainProgress, choose_mode, make_progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def declarations() -> medallion.Pipeline:
    with medallion.Pipeline("orders") as pipeline:
        medallion.bronze_autoloader(name="bronze_orders", path="/x")
        medallion.silver_with_rules(name="silver_orders", source="bronze_orders")
        medallion.gold_aggregate(name="gold_sales", source="silver_orders",
                                 aggregations=[medallion.agg.count(alias="n")])
    return pipeline


def results() -> list[TableResult]:
    return [
        TableResult("bronze_orders", "bronze", rows_in=6, rows_written=6, seconds=1.24),
        TableResult("silver_orders", "silver", status="failed", rows_in=6, seconds=0.8),
        TableResult("gold_sales", "gold", status="skipped",
                    detail="not run: upstream table 'silver_orders' failed"),
    ]


def drive(progress: PlainProgress | LiveProgress) -> RunResult:
    pipeline = declarations()
    progress.start("orders", [d.name for d in pipeline.graph().order])
    run = RunResult("orders", "medallion_db", Path("/wh"), seconds=3.14)
    for table in results():
        if table.status != "skipped":
            progress.table_started(pipeline[table.name])
        progress.table_done(table)
        run.tables[table.name] = table
    progress.finish(run)
    return run


def test_plain_lines_are_stable() -> None:
    out = io.StringIO()
    run = drive(PlainProgress(out))
    assert out.getvalue().splitlines() == [
        "[medallion] started pipeline=orders tables=3",
        "[medallion] running bronze_orders",
        "[medallion] done bronze_orders rows_in=6 written=6 dropped=0 quarantined=0 seconds=1.2",
        "[medallion] running silver_orders",
        "[medallion] failed silver_orders seconds=0.8",
        "[medallion] skipped gold_sales after=silver_orders",
        "[medallion] finished pipeline=orders status=failed seconds=3.1",
        HEADER,
        *(t.line() for t in run.tables.values()),
    ]


def test_live_view_redraws_in_place() -> None:
    term = Terminal()
    progress = LiveProgress(term, interval=None, colour=False)
    pipeline = declarations()
    progress.start("orders", [d.name for d in pipeline.graph().order])
    first = term.getvalue()
    assert first == (
        f"\x1b[2K{HEADER}\n"
        f"\x1b[2K{'bronze_orders':<24} waiting   \n"
        f"\x1b[2K{'silver_orders':<24} waiting   \n"
        f"\x1b[2K{'gold_sales':<24} waiting   \n"
    )
    progress.table_started(pipeline["bronze_orders"])
    second = term.getvalue()[len(first):]
    assert second.startswith("\x1b[4F")  # back to the header line, then redraw 4 lines
    assert second.count("\n") == 4
    assert "\x1b[2Kbronze_orders            running ⠋" in second
    assert second.rstrip("\n").endswith(f"{'gold_sales':<24} waiting   ")
    table = results()[0]
    progress.table_done(table)
    third = term.getvalue()[len(first) + len(second):]
    assert f"\x1b[2K{table.line()}\n" in third
    progress.close()


def test_live_view_colours_states_and_fits_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    term = Terminal()
    progress = LiveProgress(term, interval=None, colour=True)
    drive(progress)
    frame = term.getvalue().split("\x1b[4F")[-1]
    lines = frame.splitlines()
    assert "\x1b[32mok        \x1b[0m" in lines[1]
    assert "\x1b[31mFAILED    \x1b[0m" in lines[2]
    assert "\x1b[33mskipped   \x1b[0m" in lines[3]
    for line in lines:
        visible = line.replace("\x1b[2K", "")
        for code in ("\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[0m"):
            visible = visible.replace(code, "")
        assert len(visible) <= 39


def test_live_clock_ticks_while_a_table_runs() -> None:
    term = Terminal()
    progress = LiveProgress(term, interval=0.01, colour=False)
    pipeline = declarations()
    progress.start("orders", ["bronze_orders"])
    progress.table_started(pipeline["bronze_orders"])
    import time

    deadline = time.monotonic() + 5
    while term.getvalue().count("\x1b[2F") < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    progress.close()
    assert term.getvalue().count("\x1b[2F") >= 4  # redrawn by the clock, not only on events
    spinners = {c for c in term.getvalue() if c in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"}
    assert len(spinners) >= 2


def test_mode_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert choose_mode(Terminal()) == "live"
    assert choose_mode(io.StringIO()) == "plain"
    assert choose_mode(Terminal(), verbose=True) == "plain"
    assert choose_mode(io.StringIO(), "live") == "live"
    assert isinstance(make_progress(Terminal(), "plain"), PlainProgress)
    monkeypatch.setenv("CI", "true")
    assert choose_mode(Terminal()) == "plain"
    monkeypatch.delenv("CI")
    monkeypatch.setenv("TERM", "dumb")
    assert choose_mode(Terminal()) == "plain"
