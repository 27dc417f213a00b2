"""Child process of the SIGKILL test: runs one bronze table, optionally pausing after a commit.

    python bronze_kill_child.py RAW WAREHOUSE [--hold-after-commit MARKER_DIR]

With ``--hold-after-commit`` the first micro-batch write of this process, once committed to
Delta, writes ``MARKER_DIR/committed`` and sleeps: the test kills the process in that window,
after the Delta commit and before Spark records the batch in its checkpoint. The pause is set up
here, in the test, by wrapping the write function; the library has no such hook.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import medallion
from medallion.backends.local import LocalRunner
from medallion.backends.local import delta as delta_module
from medallion.testing.session import spark_for_tests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("raw")
    parser.add_argument("warehouse")
    parser.add_argument("--hold-after-commit")
    args = parser.parse_args()
    if args.hold_after_commit:
        marker = Path(args.hold_after_commit) / "committed"
        original = delta_module.append

        def append_then_hold(*a: Any, **kw: Any) -> None:
            original(*a, **kw)
            marker.write_text(str(kw.get("txn")))
            time.sleep(600)

        delta_module.append = append_then_hold  # type: ignore[assignment]
    with medallion.Pipeline("killed") as pipeline:
        medallion.bronze_autoloader(name="bronze_events", path=args.raw,
                                    max_files_per_trigger=1)
    LocalRunner(warehouse=args.warehouse, spark=spark_for_tests("kill-child")).run(pipeline)
    print("RUN COMPLETED", flush=True)


if __name__ == "__main__":
    main()
