"""The local backend: runs pipelines on Spark + Delta Lake with data in a warehouse folder."""

from __future__ import annotations

from medallion.backends.local.result import ExpectationResult, RunResult, TableResult
from medallion.backends.local.runner import LocalRunner
from medallion.backends.local.session import local_session
from medallion.backends.local.warehouse import Warehouse

__all__ = ["ExpectationResult", "LocalRunner", "RunResult", "TableResult", "Warehouse",
           "local_session"]
