"""Turn pydantic validation errors into messages that name the table, the field and the fix."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel, Tag, ValidationError

from medallion.errors import SpecError
from medallion.specs.shapes import expected_shape, show

#: Set while a spec is being validated, so nested models leave error reporting to the outer one.
VALIDATING: ContextVar[bool] = ContextVar("medallion_spec_validating", default=False)


@contextmanager
def validating() -> Iterator[None]:
    """Validate models inside this block with pydantic's own errors (no nested SpecError)."""
    token = VALIDATING.set(True)
    try:
        yield
    finally:
        VALIDATING.reset(token)


def describe_error(
    err: Any, model: type[BaseModel], fields: Mapping[str, Any] | None = None
) -> tuple[str, str]:
    """One pydantic error as (field path without union tags, message naming field and rule)."""
    raw_loc = ".".join(str(p) for p in err["loc"] if p != "__root__")
    loc, _ = _walk(model, raw_loc)
    return loc, _describe(err, raw_loc, loc, model) + _rule_hint(tuple(err["loc"]), fields)


def build_spec(
    model: type[BaseModel], fields: Mapping[str, Any], *, what: str | None = None
) -> Any:
    """Validate ``fields`` into ``model``; raise :class:`SpecError` with a readable message."""
    try:
        with validating():
            return model.model_validate(dict(fields))
    except ValidationError as exc:
        name = fields.get("name") if isinstance(fields.get("name"), str) else None
        raise spec_error(exc, model, table=name, what=what, fields=fields) from None


def spec_error(
    exc: ValidationError,
    model: type[BaseModel],
    *,
    table: str | None,
    what: str | None = None,
    fields: Mapping[str, Any] | None = None,
) -> SpecError:
    """Summarise a ValidationError: one line per problem, each naming its field."""
    layer = getattr(model, "layer", None)
    subject = what or (f"{layer} table" if isinstance(layer, str) else _noun(model.__name__))
    head = f"{subject} '{table}'" if table else subject
    lines = []
    first_field: str | None = None
    for err in exc.errors():
        loc, text = describe_error(err, model, fields)
        first_field = first_field or loc or None
        lines.append(text)
    message = f"{head}: " + ("; ".join(lines) if len(lines) == 1 else "\n  - " + "\n  - ".join(
        lines))
    return SpecError(message, table=table, field=first_field)


def _noun(class_name: str) -> str:
    """``RuleTemplate`` → ``rule template``."""
    return "".join(f" {c.lower()}" if c.isupper() else c for c in class_name).strip()


def _rule_hint(loc: tuple[Any, ...], fields: Mapping[str, Any] | None) -> str:
    """`` (rule 'valid_amount')`` when the error is inside one rule of ``fields['rules']``."""
    if fields is None or len(loc) < 2 or loc[0] != "rules" or not isinstance(loc[1], int):
        return ""
    rules = fields.get("rules")
    try:
        rule = list(rules)[loc[1]]  # type: ignore[arg-type]
    except (TypeError, IndexError):
        return ""
    name = rule.get("name") if isinstance(rule, Mapping) else getattr(rule, "name", None)
    return f" (rule '{name}')" if isinstance(name, str) else ""


def _describe(err: Any, raw_loc: str, loc: str, model: type[BaseModel]) -> str:
    kind = err["type"]
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "extra_forbidden":
        field = loc.rsplit(".", 1)[-1]
        allowed = _allowed_fields(model, raw_loc)
        close = difflib.get_close_matches(field, allowed, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return f"unknown field '{loc}'.{hint} Allowed fields: {', '.join(allowed)}"
    if kind == "missing":
        return f"field '{loc}' is required"
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        close = difflib.get_close_matches(str(err.get("input")), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"field '{loc}': {err.get('input')!r} is not allowed; {msg.lower()}{hint}"
    if not loc:
        return msg
    phrased = _phrase_in_file_terms(err, loc, model)
    return phrased if phrased is not None else f"field '{loc}': {msg}"


#: pydantic error types meaning "the value has the wrong shape" (a list where a text belongs...).
_SHAPE_ERRORS = frozenset({
    "string_type", "int_type", "int_parsing", "int_from_float", "bool_type", "bool_parsing",
    "float_type", "float_parsing", "list_type", "tuple_type", "set_type", "frozen_set_type",
    "dict_type", "model_type", "model_attributes_type", "dataclass_type", "is_instance_of",
})
_BOUNDS = {"greater_than_equal": ("ge", "at least"), "greater_than": ("gt", "more than"),
           "less_than_equal": ("le", "at most"), "less_than": ("lt", "less than")}


def _phrase_in_file_terms(err: Any, loc: str, model: type[BaseModel]) -> str | None:
    """Pydantic's "Input should be a valid tuple" as what the field must be, with an example."""
    kind = err["type"]
    got = show(err.get("input"))
    if kind in _SHAPE_ERRORS:
        shape = expected_shape(model, tuple(p for p in err["loc"] if p != "__root__"))
        if shape is None:
            return None
        last = err["loc"][-1] if err["loc"] else None
        hint = ""
        if err.get("input") is None and isinstance(last, str) and last.endswith(")"):
            hint = (" (in a {...} mapping a comma splits the value: quote it, e.g. "
                    "{amount: 'decimal(10,2)'})")
        return f"field '{loc}' must be {shape}; got {got}{hint}"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"field '{loc}' must be {words} {err.get('ctx', {}).get(key)}; got {got}"
    if kind in ("too_short", "too_long", "string_too_short", "string_too_long"):
        ctx = err.get("ctx", {})
        size = ctx.get("min_length") if "short" in kind else ctx.get("max_length")
        words = "at least" if "short" in kind else "at most"
        unit = "character(s)" if kind.startswith("string") else "entries"
        return f"field '{loc}' must have {words} {size} {unit}; got {got}"
    return None


def _models_in(annotation: Any) -> list[tuple[str | None, type[BaseModel]]]:
    """Every (tag, model) reachable inside a type annotation (lists, dicts, unions, Annotated)."""
    found: list[tuple[str | None, type[BaseModel]]] = []
    tag = None
    for meta in getattr(annotation, "__metadata__", ()):
        if isinstance(meta, Tag):
            tag = meta.tag
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        kind = annotation.model_fields.get("kind")
        default = kind.default if kind is not None else None
        found.append((tag or (default if isinstance(default, str) else None), annotation))
        return found
    for arg in getattr(annotation, "__args__", ()) or ():
        for inner_tag, model in _models_in(arg):
            found.append((inner_tag or tag, model))
    origin = getattr(annotation, "__origin__", None)
    if origin is not None and not getattr(annotation, "__args__", None):
        found.extend(_models_in(origin))
    return found


def _walk(model: type[BaseModel], loc: str) -> tuple[str, list[type[BaseModel]]]:
    """The location without union tags, and the model(s) whose fields are valid at its end."""
    candidates: list[tuple[str | None, type[BaseModel]]] = [(None, model)]
    shown: list[str] = []
    parts = loc.split(".") if loc else []
    for position, part in enumerate(parts):
        if part.isdigit():
            shown.append(part)
            continue
        tagged: list[tuple[str | None, type[BaseModel]]] = [
            (t, m) for t, m in candidates if t == part
        ]
        if tagged and len(candidates) > 1:  # a discriminated-union tag: narrow the candidates
            candidates = tagged
            continue
        owner = next((m for _, m in candidates if part in m.model_fields), None)
        if owner is not None:
            shown.append(part)
            if position < len(parts) - 1:
                candidates = _models_in(owner.model_fields[part].annotation) or candidates
            continue
        shown.append(part)
    return ".".join(shown), [m for _, m in candidates]


def _allowed_fields(model: type[BaseModel], loc: str) -> list[str]:
    """Field names valid where ``loc`` points (descending into nested and union models)."""
    _, candidates = _walk(model, loc)
    names: set[str] = set()
    for current in candidates:
        names.update(
            (f.alias or name) for name, f in current.model_fields.items() if name != "kind"
        )
    return sorted(names)
