"""Local-runner settings that are not part of any spec (how, not what, to run)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LocalSettings:
    """How the local runner runs a pipeline.

    Attributes:
        optimize: Run ``OPTIMIZE`` on every clustered table after a run wrote it (Databricks
            does this in its maintenance job). A table can ask for it on its own with the table
            property ``pipelines.autoOptimize.managed = "true"``, or opt out with ``"false"``.
        incremental_refresh: Let materialized views merge only the groups whose source rows
            changed when their source records a change data feed. False always recomputes.
    """

    optimize: bool = False
    incremental_refresh: bool = True
