"""What a local run did, per table: the numbers the CLI prints and tests assert."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from medallion.errors import MedallionError, PipelineRunError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Status = Literal["completed", "up_to_date", "failed", "skipped"]
#: How a materialized view was refreshed (Databricks' maintenance types, without the prefix).
Refresh = Literal["COMPLETE_RECOMPUTE", "GENERIC_AGGREGATE", "GROUP_AGGREGATE", "NO_OP"]


@dataclass(frozen=True)
class ExpectationResult:
    """Counts for one rule over the rows a table evaluated in this run."""

    name: str
    action: str
    passed: int
    failed: int

    @property
    def pass_rate(self) -> float:
        """Share of evaluated rows that passed (1.0 when no row was evaluated)."""
        total = self.passed + self.failed
        return 1.0 if total == 0 else self.passed / total


@dataclass(frozen=True)
class SchemaChange:
    """Columns a bronze table gained from new files (``addNewColumns``).

    Example:
        >>> SchemaChange(batch_id=2, added=(("discount", "string"),),
        ...              files=("file:/raw/orders-3.json",)).describe()
        'added column discount STRING (from file:/raw/orders-3.json)'
    """

    batch_id: int
    added: tuple[tuple[str, str], ...]
    files: tuple[str, ...]
    at: str = ""

    def describe(self) -> str:
        """One line: what was added, from which files."""
        columns = ", ".join(f"{name} {type_.upper()}" for name, type_ in self.added)
        noun = "column" if len(self.added) == 1 else "columns"
        origin = ", ".join(self.files) if self.files else "schema_hints"
        return f"added {noun} {columns} (from {origin})"

    def to_json(self) -> dict[str, Any]:
        """The change as a JSON object."""
        return {"batch_id": self.batch_id, "added": [list(c) for c in self.added],
                "files": list(self.files), "at": self.at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SchemaChange:
        """The change from :meth:`to_json`'s form."""
        return cls(int(data["batch_id"]), tuple((str(n), str(t)) for n, t in data["added"]),
                   tuple(str(f) for f in data["files"]), str(data.get("at", "")))


@dataclass
class TableResult:
    """What one table's update did.

    ``rows_in`` counts rows read from the source in this run; for a silver table,
    ``rows_in == rows_written + rows_dropped + rows_malformed + duplicates_removed`` exactly,
    and ``rows_quarantined == rows_dropped + rows_malformed`` when it has a quarantine table
    (silver's ``rows_malformed``: rows its ``malformed_records`` sent there). For a bronze table,
    ``rows_malformed`` counts records kept with their raw text in the corrupt record column,
    ``rows_rescued`` the other rows with a rescued data value, and ``schema_changes`` lists the
    columns the run added.

    Flows writing into a streaming table have their own result (``RunResult.flows``), with
    ``target`` naming the table. ``num_upserted_rows`` / ``num_deleted_rows`` are the rows a
    MERGE inserted or updated / deleted (AUTO CDC, incremental refresh), as in Databricks'
    ``flow_progress`` metrics. ``rows_late`` counts source rows a windowed streaming aggregate
    did not aggregate because the watermark had closed their window. ``refresh`` says how a
    materialized view was brought up to date, ``refresh_reason`` why (for a full recompute or a
    recompute of changed groups), ``refresh_rejected`` the technique that applied but was judged
    costlier (``GENERIC_AGGREGATE`` for a small view, which a full recompute rewrites cheaper).
    ``optimized`` is True when the runner ran ``OPTIMIZE`` on the table after writing it.
    ``repairs`` says what the runner repaired before streaming (what a killed run left in the
    table's checkpoint).
    """

    name: str
    layer: str
    status: Status = "completed"
    rows_in: int = 0
    rows_written: int = 0
    rows_dropped: int = 0
    rows_quarantined: int = 0
    duplicates_removed: int = 0
    rows_malformed: int = 0
    rows_rescued: int = 0
    schema_changes: list[SchemaChange] = field(default_factory=list)
    seconds: float = 0.0
    expectations: list[ExpectationResult] = field(default_factory=list)
    error: MedallionError | None = None
    detail: str = ""
    target: str | None = None
    num_upserted_rows: int = 0
    num_deleted_rows: int = 0
    rows_late: int = 0
    refresh: Refresh | None = None
    refresh_reason: str = ""
    refresh_rejected: Refresh | None = None
    optimized: bool = False
    repairs: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        """The facts worth a line under the table in the summary, beyond the columns."""
        notes: list[str] = []
        if self.target is not None:
            notes.append(f"flow into '{self.target}'")
        if self.refresh is not None:
            notes.append(f"refresh {self.refresh}" + (f" ({self.refresh_reason})"
                                                      if self.refresh_reason else ""))
        if self.num_upserted_rows or self.num_deleted_rows:
            notes.append(f"{self.num_upserted_rows:,} upserted, {self.num_deleted_rows:,} deleted")
        if self.rows_late:
            notes.append(f"{self.rows_late:,} late row(s) past the watermark, not aggregated")
        if self.optimized:
            notes.append("OPTIMIZE ran")
        notes += self.repairs
        if self.detail:
            notes.append(self.detail)
        return notes

    def line(self) -> str:
        """One summary line, as the CLI prints it (columns as in :data:`HEADER`)."""
        state = {"completed": "ok", "up_to_date": "up to date", "failed": "FAILED",
                 "skipped": "skipped"}[self.status]
        return (
            f"{self.name:<24} {state:<10} {self.rows_in:>10,} {self.rows_written:>10,} "
            f"{self.rows_dropped:>9,} {self.rows_quarantined:>11,} {self.seconds:>7.1f}s"
        )


HEADER = (
    f"{'table':<24} {'status':<10} {'rows in':>10} {'written':>10} {'dropped':>9} "
    f"{'quarantined':>11} {'seconds':>8}"
)


@dataclass
class RunResult:
    """The outcome of :meth:`medallion.Pipeline.run` on the local runner."""

    pipeline: str
    schema: str
    warehouse: Path
    tables: dict[str, TableResult] = field(default_factory=dict)
    flows: dict[str, TableResult] = field(default_factory=dict)
    seconds: float = 0.0
    spark: SparkSession | None = field(default=None, repr=False)
    update_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when no table failed."""
        return not self.failed

    @property
    def failed(self) -> list[TableResult]:
        """Tables and flows whose update failed."""
        return [t for t in (*self.tables.values(), *self.flows.values()) if t.status == "failed"]

    def __getitem__(self, name: str) -> TableResult:
        return self.tables[name]

    def read(self, name: str) -> DataFrame:
        """The current contents of a table of this run's warehouse.

        Example:
            >>> result.read("silver_orders").count()  # doctest: +SKIP
            42
        """
        if self.spark is None:  # pragma: no cover - always set by the runner
            raise MedallionError("this result has no SparkSession to read with")
        return self.spark.read.format("delta").load(str(self.warehouse / self.schema / name))

    def summary(self) -> str:
        """One line per table, then the overall outcome."""
        entries: list[TableResult] = []
        for table in self.tables.values():
            entries += [f for f in self.flows.values() if f.target == table.name]
            entries.append(table)
        entries += [f for f in self.flows.values() if f not in entries]
        lines = [HEADER, *(t.line() for t in entries)]
        for t in entries:
            if t.error is not None:
                lines.append(f"  {t.name}: {t.error}")
            elif t.notes():
                lines.append(f"  {t.name}: " + "; ".join(t.notes()))
        verdict = "succeeded" if self.ok else f"FAILED ({len(self.failed)} table(s))"
        lines.append(f"pipeline '{self.pipeline}' {verdict} in {self.seconds:.1f}s")
        return "\n".join(lines)

    def raise_for_failures(self) -> None:
        """Raise the first table's error (an :class:`ExpectationFailed` for a fail rule)."""
        failures = self.failed
        if not failures:
            return
        first = failures[0].error
        if len(failures) == 1 and isinstance(first, PipelineRunError):
            first.result = self  # type: ignore[attr-defined]
            raise first
        error = PipelineRunError(
            "tables failed: " + "; ".join(f"{t.name}: {t.error}" for t in failures),
            failed=[t.name for t in failures],
        )
        error.exit_code = max(t.error.exit_code for t in failures if t.error is not None)
        error.result = self  # type: ignore[attr-defined]
        raise error
