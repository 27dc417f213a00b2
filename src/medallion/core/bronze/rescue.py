"""Per-row rescue: which fields of a record fit the schema, and the rescued data JSON.

Spark's readers parse the rows that fit; these expressions handle the rest, and only they pay the
cost of a second parse:

- a field whose value does not convert to the column's type (``"amount": "12.3x"`` for a DOUBLE)
  becomes NULL and its original value goes to the rescued data column;
- a field the schema does not have (under ``rescue``, or ``none`` with a rescued data column) or
  whose name differs only by case goes to the rescued data column;
- a record that does not parse at all keeps its raw text in the corrupt record column, its
  columns NULL.

The rescued data value is a JSON object of the rescued fields plus ``_file_path``; NULL when
nothing was rescued. Conversions use ``try_cast`` semantics (Spark 4 runs with ANSI on, where a
plain cast would fail the whole job). Spark 4 keeps each rescued value's JSON through variant;
Spark 3.5, which has no variant, re-encodes the text
(:func:`~medallion.core.compat.json_value`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from medallion.core.compat import has_variant, json_string, json_value, try_cast

if TYPE_CHECKING:
    from pyspark.sql import Column
    from pyspark.sql.types import DataType

FILE_PATH_KEY = "_file_path"


def typed(value: Column, type_: DataType) -> Column:
    """``value`` (a string) converted to ``type_``, NULL when it does not convert."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, MapType, StringType, StructType

    if isinstance(type_, StringType):
        return value
    if isinstance(type_, StructType | ArrayType | MapType):
        return F.from_json(value, cast(Any, type_))  # any DataType; the stub lists fewer
    return try_cast(value, type_)


def fits(value: Column, converted: Column, type_: DataType) -> Column:
    """Whether a present ``value`` converted: NULL stays NULL, anything else must convert."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructType

    if isinstance(type_, StructType):  # a malformed object parses into a struct of NULLs
        converted = F.from_json(value, "map<string,string>")
    return value.isNull() | converted.isNotNull()


@dataclass(frozen=True)
class Record:
    """The columns computed from one record's raw JSON text."""

    values: dict[str, Column]
    rescued: Column
    corrupt: Column


def json_record(
    raw: Column,
    columns: list[tuple[str, DataType]],
    file_path: Column,
    *,
    options: dict[str, str],
    rescue: bool,
    rescue_unknown: bool,
    rescue_case: bool,
) -> Record:
    """Parse one JSON record (text) into the schema's columns, the rescued data and corrupt text.

    Args:
        raw: The record's text.
        columns: The schema in effect.
        file_path: The record's source file.
        options: JSON parsing options.
        rescue: Whether the table has a rescued data column (without one, a record whose value
            does not fit keeps its raw text in the corrupt record column instead).
        rescue_unknown: Rescue fields the schema does not have.
        rescue_case: Rescue fields named like a schema column but for the case.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    # no options: None, not {} (Spark Connect sends {} as an untyped map and fails)
    fields = F.from_json(raw, "map<string,string>", options or None)
    values: dict[str, Column] = {}
    misfits: list[Column] = []
    for name, type_ in columns:
        text = F.try_element_at(fields, F.lit(name))
        value = typed(text, type_)
        values[name] = value
        if not isinstance(type_, StringType):
            misfits.append(F.when(~fits(text, value, type_), F.lit(name)))
    malformed = fields.isNull()
    misfit = (F.filter(F.array(*misfits), lambda n: n.isNotNull()) if misfits
              else F.array().cast("array<string>"))
    if not rescue:
        bad = malformed | (F.size(misfit) > 0) if misfits else malformed
        return Record(values, F.lit(None).cast("string"), F.when(bad, raw))

    known = F.array(*[F.lit(n) for n, _ in columns]) if columns else F.array().cast(
        "array<string>")
    folded = F.array(*[F.lit(n.lower()) for n, _ in columns]) if columns else known

    def extra(key: Column) -> Column:
        case = F.array_contains(folded, F.lower(key))
        wanted = (case & F.lit(rescue_case)) | (~case & F.lit(rescue_unknown))
        return ~F.array_contains(known, key) & wanted & (key != F.lit(FILE_PATH_KEY))

    keys = (F.concat(misfit, F.filter(F.map_keys(fields), extra))
            if rescue_unknown or rescue_case else misfit)
    if not has_variant():
        return Record(values, _rescued_text(fields, keys, malformed, file_path),
                      F.when(malformed, raw))
    originals = F.from_json(raw, "map<string,variant>", options or None)
    path = F.create_map(F.lit(FILE_PATH_KEY), file_path.cast("variant"))
    rescued = (
        F.when(malformed, F.to_json(path))
        .when(F.size(keys) > 0, F.to_json(F.map_concat(
            F.map_filter(originals, lambda k, _v: F.array_contains(keys, k)), path)))
    )
    return Record(values, rescued, F.when(malformed, raw))


def _rescued_text(fields: Column, keys: Column, malformed: Column, file_path: Column) -> Column:
    """The rescued data JSON built as text (Spark 3.5, no variant), in the record's key order."""
    from pyspark.sql import functions as F

    path = F.concat(json_string(F.lit(FILE_PATH_KEY)), F.lit(":"), json_string(file_path))
    kept = F.filter(F.map_keys(fields), lambda k: F.array_contains(keys, k))
    members = F.transform(kept, lambda k: F.concat(
        json_string(k), F.lit(":"), json_value(F.element_at(fields, k))))
    body = F.concat(F.lit("{"), F.array_join(F.concat(members, F.array(path)), ","), F.lit("}"))
    return (F.when(malformed, F.concat(F.lit("{"), path, F.lit("}")))
            .when(F.size(keys) > 0, body))


def flagged_json_record(
    raw: Column,
    columns: list[tuple[str, DataType]],
    file_path: Column,
    *,
    rescue: bool,
) -> Record:
    """Like :func:`json_record`, for a record Spark's JSON reader rejected, without from_json.

    Built only from expressions Spark compiles: a projection holding ``from_json`` or a lambda
    is not compiled by whole-stage code generation, and then every row pays for interpretation,
    not just the rejected ones. The census has already ruled out fields the schema lacks in
    these files, so only values that do not fit their column and malformed records are left.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    keys = F.json_object_keys(raw)  # NULL when the text is not one JSON object
    malformed = keys.isNull()
    values: dict[str, Column] = {}
    misfits: list[tuple[str, Column]] = []
    for name, type_ in columns:
        path = _json_path(name)
        text = (F.get_json_object(raw, path) if path is not None
                else F.try_element_at(F.from_json(raw, "map<string,string>"), F.lit(name)))
        value = typed(text, type_)
        values[name] = value
        if not isinstance(type_, StringType):
            misfits.append((name, ~fits(text, value, type_)))
    any_misfit = F.lit(False)
    for _name, misfit in misfits:
        any_misfit = any_misfit | misfit
    if not rescue:
        return Record(values, F.lit(None).cast("string"),
                      F.when(malformed | any_misfit, raw))
    if has_variant():
        originals = [  # the original JSON value, its type kept (a string stays quoted)
            F.when(misfit, F.try_variant_get(F.try_parse_json(raw), path, "variant")).alias(name)
            for name, misfit in misfits if (path := _json_path(name)) is not None
        ]
        body = F.to_json(F.struct(*originals, file_path.alias(FILE_PATH_KEY)))
    else:  # Spark 3.5: the same JSON, written as text
        members = [
            F.when(misfit, F.concat(json_string(F.lit(name)), F.lit(":"),
                                    json_value(F.get_json_object(raw, path))))
            for name, misfit in misfits if (path := _json_path(name)) is not None
        ]
        path_member = F.concat(json_string(F.lit(FILE_PATH_KEY)), F.lit(":"),
                               json_string(file_path))
        body = F.concat(F.lit("{"), F.concat_ws(",", *members, path_member), F.lit("}"))
    rescued = (F.when(malformed, F.to_json(F.struct(file_path.alias(FILE_PATH_KEY))))
               .when(any_misfit, body))
    return Record(values, rescued, F.when(malformed, raw))


def _json_path(name: str) -> str | None:
    """``$['name']`` for get_json_object, None when the name cannot be quoted that way."""
    if any(ch in name for ch in "'[]\\"):
        return None
    return f"$['{name}']"


def rescued_struct(entries: list[tuple[str, Column, Column]], file_path: Column) -> Column:
    """The rescued data JSON from fixed candidate fields: (name, value, rescue it?).

    NULL when no candidate is rescued; NULL values are left out.
    """
    from pyspark.sql import functions as F

    if not entries:
        return F.lit(None).cast("string")
    body = F.struct(*[F.when(cond, value).alias(name) for name, value, cond in entries],
                    file_path.alias(FILE_PATH_KEY))
    anything = F.lit(False)
    for _name, value, cond in entries:
        anything = anything | (cond & value.isNotNull())
    return F.when(anything, F.to_json(body))
