"""Bronze: raw files landed into a Delta table, incrementally (Auto Loader) or as a snapshot.

Each field of :class:`BronzeSpec` is one Auto Loader setting; :func:`medallion.core.bronze.
autoloader_options` translates them 1:1 to the ``cloudFiles`` reader on Databricks, and the local
runner gives them the same meaning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from medallion.specs.base import TableSpec
from medallion.specs.ddl import DdlColumn, parse_columns

FileFormat = Literal["json", "csv", "parquet", "text", "avro", "orc"]
SchemaEvolutionMode = Literal["addNewColumns", "rescue", "failOnNewColumns", "none"]
MetadataField = Literal[
    "file_path", "file_name", "file_size", "file_modification_time", "ingestion_time"
]
METADATA_FIELDS: tuple[str, ...] = (
    "file_path", "file_name", "file_size", "file_modification_time", "ingestion_time"
)
#: Formats whose records are parsed from text: malformed records and type mismatches exist.
TEXT_FORMATS: tuple[str, ...] = ("json", "csv")
#: Auto Loader's default ``cloudFiles.maxFilesPerTrigger``; the local runner uses it too.
DEFAULT_MAX_FILES_PER_TRIGGER = 1000
DEFAULT_CORRUPT_RECORD_COLUMN = "_corrupt_record"

_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Reader options that are spec fields (or that would lose records): option → the fix.
_OPTION_FIELDS = {
    "rescueddatacolumn": "set rescued_data_column='...' instead",
    "inferschema": "set infer_column_types=True instead",
    "primitivesasstring": "set infer_column_types=False (the default) instead",
    "schemahints": "set schema_hints='col TYPE, ...' instead",
    "schemaevolutionmode": "set schema_evolution_mode='...' instead",
    "maxfilespertrigger": "set max_files_per_trigger=N instead",
    "includeexistingfiles": "set include_existing_files=False instead",
    "dropfieldifallnull": "bronze keeps every field; remove the option",
}


class BronzeSpec(TableSpec):
    """A bronze table: files from ``path`` in ``format``, landed as they are, losing nothing.

    With ``incremental=True`` (the default, :func:`medallion.bronze_autoloader`) this is a
    streaming table: on Databricks an Auto Loader (``cloudFiles``) stream, locally a file stream
    with a checkpoint, so each file is ingested once. With ``incremental=False``
    (:func:`medallion.bronze_batch`) the table is a snapshot of the files, recomputed on every run
    (reference data such as customers).

    Example:
        >>> spec = BronzeSpec(name="bronze_orders", path="/raw/orders", format="json",
        ...                   schema_hints="amount DECIMAL(10,2)")
        >>> spec.evolution_mode, spec.rescued_data_column
        ('addNewColumns', '_rescued_data')

    Attributes:
        path: Folder (or glob) holding the files.
        format: File format.
        schema_: DDL string of the columns (``"order_id BIGINT, amount DOUBLE"``); when omitted
            the schema is inferred once and persisted, so later runs read new files the same way.
        schema_hints: DDL fragment overriding the inferred type of named columns (or adding
            them), as ``cloudFiles.schemaHints``; only with an inferred schema.
        infer_column_types: As ``cloudFiles.inferColumnTypes``: when False (the default) the
            columns of JSON and CSV files are inferred as strings.
        schema_evolution_mode: What a column that is not in the schema does:
            ``addNewColumns`` (the column is added, older rows NULL; default without ``schema``),
            ``rescue`` (kept in the rescued data column, the schema never changes),
            ``failOnNewColumns`` (the run fails naming the column and the file, nothing of that
            batch is written) or ``none`` (default with ``schema``: ignored, or rescued when a
            rescued data column is set).
        rescued_data_column: Column receiving, as a JSON object, the fields that did not fit the
            schema (unknown column, type mismatch, case mismatch) plus ``_file_path``; NULL when
            nothing was rescued. ``None`` turns it off (then ``rescue`` mode is not available).
        options: Reader options (``header``, ``multiLine``, ``delimiter``...). A malformed
            record is kept with its raw text in ``columnNameOfCorruptRecord``
            (``_corrupt_record`` unless set here).
        metadata_columns: Columns to add, output name → file metadata field
            (from ``_metadata``, never ``input_file_name()``) or ``ingestion_time``.
        max_files_per_trigger: Upper bound on files per micro-batch (one Delta commit each);
            default 1000, as Auto Loader.
        include_existing_files: When False, files already present at the first run are never
            ingested, only those that arrive later.
    """

    layer: ClassVar[str] = "bronze"

    kind: Literal["bronze"] = "bronze"
    path: str
    format: FileFormat = "json"
    schema_: str | None = Field(default=None, alias="schema")
    schema_hints: str | None = None
    infer_column_types: bool = False
    schema_evolution_mode: SchemaEvolutionMode | None = None
    rescued_data_column: str | None = "_rescued_data"
    options: dict[str, str] = Field(default_factory=dict)
    metadata_columns: dict[str, MetadataField] = Field(default_factory=dict)
    max_files_per_trigger: int | None = Field(default=None, ge=1)
    include_existing_files: bool = True
    incremental: bool = True

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value or not value.strip():
            raise ValueError("path must name the folder holding the source files")
        return value

    @field_validator("options", mode="before")
    @classmethod
    def _options(cls, value: Any) -> Any:
        if isinstance(value, dict):
            out: dict[str, str] = {}
            for key, val in value.items():
                name = str(key)
                if name.startswith("cloudFiles."):
                    raise ValueError(
                        f"option {key!r}: give Auto Loader settings as spec fields "
                        "(e.g. infer_column_types, max_files_per_trigger), not cloudFiles.* "
                        "options; medallion translates them on Databricks"
                    )
                fix = _OPTION_FIELDS.get(name.lower())
                if fix is not None:
                    raise ValueError(f"option {key!r} is a bronze setting: {fix}")
                text = ("true" if val else "false") if isinstance(val, bool) else str(val)
                if name.lower() == "mode" and text.upper() not in ("PERMISSIVE", "FAILFAST"):
                    raise ValueError(
                        f"option mode={text!r}: bronze never drops records; use 'PERMISSIVE' "
                        "(the default: malformed records are kept with their raw text) or "
                        "'FAILFAST' (the run fails on the first malformed record)"
                    )
                out[name] = text
            return out
        return value

    @field_validator("schema_")
    @classmethod
    def _schema(cls, value: str | None) -> str | None:
        if value is not None:
            if not value.strip():
                raise ValueError("schema is empty: give a DDL string or leave it out to infer")
            parse_columns(value, "schema")
        return value

    @field_validator("schema_hints")
    @classmethod
    def _hints(cls, value: str | None) -> str | None:
        if value is not None:
            if not value.strip():
                raise ValueError("schema_hints is empty: give 'col TYPE, ...' or leave it out")
            parse_columns(value, "schema_hints")
        return value

    @field_validator("rescued_data_column")
    @classmethod
    def _rescued(cls, value: str | None) -> str | None:
        if value is not None and not _COLUMN_NAME.match(value):
            raise ValueError(
                f"rescued_data_column {value!r} is not a plain column name "
                "(letters, digits, underscores), e.g. '_rescued_data'"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> BronzeSpec:
        for column in self.metadata_columns:
            if not column or column.startswith("_metadata"):
                raise ValueError(
                    f"metadata column name {column!r}: name the output column, e.g. "
                    "{'source_file': 'file_path'}"
                )
        if not self.incremental:
            for name, default in (("max_files_per_trigger", None),
                                  ("schema_evolution_mode", None),
                                  ("include_existing_files", True)):
                if getattr(self, name) != default:
                    raise ValueError(
                        f"{name} only applies to incremental bronze tables "
                        "(bronze_autoloader); a batch snapshot re-reads all files on every run"
                    )
        if self.schema_ is not None and self.schema_evolution_mode == "addNewColumns":
            raise ValueError(
                "schema_evolution_mode='addNewColumns' cannot be used with a full schema: "
                "Auto Loader only adds columns to a schema it inferred. Remove 'schema' (pin "
                "types with schema_hints instead) or choose 'failOnNewColumns', 'rescue' or "
                "'none'"
            )
        if self.schema_ is not None and self.schema_hints is not None:
            raise ValueError(
                "schema_hints only apply to an inferred schema; with a full 'schema', write the "
                "types there"
            )
        if self.schema_evolution_mode == "rescue" and self.rescued_data_column is None:
            raise ValueError(
                "schema_evolution_mode='rescue' needs a rescued data column to put new columns "
                "in; set rescued_data_column (e.g. '_rescued_data')"
            )
        if self.format == "csv" and "header" not in {k.lower() for k in self.options}:
            raise ValueError(
                "csv files need a header decision: options={'header': 'true'} when the first "
                "line names the columns, or {'header': 'false'} (columns _c0, _c1, ...)"
            )
        if self.format == "text":
            for name in ("schema_", "schema_hints", "schema_evolution_mode"):
                if getattr(self, name) is not None:
                    raise ValueError(
                        f"{name.rstrip('_')} does not apply to format='text': every line is "
                        "one 'value' string"
                    )
            if self.infer_column_types:
                raise ValueError("infer_column_types does not apply to format='text'")
        self._check_column_names()
        return self

    def _check_column_names(self) -> None:
        """The system columns must not collide with each other or with declared columns."""
        system: dict[str, str] = {}
        for column, what in (
            (self.rescue_column, "rescued_data_column"),
            (self.corrupt_record_column, "the corrupt record column"),
            *((name, f"metadata column {name!r}") for name in self.metadata_columns),
        ):
            if column is None:
                continue
            if column.lower() in system:
                raise ValueError(
                    f"{what} and {system[column.lower()]} are both named {column!r}; "
                    "rename one of them"
                )
            system[column.lower()] = what
        for declared in self.declared_columns:
            if declared.name.lower() in system:
                raise ValueError(
                    f"column {declared.name!r} of the schema is also "
                    f"{system[declared.name.lower()]}; rename one of them"
                )

    # -- derived settings ---------------------------------------------------------------------
    @property
    def evolution_mode(self) -> SchemaEvolutionMode:
        """The schema evolution mode in effect (Databricks' defaults when not set)."""
        if self.schema_evolution_mode is not None:
            return self.schema_evolution_mode
        if not self.incremental or self.schema_ is not None:
            return "none"
        return "addNewColumns"

    @property
    def rescue_column(self) -> str | None:
        """The rescued data column, None for ``text`` (a fixed one-column schema)."""
        return None if self.format == "text" else self.rescued_data_column

    @property
    def corrupt_record_column(self) -> str | None:
        """Where a malformed record's raw text goes (JSON and CSV only)."""
        if self.format not in TEXT_FORMATS:
            return None
        for key, value in self.options.items():
            if key.lower() == "columnnameofcorruptrecord":
                return value
        return DEFAULT_CORRUPT_RECORD_COLUMN

    @property
    def files_per_trigger(self) -> int:
        """Files per micro-batch in effect."""
        return self.max_files_per_trigger or DEFAULT_MAX_FILES_PER_TRIGGER

    @property
    def declared_columns(self) -> list[DdlColumn]:
        """The columns of ``schema`` and ``schema_hints`` (whichever is given)."""
        text = self.schema_ if self.schema_ is not None else self.schema_hints
        return [] if text is None else parse_columns(text)

    def streams(self, source_streams: Callable[[str], bool]) -> bool | None:
        """An incremental bronze table is a streaming table (each file ingested once)."""
        return self.incremental

    def option(self, name: str, default: str | None = None) -> str | None:
        """A reader option, looked up case-insensitively (as Spark does)."""
        for key, value in self.options.items():
            if key.lower() == name.lower():
                return value
        return default
