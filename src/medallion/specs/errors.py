"""Turn pydantic validation errors into messages that name the table, the field and the fix."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from medallion.errors import SpecError


def build_spec(
    model: type[BaseModel], fields: Mapping[str, Any], *, what: str | None = None
) -> Any:
    """Validate ``fields`` into ``model``; raise :class:`SpecError` with a readable message."""
    try:
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
    subject = what or (f"{layer} table" if isinstance(layer, str) else model.__name__)
    head = f"{subject} '{table}'" if table else subject
    lines = []
    first_field: str | None = None
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if p != "__root__")
        first_field = first_field or loc or None
        lines.append(_describe(err, loc, model) + _rule_hint(err["loc"], fields))
    message = f"{head}: " + ("; ".join(lines) if len(lines) == 1 else "\n  - " + "\n  - ".join(
        lines))
    return SpecError(message, table=table, field=first_field)


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


def _describe(err: Any, loc: str, model: type[BaseModel]) -> str:
    kind = err["type"]
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "extra_forbidden":
        field = loc.rsplit(".", 1)[-1]
        allowed = _allowed_fields(model, loc)
        close = difflib.get_close_matches(field, allowed, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return f"unknown field '{loc}'.{hint} Allowed fields: {', '.join(allowed)}"
    if kind == "missing":
        return f"field '{loc}' is required"
    if kind == "literal_error":
        return f"field '{loc}': {err.get('input')!r} is not allowed; {msg.lower()}"
    if not loc:
        return msg
    return f"field '{loc}': {msg}"


def _allowed_fields(model: type[BaseModel], loc: str) -> list[str]:
    """Field names valid at ``loc`` (descending into nested models such as rules.0)."""
    current: Any = model
    for part in loc.split(".")[:-1]:
        if part.isdigit():
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            break
        annotation = field.annotation
        for arg in getattr(annotation, "__args__", ()) or (annotation,):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                current = arg
                break
    fields = getattr(current, "model_fields", {})
    return sorted(
        (f.alias or name) for name, f in fields.items() if name not in ("kind",)
    )
