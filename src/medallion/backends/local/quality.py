"""Apply a table's rules to a DataFrame on the local runner, measuring them in the same pass.

The rules' masks, the per-rule counts and the fail check are part of the plan that writes the
table; the counts arrive through ``DataFrame.observe`` when the write finishes. When the rows feed
two tables (kept rows and quarantine) or a MERGE, the evaluated rows are cached and counted by one
grouped count over the failed-rules masks, which also fills the cache: the input is read once,
and nothing depends on an observation inside a Delta MERGE's source (never delivered:
``Observation.get`` would wait forever).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from medallion.backends.local import caching
from medallion.backends.local.result import ExpectationResult, TableResult
from medallion.core.rules import RuleSet, expectation_counts
from medallion.errors import MedallionError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Observation


@dataclass
class Evaluated:
    """A DataFrame with its rules applied: what to keep, what to quarantine, how to count."""

    rules: RuleSet
    annotated: DataFrame
    observation: Observation | None
    cached: bool
    _metrics: dict[str, Any] | None = None

    @property
    def observed(self) -> bool:
        """Whether the counts come from an ``Observation`` filled by the first write."""
        return self.observation is not None

    def release(self) -> None:
        """Drop the cached rows, if any."""
        if self.cached:
            self.annotated.unpersist()

    def materialize(self) -> None:
        """Compute the cached rows with one action that also counts them.

        It fills the cache (the fail guard runs on every row and raises before anything is
        written) and counts the rows per combination of failed rules: a handful of groups from
        which every rule's failures, the dropped rows and the total follow. A grouped count is
        compiled code over one small column per 62 rules.
        """
        if not self.cached:
            raise AssertionError("materialize() needs evaluate(..., cache=True)")
        groups = self.annotated.groupBy(*self.rules.mask_columns()).count().collect()
        self._metrics = self.rules.metrics_from_groups(
            [(tuple(row[:-1]), int(row[-1])) for row in groups])

    @property
    def metrics(self) -> dict[str, Any]:
        """The counts; only valid once the first action on these rows has finished."""
        if self._metrics is None:
            if self.observation is None:  # cached rows: counted from the cache
                self.materialize()
                assert self._metrics is not None
            else:
                self._metrics = observed(self.observation)
        return self._metrics

    @property
    def dropped(self) -> int:
        """Rows that failed at least one drop rule."""
        return int(self.metrics.get("dropped", 0) or 0) if self.rules.drop_indexes else 0

    def record(self, result: TableResult) -> None:
        """Add this evaluation's counts to ``result`` (call after the first write finished)."""
        metrics = self.metrics
        rows = int(metrics.get("rows", 0) or 0)
        result.rows_in += rows
        result.rows_dropped += self.dropped
        counts = expectation_counts(self.rules.rules, metrics)
        if not result.expectations:
            result.expectations = [
                ExpectationResult(r.name, r.action, 0, 0) for r in self.rules.rules
            ]
        result.expectations = [
            ExpectationResult(prev.name, prev.action, prev.passed + passed, prev.failed + failed)
            for prev, (_, passed, failed) in zip(result.expectations, counts, strict=True)
        ]


def evaluate(df: DataFrame, rules: RuleSet, *, cache: bool) -> Evaluated:
    """Annotate ``df`` with rule flags and attach the metrics observation.

    Args:
        df: The rows reaching the rules (after casts and derived columns).
        rules: The table's rules (may be empty: then only rows are counted).
        cache: True when the rows feed more than one write or a MERGE; call
            :meth:`Evaluated.materialize` before writing then.
    """
    from pyspark.sql import Observation

    annotated = rules.annotate(df)
    if cache:  # counted by materialize(), from the cached masks
        return Evaluated(rules, caching.keep(annotated), None, cached=True)
    observation = Observation()
    annotated = annotated.observe(observation, *rules.metric_columns())
    return Evaluated(rules, annotated, observation, cached=False)


def counted(df: DataFrame, rules: RuleSet, rows: int) -> Evaluated:
    """``df`` under a table without rules, whose ``rows`` are already known: nothing to count.

    Every row passes, so the counts are the rows alone; no observation, no cache, no job.
    """
    if rules.rules:
        raise AssertionError("counted() is only for a table without rules")
    annotated = rules.annotate(df)
    metrics = rules.metrics_from_groups([((), rows)])  # no rule: no mask column
    return Evaluated(rules, annotated, None, cached=False, _metrics=metrics)


def observed(observation: Observation, timeout: float = 60.0) -> dict[str, Any]:
    """The metrics of an observation whose action has finished.

    ``Observation.get`` blocks until metrics arrive; a plan that never delivers them would hang
    the run, so wait in a helper thread and fail loudly instead.
    """
    box: list[Any] = []
    worker = threading.Thread(target=lambda: box.append(observation.get), daemon=True)
    worker.start()
    worker.join(timeout)
    if not box:
        raise MedallionError(
            "internal error: the row counts of a write were not delivered by Spark within "
            f"{timeout:.0f}s; please report this with the pipeline definition"
        )
    return dict(box[0])
