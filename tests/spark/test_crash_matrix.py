"""The crash matrix: `medallion run` SIGKILLed at each kill point, then a plain rerun, equals a
run that was never killed, table for table and row for row.

One small pipeline has every kind of streaming work (``crash_pipeline.py``): bronze Auto
Loader (one file per micro-batch), silver with dedup keys and a quarantine, a windowed
streaming gold (its open windows are state), an append flow, AUTO CDC SCD1 and SCD2. The kill
is real: the runner's fault hook (``MEDALLION_FAULT=table:point``) SIGKILLs its own process at
an exact point, and the test then kills the process group, so the JVM goes with it as on a lost
machine. Data comes in two phases: A (two files, fresh tables) and B (a third file with
late, out-of-order and deleting events).

Coverage, within CI's budget (each killed run is a new JVM, the slow part): every point is hit,
and every kind of streaming work is killed at least once, spread over the points. A test kills
its tables one after another, each killed run also being the recovery of the previous kill
(a chain); the final plain rerun runs in the test's own session, and the tables are compared
after the last phase the test kills in:

============  ===============================================  ===========================
point         killed in (phase)                                what must hold
============  ===============================================  ===========================
first-batch   silver_events (A, the reported case), SCD2 (A)   fresh checkpoints restart
later-batch   bronze_events (A, 2nd file), gold_windows (B)    replayed batch, open windows
after-commit  append flow (A), SCD1 (B)                        Delta skips the replay
event-log     event_log (A)                                    tables done, log not written
============  ===============================================  ===========================

A kill between a batch's write and its checkpoint commit is the case idempotent writes exist
for; bronze's equivalent (and kills timed from outside) are in ``test_bronze_kill.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality

from medallion.backends.local import LocalRunner
from medallion.loader import load_pipeline
from tests.spark import crash_pipeline

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PIPELINE = Path(crash_pipeline.__file__)
EVENTS = {  # (id, name, op, seq, ts); file 2 repeats a row, file 3 has a late, older event
    1: [(1, "a", "UPSERT", 1, "2024-01-01T10:00"), (2, "b", "UPSERT", 2, "2024-01-01T10:10"),
        (3, "c", "UPSERT", 3, "2024-01-01T10:20"), (None, "x", "UPSERT", 4, "2024-01-01T10:30")],
    2: [(1, "a2", "UPSERT", 5, "2024-01-01T11:05"), (2, "b", "DELETE", 6, "2024-01-01T11:10"),
        (2, "b", "DELETE", 6, "2024-01-01T11:10"), (4, "d", "UPSERT", 7, "2024-01-01T11:20")],
    3: [(3, "c0", "UPSERT", 0, "2024-01-01T09:00"), (5, "e", "UPSERT", 8, "2024-01-01T12:30"),
        (1, "a3", "UPSERT", 9, "2024-01-01T12:40")],
}
PHASES = {"A": (1, 2), "B": (3,)}
#: point -> the kills of its test: (phase, table or flow name)
MATRIX = {
    "first-batch": [("A", "silver_events"), ("A", "customers_scd2")],
    "later-batch": [("A", "bronze_events"), ("B", "gold_windows")],
    "after-commit": [("A", "events_flow"), ("B", "customers_scd1")],
    "event-log": [("A", "event_log")],
}
#: Columns that differ between any two runs (when a row was quarantined).
VOLATILE = ("_quarantined_at",)


def add_files(raw: Path, phase: str) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    for n in PHASES[phase]:
        path = raw / f"events-{n}.json"
        tmp = raw / f".events-{n}.json.tmp"
        rows = [{"id": i, "name": name, "op": op, "seq": seq, "ts": f"{ts}:00"}
                for i, name, op, seq, ts in EVENTS[n]]
        tmp.write_text("".join(json.dumps(row) + "\n" for row in rows))
        tmp.replace(path)
        os.utime(path, (1_700_000_000 + n, 1_700_000_000 + n))  # the order Auto Loader sees


def run_in_session(spark: Any, raw: Path, warehouse: Path) -> Any:
    pipeline = load_pipeline(PIPELINE, configuration={"raw": str(raw)})
    return LocalRunner(warehouse=warehouse, spark=spark).run(pipeline)


def run_killed(raw: Path, warehouse: Path, fault: str, log: Path) -> None:
    """`medallion run` in its own process, which the fault hook kills; then its JVM too."""
    command = [sys.executable, "-c", "import sys; from medallion.cli import main; "
               "sys.exit(main())", "run", str(PIPELINE), "--warehouse", str(warehouse),
               "--conf", f"raw={raw}"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "MEDALLION_FAULT": fault}
    with log.open("ab") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True)
        try:
            code = child.wait(timeout=900)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)  # the JVM it started, if still there
    assert code == -signal.SIGKILL, f"not killed at {fault} (exit {code}):\n" + (
        log.read_text()[-3000:])


def tables(spark: Any, warehouse: Path) -> dict[str, Any]:
    return {name: spark.read.format("delta").load((warehouse / "medallion_db" / name).as_uri())
            for name in crash_pipeline.TABLES}


@pytest.fixture(scope="module")
def never_killed(medallion_spark: Any, tmp_path_factory: pytest.TempPathFactory
                 ) -> dict[str, dict[str, Any]]:
    """The tables after phase A and after phase B of a run never killed (collected rows)."""
    root = tmp_path_factory.mktemp("never-killed")
    expected: dict[str, dict[str, Any]] = {}
    for phase in PHASES:
        add_files(root / "raw", phase)
        run_in_session(medallion_spark, root / "raw", root / "warehouse")
        expected[phase] = {name: medallion_spark.createDataFrame(df.collect(), df.schema)
                           for name, df in tables(medallion_spark, root / "warehouse").items()}
    return expected


@pytest.mark.parametrize("point", list(MATRIX))
def test_killed_at_each_point_then_rerun_equals_never_killed(
    point: str, tmp_path: Path, medallion_spark: Any, never_killed: dict[str, dict[str, Any]]
) -> None:
    raw, warehouse, log = tmp_path / "raw", tmp_path / "warehouse", tmp_path / "child.log"
    last = max(p for p, _ in MATRIX[point])
    for phase in [p for p in PHASES if p <= last]:
        add_files(raw, phase)
        kills = [name for p, name in MATRIX[point] if p == phase]
        for name in kills:
            table = "event_log" if point == "event-log" else name
            run_killed(raw, warehouse, f"{table}:{point}", log)
        result = run_in_session(medallion_spark, raw, warehouse)
        assert result.ok
        for name, df in tables(medallion_spark, warehouse).items():
            assert_df_equality(df.drop(*VOLATILE), never_killed[phase][name].drop(*VOLATILE),
                               ignore_row_order=True, ignore_nullable=True)
        # the event log stays readable: this run's update is in it, complete
        updates = medallion_spark.read.format("delta").load(
            (warehouse / "medallion_db" / "event_log").as_uri()).where(
            f"origin.update_id = '{result.update_id}' AND event_type = 'update_progress'")
        states = updates.selectExpr("get_json_object(details, '$.update_progress.state') AS s")
        assert sorted(r.s for r in states.collect()) == ["COMPLETED", "RUNNING"]
