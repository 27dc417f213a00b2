"""Checkpoint repair after a kill (no Spark), and the fault-injection hook."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from medallion.backends.local import checkpoint, faults
from medallion.backends.local.checkpoint import CheckpointError, refresh_command, repair

OFFSETS = 'v1\n{"batchWatermarkMs":0}\n{"logOffset":0}\n'
COMMIT = 'v1\n{"nextBatchWatermarkMs":0}\n'


def layout(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_temporary_files_are_removed_and_reported(tmp_path: Path) -> None:
    cp = layout(tmp_path / "cp", {
        "metadata": '{"id":"x"}',
        ".metadata.0a.tmp": "",
        "offsets/0": OFFSETS, "offsets/.0.crc": "c", "commits/0": COMMIT,
        "offsets/.1.9f.tmp": "v1\n{", "offsets/..1.9f.tmp.crc": "c",
        "commits/.0.77.tmp": "v",
        "sources/0/.1.5e.tmp": "v1",
        "medallion-state.json": "{}", ".medallion-flow-id.tmp": "abc",  # medallion's own
    })
    assert repair(cp, "silver_orders") == [
        "removed 5 temporary file(s) an interrupted run left in its streaming checkpoint "
        "(.metadata.0a.tmp, commits/.0.77.tmp, offsets/..1.9f.tmp.crc and 2 more)"]
    left = sorted(str(p.relative_to(cp)) for p in cp.rglob("*") if p.is_file())
    assert left == [".medallion-flow-id.tmp", "commits/0", "medallion-state.json", "metadata",
                    "offsets/.0.crc", "offsets/0"]
    assert repair(cp, "silver_orders") == []  # nothing left to repair


def test_a_sound_or_missing_checkpoint_is_left_alone(tmp_path: Path) -> None:
    assert repair(tmp_path / "none", "t") == []
    cp = layout(tmp_path / "cp", {"offsets/0": OFFSETS, "offsets/1": OFFSETS,
                                  "commits/0": COMMIT})
    assert repair(cp, "t") == []
    assert sorted(p.name for p in (cp / "offsets").iterdir()) == ["0", "1"]


@pytest.mark.parametrize(("files", "problem"), [
    ({"commits/0": COMMIT},
     "records micro-batch 0 as done but holds no planned batch (offsets/ is empty: were files "
     "deleted by hand?)"),
    ({"offsets/0": OFFSETS, "commits/0": COMMIT, "commits/1": COMMIT},
     "records micro-batch 1 as done, but the last batch it planned is 0"),
    ({"offsets/0": OFFSETS, "offsets/1": ""}, "has a damaged file offsets/1 (incomplete or empty)"),
    ({"offsets/0": OFFSETS, "commits/0": "v1"},
     "has a damaged file commits/0 (incomplete or empty)"),
])
def test_damage_a_kill_cannot_leave_is_refused_with_the_full_refresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], problem: str
) -> None:
    cp = layout(tmp_path / "cp", files)
    monkeypatch.setattr(sys, "argv", ["/usr/bin/medallion", "run", "p.yaml", "--warehouse", "w"])
    with pytest.raises(CheckpointError) as caught:
        repair(cp, "silver_orders")
    assert str(caught.value) == (
        f"Table 'silver_orders' failed: its streaming checkpoint {cp} {problem}; medallion "
        "cannot repair this without risking rows lost or written twice. Rebuild the table from "
        "its sources with a full refresh: medallion run p.yaml --warehouse w --full-refresh "
        "silver_orders")


def test_refresh_command_replaces_the_runs_own_full_refresh(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["medallion", "run", "my pipeline.yaml", "--full-refresh",
                                      "a", "b", "--conf", "raw=/r"])
    assert refresh_command("t") == ("medallion run 'my pipeline.yaml' --conf raw=/r "
                                    "--full-refresh t")
    monkeypatch.setattr(sys, "argv", ["pytest"])
    assert refresh_command("t") == ("medallion run <pipeline file> --full-refresh t (in Python: "
                                    "runner.run(pipeline, full_refresh=['t']))")
    assert checkpoint.SPARK_FOLDERS == ("offsets", "commits", "sources", "state")


def test_spark_refusing_a_checkpoint_becomes_the_full_refresh_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["medallion", "run", "p.yaml"])
    spark_error = RuntimeError(
        "[STREAM_FAILED] Query [id = 1] terminated with exception: "
        "[STATE_STORE_CHECKPOINT_LOCATION_NOT_EMPTY] The checkpoint location x/offsets should "
        "be empty on batch 0\n\tat org.apache.spark.sql.execution.streaming.MicroBatchExecution")
    refused = checkpoint.spark_refusal(spark_error, "silver_orders", tmp_path)
    assert str(refused) == (
        f"Table 'silver_orders' failed: its streaming checkpoint {tmp_path} was refused by "
        "Spark (STATE_STORE_CHECKPOINT_LOCATION_NOT_EMPTY); medallion cannot repair this "
        "without risking rows lost or written twice. Rebuild the table from its sources with "
        "a full refresh: medallion run p.yaml --full-refresh silver_orders")
    assert checkpoint.spark_refusal(ValueError("[DIVIDE_BY_ZERO]"), "t", tmp_path) is None


def test_fault_entries_are_parsed_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(faults.ENV, "silver_orders:first-batch, event_log:event-log,bad,x:nowhere")
    assert faults.armed() == {("silver_orders", "first-batch"), ("event_log", "event-log")}
    faults.reach("later-batch", "silver_orders")  # not armed: returns
    faults.reach("first-batch", "gold")
    assert [faults.batch_point(0), faults.batch_point(3)] == ["first-batch", "later-batch"]
    monkeypatch.delenv(faults.ENV)
    assert faults.armed() == frozenset()


def test_an_armed_fault_sigkills_the_process() -> None:
    code = ("from medallion.backends.local import faults\n"
            "faults.reach('after-commit', 'customers_scd1', 'customers')\n"
            "print('survived')\n")
    env = {**os.environ, faults.ENV: "customers:after-commit",
           "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (-signal.SIGKILL, "")
