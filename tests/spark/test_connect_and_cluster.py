"""The reference pipeline through Spark Connect and on a multi-JVM cluster equals the local run.

Each test runs ``medallion run`` once in a subprocess — through a Spark Connect server started
here on localhost (Delta on its classpath, as docs/running-on-a-cluster.md starts one), or with
``--master local-cluster[2,1,1024]`` (two executors, each its own JVM, so closures, UDFs and
file paths really travel) — and compares every table with the in-process run, exact rows.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality

from medallion.backends.local import LocalRunner
from medallion.loader import load_pipeline
from tests.spark.test_orders_pipeline import orders_input  # noqa: F401 - a fixture
from tests.spark.test_spark_pipelines import comparable

pytestmark = [pytest.mark.spark, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "examples/orders/pipeline.py"
TABLES = ("bronze_orders", "bronze_customers", "silver_orders", "quarantine_orders",
          "silver_customers", "silver_orders_enriched", "gold_daily_sales", "gold_customer_ltv")
COUNTS = {"bronze_orders": 12, "bronze_customers": 4, "silver_orders": 6,
          "quarantine_orders": 5, "silver_customers": 3, "silver_orders_enriched": 6,
          "gold_daily_sales": 4, "gold_customer_ltv": 4}

SERVER = """
import sys, time
import medallion
spark = medallion.local_session(app_name="medallion-connect-server", master="local[2]", conf={
    "spark.plugins": "org.apache.spark.sql.connect.SparkConnectPlugin",
    "spark.connect.grpc.binding.address": "127.0.0.1",
    "spark.connect.grpc.binding.port": sys.argv[1],
    "spark.sql.shuffle.partitions": "2",
    "spark.python.authenticate.socketTimeout": "300s",
})
print("READY", flush=True)
while True:
    time.sleep(3600)
"""


def env() -> dict[str, str]:
    bin_dir = Path(sys.executable).parent
    out = {
        **os.environ,
        "PYSPARK_PYTHON": sys.executable,  # the server's Python workers run foreachBatch
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    for name in ("MEDALLION_BACKEND", "MEDALLION_SPARK_REMOTE", "MEDALLION_SPARK_MASTER"):
        out.pop(name, None)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def connect_server(tmp_path: Path) -> Iterator[str]:
    """A Spark Connect server with Delta Lake on localhost; yields its ``sc://`` URL."""
    import pyspark

    if int(pyspark.__version__.split(".")[0]) < 4:
        # pip's pyspark 3.5 ships no Connect server: it is the separate spark-connect_2.12
        # artifact (docs/running-on-a-cluster.md starts it with --packages on 3.5).
        pytest.skip("Spark Connect is exercised on the Spark 4 line; pyspark 3.5 has no server")
    port = free_port()
    log = (tmp_path / "connect-server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stdout=subprocess.PIPE,
                            stderr=log, text=True, env=env(), cwd=tmp_path,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the server is up (or died)
        assert line.strip() == "READY", (tmp_path / "connect-server.log").read_text()[-3000:]
        yield f"sc://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=120)
        log.close()


def medallion_run(*options: str, raw: Path, warehouse: Path,
                  extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "medallion.cli", "run", str(PIPELINE), "--warehouse",
         str(warehouse), "--conf", f"raw={raw}", "--progress", "plain", *options],
        capture_output=True, text=True, env={**env(), **(extra_env or {})}, timeout=1500,
    )


def assert_same_tables(spark: Any, local_wh: Path, other_wh: Path) -> dict[str, int]:
    counts = {}
    for table in TABLES:
        local = spark.read.format("delta").load(str(local_wh / "medallion_db" / table))
        other = spark.read.format("delta").load(str(other_wh / "medallion_db" / table))
        assert other.dtypes == local.dtypes, table
        assert_df_equality(comparable(other), comparable(local), ignore_row_order=True)
        counts[table] = other.count()
    for table in ("silver_orders", "gold_daily_sales"):  # settings travel too
        local_detail, other_detail = (
            spark.sql(f"DESCRIBE DETAIL delta.`{wh / 'medallion_db' / table}`").first()
            for wh in (local_wh, other_wh))
        assert other_detail.properties == local_detail.properties, table
        assert other_detail.description == local_detail.description, table
    return counts


def run_locally(spark: Any, raw: Path, warehouse: Path) -> str:
    result = LocalRunner(warehouse=warehouse, spark=spark).run(
        load_pipeline(PIPELINE, configuration={"raw": str(raw)}))
    return result.summary()


def summary_lines(output: str) -> list[str]:
    """The per-table lines of the run summary, without their timings."""
    return [line.rsplit(None, 1)[0] for line in output.splitlines()
            if line.split(" ", 1)[0] in TABLES and line.rstrip().endswith("s")]


def run_and_compare(spark: Any, raw: Path, tmp_path: Path, *options: str,
                    extra_env: dict[str, str] | None = None) -> float:
    """``medallion run`` in a subprocess, then every table and the summary against local."""
    local_summary = run_locally(spark, raw, tmp_path / "local")
    started = time.perf_counter()
    run = medallion_run(*options, raw=raw, warehouse=tmp_path / "other", extra_env=extra_env)
    seconds = time.perf_counter() - started
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    assert assert_same_tables(spark, tmp_path / "local", tmp_path / "other") == COUNTS
    # Rows in / written / dropped / quarantined per table: the same as in-process.
    assert summary_lines(run.stdout) == summary_lines(local_summary), run.stdout
    return seconds


def test_reference_pipeline_through_spark_connect_equals_local(
    tmp_path: Path, medallion_spark: Any, orders_input: Path, connect_server: str,  # noqa: F811
) -> None:
    # foreachBatch runs on the server: its counts must come back for the summary to match
    seconds = run_and_compare(medallion_spark, orders_input, tmp_path, "--remote",
                              connect_server)
    print(f"medallion run --remote: {seconds:.0f}s")


def test_reference_pipeline_on_a_multi_jvm_cluster_equals_local(
    tmp_path: Path, medallion_spark: Any, orders_input: Path,  # noqa: F811
) -> None:
    seconds = run_and_compare(medallion_spark, orders_input, tmp_path, extra_env={
        "MEDALLION_SPARK_MASTER": "local-cluster[2,1,1024]"})
    print(f"medallion run on local-cluster[2,1,1024]: {seconds:.0f}s")
