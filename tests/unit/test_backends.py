from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest

import medallion
from medallion import BackendError
from medallion.backends import in_databricks_pipeline, selected_backend

SPARK_HAS_PIPELINES = tuple(
    int(p) for p in importlib.metadata.version("pyspark").split(".")[:2]) >= (4, 1)


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
    # databricks-dlt (the stub) and pyspark.pipelines both import fine outside any pipeline;
    # pyspark.pipelines exists from Spark 4.1 on (the 3.5 line has only the stub's dlt).
    modules = "dlt, pyspark.pipelines" if SPARK_HAS_PIPELINES else "dlt"
    code = (
        f"import {modules}, medallion\n"
        "from medallion.backends import selected_backend\n"
        "print(selected_backend())\n"
    )
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("MEDALLION_BACKEND", "DATABRICKS_RUNTIME_VERSION")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode != 0 and "No module named 'dlt'" in out.stderr:
        pytest.fail("the test extra must install the databricks-dlt stub")
    assert out.stdout.strip() == "local", out.stderr


def test_forcing_databricks_outside_a_pipeline_reports_the_stub(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # pyspark.pipelines (open source) has no expectations and dlt is the databricks-dlt stub:
    # neither can register, and medallion says so instead of calling the stub.
    monkeypatch.setenv("MEDALLION_BACKEND", "databricks")
    with pytest.raises(BackendError, match=r"databricks-dlt stub.*Unset MEDALLION_BACKEND"), \
            medallion.Pipeline("p"):
        pass


DLTHUB_VERSION = "1.31.0"


@pytest.fixture(scope="session")
def dlthub_dir() -> str:
    """dltHub's `dlt` (the data load tool), installed once into a folder of its own.

    It cannot share the virtualenv with the databricks-dlt stub (both are the top-level module
    `dlt`), so it lives in a throwaway target folder that only a subprocess puts on sys.path.
    """
    import os
    from pathlib import Path

    target = Path(sys.prefix) / "medallion-test-cache" / f"dlthub-{DLTHUB_VERSION}"
    if not (target / "dlt" / "__init__.py").exists():
        out = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--target", str(target), f"dlt=={DLTHUB_VERSION}"],
            capture_output=True, text=True, env={**os.environ, "PIP_NO_INPUT": "1"},
        )
        assert out.returncode == 0, out.stderr[-2000:]
    return str(target)


def test_dlthub_dlt_does_not_select_databricks(dlthub_dir: str) -> None:
    import os

    code = (
        "import os, dlt, medallion\n"
        f"assert dlt.__file__.startswith({dlthub_dir!r}), dlt.__file__\n"
        "assert hasattr(dlt, 'pipeline') and not hasattr(dlt, 'expect_all')  # dltHub's\n"
        "from medallion.backends import selected_backend\n"
        "print(selected_backend())\n"
        "os.environ['DATABRICKS_RUNTIME_VERSION'] = '15.4'  # a cluster, not a pipeline\n"
        "print(selected_backend())\n"
        "with medallion.Pipeline('p') as p:\n"
        "    medallion.bronze_batch(name='b', path='/x')\n"
        "print(len(p))\n"
        "os.environ['MEDALLION_BACKEND'] = 'databricks'\n"
        "from medallion.backends.databricks import load_api\n"
        "try:\n"
        "    load_api()\n"
        "except medallion.BackendError as exc:\n"
        "    print('refused' if 'dltHub' in str(exc) else exc)\n"
    )
    env = {k: v for k, v in os.environ.items()
           if k not in ("MEDALLION_BACKEND", "DATABRICKS_RUNTIME_VERSION")}
    env["PYTHONPATH"] = dlthub_dir
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.split() == ["local", "local", "1", "refused"], out.stderr[-2000:]
