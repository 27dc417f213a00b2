"""Gold on the local runner: a materialized view, refreshed from the change feed when it can be.

Paths (named like Databricks' materialized-view maintenance types, recorded in the result and
the event log's ``planning_information`` with the reason):

- ``NO_OP``: the source did not change since the last refresh; nothing runs.
- ``GROUP_AGGREGATE``: every aggregate is decomposable (count, sum, avg, min/max) and the source
  records a change data feed: per-group deltas computed from the changed rows alone are added
  to the view's per-group partials (:mod:`medallion.core.gold_state`, kept beside the table) and
  the view rewritten from them (or the changed groups MERGEd). The unchanged source is never
  read. The partials are about as large as the view, so a view large beside its source
  (:data:`LARGE_VIEW`) is recomputed in full instead and keeps none.
- ``GENERIC_AGGREGATE``: the groups touched by the changed rows are recomputed from the source
  and MERGEd: for aggregates that are not decomposable (count distinct, first/last), and for the
  groups whose min/max lost every extreme value their partials keep to deletes. Groups that
  vanished or fail ``having`` are deleted.
  The join reads the whole source, so a view that is small beside its source
  (:data:`SMALL_VIEW`) is recomputed in full instead, and the result names the technique
  rejected (``refresh_rejected``).
- ``COMPLETE_RECOMPUTE``: everything is recomputed and the table replaced in one commit; the
  result says why (first run, definition changed, no change data feed, the source was
  rewritten, an approximate aggregate...).

The partials are internal state, like a streaming query's state store: each refresh writes a
new immutable Parquet snapshot of them (one Spark job; a Delta table would add a snapshot of
its log and a commit) and the view's state record names the snapshot it reflects. A snapshot
that the record does not name is left over from an interrupted refresh and is deleted.
"""

from __future__ import annotations

import shutil
import uuid
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medallion.backends.local import caching, delta, merge
from medallion.backends.local.columns import spark_confirms
from medallion.backends.local.flows.base import Flow
from medallion.backends.local.warehouse import (
    commit_info,
    stamp_at,
    stamp_version,
)
from medallion.core import gold as core
from medallion.core import gold_state
from medallion.core.columns import check_gold
from medallion.graph import is_external
from medallion.specs.gold import GoldSpec

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

#: Changed source rows up to which the changed groups' keys are broadcast to the partials'
#: scan (a million keys of a few columns are tens of MB on the driver and every executor).
FEW_CHANGES = 1_000_000
#: A view whose files take at most this share of its source's is recomputed in full rather
#: than by recomputing its changed groups (``GENERIC_AGGREGATE``): both read the whole source.
SMALL_VIEW = 0.10
#: A view of decomposable aggregates whose files take more than this share of its source's is
#: recomputed in full rather than from the change feed (``GROUP_AGGREGATE``), and keeps no
#: per-group partials: applying deltas reads and rewrites partials as large as the view.
LARGE_VIEW = 0.10
#: Sources smaller than this (bytes) are not weighed for ``GROUP_AGGREGATE``: fixed costs decide.
WEIGHED_SOURCE = 8 * 1024 * 1024
#: Why a decomposable view has no partials: the last refresh did not keep them.
_NOT_KEPT = "no per-group partials were kept"
#: Source operations after which its change feed says "everything changed": recompute.
_REWRITES = ("CREATE OR REPLACE", "REPLACE TABLE", "RESTORE", "TRUNCATE", "CREATE TABLE")


class GoldFlow(Flow):
    """Runs a :class:`GoldSpec` (the windowed streaming kind is :class:`WindowedGoldFlow`)."""

    spec: GoldSpec

    def check_columns(self) -> None:  # noqa: D102
        check_gold(self.spec, self.columns_of(self.spec.source), spark_confirms(self.run.spark))

    def process(self) -> None:
        """Refresh the view by the cheapest exact path."""
        if self.spec.incremental:
            from medallion.backends.local.flows.gold_stream import run_windowed

            run_windowed(self)
            return
        fingerprint = self.fingerprint()
        if self.up_to_date(fingerprint):
            self.result.status = "up_to_date"
            self.result.refresh = "NO_OP"
            self.result.detail = "inputs unchanged since the last run"
            return
        since, reason = self._incremental_start(fingerprint)
        record: dict[str, Any] | None = None
        keep_state = True
        if since is not None:
            record, why = self._aggregate_state()
            decomposable = record is not None or why == _NOT_KEPT
            if record is None and why.startswith("!"):
                since, reason = None, why[1:]
            elif (cheaper := self._recompute_is_cheaper(deltas=decomposable)) is not None:
                since, reason = None, cheaper
                self.result.refresh_rejected = (
                    "GROUP_AGGREGATE" if decomposable else "GENERIC_AGGREGATE")
                keep_state = False  # partials that cost more than they save are not kept
            elif record is None and decomposable:  # deltas need partials: a recompute keeps them
                since, reason = None, why
        if since is not None:
            try:
                if record is not None:
                    self._apply_deltas(since, fingerprint, record)
                else:
                    self._merge_changed_groups(since, fingerprint, why)
            except Exception as exc:
                if not _missing_change_data(exc):
                    raise
                reason = "the source's change data feed does not cover every change since the "\
                         "last refresh"
            else:
                return
        self._recompute(fingerprint, reason, keep_state=keep_state)

    # -- full recompute --------------------------------------------------------------------------
    def _recompute(self, fingerprint: dict[str, Any] | None, reason: str, *,
                   keep_state: bool = True) -> None:
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        observation = Observation()
        plain = self.reader.read(self.spec.source)
        source = plain.observe(observation, F.count(F.lit(1)).alias("rows"))
        target = self.target
        before = target.version()
        record = self._write_state(source) if keep_state and self._keeps_state() else None
        same = self.definition_unchanged(fingerprint)
        rows_in: int | None = None
        if record is None:
            if delta.as_select_overwrite(self.run.spark, target) and not same and (
                    not delta.create_fills_observations(self.run.spark)):
                # The table is created (or, clustered, replaced) with its rows in one commit,
                # which on Spark 4 leaves an observation unfilled: count the source apart,
                # from its Delta log where it can tell (no Spark job).
                rows_in = self.rows_of(self.spec.source, plain)
                delta.overwrite(core.aggregate(plain, self.spec), target)
            else:
                delta.overwrite(core.aggregate(source, self.spec), target, observed=True,
                                same_settings=same)
        else:  # the table follows from the partials just written (the source is read once)
            partials = self._read_partials(record)
            fresh = gold_state.finish(partials, self.spec, record["types"])
            delta.overwrite(fresh.where(core.KEEP).drop(core.KEEP), target, same_settings=same)
        self.result.rows_in = (int(observation.get.get("rows", 0) or 0) if rows_in is None
                               else rows_in)
        self.result.rows_written = delta.rows_written(target, before)
        self.result.refresh = "COMPLETE_RECOMPUTE"
        self.result.refresh_reason = reason
        self.remember(fingerprint, {"aggregate_state": record})
        self._prune_partials(record)

    # -- per-group partials of decomposable aggregates -------------------------------------------
    @property
    def _state_path(self) -> Path:
        return self.run.warehouse.aggregate_state(self.run.schema, self.decl.name)

    def _snapshot(self, record: dict[str, Any]) -> Path:
        return self._state_path / str(record["snapshot"])

    def _read_partials(self, record: dict[str, Any]) -> DataFrame:
        return self.run.spark.read.parquet(self._snapshot(record).as_uri())

    def _write_partials(self, partials: DataFrame) -> str:
        """Write ``partials`` as a new snapshot and return its name (the record names it)."""
        name = uuid.uuid4().hex
        partials.write.parquet((self._state_path / name).as_uri())
        return name

    def _prune_partials(self, record: dict[str, Any] | None) -> None:
        """Delete every snapshot but the recorded one (left by an interrupted refresh)."""
        if not self._state_path.is_dir():
            return
        keep = None if record is None else str(record["snapshot"])
        for entry in self._state_path.iterdir():
            if entry.name == keep:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    def _keeps_state(self) -> bool:
        """Whether later refreshes could apply deltas (so partials are worth keeping)."""
        spec = self.spec
        return (self.run.settings.incremental_refresh and not is_external(spec.source)
                and self.run.table_spec(spec.source).cdf_enabled
                and bool(spec.group_by or spec.window is not None)
                and gold_state.not_decomposable(spec) is None)

    def _write_state(self, source: DataFrame) -> dict[str, Any] | None:
        """Replace the partials with those of ``source``; None if floating point rules it out."""
        partials = gold_state.state(source, self.spec)
        if gold_state.floating(self.spec, partials.schema) is not None:
            return None
        # The type Spark's avg gives each average (plan analysis only, no job).
        computed = core.aggregate(source, self.spec).schema
        types = {a.alias: computed[a.alias].dataType.simpleString()
                 for a in self.spec.aggregations if a.func == "avg"}
        return {"snapshot": self._write_partials(partials), "types": types,
                "format": gold_state.FORMAT}

    def _aggregate_state(self) -> tuple[dict[str, Any] | None, str]:
        """The partials' record if deltas can be applied; else why not (``!``: recompute all)."""
        why = gold_state.not_decomposable(self.spec)
        if why is not None:
            return None, why
        state = self.run.warehouse.read_state(self.run.schema, self.decl.name) or {}
        record = state.get("aggregate_state")
        if not isinstance(record, dict):
            partials = self.reader.read(self.spec.source)
            return None, (gold_state.floating(self.spec, gold_state.state(
                partials, self.spec).schema) or _NOT_KEPT)
        if record.get("format", 1) != gold_state.FORMAT:
            return None, "!the per-group partials were kept in an earlier layout"
        snapshot = record.get("snapshot")
        if not isinstance(snapshot, str) or not (
                self._state_path / snapshot / "_SUCCESS").is_file():
            return None, "!the per-group partials kept beside the view are missing"
        return record, ""

    def _apply_deltas(self, since: int, fingerprint: dict[str, Any] | None,
                      record: dict[str, Any]) -> None:
        """GROUP_AGGREGATE: add the change feed's deltas to the partials, then refresh the view.

        The partials hold one row per group, and so does the view: each is rewritten whole
        rather than MERGEd (a MERGE first joins to find the files to rewrite, then rewrites
        them): the partials as a new snapshot (one job, no commit), the view in one commit.
        The cost follows the number of groups, never the source.
        A view with a ``having`` condition or its own change data feed is MERGEd instead: the
        MERGE counts the groups leaving it, and its feed then holds the changed groups only.
        """
        from pyspark.sql import functions as F

        assert fingerprint is not None
        spec = self.spec
        spark = self.run.spark
        changes, until = self._changes(since, fingerprint)
        source_path = self.run.path(spec.source)
        self.result.rows_in = merge.changed_rows(source_path, since, until)
        # the changed groups are at most the changed rows: when those are few, their keys are
        # broadcast, so the partials are filtered as they are read rather than shuffled whole
        few = self.result.rows_in <= FEW_CHANGES
        current = self._read_partials(record)
        keys = core.key_names(spec)
        columns = (*keys, *gold_state.partial_columns(spec))
        # Computed once (the change feed read and joined), then used by each step below.
        new = gold_state.apply_changes(current, changes, spec, few=few).localCheckpoint()
        rows = F.col(gold_state.ROWS)
        # one job counts the changed groups, those whose min/max must be recomputed, and
        # those that are in the view after the changes or left it
        counted = new.agg(
            F.count(F.lit(1)).alias("groups"),
            F.count_if(F.col(gold_state.DIRTY)).alias("dirty"),
            F.count_if(rows > 0).alias("present"),
            F.count_if(F.col(gold_state.HAD_ROWS) & (rows <= 0)).alias("gone")).first()
        assert counted is not None
        count, dirty = int(counted["groups"]), int(counted["dirty"] or 0)
        fresh = new.drop(gold_state.DIRTY, gold_state.HAD_ROWS)
        if dirty:
            source = spark.read.format("delta").load(self.run.path(spec.source).as_uri())
            redo = gold_state.recompute(
                source, new.where(F.col(gold_state.DIRTY)).select(*keys), spec)
            fresh = fresh.where(~F.col(gold_state.DIRTY)).unionByName(redo)
        if count:
            # only a recomputed group's rows are worth keeping (they scanned the source)
            selected = fresh.select(*columns)
            with (merge.cached(selected) if dirty else nullcontext((selected, count))) as (
                    kept, _):
                untouched = gold_state.semi_join(current, kept, spec, how="left_anti",
                                                 broadcast=few)
                # as many files as the snapshot it replaces: a refresh adds none
                files = max(1, len(list(self._snapshot(record).glob("*.parquet"))))
                partials = untouched.unionByName(kept.where(rows > 0)).coalesce(files)
                record = {**record, "snapshot": self._write_partials(partials)}
                if spec.having or spec.cdf_enabled:
                    self._merge(gold_state.finish(kept, spec, record["types"]))
                else:
                    view = gold_state.finish(self._read_partials(record), spec, record["types"])
                    delta.overwrite(view.where(core.KEEP).drop(core.KEEP), self.target,
                                    same_settings=self.definition_unchanged(fingerprint))
                    present = int(counted["present"] or 0)
                    self.result.rows_written += present
                    self.result.num_upserted_rows += present
                    self.result.num_deleted_rows += int(counted["gone"] or 0)
        if dirty:
            self.result.refresh = "GENERIC_AGGREGATE"
            self.result.refresh_reason = (
                f"{dirty:,} group(s) lost every min/max value their partials keep (the "
                f"{gold_state.EXTREMES_KEPT} most extreme) to deletes or updates and were "
                "recomputed from the source")
        else:
            self.result.refresh = "GROUP_AGGREGATE"
        self.result.detail = (f"{count:,} group(s) updated from {self.result.rows_in:,} "
                              "changed source row(s)")
        self.remember(fingerprint, {"aggregate_state": record})
        self._prune_partials(record)

    def _changes(self, since: int, fingerprint: dict[str, Any]) -> tuple[DataFrame, int]:
        """The source's change feed after version ``since``, and the version it ends at."""
        until = stamp_version(fingerprint["inputs"][self.spec.source])
        assert until is not None
        changes = (
            self.run.spark.read.format("delta").option("readChangeFeed", "true")
            .option("startingVersion", str(since + 1)).option("endingVersion", str(until))
            .load(self.run.path(self.spec.source).as_uri())
        )
        return changes, until

    # -- incremental refresh ---------------------------------------------------------------------
    def _incremental_start(self, fingerprint: dict[str, Any] | None) -> tuple[int | None, str]:
        """The source version the table reflects, if changed groups can be merged; else why not."""
        spec = self.spec
        if not self.run.settings.incremental_refresh:
            return None, "incremental refresh is turned off"
        if is_external(spec.source):
            return None, f"source '{spec.source}' is outside the pipeline"
        if not self.run.table_spec(spec.source).cdf_enabled:
            return None, f"source '{spec.source}' records no change data feed"
        if not spec.group_by and spec.window is None:
            return None, "a single-group aggregate"
        approximate = [a.alias for a in spec.aggregations if a.order_sensitive]
        if approximate:
            return None, (f"aggregate '{approximate[0]}' is approximate and cannot be "
                          "maintained incrementally")
        state = self.run.warehouse.read_state(self.run.schema, self.decl.name)
        previous = (state or {}).get("fingerprint")
        if fingerprint is None or not isinstance(previous, dict):
            return None, "first refresh"
        if previous.get("spec") != fingerprint["spec"] or previous.get(
                "state_version") != fingerprint["state_version"]:
            return None, "the definition changed"
        if state is None or state.get("outputs") != self.outputs_versions():
            return None, "the table was changed outside its refresh"
        since_stamp = previous.get("inputs", {}).get(spec.source)
        since = stamp_version(since_stamp)
        until = stamp_version(fingerprint["inputs"][spec.source])
        source_path = self.run.path(spec.source)
        if (since is None or until is None or until < since
                or stamp_at(source_path, since) != since_stamp):
            return None, f"source '{spec.source}' was recreated"
        for version in range(since + 1, until + 1):
            info = commit_info(source_path, version)
            operation = str(info.get("operation", ""))
            params = info.get("operationParameters") or {}
            if operation.startswith(_REWRITES) or (
                    operation == "WRITE" and str(params.get("mode", "")).strip('"') == "Overwrite"):
                return None, (f"source '{spec.source}' was rewritten ({operation} at version "
                              f"{version})")
        return since, ""

    def _recompute_is_cheaper(self, *, deltas: bool) -> str | None:
        """Why a full recompute costs less than the incremental path; None if it does not.

        Sizes come from the tables' latest snapshots, which the refresh reads anyway.

        - ``deltas`` (decomposable aggregates, ``GROUP_AGGREGATE``): applying the change feed
          reads the per-group partials, about as large as the view, twice and writes them
          once, where a full recompute reads the source once: measured, it costs more once
          the view takes more than :data:`LARGE_VIEW` of its source (twice a full recompute
          for a view of 16% of its source, at 1M and at 10M rows). Sources under
          :data:`WEIGHED_SOURCE` are not weighed: there fixed costs decide.
        - otherwise (``GENERIC_AGGREGATE``): recomputing the changed groups joins the whole
          source with them (a join skips no files), so it reads as much as a full recompute
          and then MERGEs, which first joins the view to find the files to rewrite. It saves
          only the rewrite of the unchanged groups: worth it when the view is large beside its
          source (more than :data:`SMALL_VIEW`), not when it is a small summary of it.
        """
        spark = self.run.spark
        view = delta.size_in_bytes(spark, self.target.path)
        source = delta.size_in_bytes(spark, self.run.path(self.spec.source))
        name = self.spec.source
        if deltas:
            if source < WEIGHED_SOURCE or view <= source * LARGE_VIEW:
                return None
            return (f"applying the changes would read and rewrite per-group partials about "
                    f"as large as the view ({_size(view)}), more than {LARGE_VIEW:.0%} of "
                    f"source '{name}' ({_size(source)}): a full recompute is cheaper")
        if source <= 0 or view > source * SMALL_VIEW:
            return None
        return (f"recomputing the changed groups would scan all of source '{name}' "
                f"({_size(source)}) and then MERGE into a view of {_size(view)}, at most "
                f"{SMALL_VIEW:.0%} of it: a full recompute is cheaper")

    def _merge_changed_groups(self, since: int, fingerprint: dict[str, Any] | None,
                              reason: str) -> None:
        """GENERIC_AGGREGATE: recompute the changed groups from the source and MERGE them."""
        assert fingerprint is not None
        spec = self.spec
        source_path = self.run.path(spec.source)
        spark = self.run.spark
        changes, until = self._changes(since, fingerprint)
        groups = caching.keep(core.changed_groups(changes, spec))
        try:
            # The source is at version `until` (it was written earlier in this run, if at all).
            source = spark.read.format("delta").load(source_path.as_uri())
            count = self._merge(core.refresh_groups(source, groups, spec))
        finally:
            groups.unpersist()
        self.result.rows_in = merge.changed_rows(source_path, since, until)
        self.result.refresh = "GENERIC_AGGREGATE"
        self.result.refresh_reason = reason
        self.result.detail = (f"{count:,} group(s) recomputed from {self.result.rows_in:,} "
                              "changed source row(s)")
        self.remember(fingerprint)

    def _merge(self, fresh: DataFrame) -> int:
        """MERGE recomputed groups (with :data:`~medallion.core.gold.KEEP`); return how many.

        The groups are computed once and cached first: a MERGE reads its source twice (to find
        the files it touches, then to write), and the source here scans the whole input.
        """
        with merge.cached(fresh) as (kept, count):
            if count:
                self._merge_cached(kept)
        return count

    def _merge_cached(self, fresh: DataFrame) -> None:
        spec = self.spec
        target = self.target
        names = (*((spec.window.start, spec.window.end) if spec.window else ()),
                 *(k.alias for k in spec.group_by))
        on = " AND ".join(f"t.{core.quote(n)} <=> s.{core.quote(n)}" for n in names)
        columns: dict[str, str | Column] = {
            core.quote(c): f"s.{core.quote(c)}" for c in spec.output_columns()}
        before = target.version()
        (
            merge.table(self.run.spark, target)
            .merge(fresh.alias("s"), on)
            .whenMatchedDelete(condition=f"NOT s.{core.KEEP}")
            .whenMatchedUpdate(set=columns)
            .whenNotMatchedInsert(condition=f"s.{core.KEEP}", values=columns)
            .execute()
        )
        upserted, deleted = merge.change_counts(target, before)
        self.result.rows_written += upserted
        self.result.num_upserted_rows += upserted
        self.result.num_deleted_rows += deleted


def _size(size: int) -> str:
    """``123456`` → ``"120.6 KiB"``."""
    if size < 1024:
        return f"{size:,} bytes"
    value = size / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _missing_change_data(exc: BaseException) -> bool:
    """Whether Delta refused to read a change feed range (not recorded, or vacuumed)."""
    text = str(exc)
    return any(marker in text for marker in (
        "DELTA_MISSING_CHANGE_DATA", "DELTA_CHANGE_DATA_FILE_NOT_FOUND",
        "DELTA_CHANGE_TABLE_FEED_DISABLED", "change data was not recorded",
    ))
