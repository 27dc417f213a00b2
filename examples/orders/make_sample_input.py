"""Regenerate examples/orders/raw: the sample input that `medallion run` reads by default.

    python examples/orders/make_sample_input.py

The demo's generator (`medallion.demo.data`, the same as `medallion demo`) with 300 orders in
two JSON-lines files and their 30 customers in one parquet file. The orders files are
byte-identical on every run (fixed seed); tests/unit/test_examples.py checks them.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from medallion.demo import data

RAW = Path(__file__).resolve().parent / "raw"
ROWS = 300
FILES = 2


def main() -> None:
    from medallion.backends.local.session import local_session

    if RAW.exists():
        shutil.rmtree(RAW)
    data.write_orders(RAW / "orders", data.order_records(ROWS), files=FILES)
    spark = local_session()
    with tempfile.TemporaryDirectory() as tmp:
        written = Path(tmp) / "customers"
        data.write_customers(spark, written, data.customer_records(data.customer_count(ROWS)))
        (part,) = written.glob("part-*.parquet")  # only the data file: no _SUCCESS, no .crc
        (RAW / "customers").mkdir()
        shutil.copyfile(part, RAW / "customers" / "customers.parquet")
    print(f"wrote {ROWS} orders and {data.customer_count(ROWS)} customers under {RAW}")


if __name__ == "__main__":
    main()
