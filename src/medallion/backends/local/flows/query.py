"""The escape hatch on the local runner: the user's query function, with the rules machinery."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medallion.backends.local import delta
from medallion.backends.local.columns import spark_confirms
from medallion.backends.local.flows.ruled import RuledFlow
from medallion.backends.local.flows.streaming_tables import aligned
from medallion.backends.local.quality import Evaluated, evaluate
from medallion.core.columns import check_rules
from medallion.errors import TableRunError
from medallion.query_context import call_query
from medallion.specs.query import QuerySpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


class QueryFlow(RuledFlow):
    """Runs a :class:`QuerySpec`: call the function, apply the rules, write."""

    spec: QuerySpec

    def _dataframe(self) -> DataFrame:
        from pyspark.sql import DataFrame

        df = call_query(self.spec.query, self.reader)
        if not isinstance(df, DataFrame):
            raise TableRunError(
                self.decl.name,
                f"its query function returned {type(df).__name__}, not a DataFrame; a query "
                "function must return the DataFrame that defines the table",
            )
        if self.spec.incremental is None:  # @dlt.table: the DataFrame decides, as on Databricks
            self.run.kinds[self.decl.name] = df.isStreaming
        elif df.isStreaming != self.spec.incremental:
            wanted = "a streaming" if self.spec.incremental else "a batch"
            fix = ("use ctx.read_stream(...)" if self.spec.incremental
                   else "use ctx.read(...) or declare it with incremental=True")
            raise TableRunError(
                self.decl.name, f"it is declared as {wanted} table but its query function "
                f"returned a {'streaming' if df.isStreaming else 'batch'} DataFrame; {fix}",
            )
        return aligned(df, self.spec.schema_, self.decl.name, "its query function",
                       "the query")

    def _write(self, evaluated: Evaluated, mode: str, batch_id: int | None) -> None:
        target = self.target
        quarantine = self.quarantine_target
        kept = self.rules.kept(evaluated.annotated)
        before = target.version()
        wrote = True
        if mode == "append":
            wrote = delta.append(kept, target, txn=(self.txn_app_id(target.name), batch_id or 0),
                                 observed=evaluated.observed)
        else:
            delta.overwrite(kept, target, observed=evaluated.observed)
        self.result.rows_written += delta.rows_written(target, before)
        if wrote:  # a replayed, already committed batch is not counted again (maybe no job ran)
            evaluated.record(self.result)
        if quarantine is not None:
            q_before = quarantine.version()
            rows = self.rules.quarantined(evaluated.annotated)
            if mode == "append":
                delta.append(rows, quarantine, txn=(self.txn_app_id(quarantine.name),
                                                    batch_id or 0))
            else:
                delta.overwrite(rows, quarantine)
            self.result.rows_quarantined += delta.rows_written(quarantine, q_before)

    def process(self) -> None:
        """Evaluate the query function and write its rows (per micro-batch when streaming)."""
        two = self.spec.quarantine is not None
        df = self._dataframe()
        if self.spec.rules:
            check_rules(self.decl.name, "its query", df.columns, self.spec.rules,
                        spark_confirms(self.run.spark))
        if not df.isStreaming:
            evaluated = evaluate(df, self.rules, cache=two)
            try:
                self._write(evaluated, "overwrite", None)
            finally:
                evaluated.release()
            return

        def handle(batch: DataFrame, batch_id: int) -> None:
            evaluated = evaluate(batch, self.rules, cache=two)
            try:
                self._write(evaluated, "append", batch_id)
            finally:
                evaluated.release()

        self.stream(df, handle)
