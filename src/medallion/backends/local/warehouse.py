"""The warehouse folder: where the local runner keeps tables, checkpoints and state.

Layout::

    <warehouse>/<schema>/<table>/                 Delta table (registered as <schema>.<table>)
    <warehouse>/_system/checkpoints/<schema>/<table>/   streaming checkpoints
    <warehouse>/_system/schemas/<schema>/<table>/       inferred source schemas
    <warehouse>/_system/state/<schema>/<table>.json     what a materialized view was computed from
    <warehouse>/_system/aggregates/<schema>/<table>/    a gold view's per-group partials (Parquet)
    <warehouse>/_system/logs/                           Spark's console output of CLI runs
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medallion.specs.sqlexpr import quote_identifier

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_WAREHOUSE = "medallion-warehouse"
ENV_VAR = "MEDALLION_WAREHOUSE"
SYSTEM_DIR = "_system"
_COMMIT_FILE = re.compile(r"^(\d{20})\.json$")


def resolve_warehouse(path: str | os.PathLike[str] | None = None) -> Path:
    """The warehouse: ``path``, else ``$MEDALLION_WAREHOUSE``, else ``./medallion-warehouse``."""
    chosen = path if path is not None else os.environ.get(ENV_VAR) or DEFAULT_WAREHOUSE
    return Path(chosen).expanduser().resolve()


def check_usable(path: str | os.PathLike[str] | None = None) -> Path:
    """The warehouse folder, created if missing; :class:`WarehouseError` unless it is usable.

    Checked before Spark starts, so an unusable path is named with the reason instead of
    surfacing as a raw ``OSError`` (or a Java one) half-way through a run.
    """
    from medallion.errors import WarehouseError

    root = resolve_warehouse(path)
    fix = "give a writable folder with --warehouse DIR or $MEDALLION_WAREHOUSE"
    blocker = next((p for p in (root, *root.parents) if p.exists() and not p.is_dir()), None)
    if blocker == root:
        raise WarehouseError(f"warehouse '{root}' is not a folder: it is a file; {fix}")
    if blocker is not None:
        raise WarehouseError(
            f"warehouse '{root}' cannot be created: '{blocker}' is a file, not a folder; {fix}"
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarehouseError(
            f"warehouse '{root}' cannot be created: {exc.strerror or exc}; {fix}"
        ) from None
    probe = root / f".medallion-write-check-{os.getpid()}"
    try:
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise WarehouseError(
            f"warehouse '{root}' is not writable: {exc.strerror or exc}; {fix}"
        ) from None
    return root


class Warehouse:
    """Paths and catalog registration for one warehouse folder."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = resolve_warehouse(root)

    def table_path(self, schema: str, table: str) -> Path:
        """Folder of a Delta table."""
        return self.root / schema / table

    def checkpoint(self, schema: str, table: str) -> Path:
        """Streaming checkpoint folder of a table's flow."""
        return self.root / SYSTEM_DIR / "checkpoints" / schema / table

    def schema_state(self, schema: str, table: str) -> Path:
        """Folder holding a bronze table's inferred source schema."""
        return self.root / SYSTEM_DIR / "schemas" / schema / table

    def state_file(self, schema: str, table: str) -> Path:
        """JSON file recording what a materialized view was last computed from."""
        return self.root / SYSTEM_DIR / "state" / schema / f"{table}.json"

    def aggregate_state(self, schema: str, table: str) -> Path:
        """Folder of a gold view's per-group partials, one Parquet snapshot per refresh."""
        return self.root / SYSTEM_DIR / "aggregates" / schema / table

    def log_dir(self) -> Path:
        """Folder for Spark's console output."""
        return self.root / SYSTEM_DIR / "logs"

    def exists(self, schema: str, table: str) -> bool:
        """Whether the Delta table has been created.

        That is, whether it has a commit: a first write that failed leaves a ``_delta_log``
        folder without one.
        """
        return latest_version(self.table_path(schema, table)) is not None

    def reset(self, schema: str, table: str, *, data: bool = True) -> None:
        """Delete a table's data, checkpoint and state (a full refresh; a sink keeps its data)."""
        folders = [self.checkpoint(schema, table), self.schema_state(schema, table),
                   self.aggregate_state(schema, table)]
        for folder in [self.table_path(schema, table)] * data + folders:
            if folder.exists():
                shutil.rmtree(folder)
        self.state_file(schema, table).unlink(missing_ok=True)

    # -- Delta log, read directly (no Spark job) --------------------------------------------------
    def version(self, schema: str, table: str) -> int | None:
        """Latest committed Delta version, or None when the table does not exist."""
        return latest_version(self.table_path(schema, table))

    def stamp(self, schema: str, table: str) -> str | None:
        """The table's latest version with its commit time, e.g. ``"7@1764118800123"``.

        The version alone does not identify a table's content: a table dropped and recreated
        (a full refresh) can reach the same version number with other rows. None when the
        table does not exist.
        """
        path = self.table_path(schema, table)
        version = latest_version(path)
        return None if version is None else stamp_at(path, version)

    def read_state(self, schema: str, table: str) -> dict[str, Any] | None:
        """The recorded state of a materialized view, if any."""
        path = self.state_file(schema, table)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_state(self, schema: str, table: str, state: dict[str, Any]) -> None:
        """Record a materialized view's state (written atomically)."""
        write_json_atomic(self.state_file(schema, table), state)

    # -- catalog ---------------------------------------------------------------------------------
    def ensure_schema(self, spark: SparkSession, schema: str) -> None:
        """Create the schema (database) in the session catalog if missing."""
        location = (self.root / schema).as_uri()
        spark.sql(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)} LOCATION '{location}'")

    def register(self, spark: SparkSession, schema: str, table: str) -> None:
        """Register an existing Delta table as ``schema.table`` in the session catalog."""
        location = self.table_path(schema, table).as_uri()
        name = f"{quote_identifier(schema)}.{quote_identifier(table)}"
        spark.sql(f"CREATE TABLE IF NOT EXISTS {name} USING DELTA LOCATION "
                  f"'{location}'")

    def unregister(self, spark: SparkSession, schema: str, table: str) -> None:
        """Remove ``schema.table`` from the session catalog (the data is handled separately).

        The tables are external, so this never deletes data; it also works when the registered
        location no longer exists (where ``catalog.tableExists`` would fail to load the table).
        """
        spark.sql(f"DROP TABLE IF EXISTS {quote_identifier(schema)}.{quote_identifier(table)}")

    def tables(self) -> list[tuple[str, str]]:
        """Every (schema, table) holding a Delta table in this warehouse."""
        found: list[tuple[str, str]] = []
        if not self.root.is_dir():
            return found
        for schema_dir in sorted(self.root.iterdir()):
            if not schema_dir.is_dir() or schema_dir.name == SYSTEM_DIR:
                continue
            for table_dir in sorted(schema_dir.iterdir()):
                if latest_version(table_dir) is not None:
                    found.append((schema_dir.name, table_dir.name))
        return found

    def register_all(self, spark: SparkSession) -> list[str]:
        """Register every table of the warehouse (e.g. in a new process); return their names."""
        names = []
        for schema, table in self.tables():
            self.ensure_schema(spark, schema)
            self.unregister(spark, schema, table)  # it may point at another warehouse
            self.register(spark, schema, table)
            names.append(f"{schema}.{table}")
        return names


def latest_version(table_path: Path) -> int | None:
    """Latest Delta version from ``_delta_log`` file names (checkpoints included)."""
    log = table_path / "_delta_log"
    if not log.is_dir():
        return None
    best: int | None = None
    for entry in os.listdir(log):
        match = _COMMIT_FILE.match(entry)
        if match:
            value = int(match.group(1))
            best = value if best is None or value > best else best
    if best is None:
        checkpoint = log / "_last_checkpoint"
        try:
            best = int(json.loads(checkpoint.read_text())["version"])
        except (OSError, ValueError, KeyError):
            return None
    return best


def table_properties(table_path: Path) -> dict[str, str] | None:
    """The table's properties, from the newest ``metaData`` action in its JSON commits.

    None when no JSON commit holds one any more (only a checkpoint does): ask Spark then.
    """
    latest = latest_version(table_path)
    if latest is None:
        return None
    for version in range(latest, -1, -1):
        path = table_path / "_delta_log" / f"{version:020d}.json"
        try:
            with path.open() as lines:
                for line in lines:
                    if '"metaData"' not in line:
                        continue
                    action = json.loads(line).get("metaData")
                    if isinstance(action, dict):
                        return {str(k): str(v) for k, v in
                                (action.get("configuration") or {}).items()}
        except OSError:
            return None
    return None


def commit_info(table_path: Path, version: int) -> dict[str, Any]:
    """The ``commitInfo`` action of one Delta commit (operation, operationMetrics...)."""
    path = table_path / "_delta_log" / f"{version:020d}.json"
    try:
        with path.open() as lines:
            for line in lines:
                action = json.loads(line)
                if "commitInfo" in action:
                    info = action["commitInfo"]
                    return info if isinstance(info, dict) else {}
    except OSError:
        return {}
    return {}


def written_null_counts(table_path: Path, version: int,
                        columns: tuple[str, ...]) -> tuple[int, dict[str, int]] | None:
    """Rows added by one commit and each column's nulls among them, from the files' statistics.

    None when a file of the commit has no statistics for one of ``columns`` (Delta collects
    them for the first 32 columns by default) or the commit cannot be read. Only top-level
    columns, by name (a table without column mapping).
    """
    path = table_path / "_delta_log" / f"{version:020d}.json"
    rows = 0
    nulls = dict.fromkeys(columns, 0)
    try:
        with path.open() as lines:
            for line in lines:
                add = json.loads(line).get("add")
                if add is None:
                    continue
                stats = json.loads(add.get("stats") or "{}")
                counted = stats.get("nullCount") or {}
                if "numRecords" not in stats or any(c not in counted for c in columns):
                    return None
                rows += int(stats["numRecords"])
                for column in columns:
                    nulls[column] += int(counted[column])
    except (OSError, ValueError, TypeError):
        return None
    return rows, nulls


def table_rows(table_path: Path) -> int | None:
    """The rows of a table's latest version, from its files' statistics; None when unknown.

    Replays the JSON commits (adds and removes) and sums ``numRecords`` of the live files: no
    Spark job, no snapshot. None as soon as the answer would need more: a checkpoint (its
    parquet is Spark's to read), a file without statistics, a deletion vector (some of a
    file's rows are gone), or a commit that cannot be read.
    """
    log = table_path / "_delta_log"
    latest = latest_version(table_path)
    if latest is None or any(".checkpoint" in name for name in os.listdir(log)):
        return None
    live: dict[str, int] = {}
    try:
        for version in range(latest + 1):
            with (log / f"{version:020d}.json").open() as lines:
                for line in lines:
                    action = json.loads(line)
                    if "remove" in action:
                        live.pop(action["remove"]["path"], None)
                    add = action.get("add")
                    if add is None:
                        continue
                    stats = json.loads(add.get("stats") or "{}")
                    if "numRecords" not in stats or add.get("deletionVector"):
                        return None
                    live[add["path"]] = int(stats["numRecords"])
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return sum(live.values())


def stamp_at(table_path: Path, version: int) -> str:
    """``"<version>@<commit time in ms>"`` of one commit (see :meth:`Warehouse.stamp`)."""
    return f"{version}@{commit_info(table_path, version).get('timestamp', '')}"


def stamp_version(stamp: object) -> int | None:
    """The version of a stamp; None for anything that is not one."""
    if not isinstance(stamp, str):
        return None
    head, _, _ = stamp.partition("@")
    return int(head) if head.isdigit() else None


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` via a temporary file and rename, so readers never see half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)
