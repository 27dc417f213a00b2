"""Make a streaming checkpoint left by a killed run startable again, or say why it cannot be.

Spark writes each checkpoint file (``metadata``, ``offsets/<batch>``, ``commits/<batch>``, the
file source's ``sources/0/<n>``) to a temporary file first, ``.<name>.<uuid>.tmp`` (with a
``.crc`` beside it on a local disk), then renames it. A process killed between the two leaves
the temporary file behind. Spark never reads those, but when no batch was planned yet it takes
any file under ``offsets/`` as a sign that another query uses the folder and refuses to start
(``STATE_STORE_CHECKPOINT_LOCATION_NOT_EMPTY``), forever.

Everything else a kill can leave is already safe: a batch planned in ``offsets/`` but not in
``commits/`` is replayed with the same offsets, and each flow's Delta writes carry the batch id
as an idempotent transaction (``txnAppId``/``txnVersion``), so a replayed batch already
written is skipped. :func:`repair` removes the temporary files before the stream starts and
returns what it did; a checkpoint whose files are damaged or contradict each other (not
something a kill leaves) is refused with the full refresh that rebuilds the table.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from medallion.errors import TableRunError

#: The folders Spark owns inside a checkpoint (medallion keeps its own files beside them).
SPARK_FOLDERS = ("offsets", "commits", "sources", "state")


class CheckpointError(TableRunError):
    """A table's streaming checkpoint cannot be repaired: only a full refresh restarts it."""

    def __init__(self, table: str, checkpoint: Path, problem: str) -> None:
        self.checkpoint = checkpoint
        super().__init__(
            table,
            f"its streaming checkpoint {checkpoint} {problem}; medallion cannot repair this "
            "without risking rows lost or written twice. Rebuild the table from its sources "
            f"with a full refresh: {refresh_command(table)}",
        )


def repair(checkpoint: Path, table: str) -> list[str]:
    """Remove what a killed run left in ``checkpoint``; return one sentence per repair.

    Raises:
        CheckpointError: the checkpoint is damaged in a way a kill does not explain.
    """
    if not checkpoint.is_dir():
        return []
    done: list[str] = []
    leftovers = _temporary_files(checkpoint)
    if leftovers:
        for path in leftovers:
            path.unlink(missing_ok=True)
        names = ", ".join(str(p.relative_to(checkpoint)) for p in leftovers[:3])
        more = f" and {len(leftovers) - 3} more" if len(leftovers) > 3 else ""
        done.append(f"removed {len(leftovers)} temporary file(s) an interrupted run left in "
                    f"its streaming checkpoint ({names}{more})")
    _check_logs(checkpoint, table)
    return done


def _temporary_files(checkpoint: Path) -> list[Path]:
    """Spark's unrenamed temporary files (and their checksums) in the folders it owns."""
    found = [p for p in checkpoint.glob(".metadata.*") if _is_temporary(p.name)]
    for folder in SPARK_FOLDERS:
        root = checkpoint / folder
        if root.is_dir():
            found += [p for p in root.rglob(".*") if p.is_file() and _is_temporary(p.name)]
    return sorted(found)


def _is_temporary(name: str) -> bool:
    return name.startswith(".") and (name.endswith(".tmp") or name.endswith(".tmp.crc"))


def _batches(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())


def _check_logs(checkpoint: Path, table: str) -> None:
    """Refuse what Spark would fail on and a kill cannot leave: broken or contradicting logs."""
    offsets = _batches(checkpoint / "offsets")
    commits = _batches(checkpoint / "commits")
    if not offsets:
        if commits:
            raise CheckpointError(
                table, checkpoint,
                f"records micro-batch {commits[-1]} as done but holds no planned batch "
                "(offsets/ is empty: were files deleted by hand?)")
        return
    if commits and commits[-1] > offsets[-1]:
        raise CheckpointError(
            table, checkpoint,
            f"records micro-batch {commits[-1]} as done, but the last batch it planned is "
            f"{offsets[-1]}")
    for folder, batch in (("offsets", offsets[-1]), ("commits", commits[-1] if commits else None)):
        if batch is None:
            continue
        path = checkpoint / folder / str(batch)
        lines = path.read_text(errors="replace").splitlines()
        if len(lines) < 2 or not lines[0].startswith("v"):
            raise CheckpointError(table, checkpoint,
                                  f"has a damaged file {folder}/{batch} (incomplete or empty)")


#: Spark's errors about a checkpoint it cannot use (a state this module did not foresee).
SPARK_CHECKPOINT_ERRORS = ("STATE_STORE_CHECKPOINT_LOCATION_NOT_EMPTY", "CANNOT_LOAD_STATE_STORE",
                           "INVALID_LOG_VERSION", "Log file was malformed")


def spark_refusal(exc: BaseException, table: str, checkpoint: Path) -> CheckpointError | None:
    """A :class:`CheckpointError` for Spark refusing the checkpoint, None for other errors."""
    text = str(exc)
    marker = next((m for m in SPARK_CHECKPOINT_ERRORS if m in text), None)
    if marker is None:
        return None
    return CheckpointError(table, checkpoint, f"was refused by Spark ({marker})")


def refresh_command(table: str) -> str:
    """The command that rebuilds ``table``: the CLI run that failed, with ``--full-refresh``."""
    argv = list(sys.argv)
    if argv and Path(argv[0]).name == "medallion" and "run" in argv[1:]:
        kept: list[str] = []
        skipping = False
        for arg in argv[1:]:
            if arg == "--full-refresh":
                skipping = True  # drop its table names too
                continue
            if skipping and not arg.startswith("-"):
                continue
            skipping = False
            kept.append(arg)
        return shlex.join(["medallion", *kept, "--full-refresh", table])
    return (f"medallion run <pipeline file> --full-refresh {table} (in Python: "
            f"runner.run(pipeline, full_refresh=[{table!r}]))")
