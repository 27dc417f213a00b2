"""Bronze: raw files landed into a Delta table, incrementally (Auto Loader) or as a snapshot."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from medallion.specs.base import TableSpec

FileFormat = Literal["json", "csv", "parquet", "text", "avro", "orc"]
MetadataField = Literal[
    "file_path", "file_name", "file_size", "file_modification_time", "ingestion_time"
]
METADATA_FIELDS: tuple[str, ...] = (
    "file_path", "file_name", "file_size", "file_modification_time", "ingestion_time"
)


class BronzeSpec(TableSpec):
    """A bronze table: files from ``path`` in ``format``, landed as they are.

    With ``incremental=True`` (the default, :func:`medallion.bronze_autoloader`) this is a
    streaming table: on Databricks an Auto Loader (``cloudFiles``) stream, locally a Structured
    Streaming file source with a checkpoint, so each file is ingested once. With
    ``incremental=False`` (:func:`medallion.bronze_batch`) the table is a snapshot of the files,
    recomputed on every run (reference data such as customers).

    Attributes:
        path: Folder (or glob) holding the files.
        format: File format.
        schema_: DDL string of the columns (``"order_id BIGINT, amount DOUBLE"``); when omitted
            the schema is inferred once and persisted, so later runs read new files the same way.
        infer_column_types: As Auto Loader's ``cloudFiles.inferColumnTypes``: when False (the
            default) columns of JSON and CSV files are inferred as strings.
        options: Reader options (``header``, ``multiLine``, ``delimiter``...).
        metadata_columns: Columns to add, output name → file metadata field
            (from ``_metadata``, never ``input_file_name()``) or ``ingestion_time``.
        max_files_per_trigger: Upper bound on files per micro-batch.
    """

    layer: ClassVar[str] = "bronze"

    kind: Literal["bronze"] = "bronze"
    path: str
    format: FileFormat = "json"
    schema_: str | None = Field(default=None, alias="schema")
    infer_column_types: bool = False
    options: dict[str, str] = Field(default_factory=dict)
    metadata_columns: dict[str, MetadataField] = Field(default_factory=dict)
    max_files_per_trigger: int | None = Field(default=None, ge=1)
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
                if str(key).startswith("cloudFiles."):
                    raise ValueError(
                        f"option {key!r}: give Auto Loader settings as spec fields "
                        "(e.g. infer_column_types, max_files_per_trigger), not cloudFiles.* "
                        "options; medallion translates them on Databricks"
                    )
                out[str(key)] = (
                    ("true" if val else "false") if isinstance(val, bool) else str(val)
                )
            return out
        return value

    @field_validator("schema_")
    @classmethod
    def _schema(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("schema is empty: give a DDL string or leave it out to infer")
        return value

    @model_validator(mode="after")
    def _metadata(self) -> BronzeSpec:
        for column in self.metadata_columns:
            if not column or column.startswith("_metadata"):
                raise ValueError(
                    f"metadata column name {column!r}: name the output column, e.g. "
                    "{'source_file': 'file_path'}"
                )
        if self.max_files_per_trigger is not None and not self.incremental:
            raise ValueError(
                "max_files_per_trigger only applies to incremental bronze tables; "
                "a batch snapshot reads all files at once"
            )
        return self
