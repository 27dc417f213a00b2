"""Spark Connect URLs, and Databricks Connect's pyspark recognised (no Spark, no real install)."""

from __future__ import annotations

import importlib.metadata
import sys
import types
from pathlib import Path

import pytest

import medallion
from medallion import BackendError
from medallion.backends import selected_backend
from medallion.backends.local import connect
from medallion.cli import main

ORDERS = Path(__file__).resolve().parents[2] / "examples/orders/pipeline.py"


@pytest.fixture
def databricks_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    """As after ``pip install databricks-dlt``: the distribution and its modules are present."""
    real_version = importlib.metadata.version

    def version(name: str) -> str:
        if name == "databricks-connect":
            return "16.4.2"
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    for name in ("databricks", "databricks.connect", "dlt"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.delenv("MEDALLION_BACKEND", raising=False)
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    monkeypatch.delenv(connect.REMOTE_ENV_VAR, raising=False)


def test_databricks_connect_is_named_with_both_fixes(databricks_connect: None) -> None:
    assert connect.databricks_connect_version() == "16.4.2"
    with pytest.raises(BackendError) as info:
        medallion.local_session()
    message = str(info.value)
    assert message.startswith(
        "the installed pyspark is Databricks Connect's (databricks-connect 16.4.2, pulled in "
        "e.g. by databricks-dlt): it cannot start a local Spark")
    assert 'pip install "medallion[local]"' in message
    assert "--remote sc://HOST:PORT (or $MEDALLION_SPARK_REMOTE)" in message
    assert "PyArrow" not in message


def test_importable_dlt_and_databricks_connect_keep_the_local_backend(
    databricks_connect: None,
) -> None:
    import dlt  # noqa: F401 - the fake modules import, as the real ones would

    assert selected_backend() == "local"
    with medallion.Pipeline("p") as pipeline:  # no runtime backend attached to it
        assert pipeline._on_declare is None


def test_cli_run_prints_the_databricks_connect_message(
    databricks_connect: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", str(ORDERS), "--warehouse", str(tmp_path), "--conf", "raw=/nowhere"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("starting Spark...\nerror: the installed pyspark is Databricks "
                          "Connect's (databricks-connect 16.4.2")
    assert "Traceback" not in err


def test_without_databricks_connect_nothing_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert connect.databricks_connect_version() is None
    connect.refuse_databricks_connect()  # returns: nothing to refuse


def test_remote_url_from_argument_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(connect.REMOTE_ENV_VAR, raising=False)
    assert connect.remote_url(None) is None
    assert connect.remote_url("sc://localhost:15002") == "sc://localhost:15002"
    monkeypatch.setenv(connect.REMOTE_ENV_VAR, " sc://spark:15002 ")
    assert connect.remote_url(None) == "sc://spark:15002"
    assert connect.remote_url("sc://other:1") == "sc://other:1"  # the argument wins


def test_a_url_that_is_not_spark_connect_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(connect.REMOTE_ENV_VAR, "http://spark:15002")
    with pytest.raises(BackendError, match=r"\$MEDALLION_SPARK_REMOTE='http://spark:15002' "
                                           r"is not a Spark Connect URL; give one like sc://"):
        connect.remote_url(None)
    with pytest.raises(BackendError, match=r"^remote='localhost:15002' is not a Spark"):
        medallion.local_session(remote="localhost:15002")


def test_cli_run_accepts_remote() -> None:
    from medallion.cli import build_parser

    args = build_parser().parse_args(["run", "p.py", "--remote", "sc://h:1"])
    assert args.remote == "sc://h:1"


def test_is_connect_asks_the_session_class() -> None:
    classic = type("SparkSession", (), {"__module__": "pyspark.sql.session"})()
    remote = type("SparkSession", (), {"__module__": "pyspark.sql.connect.session"})()
    assert connect.is_connect(classic) is False
    assert connect.is_connect(remote) is True


def test_merge_builder_writes_the_statement_delta_would_run() -> None:
    from medallion.backends.local.sqldelta import SqlDeltaTable

    table = SqlDeltaTable(spark=None, uri="file:/wh/db/t")  # type: ignore[arg-type]
    builder = (
        table.alias("t").merge(None, "t.`id` = s.`id`")  # type: ignore[arg-type]
        .whenMatchedDelete(condition="s.op = 'DELETE'")
        .whenMatchedUpdate(condition="NOT (t.`v` <=> s.`v`)", set={"`v`": "s.`v`"})
        .whenMatchedUpdateAll(condition="s.ts > t.ts")
        .whenNotMatchedInsert(condition="s.op = 'UPSERT'", values={"id": "s.`id`", "v": "NULL"})
        .whenNotMatchedInsertAll()
        .whenNotMatchedBySourceUpdate(condition="t.end IS NULL", set={"end": "1"})
        .whenNotMatchedBySourceDelete()
    )
    assert builder.sql("src") == (
        "MERGE INTO delta.`file:/wh/db/t` AS t USING `src` AS s ON t.`id` = s.`id` "
        "WHEN MATCHED AND (s.op = 'DELETE') THEN DELETE "
        "WHEN MATCHED AND (NOT (t.`v` <=> s.`v`)) THEN UPDATE SET t.`v` = s.`v` "
        "WHEN MATCHED AND (s.ts > t.ts) THEN UPDATE SET * "
        "WHEN NOT MATCHED AND (s.op = 'UPSERT') THEN INSERT (`id`, `v`) VALUES (s.`id`, NULL) "
        "WHEN NOT MATCHED THEN INSERT * "
        "WHEN NOT MATCHED BY SOURCE AND (t.end IS NULL) THEN UPDATE SET t.`end` = 1 "
        "WHEN NOT MATCHED BY SOURCE THEN DELETE")


def test_merge_values_must_be_sql_text() -> None:
    from medallion.backends.local.sqldelta import SqlDeltaTable

    builder = SqlDeltaTable(spark=None, uri="file:/t").merge(None, "x")  # type: ignore[arg-type]
    with pytest.raises(BackendError, match="MERGE value for column 'v' is a Column object"):
        builder.whenMatchedUpdate(set={"v": object()})


def test_create_table_statement_carries_every_setting() -> None:
    pytest.importorskip("pyspark")
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    from medallion.backends.local.sqldelta import create_table

    statements: list[str] = []
    spark = types.SimpleNamespace(sql=statements.append)
    schema = StructType([StructField("id", LongType(), False),
                         StructField("it's", StringType(), True, {"comment": "a note"})])
    create_table(spark, qualified="db.t", location="file:/wh/db/t",  # type: ignore[arg-type]
                 schema=schema, comment="rows' home", properties={"quality": "silver"},
                 cluster_by=("id",), partition_cols=())
    assert statements == [
        "CREATE TABLE IF NOT EXISTS `db`.`t` (`id` bigint NOT NULL, `it's` string COMMENT "
        "'a note') USING DELTA CLUSTER BY (`id`) LOCATION 'file:/wh/db/t' COMMENT "
        "'rows\\' home' TBLPROPERTIES ('quality' = 'silver')"]
