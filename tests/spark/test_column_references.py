"""A table reading a column its input lacks fails before writing, with one sentence naming it.

One pipeline run holds a table per kind of column reference, each with one bad name, plus a
table using renamed, derived and lambda-bound names that must pass (valid gold and AUTO CDC
references pass through the same check in every other pipeline test): every bad table fails
with its own exact message and leaves no table behind; the bronze tables are written.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

import medallion
from medallion.backends.local import LocalRunner
from medallion.backends.local.result import RunResult
from medallion.cli import main
from tests.spark.conftest import write_json_lines

pytestmark = [pytest.mark.spark, pytest.mark.slow]

ORDERS = "order_id, customer_id, amount, ts, _rescued_data, _corrupt_record"
CUSTOMERS = "customer_id, name, _rescued_data, _corrupt_record"
CHANGES = "id, op, seq, _rescued_data, _corrupt_record"


def _silver(name: str, **fields: Any) -> None:
    medallion.silver_with_rules(name=name, source="bronze_orders", **fields)


def _gold(name: str, **fields: Any) -> None:
    fields.setdefault("aggregations", [{"func": "sum", "column": "amount", "alias": "total"}])
    medallion.gold_aggregate(name=name, source="bronze_orders", **fields)


def _cdc(name: str, **fields: Any) -> None:
    medallion.create_streaming_table(name)
    settings: dict[str, Any] = {"keys": ["id"], "sequence_by": "seq", **fields}
    medallion.create_auto_cdc_flow(target=name, source="bronze_changes", name=f"{name}_flow",
                                   **settings)


#: table → the exact error; each table has one bad reference of one kind.
EXPECTED = {
    "s_rule": f"rule 'valid_amount' of s_rule uses column no_such_col; bronze_orders has: "
              f"{ORDERS}",
    "s_cast": f"cast of column 'amont' of s_cast uses column amont; bronze_orders has: "
              f"{ORDERS}. Did you mean amount?",
    "s_rename": f"rename of column 'ordr_id' of s_rename uses column ordr_id; bronze_orders "
                f"has: {ORDERS}. Did you mean order_id?",
    "s_derived": f"derived column 'double' of s_derived uses column amt; bronze_orders has: "
                 f"{ORDERS}. Did you mean amount?",
    "s_select": "select of s_select uses column total; after its renames, s_select has: "
                "id, customer_id, amount, ts, _rescued_data, _corrupt_record",
    "s_rule_after_select": "rule 'has_ts' of s_rule_after_select uses column ts; after its "
                           "select, s_rule_after_select has: order_id, amount",
    "s_dedup_keys": f"dedup_keys of s_dedup_keys uses column order; bronze_orders has: "
                    f"{ORDERS}. Did you mean order_id?",
    "s_dedup_order": f"dedup_order_by of s_dedup_order uses column updated_at; bronze_orders "
                     f"has: {ORDERS}",
    "s_join_on": f"join with bronze_customers (on) of s_join_on uses column cust_id; "
                 f"bronze_orders has: {ORDERS}. Did you mean customer_id?",
    "s_join_right": "join with bronze_customers (on) of s_join_right uses column order_id; "
                    f"bronze_customers has: {CUSTOMERS}. Did you mean customer_id?",
    "s_join_columns": "join with bronze_customers (columns) of s_join_columns uses column "
                      f"segment; bronze_customers has: {CUSTOMERS}",
    "g_filter": f"filter of g_filter uses column status; bronze_orders has: {ORDERS}",
    "g_group_by": f"group_by key 'day' of g_group_by uses column order_ts; bronze_orders has: "
                  f"{ORDERS}. Did you mean order_id?",
    "g_aggregation": f"aggregation 'total' of g_aggregation uses column price; bronze_orders "
                     f"has: {ORDERS}",
    "g_window": f"window of g_window uses column event_time; bronze_orders has: {ORDERS}",
    "g_derived": "derived column 'avg' of g_derived uses column n; after its aggregations, "
                 "g_derived has: customer_id, total",
    "g_having": "having of g_having uses column amount; after its aggregations, g_having has: "
                "customer_id, total",
    "q_rule": "rule 'recent' of q_rule uses column ts; its query has: order_id, amount",
    "c_keys": f"keys of AUTO CDC flow 'c_keys_flow' into c_keys uses column key; "
              f"bronze_changes has: {CHANGES}",
    "c_sequence_by": f"sequence_by of AUTO CDC flow 'c_sequence_by_flow' into c_sequence_by "
                     f"uses column version; bronze_changes has: {CHANGES}",
    "c_deletes": f"apply_as_deletes of AUTO CDC flow 'c_deletes_flow' into c_deletes uses "
                 f"column operation; bronze_changes has: {CHANGES}",
    "c_column_list": f"column_list of AUTO CDC flow 'c_column_list_flow' into c_column_list "
                     f"uses column name; bronze_changes has: {CHANGES}",
}


def _declare(raw: Path) -> medallion.Pipeline:
    with medallion.Pipeline("refs") as p:
        medallion.bronze_autoloader(name="bronze_orders", path=str(raw / "orders"),
                                    schema="order_id BIGINT, customer_id BIGINT, "
                                           "amount DOUBLE, ts TIMESTAMP")
        medallion.bronze_autoloader(name="bronze_customers", path=str(raw / "customers"),
                                    schema="customer_id BIGINT, name STRING")
        medallion.bronze_autoloader(name="bronze_changes", path=str(raw / "changes"),
                                    schema="id BIGINT, op STRING, seq BIGINT")
        # Names that only exist after renames/derived, lambda variables, EXTRACT fields and
        # functions without parentheses are all fine.
        _silver("s_ok", renames={"order_id": "id"}, derived={"cents": "amount * 100"},
                select=["id", "cents", "amount", "ts", "customer_id"],
                rules=[{"name": "r1", "condition": "exists(array(cents), x -> x >= 0)"},
                       {"name": "r2", "condition": "EXTRACT(YEAR FROM ts) > 2000 AND "
                                                   "ts < current_timestamp"},
                       {"name": "r3", "condition": "CASE WHEN `amount` > 0 THEN id > 0 END"}],
                dedup_keys=["id"], dedup_order_by="ts",
                joins=[{"table": "bronze_customers", "on": ["customer_id"],
                        "columns": ["name"]}])
        _silver("s_rule", rules=[{"name": "valid_amount", "condition": "no_such_col > 0"}])
        _silver("s_cast", casts={"amont": "int"})
        _silver("s_rename", renames={"ordr_id": "id"})
        _silver("s_derived", derived={"double": "amt * 2"})
        _silver("s_select", renames={"order_id": "id"}, select=["id", "total"])
        _silver("s_rule_after_select", select=["order_id", "amount"],
                rules=[{"name": "has_ts", "condition": "ts IS NOT NULL"}])
        _silver("s_dedup_keys", dedup_keys=["order"])
        _silver("s_dedup_order", dedup_keys=["order_id"], dedup_order_by="updated_at")
        _silver("s_join_on", joins=[{"table": "bronze_customers", "on": ["cust_id"]}])
        _silver("s_join_right", joins=[{"table": "bronze_customers", "on": ["order_id"]}])
        _silver("s_join_columns", joins=[{"table": "bronze_customers", "on": ["customer_id"],
                                          "columns": ["segment"]}])
        _gold("g_filter", filter="status = 'paid'")
        _gold("g_group_by", group_by=["to_date(order_ts) AS day"])
        _gold("g_aggregation", aggregations=[{"func": "sum", "column": "price * 2",
                                              "alias": "total"}])
        _gold("g_window", window={"column": "event_time", "duration": "1 hour"})
        _gold("g_derived", group_by=["customer_id"], derived={"avg": "total / n"})
        _gold("g_having", group_by=["customer_id"], having="amount > 0")
        _cdc("c_keys", keys=["key"])
        _cdc("c_sequence_by", sequence_by="version")
        _cdc("c_deletes", apply_as_deletes="operation = 'DELETE'")
        _cdc("c_column_list", column_list=["id", "name"])
        @medallion.table(inputs=["bronze_orders"], rules=[
            {"name": "recent", "condition": "ts > '2020-01-01'"}])
        def q_rule(ctx: medallion.ReadContext) -> Any:
            return ctx.read("bronze_orders").select("order_id", "amount")

        medallion.gold_aggregate(name="after_bad", source="s_rule",
                                 aggregations=[{"func": "count", "alias": "n"}])
    return p


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, medallion_spark: Any) -> tuple[RunResult, Path]:
    root = tmp_path_factory.mktemp("refs")
    raw = root / "raw"
    write_json_lines(raw / "orders", "a.json", [
        {"order_id": 1, "customer_id": 7, "amount": 2.5, "ts": "2024-01-02T03:04:05Z"}])
    write_json_lines(raw / "customers", "a.json", [{"customer_id": 7, "name": "Ann"}])
    write_json_lines(raw / "changes", "a.json", [{"id": 1, "op": "INSERT", "seq": 1}])
    runner = LocalRunner(warehouse=root / "warehouse", spark=medallion_spark)
    return runner.run(_declare(raw), raise_on_failure=False), root / "warehouse"


@pytest.mark.parametrize("table", sorted(EXPECTED))
def test_each_bad_reference_is_named_and_nothing_is_written(
        run: tuple[RunResult, Path], table: str) -> None:
    result, warehouse = run
    outcome = result.flows.get(f"{table}_flow") or result.tables[table]
    assert outcome.status == "failed"
    assert isinstance(outcome.error, medallion.ColumnReferenceError)
    assert str(outcome.error) == EXPECTED[table]
    assert outcome.error.exit_code == 2
    assert not (warehouse / "medallion_db" / table / "_delta_log").exists()


def test_good_references_and_upstream_tables_run(run: tuple[RunResult, Path]) -> None:
    result, warehouse = run
    statuses = {name: t.status for name, t in {**result.tables, **result.flows}.items()}
    for name in ("bronze_orders", "bronze_customers", "bronze_changes", "s_ok"):
        assert statuses[name] == "completed", (name, result.tables[name].error
                                               if name in result.tables else None)
    assert statuses["after_bad"] == "skipped"
    assert not (warehouse / "medallion_db" / "after_bad").exists()
    assert result.tables["s_ok"].rows_written == 1


CLI_PIPELINE = """
    name: refs_cli
    configuration: {raw: RAW}
    tables:
      - {kind: bronze, name: bronze_orders, path: "${raw}/orders",
         schema: "order_id BIGINT, amount DOUBLE"}
      - kind: silver
        name: silver_orders
        source: bronze_orders
        rules:
          - {name: valid_amount, condition: "no_such_col > 0"}
"""


def test_cli_exit_status_2(tmp_path: Path, medallion_spark: Any,
                           capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "raw"
    write_json_lines(raw / "orders", "a.json", [{"order_id": 1, "amount": 5}])
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(textwrap.dedent(CLI_PIPELINE))
    warehouse = tmp_path / "warehouse"
    code = main(["run", str(pipeline), "--warehouse", str(warehouse), "--conf", f"raw={raw}",
                 "--progress", "plain"])
    out = capsys.readouterr().out
    assert code == 2
    assert ("  silver_orders: rule 'valid_amount' of silver_orders uses column no_such_col; "
            "bronze_orders has: order_id, amount, _rescued_data, _corrupt_record") in out
    assert (warehouse / "medallion_db" / "bronze_orders" / "_delta_log").exists()
    assert not (warehouse / "medallion_db" / "silver_orders").exists()
