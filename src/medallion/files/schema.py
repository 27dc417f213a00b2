"""The JSON Schema of pipeline files, for editor completion and CI checks (``medallion schema``).

Generated from the same pydantic models that validate the files, then completed with what
pydantic cannot see: the field descriptions written in each model's ``Attributes:`` docstring
section, ``kind`` as a required tag, and the shorthand inputs the models' validators accept (a
group-by key written as ``"expression AS alias"``, ``cluster_by: "a, b"``, ``quarantine: true``).
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, Field, create_model

from medallion.files.model import PipelineHeader, file_kinds

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_STRING: dict[str, Any] = {"type": "string"}
_SCALAR: dict[str, Any] = {"type": ["string", "boolean", "number"]}
_SECTION = re.compile(r"^\s*(Attributes|Args|Example|Examples|Raises|Returns|Note):\s*$")


def _string_list_or_text(prop: dict[str, Any]) -> None:
    _alternatives(prop, _STRING)


def _scalar_values(prop: dict[str, Any]) -> None:
    if "additionalProperties" in prop:
        prop["additionalProperties"] = _SCALAR


def _quarantine(prop: dict[str, Any]) -> None:
    _alternatives(prop, {"type": "boolean", "description": "true: '<name>_quarantine'"})


def _malformed_records(prop: dict[str, Any]) -> None:
    _alternatives(prop, _STRING, {"type": "boolean",
                                  "description": "true: ['_corrupt_record']; false: off"})


def _group_by(prop: dict[str, Any]) -> None:
    items = prop.get("items")
    if items is not None:
        prop["items"] = {"anyOf": [items, {"type": "string",
                                           "description": "a column, or 'expression AS alias'"}]}
    _alternatives(prop, _STRING, {"type": "object", "additionalProperties": _STRING,
                                  "description": "alias -> SQL expression"})


#: Shorthands accepted by the models' "before" validators, by property name (any model) or by
#: (model, property).
_SHORTHANDS: dict[str | tuple[str, str], Any] = {
    "cluster_by": _string_list_or_text,
    "table_properties": _scalar_values,
    ("BronzeSpec", "options"): _scalar_values,
    ("SilverSpec", "dedup_keys"): _string_list_or_text,
    ("SilverSpec", "quarantine"): _quarantine,
    ("SilverSpec", "malformed_records"): _malformed_records,
    ("Join", "on"): _string_list_or_text,
    ("GoldSpec", "group_by"): _group_by,
}


def _alternatives(prop: dict[str, Any], *extra: dict[str, Any]) -> None:
    """Let ``prop`` also accept the ``extra`` schemas."""
    keep: dict[str, Any] = {k: prop.pop(k) for k in ("title", "description", "default")
                            if k in prop}
    current = prop.pop("anyOf", None) or [dict(prop)]
    prop.clear()
    prop.update(keep)
    prop["anyOf"] = [*current, *extra]


def document_model() -> type[BaseModel]:
    """The pydantic model of a whole pipeline file, tables included (for the JSON Schema)."""
    kinds = tuple(file_kinds().values())
    union: Any = typing.Union[kinds]  # noqa: UP007 - built from a runtime tuple
    table = Annotated[union, Field(discriminator="kind")]
    model: type[BaseModel] = create_model(
        "PipelineFile",
        __base__=PipelineHeader,
        __doc__=PipelineHeader.__doc__,
        tables=(tuple[table, ...], Field(default=())),
    )
    return model


def pipeline_json_schema() -> dict[str, Any]:
    """The JSON Schema of the pipeline file format.

    Example:
        >>> schema = pipeline_json_schema()
        >>> sorted(schema["properties"])
        ['configuration', 'environments', 'libraries', 'name', 'schema', 'tables']
    """
    model = document_model()
    schema = model.model_json_schema(by_alias=True)
    classes = dict(_models(model))
    schema["description"] = _summary(PipelineHeader.__doc__)
    _describe(schema, PipelineHeader)
    for name, definition in schema.get("$defs", {}).items():
        cls = classes.get(name)
        if cls is None:
            continue
        if cls.__doc__:
            definition["description"] = _summary(cls.__doc__)
        _describe(definition, cls)
        props = definition.get("properties", {})
        if "kind" in props and "const" in props["kind"]:
            definition["required"] = ["kind", *[r for r in definition.get("required", [])
                                                if r != "kind"]]
        for prop_name, prop in props.items():
            fix = _SHORTHANDS.get((name, prop_name)) or _SHORTHANDS.get(prop_name)
            if fix is not None:
                fix(prop)
    tables = schema["properties"]["tables"]
    tables["description"] = (
        "The tables, each with a 'kind' (" + ", ".join(file_kinds()) + ") and the fields of "
        "that kind's spec."
    )
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "medallion pipeline file",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def _models(model: type[BaseModel]) -> Iterator[tuple[str, type[BaseModel]]]:
    """Every model class reachable from ``model``'s fields, by class name."""
    seen: set[type[BaseModel]] = set()
    todo: list[Any] = [model]
    while todo:
        current = todo.pop()
        if isinstance(current, type) and issubclass(current, BaseModel):
            if current in seen:
                continue
            seen.add(current)
            yield current.__name__, current
            todo.extend(f.annotation for f in current.model_fields.values())
        else:
            todo.extend(typing.get_args(current))


def _plain(text: str) -> str:
    """Docstring markup as plain text: ``x`` and :func:`x` become 'x'."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"'\1'", text)
    text = re.sub(r'``"?([^`"]+)"?``', r"'\1'", text)
    return text


def _summary(doc: str | None) -> str:
    """A docstring's text before its first section (``Attributes:``, ``Example:``...)."""
    lines: list[str] = []
    for line in inspect.cleandoc(doc or "").splitlines():
        if _SECTION.match(line):
            break
        lines.append(line)
    return _plain(" ".join(" ".join(lines).split()))


def attribute_docs(cls: type) -> dict[str, str]:
    """Field name → description, from the ``Attributes:`` sections of ``cls`` and its bases."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        text = inspect.cleandoc(klass.__dict__.get("__doc__") or "")
        inside = False
        current: str | None = None
        for line in text.splitlines():
            if _SECTION.match(line):
                inside = line.strip() == "Attributes:"
                current = None
                continue
            if not inside:
                continue
            match = re.match(r"^    ([A-Za-z_][A-Za-z0-9_]*):\s*(.*)$", line)
            if match:
                current = match.group(1)
                docs[current] = match.group(2).strip()
            elif current is not None and line.startswith("        "):
                docs[current] += " " + line.strip()
            elif line.strip():
                inside = False
    return docs


def _describe(definition: dict[str, Any], cls: type) -> None:
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        return
    docs = attribute_docs(cls)
    props = definition.get("properties", {})
    for name, field in cls.model_fields.items():
        key = field.alias or name
        text = docs.get(name) or docs.get(key)
        if key in props and text:
            props[key]["description"] = _plain(text)
        if key in props:
            props[key].pop("title", None)
