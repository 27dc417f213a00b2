"""What `run` would refuse, `validate` refuses first: types and value shapes, exit 2, exact text."""

from __future__ import annotations

from pathlib import Path

import pytest

from medallion.cli import main
from medallion.errors import SpecError
from medallion.specs.errors import build_spec
from medallion.specs.silver import SilverSpec


def _validate(tmp_path: Path, body: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "p.yaml"
    path.write_text(body)
    code = main(["validate", str(path)])
    return code, capsys.readouterr().err.replace(str(path), "P")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("{kind: silver, name: s, source: b, casts: {amount: 'decimall(10,2)'}}",
         "silver table 's': field 'tables[1].casts': cast of column 'amount': 'decimall(10,2)' "
         "is not a Spark SQL data type: unknown type 'decimall'; did you mean 'decimal'?"),
        ("{kind: silver, name: s, source: b, casts: {amount: 'decimal(39,2)'}}",
         "silver table 's': field 'tables[1].casts': cast of column 'amount': 'decimal(39,2)' "
         "is not a Spark SQL data type: decimal precision 39 is out of range: it must be 1 to "
         "38"),
        ("{kind: silver, name: s, source: b, casts: {tags: 'array<strin>'}}",
         "silver table 's': field 'tables[1].casts': cast of column 'tags': 'array<strin>' is "
         "not a Spark SQL data type: unknown type 'strin'; did you mean 'string'?"),
        ("{kind: bronze, name: s, path: /x, schema_hints: 'amount decimal(5,6)'}",
         "bronze table 's': field 'tables[1].schema_hints': schema_hints column 'amount': "
         "'decimal(5,6)' is not a Spark SQL data type: decimal scale 6 is larger than its "
         "precision 5; the scale (digits after the point) must be 0 to 5"),
        ("{kind: bronze, name: s, path: /x, schema: 'id bigint, a struct<b: nope>'}",
         "bronze table 's': field 'tables[1].schema': schema column 'a': 'struct<b: nope>' is "
         "not a Spark SQL data type: struct field b: unknown type 'nope'; e.g. 'string', "
         "'bigint', 'double', 'decimal(10,2)', 'date', 'timestamp'"),
        ("{kind: streaming_table, name: s, schema: 'id bigint, v varchar'}",
         "streaming table 's': field 'tables[1].schema': schema column 'v': 'varchar' is not a "
         "Spark SQL data type: varchar needs one length, e.g. varchar(255); or use string"),
    ],
)
def test_an_invalid_type_exits_2_naming_table_field_and_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, message: str
) -> None:
    body = f"tables:\n  - {{kind: bronze, name: b, path: /raw}}\n  - {table}\n"
    assert _validate(tmp_path, body, capsys) == (2, f"error: P:3: {message}\n")


def test_an_unquoted_type_with_a_comma_in_a_flow_mapping_says_to_quote_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = ("tables:\n  - {kind: bronze, name: b, path: /raw}\n"
            "  - {kind: silver, name: s, source: b, casts: {amount: decimal(10,2)}}\n")
    assert _validate(tmp_path, body, capsys) == (2, (
        "error: P:3: silver table 's': field 'tables[1].casts.2)' must be a text (the value of "
        "'2)' of casts, e.g. {amount: 'decimal(10,2)'}); got null (in a {...} mapping a comma "
        "splits the value: quote it, e.g. {amount: 'decimal(10,2)'})\n"))


@pytest.mark.parametrize(
    ("fields", "message"),
    [  # one case per pydantic error type that a pipeline file or a factory call can reach
        ({"dedup_keys": 5},  # tuple_type
         "field 'dedup_keys' must be a list of column names, e.g. [order_id]; got 5"),
        ({"dedup_keys": [5]},  # string_type, inside a list
         "field 'dedup_keys.0' must be a text (one entry of dedup_keys, e.g. [order_id]); got 5"),
        ({"rules": "amount > 0"},  # tuple_type of models
         "field 'rules' must be a list of rules, e.g. [{name: valid_id, condition: id IS NOT "
         "NULL, action: drop}]; got 'amount > 0'"),
        ({"rules": [5]},  # model_type
         "field 'rules.0' must be a mapping with fields name, condition, action (one entry of "
         "rules, e.g. [{name: valid_id, condition: id IS NOT NULL, action: drop}]); got 5"),
        ({"rules": [{"name": "r", "condition": "x > 0", "action": "dropp"}]},  # literal_error
         "field 'rules.0.action': 'dropp' is not allowed; input should be 'warn', 'drop' or "
         "'fail'; did you mean 'drop'? (rule 'r')"),
        ({"rules": [{"name": "r"}]},  # missing
         "field 'rules.0.condition' is required (rule 'r')"),
        ({"casts": ["amount"]},  # dict_type
         "field 'casts' must be a mapping of column → Spark SQL type, e.g. {amount: "
         "'decimal(10,2)'}; got ['amount']"),
        ({"casts": {"amount": 10}},  # string_type, a mapping value
         "field 'casts.amount' must be a text (the value of 'amount' of casts, e.g. {amount: "
         "'decimal(10,2)'}); got 10"),
        ({"incremental": "maybe"},  # bool_parsing
         "field 'incremental' must be true or false; got 'maybe'"),
        ({"incremental": [True]},  # bool_type
         "field 'incremental' must be true or false; got [true]"),
        ({"joins": {"table": "c", "on": ["id"]}},  # tuple_type given a mapping
         "field 'joins' must be a list of joins, e.g. [{table: silver_customers, on: "
         "[customer_id]}]; got {table: 'c', on: ['id']}"),
        ({"source": None},  # string_type, null
         "field 'source' must be a text; got null"),
        ({"sorce": "b"},  # extra_forbidden
         "unknown field 'sorce'. Did you mean 'source'? Allowed fields: casts, change_data_feed, "
         "cluster_by, cluster_by_auto, comment, dedup_keys, dedup_order_by, derived, "
         "incremental, joins, malformed_records, name, partition_cols, private, quarantine, "
         "renames, rules, select, source, table_properties"),
    ],
)
def test_shape_errors_are_phrased_in_the_files_terms(fields: dict[str, object],
                                                      message: str) -> None:
    with pytest.raises(SpecError) as info:
        build_spec(SilverSpec, {"name": "s", "source": "b", **fields})
    assert str(info.value) == f"silver table 's': {message}"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("{kind: bronze, name: b, path: /x, max_files_per_trigger: 0}",  # greater_than_equal
         "field 'tables[0].max_files_per_trigger' must be at least 1; got 0"),
        ("{kind: bronze, name: b, path: /x, max_files_per_trigger: many}",  # int_parsing
         "field 'tables[0].max_files_per_trigger' must be a whole number; got 'many'"),
        ("{kind: bronze, name: b, path: /x, max_files_per_trigger: 1.5}",  # int_from_float
         "field 'tables[0].max_files_per_trigger' must be a whole number; got 1.5"),
        ("{kind: bronze, name: b, path: /x, max_files_per_trigger: [1]}",  # int_type
         "field 'tables[0].max_files_per_trigger' must be a whole number; got [1]"),
        ("{kind: bronze, name: b, path: /x, format: jsonl}",  # literal_error
         "field 'tables[0].format': 'jsonl' is not allowed; input should be 'json', 'csv', "
         "'parquet', 'text', 'avro' or 'orc'; did you mean 'json'?"),
        ("{kind: gold, name: b, source: s, group_by: [a], aggregations: []}",  # too_short
         "field 'tables[0].aggregations' must have at least 1 entries; got []"),
    ],
)
def test_shape_errors_in_a_file_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, message: str
) -> None:
    code, err = _validate(tmp_path, f"tables:\n  - {table}\n", capsys)
    assert (code, err) == (2, f"error: P:2: {table.split()[1].rstrip(',')} table "
                              f"'{table.split()[3].rstrip(',')}': {message}\n")


def test_top_level_shape_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _validate(tmp_path, "tables: 5\n", capsys) == (2, (
        "error: P:1: pipeline file: field 'tables' must be a list of tables, e.g. [{kind: "
        "silver, name: silver_orders, source: bronze_orders}]; got 5\n"))
    assert _validate(tmp_path, "configuration: 5\ntables: []\n", capsys) == (2, (
        "error: P:1: pipeline file: field 'configuration' must be a mapping of key → value, "
        "e.g. {raw: /data/raw}; got 5\n"))


@pytest.mark.parametrize("command", ["run", "demo"])
@pytest.mark.parametrize(
    ("where", "why"),
    [
        ("/proc/medallion-wh", "cannot be created: No such file or directory"),
        ("{tmp}/afile/wh", "cannot be created: '{tmp}/afile' is a file, not a folder"),
        ("{tmp}/afile", "is not a folder: it is a file"),
    ],
)
def test_an_unusable_warehouse_exits_2_before_spark_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    command: str, where: str, why: str,
) -> None:
    import medallion.backends.local.session as session

    def no_spark(*args: object, **kwargs: object) -> None:
        raise AssertionError("Spark was started")

    monkeypatch.setattr(session, "local_session", no_spark)
    (tmp_path / "afile").write_text("")
    warehouse = where.format(tmp=tmp_path)
    pipeline = [str(Path(__file__).parents[2] / "examples/orders/pipeline.yaml")]
    argv = [command, *(pipeline if command == "run" else []), "--warehouse", warehouse]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"error: warehouse '{warehouse}' {why.format(tmp=tmp_path)}; give a writable folder "
        "with --warehouse DIR or $MEDALLION_WAREHOUSE\n"
    )
