"""The driver heap a local session starts with when nobody chose one."""

from __future__ import annotations

from pathlib import Path

import pytest

from medallion.backends.local.session import default_driver_memory

GIB = 1024


@pytest.mark.parametrize(("physical", "expected"), [
    (24 * GIB, "6144m"),   # a quarter of the machine
    (2 * GIB, "1024m"),    # never below Spark's own default
    (64 * GIB, "8192m"),   # capped: a laptop's pipeline test needs no more
])
def test_a_quarter_of_the_machine_between_1_and_8_gib(physical: int, expected: str) -> None:
    assert default_driver_memory({}, environ={}, physical_mb=physical) == expected


def test_a_heap_given_in_conf_is_kept() -> None:
    assert default_driver_memory({"spark.driver.memory": "2g"}, environ={},
                                 physical_mb=24 * GIB) is None


@pytest.mark.parametrize("environ", [
    {"SPARK_DRIVER_MEMORY": "3g"},
    {"PYSPARK_SUBMIT_ARGS": "--driver-memory 3g pyspark-shell"},
])
def test_a_heap_given_in_the_environment_is_kept(environ: dict[str, str]) -> None:
    assert default_driver_memory({}, environ=environ, physical_mb=24 * GIB) is None


@pytest.mark.parametrize("line", ["spark.driver.memory 3g", "spark.driver.memory=3g",
                                  "  spark.driver.memory:3g"])
def test_a_heap_in_spark_defaults_is_kept(tmp_path: Path, line: str) -> None:
    (tmp_path / "spark-defaults.conf").write_text(f"spark.ui.enabled false\n{line}\n")
    assert default_driver_memory({}, environ={"SPARK_CONF_DIR": str(tmp_path)},
                                 physical_mb=24 * GIB) is None


def test_other_spark_defaults_do_not_count(tmp_path: Path) -> None:
    (tmp_path / "spark-defaults.conf").write_text(
        "# spark.driver.memory 3g\nspark.driver.memoryOverhead 1g\n")
    assert default_driver_memory({}, environ={"SPARK_CONF_DIR": str(tmp_path)},
                                 physical_mb=24 * GIB) == "6144m"
