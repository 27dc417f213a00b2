"""Gold on the local runner: a materialized view, recomputed when its source changed."""

from __future__ import annotations

from medallion.backends.local import delta
from medallion.backends.local.flows.base import Flow
from medallion.core.gold import aggregate
from medallion.specs.gold import GoldSpec


class GoldFlow(Flow):
    """Runs a :class:`GoldSpec` and replaces the table in one commit."""

    spec_type = GoldSpec
    spec: GoldSpec

    def process(self) -> None:
        """Recompute the aggregate unless its source is unchanged since the last run."""
        fingerprint = self.fingerprint()
        if self.up_to_date(fingerprint):
            self.result.status = "up_to_date"
            self.result.detail = "inputs unchanged since the last run"
            return
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        observation = Observation()
        source = self.reader.read(self.spec.source)
        source = source.observe(observation, F.count(F.lit(1)).alias("rows"))
        target = self.target
        before = target.version()
        delta.overwrite(aggregate(source, self.spec), target)
        self.result.rows_in = int(observation.get.get("rows", 0) or 0)
        self.result.rows_written = delta.rows_written(target, before)
        self.remember(fingerprint)
