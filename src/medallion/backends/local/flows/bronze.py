"""Bronze on the local runner: files → Delta, incrementally with a checkpoint, or as a snapshot."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from medallion.backends.local import delta
from medallion.backends.local.flows.base import Flow
from medallion.backends.local.streaming import run_available_now
from medallion.backends.local.warehouse import write_json_atomic
from medallion.core.bronze import add_metadata
from medallion.errors import TableRunError
from medallion.specs.bronze import BronzeSpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, DataFrameReader
    from pyspark.sql.streaming.readwriter import DataStreamReader
    from pyspark.sql.types import StructType

_TEXT_FORMATS = ("json", "csv")


class BronzeFlow(Flow):
    """Lands the files of a :class:`BronzeSpec` in its Delta table."""

    spec_type = BronzeSpec
    spec: BronzeSpec

    def process(self) -> None:
        """Land the files: as a stream when incremental, else as a snapshot."""
        if self.spec.incremental:
            self._incremental()
        else:
            self._snapshot()

    # -- reading ---------------------------------------------------------------------------------
    def _options(self, inferring: bool) -> dict[str, str]:
        options = dict(self.spec.options)
        if inferring and self.spec.format == "json" and not self.spec.infer_column_types:
            options.setdefault("primitivesAsString", "true")
        if inferring and self.spec.format == "csv":
            options.setdefault("inferSchema", "true" if self.spec.infer_column_types else "false")
        return options

    def _configure(
        self,
        reader: DataFrameReader | DataStreamReader,
        schema: StructType | str | None,
        inferring: bool = False,
    ) -> Any:
        reader = reader.format(self.spec.format).options(**self._options(inferring))
        if schema is not None:
            reader = reader.schema(schema)
        return reader

    def _source_schema(self) -> StructType | str:
        """The schema files are read with: given, else inferred once and persisted."""
        if self.spec.schema_ is not None:
            return self.spec.schema_
        from pyspark.sql.types import StructType

        state = self.run.warehouse.schema_state(self.run.schema, self.decl.name) / "schema.json"
        if state.exists():
            return StructType.fromJson(json.loads(state.read_text()))
        schema = self._infer()
        write_json_atomic(state, schema.jsonValue())
        return schema

    def _infer(self) -> StructType:
        if not _has_files(self.spec.path):
            raise TableRunError(
                self.decl.name,
                f"no files to infer the schema from in '{self.spec.path}'. Add files there, or "
                "give the columns with schema='col TYPE, ...'",
            )
        reader = self._configure(self.run.spark.read, None, inferring=True)
        return reader.load(self.spec.path).schema  # type: ignore[no-any-return]

    # -- incremental (Auto Loader semantics) ------------------------------------------------------
    def _incremental(self) -> None:
        if not Path(self.spec.path).exists():
            raise TableRunError(
                self.decl.name, f"source path '{self.spec.path}' does not exist; create it or "
                "fix 'path'",
            )
        reader = self._configure(self.run.spark.readStream, self._source_schema())
        if self.spec.max_files_per_trigger is not None:
            reader = reader.option("maxFilesPerTrigger", str(self.spec.max_files_per_trigger))
        stream = add_metadata(reader.load(self.spec.path), self.spec)
        target = self.target
        app_id = self.txn_app_id(self.decl.name)

        def handle(batch: DataFrame, batch_id: int) -> None:
            from pyspark.sql import Observation
            from pyspark.sql import functions as F

            observation = Observation()
            before = target.version()
            delta.append(
                batch.observe(observation, F.count(F.lit(1)).alias("rows")),
                target,
                txn=(app_id, batch_id),
            )
            written = delta.rows_written(target, before)
            self.result.rows_in += int(observation.get.get("rows", 0) or 0)
            self.result.rows_written += written

        run_available_now(
            stream,
            checkpoint=self.checkpoint,
            query_name=self.query_name,
            handler=handle,
        )
        if self.result.rows_in == 0:
            self.result.detail = "no new files"

    # -- snapshot (materialized view over the files) ----------------------------------------------
    def _snapshot(self) -> None:
        files = _files_fingerprint(self.spec.path)
        fingerprint = None if files is None else self.fingerprint({"files": files})
        if self.up_to_date(fingerprint):
            self.result.status = "up_to_date"
            self.result.detail = "files unchanged since the last run"
            return
        if not _has_files(self.spec.path):
            raise TableRunError(
                self.decl.name, f"no files in '{self.spec.path}'; a snapshot needs source files",
            )
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        reader = self._configure(self.run.spark.read, self.spec.schema_,
                                 inferring=self.spec.schema_ is None)
        df = add_metadata(reader.load(self.spec.path), self.spec)
        observation = Observation()
        target = self.target
        before = target.version()
        delta.overwrite(df.observe(observation, F.count(F.lit(1)).alias("rows")), target)
        self.result.rows_in = int(observation.get.get("rows", 0) or 0)
        self.result.rows_written = delta.rows_written(target, before)
        self.remember(fingerprint)


def _local_path(path: str) -> Path | None:
    if path.startswith("file:"):
        return Path(urlparse(path).path)
    if "://" in path:
        return None
    return Path(path)


def _has_files(path: str) -> bool:
    local = _local_path(path)
    if local is None:
        return True  # a remote store: let Spark tell
    if local.is_file():
        return True
    if not local.is_dir():
        return False
    return any(not f.startswith((".", "_")) for _, _, files in os.walk(local) for f in files)


def _files_fingerprint(path: str) -> str | None:
    """A hash of the files' names, sizes and modification times (None: cannot tell)."""
    local = _local_path(path)
    if local is None or not local.exists():
        return None
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(local):
        dirs.sort()
        for name in sorted(files):
            stat = (Path(root) / name).stat()
            digest.update(f"{root}/{name}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
