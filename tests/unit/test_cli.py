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


# -- run --full-refresh: table names only, never the pipeline file ----------------------------
def refresh_of(*argv: str) -> bool | list[str]:
    from medallion.cli import _full_refresh_choice, build_parser

    return _full_refresh_choice(build_parser().parse_args(["run", *argv]))


def test_full_refresh_takes_tables_comma_separated_and_repeatable() -> None:
    assert refresh_of("p.py") is False
    assert refresh_of("p.py", "--full-refresh", "a,b", "--full-refresh", "c") == ["a", "b", "c"]
    assert refresh_of("--full-refresh", "a", "p.py") == ["a"]
    assert refresh_of("p.py", "--full-refresh-all") is True
    assert refresh_of("p.py", "--full-refresh") is True  # bare, at the end: every table


@pytest.mark.parametrize("value", ["pipeline.py", "examples/orders/pipeline.yaml", "p.JSON"])
def test_full_refresh_refuses_a_file_for_a_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    path = write(tmp_path, GOOD)
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--full-refresh", value, path, "--warehouse", str(tmp_path / "w")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert (f"argument --full-refresh: '{value}' looks like a file, not a table name. Give the "
            "pipeline file(s) first and the tables after the flag: `medallion run PIPELINE "
            "--full-refresh TABLE[,TABLE]`, or reset every table with `medallion run PIPELINE "
            "--full-refresh-all`") in err
    assert not (tmp_path / "w").exists()


def test_full_refresh_all_with_names_and_old_spaced_names_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD)
    assert main(["run", path, "--full-refresh-all", "--full-refresh", "silver_orders"]) == 2
    assert capsys.readouterr().err == (
        "error: --full-refresh silver_orders resets some tables, --full-refresh-all (or a bare "
        "--full-refresh) every table: give one of the two\n")
    with pytest.raises(SystemExit):
        main(["run", path, "--full-refresh", "bronze_orders", "silver_orders"])
    assert capsys.readouterr().err.endswith(
        "error: unrecognized arguments: silver_orders (--full-refresh takes one comma-separated "
        "list: --full-refresh a,b; or repeat it: --full-refresh a --full-refresh b)\n")


def test_runner_takes_one_string_as_table_names() -> None:
    import medallion

    with medallion.Pipeline("p") as pipeline:
        medallion.bronze_autoloader(name="a", path="/x")
        medallion.silver_with_rules(name="b", source="a")
    assert pipeline.check_table_names("a, b") == {"a", "b"}
    with pytest.raises(medallion.GraphError, match=r"table 'pipeline\.py' is not in pipeline 'p'"):
        pipeline.check_table_names("pipeline.py")


# -- validate and graph take a pipeline's notebooks, as run does ------------------------------
def test_validate_and_graph_take_several_files(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    bronze = tmp_path / "bronze.py"
    bronze.write_text('import medallion\nmedallion.bronze_autoloader(name="b", path="/x")\n')
    silver = tmp_path / "silver.py"
    silver.write_text('import medallion\nmedallion.silver_with_rules(name="s", source="b")\n')
    assert main(["validate", str(bronze), str(silver)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "ok: pipeline 'bronze' has 2 definition(s), 2 table(s), 0 rule(s)")
    assert main(["graph", str(bronze), str(silver)]) == 0
    assert "t_b --> t_s" in capsys.readouterr().out
    assert main(["validate", str(silver)]) == 2  # alone, it reads a table nobody defines
    assert "reads 'b', which this pipeline does not define" in capsys.readouterr().err
