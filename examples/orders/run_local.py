"""Generate sample orders and run examples/orders/pipeline.py locally, then query the result.

    python examples/orders/run_local.py [--rows 5000] [--warehouse DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from medallion.backends.local import LocalRunner
from medallion.demo import data
from medallion.loader import load_pipeline

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--warehouse", default=None)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="medallion-orders-"))
    warehouse = args.warehouse or str(work / "warehouse")
    runner = LocalRunner(warehouse=warehouse, quiet=True)
    data.generate(runner.spark, work / "raw", args.rows)

    pipeline = load_pipeline(HERE / "pipeline.py", configuration={"raw": str(work / "raw")})
    result = runner.run(pipeline)
    print(result.summary())

    # The tables are registered in the session catalog: query them with SQL.
    runner.spark.sql(
        "SELECT date, region, order_count, total_sales FROM medallion_db.gold_daily_sales "
        "ORDER BY date, region LIMIT 5"
    ).show()


if __name__ == "__main__":
    main()
