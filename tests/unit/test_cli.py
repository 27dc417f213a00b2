"""CLI behaviour that needs no Spark: validation and exit status 2 for invalid definitions."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from medallion.cli import main

GOOD = """
import medallion
from medallion import Rule
medallion.bronze_autoloader(name="bronze_orders", path="/data/orders")
medallion.silver_with_rules(name="silver_orders", source="bronze_orders",
    rules=[Rule(name="valid_id", condition="order_id IS NOT NULL", action="drop")],
    quarantine="quarantine_orders")
"""


def write(tmp_path: Path, body: str) -> str:
    path = tmp_path / "pipeline.py"
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_validate_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", write(tmp_path, GOOD)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "bronze  bronze_orders                            <- /data/orders",
        "silver  silver_orders, quarantine_orders         <- bronze_orders  [1 rule(s)]",
        "ok: pipeline 'pipeline' has 2 definition(s), 3 table(s), 1 rule(s)",
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('medallion.bronze_autoloader(name="b", path="/x", fromat="json")',
         "bronze table 'b': unknown field 'fromat'. Did you mean 'format'?"),
        ('medallion.silver_with_rules(name="s", source="b", rules=[Rule(name="r", '
         'condition="x > 0", action="explode")])',
         "field 'action': 'explode' is not allowed; input should be 'warn', 'drop' or 'fail'"),
        ('medallion.silver_with_rules(name="s", source="b", rules=[Rule(name="r", '
         'condition="x > 0"), Rule(name="r", condition="y > 0")])',
         "silver table 's': field 'rules': rule name 'r' is used twice"),
        ('medallion.silver_with_rules(name="s", source="b", rules=[Rule(name="valid_amount", '
         'condition="amount * 2")])',
         "condition 'amount * 2' is not a boolean expression"),
        ('medallion.silver_with_rules(name="s", source="missing")',
         "silver table 's' (PIPELINE:4) reads 'missing', which this pipeline does not define."),
        ('medallion.silver_with_rules(name="s1", source="s2")\n'
         'medallion.silver_with_rules(name="s2", source="s1")',
         "the pipeline has a cycle: s1 -> s2 -> s1."),
        ('medallion.silver_with_rules(name="b", source="b2")',
         "table 'b' is defined twice: by bronze table 'b' (PIPELINE:3) and by silver table 'b' "
         "(PIPELINE:4)."),
    ],
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_invalid_definitions_exit_2_naming_the_culprit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, message: str, command: str
) -> None:
    source = ("import medallion\nfrom medallion import Rule\n"
              'medallion.bronze_autoloader(name="b", path="/x")\n' + body + "\n")
    path = write(tmp_path, source)
    # `run` must stop before starting Spark: the warehouse folder is never created.
    warehouse = tmp_path / "warehouse"
    argv = [command, path] + (["--warehouse", str(warehouse)] if command == "run" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert message.replace("PIPELINE", path) in err
    assert "Traceback" not in err
    assert not warehouse.exists()


def test_run_unknown_full_refresh_table_exits_2(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD)
    assert main(["run", path, "--full-refresh", "silver_order"]) == 2
    assert "did you mean 'silver_orders'?" in capsys.readouterr().err


def test_missing_file_and_bad_conf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.py")]) == 2
    assert "pipeline file" in capsys.readouterr().err
    assert main(["validate", write(tmp_path, GOOD), "--conf", "novalue"]) == 2
    assert "--conf 'novalue': expected KEY=VALUE" in capsys.readouterr().err


def test_pipeline_file_raising_is_reported(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "import medallion\nraise RuntimeError('boom')\n")
    assert main(["validate", path]) == 2
    assert "raised RuntimeError while declaring tables: boom" in capsys.readouterr().err
