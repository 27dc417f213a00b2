"""Test helpers for pipelines built with medallion (also registered as a pytest plugin).

Fixtures (available in any project that installs ``medallion[local]`` and pytest):

- ``medallion_spark``: one Delta-enabled SparkSession for the whole test run;
- ``medallion_warehouse``: an empty warehouse folder per test;
- ``run_pipeline``: runs a pipeline on that session and warehouse and returns its
  :class:`~medallion.backends.local.RunResult` (``result.read("table")`` gives a DataFrame).

Example:
    >>> def test_orders(run_pipeline):                       # doctest: +SKIP
    ...     with medallion.Pipeline("orders") as p:
    ...         declare_my_tables()
    ...     result = run_pipeline(p)
    ...     assert result.read("silver_orders").count() == 3
"""

from __future__ import annotations

from medallion.testing.session import TEST_CONF, spark_for_tests

__all__ = ["TEST_CONF", "spark_for_tests"]
