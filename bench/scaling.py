"""How the reference pipeline's run time grows with its input: 10M orders against 1M.

A runner whose cost is linear in the rows takes at most ten times as long on ten times the
orders (its fixed costs make the ratio smaller still); a step that grows faster (a shuffle that
spills, a driver-side collect, a plan that re-reads its input) shows as a ratio above 10.
Target: <= 11. Both sizes run in one SparkSession after an untimed warm-up, each on a fresh
warehouse, the smaller first; with ``--with-plain`` the hand-written pipeline of
``bench/orders_pipeline.py`` runs at both sizes too, for comparison.

    python bench/scaling.py [--small 1000000] [--large 10000000] [--with-plain]
                            [--driver-memory 1g]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from orders_pipeline import run_medallion, run_plain

from medallion.backends.local import local_session
from medallion.demo import data

TARGET = 11.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=1_000_000)
    parser.add_argument("--large", type=int, default=10_000_000)
    parser.add_argument("--with-plain", action="store_true")
    parser.add_argument("--driver-memory", default=None,
                        help="the driver JVM's heap (default: medallion's, a quarter of the "
                             "machine's memory between 1 and 8 GiB)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="medallion-scaling-"))
    spark = local_session(app_name="medallion-scaling", quiet_startup_log=work / "spark.log",
                          conf={} if args.driver_memory is None
                          else {"spark.driver.memory": args.driver_memory})
    heap = spark.sparkContext.getConf().get("spark.driver.memory", "1g (Spark's default)")
    print(f"driver heap: {heap}", flush=True)
    sides = [("medallion", run_medallion)] + ([("plain", run_plain)] if args.with_plain else [])
    warm = data.generate(spark, work / "warm-raw", 2000, files=2)
    for side, run in sides:
        run(spark, warm.root, work / f"warm-{side}")
    seconds: dict[tuple[str, int], float] = {}
    for rows in (args.small, args.large):
        print(f"generating {rows:,} orders...", flush=True)
        raw = data.generate(spark, work / f"raw-{rows}", rows, files=20).root
        for side, run in sides:
            warehouse = work / f"{side}-{rows}"
            start = time.perf_counter()
            run(spark, raw, warehouse)
            seconds[side, rows] = time.perf_counter() - start
            shutil.rmtree(warehouse, ignore_errors=True)
            print(f"  {side} {rows:,} orders: {seconds[side, rows]:.1f}s", flush=True)
        shutil.rmtree(raw, ignore_errors=True)
    factor = args.large / args.small
    for side, _ in sides:
        ratio = seconds[side, args.large] / seconds[side, args.small]
        verdict = f"target <= {TARGET:g}: {'met' if ratio <= TARGET else 'missed'}"
        print(f"{side}: {args.large:,} / {args.small:,} orders ({factor:g}x the rows) took "
              f"{ratio:.2f}x the time" + (f"  ({verdict})" if side == "medallion" else ""))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
