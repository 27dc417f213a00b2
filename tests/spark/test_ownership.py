"""Two pipelines, one warehouse and schema: a table belongs to the pipeline that created it.

The second pipeline is refused before it writes anything (CLI exit status 2, the message names
the owner, the tables and both fixes); a full refresh of the table takes it over deliberately.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

import medallion
from medallion.backends.local import LocalRunner
from medallion.backends.local.warehouse import latest_version, table_properties
from medallion.cli import main
from medallion.loader import load_pipeline
from tests.spark.conftest import write_json_lines

pytestmark = [pytest.mark.spark, pytest.mark.slow]

FIRST = """
    name: shop
    configuration: {raw: RAW}
    tables:
      - {kind: bronze, name: bronze_orders, path: "${raw}/orders",
         schema: "order_id BIGINT, amount DOUBLE"}
      - kind: silver
        name: silver_orders
        source: bronze_orders
        incremental: false
        rules: [{name: positive, condition: "amount > 0", action: drop}]
        quarantine: true
"""
SECOND = """
    name: other_shop
    configuration: {raw: RAW}
    tables:
      - {kind: bronze, name: bronze_extra, path: "${raw}/orders",
         schema: "order_id BIGINT, amount DOUBLE"}
      - {kind: bronze, name: bronze_orders, path: "${raw}/orders",
         schema: "order_id BIGINT, amount DOUBLE"}
      - kind: gold
        name: silver_orders
        source: bronze_orders
        aggregations: [{func: count, alias: n}]
"""


def _owner(warehouse: Path, table: str) -> str | None:
    props = table_properties(warehouse / "medallion_db" / table)
    return None if props is None else props.get("medallion.pipeline")


def test_second_pipeline_is_refused_then_takes_over(
        tmp_path: Path, medallion_spark: Any, capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "raw"
    write_json_lines(raw / "orders", "a.json", [{"order_id": 1, "amount": 5.0},
                                                 {"order_id": 2, "amount": -1.0}])
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text(textwrap.dedent(FIRST))
    second.write_text(textwrap.dedent(SECOND))
    warehouse = tmp_path / "warehouse"
    common = ["--warehouse", str(warehouse), "--conf", f"raw={raw}", "--progress", "plain"]

    assert main(["run", str(first), *common]) == 0
    # Every table records its pipeline: created by an append (bronze), by a view's first
    # write (silver) and the quarantine table.
    for table in ("bronze_orders", "silver_orders", "silver_orders_quarantine"):
        assert _owner(warehouse, table) == "shop", table
    versions = {t: latest_version(warehouse / "medallion_db" / t)
                for t in ("bronze_orders", "silver_orders")}
    capsys.readouterr()

    assert main(["run", str(second), *common]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        f"error: pipeline 'other_shop' would write tables 'bronze_orders', 'silver_orders' of "
        f"schema medallion_db in {warehouse}, which pipeline 'shop' owns (table property "
        "medallion.pipeline); a table is written by one pipeline only. Give pipeline "
        "'other_shop' another schema (schema: in its file, or Pipeline(schema=...)), or take "
        "the tables over deliberately with --full-refresh bronze_orders silver_orders, which "
        "recomputes them from scratch")
    # Nothing was written: not the other pipeline's own new table, not the owner's tables.
    assert not (warehouse / "medallion_db" / "bronze_extra").exists()
    assert {t: latest_version(warehouse / "medallion_db" / t) for t in versions} == versions

    # Taking over one table is not enough: the other is still refused, by name.
    pipeline = load_pipeline(str(second), configuration={"raw": str(raw)})
    assert pipeline.name == "other_shop"
    runner = LocalRunner(warehouse=warehouse, spark=medallion_spark)
    with pytest.raises(medallion.TableOwnershipError) as refused:
        runner.run(pipeline, full_refresh=["silver_orders"])
    assert refused.value.tables == ("bronze_orders",)
    assert refused.value.owner == "shop"

    result = runner.run(pipeline, full_refresh=["bronze_orders", "silver_orders"])
    assert result.tables["silver_orders"].rows_written == 1
    assert _owner(warehouse, "bronze_orders") == "other_shop"
    assert _owner(warehouse, "silver_orders") == "other_shop"
    assert _owner(warehouse, "bronze_extra") == "other_shop"

    # A table without an owner (written before owners were recorded) is adopted by the next
    # pipeline writing it.
    extra = (warehouse / "medallion_db" / "bronze_extra").as_uri()
    medallion_spark.sql(f"ALTER TABLE delta.`{extra}` UNSET TBLPROPERTIES ('medallion.pipeline')")
    assert _owner(warehouse, "bronze_extra") is None
    runner.run(pipeline)
    assert _owner(warehouse, "bronze_extra") == "other_shop"
