"""Two measurements for the pipeline runtimes, each a ratio taken side by side in one run.

1. Layer code fit for Spark Connect. ``medallion.core`` builds silver without ``DataFrame.drop``
   or ``dropDuplicates(subset)`` (which Spark Connect always analyses): rule flags travel next
   to the row packed in a struct, and the dedup keeps rows with a NULL key. The script runs
   silver's prepare + rules + dedup over generated orders, and the same steps written by hand
   with drop, alternately, and prints the median time ratio core / hand-written
   (target: <= 1.10).
2. The reference pipeline under Apache Spark's ``spark-pipelines run`` (a Spark Connect server
   in its own process, tables in a Hive-metastore catalog) versus the local runner, first run and
   rerun after 1% more input: wall-time ratios, start-up included (informative; no target).

    python bench/runtimes.py [--rows 1000000] [--rounds 3] [--skip-spark-pipelines]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from medallion import Rule
from medallion.backends.local import LocalRunner, local_session
from medallion.backends.spark_pipelines.project import init_spark_pipeline
from medallion.core import silver
from medallion.core.rules import RuleSet
from medallion.demo import data
from medallion.loader import load_pipeline
from medallion.specs import SilverSpec

ROOT = Path(__file__).resolve().parents[1]
SPEC = SilverSpec(
    name="silver_orders", source="bronze_orders",
    renames={"region": "sales_region"},
    casts={"order_id": "bigint", "customer_id": "bigint", "amount": "decimal(10,2)",
           "order_date": "timestamp"},
    derived={"big": "amount > 500"},
    rules=[Rule(name="valid_order_id", condition="order_id IS NOT NULL", action="drop"),
           Rule(name="valid_amount", condition="amount > 0 AND amount < 100000", action="drop")],
    dedup_keys=["order_id"],
)


def with_core(df: Any) -> Any:
    rules = RuleSet(SPEC.name, SPEC.rules)
    kept = rules.kept(rules.annotate(silver.prepare(df, SPEC)), silver.helper_columns(SPEC))
    return silver.dedup(kept, SPEC.dedup_keys, None)


def by_hand(df: Any) -> Any:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    df = df.withColumnsRenamed({"region": "sales_region"}).withColumns({
        c: F.expr(f"try_cast({c} AS {t})") for c, t in SPEC.casts.items()})
    df = df.withColumn("big", F.expr("amount > 500"))
    df = df.where("order_id IS NOT NULL AND coalesce(amount > 0 AND amount < 100000, false)")
    window = Window.partitionBy("order_id").orderBy(F.xxhash64(F.struct("*")))
    # like medallion, rows with a NULL key are all kept (NULL identifies nothing)
    ranked = df.withColumn("rn", F.row_number().over(window))
    return ranked.where("rn = 1 OR order_id IS NULL").drop("rn")


def timed(spark: Any, build: Any, source: str) -> float:
    start = time.perf_counter()
    build(spark.read.json(source)).write.format("noop").mode("overwrite").save()
    return time.perf_counter() - start


def core_overhead(spark: Any, orders: Path, rounds: int) -> None:
    source = str(orders)
    timed(spark, by_hand, source)  # warm up (JIT, file listing)
    ratios = []
    for n in range(rounds):
        if n % 2:  # alternate which side runs first
            hand = timed(spark, by_hand, source)
            core = timed(spark, with_core, source)
        else:
            core = timed(spark, with_core, source)
            hand = timed(spark, by_hand, source)
        ratios.append(core / hand)
        print(f"  round {n + 1}: core {core:.2f}s  by hand {hand:.2f}s  ratio {core / hand:.3f}")
    print(f"core / hand-written (median of {rounds}): {statistics.median(ratios):.3f}  "
          "(target <= 1.10)")


def spark_pipelines_run(project: Any) -> float:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "SPARK_CONF_DIR": str(project.conf_dir), "PYSPARK_PYTHON": sys.executable,
           "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    start = time.perf_counter()
    out = subprocess.run([str(bin_dir / "spark-pipelines"), "run", "--spec", str(project.spec)],
                         capture_output=True, text=True, env=env, cwd=project.root)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"spark-pipelines failed:\n{out.stdout[-3000:]}{out.stderr[-3000:]}")
    return seconds


def runtimes(spark: Any, work: Path, raw: Path, rows: int) -> None:
    conf = {"raw": str(raw)}
    pipeline_file = ROOT / "examples/orders/pipeline.py"
    project = init_spark_pipeline(pipeline_file, work / "sdp", configuration=conf)
    runner = LocalRunner(warehouse=work / "local", spark=spark)
    for label in ("first run", "rerun, +1% input"):
        if label.startswith("rerun"):
            records = data.order_records(max(1, rows // 100), seed=99, first_id=rows + 1)
            data.write_orders(raw / "orders", records, files=1, prefix="more")
        start = time.perf_counter()
        runner.run(load_pipeline(pipeline_file, configuration=conf))
        local = time.perf_counter() - start
        sdp = spark_pipelines_run(project)
        print(f"  {label}: local runner {local:.1f}s  spark-pipelines {sdp:.1f}s  "
              f"ratio {sdp / local:.2f}")
    print("spark-pipelines / local runner includes spark-pipelines' own JVM and Spark Connect "
          "start-up; the local runner's session was already running.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-spark-pipelines", action="store_true")
    args = parser.parse_args()

    spark = local_session(master="local[2]")
    with tempfile.TemporaryDirectory(prefix="medallion-bench-") as tmp:
        work = Path(tmp)
        generated = data.generate(spark, work / "raw", args.rows, files=8)
        print(f"1. layer code fit for Spark Connect ({args.rows:,} orders)")
        core_overhead(spark, generated.orders, args.rounds)
        if not args.skip_spark_pipelines:
            print(f"2. spark-pipelines versus the local runner ({args.rows:,} orders)")
            runtimes(spark, work, work / "raw", args.rows)


if __name__ == "__main__":
    main()
