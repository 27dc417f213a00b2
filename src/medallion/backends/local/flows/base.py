"""What every local flow shares: timing, result bookkeeping, materialized-view freshness."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medallion.backends.local import checkpoint as checkpoints
from medallion.backends.local.available_now import BatchHandler, run_available_now
from medallion.backends.local.delta import Target
from medallion.backends.local.result import TableResult
from medallion.backends.local.run_context import RunContext, TableReader
from medallion.backends.local.warehouse import table_rows, write_json_atomic
from medallion.graph import is_external

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from medallion.pipeline import Declaration

_MEDALLION_STATE_VERSION = 2  # 2: inputs are stamps (version@commit time)


class Flow:
    """Runs one declaration on the local runner."""

    def __init__(self, run: RunContext, decl: Declaration) -> None:
        self.run = run
        self.decl = decl
        self.reader: TableReader = run.for_table(decl)
        self.result = TableResult(name=decl.name, layer=decl.spec.layer)
        if decl.spec.is_flow:
            self.result.target = decl.spec.writes()

    @property
    def spec(self) -> Any:
        """The declaration's spec (typed by each subclass)."""
        return self.decl.spec

    @property
    def table_name(self) -> str:
        """The table this declaration writes: its own, or a flow's target."""
        return self.decl.spec.writes()

    @property
    def target(self) -> Target:
        """Where the table's rows go (for a flow: its target, with the target's settings)."""
        table = self.table_name
        spec = self.run.table_spec(table)
        destination = spec.destination()
        if destination is not None:
            return self.run.sink_target(spec.name, destination)
        return Target.of(spec, self.run.schema, self.run.path(table),
                         owner=self.run.pipeline.name)

    @property
    def query_name(self) -> str:
        """Streaming query name (unique among the pipeline's flows)."""
        if self.decl.spec.is_flow:
            return f"medallion_{self.run.schema}_{self.table_name}_flow_{self.decl.name}"
        return f"medallion_{self.run.schema}_{self.decl.name}"

    @property
    def checkpoint(self) -> Path:
        """The streaming checkpoint folder of this flow.

        A flow into a streaming table keeps it under the table's folder, so resetting the
        table (full refresh) resets every flow writing it.
        """
        folder = self.run.warehouse.checkpoint(self.run.schema, self.table_name)
        if self.decl.spec.is_flow:
            return folder / "flows" / self.decl.name
        return folder

    def flow_state(self) -> dict[str, Any]:
        """What this flow recorded about its progress (kept with its checkpoint)."""
        try:
            data = json.loads((self.checkpoint / "medallion-state.json").read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def save_flow_state(self, state: dict[str, Any]) -> None:
        """Record the flow's progress (atomically)."""
        write_json_atomic(self.checkpoint / "medallion-state.json", state)

    def txn_app_id(self, table: str) -> str:
        """Idempotent-write application id for one output table of this flow.

        It includes an id minted with the checkpoint: a new checkpoint (full refresh) restarts
        batch ids at 0, and Delta would otherwise skip those batches as already written.
        """
        id_file = self.checkpoint / "medallion-flow-id"
        if not id_file.exists():
            id_file.parent.mkdir(parents=True, exist_ok=True)
            # Atomically: a run killed while writing it must not leave an empty id behind.
            tmp = id_file.with_name(f".{id_file.name}.tmp")
            tmp.write_text(uuid.uuid4().hex)
            tmp.replace(id_file)
        return f"medallion:{self.run.schema}.{table}:{id_file.read_text().strip()}"

    def stream(self, df: DataFrame, handler: BatchHandler) -> int:
        """Run every available micro-batch of ``df`` through ``handler``; return how many ran.

        First the checkpoint is repaired if a killed run left it unstartable (reported in the
        table's result and the event log); a checkpoint Spark still refuses fails the table
        with the full refresh that rebuilds it, not with Spark's error.
        """
        self.result.repairs += checkpoints.repair(self.checkpoint, self.table_name)
        names = tuple(dict.fromkeys((self.table_name, self.decl.name)))
        try:
            return run_available_now(df, checkpoint=self.checkpoint,
                                     query_name=self.query_name, handler=handler, names=names,
                                     owner=self)
        except Exception as exc:
            refused = checkpoints.spark_refusal(exc, self.table_name, self.checkpoint)
            if refused is None:
                raise
            raise refused from exc

    def execute(self) -> TableResult:
        """Run the flow, timing it; the subclass's :meth:`process` does the work."""
        start = time.perf_counter()
        try:
            self.check_columns()
            self.process()
        finally:
            self.result.seconds = time.perf_counter() - start
        return self.result

    def check_columns(self) -> None:
        """Before any write: raise ColumnReferenceError for a column the inputs lack."""

    def columns_of(self, table: str) -> list[str]:
        """The columns of an input table, as they are now."""
        return list(self.reader.read(table).columns)

    def rows_of(self, table: str, df: DataFrame) -> int:
        """The rows of an input table read whole as ``df``: from its Delta log, else counted.

        A pipeline table's latest version is counted from its files' statistics in the log
        (no Spark job; see :func:`~medallion.backends.local.warehouse.table_rows`); an external
        table, or one whose log cannot tell, by ``df.count()``.
        """
        if not is_external(table):
            rows = table_rows(self.run.path(table))
            if rows is not None:
                return rows
        return int(df.count())

    def process(self) -> None:  # pragma: no cover - abstract
        """Do the flow's work, filling ``self.result``."""
        raise NotImplementedError

    # -- materialized views: skip a recompute when nothing they read has changed -----------------
    def fingerprint(self, extra: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """What the view's rows depend on; None when that cannot be known (always recompute)."""
        inputs: dict[str, Any] = {}
        for name in self.spec.inputs():
            if is_external(name):
                return None
            inputs[name] = self.run.warehouse.stamp(self.run.schema, name)
        spec_json = self.spec.model_dump_json(by_alias=True)
        return {
            "state_version": _MEDALLION_STATE_VERSION,
            "spec": hashlib.sha256(spec_json.encode()).hexdigest(),
            "inputs": inputs,
            **(extra or {}),
        }

    def outputs_versions(self) -> dict[str, int | None]:
        """Current Delta version of every table this flow writes."""
        names = self.decl.spec.written_tables()
        return {name: self.run.warehouse.version(self.run.schema, name) for name in names}

    def _read_state(self) -> dict[str, Any] | None:
        if self.decl.spec.is_flow:  # flows keep it with their checkpoint
            state = self.flow_state().get("fingerprint_state")
            return state if isinstance(state, dict) else None
        return self.run.warehouse.read_state(self.run.schema, self.decl.name)

    def up_to_date(self, fingerprint: dict[str, Any] | None) -> bool:
        """True when the view was computed from exactly these inputs and is untouched since."""
        if fingerprint is None:
            return False
        state = self._read_state()
        if state is None:
            return False
        same_inputs = json.dumps(state.get("fingerprint"), sort_keys=True) == json.dumps(
            fingerprint, sort_keys=True
        )
        if self.decl.spec.is_flow:
            # A flow only adds what is new in its sources (its checkpoint knows what it read);
            # other flows writing the same table do not make it stale.
            return same_inputs
        return same_inputs and state.get("outputs") == self.outputs_versions()

    def definition_unchanged(self, fingerprint: dict[str, Any] | None) -> bool:
        """Whether this definition last wrote the table, untouched since (so has its settings)."""
        if fingerprint is None:
            return False
        state = self._read_state() or {}
        previous = state.get("fingerprint")
        return isinstance(previous, dict) and all(
            previous.get(k) == fingerprint[k] for k in ("spec", "state_version")) and (
            state.get("outputs") == self.outputs_versions())

    def remember(self, fingerprint: dict[str, Any] | None,
                 extra: dict[str, Any] | None = None) -> None:
        """Record what the view was computed from (after a successful write), and ``extra``."""
        if fingerprint is None:
            return
        state = {"fingerprint": fingerprint, "outputs": self.outputs_versions(), **(extra or {})}
        if self.decl.spec.is_flow:
            self.save_flow_state({**self.flow_state(), "fingerprint_state": state})
            return
        self.run.warehouse.write_state(self.run.schema, self.decl.name, state)
