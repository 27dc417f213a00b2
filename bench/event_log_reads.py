"""`medallion quality` / `report` answer time: the event log read with delta-rs versus Spark.

Builds a warehouse by running examples/orders/pipeline.py on its sample input ``--updates``
times (the first ingests, the rest find nothing new), then times each command in a fresh
process, as a user runs it: once with ``deltalake`` importable (no JVM starts) and once with it
blocked (the Spark fallback: a local session starts, then queries the Delta table). Prints the
median seconds of each and the ratio Spark / delta-rs. Target: delta-rs answers in about a
second.

    python bench/event_log_reads.py [--updates 3] [--rounds 3] [--warehouse DIR]
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

ROOT = Path(__file__).resolve().parents[1]
#: Run the CLI in a fresh interpreter; BLOCK=1 makes `import deltalake` fail (the fallback).
CHILD = """
import sys
if {block}:
    sys.modules["deltalake"] = None
from medallion.cli import main
sys.exit(main({argv!r}))
"""


def timed(argv: list[str], *, block: bool) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", CHILD.format(block=block, argv=argv)], cwd=ROOT,
                   env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def build(warehouse: Path, updates: int) -> None:
    from medallion.cli import main

    os.chdir(ROOT)
    for _ in range(updates):
        assert main(["run", "examples/orders/pipeline.py", "--warehouse", str(warehouse),
                     "--progress", "plain"]) == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warehouse", default=None,
                        help="an existing warehouse to read (default: build one)")
    args = parser.parse_args()
    if args.warehouse is None:
        warehouse = Path(tempfile.mkdtemp(prefix="medallion-bench-")) / "warehouse"
        build(warehouse, args.updates)
    else:
        warehouse = Path(args.warehouse)
    report = str(warehouse.parent / "report.html")
    commands = {
        "quality": ["quality", "--warehouse", str(warehouse), "--all-updates"],
        "report": ["report", "--warehouse", str(warehouse), "--output", report],
    }
    for name, argv in commands.items():
        fast, slow = [], []
        for _ in range(args.rounds):  # alternate, so machine load hits both alike
            fast.append(timed(argv, block=False))
            slow.append(timed(argv, block=True))
        f, s = statistics.median(fast), statistics.median(slow)
        print(f"medallion {name}: delta-rs {f:.2f}s, Spark {s:.2f}s (median of "
              f"{args.rounds}); Spark / delta-rs = {s / f:.1f}x")


if __name__ == "__main__":
    main()
