"""Schemas as lists of (name, Spark type): the declared schema, hints, and case-folding."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medallion.specs.ddl import DdlColumn

if TYPE_CHECKING:
    from pyspark.sql.types import DataType, StructType

    from medallion.specs.bronze import BronzeSpec

Columns = list[tuple[str, "DataType"]]


def spark_columns(columns: list[DdlColumn]) -> Columns:
    """DDL columns as (name, Spark type)."""
    from medallion.core.compat import parse_ddl

    return [(c.name, parse_ddl(c.type)) for c in columns]


def given_columns(spec: BronzeSpec) -> Columns | None:
    """The declared ``schema``, or None when it is inferred."""
    return spark_columns(spec.declared_columns) if spec.schema_ is not None else None


def hint_columns(spec: BronzeSpec) -> Columns:
    """The ``schema_hints`` columns."""
    return spark_columns(spec.declared_columns) if spec.schema_hints is not None else []


def from_struct(schema: StructType) -> Columns:
    """A StructType's top-level columns."""
    return [(f.name, f.dataType) for f in schema.fields]


def to_struct(columns: Columns) -> StructType:
    """Columns as a StructType (all nullable: bronze never rejects a NULL)."""
    from pyspark.sql.types import StructField, StructType

    return StructType([StructField(name, type_, True) for name, type_ in columns])


def one_of_each_case(columns: Columns) -> Columns:
    """Keep one of columns whose names differ only by case: the lowercase one, else the first.

    A Delta table cannot hold both; the others' values are rescued as case mismatches.

    Example:
        >>> one_of_each_case([("Amount", "string"), ("amount", "string"), ("ID", "int")])
        [('amount', 'string'), ('ID', 'int')]
    """
    chosen: dict[str, tuple[str, DataType]] = {}
    for name, type_ in columns:
        key = name.lower()
        if key not in chosen or (name == key and chosen[key][0] != key):
            chosen[key] = (name, type_)
    return list(chosen.values())
