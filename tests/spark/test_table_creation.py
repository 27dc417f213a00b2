"""A table is created with its settings and its first rows in one Delta commit.

Creating a table first and writing into it costs a commit more, and every later reader of the
table one more snapshot: on small data, the fixed cost that dominates a pipeline test. These
tests read the Delta log itself: one commit, ``CREATE TABLE AS SELECT``, carrying the comment,
the properties, the owning pipeline, the clustering and the idempotent transaction.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality

from medallion.backends.local import LocalRunner
from medallion.backends.local.delta import Target, append, create, create_fills_observations
from medallion.loader import load_pipeline
from tests.spark.conftest import write_json_lines

pytestmark = pytest.mark.spark

PIPELINE = """
    name: shop
    configuration: {raw: RAW}
    tables:
      - {kind: bronze, name: bronze_orders, path: "${raw}/orders",
         schema: "order_id BIGINT, region STRING, amount DOUBLE"}
      - kind: silver
        name: silver_orders
        comment: Valid orders
        source: bronze_orders
        incremental: false
        rules: [{name: positive, condition: "amount > 0", action: drop}]
        quarantine: true
        change_data_feed: true
        table_properties: {quality: silver}
        cluster_by: [region]
      - kind: gold
        name: gold_sales
        comment: Sales per region
        source: silver_orders
        group_by: [region]
        aggregations: [{func: sum, column: amount, alias: total}]
        cluster_by: [region]
"""


def _log(table: Path) -> list[dict[str, Any]]:
    """Every commit of the table: its actions by kind (metaData, commitInfo, txn, ...)."""
    commits = []
    for path in sorted((table / "_delta_log").glob("*.json")):
        actions: dict[str, Any] = {}
        for line in path.read_text().splitlines():
            for kind, action in json.loads(line).items():
                actions.setdefault(kind, []).append(action)
        commits.append(actions)
    return commits


def _clustering(commit: dict[str, Any]) -> list[list[str]]:
    for domain in commit.get("domainMetadata", []):
        if domain["domain"] == "delta.clustering":
            return list(json.loads(domain["configuration"])["clusteringColumns"])
    return []


def test_tables_are_created_with_their_rows_in_one_commit(
        tmp_path: Path, medallion_spark: Any) -> None:
    raw = tmp_path / "raw"
    write_json_lines(raw / "orders", "a.json", [
        {"order_id": 1, "region": "EU", "amount": 5.0},
        {"order_id": 2, "region": "EU", "amount": -1.0},
        {"order_id": 3, "region": "US", "amount": 7.5},
    ])
    spec = tmp_path / "shop.yaml"
    spec.write_text(textwrap.dedent(PIPELINE))
    warehouse = tmp_path / "warehouse"
    result = LocalRunner(warehouse=warehouse, spark=medallion_spark).run(
        load_pipeline(str(spec), configuration={"raw": str(raw)}))
    assert result.ok
    db = warehouse / "medallion_db"

    expected = {
        "silver_orders": ("Valid orders", {"delta.enableChangeDataFeed": "true",
                                           "quality": "silver"}, [["region"]]),
        "silver_orders_quarantine": (
            "Rows of silver_orders that failed a drop rule, with the rules they failed", {}, []),
        "gold_sales": ("Sales per region", {}, [["region"]]),
    }
    for name, (comment, properties, clustering) in expected.items():
        log = _log(db / name)
        assert len(log) == 1, name
        (commit,) = log
        assert commit["commitInfo"][0]["operation"] == "CREATE TABLE AS SELECT", name
        metadata = commit["metaData"][0]
        assert metadata.get("description") == comment, name
        assert metadata["configuration"] == {**properties, "medallion.pipeline": "shop"}, name
        assert _clustering(commit) == clustering, name

    spark = medallion_spark
    assert_df_equality(
        spark.read.table("medallion_db.silver_orders").select("order_id", "region", "amount"),
        spark.createDataFrame([(1, "EU", 5.0), (3, "US", 7.5)],
                              "order_id BIGINT, region STRING, amount DOUBLE"),
        ignore_row_order=True, ignore_nullable=True)
    assert_df_equality(
        spark.read.table("medallion_db.gold_sales"),
        spark.createDataFrame([("EU", 5.0), ("US", 7.5)], "region STRING, total DOUBLE"),
        ignore_row_order=True, ignore_nullable=True)
    assert [r.order_id for r in spark.read.table(
        "medallion_db.silver_orders_quarantine").collect()] == [2]
    # The counts are still exact (on Spark 4 the view's source is counted apart).
    assert result.tables["gold_sales"].rows_in == 2
    assert result.tables["silver_orders"].rows_in == 3

    # A clustered table's refresh under the same definition replaces its rows in one WRITE
    # commit that keeps its settings and clustering (replaceWhere 'true'): neither a replace,
    # which recomputes the table's state twice more, nor an overwrite, which would drop the
    # clustering and take a second commit to restore it.
    write_json_lines(raw / "orders", "b.json", [{"order_id": 4, "region": "US", "amount": 1.5}])
    second = LocalRunner(warehouse=warehouse, spark=medallion_spark).run(
        load_pipeline(str(spec), configuration={"raw": str(raw)}))
    assert second.ok
    for name in ("silver_orders", "gold_sales"):
        comment, properties, clustering = expected[name]
        log = _log(db / name)
        assert len(log) == 2, name
        info = log[1]["commitInfo"][0]
        assert (info["operation"], info["operationParameters"]) == (
            "WRITE", {"mode": "Overwrite", "partitionBy": "[]", "predicate": "true"}), name
        detail = spark.sql(f"DESCRIBE DETAIL medallion_db.{name}").first()
        assert (detail.description, [[c] for c in detail.clusteringColumns]) == (
            comment, clustering), name
        assert detail.properties == {**properties, "medallion.pipeline": "shop"}, name
    assert sorted(map(tuple, spark.read.table("medallion_db.gold_sales").collect())) == [
        ("EU", 5.0), ("US", 9.0)]
    assert (second.tables["gold_sales"].rows_in, second.tables["silver_orders"].rows_in) == (
        3, 4)

    # A changed definition (here the comments) replaces the table with its new settings, in
    # one commit on Spark 4 (Spark 3.5's Delta refuses the replace: an overwrite, then the
    # clustering set again).
    spec.write_text(spec.read_text().replace("Valid orders", "Valid orders v2").replace(
        "Sales per region", "Sales per region v2"))
    third = LocalRunner(warehouse=warehouse, spark=medallion_spark).run(
        load_pipeline(str(spec), configuration={"raw": str(raw)}))
    assert third.ok
    replaced = not spark.version.startswith("3.")
    for name in ("silver_orders", "gold_sales"):
        comment, properties, clustering = expected[name]
        log = _log(db / name)
        if not replaced:
            assert [c["commitInfo"][0]["operation"] for c in log[2:]] == [
                "WRITE", "CLUSTER BY"], name
            assert _clustering(log[3]) == clustering, name
            continue
        assert len(log) == 3, name
        commit = log[2]
        assert commit["commitInfo"][0]["operation"] == "CREATE OR REPLACE TABLE AS SELECT", name
        metadata = commit["metaData"][0]
        assert metadata.get("description") == f"{comment} v2", name
        assert metadata["configuration"] == {**properties, "medallion.pipeline": "shop"}, name
        assert _clustering(commit) == clustering, name
    assert sorted(map(tuple, spark.read.table("medallion_db.gold_sales").collect())) == [
        ("EU", 5.0), ("US", 9.0)]
    assert (third.tables["gold_sales"].rows_in, third.tables["silver_orders"].rows_in) == (
        3, 4)


def test_creation_carries_the_idempotent_transaction(tmp_path: Path, medallion_spark: Any) -> None:
    spark = medallion_spark
    spark.sql("CREATE SCHEMA IF NOT EXISTS creation_db")
    target = Target("creation_db", "t", tmp_path / "t", comment="c",
                    properties={"quality": "bronze"}, owner="p")
    rows = spark.createDataFrame([(1, "a"), (2, "b")], "id BIGINT, v STRING")
    assert create(rows, target, txn=("app", 4))
    (commit,) = _log(target.path)
    assert commit["txn"][0]["appId"] == "app"
    assert commit["txn"][0]["version"] == 4
    # The same batch replayed after a crash is skipped by Delta: nothing more is written.
    assert not append(rows, target, txn=("app", 4))
    assert append(rows.limit(1), target, txn=("app", 5))
    assert_df_equality(spark.read.table("creation_db.t"),
                       spark.createDataFrame([(1, "a"), (2, "b"), (1, "a")],
                                             "id BIGINT, v STRING"),
                       ignore_row_order=True, ignore_nullable=True)
    # Observations fill under CREATE TABLE AS SELECT on Spark 3 only.
    assert create_fills_observations(spark) == spark.version.startswith("3.")


def test_a_name_already_in_the_catalog_is_not_created_over(
        tmp_path: Path, medallion_spark: Any) -> None:
    spark = medallion_spark
    spark.sql("CREATE SCHEMA IF NOT EXISTS creation_db")
    other = tmp_path / "elsewhere"
    spark.range(1).write.format("delta").save(other.as_uri())
    spark.sql("CREATE TABLE IF NOT EXISTS creation_db.taken USING DELTA "
              f"LOCATION '{other.as_uri()}'")
    target = Target("creation_db", "taken", tmp_path / "taken")
    assert not create(spark.range(3), target)
    assert target.version() is None
