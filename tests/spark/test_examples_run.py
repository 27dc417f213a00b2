"""The local example runs as shipped (`medallion run examples/orders/pipeline.py`, on its sample
input), and `medallion quality` / `report` read the same event log with delta-rs as with Spark.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from medallion.cli import main

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_orders_example_runs_as_shipped_and_quality_reads_the_log_without_spark(
    tmp_path: Path, medallion_spark: Any, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from medallion.eventlog import event_log
    from medallion.report import load_report
    from medallion.report.collect import EVENT_TYPES, SparkEvents, delta_rs_events

    monkeypatch.chdir(ROOT)  # as documented: from the repository root, no --conf
    warehouse = tmp_path / "warehouse"
    args = ["run", "examples/orders/pipeline.py", "--warehouse", str(warehouse),
            "--progress", "plain"]
    assert main(args) == 0
    out = capsys.readouterr().out
    # the shipped sample: 300 orders, bad rows included (the demo generator's shares)
    assert "[medallion] done bronze_orders rows_in=300 written=300 dropped=0 " in out
    assert "[medallion] done silver_orders rows_in=300 written=272 dropped=20 quarantined=20 " \
        in out
    assert "[medallion] done gold_customer_ltv rows_in=272 written=33 " in out
    assert out.split("data quality:\n")[1].splitlines()[:4] == [
        "  silver_orders.valid_order_id             drop  passed        291  failed         9  "
        "pass rate  97.00%",
        "  silver_orders.valid_amount               drop  passed        289  failed        11  "
        "pass rate  96.33%",
        "  silver_orders.valid_status               fail  passed        300  failed         0  "
        "pass rate 100.00%",
        "  silver_orders.valid_customer             warn  passed        295  failed         5  "
        "pass rate  98.33%",
    ]
    assert "pipeline 'pipeline' succeeded" in out

    assert main(args) == 0  # nothing new: a no-op update
    again = capsys.readouterr().out
    assert "[medallion] up_to_date bronze_orders rows_in=0 written=0 " in again
    assert re.search(r"\[medallion\] up_to_date silver_orders ", again)

    # delta-rs and Spark read the same rows
    fast = delta_rs_events(warehouse=warehouse, schema="medallion_db")
    assert fast is not None
    assert fast.engine == "deltalake"
    slow = SparkEvents(event_log(warehouse=warehouse, spark=medallion_spark))

    def key(e: Any) -> tuple[str, int]:
        return (e.update_id, e.seq_no)

    assert sorted(fast.read(EVENT_TYPES), key=key) == sorted(slow.read(EVENT_TYPES), key=key)
    assert load_report(warehouse=warehouse, source=fast) == load_report(
        warehouse=warehouse, spark=medallion_spark)

    # quality after the no-op rerun names the update that had rules
    assert main(["quality", "--warehouse", str(warehouse)]) == 0
    quality = capsys.readouterr()
    assert "starting Spark" not in quality.err
    starts = sorted(fast.read(("create_update",)), key=lambda e: e.timestamp)
    first, second = (e.update_id for e in starts)
    assert f"its latest update {second[:8]} (started " in quality.out
    assert f"Rules were last evaluated in update {first[:8]} (started " in quality.out
    assert main(["quality", "--warehouse", str(warehouse), "--all-updates"]) == 0
    all_updates = capsys.readouterr().out
    assert all_updates.splitlines()[1:] == [
        f"pipeline         {first[:8]}   silver_orders.valid_order_id                    291 "
        "        9    97.00%",
        f"pipeline         {first[:8]}   silver_orders.valid_amount                      289 "
        "       11    96.33%",
        f"pipeline         {first[:8]}   silver_orders.valid_status                      300 "
        "        0   100.00%",
        f"pipeline         {first[:8]}   silver_orders.valid_customer                    295 "
        "        5    98.33%",
    ]
    # without deltalake: the same answer, from Spark
    monkeypatch.setattr("medallion.report.collect.delta_rs_events", lambda **_: None)
    assert main(["quality", "--warehouse", str(warehouse), "--all-updates"]) == 0
    spark_run = capsys.readouterr()
    assert "starting Spark" in spark_run.err
    assert spark_run.out == all_updates
