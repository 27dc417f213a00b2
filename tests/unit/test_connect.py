"""Spark Connect URLs, and Databricks Connect's pyspark recognised (no Spark, no real install)."""

from __future__ import annotations

import importlib.metadata
import sys
import types
from pathlib import Path
from typing import Any

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
        assert pipeline.backend is None


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


class _ServerSideStream:
    """A stream whose ``foreachBatch`` handler runs on a pickled copy, as a Connect server does."""

    def __init__(self, batches: int, fail_at: int | None = None) -> None:
        self.sparkSession = type("SparkSession", (), {"__module__": "pyspark.sql.connect.s"})()
        self.batches, self.fail_at, self.starts = batches, fail_at, 0
        self.handler: Any = None

    @property
    def writeStream(self) -> _ServerSideStream:
        return self

    def queryName(self, _name: str) -> _ServerSideStream:
        return self

    def option(self, _key: str, _value: str) -> _ServerSideStream:
        return self

    def trigger(self, **_kwargs: Any) -> _ServerSideStream:
        return self

    def foreachBatch(self, handler: Any) -> _ServerSideStream:
        from pyspark import cloudpickle

        self.handler = cloudpickle.loads(cloudpickle.dumps(handler))  # the server's copy
        return self

    def start(self) -> _ServerSideStream:
        self.starts += 1
        return self

    def awaitTermination(self) -> None:
        if self.starts == 1 and self.fail_at == -1:
            raise RuntimeError("Python worker failed to connect back.")
        for batch_id in range(self.batches):
            try:
                self.handler(None, batch_id)
            except Exception as exc:
                raise RuntimeError(f"[FOREACH_BATCH_USER_FUNCTION_ERROR] {exc}") from None


class _Owner:
    def __init__(self) -> None:
        self.run = "the run (not carried back)"
        self.rows = 0
        self.notes: list[str] = []

    def handle(self, _batch: Any, batch_id: int) -> None:
        if batch_id == 2:
            raise medallion.ExpectationFailed("t", ["valid_id"], "{\"id\": null}")
        self.rows += 10
        self.notes.append(f"batch {batch_id}")


def test_connect_handler_effects_come_back_from_the_server(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    from medallion.backends.local.available_now import run_available_now

    owner = _Owner()
    stream = _ServerSideStream(batches=2, fail_at=-1)  # the first worker start times out
    ran = run_available_now(stream, checkpoint=tmp_path / "cp", query_name="q",  # type: ignore[arg-type]
                            handler=owner.handle, owner=owner)
    assert (ran, owner.rows, owner.notes, owner.run) == (
        2, 20, ["batch 0", "batch 1"], "the run (not carried back)")
    assert stream.starts == 2


def test_connect_handler_error_is_raised_as_itself(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    from medallion.backends.local.available_now import run_available_now

    owner = _Owner()
    with pytest.raises(medallion.ExpectationFailed) as info:
        run_available_now(_ServerSideStream(batches=3), checkpoint=tmp_path / "cp",  # type: ignore[arg-type]
                          query_name="q", handler=owner.handle, owner=owner)
    assert (info.value.table, info.value.rules) == ("t", ("valid_id",))
