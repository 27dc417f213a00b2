"""pytest plugin: fixtures for testing medallion pipelines (see :mod:`medallion.testing`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from medallion.backends.local.result import RunResult
    from medallion.pipeline import Pipeline


@pytest.fixture(scope="session")
def medallion_spark() -> Iterator[SparkSession]:
    """One Delta-enabled SparkSession shared by the whole test run (start-up costs seconds)."""
    from medallion.testing.session import spark_for_tests

    spark = spark_for_tests()
    yield spark
    spark.stop()


@pytest.fixture
def medallion_warehouse(tmp_path: Path) -> Path:
    """An empty warehouse folder for one test."""
    path = tmp_path / "warehouse"
    path.mkdir()
    return path


RunPipeline = Callable[..., "RunResult"]


@pytest.fixture
def run_pipeline(medallion_spark: SparkSession, medallion_warehouse: Path) -> RunPipeline:
    """Run a pipeline on the test session and warehouse; return its result.

    Call it as ``run_pipeline(pipeline, full_refresh=False, raise_on_failure=True)``; run it
    again to test incremental behaviour (the warehouse persists for the test).
    ``full_refresh`` is ``True`` (every table) or table names: a list, or one string
    (``"silver_orders"``, ``"a,b"``) — never a pipeline file.
    """

    def run(
        pipeline: Pipeline,
        *,
        full_refresh: bool | Iterable[str] = False,
        raise_on_failure: bool = True,
        **options: Any,
    ) -> RunResult:
        from medallion.backends.local import LocalRunner

        runner = LocalRunner(warehouse=medallion_warehouse, spark=medallion_spark, **options)
        return runner.run(pipeline, full_refresh=full_refresh, raise_on_failure=raise_on_failure)

    return run
