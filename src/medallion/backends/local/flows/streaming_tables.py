"""Streaming tables declared on their own, and append flows, on the local runner.

The table's own node runs after every flow writing it: it makes sure the table exists (with
its declared schema) and reports what its flows wrote in this run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, cast

from medallion.backends.local import delta
from medallion.backends.local.flows.base import Flow
from medallion.backends.local.quality import evaluate
from medallion.core.rules import RuleSet
from medallion.errors import TableRunError
from medallion.query_context import call_query
from medallion.specs.flows import AppendFlowSpec, SinkSpec, StreamingTableSpec
from medallion.specs.sqlexpr import quote_identifier

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

ONCE_MARKER = "medallion-once-done"


class StreamingTableFlow(Flow):
    """The node of a :class:`StreamingTableSpec`: create it if needed, sum up its flows."""

    spec: StreamingTableSpec

    def process(self) -> None:
        """Ensure the table exists; report the rows its flows wrote in this run."""
        target = self.target
        if target.version() is None and self.spec.schema_ is not None:
            delta.ensure_table(self.run.spark, target, declared_schema(self.spec.schema_))
        flows = self.run.graph.writers.get(self.decl.name, ())
        results = [self.run.results[f.key] for f in flows if f.key in self.run.results]
        r = self.result
        for flow in results:
            r.rows_in += flow.rows_in
            r.rows_written += flow.rows_written
            r.rows_dropped += flow.rows_dropped
            r.num_upserted_rows += flow.num_upserted_rows
            r.num_deleted_rows += flow.num_deleted_rows
        if results and all(f.status == "up_to_date" for f in results):
            r.status = "up_to_date"
        names = ", ".join(f"'{f.name}'" for f in flows)
        r.detail = f"written by flow{'s' if len(flows) > 1 else ''} {names}"


class SinkFlow(StreamingTableFlow):
    """The node of a :class:`SinkSpec`: a Delta sink runs locally, other formats are refused."""

    spec: SinkSpec

    def process(self) -> None:
        """Sum up what the append flows wrote into the sink."""
        if self.spec.format.lower() != "delta":
            raise TableRunError(
                self.decl.name,
                f"sink format '{self.spec.format}' cannot run locally: the local runner writes "
                "Delta sinks only (format='delta' with options path= or tableName=); run "
                "this pipeline on Databricks for a Kafka or Event Hubs sink",
            )
        super().process()
        self.result.detail += f" (a Delta sink at {self.target.path})"


class AppendFlow(Flow):
    """Runs an :class:`AppendFlowSpec`: the query's rows, checked by the table's rules, appended."""

    spec: AppendFlowSpec

    @property
    def rules(self) -> RuleSet:
        """The rules of the target table (they apply to every flow writing it)."""
        return RuleSet(self.spec.target, self.spec_of_target.rules)

    def process(self) -> None:
        """Append what the query returns (each new micro-batch, or the batch once)."""
        marker = self.checkpoint / ONCE_MARKER
        if self.spec.once and marker.exists():
            self.result.status = "up_to_date"
            self.result.detail = "a once flow: already ran (it runs again after a full refresh)"
            return
        fingerprint = self.fingerprint()
        if not self.spec.once and self.up_to_date(fingerprint):
            # Nothing was appended to what the flow reads: skip starting a stream.
            self.result.status = "up_to_date"
            self.result.detail = "no new rows in its sources since the last run"
            return
        with spark_conf(self.run.spark, self.spec.spark_conf):
            df = self._dataframe()
            if self.target.version() is None:
                # Created before any write, from the declared schema or with every column
                # nullable: another flow may leave NULL what this one always fills.
                schema = (declared_schema(self.spec_of_target.schema_)
                          if self.spec_of_target.schema_ is not None
                          else nullable(self._aligned(df).schema))
                delta.ensure_table(self.run.spark, self.target, schema)
            if df.isStreaming:
                self._stream(df)
            else:
                self._append(df, 0)
        if self.spec.once:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("done\n")
        elif df.isStreaming:
            self.remember(fingerprint)

    def _dataframe(self) -> DataFrame:
        from pyspark.sql import DataFrame

        df = call_query(self.spec.query, self.reader)
        if not isinstance(df, DataFrame):
            raise TableRunError(
                self.spec.target,
                f"append flow '{self.decl.name}' returned {type(df).__name__}, not a DataFrame; "
                "its function must return the rows to append",
            )
        if not df.isStreaming and not self.spec.once:
            raise TableRunError(
                self.spec.target,
                f"append flow '{self.decl.name}' returned a batch DataFrame: it would append "
                "the same rows on every run. Read a stream (ctx.read_stream(...)), or declare "
                "the flow with once=True for a one-time backfill",
            )
        return df

    def _aligned(self, df: DataFrame) -> DataFrame:
        """The rows in the declared schema's columns, when the table declares one."""
        return aligned(df, self.spec_of_target.schema_, self.spec.target,
                       f"append flow '{self.decl.name}'", "the flow")

    @property
    def spec_of_target(self) -> StreamingTableSpec:
        """The target's spec."""
        # The graph checked it: a flow writes only a table declared by create_streaming_table.
        return cast("StreamingTableSpec", self.run.table_spec(self.spec.target))

    def _append(self, df: DataFrame, batch_id: int) -> None:
        target = self.target
        evaluated = evaluate(self._aligned(df), self.rules, cache=False)
        before = target.version()
        wrote = delta.append(self.rules.kept(evaluated.annotated), target,
                             txn=(self.txn_app_id(target.name), batch_id),
                             observed=evaluated.observed)
        self.result.rows_written += delta.rows_written(target, before)
        if wrote:  # a replayed, already committed micro-batch ran no job: nothing observed
            evaluated.record(self.result)

    def _stream(self, df: DataFrame) -> None:
        self.stream(df, self._append)


def aligned(df: DataFrame, ddl: str | None, table: str, writer: str, where: str) -> DataFrame:
    """``df`` in the columns of the table's declared schema ``ddl`` (unchanged without one).

    A column the schema does not declare fails the update; declared columns ``df`` lacks are
    NULL.
    """
    if ddl is None:
        return df
    from pyspark.sql import functions as F

    declared = declared_schema(ddl)
    names = set(declared.fieldNames())
    extra = [c for c in df.columns if c not in names]
    if extra:
        raise TableRunError(
            table,
            f"{writer} writes column '{extra[0]}', which the table's schema does not declare "
            f"({', '.join(declared.fieldNames())}); add it to the schema or drop it in {where}",
        )
    have = set(df.columns)
    return df.select(*[
        F.col(quote_identifier(f.name)) if f.name in have
        else F.lit(None).cast(f.dataType).alias(f.name)
        for f in declared.fields
    ])


def nullable(schema: StructType) -> StructType:
    """``schema`` with every top-level column nullable."""
    from pyspark.sql.types import StructField, StructType

    return StructType([StructField(f.name, f.dataType, True, f.metadata) for f in schema.fields])


def declared_schema(ddl: str) -> StructType:
    """A DDL column list as a StructType."""
    from pyspark.sql.types import StructType

    from medallion.core.compat import parse_ddl

    schema = parse_ddl(ddl)
    assert isinstance(schema, StructType)
    return schema


@contextlib.contextmanager
def spark_conf(spark: SparkSession, conf: dict[str, str]) -> Iterator[None]:
    """Apply a flow's Spark settings for the block, then restore the previous values."""
    saved: dict[str, str | None] = {key: spark.conf.get(key, None) for key in conf}
    for key, value in conf.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, previous in saved.items():
            if previous is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, previous)
