"""The small-data loop: the reference orders pipeline on 2,000 orders, medallion vs hand-written.

What a pipeline test pays: at this size Spark's per-job and Delta's per-commit costs are all
there is, so medallion's fixed costs show undiluted. Both sides (the hand-written side is
``bench/orders_pipeline.py``'s ``run_plain``) write the same eight tables in one SparkSession,
alternately, each on a fresh warehouse; the script prints the ratio per round and its median.

How the fixed cost is measured, without a SparkListener:

- **Spark jobs**: the JVM scheduler's next job id (``DAGScheduler.nextJobId``) read before and
  after each table (medallion's ``on_start`` / ``on_table`` callbacks) and around each whole
  run; it counts every job, streaming micro-batches' included.
- **Delta commits**: the ``_delta_log/*.json`` files of each table after the run.
- **Fixed cost per table**: (medallion's wall time - the hand-written wall time) / tables; and
  the part of medallion's run outside any table (catalog preparation, ownership checks, the
  event log write).

    python bench/small_pipeline.py [--rows 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from orders_pipeline import run_plain

import medallion
from medallion.backends.local import LocalRunner, local_session
from medallion.demo import data
from medallion.demo.orders import declare_orders_pipeline

TARGET = 1.20


def next_job_id(spark: Any) -> int:
    """The id the next Spark job gets: the count of jobs this SparkContext ran so far."""
    next_id = spark.sparkContext._jsc.sc().dagScheduler().nextJobId()
    return int(next_id if isinstance(next_id, int) else next_id.get())  # an AtomicInteger


def commits(table: Path) -> int:
    """Delta commits of a table folder (0 when it does not exist)."""
    return len(list((table / "_delta_log").glob("*.json")))


class Tables:
    """Per-table wall time and Spark jobs of one medallion run (from the runner's callbacks)."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark
        self.started: dict[str, tuple[float, int]] = {}
        self.seconds: dict[str, float] = {}
        self.jobs: dict[str, int] = {}

    def on_start(self, decl: Any) -> None:
        self.started[decl.name] = (time.perf_counter(), next_job_id(self.spark))

    def on_table(self, table: Any) -> None:
        if table.name not in self.started:
            return
        start, jobs = self.started[table.name]
        self.seconds[table.name] = time.perf_counter() - start
        self.jobs[table.name] = next_job_id(self.spark) - jobs


def run_medallion(spark: Any, raw: Path, warehouse: Path, tables: Tables | None = None) -> str:
    """Run the reference pipeline with medallion's local runner; return its schema."""
    with medallion.Pipeline("bench") as pipeline:
        declare_orders_pipeline(str(raw))
    LocalRunner(warehouse=warehouse, spark=spark,
                on_start=None if tables is None else tables.on_start,
                on_table=None if tables is None else tables.on_table).run(pipeline)
    return pipeline.schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="medallion-small-"))
    spark = local_session(app_name="medallion-small", quiet_startup_log=work / "spark.log")
    data.generate(spark, work / "raw", args.rows, files=2)
    # One untimed warm-up of each side: JIT, class loading, Delta's first-use costs.
    run_medallion(spark, work / "raw", work / "warm-m")
    run_plain(spark, work / "raw", work / "warm-p")

    ratios: list[float] = []
    walls: dict[str, list[float]] = defaultdict(list)
    jobs: dict[str, int] = {}
    per_table: dict[str, list[float]] = defaultdict(list)
    table_jobs: dict[str, int] = {}
    table_commits: dict[str, tuple[int, int]] = {}
    event_log_commits = 0
    outside: list[float] = []
    for n in range(args.rounds):
        times = {}
        for side in ("medallion", "plain")[:: 1 if n % 2 == 0 else -1]:
            warehouse = work / f"{side}-{n}"
            tables = Tables(spark)
            first_job = next_job_id(spark)
            start = time.perf_counter()
            if side == "medallion":
                schema = run_medallion(spark, work / "raw", warehouse, tables)
            else:
                run_plain(spark, work / "raw", warehouse)
            times[side] = time.perf_counter() - start
            walls[side].append(times[side])
            jobs[side] = next_job_id(spark) - first_job
            if side == "medallion":
                for name, seconds in tables.seconds.items():
                    per_table[name].append(seconds)
                table_jobs.update(tables.jobs)
                outside.append(times[side] - sum(tables.seconds.values()))
                m_wh = warehouse
            else:
                p_wh = warehouse
        names = {d.name for d in (m_wh / schema).iterdir()} | {
            d.name for d in (p_wh / "plain_db").iterdir()}
        table_commits = {name: (commits(m_wh / schema / name), commits(p_wh / "plain_db" / name))
                         for name in sorted(names) if name != "event_log"}
        event_log_commits = commits(m_wh / schema / "event_log")
        for wh in (m_wh, p_wh):
            shutil.rmtree(wh, ignore_errors=True)
        ratio = times["medallion"] / times["plain"]
        ratios.append(ratio)
        print(f"round {n + 1}: medallion {times['medallion']:.2f}s  plain {times['plain']:.2f}s"
              f"  medallion/plain {ratio:.3f}", flush=True)

    med_m = statistics.median(walls["medallion"])
    med_p = statistics.median(walls["plain"])
    n_tables = len(per_table)
    print("\nper table (medallion; median seconds, Spark jobs, Delta commits medallion/plain):")
    for name, (m_commits, p_commits) in table_commits.items():
        seconds = f"{statistics.median(per_table[name]):6.2f}s" if name in per_table else " " * 7
        run_jobs = f"{table_jobs[name]:3d} jobs" if name in table_jobs else " " * 8
        print(f"  {name:<24} {seconds}  {run_jobs}  {m_commits} / {p_commits} commits")
    print(f"  {'(outside any table)':<24} {statistics.median(outside):6.2f}s"
          f"  event_log {event_log_commits} commit(s)")
    total_m = sum(c[0] for c in table_commits.values()) + event_log_commits
    total_p = sum(c[1] for c in table_commits.values())
    print(f"Spark jobs per run: medallion {jobs['medallion']}, plain {jobs['plain']};"
          f" Delta commits per run: medallion {total_m}, plain {total_p}")
    print(f"medallion's fixed cost: {(med_m - med_p) / n_tables:.3f}s per table "
          f"({med_m:.2f}s - {med_p:.2f}s over {n_tables} tables)")
    ratio = statistics.median(ratios)
    print(f"medallion/plain wall-time ratio (median of {args.rounds}): {ratio:.3f}"
          f"  (target <= {TARGET:.2f}: {'met' if ratio <= TARGET else 'missed'};"
          f" rows {args.rows:,})")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
