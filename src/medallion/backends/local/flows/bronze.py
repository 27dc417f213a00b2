"""Bronze on the local runner: files → Delta with Auto Loader's semantics, or as a snapshot.

The incremental flow runs a file stream (``availableNow``) whose micro-batches are the unit of
exactly-once: each batch's files are read by :mod:`medallion.backends.local.autoloader` with the
schema in effect, and appended with the batch id as Delta's idempotent transaction version. The
schema is inferred once (from at most 1000 files or 50 GB, as Auto Loader), persisted, and evolves
only as ``schema_evolution_mode`` says.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medallion.backends.local import delta
from medallion.backends.local.autoloader import files as source
from medallion.backends.local.autoloader.census import Census, files_with, take_census
from medallion.backends.local.autoloader.columns import (
    Columns,
    from_struct,
    given_columns,
    hint_columns,
    one_of_each_case,
    to_struct,
)
from medallion.backends.local.autoloader.evolution import (
    BatchPlan,
    apply_hints,
    changed_types,
    plan_batch,
)
from medallion.backends.local.autoloader.reader import read_files
from medallion.backends.local.autoloader.state import SchemaState
from medallion.backends.local.flows.base import Flow
from medallion.backends.local.result import SchemaChange
from medallion.backends.local.run_context import RunContext
from medallion.backends.local.warehouse import written_null_counts
from medallion.errors import TableRunError
from medallion.specs.bronze import BronzeSpec
from medallion.specs.sqlexpr import quote_identifier

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import DataType

    from medallion.pipeline import Declaration

#: Where a new user gets input, said when a bronze source folder is missing or empty.
SAMPLE_INPUT_HINT = (
    " (sample input: `medallion demo` generates orders/ and customers/ into "
    "<warehouse>/_demo_input; pass a folder like that with --conf, e.g. "
    "--conf raw=medallion-warehouse/_demo_input for examples/orders)"
)
#: Auto Loader's inference sample: at most this many files or bytes.
INFERENCE_MAX_FILES = 1000
INFERENCE_MAX_BYTES = 50 * 1024**3


class BronzeFlow(Flow):
    """Lands the files of a :class:`BronzeSpec` in its Delta table."""

    spec: BronzeSpec

    def __init__(self, run: RunContext, decl: Declaration) -> None:
        super().__init__(run, decl)
        self._notes: list[str] = []
        #: The schema in effect (None until there is a file to infer it from).
        self._columns: Columns | None = None
        #: The census the schema was inferred from in this run, and its files.
        self._sample: Census | None = None
        self._sampled: frozenset[str] = frozenset()

    def process(self) -> None:
        """Land the files: as a stream when incremental, else as a snapshot."""
        try:
            if self.spec.incremental:
                self._incremental()
            else:
                self._snapshot()
        except Exception as exc:
            text = str(exc).lower()
            if self.spec.format == "avro" and "avro" in text and "data source" in text:
                raise TableRunError(
                    self.decl.name,
                    "format='avro' needs Spark's Avro module, which this session does not "
                    "have: start it with spark.jars.packages including "
                    "org.apache.spark:spark-avro_2.13:<your Spark version>",
                ) from exc
            raise
        self._summarise()

    @property
    def state(self) -> SchemaState:
        """Where the inferred schema and its changes are kept."""
        return SchemaState(self.run.warehouse.schema_state(self.run.schema, self.decl.name))

    # -- the schema in effect ----------------------------------------------------------------
    def _start_schema(self, files: list[str]) -> None:
        """Set the schema at the start of a run.

        Declared: the spec's ``schema``. Else the persisted one (plus hinted columns added
        since). Else inferred now from the oldest files and persisted; left unset when there
        are no files yet (the first micro-batch's files are inferred from then).
        """
        given = given_columns(self.spec)
        if given is not None:
            self._columns = given
            return
        persisted = self.state.load()
        if persisted is not None:
            self._columns = self._with_hints(from_struct(persisted))
            return
        if self.spec.format == "text":
            return
        sample = source.sample_for_inference(files, INFERENCE_MAX_FILES, INFERENCE_MAX_BYTES)
        if sample:
            self._sample = take_census(self.run.spark, self.spec, sample)
            self._sampled = frozenset(sample)
            self._adopt(self._sample)
        elif self.spec.include_existing_files:
            raise TableRunError(
                self.decl.name,
                f"no files to infer the schema from in '{self.spec.path}'. Add files there, "
                "or give the columns with schema='col TYPE, ...'",
            )

    def _adopt(self, census: Census) -> Columns:
        """Make the census's columns (one per name, hints applied) the persisted schema."""
        columns = apply_hints(one_of_each_case(census.columns), hint_columns(self.spec))
        self._check_names(columns, census.files)
        self.state.save(to_struct(columns))
        self._columns = columns
        return columns

    def _check_names(self, columns: Columns, files: list[str]) -> None:
        """The files' columns must not take the name of a column bronze adds."""
        spec = self.spec
        added = {name.lower(): f"metadata column '{name}'" for name in spec.metadata_columns}
        for name, what in ((spec.rescue_column, "rescued_data_column"),
                           (spec.corrupt_record_column, "the corrupt record column")):
            if name is not None:
                added[name.lower()] = f"{what} '{name}'"
        for name, _ in columns:
            if name.lower() in added:
                raise TableRunError(
                    self.decl.name,
                    f"the files have a column '{name}' (in {', '.join(files[:3])}), which is "
                    f"also the name of {added[name.lower()]}; rename that one in the spec",
                )

    def _with_hints(self, columns: Columns) -> Columns:
        """The persisted schema plus hinted columns declared since (a type change is refused)."""
        hinted = apply_hints(columns, hint_columns(self.spec))
        changed = changed_types(columns, hinted)
        if changed:
            name, old, new = changed[0]
            raise TableRunError(
                self.decl.name,
                f"schema_hints change column '{name}' from {old.simpleString().upper()} to "
                f"{new.simpleString().upper()}, but rows were already ingested as "
                f"{old.simpleString().upper()}. Run a full refresh of '{self.decl.name}' to "
                "re-ingest with the new type, or remove the hint",
            )
        if len(hinted) > len(columns):
            self._evolve(hinted, hinted[len(columns):], batch_id=-1, files=[])
        return hinted

    def _evolve(self, columns: Columns, added: Columns, *, batch_id: int,
                files: list[str]) -> None:
        """Persist a grown schema and record what was added, from which files."""
        self.state.save(to_struct(columns))
        change = SchemaChange(
            batch_id=batch_id,
            added=tuple((name, type_.simpleString()) for name, type_ in added),
            files=tuple(files),
            at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        )
        self.state.record(change)
        self.result.schema_changes.append(change)
        self._columns = list(columns)

    def _plan(self, files: list[str], batch_id: int) -> tuple[BatchPlan[DataType], Census]:
        """Census the batch's files and decide, before writing, what their columns do."""
        spark = self.run.spark
        if (self._sample is not None and self.spec.format == "json"
                and self._sampled.issuperset(files)):
            census = Census(self._sample.columns, files=files)  # inferred from these already
        else:
            census = take_census(spark, self.spec, files)
        columns = self._columns if self._columns is not None else self._adopt(census)
        hinted = {name.lower(): type_ for name, type_ in hint_columns(self.spec)}
        found = [(name, hinted.get(name.lower(), type_)) for name, type_ in census.columns]
        plan = plan_batch(columns, found, self.spec.evolution_mode,
                          rescue=self.spec.rescue_column is not None)
        if plan.rejected:
            holders = files_with(spark, self.spec, census, list(plan.rejected))
            where = "; ".join(
                f"'{name}' in {', '.join(holders[name]) or 'the batch files'}"
                for name in plan.rejected
            )
            fix = ("add them to 'schema'" if self.spec.schema_ is not None
                   else "declare them in schema_hints")
            raise TableRunError(
                self.decl.name,
                f"new column(s) found with schema_evolution_mode='failOnNewColumns': {where}. "
                f"Nothing of this micro-batch was written, and the table stays stopped until "
                f"the schema has the columns ({fix}) or the file is removed",
            )
        if plan.added:
            self._check_names(list(plan.added), files)
            holders = files_with(spark, self.spec, census, [n for n, _ in plan.added])
            sources = sorted({uri for names in holders.values() for uri in names})
            self._evolve(list(plan.columns), list(plan.added), batch_id=batch_id, files=sources)
        return plan, census

    # -- incremental (Auto Loader semantics) ------------------------------------------------------
    def _incremental(self) -> None:
        spark = self.run.spark
        local = source.local_path(self.spec.path)
        if local is not None and not local.exists() and not _is_glob(self.spec.path):
            raise TableRunError(
                self.decl.name,
                f"source path '{self.spec.path}' does not exist; create it or fix 'path'"
                + SAMPLE_INPUT_HINT,
            )
        first_start = not (self.checkpoint / source.EXISTING_FILES).exists()
        needs_listing = (given_columns(self.spec) is None and self.state.load() is None) or (
            not self.spec.include_existing_files and first_start)
        listing = source.list_files(spark, self.spec) if needs_listing else []
        self._start_schema(listing)
        if source.unseen_files(self.checkpoint, self.spec) == []:
            # Every file was ingested already: no streaming query, no commit, no Spark job.
            self.result.status = "up_to_date"
            self._notes.append("no new files")
            return
        skip = (source.existing_files(self.checkpoint, listing)
                if not self.spec.include_existing_files else frozenset())
        stream = (
            spark.readStream.format("text")
            .options(**source.listing_options(self.spec))
            .option("maxFilesPerTrigger", str(self.spec.files_per_trigger))
            .load(self.spec.path)
        )
        target = self.target
        app_id = self.txn_app_id(self.decl.name)

        def handle(_batch: DataFrame, batch_id: int) -> None:
            files = [f for f in source.batch_files(self.checkpoint, batch_id) if f not in skip]
            gone = source.missing(files)
            if gone:
                self._notes.append(f"skipped {len(gone)} file(s) removed before ingestion: "
                                   + ", ".join(gone))
                files = [f for f in files if f not in gone]
            if not files:
                return
            plan, census = self._plan(files, batch_id)
            rows = read_files(spark, self.spec, files, plan, census)
            try:
                self._write(rows, lambda df, observed: delta.append(
                    df, target, txn=(app_id, batch_id), observed=observed))
            except Exception as exc:
                raise self._failfast(exc, files) from exc

        self.stream(stream, handle)
        if self.result.rows_in == 0 and not self._notes:
            self._notes.append("no new files")

    def _write(self, df: DataFrame, write: Callable[[DataFrame, bool], bool]) -> None:
        """Write ``df`` with ``write(df, observed)`` (False: Delta skipped it), counting its rows.

        The counts come from an ``Observation`` filled by the write itself. A write creating
        the table does it in one commit (``CREATE TABLE AS SELECT``), which on Spark 4 never
        fills an observation: the rows then come from the commit's metrics and the malformed
        and rescued rows from the written files' null counts, with one query of the new table
        only where those statistics cannot tell.
        """
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        rescued = self.spec.rescue_column
        corrupt = self.spec.corrupt_record_column
        counts = [F.count(F.lit(1)).alias("rows")]
        if corrupt is not None:
            counts.append(F.count(F.col(quote_identifier(corrupt))).alias("malformed"))
        if rescued is not None:
            fitting = F.col(quote_identifier(rescued)).isNotNull()
            if corrupt is not None:
                fitting = fitting & F.col(quote_identifier(corrupt)).isNull()
            counts.append(F.count_if(fitting).alias("rescued"))
        target = self.target
        before = target.version()
        if before is None and not delta.create_fills_observations(self.run.spark):
            write(df, False)
            seen = self._created_counts(counts)
        else:
            observation = Observation()
            if not write(df.observe(observation, *counts), True):
                self._notes.append("a micro-batch already written before an interruption was "
                                   "skipped")
                return
            seen = observation.get
        self.result.rows_in += int(seen.get("rows", 0) or 0)
        self.result.rows_malformed += int(seen.get("malformed", 0) or 0)
        self.result.rows_rescued += int(seen.get("rescued", 0) or 0)
        self.result.rows_written += delta.rows_written(target, before)

    def _created_counts(self, counts: list[Column]) -> dict[str, Any]:
        """The counts of the rows that created the table (its first commit)."""
        target = self.target
        first = target.version()
        rescued = self.spec.rescue_column
        corrupt = self.spec.corrupt_record_column
        columns = tuple(c for c in (corrupt, rescued) if c is not None)
        found = None if first is None else written_null_counts(target.path, first, columns)
        if found is not None:
            rows, nulls = found
            seen: dict[str, Any] = {"rows": rows}
            if corrupt is not None:
                seen["malformed"] = rows - nulls[corrupt]
            if rescued is None:
                return seen
            with_rescued = rows - nulls[rescued]
            # Rescued rows are those with rescued data that are not malformed: the statistics
            # tell when either kind is absent.
            if corrupt is None or seen["malformed"] == 0 or with_rescued == 0:
                seen["rescued"] = with_rescued
                return seen
        row = self.run.spark.read.format("delta").load(target.uri).agg(*counts).first()
        return {} if row is None else row.asDict()

    def _failfast(self, exc: Exception, files: list[str]) -> Exception:
        """A malformed record under ``mode=FAILFAST`` as a readable error (others unchanged)."""
        if "Malformed records are detected in record parsing" not in str(exc):
            return exc
        return TableRunError(
            self.decl.name,
            f"a malformed record in {', '.join(files)} with option mode='FAILFAST'; nothing "
            "of these files was written. Fix or remove the file, or drop the option to keep "
            f"malformed records in {self.spec.corrupt_record_column or '_corrupt_record'}",
        )

    # -- snapshot (materialized view over the files) ----------------------------------------------
    def _snapshot(self) -> None:
        files_hash = _files_fingerprint(self.spec.path)
        fingerprint = None if files_hash is None else self.fingerprint({"files": files_hash})
        if self.up_to_date(fingerprint):
            self.result.status = "up_to_date"
            self._notes.append("files unchanged since the last run")
            return
        spark = self.run.spark
        files = source.list_files(spark, self.spec)
        if not files:
            raise TableRunError(
                self.decl.name,
                f"no files in '{self.spec.path}'; a snapshot needs source files"
                + SAMPLE_INPUT_HINT,
            )
        census = take_census(spark, self.spec, files)
        given = given_columns(self.spec)
        columns = given if given is not None else apply_hints(
            one_of_each_case(census.columns), hint_columns(self.spec))
        plan = plan_batch(columns, census.columns, "none",
                          rescue=self.spec.rescue_column is not None)
        target = self.target

        def replace(df: DataFrame, observed: bool) -> bool:
            delta.overwrite(df, target, observed=observed)
            return True

        try:
            self._write(read_files(spark, self.spec, files, plan, census), replace)
        except Exception as exc:
            raise self._failfast(exc, files) from exc
        self.remember(fingerprint)

    # -- the run summary ---------------------------------------------------------------------------
    def _summarise(self) -> None:
        r = self.result
        notes = list(self._notes)
        if r.rows_malformed:
            notes.append(f"{r.rows_malformed} malformed record(s) kept in "
                         f"{self.spec.corrupt_record_column}")
        if r.rows_rescued:
            notes.append(f"{r.rows_rescued} row(s) with rescued data in "
                         f"{self.spec.rescue_column}")
        notes += [change.describe() for change in r.schema_changes]
        r.detail = "; ".join(notes)


def _is_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[{")


def _files_fingerprint(path: str) -> str | None:
    """A hash of the files' names, sizes and modification times (None: cannot tell)."""
    local = source.local_path(path)
    if local is None or not local.exists():
        return None
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(local):
        dirs.sort()
        for name in sorted(files):
            stat = (Path(root) / name).stat()
            digest.update(f"{root}/{name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
