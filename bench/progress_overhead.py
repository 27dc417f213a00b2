"""The CLI's progress display versus none, on the reference orders pipeline, in one session.

Each round runs the whole pipeline three times on fresh warehouses over the same generated
input: with no display, with the plain one-line-per-event display, and with the live view
(drawn to an in-memory terminal, its clock redrawing every 0.25 s), in an order that rotates
each round. Prints the wall-time ratios
plain/none and live/none per round and their medians. Target: <= 1.02 for both.

    python bench/progress_overhead.py [--rows 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import medallion
from medallion.backends.local import LocalRunner, local_session
from medallion.demo import data
from medallion.demo.orders import declare_orders_pipeline
from medallion.progress import LiveProgress, PlainProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(spark: Any, raw: Path, warehouse: Path, display: str) -> float:
    with medallion.Pipeline("bench") as pipeline:
        declare_orders_pipeline(str(raw))
    progress: PlainProgress | LiveProgress | None = None
    if display == "plain":
        progress = PlainProgress(io.StringIO())
    elif display == "live":
        progress = LiveProgress(Terminal(), interval=0.25)
    runner = LocalRunner(warehouse=warehouse, spark=spark,
                         on_table=progress.table_done if progress else None,
                         on_start=progress.table_started if progress else None)
    start = time.perf_counter()
    if progress is not None:
        progress.start(pipeline.name, [d.name for d in pipeline.graph().order])
    try:
        result = runner.run(pipeline)
    finally:
        if progress is not None:
            progress.close()
    if progress is not None:
        progress.finish(result)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="medallion-bench-progress-"))
    spark = local_session(quiet_startup_log=work / "spark.log")
    data.generate(spark, work / "raw", args.rows)
    run(spark, work / "raw", work / "warmup", "none")  # JIT, caches, first Delta reads
    plain_ratios, live_ratios = [], []
    for round_ in range(args.rounds):
        seconds = {}
        displays = ["none", "plain", "live"]
        # rotate the order each round, so no display always runs first (or last)
        for display in displays[round_ % 3:] + displays[:round_ % 3]:
            warehouse = work / f"wh-{round_}-{display}"
            seconds[display] = run(spark, work / "raw", warehouse, display)
            shutil.rmtree(warehouse, ignore_errors=True)
        plain_ratios.append(seconds["plain"] / seconds["none"])
        live_ratios.append(seconds["live"] / seconds["none"])
        print(f"round {round_ + 1}: none {seconds['none']:.1f}s, plain {seconds['plain']:.1f}s, "
              f"live {seconds['live']:.1f}s; plain/none {plain_ratios[-1]:.3f}, "
              f"live/none {live_ratios[-1]:.3f}", flush=True)
    print(f"median over {args.rounds} round(s) of {args.rows:,} rows: plain/none "
          f"{statistics.median(plain_ratios):.3f}, live/none {statistics.median(live_ratios):.3f} "
          "(target <= 1.02)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
