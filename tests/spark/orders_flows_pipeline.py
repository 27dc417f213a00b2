"""The reference orders pipeline plus streaming tables, append flows and AUTO CDC.

Run by tests/spark/test_spark_pipelines.py under the local runner and under
``spark-pipelines run``, whose tables must be equal. ``raw`` must hold orders/ and customers/
(as for examples/orders/pipeline.py) and order_updates/ (JSON change events of orders:
``order_id``, ``status``, ``amount``, ``seq``, ``op``).
"""

import runpy
from pathlib import Path

import medallion
from medallion import Rule

raw = medallion.config("raw", "examples/orders/raw")
runpy.run_path(str(Path(__file__).resolve().parents[2] / "examples/orders/pipeline.py"))

medallion.bronze_autoloader(
    name="bronze_order_updates",
    comment="Change events of orders (upserts and deletes)",
    path=f"{raw}/order_updates",
    format="json",
    infer_column_types=True,
)

# A silver streaming table (no dedup): every valid order row, appended as it arrives.
medallion.silver_with_rules(
    name="silver_order_stream",
    source="bronze_orders",
    casts={"order_id": "bigint", "amount": "decimal(10,2)", "order_date": "timestamp"},
    select=["order_id", "amount", "status", "order_date", "region"],
    rules=[Rule(name="valid_order_id", condition="order_id IS NOT NULL", action="drop")],
)

# A streaming table written by two append flows; its rule applies to both.
medallion.create_streaming_table(
    "order_activity",
    comment="Orders and order changes, one row per event",
    partition_cols=["channel"],
    expect_all_or_drop={"has_order_id": "order_id IS NOT NULL"},
)


@medallion.append_flow(target="order_activity")
def activity_from_orders(ctx):
    return ctx.read_stream("bronze_orders").selectExpr(
        "CAST(order_id AS BIGINT) AS order_id", "status", "'order' AS channel")


@medallion.append_flow(target="order_activity")
def activity_from_updates(ctx):
    return ctx.read_stream("bronze_order_updates").selectExpr(
        "CAST(order_id AS BIGINT) AS order_id", "status", "'update' AS channel")


# AUTO CDC (SCD type 1): the current state of each order, from its change events.
medallion.create_streaming_table("orders_current", comment="The latest state of each order",
                                 change_data_feed=True)
medallion.create_auto_cdc_flow(
    target="orders_current",
    source="bronze_order_updates",
    keys=["order_id"],
    sequence_by="seq",
    apply_as_deletes="op = 'DELETE'",
    except_column_list=["op", "_rescued_data"],
)
