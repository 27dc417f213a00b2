"""What a field expects, phrased in a pipeline file's terms rather than pydantic's.

pydantic says ``Input should be a valid tuple``; a user wrote ``dedup_keys: 5`` and needs to
read "field 'dedup_keys' must be a list of column names, e.g. [order_id]; got 5".
:func:`expected_shape` phrases the expected value of any field (or list entry, or mapping value)
from its annotation, with the wording and an example for the fields users write most.
"""

from __future__ import annotations

import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

#: Field name → (what it is, an example in YAML flow style).
FIELD_SHAPES: dict[str, tuple[str, str]] = {
    "dedup_keys": ("a list of column names", "[order_id]"),
    "select": ("a list of column names", "[order_id, amount, status]"),
    "columns": ("a list of column names", "[customer_name, customer_segment]"),
    "on": ("a list of key columns", "[customer_id]"),
    "keys": ("a list of key columns", "[customer_id]"),
    "group_by": ("a list of columns or SQL expressions", "[region, to_date(order_date) AS date]"),
    "cluster_by": ("a list of column names", "[date, region]"),
    "partition_by": ("a list of column names", "[date]"),
    "inputs": ("a list of table names", "[silver_orders]"),
    "rules": ("a list of rules", "[{name: valid_id, condition: id IS NOT NULL, action: drop}]"),
    "joins": ("a list of joins", "[{table: silver_customers, on: [customer_id]}]"),
    "aggregations": ("a list of aggregations", "[{func: sum, column: amount, alias: total}]"),
    "casts": ("a mapping of column → Spark SQL type", "{amount: 'decimal(10,2)'}"),
    "renames": ("a mapping of old column name → new name", "{amt: amount}"),
    "derived": ("a mapping of new column → SQL expression", "{total: price * quantity}"),
    "table_properties": ("a mapping of table property → value", "{quality: silver}"),
    "options": ("a mapping of reader option → value", "{header: 'true'}"),
    "metadata_columns": ("a mapping of column → file metadata field",
                         "{source_file: file_path}"),
    "configuration": ("a mapping of key → value", "{raw: /data/raw}"),
    "libraries": ("a list of Python files", "[transformations.py]"),
    "tables": ("a list of tables", "[{kind: silver, name: silver_orders, source: bronze_orders}]"),
}


def expected_shape(model: type[BaseModel], loc: tuple[Any, ...]) -> str | None:
    """What the value at ``loc`` (pydantic's error location) must be, or None if unknown.

    Example:
        >>> from medallion.specs.silver import SilverSpec
        >>> expected_shape(SilverSpec, ("dedup_keys",))
        'a list of column names, e.g. [order_id]'
        >>> expected_shape(SilverSpec, ("dedup_keys", 0))
        'a text (one entry of dedup_keys, e.g. [order_id])'
    """
    found = _field_at(model, loc)
    if found is None:
        return None
    name, annotation, trailing = found
    shape = FIELD_SHAPES.get(name)
    if not trailing:
        if shape is not None:
            return f"{shape[0]}, e.g. {shape[1]}"
        return _describe(annotation)
    for part in trailing:
        annotation = _inner(annotation, part)
        if annotation is None:
            return None
    what = _describe(annotation)
    if shape is None:
        return what
    entry = "one entry" if isinstance(trailing[-1], int) else f"the value of {trailing[-1]!r}"
    return f"{what} ({entry} of {name}, e.g. {shape[1]})"


def show(value: Any, limit: int = 60) -> str:
    """A value as the user wrote it (YAML flow style), shortened.

    Example:
        >>> show({"a": [1, None, True]}), show("x")
        ('{a: [1, null, true]}', "'x'")
    """
    text = _show(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (int, float)):
        return str(value)
    return type(value).__name__


def _field_at(
    model: type[BaseModel], loc: tuple[Any, ...]
) -> tuple[str, Any, list[Any]] | None:
    """The deepest field along ``loc``: (name, annotation, the list indices / keys after it)."""
    candidates = [model]
    found: tuple[str, Any, list[Any]] | None = None
    for part in loc:
        if found is not None and not candidates:
            found[2].append(part)
            continue
        if isinstance(part, int):
            if found is not None:
                found[2].append(part)
            continue
        owner = next((m for m in candidates if part in m.model_fields), None)
        if owner is None:
            tagged = [m for m in candidates if _kind(m) == part]
            if tagged:  # a discriminated-union tag
                candidates = tagged
                continue
            if found is not None:
                found[2].append(part)
                candidates = []
            continue
        annotation = owner.model_fields[part].annotation
        found = (part, annotation, [])
        candidates = _models(annotation)
    return found


def _kind(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("kind")
    default = field.default if field is not None else None
    return default if isinstance(default, str) else None


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        out.extend(_models(arg))
    return out


def _strip(annotation: Any) -> Any:
    """``X | None`` → ``X``; ``Annotated[X, ...]`` → ``X``."""
    while hasattr(annotation, "__metadata__"):
        annotation = annotation.__origin__
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _strip(args[0])
    return annotation


def _inner(annotation: Any, part: Any) -> Any:
    annotation = _strip(annotation)
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (list, tuple, set, frozenset) and args and isinstance(part, int):
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _describe(annotation: Any) -> str | None:
    annotation = _strip(annotation)
    origin = get_origin(annotation)
    args = get_args(annotation)
    if annotation is str:
        return "a text"
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "a whole number"
    if annotation is float:
        return "a number"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (list, tuple, set, frozenset):
        inner = _describe(args[0]) if args else None
        return "a list" + (f" (each {inner})" if inner else "")
    if origin is dict:
        inner = _describe(args[1]) if len(args) == 2 else None
        return "a mapping of name → value" + (f" (each value {inner})" if inner else "")
    models = _models(annotation)
    if len(models) == 1:
        names = [f.alias or n for n, f in models[0].model_fields.items() if n != "kind"]
        return "a mapping with fields " + ", ".join(names)
    if models:
        return "a mapping of fields (name: value)"
    return None
