"""Exactly-once under SIGKILL: a bronze run killed at any moment, then rerun, lands each record
once.

A real subprocess (its own JVM) is killed at four moments, timed by watching the checkpoint and
the Delta log: before the first commit, between micro-batches, while a micro-batch is being
written, and after a micro-batch's Delta commit but before the checkpoint records it. A final
run completes the backlog; every input record is then in the table exactly once, with one Delta
commit per file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import medallion
from medallion.backends.local import LocalRunner
from tests.spark.conftest import write_json_lines

pytestmark = [pytest.mark.spark, pytest.mark.slow]

CHILD = Path(__file__).with_name("bronze_kill_child.py")
FILES = 5
PER_FILE = 200


def committed_files(table: Path) -> set[str]:
    """Data files referenced by the Delta log."""
    found: set[str] = set()
    for commit in sorted((table / "_delta_log").glob("*.json")):
        for line in commit.read_text().splitlines():
            action = json.loads(line)
            if "add" in action:
                found.add(action["add"]["path"])
    return found


def data_commits(table: Path) -> list[int]:
    """Versions of the Delta log that wrote rows."""
    versions = []
    for commit in sorted((table / "_delta_log").glob("*.json")):
        if any("add" in json.loads(line) for line in commit.read_text().splitlines()):
            versions.append(int(commit.stem))
    return versions


def uncommitted_parts(table: Path) -> set[str]:
    if not (table / "_delta_log").is_dir():
        return set()
    parts = {p.name for p in table.glob("part-*.parquet")}
    return parts - committed_files(table)


def run_child(raw: Path, warehouse: Path, log: Path, *, kill_when: Callable[[], bool] | None,
              hold: Path | None = None, timeout: float = 600) -> str:
    """Run the child; SIGKILL it as soon as ``kill_when()`` is true. Returns what happened."""
    command = [sys.executable, str(CHILD), str(raw), str(warehouse)]
    if hold is not None:
        command += ["--hold-after-commit", str(hold)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with log.open("ab") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                 start_new_session=True)
        deadline = time.monotonic() + timeout
        try:
            while child.poll() is None:
                if kill_when is not None and kill_when():
                    os.killpg(child.pid, signal.SIGKILL)  # the child and its JVM
                    child.wait()
                    return "killed"
                if time.monotonic() > deadline:
                    raise AssertionError(f"child did not finish; see {log}")
                time.sleep(0.01)
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
    if child.returncode != 0:
        raise AssertionError(f"child failed ({child.returncode}):\n{log.read_text()[-3000:]}")
    return "completed"


def test_sigkill_at_any_moment_then_rerun_lands_each_record_once(
    tmp_path: Path, medallion_spark: Any
) -> None:
    raw = tmp_path / "raw"
    for n in range(FILES):
        path = write_json_lines(raw, f"events-{n}.json",
                                [{"id": n * PER_FILE + i, "n": n} for i in range(PER_FILE)])
        os.utime(path, (1_700_000_000 + n, 1_700_000_000 + n))
    warehouse = tmp_path / "warehouse"
    checkpoint = warehouse / "_system" / "checkpoints" / "medallion_db" / "bronze_events"
    table = warehouse / "medallion_db" / "bronze_events"
    log = tmp_path / "child.log"

    # 1. before the first commit: the first micro-batch is planned, nothing written yet
    assert run_child(raw, warehouse, log,
                     kill_when=lambda: (checkpoint / "offsets" / "0").exists()) == "killed"
    assert not table.exists() or data_commits(table) == []

    # 2. between micro-batches: the first batch is committed to Delta and to the checkpoint
    assert run_child(raw, warehouse, log,
                     kill_when=lambda: (checkpoint / "commits" / "0").exists()) == "killed"
    assert len(data_commits(table)) >= 1

    # 3. during a write: a data file exists that no Delta commit references yet
    assert run_child(raw, warehouse, log,
                     kill_when=lambda: bool(uncommitted_parts(table))) == "killed"
    assert uncommitted_parts(table)

    # 4. after a Delta commit, before the checkpoint records the batch: the replayed batch must
    #    be skipped by Delta's idempotent transaction, not written twice
    hold = tmp_path / "hold"
    hold.mkdir()
    assert run_child(raw, warehouse, log, hold=hold,
                     kill_when=lambda: (hold / "committed").exists()) == "killed"
    batches_done = {int(p.name) for p in (checkpoint / "commits").iterdir() if p.name.isdigit()}
    planned = {int(p.name) for p in (checkpoint / "offsets").iterdir() if p.name.isdigit()}
    assert max(planned) not in batches_done  # killed before the checkpoint commit

    # 5. a clean rerun (here, in the test's own session) finishes the backlog
    with medallion.Pipeline("killed") as pipeline:
        medallion.bronze_autoloader(name="bronze_events", path=str(raw),
                                    max_files_per_trigger=1)
    result = LocalRunner(warehouse=warehouse, spark=medallion_spark).run(pipeline)
    assert result["bronze_events"].detail.startswith(
        "a micro-batch already written before an interruption was skipped")
    rows = medallion_spark.read.format("delta").load(table.as_uri())
    ids = sorted(int(r.id) for r in rows.select("id").collect())
    assert ids == list(range(FILES * PER_FILE))  # every record, exactly once
    assert len(data_commits(table)) == FILES  # one commit per file, none repeated
