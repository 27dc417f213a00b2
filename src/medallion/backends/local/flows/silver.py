"""Silver on the local runner: the core silver steps, written incrementally or as a view."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medallion.backends.local import delta, merge
from medallion.backends.local.columns import spark_confirms
from medallion.backends.local.delta import Target
from medallion.backends.local.flows.ruled import RuledFlow
from medallion.backends.local.quality import Evaluated, counted, evaluate
from medallion.core import silver as core
from medallion.core.columns import check_silver
from medallion.specs.silver import SilverSpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


class SilverFlow(RuledFlow):
    """Runs a :class:`SilverSpec`: prepare → rules → (quarantine) → dedup → joins → write."""

    spec: SilverSpec

    def check_columns(self) -> None:  # noqa: D102
        check_silver(self.spec, self.columns_of(self.spec.source), self.columns_of,
                     spark_confirms(self.run.spark))

    def process(self) -> None:
        """Stream new source rows in, or recompute the view."""
        if self.spec.streams(self.run.source_streams):
            self._incremental()
        else:
            self._view()

    def _evaluate(self, source: DataFrame, *, merge: bool = False,
                  whole: str | None = None) -> Evaluated:
        """The rules applied to ``source`` (the table ``whole`` read entire, for a view)."""
        prepared = core.prepare(core.well_formed(source, self.spec), self.spec)
        # A first write creating the table on Spark 4 fills no observation (see delta.create):
        # count from the cached rows then, rather than creating the table in two commits.
        unobserved = self.target.version() is None and not delta.create_fills_observations(
            self.run.spark)
        cache = merge or self.quarantine_target is not None or unobserved
        if (unobserved and whole is not None and self.quarantine_target is None
                and not self.rules.rules and not self.spec.malformed_records
                and not self.spec.derived):
            # No rule to count and the whole source read: its rows are the only count, and
            # its Delta log tells them without a job (nor a cache). Not with derived columns:
            # a generator there (explode) would change the number of rows.
            return counted(prepared, self.rules, self.rows_of(whole, source))
        evaluated = evaluate(prepared, self.rules, cache=cache)
        if cache:
            evaluated.materialize()
        return evaluated

    def _merges(self, target: Target) -> bool:
        """Whether micro-batches are MERGEd (dedup keeping the latest row of a stored key)."""
        return bool(self.spec.dedup_keys and self.spec.dedup_order_by) and (
            target.version() is not None)

    def _kept(self, evaluated: Evaluated) -> DataFrame:
        kept = self.rules.kept(evaluated.annotated, core.helper_columns(self.spec))
        kept = core.dedup(kept, self.spec.dedup_keys, self.spec.dedup_order_by)
        return core.enrich(kept, self.spec, self.reader.read)

    def _quarantined(self, evaluated: Evaluated, source: DataFrame | None = None) -> DataFrame:
        """Rows failing a drop rule, and (given the ``source``) its malformed rows."""
        rows = self.rules.quarantined(evaluated.annotated,
                                      source_row=core.transforms_rows(self.spec))
        if source is not None and self.spec.malformed_records:
            rows = rows.union(core.malformed_quarantine(source, self.spec))
        return rows

    def _count_malformed(self, source: DataFrame) -> int:
        """Source rows that ``malformed_records`` sends to quarantine (one pass; 0 when off)."""
        if not self.spec.malformed_records:
            return 0
        return source.where(core.malformed(self.spec)).count()

    def _finish(self, evaluated: Evaluated, written: int, quarantined: int,
                malformed: int) -> None:
        evaluated.record(self.result)
        self.result.rows_in += malformed
        self.result.rows_malformed += malformed
        self.result.rows_written += written
        self.result.rows_quarantined += quarantined

    def _settle_counts(self) -> None:
        r = self.result
        r.duplicates_removed = r.rows_in - r.rows_dropped - r.rows_malformed - r.rows_written
        notes = []
        if r.duplicates_removed:
            notes.append(f"{r.duplicates_removed:,} duplicate(s) removed")
        if r.rows_malformed:
            notes.append(f"{r.rows_malformed:,} malformed record(s) sent to "
                         f"{self.spec.quarantine}")
        if notes:
            r.detail = "; ".join(notes)

    # -- streaming table ---------------------------------------------------------------------
    def _incremental(self) -> None:
        fingerprint = self.fingerprint()
        if self.up_to_date(fingerprint):
            # Nothing was appended to the source since the last run: skip starting a stream.
            self.result.status = "up_to_date"
            self.result.detail = "no new rows in its source since the last run"
            return
        target = self.target
        quarantine = self.quarantine_target
        app_id = self.txn_app_id(self.decl.name)
        q_app_id = self.txn_app_id(quarantine.name) if quarantine is not None else ""

        def handle(batch: DataFrame, batch_id: int) -> None:
            malformed = self._count_malformed(batch)
            evaluated = self._evaluate(batch, merge=self._merges(target))
            try:
                kept = self._kept(evaluated)
                before = target.version()
                wrote = self._write_new_rows(kept, target, (app_id, batch_id),
                                             observed=evaluated.observed)
                written = delta.rows_written(target, before)
                # A micro-batch replayed after a crash, which Delta had already committed: it is
                # not counted again (uncached, no job ran, so its counts were never observed).
                counted = wrote
                quarantined = 0
                if quarantine is not None and (not counted or evaluated.dropped or malformed):
                    q_before = quarantine.version()
                    rows = self._quarantined(evaluated, batch)
                    delta.append(rows, quarantine, txn=(q_app_id, batch_id))
                    quarantined = delta.rows_written(quarantine, q_before)
                if counted:
                    self._finish(evaluated, written, quarantined, malformed)
                else:
                    self.result.rows_written += written
                    self.result.rows_quarantined += quarantined
            finally:
                evaluated.release()

        self.stream(self.reader.read_stream(self.spec.source), handle)
        if quarantine is not None and quarantine.version() is None:
            # Create the (empty) quarantine table so that it can be queried from the first run.
            self._create_empty_quarantine(quarantine)
        self._settle_counts()
        self.remember(fingerprint)

    def _write_new_rows(self, kept: DataFrame, target: Target, txn: tuple[str, int], *,
                        observed: bool) -> bool:
        """Append the batch; with dedup keys, only keys the table does not hold yet.

        A duplicate arriving in a later run is not inserted again; with ``dedup_order_by`` a
        newer version of a row replaces the stored one (MERGE). Both are idempotent, so a
        replayed micro-batch changes nothing. Returns False when Delta skipped an append as
        already committed (no job ran).
        """
        keys = self.spec.dedup_keys
        if not keys or target.version() is None:
            return delta.append(kept, target, txn=txn, observed=observed)
        condition = " AND ".join(f"t.{core.quote(k)} = s.{core.quote(k)}" for k in keys)
        if self.spec.dedup_order_by is None:
            existing = self.run.spark.read.format("delta").load(target.uri).select(
                *[core.quote(k) for k in keys]
            )
            return delta.append(kept.join(existing, on=list(keys), how="left_anti"), target,
                                txn=txn)
        order = core.quote(self.spec.dedup_order_by)
        (
            merge.table(self.run.spark, target)
            .merge(kept.alias("s"), condition)
            .whenMatchedUpdateAll(condition=f"s.{order} > t.{order} OR t.{order} IS NULL")
            .whenNotMatchedInsertAll()
            .execute()
        )
        return True

    def _create_empty_quarantine(self, quarantine: Target) -> None:
        source = self.reader.read(self.spec.source).limit(0)
        evaluated = evaluate(core.prepare(source, self.spec), self.rules, cache=False)
        delta.ensure_table(
            self.run.spark, quarantine,
            self._quarantined(evaluated).schema,
        )

    # -- materialized view -----------------------------------------------------------------------
    def _view(self) -> None:
        fingerprint = self.fingerprint()
        if self.up_to_date(fingerprint):
            self.result.status = "up_to_date"
            self.result.detail = "inputs unchanged since the last run"
            return
        target = self.target
        quarantine = self.quarantine_target
        source = self.reader.read(self.spec.source)
        malformed = self._count_malformed(source)
        evaluated = self._evaluate(source, whole=self.spec.source)
        try:
            before = target.version()
            same = self.definition_unchanged(fingerprint)
            delta.overwrite(self._kept(evaluated), target, observed=evaluated.observed,
                            same_settings=same)
            written = delta.rows_written(target, before)
            quarantined = 0
            if quarantine is not None:
                q_before = quarantine.version()
                delta.overwrite(self._quarantined(evaluated, source), quarantine,
                                same_settings=same)
                quarantined = delta.rows_written(quarantine, q_before)
            self._finish(evaluated, written, quarantined, malformed)
        finally:
            evaluated.release()
        self._settle_counts()
        self.remember(fingerprint)
