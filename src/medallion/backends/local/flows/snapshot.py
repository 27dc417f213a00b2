"""AUTO CDC from snapshots on the local runner: each new snapshot merged as changes.

Each snapshot is one MERGE against the target: SCD1 inserts new keys, updates changed rows and
deletes keys the snapshot lacks; SCD2 closes the current version of changed or missing keys
(``__END_AT`` = the snapshot's version) and opens new versions.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from medallion.backends.local import merge
from medallion.backends.local.flows.cdc import CdcTargetFlow
from medallion.core import cdc as core
from medallion.errors import TableRunError
from medallion.specs.cdc import END_AT, START_AT, AutoCdcSnapshotSpec

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


class AutoCdcSnapshotFlow(CdcTargetFlow):
    """Runs an :class:`AutoCdcSnapshotSpec`: each new snapshot merged as changes."""

    spec: AutoCdcSnapshotSpec

    def process(self) -> None:
        """Process the new snapshot(s), oldest first."""
        spec = self.spec
        state = self.flow_state()
        if spec.once and state.get("done"):
            self.result.status = "up_to_date"
            self.result.detail = "a once flow: already ran (it runs again after a full refresh)"
            return
        processed = 0
        if spec.source is not None:
            version = (None if "." in spec.source
                       else self.run.warehouse.stamp(self.run.schema, spec.source))
            if version is not None and state.get("source_version") == version:
                self.result.status = "up_to_date"
                self.result.detail = f"source '{spec.source}' unchanged since the last snapshot"
                return
            from pyspark.sql import functions as F

            # The run's start time, as text in the session time zone (UTC by default).
            taken = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
            self._apply(self.reader.read(spec.source),
                        F.lit(taken.isoformat(sep=" ")).cast("timestamp"))
            state = {**state, "source_version": version, "latest_version": taken.isoformat()}
            processed = 1
        else:
            from pyspark.sql import DataFrame
            from pyspark.sql import functions as F

            assert spec.snapshot_function is not None
            latest = state.get("latest_version")
            while True:
                got = spec.snapshot_function(latest)
                if got is None:
                    break
                if (not isinstance(got, tuple) or len(got) != 2
                        or not isinstance(got[0], DataFrame)):
                    raise TableRunError(
                        spec.target, f"the snapshot function of flow '{self.decl.name}' returned "
                        f"{type(got).__name__}; it must return (DataFrame, version) or None",
                    )
                df, version = got
                if latest is not None and not version > latest:
                    raise TableRunError(
                        spec.target, f"the snapshot function of flow '{self.decl.name}' returned "
                        f"version {version!r} after {latest!r}; versions must increase",
                    )
                self._apply(df, F.lit(version))
                latest = version
                processed += 1
                state = {**state, "latest_version": latest}
                self.save_flow_state(state)
        if spec.once:
            state = {**state, "done": True}
        self.save_flow_state(state)
        if not processed:
            self.result.status = "up_to_date"
            self.result.detail = "no new snapshot"
        else:
            self.result.detail = f"{processed} snapshot(s) applied"

    def _apply(self, snapshot: DataFrame, version: Column) -> None:
        from pyspark.sql import Observation, Window
        from pyspark.sql import functions as F

        spec = self.spec
        keys = spec.keys
        observation = Observation()
        snapshot = snapshot.observe(observation, F.count(F.lit(1)).alias("rows"))
        values = tuple(c for c in snapshot.columns if c not in keys)
        tracked = spec.tracked_columns(values)
        # One row per key; duplicates resolved by a hash of the row (deterministic).
        window = Window.partitionBy(*[F.col(core.quote(k)) for k in keys]).orderBy(
            F.xxhash64(F.struct(F.col("*"))).desc())
        snap = (snapshot.withColumn("__medallion_rn", F.row_number().over(window))
                .where(F.col("__medallion_rn") == 1).drop("__medallion_rn"))
        scd2 = spec.stored_as_scd_type == 2
        shape = self._scd2_frame(snap, version) if scd2 else snap
        self._create_target(shape, shape.schema[START_AT].dataType.simpleString() if scd2
                            else None)
        if scd2:
            self._scd2(snap, version, values, tracked)
        else:
            self._scd1(snap, values)
        self.result.rows_in += int(observation.get.get("rows", 0) or 0)

    def _scd1(self, snap: DataFrame, values: tuple[str, ...]) -> None:
        keys = self.spec.keys
        same = " AND ".join(f"t.{core.quote(v)} <=> s.{core.quote(v)}" for v in values)
        cols: dict[str, str | Column] = {core.quote(c): f"s.{core.quote(c)}"
                                         for c in (*keys, *values)}
        builder = merge.table(self.run.spark, self.target).merge(
            snap.alias("s"), core.keys_match(keys))
        if values:
            builder = builder.whenMatchedUpdate(condition=f"NOT ({same})", set=cols)
        builder = builder.whenNotMatchedInsert(values=cols).whenNotMatchedBySourceDelete()
        self._execute(builder)

    def _scd2(self, snap: DataFrame, version: Column, values: tuple[str, ...],
              tracked: tuple[str, ...]) -> None:
        from pyspark.sql import functions as F

        keys = self.spec.keys
        untracked = tuple(v for v in values if v not in tracked)
        target_rows = self.run.spark.read.format("delta").load(self.target.uri)
        current = target_rows.where(F.col(END_AT).isNull())
        tracked_same = " AND ".join(f"t.{core.quote(v)} <=> s.{core.quote(v)}" for v in tracked)
        untracked_same = " AND ".join(
            f"t.{core.quote(v)} <=> s.{core.quote(v)}" for v in untracked)
        # Keys whose tracked values changed get a second row, never matched: the new version.
        prefixed = current.select(*[F.col(core.quote(c)).alias(f"__medallion_t_{c}")
                                    for c in (*keys, *tracked)])
        key_eq = [F.col(core.quote(k)).eqNullSafe(F.col(core.quote(f"__medallion_t_{k}")))
                  for k in keys]
        differs = [~F.col(core.quote(v)).eqNullSafe(F.col(core.quote(f"__medallion_t_{v}")))
                   for v in tracked]
        condition = key_eq[0]
        for c in key_eq[1:]:
            condition = condition & c
        any_diff = differs[0] if differs else F.lit(False)
        for c in differs[1:]:
            any_diff = any_diff | c
        changed = snap.join(prefixed, condition & any_diff, "left_semi")
        rows = snap.withColumn("__medallion_match", F.lit(True)).unionByName(
            changed.withColumn("__medallion_match", F.lit(False)))
        rows = rows.withColumn("__medallion_version", version)
        on = f"s.__medallion_match AND {core.keys_match(keys)} AND t.{END_AT} IS NULL"
        inserts: dict[str, str | Column] = {
            core.quote(c): f"s.{core.quote(c)}" for c in (*keys, *values)}
        inserts[START_AT] = "s.__medallion_version"
        inserts[END_AT] = "NULL"
        with merge.cached(rows) as (source, _):
            self._scd2_merge(source, on, inserts, tracked, untracked, tracked_same,
                             untracked_same, version)

    def _scd2_merge(self, source: DataFrame, on: str, inserts: dict[str, str | Column],
                    tracked: tuple[str, ...], untracked: tuple[str, ...], tracked_same: str,
                    untracked_same: str, version: Column) -> None:
        builder = merge.table(self.run.spark, self.target).merge(source.alias("s"), on)
        if tracked:
            builder = builder.whenMatchedUpdate(condition=f"NOT ({tracked_same})",
                                                set={END_AT: "s.__medallion_version"})
        if untracked:
            builder = builder.whenMatchedUpdate(
                condition=f"NOT ({untracked_same})",
                set={core.quote(v): f"s.{core.quote(v)}" for v in untracked})
        builder = (
            builder.whenNotMatchedInsert(values=inserts)
            .whenNotMatchedBySourceUpdate(condition=f"t.{END_AT} IS NULL",
                                          set={END_AT: version})
        )
        self._execute(builder)

    def _execute(self, builder: Any) -> None:
        target = self.target
        before = target.version()
        builder.execute()
        upserted, deleted = merge.change_counts(target, before)
        self.result.rows_written += upserted
        self.result.num_upserted_rows += upserted
        self.result.num_deleted_rows += deleted
