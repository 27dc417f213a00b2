"""`medallion init-spark-pipeline` writes a project spark-pipelines can load and rerun."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from medallion import cli
from medallion.errors import BackendError, MedallionError
from medallion.spark_project import init_spark_pipeline

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "examples/orders/pipeline.py"


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
    assert conf["spark.jars.packages"] == "io.delta:delta-spark_4.2_2.13:4.4.0"
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
