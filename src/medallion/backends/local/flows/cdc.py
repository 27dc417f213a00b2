"""AUTO CDC on the local runner: one MERGE per micro-batch, exact for late events.

For each micro-batch of change events (see :mod:`medallion.core.cdc` for the folds):

- The flow remembers the greatest sequence value it has applied (``G``). A batch whose events
  all come after ``G`` is *in order*. With one event per key (the common case) it is merged
  the way a hand-written SCD MERGE does it (SCD2 joins the keys' current versions first);
  with several, each key's events are folded onto its current row first.
- Keys with an event at or before ``G`` are *late*: their whole history is read again from the
  source table and folded from scratch, and their rows in the target are replaced. The result
  equals applying every event in sequence order, whatever the arrival order.
- Both parts go into ONE MERGE, made idempotent by the batch id, so a replayed batch changes
  nothing. Its operation metrics give ``num_upserted_rows`` / ``num_deleted_rows``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from medallion.backends.local import caching, delta, merge
from medallion.backends.local.columns import spark_confirms
from medallion.backends.local.flows.base import Flow
from medallion.backends.local.flows.streaming_tables import declared_schema
from medallion.core import cdc as core
from medallion.core.columns import check_auto_cdc
from medallion.errors import TableRunError
from medallion.specs.cdc import END_AT, START_AT, AutoCdcSpec
from medallion.specs.flows import StreamingTableSpec

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

_JSON = {"timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
         "timestampNTZFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"}


def _encode(value: Column) -> Column:
    """A sequence value as JSON text that :func:`_decode` turns back into the same value."""
    from pyspark.sql import functions as F

    return F.to_json(F.struct(value.alias("v")), _JSON)


def _decode(text: str | None, type_ddl: str) -> Column:
    from pyspark.sql import functions as F

    if text is None:
        return F.lit(None)
    return F.from_json(F.lit(text), f"v {type_ddl}", _JSON)["v"]


class CdcTargetFlow(Flow):
    """What both CDC flows share: the target's columns and its creation."""

    def _create_target(self, columns: DataFrame, scd2_type: str | None) -> None:
        """Create the target (from the declared schema, else from ``columns``) if missing."""
        target = self.target
        if target.version() is not None:
            return
        # The graph checked it: a flow writes only a table declared by create_streaming_table.
        table = cast("StreamingTableSpec", self.run.table_spec(target.name))
        if table.schema_ is not None:
            schema = declared_schema(table.schema_)
            if scd2_type is not None and not {START_AT, END_AT} <= set(schema.fieldNames()):
                raise TableRunError(
                    target.name, f"its declared schema lacks {START_AT} and {END_AT}, which an "
                    f"SCD type 2 target needs; add '{START_AT} {scd2_type}, {END_AT} "
                    f"{scd2_type}' (the type of sequence_by)",
                )
            delta.ensure_table(self.run.spark, target, schema)
            return
        delta.ensure_table(self.run.spark, target, columns.schema)

    def _scd2_frame(self, df: DataFrame, seq: Column) -> DataFrame:
        from pyspark.sql import functions as F

        return df.withColumns({START_AT: seq, END_AT: F.lit(None).cast(
            df.select(seq.alias("v")).schema["v"].dataType)})


class AutoCdcFlow(CdcTargetFlow):
    """Runs an :class:`AutoCdcSpec`."""

    spec: AutoCdcSpec

    def check_columns(self) -> None:  # noqa: D102
        check_auto_cdc(self.spec, self.columns_of(self.spec.source),
                       spark_confirms(self.run.spark))

    def process(self) -> None:
        """Apply every new micro-batch of change events."""
        stream = self.reader.read_stream(self.spec.source)
        shape = core.events(stream, self.spec)
        keys = self.spec.keys
        self.values = tuple(c for c in shape.columns if c not in (*keys, core.SEQ, core.OP))
        self.tracked = self.spec.tracked_columns(self.values)
        self.seq_type = shape.schema[core.SEQ].dataType.simpleString()
        columns = shape.select(*[core.quote(c) for c in (*keys, *self.values, core.SEQ)])
        if self.spec.stored_as_scd_type == 2:
            from pyspark.sql import functions as F

            columns = self._scd2_frame(columns, F.col(core.SEQ))
        columns = columns.drop(core.SEQ)
        self._create_target(columns, self.seq_type if self.spec.stored_as_scd_type == 2
                            else None)
        marker = self.checkpoint / "medallion-once-done"
        if self.spec.once and marker.exists():
            self.result.status = "up_to_date"
            self.result.detail = "a once flow: already ran (it runs again after a full refresh)"
            return
        fingerprint = self.fingerprint()
        if self.up_to_date(fingerprint):
            self.result.status = "up_to_date"
            self.result.detail = "no new change events since the last run"
            return
        self.stream(stream, self._batch)
        if self.spec.once:
            marker.write_text("done\n")
        self.remember(fingerprint)

    # -- one micro-batch -------------------------------------------------------------------------
    def _batch(self, batch: DataFrame, batch_id: int) -> None:
        from pyspark.sql import functions as F

        spec = self.spec
        state = self.flow_state()
        if state.get("batch_id") == batch_id:  # a replay: judge lateness as the first time
            applied = state.get("previous_max_sequence")
        else:
            applied = state.get("max_sequence")
        g = _decode(applied, self.seq_type)
        raw = caching.keep(core.events(batch, spec))
        events = core.dedupe(raw, spec.keys)
        try:
            seq, op = F.col(core.SEQ), F.col(core.OP)
            late = seq <= g
            key = F.struct(*[F.col(core.quote(k)) for k in spec.keys])
            stats = raw.agg(
                F.count(F.lit(1)).alias("events"),
                F.count_distinct(F.when(op != core.TRUNCATE, key)).alias("keys"),
                F.count_if(seq.isNull()).alias("null_sequence"),
                F.count_if((op != core.TRUNCATE) & late).alias("late"),
                F.count_if(op == core.TRUNCATE).alias("truncates"),
                F.count_if((op == core.TRUNCATE) & late).alias("late_truncates"),
                _encode(F.max(F.when(op == core.TRUNCATE, seq))).alias("truncate_at"),
                _encode(F.greatest(F.max(seq), g)).alias("applied"),
            ).first()
            assert stats is not None
            if stats["null_sequence"]:
                raise TableRunError(
                    spec.target, f"AUTO CDC flow '{self.decl.name}': sequence_by "
                    f"({spec.sequence_by}) is NULL for {stats['null_sequence']} event(s); every "
                    "event needs a sequence value. Nothing from this batch was applied",
                )
            self.result.rows_in += int(stats["events"])
            if not stats["events"]:
                return
            new_applied = str(stats["applied"])
            if not stats["late"] and not stats["truncates"] and stats["keys"] == stats["events"]:
                # The common case: one event per key, all newer than anything applied.
                self._merge_in_order(raw, batch_id)
            elif stats["late_truncates"]:
                new_applied = self._rebuild_everything(new_applied)
            elif stats["truncates"]:
                after = seq > _decode(str(stats["truncate_at"]), self.seq_type)
                self._merge(events.where((op != core.TRUNCATE) & after), None, batch_id,
                            truncate=True)
            else:
                late_keys = None
                if stats["late"]:
                    late_keys = events.where((op != core.TRUNCATE) & late).select(
                        *[core.quote(k) for k in spec.keys]).distinct()
                new_applied = self._merge(events.where(op != core.TRUNCATE), late_keys,
                                          batch_id, truncate=False) or new_applied
        finally:
            raw.unpersist()
        self.save_flow_state({**state, "batch_id": batch_id, "previous_max_sequence": applied,
                              "max_sequence": new_applied})

    def _history(self, late_keys: DataFrame) -> DataFrame:
        """Every event of ``late_keys`` in the source (truncates as deletes for those keys)."""
        from pyspark.sql import functions as F

        spec = self.spec
        everything = core.dedupe(core.events(self.reader.read(spec.source), spec), spec.keys)
        history = core.key_filter(everything.where(F.col(core.OP) != core.TRUNCATE),
                                  late_keys, spec.keys, keep=True)
        if spec.apply_as_truncates is not None:
            truncates = everything.where(F.col(core.OP) == core.TRUNCATE)
            history = history.unionByName(
                core.truncates_as_deletes(truncates, late_keys, spec.keys),
                allowMissingColumns=True)
        return history

    def _merge(self, events: DataFrame, late_keys: DataFrame | None, batch_id: int, *,
               truncate: bool) -> str | None:
        """One MERGE for the batch; returns the new max applied sequence if history raised it."""
        from pyspark.sql import functions as F

        spec = self.spec
        fast = events if late_keys is None else core.key_filter(events, late_keys, spec.keys,
                                                                 keep=False)
        history: DataFrame | None = None
        new_applied: str | None = None
        if late_keys is not None:
            history = caching.keep(self._history(late_keys))
            row = history.agg(_encode(F.greatest(
                F.max(F.col(core.SEQ)),
                _decode(self.flow_state().get("max_sequence"), self.seq_type),
            )).alias("v")).first()
            new_applied = None if row is None else str(row["v"])
        try:
            if spec.stored_as_scd_type == 1:
                self._merge_scd1(fast, history, batch_id, truncate=truncate)
            else:
                self._merge_scd2(fast, history, late_keys, batch_id)
        finally:
            if history is not None:
                history.unpersist()
        return new_applied

    def _merge_scd1(self, fast: DataFrame, history: DataFrame | None, batch_id: int, *,
                    truncate: bool) -> None:
        spec = self.spec
        rows = core.scd1_state(fast, spec, self.values, merge_nulls=not truncate)
        if history is not None:
            rows = rows.unionByName(core.scd1_state(history, spec, self.values,
                                                    merge_nulls=False))
        self._merge_scd1_rows(rows, batch_id, truncate=truncate)

    def _merge_in_order(self, events: DataFrame, batch_id: int) -> None:
        """One event per key, all in order: a MERGE without folding (the textbook shape)."""
        from pyspark.sql import functions as F

        if self.spec.stored_as_scd_type == 1:
            keep = F.lit(bool(self.spec.null_ignoring(self.values)))
            self._merge_scd1_rows(events.withColumn(core.KEEP_NULLS, keep), batch_id,
                                  truncate=False)
        else:
            self._merge_scd2_in_order(events, batch_id)

    def _merge_scd2_in_order(self, events: DataFrame, batch_id: int) -> None:
        from pyspark.sql import functions as F

        spec = self.spec
        keys, values, tracked = spec.keys, self.values, self.tracked
        untracked = tuple(v for v in values if v not in tracked)
        ignored = spec.null_ignoring(values)

        def new(v: str, current: str) -> str:
            q = core.quote(v)
            return f"coalesce(s.{q}, {current}.{q})" if v in ignored else f"s.{q}"

        # New versions: upserts of keys without a current version, or changing a tracked
        # column (a NULL keeps the current value when ignore_null_updates).
        current = self.run.spark.read.format("delta").load(self.target.uri).where(
            F.col(END_AT).isNull()).alias("c")
        upserts = events.where(F.col(core.OP) == core.UPSERT).alias("s")
        on_key = " AND ".join(f"s.{core.quote(k)} <=> c.{core.quote(k)}" for k in keys)
        differs = " OR ".join(f"NOT (c.{core.quote(v)} <=> {new(v, 'c')})" for v in tracked)
        fresh = upserts.join(current, F.expr(on_key), "left").where(
            F.expr(f"c.{START_AT} IS NULL" + (f" OR {differs}" if differs else ""))
        ).selectExpr(*[f"s.{core.quote(k)}" for k in keys],
                     *[f"{new(v, 'c')} AS {core.quote(v)}" for v in values],
                     f"s.{core.SEQ}", f"s.{core.OP}", "'insert' AS " + core.ACTION)
        matches = events.withColumn(core.ACTION, F.lit("match"))
        rows = matches.unionByName(fresh)
        on = (f"s.{core.ACTION} = 'match' AND {core.keys_match(keys)} AND "
              f"t.{END_AT} IS NULL")
        tracked_same = " AND ".join(f"t.{core.quote(v)} <=> {new(v, 't')}" for v in tracked)
        untracked_same = " AND ".join(f"t.{core.quote(v)} <=> {new(v, 't')}" for v in untracked)
        closes = f"s.{core.OP} = '{core.DELETE}'" + (f" OR NOT ({tracked_same})"
                                                     if tracked else "")
        inserts: dict[str, str | Column] = {
            core.quote(c): f"s.{core.quote(c)}" for c in (*keys, *values)}
        inserts[START_AT] = f"s.{core.SEQ}"
        inserts[END_AT] = "NULL"
        builder = (
            merge.table(self.run.spark, self.target).merge(rows.alias("s"), on)
            .whenMatchedUpdate(condition=closes, set={END_AT: f"s.{core.SEQ}"})
        )
        if untracked:
            builder = builder.whenMatchedUpdate(
                condition=f"NOT ({untracked_same})",
                set={core.quote(v): new(v, "t") for v in untracked})
        builder = builder.whenNotMatchedInsert(condition=f"s.{core.ACTION} = 'insert'",
                                               values=inserts)
        self._execute(builder, batch_id)

    def _merge_scd1_rows(self, rows: DataFrame, batch_id: int, *, truncate: bool) -> None:
        spec = self.spec
        s = {c: f"s.{core.quote(c)}" for c in (*spec.keys, *self.values)}
        updates: dict[str, str | Column] = {}
        ignored = spec.null_ignoring(self.values)
        for v in self.values:
            q = core.quote(v)
            updates[q] = (f"CASE WHEN s.{core.KEEP_NULLS} THEN coalesce(s.{q}, t.{q}) ELSE s.{q} "
                          "END") if v in ignored else f"s.{q}"
        inserts: dict[str, str | Column] = {core.quote(c): v for c, v in s.items()}
        with merge.cached(rows) as (source, count):
            if not count and not truncate:
                return
            builder = (
                merge.table(self.run.spark, self.target)
                .merge(source.alias("s"), core.keys_match(spec.keys))
                .whenMatchedDelete(condition=f"s.{core.OP} = '{core.DELETE}'")
            )
            if updates:
                # Rows whose values would not change are left alone (no empty change-feed rows).
                same = " AND ".join(f"t.{q} <=> ({new})" for q, new in updates.items())
                builder = builder.whenMatchedUpdate(condition=f"NOT ({same})", set=updates)
            builder = builder.whenNotMatchedInsert(condition=f"s.{core.OP} = '{core.UPSERT}'",
                                                   values=inserts)
            if truncate:
                builder = builder.whenNotMatchedBySourceDelete()
            self._execute(builder, batch_id)

    def _merge_scd2(self, fast: DataFrame, history: DataFrame | None,
                    late_keys: DataFrame | None, batch_id: int) -> None:
        from pyspark.sql import functions as F

        spec = self.spec
        keys, values = spec.keys, self.values
        target_rows = self.run.spark.read.format("delta").load(self.target.uri)
        current = core.key_filter(
            target_rows.where(F.col(END_AT).isNull()),
            fast.select(*[core.quote(k) for k in keys]).distinct(), keys, keep=True,
        ).select(*[core.quote(c) for c in (*keys, *values)],
                 F.col(START_AT).alias(core.SEQ), F.lit(core.UPSERT).alias(core.OP),
                 F.lit(True).alias(core.CURRENT))
        events = fast.withColumn(core.CURRENT, F.lit(False)).unionByName(current)
        versions = core.scd2_versions(events, spec, values, self.tracked)
        rows = versions.withColumn(
            core.ACTION, F.when(F.col(core.CURRENT), F.lit("update")).otherwise(F.lit("insert"))
        ).drop(core.CURRENT)
        if history is not None and late_keys is not None:
            # Late keys: their versions rebuilt from the whole history; versions that no longer
            # exist are deleted, the others inserted or updated only where they changed.
            rebuilt = core.scd2_versions(history.withColumn(core.CURRENT, F.lit(False)), spec,
                                         values, self.tracked).drop(core.CURRENT)
            existing = core.key_filter(target_rows, late_keys, keys, keep=True).select(
                *[core.quote(k) for k in (*keys, START_AT)])
            gone = core.key_filter(existing, rebuilt, (*keys, START_AT), keep=False)
            rows = rows.unionByName(rebuilt.withColumn(core.ACTION, F.lit("version")))
            rows = rows.unionByName(gone.withColumn(core.ACTION, F.lit("delete")),
                                    allowMissingColumns=True)
        on = (f"{core.keys_match(keys)} AND ((s.{core.ACTION} = 'update' AND t.{END_AT} IS NULL)"
              f" OR (s.{core.ACTION} IN ('version', 'delete') AND t.{START_AT} <=> "
              f"s.{START_AT}))")
        same = " AND ".join(f"t.{core.quote(c)} <=> s.{core.quote(c)}" for c in (*values, END_AT))
        updates: dict[str, str | Column] = {core.quote(v): f"s.{core.quote(v)}" for v in values}
        updates[END_AT] = f"s.{END_AT}"
        inserts: dict[str, str | Column] = {
            core.quote(c): f"s.{core.quote(c)}" for c in (*keys, *values, START_AT, END_AT)}
        with merge.cached(rows) as (source, count):
            if not count:
                return
            builder = (
                merge.table(self.run.spark, self.target)
                .merge(source.alias("s"), on)
                .whenMatchedDelete(condition=f"s.{core.ACTION} = 'delete'")
                .whenMatchedUpdate(condition=f"NOT ({same})", set=updates)
                .whenNotMatchedInsert(condition=f"s.{core.ACTION} IN ('insert', 'version')",
                                      values=inserts)
            )
            self._execute(builder, batch_id)

    def _execute(self, builder: Any, batch_id: int) -> None:
        target = self.target
        before = target.version()
        with delta.idempotent(self.run.spark, (self.txn_app_id(target.name), batch_id)):
            builder.execute()
        upserted, deleted = merge.change_counts(target, before)
        self.result.rows_written += upserted
        self.result.num_upserted_rows += upserted
        self.result.num_deleted_rows += deleted

    def _rebuild_everything(self, applied: str) -> str:
        """A truncate arrived late: fold the whole source history again and replace the table."""
        from pyspark.sql import functions as F

        spec = self.spec
        everything = core.dedupe(core.events(self.reader.read(spec.source), spec), spec.keys)
        rows = everything.where(F.col(core.OP) != core.TRUNCATE)
        keys_df = rows.select(*[core.quote(k) for k in spec.keys]).distinct()
        truncates = everything.where(F.col(core.OP) == core.TRUNCATE)
        rows = rows.unionByName(core.truncates_as_deletes(truncates, keys_df, spec.keys),
                                allowMissingColumns=True)
        state = core.scd1_state(rows, spec, self.values, merge_nulls=False)
        final = state.where(F.col(core.OP) == core.UPSERT).select(
            *[core.quote(c) for c in (*spec.keys, *self.values)])
        target = self.target
        before = target.version()
        previous = self.run.spark.read.format("delta").load(target.uri).count()
        delta.overwrite(final, target)
        written = delta.rows_written(target, before)
        self.result.rows_written += written
        self.result.num_upserted_rows += written
        self.result.num_deleted_rows += previous
        self.result.detail = "a late truncate: the table was rebuilt from the source's history"
        row = everything.agg(_encode(F.max(F.col(core.SEQ))).alias("v")).first()
        return applied if row is None else str(row["v"])
