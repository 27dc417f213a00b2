"""Named, reusable rule sets, in Python or loaded from a YAML / JSON file kept in git.

Example rule file::

    templates:
      valid_region:
        params: {column: column}
        condition: "{column} IN ('US', 'EU', 'ASIA')"
    rule_sets:
      ids:
        - {template: not_null, name: valid_order_id, args: {column: order_id}, action: drop}
      orders:
        - use: ids
        - {template: strictly_between, name: valid_amount, action: drop,
           args: {column: amount, low: 0, high: 100000}}
        - {name: valid_status, condition: "status IN ('pending', 'completed')", action: fail}
        - {template: valid_region, args: {column: region}}

Use it: ``rules = medallion.load_rules("rules.yaml")`` then ``rules=rules["orders"]``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from medallion.errors import SpecError
from medallion.quality.templates import (
    BUILTIN_TEMPLATES,
    Include,
    RuleFile,
    RuleTemplate,
    TemplateUse,
)
from medallion.specs.rules import Rule, check_unique_names


class RuleLibrary(Mapping[str, tuple[Rule, ...]]):
    """Rule sets by name; each set resolves to a tuple of :class:`Rule`.

    A set may include other sets (``use:``) and build rules from templates (the built-in ones,
    :data:`~medallion.quality.templates.BUILTIN_TEMPLATES`, plus the file's own).
    """

    def __init__(
        self,
        rule_sets: Mapping[str, list[Any]],
        templates: Mapping[str, RuleTemplate] | None = None,
        *,
        source: str = "rule library",
    ) -> None:
        self.source = source
        self.templates: dict[str, RuleTemplate] = {**BUILTIN_TEMPLATES, **(templates or {})}
        self._raw = dict(rule_sets)
        self._resolved: dict[str, tuple[Rule, ...]] = {}
        for name in self._raw:  # resolve eagerly: errors surface when the file is loaded
            self[name]

    def __getitem__(self, name: str) -> tuple[Rule, ...]:
        if name not in self._raw:
            import difflib

            close = difflib.get_close_matches(name, list(self._raw), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise KeyError(f"{self.source} has no rule set '{name}'{hint} "
                           f"(rule sets: {', '.join(sorted(self._raw)) or 'none'})")
        if name not in self._resolved:
            self._resolved[name] = self._resolve(name, ())
        return self._resolved[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def _resolve(self, name: str, stack: tuple[str, ...]) -> tuple[Rule, ...]:
        if name in stack:
            raise SpecError(f"{self.source}: rule sets include each other in a loop: "
                            + " -> ".join((*stack, name)))
        rules: list[Rule] = []
        for index, entry in enumerate(self._raw[name]):
            where = f"{self.source}: rule_sets.{name}.{index}"
            if isinstance(entry, Include):
                if entry.use not in self._raw:
                    raise SpecError(f"{where}: 'use: {entry.use}' names no rule set "
                                    f"(rule sets: {', '.join(sorted(self._raw))})")
                rules.extend(self._resolve(entry.use, (*stack, name)))
            elif isinstance(entry, TemplateUse):
                template = self.templates.get(entry.template)
                if template is None:
                    raise SpecError(f"{where}: unknown template '{entry.template}' (templates: "
                                    f"{', '.join(sorted(self.templates))})")
                try:
                    rules.append(template.rule(name=entry.name, action=entry.action,
                                               **entry.args))
                except (ValueError, ValidationError) as exc:
                    raise SpecError(f"{where}: {_first_error(exc)}") from None
            else:
                rules.append(entry)
        try:
            return check_unique_names(tuple(rules))
        except ValueError as exc:
            raise SpecError(f"{self.source}: rule set '{name}': {exc}") from None


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return str(err["msg"]).removeprefix("Value error, ")
    return str(exc)


def load_rules(path: str | os.PathLike[str]) -> RuleLibrary:
    """Load a YAML (``.yaml``/``.yml``) or JSON rule file into a :class:`RuleLibrary`.

    Raises:
        SpecError: naming the file, the rule set / template and the field at fault.
    """
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise SpecError(f"rule file '{path}' cannot be read: {exc.strerror}") from None
    try:
        if file.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # a parse error: say where
        raise SpecError(f"rule file '{path}' is not valid {file.suffix.lstrip('.').upper()}: "
                        f"{exc}") from None
    return rules_from_data(data or {}, source=f"rule file '{path}'")


def rules_from_data(data: Any, *, source: str = "rule library") -> RuleLibrary:
    """Build a :class:`RuleLibrary` from already-parsed data (a dict as in a rule file)."""
    from medallion.specs.errors import build_spec

    parsed: RuleFile = build_spec(RuleFile, data if isinstance(data, dict) else {"": data},
                                  what=source)
    return RuleLibrary(parsed.rule_sets, parsed.templates, source=source)
