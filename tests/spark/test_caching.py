"""Every row set the runner reads twice is kept through one function, at one storage level.

Silver with a quarantine keeps its micro-batch for the kept rows and the quarantine, a MERGE
keeps its source. The level was chosen by measurement (``medallion.backends.local.caching``);
this test pins that every cache a run makes goes through it, and that the results are exact.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality

from medallion.backends.local import LocalRunner
from medallion.loader import load_pipeline
from tests.spark.conftest import write_json_lines

pytestmark = pytest.mark.spark

PIPELINE = """
    name: shop
    configuration: {raw: RAW}
    tables:
      - {kind: bronze, name: bronze_orders, path: "${raw}/orders",
         schema: "order_id BIGINT, amount DOUBLE, version INT"}
      - kind: silver
        name: silver_orders
        source: bronze_orders
        rules: [{name: positive, condition: "amount > 0", action: drop}]
        quarantine: true
      - kind: silver
        name: latest_orders
        source: bronze_orders
        dedup_keys: [order_id]
        dedup_order_by: version
"""


def test_every_cache_of_a_run_has_the_runners_level_and_the_rows_are_exact(
        tmp_path: Path, medallion_spark: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyspark import StorageLevel

    from medallion.backends.local.caching import LEVEL

    spark = medallion_spark
    levels: list[StorageLevel] = []
    frame = type(spark.range(1))
    persist = frame.persist

    def recording(self: Any, storageLevel: StorageLevel = StorageLevel.MEMORY_ONLY) -> Any:
        levels.append(storageLevel)
        return persist(self, storageLevel)

    monkeypatch.setattr(frame, "persist", recording)
    raw = tmp_path / "raw"
    write_json_lines(raw / "orders", "a.json", [
        {"order_id": 1, "amount": 5.0, "version": 1},
        {"order_id": 2, "amount": -1.0, "version": 1},
    ])
    spec = tmp_path / "shop.yaml"
    spec.write_text(textwrap.dedent(PIPELINE))
    warehouse = tmp_path / "warehouse"

    def run() -> None:
        result = LocalRunner(warehouse=warehouse, spark=spark).run(
            load_pipeline(str(spec), configuration={"raw": str(raw)}))
        assert result.ok

    run()
    # The second run MERGEs a newer version of order 1 into latest_orders.
    write_json_lines(raw / "orders", "b.json", [{"order_id": 1, "amount": 6.0, "version": 2}])
    run()

    assert len(levels) >= 3  # quarantine batches of both runs, the MERGE's source
    assert set(map(str, levels)) == {str(getattr(StorageLevel, LEVEL))}
    schema = "order_id BIGINT, amount DOUBLE, version INT"
    assert_df_equality(
        spark.read.table("medallion_db.silver_orders").select("order_id", "amount", "version"),
        spark.createDataFrame([(1, 5.0, 1), (1, 6.0, 2)], schema),
        ignore_row_order=True, ignore_nullable=True)
    assert [r.order_id for r in spark.read.table(
        "medallion_db.silver_orders_quarantine").collect()] == [2]
    assert_df_equality(
        spark.read.table("medallion_db.latest_orders").select("order_id", "amount", "version"),
        spark.createDataFrame([(1, 6.0, 2), (2, -1.0, 1)], schema),
        ignore_row_order=True, ignore_nullable=True)
