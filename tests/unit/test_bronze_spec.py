"""BronzeSpec: one field per Auto Loader option, invalid combinations rejected at declaration."""

from __future__ import annotations

from typing import Any

import pytest

import medallion
from medallion import BronzeSpec, SpecError
from medallion.core.bronze import autoloader_options, autoloader_schema
from medallion.specs.ddl import parse_columns
from medallion.specs.errors import build_spec


def bronze(**fields: Any) -> BronzeSpec:
    spec: BronzeSpec = build_spec(BronzeSpec, {"name": "bronze_orders", "path": "/raw/orders",
                                               **fields})
    return spec


def rejected(**fields: Any) -> str:
    with pytest.raises(SpecError) as info:
        bronze(**fields)
    assert info.value.table == "bronze_orders"
    return str(info.value)


# -- defaults, as Databricks ------------------------------------------------------------------
def test_defaults_follow_auto_loader() -> None:
    inferred = bronze()
    assert (inferred.evolution_mode, inferred.rescue_column, inferred.corrupt_record_column,
            inferred.files_per_trigger, inferred.include_existing_files) == (
        "addNewColumns", "_rescued_data", "_corrupt_record", 1000, True)
    declared = bronze(schema="id BIGINT, amount DOUBLE")
    assert declared.evolution_mode == "none"
    batch = bronze(incremental=False)
    assert batch.evolution_mode == "none"
    assert bronze(format="parquet").corrupt_record_column is None
    text = bronze(format="text")
    assert (text.rescue_column, text.corrupt_record_column) == (None, None)
    renamed = bronze(options={"columnNameOfCorruptRecord": "_bad"}, rescued_data_column="_extra")
    assert (renamed.corrupt_record_column, renamed.rescue_column) == ("_bad", "_extra")


# -- invalid combinations ---------------------------------------------------------------------
def test_add_new_columns_with_a_full_schema_is_rejected() -> None:
    message = rejected(schema="id BIGINT", schema_evolution_mode="addNewColumns")
    assert message == (
        "bronze table 'bronze_orders': schema_evolution_mode='addNewColumns' cannot be used "
        "with a full schema: Auto Loader only adds columns to a schema it inferred. Remove "
        "'schema' (pin types with schema_hints instead) or choose 'failOnNewColumns', 'rescue' "
        "or 'none'"
    )


def test_csv_needs_a_header_decision() -> None:
    message = rejected(format="csv")
    assert "csv files need a header decision: options={'header': 'true'}" in message
    assert bronze(format="csv", options={"header": False}).option("HEADER") == "false"


def test_rescue_mode_needs_a_rescued_data_column() -> None:
    message = rejected(schema_evolution_mode="rescue", rescued_data_column=None)
    assert "needs a rescued data column" in message
    assert bronze(schema_evolution_mode="none", rescued_data_column=None).rescue_column is None


def test_hints_only_with_an_inferred_schema() -> None:
    assert "schema_hints only apply to an inferred schema" in rejected(
        schema="id BIGINT", schema_hints="id INT")


def test_auto_loader_only_settings_rejected_on_batch_tables() -> None:
    for fields in ({"max_files_per_trigger": 2}, {"schema_evolution_mode": "rescue"},
                   {"include_existing_files": False}):
        message = rejected(incremental=False, **fields)
        assert "only applies to incremental bronze tables (bronze_autoloader)" in message
    with (pytest.raises(SpecError, match="include_existing_files only applies"),
          medallion.Pipeline("p")):
        medallion.bronze_batch(name="b", path="/x", include_existing_files=False)


def test_text_format_has_a_fixed_schema() -> None:
    assert "schema does not apply to format='text'" in rejected(format="text", schema="v STRING")
    assert "infer_column_types does not apply" in rejected(format="text",
                                                          infer_column_types=True)


def test_options_that_are_fields_or_drop_records() -> None:
    assert "option 'rescuedDataColumn' is a bronze setting: set rescued_data_column" in rejected(
        options={"rescuedDataColumn": "x"})
    assert "set infer_column_types=True instead" in rejected(options={"inferSchema": "true"})
    assert "bronze never drops records" in rejected(options={"mode": "DROPMALFORMED"})
    assert bronze(options={"mode": "failfast"}).option("mode") == "failfast"
    assert "not cloudFiles.* options" in rejected(options={"cloudFiles.format": "json"})


def test_column_names_must_not_collide() -> None:
    assert "metadata column '_rescued_data' and rescued_data_column are both named" in rejected(
        metadata_columns={"_rescued_data": "file_path"})
    assert "column 'id' of the schema is also metadata column 'ID'" in rejected(
        schema="id BIGINT", metadata_columns={"ID": "file_name"})
    assert "is not a plain column name" in rejected(rescued_data_column="bad name")


def test_schema_and_hints_are_parsed_at_declaration() -> None:
    assert "schema 'id BIGINT, amount DECIMAL(10' has unbalanced brackets" in rejected(
        schema="id BIGINT, amount DECIMAL(10")
    assert "schema column 'amount': 'DECIMAL(10,2) junk' is not a Spark SQL data type" in (
        rejected(schema="id BIGINT, amount DECIMAL(10,2) junk"))
    assert "names column 'Id' twice" in rejected(schema="id BIGINT, Id INT")
    assert "has no type" in rejected(schema_hints="amount")
    assert "nested fields cannot be given here" in rejected(schema_hints="a.b INT")


def test_ddl_columns() -> None:
    columns = parse_columns("id BIGINT NOT NULL, `order date` DATE COMMENT 'when, exactly', "
                            "tags ARRAY<STRING>, m MAP<STRING, DECIMAL(10,2)>")
    assert [(c.name, c.type) for c in columns] == [
        ("id", "BIGINT"), ("order date", "DATE"), ("tags", "ARRAY<STRING>"),
        ("m", "MAP<STRING, DECIMAL(10,2)>"),
    ]


# -- the Databricks translation -----------------------------------------------------------------
def test_autoloader_options_inferred_json() -> None:
    spec = bronze(schema_hints="amount DECIMAL(10,2)", infer_column_types=True,
                  max_files_per_trigger=5, include_existing_files=False,
                  options={"multiLine": True})
    assert autoloader_options(spec) == {
        "cloudFiles.format": "json",
        "cloudFiles.schemaEvolutionMode": "addNewColumns",
        "cloudFiles.includeExistingFiles": "false",
        "cloudFiles.maxFilesPerTrigger": "5",
        "cloudFiles.inferColumnTypes": "true",
        "cloudFiles.schemaHints": "`amount` DECIMAL(10,2), `_corrupt_record` STRING",
        "rescuedDataColumn": "_rescued_data",
        "columnNameOfCorruptRecord": "_corrupt_record",
        "multiLine": "true",
    }
    assert autoloader_schema(spec) is None


def test_autoloader_options_declared_csv() -> None:
    spec = bronze(format="csv", schema="id BIGINT, amount DOUBLE",
                  schema_evolution_mode="failOnNewColumns",
                  options={"header": "true", "sep": ";", "columnNameOfCorruptRecord": "_bad"})
    assert autoloader_options(spec) == {
        "cloudFiles.format": "csv",
        "cloudFiles.schemaEvolutionMode": "failOnNewColumns",
        "cloudFiles.includeExistingFiles": "true",
        "rescuedDataColumn": "_rescued_data",
        "columnNameOfCorruptRecord": "_bad",
        "header": "true",
        "sep": ";",
    }
    assert autoloader_schema(spec) == "`id` BIGINT, `amount` DOUBLE, `_bad` STRING"


def test_autoloader_options_parquet_and_text() -> None:
    assert autoloader_options(bronze(format="parquet", rescued_data_column=None)) == {
        "cloudFiles.format": "parquet",
        "cloudFiles.schemaEvolutionMode": "addNewColumns",
        "cloudFiles.includeExistingFiles": "true",
        "cloudFiles.inferColumnTypes": "false",
    }
    assert autoloader_options(bronze(format="text", options={"wholetext": "true"})) == {
        "cloudFiles.format": "text",
        "cloudFiles.includeExistingFiles": "true",
        "wholetext": "true",
    }
    assert autoloader_options(bronze(schema_evolution_mode="rescue"))[
        "cloudFiles.schemaEvolutionMode"] == "rescue"


def test_hinting_the_corrupt_record_column_is_rejected() -> None:
    assert "column '_corrupt_record' of the schema is also the corrupt record column" in (
        rejected(schema_hints="_corrupt_record STRING, id BIGINT"))
