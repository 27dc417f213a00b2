"""What a Databricks notebook's ``spark`` global is when medallion runs the notebook locally.

A pipeline notebook uses ``spark`` in two places: at its top level, to read the pipeline's
configuration (``spark.conf.get("source_path", ...)``), and inside its query functions, to read
data. :class:`NotebookSpark` serves both without starting Spark while tables are declared:

- ``spark.conf.get(key, default)`` reads the pipeline configuration (``--conf key=value``) and,
  once a session runs, its Spark conf — as a Databricks pipeline exposes its configuration;
- any other attribute is the local runner's active session, looked up when used;
- ``spark.readStream.format("cloudFiles")`` (Auto Loader, Databricks only) becomes Spark's file
  stream with the same meaning for the options medallion knows (:data:`KNOWN_CLOUDFILES_OPTIONS`):
  the rows carry the rescued data column (``rescuedDataColumn``, as Databricks documents it;
  ``cloudFiles.rescuedDataColumn`` is accepted too; ``_rescued_data`` when the schema is
  inferred, as on Databricks) and the corrupt record column, computed as the
  local runner computes them. The inferred schema is kept in ``cloudFiles.schemaLocation``, so
  later runs read new files the same way; a later file's new fields go to the rescued data
  column (Databricks would restart the stream with the new columns: declare the table with
  ``medallion.bronze_autoloader()`` for that).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medallion.errors import MedallionError, SpecError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: Auto Loader options the local translation understands; any other ``cloudFiles.*`` is refused.
KNOWN_CLOUDFILES_OPTIONS = (
    "cloudFiles.format",
    "cloudFiles.inferColumnTypes",
    "cloudFiles.schemaLocation",
    "cloudFiles.maxFilesPerTrigger",
    "cloudFiles.schemaHints",
    "cloudFiles.schemaEvolutionMode",
    "cloudFiles.rescuedDataColumn",
    "cloudFiles.includeExistingFiles",
)
SCHEMA_FILE = "medallion-inferred-schema.json"
#: Both spellings of the rescued data column option, lower-cased: Databricks documents
#: ``rescuedDataColumn``; older notebooks write ``cloudFiles.rescuedDataColumn``.
RESCUED_KEYS = ("rescueddatacolumn", "cloudfiles.rescueddatacolumn")


def session() -> SparkSession:
    """The active session, or an error saying where ``spark`` can be used."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is None:
        raise MedallionError(
            "'spark' is only available inside query functions while a pipeline runs (and for "
            "spark.conf.get at the top level). Read data inside a function decorated with "
            "@dlt.table or @medallion.table."
        )
    return active


class NotebookConf:
    """``spark.conf`` at declaration time: the pipeline configuration, then the Spark conf."""

    def get(self, key: str, default: str | None = None) -> str | None:
        """The configuration value of ``key``, else ``default``."""
        from medallion.active import config
        from medallion.backends.runtime import spark_conf

        value = config(key)
        return value if value is not None else spark_conf(key, default)


class NotebookSpark:
    """The ``spark`` global of a notebook run locally (see the module docstring).

    Example:
        >>> spark = NotebookSpark()
        >>> spark.conf.get("source_path", "/data/raw")
        '/data/raw'
    """

    conf = NotebookConf()

    def __getattr__(self, name: str) -> Any:
        return getattr(session(), name)

    @property
    def readStream(self) -> AutoLoaderStreamReader:
        """``spark.readStream``, understanding Auto Loader's ``cloudFiles`` format."""
        return AutoLoaderStreamReader(session())

    @property
    def read(self) -> AutoLoaderStreamReader:
        """``spark.read``, understanding Databricks' ``rescuedDataColumn`` reader option."""
        return AutoLoaderStreamReader(session(), stream=False)

    def __repr__(self) -> str:
        return "<medallion NotebookSpark: the local runner's SparkSession>"


class AutoLoaderStreamReader:
    """A reader translating Databricks-only reads into the local runner's equivalents.

    As ``spark.readStream`` (``stream=True``) it turns ``format("cloudFiles")`` into Spark's
    file stream; as ``spark.read`` it honours the ``rescuedDataColumn`` option (which
    Databricks' file readers take and open-source Spark ignores). Anything else passes through
    to Spark's own reader.
    """

    def __init__(self, spark: SparkSession, *, stream: bool = True) -> None:
        self._spark = spark
        self._stream = stream
        self._format: str | None = None
        self._options: dict[str, str] = {}
        self._schema: Any = None

    def format(self, source: str) -> AutoLoaderStreamReader:  # noqa: D102
        self._format = source
        return self

    def option(self, key: str, value: Any) -> AutoLoaderStreamReader:  # noqa: D102
        self._options[key] = _text(value)
        return self

    def options(self, **options: Any) -> AutoLoaderStreamReader:  # noqa: D102
        for key, value in options.items():
            self.option(key, value)
        return self

    def schema(self, schema: Any) -> AutoLoaderStreamReader:  # noqa: D102
        self._schema = schema
        return self

    def load(self, path: str | None = None, **options: Any) -> DataFrame:
        """The stream; Auto Loader options are translated, other formats pass through."""
        self.options(**options)
        if self._stream and (self._format or "").lower() == "cloudfiles":
            if path is None:
                raise SpecError("Auto Loader (cloudFiles) needs the path of the files to load")
            return self._autoloader(path)
        rescue = next((k for k in self._options if k.lower() == "rescueddatacolumn"), None)
        if not self._stream and rescue is not None and path is not None:
            return self._rescuing_read(path, self._options[rescue])
        loaded: DataFrame = (
            self._plain().load(path) if path is not None else self._plain().load()
        )
        return loaded

    def table(self, name: str) -> DataFrame:  # noqa: D102
        return self._plain().table(name)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        # json(), parquet(), csv()... of the real reader, with what was configured so far.
        return getattr(self._plain(), name)

    def _plain(self) -> Any:
        reader: Any = self._spark.readStream if self._stream else self._spark.read
        if self._format is not None:
            reader = reader.format(self._format)
        if self._options:
            reader = reader.options(**self._options)
        if self._schema is not None:
            reader = reader.schema(self._schema)
        return reader

    def _autoloader(self, path: str) -> DataFrame:
        from medallion.core.bronze.rows import bronze_rows
        from medallion.specs import BronzeSpec
        from medallion.specs.errors import build_spec

        opts = self._options
        unknown = sorted(k for k in opts
                         if k.startswith("cloudFiles.") and k not in KNOWN_CLOUDFILES_OPTIONS)
        if unknown:
            raise SpecError(
                f"Auto Loader option {unknown[0]!r} is not supported when a notebook runs "
                f"locally (supported: {', '.join(KNOWN_CLOUDFILES_OPTIONS)}). Declare the table "
                "with medallion.bronze_autoloader() for the full local Auto Loader semantics."
            )
        if opts.get("cloudFiles.includeExistingFiles", "true").lower() == "false":
            raise SpecError(
                f"Auto Loader read of '{path}': cloudFiles.includeExistingFiles=false is not "
                "supported when a notebook runs locally; declare the table with "
                "medallion.bronze_autoloader(include_existing_files=False)"
            )
        fmt = opts.get("cloudFiles.format")
        if fmt is None:
            raise SpecError("Auto Loader (cloudFiles) needs the option cloudFiles.format")
        inferring = self._schema is None
        corrupt = opts.get("columnNameOfCorruptRecord", "_corrupt_record")
        spelled = [k for k in opts if k.lower() in RESCUED_KEYS]
        rescued = (opts[spelled[0]] if spelled else "_rescued_data" if inferring else None)
        mode = opts.get("cloudFiles.schemaEvolutionMode",
                        "addNewColumns" if inferring else "none")
        if mode == "addNewColumns" and rescued is not None:
            mode = "rescue"  # the schema stays the first inference: new fields are rescued
        hints = ", ".join(
            h for h in (opts.get("cloudFiles.schemaHints") or "").split(",")
            if h.strip() and h.strip().split()[0].strip("`") != corrupt)
        max_files = opts.get("cloudFiles.maxFilesPerTrigger")
        spec: BronzeSpec = build_spec(BronzeSpec, {
            "name": "cloudFiles", "path": path, "format": fmt.lower(),
            "infer_column_types": opts.get("cloudFiles.inferColumnTypes", "false")
            .lower() == "true",
            "schema_hints": hints or None,
            "schema_evolution_mode": mode,
            "rescued_data_column": rescued,
            "max_files_per_trigger": int(max_files) if max_files else None,
            "options": {k: v for k, v in opts.items()
                        if not k.startswith("cloudFiles.") and k not in spelled},
        }, what="Auto Loader read")
        schema = self._declared_schema() if not inferring else self._inferred_schema(spec)
        return bronze_rows(self._spark.readStream, spec, schema)

    def _rescuing_read(self, path: str, rescued: str) -> DataFrame:
        """A batch read of files with a rescued data column, as the local runner reads them."""
        from medallion.core.bronze.rows import bronze_rows
        from medallion.specs import BronzeSpec
        from medallion.specs.errors import build_spec

        spec: BronzeSpec = build_spec(BronzeSpec, {
            "name": "read", "path": path, "format": (self._format or "parquet").lower(),
            "incremental": False, "rescued_data_column": rescued,
            "options": {k: v for k, v in self._options.items()
                        if k.lower() != "rescueddatacolumn"},
        }, what="file read")
        schema: Any = None
        if self._schema is not None:
            schema = self._declared_schema()
        elif spec.format in ("json", "csv"):
            schema = self._inferred_schema(spec)
        return bronze_rows(self._spark.read, spec, schema)

    def _declared_schema(self) -> Any:
        from medallion.core.compat import parse_ddl

        if isinstance(self._schema, str):
            return parse_ddl(self._schema)
        return self._schema

    def _inferred_schema(self, spec: Any) -> Any:
        """Infer from the files present (hints applied), kept in ``cloudFiles.schemaLocation``."""
        from pyspark.sql.types import StructType

        from medallion.core.bronze import reader_options
        from medallion.core.compat import parse_ddl

        location = self._options.get("cloudFiles.schemaLocation")
        state = Path(location.removeprefix("file:")) / SCHEMA_FILE if location else None
        if state is not None and state.exists():
            return StructType.fromJson(json.loads(state.read_text()))
        reader = self._spark.read.format(spec.format).options(
            **reader_options(spec, inferring=True, listed=False))
        try:
            schema = reader.load(spec.path).schema
        except Exception as exc:
            raise SpecError(
                f"Auto Loader read of '{spec.path}': cannot infer the schema "
                f"({str(exc).strip().splitlines()[0]}); add files there or give .schema(...)"
            ) from None
        if spec.schema_hints:
            hint_type: Any = parse_ddl(spec.schema_hints)
            hinted = {f.name: f for f in hint_type.fields}
            fields = [hinted.pop(f.name, f) for f in schema.fields]
            schema = StructType(fields + list(hinted.values()))
        if state is not None:
            from medallion.backends.local.warehouse import write_json_atomic

            write_json_atomic(state, schema.jsonValue())
        return schema


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
