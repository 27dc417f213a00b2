"""Bronze ingestion: medallion's Auto Loader semantics versus a hand-written file stream.

(a) First run: ingest N JSON records in F files with ``bronze_autoloader`` (schema inferred and
    persisted, rescued data and corrupt record columns, file path and ingestion time) versus a
    hand-written ``spark.read.json`` inference + ``spark.readStream.json → Delta`` with the same
    options and metadata columns. The two run alternately in one SparkSession, each on a fresh
    warehouse; the script prints the ratio medallion/plain per round and the median.
    Target: <= 1.10.
(b) Rerun: after medallion's first run, add files holding 1% more records and run again; prints
    rerun/first-run wall time (Spark start-up excluded from both). Target: <= 0.10.

    python bench/bronze_autoloader.py [--rows 1000000] [--files 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
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


def timed(fn: Any, *args: Any) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


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

        ratios = []
        for n in range(args.rounds):
            order = [("plain", run_plain), ("medallion", run_medallion)]
            if n % 2:
                order.reverse()
            seconds = {name: timed(fn, spark, raw, root / f"{name}-{n}") for name, fn in order}
            ratio = seconds["medallion"] / seconds["plain"]
            ratios.append(ratio)
            print(f"round {n + 1}: plain {seconds['plain']:.2f}s, medallion "
                  f"{seconds['medallion']:.2f}s, ratio {ratio:.3f}")
        print(f"(a) first run, medallion / plain: median ratio {statistics.median(ratios):.3f} "
              "(target <= 1.10)")

        warehouse = root / "rerun"
        first = timed(run_medallion, spark, raw, warehouse)
        data.write_orders(raw, records[args.rows:], files=1, prefix="late")
        rerun = timed(run_medallion, spark, raw, warehouse)
        print(f"(b) rerun with 1% more records: first {first:.2f}s, rerun {rerun:.2f}s, "
              f"ratio {rerun / first:.3f} (target <= 0.10)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
