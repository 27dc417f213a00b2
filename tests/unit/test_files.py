"""Pipelines as YAML/JSON files: same specs as Python, configuration, errors at file:line."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, ClassVar, Literal

import jsonschema
import pytest

import medallion
from medallion.errors import GraphError, PipelineFileError
from medallion.files import model as file_model
from medallion.files.configuration import ConfigurationError, resolve_configuration, substitute
from medallion.files.document import read_pipeline_file
from medallion.files.schema import pipeline_json_schema
from medallion.files.source import read_source
from medallion.loader import load_pipeline
from medallion.specs import BronzeSpec, GoldSpec, QuerySpec, SilverSpec
from medallion.specs.base import TableSpec

ROOT = Path(__file__).resolve().parents[2]
ORDERS_YAML = ROOT / "examples/orders/pipeline.yaml"


def write(tmp_path: Path, text: str, name: str = "pipeline.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def specs(pipeline: medallion.Pipeline) -> dict[str, dict[str, Any]]:
    return {d.name: d.spec.model_dump(by_alias=True) for d in pipeline.declarations}


def problems(exc: pytest.ExceptionInfo[PipelineFileError]) -> list[tuple[int | None, str]]:
    return [(p.line, p.path) for p in exc.value.problems]


# -- the same pipeline as Python ------------------------------------------------------------------
def test_json_form_declares_the_same_specs_as_yaml(tmp_path: Path) -> None:
    data = read_source(ORDERS_YAML).data
    as_json = tmp_path / "orders.json"
    as_json.write_text(json.dumps(data, indent=2))
    from_yaml = load_pipeline(ORDERS_YAML, configuration={"raw": "/r"})
    from_json = load_pipeline(as_json, configuration={"raw": "/r"})
    assert specs(from_json) == specs(from_yaml)
    assert from_json.name == "orders"
    assert from_json["silver_orders"].location is not None
    assert from_json["silver_orders"].location.filename == str(as_json)


def test_locations_point_at_the_table_in_the_file() -> None:
    pipeline = load_pipeline(ORDERS_YAML)
    lines = ORDERS_YAML.read_text().splitlines()
    for decl in pipeline.declarations:
        assert decl.location is not None
        assert decl.location.filename == str(ORDERS_YAML)
        assert lines[decl.location.line - 1].strip().startswith("- kind:")
        assert lines[decl.location.line].strip() == f"name: {decl.name}"


def test_yaml_booleans_are_yaml_1_2_and_dates_stay_text(tmp_path: Path) -> None:
    path = write(tmp_path, """
        configuration:
          region: NO
          since: 2024-01-01
        tables:
          - {kind: bronze, name: b, path: /x}
          - {kind: bronze, name: c, path: /y}
          - kind: silver
            name: s
            source: b
            derived: {region: "'${region}'", since: "'${since}'"}
            joins:
              - table: c
                on: id
    """)
    pipeline = load_pipeline(path)
    spec = pipeline["s"].spec
    assert isinstance(spec, SilverSpec)
    assert spec.joins[0].on == ("id",)
    assert spec.derived == {"region": "'NO'", "since": "'2024-01-01'"}
    assert pipeline.configuration == {"region": "NO", "since": "2024-01-01"}


# -- configuration --------------------------------------------------------------------------------
def test_configuration_layers_and_references() -> None:
    conf = resolve_configuration([
        {"root": "/data", "raw": "${root}/raw", "n": 5, "on": True},
        {"root": "/prod"},
        {"n": "7"},
    ])
    assert conf == {"root": "/prod", "raw": "/prod/raw", "n": "7", "on": "true"}
    assert substitute("$${raw} is ${raw}", conf, "x") == "${raw} is /prod/raw"


def test_configuration_loop_and_unknown_key() -> None:
    with pytest.raises(ConfigurationError, match=r"loop: a -> b -> a"):
        resolve_configuration([{"a": "${b}", "b": "${a}"}])
    with pytest.raises(ConfigurationError) as exc:
        substitute("${raw_pth}/x", {"raw_path": "/r", "other": "o"}, "tables[0].path")
    assert str(exc.value) == (
        "tables[0].path: '${raw_pth}' names no configuration value. Did you mean "
        "'${raw_path}'? Configured keys: other, raw_path. Set it under 'configuration:' in the "
        "file or with --conf raw_pth=VALUE."
    )


def test_environment_overlay_and_command_line_precedence() -> None:
    dev = load_pipeline(ORDERS_YAML, environment="dev")
    assert dev.schema == "medallion_db"
    assert dev["bronze_orders"].spec.path == "/tmp/medallion-dev/raw/orders"  # type: ignore[attr-defined]
    prod = load_pipeline(ORDERS_YAML, environment="prod", configuration={"max_amount": "500"})
    assert prod.schema == "orders_prod"
    assert prod["bronze_customers"].spec.path == "/Volumes/main/default/raw/customers"  # type: ignore[attr-defined]
    rule = prod["silver_orders"].spec.rules[1]  # type: ignore[attr-defined]
    assert (rule.name, rule.condition) == ("valid_amount", "amount > 0 AND amount < 500")
    assert prod.configuration == {"raw": "/Volumes/main/default/raw", "max_amount": "500"}
    with pytest.raises(PipelineFileError) as exc:
        load_pipeline(ORDERS_YAML, environment="prd")
    assert "environment 'prd' is not defined in this file. Did you mean 'prod'? " \
           "Environments: dev, prod." in str(exc.value)
    assert exc.value.line == 9


def test_non_string_fields_take_substituted_values(tmp_path: Path) -> None:
    path = write(tmp_path, """
        configuration: {batch: 10, streaming: "false"}
        tables:
          - {kind: bronze, name: b, path: /x, max_files_per_trigger: "${batch}"}
          - {kind: bronze, name: c, path: /x, incremental: "${streaming}"}
    """)
    pipeline = load_pipeline(path)
    assert pipeline["b"].spec.max_files_per_trigger == 10  # type: ignore[attr-defined]
    assert pipeline["c"].spec.incremental is False  # type: ignore[attr-defined]


# -- errors ---------------------------------------------------------------------------------------
BAD = """
    name: bad
    configuraton: {}
    configuration:
      raw: /data
    tables:
      - kind: bronze
        name: bronze_orders
        path: ${rw}/orders
      - kind: sliver
        name: s
        source: bronze_orders
      - kind: silver
        name: silver_orders
        source: bronze_orders
        dedup_key: [order_id]
        rules:
          - name: valid_amount
            condition: amount >
            action: drop
      - kind: query
        name: q
      - name: nokind
      - kind: gold
        name: g
        source: silver_orders
"""


def test_every_problem_is_reported_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, BAD)
    with pytest.raises(PipelineFileError) as exc:
        load_pipeline(path)
    assert problems(exc) == [
        (2, "configuraton"),
        (8, "tables[0].path"),
        (9, "tables[1].kind"),
        (15, "tables[2].dedup_key"),
        (18, "tables[2].rules[0].condition"),
        (20, "tables[3].kind"),
        (22, "tables[4]"),
        (23, "tables[5].aggregations"),
    ]
    lines = str(exc.value).splitlines()
    assert lines[0] == f"{path}: 8 problems:"
    assert lines[1] == (
        f"  {path}:2: pipeline file: unknown field 'configuraton'. Did you mean "
        "'configuration'? Allowed fields: configuration, environments, libraries, name, schema, "
        "tables"
    )
    assert lines[2] == (
        f"  {path}:8: tables[0].path: '${{rw}}' names no configuration value. Did you mean "
        "'${raw}'? Configured keys: raw. Set it under 'configuration:' in the file or with "
        "--conf rw=VALUE."
    )
    assert lines[3] == (
        f"  {path}:9: table 's': kind 'sliver' is not a table kind. Did you mean 'silver'? "
        "Kinds: bronze, silver, gold, streaming_table, auto_cdc, sink"
    )
    assert lines[4].startswith(
        f"  {path}:15: silver table 'silver_orders': unknown field 'tables[2].dedup_key'. "
        "Did you mean 'dedup_keys'?"
    )
    assert lines[5] == (
        f"  {path}:18: silver table 'silver_orders': field 'tables[2].rules[0].condition': "
        "condition 'amount >' is not one SQL boolean expression: expected a value, column or "
        "function at the end (rule 'valid_amount')"
    )
    assert "kind 'query' tables compute rows with a Python function" in lines[6]
    assert lines[7] == f"  {path}:22: table 'nokind' has no 'kind': give one of bronze, " \
                       "silver, gold, streaming_table, auto_cdc, sink"
    assert lines[8] == f"  {path}:23: gold table 'g': field 'tables[5].aggregations' is required"
    assert (exc.value.table, exc.value.field, exc.value.line) == (None, "configuraton", 2)
    assert exc.value.exit_code == 2


def test_misspelt_table_name_points_at_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, """
        tables:
          - {kind: bronze, name: bronze_orders, path: /x}
          - kind: silver
            name: silver_orders
            source: bronze_order
    """)
    with pytest.raises(PipelineFileError) as exc:
        load_pipeline(path)
    assert str(exc.value) == (
        f"{path}:5: silver table 'silver_orders' (tables[1].source) reads 'bronze_order', "
        "which this pipeline does not define. Did you mean 'bronze_orders'? Declare that "
        "table, or write 'schema.table' to read a table outside the pipeline."
    )


def test_unreadable_files(tmp_path: Path) -> None:
    dup = write(tmp_path, "tables:\n  - kind: bronze\n    name: a\n    name: b\n", "dup.yaml")
    with pytest.raises(PipelineFileError, match=r"dup.yaml:4: key 'name' appears twice in the "
                                                r"same mapping \(first at line 3\)"):
        load_pipeline(dup)
    broken = write(tmp_path, "tables: [\n  {kind: bronze, path: x\n", "broken.yaml")
    with pytest.raises(PipelineFileError, match=r"broken.yaml:3: not valid YAML"):
        load_pipeline(broken)
    bad_json = write(tmp_path, '{"tables": [\n  {"kind": "bronze",}\n]}', "bad.json")
    with pytest.raises(PipelineFileError, match=r"bad.json:2: not valid JSON"):
        load_pipeline(bad_json)
    listing = write(tmp_path, "- kind: bronze\n", "list.yaml")
    with pytest.raises(PipelineFileError, match="is a mapping with 'tables:'"):
        load_pipeline(listing)
    empty = write(tmp_path, "name: x\n", "empty.yaml")
    with pytest.raises(PipelineFileError, match="declares no tables"):
        load_pipeline(empty)
    with pytest.raises(PipelineFileError, match="does not exist"):
        load_pipeline(tmp_path / "missing.yaml")


def test_duplicate_table_names_name_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, """
        tables:
          - {kind: bronze, name: a, path: /x}
          - {kind: bronze, name: a, path: /y}
    """)
    with pytest.raises(GraphError) as exc:
        load_pipeline(path)
    assert str(exc.value) == (
        f"table 'a' is defined twice: by bronze table 'a' ({path}:2) and by bronze table 'a' "
        f"({path}:3). Rename one of them."
    )


# -- one call in a notebook; Python libraries -----------------------------------------------------
def test_load_into_the_active_pipeline_with_its_configuration() -> None:
    with medallion.Pipeline("notebook", configuration={"raw": "/Volumes/raw"}) as active:
        returned = medallion.load_pipeline_file(ORDERS_YAML)
    assert returned is active
    assert len(active) == 7
    assert active["bronze_orders"].spec.path == "/Volumes/raw/orders"  # type: ignore[attr-defined]
    assert active.configuration == {"raw": "/Volumes/raw", "max_amount": "100000"}


def test_load_without_a_pipeline_creates_one() -> None:
    pipeline = medallion.load_pipeline_file(ORDERS_YAML, environment="prod")
    assert (pipeline.name, pipeline.schema, len(pipeline)) == ("orders", "orders_prod", 7)


def test_databricks_pipeline_configuration_fills_missing_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import medallion.backends.runtime

    monkeypatch.setattr(medallion.backends.runtime, "selected_backend", lambda: "databricks")
    monkeypatch.setattr(medallion.backends.runtime, "spark_conf",
                        {"landing": "/Volumes/main/landing"}.get)
    path = write(tmp_path, "tables:\n  - {kind: bronze, name: b, path: '${landing}/b'}\n")
    target = medallion.Pipeline("dbx")
    medallion.load_pipeline_file(path, into=target)
    assert target["b"].spec.path == "/Volumes/main/landing/b"  # type: ignore[attr-defined]


def test_libraries_run_into_the_same_pipeline_and_read_configuration(tmp_path: Path) -> None:
    (tmp_path / "custom.py").write_text(textwrap.dedent("""
        import medallion

        THRESHOLD = medallion.config("threshold")

        @medallion.table(inputs=["silver"], comment=f"over {THRESHOLD}")
        def big(ctx):
            raise NotImplementedError  # never called while declaring
    """))
    path = write(tmp_path, """
        configuration: {threshold: 1000}
        libraries: [custom.py]
        tables:
          - {kind: bronze, name: b, path: /x}
          - {kind: silver, name: silver, source: b}
    """)
    pipeline = load_pipeline(path)
    assert [d.name for d in pipeline.graph().order] == ["b", "silver", "big"]
    big = pipeline["big"].spec
    assert isinstance(big, QuerySpec)
    assert big.comment == "over 1000"
    missing = write(tmp_path, "libraries: [nope.py]\ntables: []\n", "missing.yaml")
    with pytest.raises(PipelineFileError, match=r"missing.yaml:1: library 'nope.py' does not "
                                                r"exist"):
        load_pipeline(missing)


def test_python_pipeline_rejects_an_environment() -> None:
    with pytest.raises(medallion.SpecError, match="environments are a feature of YAML/JSON"):
        load_pipeline(ROOT / "examples/orders/pipeline.py", environment="prod")


# -- JSON Schema ----------------------------------------------------------------------------------
def test_schema_accepts_the_reference_file_and_rejects_typos() -> None:
    schema = pipeline_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    data = read_source(ORDERS_YAML).data
    assert list(validator.iter_errors(data)) == []
    data["tables"][2]["dedup_key"] = data["tables"][2].pop("dedup_keys")
    errors = list(validator.iter_errors(data))
    assert errors
    assert all(list(e.absolute_path)[:2] == ["tables", 2] for e in errors)
    data["tables"][2]["dedup_keys"] = "order_id"  # shorthand the model accepts
    data["tables"][2].pop("dedup_key")
    data["tables"][2]["quarantine"] = True
    data["tables"][5]["group_by"] = {"date": "to_date(order_date)"}
    data["tables"][5]["cluster_by"] = "date, region"
    assert list(validator.iter_errors(data)) == []


def test_schema_describes_fields_from_docstrings() -> None:
    schema = pipeline_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    silver = schema["$defs"]["SilverSpec"]
    assert silver["required"] == ["kind", "name", "source"]
    assert silver["properties"]["dedup_keys"]["description"] == "Keep one row per key."
    assert schema["$defs"]["BronzeSpec"]["properties"]["schema"]["description"].startswith(
        "DDL string of the columns")
    assert schema["properties"]["configuration"]["description"].startswith(
        "Key/values, like a Databricks pipeline's configuration")
    kinds = schema["properties"]["tables"]["items"]["discriminator"]["mapping"]
    assert sorted(kinds) == ["auto_cdc", "bronze", "gold", "silver", "sink", "streaming_table"]


class _StreamingTableSpec(TableSpec):
    """A test-only kind, standing in for kinds other issues add to the union.

    Attributes:
        source: The table read.
    """

    layer: ClassVar[str] = "silver"
    kind: Literal["streaming_test"] = "streaming_test"
    source: str

    def inputs(self) -> tuple[str, ...]:
        return (self.source,)


def test_a_new_spec_kind_works_in_files_and_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typing import Annotated

    from pydantic import Field

    union = Annotated[BronzeSpec | SilverSpec | GoldSpec | QuerySpec | _StreamingTableSpec,
                      Field(discriminator="kind")]
    monkeypatch.setattr(file_model, "AnySpec", union)
    file_model.file_kinds.cache_clear()
    try:
        path = write(tmp_path, """
            tables:
              - {kind: bronze, name: b, path: /x}
              - {kind: streaming_test, name: st, source: b}
        """)
        document = read_pipeline_file(path)
        assert [type(t.spec) for t in document.tables] == [BronzeSpec, _StreamingTableSpec]
        schema = pipeline_json_schema()
        mapping = schema["properties"]["tables"]["items"]["discriminator"]["mapping"]
        assert "streaming_test" in mapping
        assert schema["$defs"]["_StreamingTableSpec"]["properties"]["source"]["description"] \
            == "The table read."
    finally:
        file_model.file_kinds.cache_clear()


def test_notebook_call_declares_into_the_databricks_implicit_pipeline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import medallion.pipeline

    implicit = medallion.Pipeline("databricks")
    monkeypatch.setattr(medallion.pipeline, "implicit_pipeline", lambda: implicit)
    assert medallion.active_pipeline() is None
    returned = medallion.load_pipeline_file(ORDERS_YAML, configuration={"raw": "/Volumes/r"})
    assert returned is implicit
    assert [d.name for d in implicit.declarations][:2] == ["bronze_orders", "bronze_customers"]
    assert implicit["bronze_orders"].spec.path == "/Volumes/r/orders"  # type: ignore[attr-defined]
