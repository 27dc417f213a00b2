"""Apply a table's rules to a DataFrame on the local runner, measuring them in the same pass.

The rule flags, the per-rule counts and the fail check are all part of the plan that writes the
table; the counts arrive through ``DataFrame.observe`` when the write finishes. When the rows feed
two tables (kept rows and quarantine), the evaluated rows are cached so the input is read once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from medallion.backends.local.result import ExpectationResult, TableResult
from medallion.core.rules import RuleSet, expectation_counts

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Observation


@dataclass
class Evaluated:
    """A DataFrame with its rules applied: what to keep, what to quarantine, how to count."""

    rules: RuleSet
    annotated: DataFrame
    observation: Observation
    cached: bool
    _metrics: dict[str, Any] | None = None

    def release(self) -> None:
        """Drop the cached rows, if any."""
        if self.cached:
            self.annotated.unpersist()

    @property
    def metrics(self) -> dict[str, Any]:
        """The observed counts; only valid once the first write of these rows has finished."""
        if self._metrics is None:
            self._metrics = dict(self.observation.get)
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


def evaluate(df: DataFrame, rules: RuleSet, *, two_outputs: bool) -> Evaluated:
    """Annotate ``df`` with rule flags and attach the metrics observation.

    Args:
        df: The rows reaching the rules (after casts and derived columns).
        rules: The table's rules (may be empty: then only rows are counted).
        two_outputs: True when the rows feed both the table and its quarantine.
    """
    from pyspark.sql import Observation

    observation = Observation()
    annotated = rules.annotate(df) if rules.rules else df
    annotated = annotated.observe(observation, *rules.metric_columns())
    if two_outputs:
        annotated = annotated.persist()
    return Evaluated(rules, annotated, observation, cached=two_outputs)
