"""Bronze ingestion: medallion's Auto Loader semantics versus a hand-written file stream.

(a) First run: ingest N JSON records in F files with ``bronze_autoloader`` (schema inferred and
    persisted, rescued data and corrupt record columns, file path and ingestion time) versus a
    hand-written ``spark.read.json`` inference + ``spark.readStream.json → Delta`` with the same
    options and metadata columns. The two run alternately in one SparkSession, each on a fresh
    warehouse; the script prints the ratio medallion/plain per round and the median.
    Target: <= 1.10.
(b) Rerun: after medallion's first run, add files holding 1% more records and run again; prints
    rerun/first-run wall time (Spark start-up excluded from both). Target: <= 0.25. Printed
    beside it: the same without medallion's event log (one more Delta commit per run), and for
    the plain stream, the floor any Structured Streaming run has.
(c) Rerun with no new files: medallion's wall time, the streaming queries it started and the
    Delta commits on the data table (target: none of either), beside the plain stream's rerun.

    python bench/bronze_autoloader.py [--rows 1000000] [--files 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import medallion
from medallion.backends.local import LocalRunner, local_session
from medallion.demo import data

METADATA = {"source_file": "file_path", "ingestion_timestamp": "ingestion_time"}


def pipeline(raw: Path) -> medallion.Pipeline:
    with medallion.Pipeline("bench") as p:
        medallion.bronze_autoloader(name="bronze_orders", path=str(raw), format="json",
                                    metadata_columns=METADATA)
    return p


def run_medallion(spark: Any, raw: Path, warehouse: Path) -> None:
    LocalRunner(warehouse=warehouse, spark=spark).run(pipeline(raw))


def run_medallion_no_event_log(spark: Any, raw: Path, warehouse: Path) -> None:
    LocalRunner(warehouse=warehouse, spark=spark, event_log=None).run(pipeline(raw))


def run_plain(spark: Any, raw: Path, warehouse: Path) -> None:
    """What a competent engineer writes by hand: infer once, then a file stream into Delta."""
    from pyspark.sql import functions as F

    schema = spark.read.option("primitivesAsString", "true").json(str(raw)).schema
    stream = (
        spark.readStream.schema(schema).option("maxFilesPerTrigger", "1000").json(str(raw))
        .withColumn("source_file", F.col("_metadata.file_path"))
        .withColumn("ingestion_timestamp", F.current_timestamp())
    )
    (stream.writeStream.format("delta").trigger(availableNow=True)
     .option("checkpointLocation", str(warehouse / "_cp"))
     .start(str(warehouse / "bronze_orders")).awaitTermination())


def cpu_seconds(spark: Any) -> float:
    """CPU time used so far by this Python process and the JVM (0 where /proc is missing)."""
    used = time.process_time()
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return used
    return used + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(fn: Any, spark: Any, *args: Any) -> tuple[float, float]:
    """Wall and CPU seconds of ``fn(spark, *args)``."""
    cpu = cpu_seconds(spark)
    start = time.perf_counter()
    fn(spark, *args)
    return time.perf_counter() - start, cpu_seconds(spark) - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    spark = local_session()
    root = Path(tempfile.mkdtemp(prefix="medallion-bench-bronze-"))
    try:
        raw = root / "raw"
        records = data.order_records(args.rows + args.rows // 100)
        data.write_orders(raw, records[: args.rows], files=args.files)
        print(f"input: {args.rows:,} JSON records in {args.files} files; "
              f"{args.rounds} round(s) after a warm-up")
        # warm-up: JIT and Delta's first-use costs, measured by neither side
        run_plain(spark, raw, root / "warm-plain")
        run_medallion(spark, raw, root / "warm-medallion")

        ratios, cpu_ratios = [], []
        for n in range(args.rounds):
            order = [("plain", run_plain), ("medallion", run_medallion)]
            if n % 2:
                order.reverse()
            took = {name: timed(fn, spark, raw, root / f"{name}-{n}") for name, fn in order}
            ratios.append(took["medallion"][0] / took["plain"][0])
            cpu_ratios.append(took["medallion"][1] / took["plain"][1])
            print(f"round {n + 1}: plain {took['plain'][0]:.2f}s (cpu {took['plain'][1]:.1f}s), "
                  f"medallion {took['medallion'][0]:.2f}s (cpu {took['medallion'][1]:.1f}s), "
                  f"ratio {ratios[-1]:.3f} (cpu {cpu_ratios[-1]:.3f})")
        print(f"(a) first run, medallion / plain: median ratio {statistics.median(ratios):.3f} "
              f"(cpu {statistics.median(cpu_ratios):.3f}) (target <= 1.10)")

        # (b) the same late file added to medallion warehouses and to a plain one
        sides = {"medallion": run_medallion, "medallion without event log":
                 run_medallion_no_event_log, "plain stream": run_plain}
        first = {name: timed(fn, spark, raw, root / f"rerun-{n}")[0]
                 for n, (name, fn) in enumerate(sides.items())}
        data.write_orders(raw, records[args.rows:], files=1, prefix="late")
        rerun = {name: timed(fn, spark, raw, root / f"rerun-{n}")[0]
                 for n, (name, fn) in enumerate(sides.items())}
        for name in sides:
            print(f"(b) rerun with 1% more records, {name}: first {first[name]:.2f}s, rerun "
                  f"{rerun[name]:.2f}s, ratio {rerun[name] / first[name]:.3f}"
                  + (" (target <= 0.25)" if name == "medallion" else ""))

        # (c) nothing new: the same warehouses once more
        from medallion.backends.local.flows import base

        started: list[str] = []
        real = base.run_available_now

        def counting(df: Any, **kwargs: Any) -> int:
            started.append(kwargs["query_name"])
            return real(df, **kwargs)

        base.run_available_now = counting  # type: ignore[assignment]
        table = root / "rerun-0" / "medallion_db" / "bronze_orders"
        before = spark.sql(f"DESCRIBE HISTORY delta.`{table}`").count()
        idle = timed(run_medallion, spark, raw, root / "rerun-0")[0]
        commits = spark.sql(f"DESCRIBE HISTORY delta.`{table}`").count() - before
        base.run_available_now = real  # type: ignore[assignment]
        plain_idle = timed(run_plain, spark, raw, root / "rerun-2")[0]
        print(f"(c) rerun with no new files: medallion {idle:.2f}s, {len(started)} streaming "
              f"quer{'y' if len(started) == 1 else 'ies'} started, {commits} Delta commit(s) on "
              f"bronze_orders (target: 0 and 0); plain stream {plain_idle:.2f}s")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
