"""Time `import medallion` in fresh interpreters (target < 0.3 s), best and median of N.

    python bench/import_time.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CODE = "import time; t = time.perf_counter(); import medallion; print(time.perf_counter() - t)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    times = [
        float(subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                             check=True).stdout)
        for _ in range(args.runs)
    ]
    print(f"import medallion: best {min(times) * 1000:.0f} ms, median "
          f"{statistics.median(times) * 1000:.0f} ms over {args.runs} runs (target < 300 ms)")


if __name__ == "__main__":
    main()
