"""`medallion init-spark-pipeline` writes a project spark-pipelines can load and rerun."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
import yaml

from medallion import cli
from medallion.backends.spark_pipelines.project import (
    delta_artifact,
    delta_package,
    init_spark_pipeline,
    require_spark_pipelines,
)
from medallion.errors import BackendError, MedallionError

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "examples/orders/pipeline.py"
INSTALLED_SPARK = tuple(int(p) for p in importlib.metadata.version("pyspark").split(".")[:2])
#: `spark-pipelines` and `pyspark.pipelines` exist from Spark 4.1 on; the Spark 3.5 line has
#: neither, so a project for them cannot be generated there (see test_spark_35_line_refuses).
needs_spark_pipelines = pytest.mark.skipif(
    INSTALLED_SPARK < (4, 1), reason="spark-pipelines exists from Spark 4.1 on")


@pytest.mark.parametrize(("spark", "delta", "artifact"), [
    ("3.5.7", "3.3.2", "delta-spark_2.12"),   # Databricks Runtime 15.4 / 16.4 LTS line
    ("3.5.3", "3.3.0", "delta-spark_2.12"),
    ("4.0.1", "4.0.0", "delta-spark_2.13"),   # Delta 4.0 was built for Spark 4.0 only
    ("4.0.1", "4.4.0", "delta-spark_4.0_2.13"),
    ("4.1.1", "4.3.1", "delta-spark_4.1_2.13"),
    ("4.2.0", "4.4.0", "delta-spark_4.2_2.13"),
])
def test_delta_artifact_per_line(spark: str, delta: str, artifact: str) -> None:
    assert delta_artifact(spark, delta) == artifact


@pytest.mark.parametrize(("spark", "delta"), [("3.5.7", "4.4.0"), ("4.2.0", "3.3.2"),
                                              ("3.4.1", "3.3.2")])
def test_delta_artifact_rejects_incompatible_pairs(spark: str, delta: str) -> None:
    with pytest.raises(MedallionError, match=f"delta-spark {delta} does not run on Spark "
                                             f"{spark}.*MEDALLION_SPARK=3.5"):
        delta_artifact(spark, delta)


def test_delta_package_is_the_installed_pair() -> None:
    spark, delta = (importlib.metadata.version(p) for p in ("pyspark", "delta-spark"))
    expected = {(3, 5): "delta-spark_2.12"}.get(
        INSTALLED_SPARK, f"delta-spark_{spark.rsplit('.', 1)[0]}_2.13")
    assert delta_package() == f"io.delta:{expected}:{delta}"


def test_spark_35_line_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version",
                        lambda name: "3.5.7" if name == "pyspark" else real(name))
    with pytest.raises(MedallionError, match=r"medallion init-spark-pipeline needs Apache Spark "
                       r"4\.1 or later .*installed pyspark is 3\.5\.7.*medallion run"):
        init_spark_pipeline(PIPELINE, tmp_path / "p")
    assert not (tmp_path / "p").exists()
    monkeypatch.setattr(importlib.metadata, "version",
                        lambda name: "4.1.0" if name == "pyspark" else real(name))
    require_spark_pipelines()  # 4.1 is enough


@pytest.mark.skipif(INSTALLED_SPARK >= (4, 1), reason="checks the Spark 3.5 line itself")
def test_spark_pipelines_backend_on_spark_35() -> None:
    from medallion import Pipeline
    from medallion.backends.spark_pipelines import SparkPipelinesBackend

    with pytest.raises(MedallionError,
                       match=r"the spark-pipelines backend needs Apache Spark 4\.1"):
        SparkPipelinesBackend(Pipeline("p"))


@needs_spark_pipelines
def test_project_files(tmp_path: Path) -> None:
    project = init_spark_pipeline(PIPELINE, tmp_path / "p", name="orders",
                                  configuration={"raw": "/data/raw"})
    spec = yaml.safe_load(project.spec.read_text())
    assert spec == {
        "name": "orders",
        "storage": (tmp_path / "p" / "pipeline-storage").as_uri(),
        "configuration": {"spark.sql.sources.default": "delta", "raw": "/data/raw"},
        "libraries": [{"glob": {"include": "transformations/**"}}],
    }
    # the spec is what pyspark's own spark-pipelines CLI accepts
    from pyspark.pipelines.cli import load_pipeline_spec

    assert load_pipeline_spec(project.spec).configuration["raw"] == "/data/raw"
    conf = dict(line.split(" ", 1) for line in
                (project.conf_dir / "spark-defaults.conf").read_text().splitlines()
                if line and not line.startswith("#"))
    assert conf["spark.sql.catalog.spark_catalog"] == \
        "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert conf["spark.jars.packages"] == delta_package()
    assert conf["spark.sql.catalogImplementation"] == "hive"  # a persistent catalog: reruns
    assert str(tmp_path / "p" / "metastore_db") in conf[
        "spark.hadoop.javax.jdo.option.ConnectionURL"]
    assert conf["spark.sql.sources.default"] == "delta"
    stub = (tmp_path / "p" / "transformations" / "orders.py").read_text()
    assert f"register_file({str(PIPELINE)!r}, spark)" in stub
    assert project.command() == (f"SPARK_CONF_DIR={tmp_path}/p/conf spark-pipelines run "
                                 f"--spec {tmp_path}/p/spark-pipeline.yml")

    with pytest.raises(MedallionError, match="already exists; pass --force"):
        init_spark_pipeline(PIPELINE, tmp_path / "p")
    init_spark_pipeline(PIPELINE, tmp_path / "p", name="orders", force=True)


@needs_spark_pipelines
def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["init-spark-pipeline", str(PIPELINE), "--dir", str(tmp_path / "q"),
                     "--conf", "raw=/r"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"SPARK_CONF_DIR={tmp_path}/q/conf spark-pipelines run" in out
    missing = cli.main(["init-spark-pipeline", str(tmp_path / "nope.py"), "--dir",
                        str(tmp_path / "r")])
    assert missing == 2
    assert "does not exist" in capsys.readouterr().err


def test_register_file_outside_spark_pipelines() -> None:
    from medallion.backends.spark_pipelines import register_file

    with pytest.raises(BackendError, match="only works while spark-pipelines loads a project"):
        register_file(PIPELINE)
