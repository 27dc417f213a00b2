"""The pipeline file format: its top-level fields, and the spec kinds a file can declare.

The tables of a file are validated by the very spec models Python uses (``BronzeSpec``,
``SilverSpec``...), chosen by each table's ``kind``. Which kinds a file may hold is derived from
:data:`medallion.specs.AnySpec`: every kind that is plain data (no Python function field) is
allowed, so a new spec kind added to that union works in files, and in the JSON Schema, without
changes here.
"""

from __future__ import annotations

import functools
import typing
from typing import Any

from pydantic import Field, TypeAdapter
from pydantic.errors import PydanticInvalidForJsonSchema, PydanticUserError

from medallion.specs import AnySpec
from medallion.specs.base import Definition, Model

ConfigValue = str | int | float | bool


class Environment(Model):
    """Settings that replace the file's own when this environment is selected (``--env``).

    Attributes:
        name: Pipeline name in this environment.
        schema_: Schema (database) the tables are registered in, in this environment.
        configuration: Configuration values that override the file's (``${key}`` in specs).
    """

    name: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    configuration: dict[str, ConfigValue] = Field(default_factory=dict)


class PipelineHeader(Model):
    """A medallion pipeline declared as data: its settings and its tables.

    Attributes:
        name: Pipeline name (default: the file name without its ending).
        schema_: Schema (database) the tables are registered in (default ``medallion_db``).
        configuration: Key/values, like a Databricks pipeline's configuration: substituted
            into specs as ``${key}`` and readable from Python with ``medallion.config(key)``.
        environments: Named overlays (``dev``, ``prod``...) selected with ``--env NAME``.
        libraries: Python files (relative to this file) run into the same pipeline after the
            tables below are declared, e.g. for ``@medallion.table`` functions.
        tables: The tables, each with a ``kind`` (``bronze``, ``silver``, ``gold``...) and the
            fields of that kind's spec.
    """

    name: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    configuration: dict[str, ConfigValue] = Field(default_factory=dict)
    environments: dict[str, Environment] = Field(default_factory=dict)
    libraries: tuple[str, ...] = ()
    tables: tuple[dict[str, Any], ...] = ()


def union_members() -> tuple[type[Definition], ...]:
    """Every spec type of the :data:`medallion.specs.AnySpec` union (tables and flows)."""
    union = typing.get_args(AnySpec)[0]
    members = typing.get_args(union) or (union,)
    return tuple(m for m in members if isinstance(m, type) and issubclass(m, Definition))


def kind_of(spec_type: type[Definition]) -> str:
    """The ``kind`` tag of a spec type."""
    return str(spec_type.model_fields["kind"].default)


@functools.lru_cache(maxsize=1)
def file_kinds() -> dict[str, type[Definition]]:
    """Kind → spec type, for the kinds a file can declare (those that are plain data)."""
    kinds: dict[str, type[Definition]] = {}
    for spec_type in union_members():
        try:
            TypeAdapter(spec_type).json_schema()
        except (PydanticInvalidForJsonSchema, PydanticUserError):
            continue  # holds a Python function (e.g. QuerySpec): Python only
        kinds[kind_of(spec_type)] = spec_type
    return kinds


def python_only_kinds() -> dict[str, type[Definition]]:
    """Kind → spec type, for the kinds only Python can declare."""
    allowed = file_kinds()
    return {kind_of(t): t for t in union_members() if kind_of(t) not in allowed}
