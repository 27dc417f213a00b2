from __future__ import annotations

import subprocess
import sys

import pytest

import medallion
from medallion import BackendError
from medallion.backends import in_databricks_pipeline, selected_backend


def test_local_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDALLION_BACKEND", raising=False)
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    assert selected_backend() == "local"
    assert in_databricks_pipeline() is False


def test_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDALLION_BACKEND", "LOCAL")
    assert selected_backend() == "local"
    monkeypatch.setenv("MEDALLION_BACKEND", "spark")
    with pytest.raises(BackendError, match="use one of: local, databricks"):
        selected_backend()


def test_databricks_env_var_alone_is_not_a_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    # A Databricks cluster (not a pipeline) has the env var but no active pipelines.id.
    monkeypatch.delenv("MEDALLION_BACKEND", raising=False)
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "15.4")
    assert in_databricks_pipeline() is False
    assert selected_backend() == "local"


def test_importable_dlt_modules_do_not_select_databricks() -> None:
    # databricks-dlt (the stub) and pyspark.pipelines both import fine outside any pipeline.
    code = (
        "import dlt, pyspark.pipelines, medallion\n"
        "from medallion.backends import selected_backend\n"
        "print(selected_backend())\n"
    )
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("MEDALLION_BACKEND", "DATABRICKS_RUNTIME_VERSION")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode != 0 and "No module named 'dlt'" in out.stderr:
        pytest.fail("the test extra must install the databricks-dlt stub")
    assert out.stdout.strip() == "local", out.stderr


def test_databricks_backend_seam_reports_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDALLION_BACKEND", "databricks")
    with pytest.raises(BackendError, match=r"bronze table 'b'.*not available in this medallion"):
        medallion.bronze_autoloader(name="b", path="/x")
