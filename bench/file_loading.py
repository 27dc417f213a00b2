"""Loading the reference pipeline from YAML versus from Python, in one process.

Both load examples/orders/pipeline.{yaml,py} into a fresh Pipeline (parse or run, substitute
configuration, validate the seven specs, check the graph), alternately, N times each. Prints
the mean milliseconds of each and the ratio YAML / Python. Target: YAML within 3x of Python and
under 50 ms per load.

    python bench/file_loading.py [--runs 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from medallion.loader import load_pipeline

HERE = Path(__file__).resolve().parent.parent / "examples" / "orders"


def timed(path: Path) -> float:
    start = time.perf_counter()
    load_pipeline(path, configuration={"raw": "/data/raw"}).validate()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    timed(HERE / "pipeline.yaml")  # warm caches (imports, the JSON-able spec kinds)
    timed(HERE / "pipeline.py")
    yaml_times, py_times = [], []
    for _ in range(args.runs):
        yaml_times.append(timed(HERE / "pipeline.yaml"))
        py_times.append(timed(HERE / "pipeline.py"))
    y, p = statistics.mean(yaml_times) * 1000, statistics.mean(py_times) * 1000
    print(f"load pipeline.yaml: {y:.1f} ms, pipeline.py: {p:.1f} ms (mean of {args.runs}); "
          f"ratio yaml/python {y / p:.2f} (target <= 3, and yaml < 50 ms)")


if __name__ == "__main__":
    main()
