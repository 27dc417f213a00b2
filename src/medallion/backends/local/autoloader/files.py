"""Which files a bronze stream ingests: listing, the files of one micro-batch, existing files.

The local stream is a Structured Streaming file source: it lists the folder, splits the backlog
into micro-batches of at most ``maxFilesPerTrigger`` files and records each batch's files in its
checkpoint (``sources/0/<batch>``) before the batch runs. :func:`batch_files` reads that record,
so the flow reads exactly the files Spark planned for the batch, also when a batch is replayed
after a crash.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from medallion.backends.local.warehouse import write_json_atomic

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from medallion.specs.bronze import BronzeSpec

#: Reader options that change which files a folder holds (passed to the listing stream too).
LISTING_OPTIONS = ("pathGlobFilter", "recursiveFileLookup", "modifiedBefore", "modifiedAfter")
EXISTING_FILES = "medallion-existing-files.json"


def local_path(path: str) -> Path | None:
    """The local filesystem path of a ``file:`` URI or plain path (None for remote stores)."""
    if path.startswith("file:"):
        return Path(unquote(urlparse(path).path))
    if "://" in path:
        return None
    return Path(path)


def normalize(uri: str) -> str:
    """One spelling per file: ``file:/x`` (as ``_metadata.file_path`` shows it), not ``file:///x``.

    Example:
        >>> normalize("file:///raw/orders-1.json")
        'file:/raw/orders-1.json'
    """
    if uri.startswith("file:///"):
        return "file:/" + uri[len("file:///"):]
    return uri


def listing_options(spec: BronzeSpec) -> dict[str, str]:
    """The spec's options that decide which files are listed."""
    wanted = {name.lower(): name for name in LISTING_OPTIONS}
    return {wanted[k.lower()]: v for k, v in spec.options.items() if k.lower() in wanted}


def list_files(spark: SparkSession, spec: BronzeSpec) -> list[str]:
    """Every file of the source as Spark lists it, oldest first (as the stream reads them)."""
    reader = spark.read.format("text").options(**listing_options(spec))
    try:
        found = [normalize(f) for f in reader.load(spec.path).inputFiles()]
    except Exception as exc:  # an empty folder or a glob matching nothing
        if "PATH_NOT_FOUND" in str(exc) or "UNABLE_TO_INFER_SCHEMA" in str(exc):
            return []
        raise
    return sorted(found, key=_mtime_key)


def _mtime_key(uri: str) -> tuple[float, str]:
    local = local_path(uri)
    try:
        return (local.stat().st_mtime if local is not None else 0.0, uri)
    except OSError:
        return (0.0, uri)


def sample_for_inference(files: list[str], max_files: int, max_bytes: int) -> list[str]:
    """The first files (oldest first) up to ``max_files`` files or ``max_bytes`` bytes.

    Auto Loader infers from at most 1000 files or 50 GB; so does the local runner.
    """
    chosen: list[str] = []
    total = 0
    for uri in files[:max_files]:
        local = local_path(uri)
        size = local.stat().st_size if local is not None and local.exists() else 0
        if chosen and total + size > max_bytes:
            break
        chosen.append(uri)
        total += size
    return chosen


# -- the files of one micro-batch, from the stream's checkpoint ------------------------------------
class CheckpointFormatError(RuntimeError):
    """The checkpoint does not have the layout this runner knows (a Spark upgrade changed it)."""


def batch_files(checkpoint: Path, batch_id: int) -> list[str]:
    """The files the file stream planned for micro-batch ``batch_id``.

    Reads the batch's end offset (``offsets/<id>``), the previous batch's end offset, and the
    source log entries between them (``sources/0/<n>`` or a ``<n>.compact`` file).
    """
    end = _log_offset(checkpoint, batch_id)
    start = _log_offset(checkpoint, batch_id - 1) if batch_id > 0 else -1
    if end is None or start is None:
        raise CheckpointFormatError(f"no offsets for micro-batch {batch_id} in {checkpoint}")
    files: list[str] = []
    for log_id in range(start + 1, end + 1):
        files.extend(_source_log_entries(checkpoint / "sources" / "0", log_id))
    return files


def _log_offset(checkpoint: Path, batch_id: int) -> int | None:
    path = checkpoint / "offsets" / str(batch_id)
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    # v1, the batch metadata, then one offset per source: {"logOffset": n}
    if len(lines) < 3 or not lines[0].startswith("v"):
        raise CheckpointFormatError(f"unexpected offsets file {path}")
    try:
        return int(json.loads(lines[2])["logOffset"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointFormatError(f"unexpected source offset in {path}: {lines[2]!r}") from exc


def _source_log_entries(folder: Path, log_id: int) -> list[str]:
    candidates = [folder / str(log_id), folder / f"{log_id}.compact"]
    later = sorted(
        (int(p.name.split(".")[0]) for p in folder.glob("*.compact")
         if p.name.split(".")[0].isdigit() and int(p.name.split(".")[0]) > log_id),
    )
    candidates += [folder / f"{n}.compact" for n in later[:1]]
    for path in candidates:
        if path.exists():
            return [uri for batch, uri in _log_file(path) if (batch if batch is not None
                                                               else log_id) == log_id]
    raise CheckpointFormatError(f"no source log for batch {log_id} in {folder}")


def _log_file(path: Path) -> list[tuple[int | None, str]]:
    """The (batch id, file URI) entries of one source log file (``v1`` then JSON lines)."""
    entries: list[tuple[int | None, str]] = []
    for line in path.read_text().splitlines()[1:]:
        if not line.strip():
            continue
        entry = json.loads(line)
        batch = entry.get("batchId")
        entries.append((None if batch is None else int(batch), normalize(str(entry["path"]))))
    return entries


# -- what a rerun would find, without starting the stream ----------------------------------------
def unseen_files(checkpoint: Path, spec: BronzeSpec) -> list[str] | None:
    """The source files the stream has not planned yet, found without Spark (None: cannot tell).

    A rerun with nothing new then starts no streaming query and commits nothing. The answer is
    only given when it is certain: a local folder (no glob), and a checkpoint whose every planned
    micro-batch committed. The listing errs towards more files (a filter it cannot mirror exactly,
    such as ``modifiedAfter`` or a ``{a,b}`` glob, is not applied), so an empty list means the
    stream would find nothing either; any file it lists that Spark would not makes the stream run,
    as before.
    """
    planned = _planned_files(checkpoint)
    if planned is None:
        return None
    listed = _local_listing(spec)
    if listed is None:
        return None
    return [name for name in listed if name not in planned]


def _hidden(name: str) -> bool:
    """Names Spark's file listing leaves out: ``_x`` (not a ``k=v`` partition), ``.x``, copies."""
    return ((name.startswith("_") and "=" not in name) or name.startswith(".")
            or name.endswith("._COPYING_"))


def _local_listing(spec: BronzeSpec) -> list[str] | None:
    """Every file under a local source folder that Spark could list (a superset; None: remote)."""
    if any(ch in spec.path for ch in "*?[{"):
        return None
    root = local_path(spec.path)
    if root is None:
        return None
    root = Path(os.path.abspath(root))
    if root.is_file():
        return [str(root)]
    if not root.is_dir():
        return None
    pattern = spec.option("pathGlobFilter")
    exact = pattern is not None and not any(ch in pattern for ch in "[]{}\\")
    found = []
    for folder, _dirs, names in os.walk(root):
        for name in names:
            if _hidden(name) or (exact and not fnmatch.fnmatchcase(name, str(pattern))):
                continue
            found.append(os.path.join(folder, name))
    return found


def _numbered(folder: Path) -> list[int]:
    try:
        return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())
    except OSError:
        return []


def _planned_files(checkpoint: Path) -> set[str] | None:
    """Local paths of every file the stream planned, if every planned batch committed."""
    offsets = _numbered(checkpoint / "offsets")
    commits = _numbered(checkpoint / "commits")
    if not offsets or not commits or offsets[-1] != commits[-1]:
        return None  # a first run, or a batch to replay: the stream must run
    last = checkpoint / "commits" / str(commits[-1])
    try:
        if not last.read_text().startswith("v"):
            return None  # a commit file cut short by a kill: let the stream repair it
        end = _log_offset(checkpoint, offsets[-1])
    except (OSError, CheckpointFormatError):
        return None
    folder = checkpoint / "sources" / "0"
    try:
        names = [p.name for p in folder.iterdir()]
    except OSError:
        return None
    compacts = sorted(int(n.split(".")[0]) for n in names
                      if n.endswith(".compact") and n.split(".")[0].isdigit())
    start = compacts[-1] if compacts else -1
    logs = ([folder / f"{start}.compact"] if compacts else []) + [
        folder / str(n) for n in sorted(int(n) for n in names if n.isdigit()) if n > start]
    newest = max([start, *(int(p.name) for p in logs if p.name.isdigit())])
    if end is None or newest > end:
        return None  # files planned for a batch whose offsets were never written
    planned: set[str] = set()
    for path in logs:
        try:
            entries = _log_file(path)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        for _, uri in entries:
            local = local_path(uri)
            if local is None:
                return None
            planned.add(os.path.abspath(local))
    return planned


# -- include_existing_files=False ---------------------------------------------------------------
def existing_files(checkpoint: Path, lister: Iterable[str] | None) -> frozenset[str]:
    """The files present when the stream first started (recorded once, then read back).

    ``lister`` gives the current files; it is only consumed on the very first start.
    """
    record = checkpoint / EXISTING_FILES
    if record.exists():
        return frozenset(json.loads(record.read_text())["files"])
    files = sorted(lister or ())
    write_json_atomic(record, {"files": files})
    return frozenset(files)


# -- CSV headers ----------------------------------------------------------------------------------
def csv_header(uri: str, spec: BronzeSpec, spark: SparkSession | None = None) -> list[str]:
    """The column names in the first line of a CSV file."""
    line = first_line(uri, spark)
    if line is None:
        return []
    delimiter = spec.option("sep") or spec.option("delimiter") or ","
    quote = spec.option("quote") or '"'
    escape = spec.option("escape") or "\\"
    reader = csv.reader(io.StringIO(line), delimiter=delimiter[0], quotechar=quote[0] or None,
                        escapechar=escape[0] if escape and escape != quote else None,
                        doublequote=True)
    row = next(reader, [])
    return [name.strip() for name in row]


def first_line(uri: str, spark: SparkSession | None = None) -> str | None:
    """The first line of a file (None when empty)."""
    local = local_path(uri)
    if local is not None:
        with open(local, encoding="utf-8-sig", errors="replace", newline="") as handle:
            line = handle.readline()
        return line.rstrip("\r\n") if line else None
    if spark is None:  # pragma: no cover - remote stores are read through Spark
        raise ValueError(f"cannot read {uri} without Spark")
    row = spark.read.text(uri).limit(1).collect()
    return str(row[0][0]) if row else None


def missing(files: Iterable[str]) -> list[str]:
    """The local files among ``files`` that no longer exist."""
    gone = []
    for uri in files:
        local = local_path(uri)
        if local is not None and not os.path.exists(local):
            gone.append(uri)
    return gone
