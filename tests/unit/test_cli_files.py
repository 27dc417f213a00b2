"""The CLI on pipeline files: validate, schema, errors at file:line (no Spark)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medallion.cli import main
from medallion.files.schema import pipeline_json_schema

ROOT = Path(__file__).resolve().parents[2]
ORDERS_YAML = ROOT / "examples/orders/pipeline.yaml"


def test_validate_a_yaml_pipeline_with_an_environment(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(ORDERS_YAML), "--env", "prod", "--conf", "max_amount=9"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["bronze", "bronze_orders", "<-", "/Volumes/main/default/raw/orders"]
    assert out[-1] == "ok: pipeline 'orders' has 7 definition(s), 8 table(s), 4 rule(s)"


def test_environment_from_the_environment_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDALLION_ENV", "dev")
    assert main(["validate", str(ORDERS_YAML)]) == 0
    assert "/tmp/medallion-dev/raw/orders" in capsys.readouterr().out


def test_invalid_file_exits_2_with_the_line(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("tables:\n  - kind: silver\n    name: s\n    sorce: b\n")
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: 2 problems:\n  {path}:2: silver table 's': field "
                          "'tables[0].source' is required\n")
    assert f"  {path}:4: silver table 's': unknown field 'tables[0].sorce'. Did you mean " \
           "'source'?" in err
    assert "Traceback" not in err


def test_schema_command_prints_and_writes(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == pipeline_json_schema()
    out = tmp_path / "schemas" / "medallion.schema.json"
    assert main(["schema", "--output", str(out)]) == 0
    assert json.loads(out.read_text()) == pipeline_json_schema()
    assert capsys.readouterr().out == f"wrote the JSON Schema of pipeline files to {out}\n"
