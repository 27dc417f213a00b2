"""The local runner's reading context, and the translation of Spark errors into medallion's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from medallion.backends.local.delta import Target
from medallion.backends.local.warehouse import Warehouse
from medallion.core.rules import find_violation
from medallion.errors import ExpectationFailed, GraphError, MedallionError, TableRunError
from medallion.graph import Graph, is_external
from medallion.pipeline import Declaration, Pipeline
from medallion.specs import BronzeSpec, QuerySpec, SilverSpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass
class RunContext:
    """Everything a flow needs: the session, the warehouse, the pipeline and its graph."""

    spark: SparkSession
    warehouse: Warehouse
    pipeline: Pipeline
    graph: Graph

    @property
    def schema(self) -> str:
        """The pipeline's schema."""
        return self.pipeline.schema

    def path(self, table: str) -> Path:
        """Folder of a pipeline table."""
        return self.warehouse.table_path(self.schema, table)

    def target(self, name: str, **settings: object) -> Target:
        """The write target for table ``name`` with creation settings."""
        return Target(self.schema, name, self.path(name), **settings)  # type: ignore[arg-type]

    def is_incremental(self, table: str) -> bool:
        """Whether a pipeline table is a streaming table (appended to, never rewritten)."""
        spec = self.graph.producers[table].spec
        if isinstance(spec, BronzeSpec | QuerySpec):
            return spec.incremental
        if isinstance(spec, SilverSpec):
            return self.silver_incremental(spec)
        return False

    def silver_incremental(self, spec: SilverSpec) -> bool:
        """A silver table streams when asked to, or by default when its source streams."""
        if spec.incremental is not None:
            return spec.incremental
        if is_external(spec.source):
            return False
        return self.is_incremental(spec.source)

    def for_table(self, decl: Declaration) -> TableReader:
        """A reading context limited to what ``decl`` declared it reads."""
        return TableReader(self, decl)


class TableReader:
    """The :class:`medallion.ReadContext` handed to one table's query."""

    def __init__(self, run: RunContext, decl: Declaration) -> None:
        self._run = run
        self._decl = decl

    @property
    def spark(self) -> SparkSession:  # noqa: D102
        return self._run.spark

    def conf(self, key: str, default: str | None = None) -> str | None:  # noqa: D102
        return self._run.pipeline.configuration.get(key, default)

    def _check(self, name: str) -> None:
        if is_external(name):
            return
        if name not in self._run.graph.producers:
            raise GraphError(
                f"{self._decl.describe()} reads '{name}', which this pipeline does not define",
                tables=(self._decl.name, name),
            )
        if name not in self._decl.spec.inputs():
            raise GraphError(
                f"{self._decl.describe()} reads '{name}' but does not declare it as an input, so "
                f"the runner cannot order it after '{name}'. Add inputs=[..., '{name}'] to its "
                "declaration.",
                tables=(self._decl.name, name),
            )
        if self._run.warehouse.version(self._run.schema, name) is None:
            raise TableRunError(
                self._decl.name,
                f"input table '{name}' has no data yet (it has never completed a run)",
            )

    def read(self, name: str) -> DataFrame:  # noqa: D102
        self._check(name)
        if is_external(name):
            return self._run.spark.read.table(name)
        return self._run.spark.read.format("delta").load(self._run.path(name).as_uri())

    def read_stream(self, name: str) -> DataFrame:  # noqa: D102
        self._check(name)
        if is_external(name):
            return self._run.spark.readStream.table(name)
        if not self._run.is_incremental(name):
            raise GraphError(
                f"{self._decl.describe()} streams from '{name}', a materialized view that is "
                f"rewritten on every run; read it with read('{name}') instead",
                tables=(self._decl.name, name),
            )
        return self._run.spark.readStream.format("delta").load(self._run.path(name).as_uri())


def explain(exc: BaseException, table: str) -> MedallionError:
    """Turn whatever a flow raised into a medallion error naming the table (no Java trace)."""
    if isinstance(exc, MedallionError):
        return exc
    text = str(exc)
    violation = find_violation(text)
    if violation is not None:
        return ExpectationFailed(violation.table, violation.rules, violation.row)
    return TableRunError(table, _first_lines(text))


def _first_lines(text: str, limit: int = 3) -> str:
    lines: list[str] = []
    for line in text.strip().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("at ", "JVM stacktrace", "Traceback", "File ")):
            if lines:
                break
            continue
        lines.append(stripped)
        if len(lines) >= limit:
            break
    return " ".join(lines) or type(text).__name__
