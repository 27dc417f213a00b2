"""The local Auto Loader's pure parts: evolution decisions and reading the stream's checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medallion import BronzeSpec
from medallion.backends.local.autoloader.evolution import apply_hints, changed_types, plan_batch
from medallion.backends.local.autoloader.files import (
    CheckpointFormatError,
    batch_files,
    csv_header,
    existing_files,
    normalize,
    sample_for_inference,
)

SCHEMA = [("id", "string"), ("amount", "string")]
FOUND = [("id", "string"), ("amount", "string"), ("Amount", "string"), ("discount", "string"),
         ("DISCOUNT", "string")]


def test_add_new_columns_adds_once_per_name_and_rescues_case_variants() -> None:
    plan = plan_batch(SCHEMA, FOUND, "addNewColumns", rescue=True)
    assert plan.columns == (("id", "string"), ("amount", "string"), ("discount", "string"))
    assert plan.added == (("discount", "string"),)
    assert (plan.unknown, plan.case_mismatch, plan.rejected) == ((), ("Amount", "DISCOUNT"), ())
    assert plan.needs_row_rescue
    assert plan.ignored == ()


def test_rescue_keeps_the_schema() -> None:
    plan = plan_batch(SCHEMA, FOUND, "rescue", rescue=True)
    assert (plan.columns, plan.added) == (tuple(SCHEMA), ())
    assert (plan.unknown, plan.case_mismatch) == (("discount", "DISCOUNT"), ("Amount",))
    assert (plan.rescue_unknown, plan.rescue_case, plan.needs_row_rescue) == (True, True, True)


def test_fail_on_new_columns_names_them() -> None:
    plan = plan_batch(SCHEMA, FOUND, "failOnNewColumns", rescue=True)
    assert plan.rejected == ("discount", "DISCOUNT")
    assert plan_batch(SCHEMA, SCHEMA, "failOnNewColumns", rescue=True).rejected == ()


def test_none_ignores_without_a_rescued_data_column() -> None:
    rescuing = plan_batch(SCHEMA, FOUND, "none", rescue=True)
    assert (rescuing.rescue_unknown, rescuing.needs_row_rescue) == (True, True)
    ignoring = plan_batch(SCHEMA, FOUND, "none", rescue=False)
    assert not ignoring.needs_row_rescue
    assert ignoring.ignored == ("discount", "DISCOUNT", "Amount")
    assert not plan_batch(SCHEMA, SCHEMA, "none", rescue=True).needs_row_rescue


def test_hints_override_and_add() -> None:
    assert apply_hints(SCHEMA, [("AMOUNT", "double"), ("ts", "timestamp")]) == [
        ("id", "string"), ("amount", "double"), ("ts", "timestamp")]
    assert changed_types(SCHEMA, [("ID", "string"), ("amount", "double")]) == [
        ("amount", "string", "double")]


# -- the stream's checkpoint --------------------------------------------------------------------
def _offsets(cp: Path, batch: int, log_offset: int) -> None:
    (cp / "offsets").mkdir(parents=True, exist_ok=True)
    (cp / "offsets" / str(batch)).write_text(
        'v1\n{"batchWatermarkMs":0,"batchTimestampMs":1}\n' + json.dumps(
            {"logOffset": log_offset}))


def _source_log(cp: Path, name: str, entries: list[tuple[str, int]]) -> None:
    folder = cp / "sources" / "0"
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["v1"] + [json.dumps({"path": p, "timestamp": 1, "batchId": b}) for p, b in entries]
    (folder / name).write_text("\n".join(lines))


def test_batch_files_from_plain_and_compacted_logs(tmp_path: Path) -> None:
    cp = tmp_path / "cp"
    _offsets(cp, 0, 0)
    _source_log(cp, "0", [("file:///raw/a.json", 0), ("file:///raw/b.json", 0)])
    _offsets(cp, 1, 1)
    # a compaction file holds every entry up to its batch; only batch 1's are batch 1's files
    _source_log(cp, "1.compact", [("file:///raw/a.json", 0), ("file:///raw/b.json", 0),
                                  ("file:///raw/c.json", 1)])
    assert batch_files(cp, 0) == ["file:/raw/a.json", "file:/raw/b.json"]
    assert batch_files(cp, 1) == ["file:/raw/c.json"]
    with pytest.raises(CheckpointFormatError, match="no offsets for micro-batch 2"):
        batch_files(cp, 2)


def test_existing_files_recorded_once(tmp_path: Path) -> None:
    assert existing_files(tmp_path, ["file:/raw/b", "file:/raw/a"]) == {"file:/raw/a",
                                                                         "file:/raw/b"}
    # later calls read the record: files that arrived since are not "existing"
    assert existing_files(tmp_path, ["file:/raw/c"]) == {"file:/raw/a", "file:/raw/b"}


def test_csv_header_and_sampling(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('id;"amount; total";Status\n1;2;ok\n')
    spec = BronzeSpec(name="b", path=str(tmp_path), format="csv",
                      options={"header": "true", "sep": ";"})
    assert csv_header(path.as_uri(), spec) == ["id", "amount; total", "Status"]
    assert normalize(path.as_uri()) == "file:" + str(path)
    small = [path.as_uri()] * 5
    assert sample_for_inference(small, max_files=3, max_bytes=10**9) == small[:3]
    assert sample_for_inference(small, max_files=9, max_bytes=30) == small[:1]


def test_small_json_batches_are_censused_without_spark(tmp_path: Path) -> None:
    from medallion.backends.local.autoloader.census import small_json_keys

    spec = BronzeSpec(name="b", path=str(tmp_path))
    a = tmp_path / "a.json"
    a.write_text('{"id": 1, "b": {"x": 1}}\n\n{"Id": 2, "c": null}\nnot json\n')
    assert small_json_keys(spec, [a.as_uri()]) == ["Id", "b", "c", "id"]
    # a line Spark may accept but Python cannot parse, or an array of records: ask Spark
    quoted = tmp_path / "q.json"
    quoted.write_text("{'id': 1}\n")
    assert small_json_keys(spec, [a.as_uri(), quoted.as_uri()]) is None
    array = tmp_path / "r.json"
    array.write_text('[{"id": 1}, {"z": 2}]\n')
    assert small_json_keys(spec, [array.as_uri()]) is None
    multi = BronzeSpec(name="b", path=str(tmp_path), options={"multiLine": "true"})
    assert small_json_keys(multi, [a.as_uri()]) is None
